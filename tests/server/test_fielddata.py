"""Fielddata of ``text`` fields with ``fielddata: true``: sorting on the analyzed terms (min ascending, max
descending), ``missing``, ``search_after``, and its memory in ``_stats``/``_cat/fielddata``/``_nodes/stats``,
dropped by ``_cache/clear``; keys and sizes computed here from the documents."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest

DOCS: dict[str, dict[str, Any]] = {
    "1": {"t": "Zebra apple", "u": "one"},
    "2": {"t": "mango Kiwi", "u": "two words"},
    "3": {"other": "x"},
    "4": {"t": ["banana", "yak banana"]},
    "5": {"t": "Cherry", "u": "three"},
    "6": {"t": ""},
}


def terms(doc: dict[str, Any], field: str) -> list[str]:
    """The standard analyzer on plain ASCII words: lowercased words, distinct, in byte order."""
    raw = doc.get(field)
    values = raw if isinstance(raw, list) else [] if raw is None else [raw]
    return sorted({w for v in values for w in re.findall(r"\w+", v.lower())})


def memory(field: str, ids: list[str]) -> int:
    """``native.fielddata``'s measure: 8 bytes per loaded document, plus each term's UTF-8 bytes and 8."""
    return sum(8 + sum(len(t.encode()) + 8 for t in terms(DOCS[i], field)) for i in ids)


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    props = {"t": {"type": "text", "fielddata": True}, "u": {"type": "text", "fielddata": True},
             "plain": {"type": "text"}}  # fmt: skip
    r = await asgi_client.put("/fd", json={"settings": {"number_of_shards": 2}, "mappings": {"properties": props}})
    assert r.status_code == 200, r.text
    lines = []
    for doc_id, doc in DOCS.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps(doc)]
    r = await asgi_client.post("/fd/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


def expected(order: str, missing: Any = "_last") -> list[tuple[Any, str]]:
    keyed: list[tuple[Any, str]] = []
    for doc_id, doc in DOCS.items():
        ts = terms(doc, "t")
        keyed.append(((min(ts) if order == "asc" else max(ts)) if ts else None, doc_id))
    present = sorted((k for k in keyed if k[0] is not None), key=lambda k: k[0], reverse=order == "desc")
    absent = sorted((k for k in keyed if k[0] is None), key=lambda k: k[1])
    if missing == "_last":
        return present + absent
    if missing == "_first":
        return absent + present
    filled = [(missing, d) for _, d in absent] + present
    return sorted(filled, key=lambda k: k[0], reverse=order == "desc")


async def _sorted(client: httpx.AsyncClient, body: dict[str, Any]) -> list[tuple[Any, str]]:
    r = await client.post("/fd/_search", json={"size": 20, **body})
    assert r.status_code == 200, r.text
    return [(h["sort"][0], h["_id"]) for h in r.json()["hits"]["hits"]]


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_sort_on_text_terms(client: httpx.AsyncClient, order: str) -> None:
    got = await _sorted(client, {"sort": [{"t": order}]})
    want = expected(order)
    assert [k for k, _ in got] == [k for k, _ in want]
    present = [d for k, d in want if k is not None]
    assert [d for _, d in got[: len(present)]] == present  # keys are distinct: the order is exact
    assert {d for _, d in got[len(present) :]} == {"3", "6"}


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("missing", ["_first", "c"])
async def test_missing(client: httpx.AsyncClient, order: str, missing: str) -> None:
    got = await _sorted(client, {"sort": [{"t": {"order": order, "missing": missing}}]})
    assert [k for k, _ in got] == [k for k, _ in expected(order, missing)]


async def test_search_after(client: httpx.AsyncClient) -> None:
    got = await _sorted(client, {"sort": [{"t": "asc"}], "search_after": ["banana"]})
    want = [(k, d) for k, d in expected("asc") if k is not None and k > "banana"]
    assert got[: len(want)] == want
    assert {d for _, d in got[len(want) :]} == {"3", "6"}


async def test_refusals(client: httpx.AsyncClient) -> None:
    r = await client.post("/fd/_search", json={"sort": ["plain"]})
    assert r.status_code == 400 and "Fielddata is disabled on [plain]" in r.text
    r = await client.post("/fd/_search", json={"sort": [{"t": {"mode": "sum"}}]})
    assert r.status_code == 400 and "number based fields" in r.text


async def _memory(client: httpx.AsyncClient) -> int:
    return int((await client.get("/fd/_stats/fielddata")).json()["_all"]["total"]["fielddata"]["memory_size_in_bytes"])


async def test_memory_reported_and_cleared(client: httpx.AsyncClient) -> None:
    total = (await client.get("/fd/_stats/fielddata")).json()["_all"]["total"]["fielddata"]
    assert total["memory_size_in_bytes"] == 0  # nothing loaded before a sort
    await _sorted(client, {"sort": ["t"]})
    await _sorted(client, {"query": {"match": {"u": "words"}}, "sort": ["u"]})  # loads document 2 only
    t_bytes, u_bytes = memory("t", list(DOCS)), memory("u", ["2"])
    body = (await client.get("/fd/_stats/fielddata", params={"fielddata_fields": "*"})).json()
    section = body["_all"]["total"]["fielddata"]
    assert section["memory_size_in_bytes"] == t_bytes + u_bytes and section["evictions"] == 0
    assert section["fields"] == {"t": {"memory_size_in_bytes": t_bytes}, "u": {"memory_size_in_bytes": u_bytes}}
    shards = (await client.get("/fd/_stats/fielddata", params={"level": "shards"})).json()["indices"]["fd"]["shards"]
    assert sum(s[0]["fielddata"]["memory_size_in_bytes"] for s in shards.values()) == t_bytes + u_bytes

    nodes = (await client.get("/_nodes/stats/indices/fielddata", params={"fields": "t"})).json()["nodes"]
    node = next(iter(nodes.values()))["indices"]["fielddata"]
    assert node["memory_size_in_bytes"] == t_bytes + u_bytes and node["fields"] == {
        "t": {"memory_size_in_bytes": t_bytes}
    }

    rows = (await client.get("/_cat/fielddata", params={"h": "field,size", "bytes": "b"})).text.split("\n")
    assert [r.split() for r in rows if r] == [["t", str(t_bytes)], ["u", str(u_bytes)]]
    rows = (await client.get("/_cat/fielddata/u", params={"h": "field,size", "bytes": "b"})).text.split("\n")
    assert [r.split() for r in rows if r] == [["u", str(u_bytes)]]

    r = await client.post("/fd/_cache/clear", params={"fielddata": "true", "fields": "u"})
    assert r.status_code == 200
    section = (await client.get("/fd/_stats/fielddata")).json()["_all"]["total"]["fielddata"]
    assert section["memory_size_in_bytes"] == t_bytes
    r = await client.post("/fd/_cache/clear", params={"request": "true"})  # another cache only
    assert await _memory(client) == t_bytes
    await client.post("/fd/_cache/clear", params={"fielddata": "true"})
    section = (await client.get("/fd/_stats/fielddata")).json()["_all"]["total"]["fielddata"]
    assert section["memory_size_in_bytes"] == 0
    # a sort after the clear loads it again, sorted the same
    assert [k for k, _ in await _sorted(client, {"sort": ["t"]})] == [k for k, _ in expected("asc")]
    assert await _memory(client) == t_bytes


async def _shard_memory(client: httpx.AsyncClient) -> dict[str, int]:
    body = (await client.get("/fd/_stats/fielddata", params={"level": "shards"})).json()
    return {n: s[0]["fielddata"]["memory_size_in_bytes"] for n, s in body["indices"]["fd"]["shards"].items()}


async def test_dropped_with_the_searcher(client: httpx.AsyncClient) -> None:
    await _sorted(client, {"sort": ["t"]})
    before = await _shard_memory(client)
    assert sum(before.values()) == memory("t", list(DOCS)) and all(before.values())
    r = await client.put("/fd/_doc/7?refresh=true", json={"t": "aardvark"})
    assert r.status_code == 201, r.text
    after = await _shard_memory(client)
    # the written shard has a new searcher, with nothing loaded yet; the other one keeps its fielddata
    changed = [n for n in after if after[n] != before[n]]
    assert len(changed) == 1 and after[changed[0]] == 0
    got = await _sorted(client, {"sort": ["t"]})
    assert got[0] == ("aardvark", "7")
    assert sum((await _shard_memory(client)).values()) == memory("t", list(DOCS)) + 8 + len("aardvark") + 8
