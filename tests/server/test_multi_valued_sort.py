"""Sorting on multi-valued fields: min ascending, max descending by default, and every sort ``mode``,
against keys computed here from the documents."""

from __future__ import annotations

import statistics
from typing import Any

import httpx
import orjson
import pytest

DOCS: dict[str, dict[str, Any]] = {
    "1": {"n": [5, 1], "k": ["b", "z"], "f": [1.5, 0.25]},
    "2": {"n": 3, "k": "c", "f": 2.0},
    "3": {"n": [2, 9, 4], "k": ["a", "d"], "f": [3.0]},
    "4": {"x": 1},
    "5": {"n": [7], "k": ["e", "f"], "f": [-1.0, 8.0]},
}


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    props = {"n": {"type": "long"}, "k": {"type": "keyword"}, "f": {"type": "double"}}
    r = await asgi_client.put("/mv", json={"settings": {"number_of_shards": 2}, "mappings": {"properties": props}})
    assert r.status_code == 200, r.text
    lines = []
    for doc_id, doc in DOCS.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps(doc)]
    r = await asgi_client.post("/mv/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


def key(doc: dict[str, Any], field: str, mode: str) -> Any:
    raw = doc.get(field)
    if raw is None:
        return None
    values = raw if isinstance(raw, list) else [raw]
    if mode in ("min", "max"):
        return min(values) if mode == "min" else max(values)
    reduced = (
        sum(values) if mode == "sum" else sum(values) / len(values) if mode == "avg" else statistics.median(values)
    )
    return int(reduced) if field == "n" else reduced


@pytest.mark.parametrize("field", ["n", "k", "f"])
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("mode", [None, "min", "max", "sum", "avg", "median"])
async def test_multi_valued_sort(client: httpx.AsyncClient, field: str, order: str, mode: str | None) -> None:
    if field == "k" and mode not in (None, "min", "max"):
        return
    spec: dict[str, Any] = {"order": order} | ({"mode": mode} if mode else {})
    r = await client.post("/mv/_search", json={"sort": [{field: spec}], "size": 10})
    assert r.status_code == 200, r.text
    used = mode or ("min" if order == "asc" else "max")
    keyed = [(key(doc, field, used), doc_id) for doc_id, doc in DOCS.items()]
    present = sorted((k for k in keyed if k[0] is not None), key=lambda t: t[0], reverse=order == "desc")
    got = [(h["sort"][0], h["_id"]) for h in r.json()["hits"]["hits"]]
    values, want = [v for v, _ in got[: len(present)]], [v for v, _ in present]
    assert values == (want if field == "k" else pytest.approx(want))
    assert {d for _, d in got[: len(present)]} == {d for _, d in present}
    assert got[len(present) :] == [(None, "4")]


async def test_search_after_on_a_multi_valued_key(client: httpx.AsyncClient) -> None:
    r = await client.post("/mv/_search", json={"sort": [{"n": "asc"}], "search_after": [2]})
    assert [h["_id"] for h in r.json()["hits"]["hits"]] == ["2", "5", "4"]


async def test_unknown_mode(client: httpx.AsyncClient) -> None:
    r = await client.post("/mv/_search", json={"sort": [{"n": {"mode": "mean"}}]})
    assert r.status_code == 400
