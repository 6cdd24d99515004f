"""Field collapsing through the real HTTP app, against groups computed in plain Python."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from tests.server.helpers import assert_canonical_error
from tests.server.test_pit_slices import _bulk


async def _corpus(client: httpx.AsyncClient, shards: int = 3) -> dict[str, dict[str, Any]]:
    props = {"g": {"type": "keyword"}, "k": {"type": "integer"}, "v": {"type": "long"}, "t": {"type": "text"}}
    r = await client.put("/c", json={"settings": {"number_of_shards": shards}, "mappings": {"properties": props}})
    assert r.status_code == 200, r.text
    rng = random.Random(5)
    values = rng.sample(range(10_000), 90)
    docs = {f"d{i}": {"g": f"grp{rng.randrange(13)}", "k": rng.randrange(9), "v": v} for i, v in enumerate(values)}
    docs["nogroup"] = {"v": 20_000}
    await _bulk(client, "c", docs)
    return docs


def _expected(docs: dict[str, dict[str, Any]], field: str) -> list[tuple[Any, list[str]]]:
    """Groups in order of their best hit (v descending), each with its members by v descending."""
    ordered = sorted(docs, key=lambda d: -docs[d]["v"])
    groups: dict[Any, list[str]] = {}
    for doc_id in ordered:
        groups.setdefault(docs[doc_id].get(field), []).append(doc_id)
    return list(groups.items())


@pytest.mark.parametrize("field", ["g", "k"])
async def test_collapse_pages_and_inner_hits(asgi_client: httpx.AsyncClient, field: str) -> None:
    docs = await _corpus(asgi_client)
    expected = _expected(docs, field)
    for start, size in ((0, 4), (3, 5), (10, 10)):
        body = {
            "from": start, "size": size, "sort": [{"v": "desc"}],
            "collapse": {"field": field, "inner_hits": [
                {"name": "low", "size": 2, "sort": [{"v": "asc"}]}, {"name": "top", "size": 1, "sort": [{"v": "desc"}]},
            ]},
        }  # fmt: skip
        r = await asgi_client.post("/c/_search", json=body)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["hits"]["total"]["value"] == len(docs)
        page = expected[start : start + size]
        hits = out["hits"]["hits"]
        assert [h["_id"] for h in hits] == [members[0] for _, members in page]
        for hit, (key, members) in zip(hits, page, strict=True):
            assert hit["fields"][field] == [key]
            low = hit["inner_hits"]["low"]["hits"]
            assert low["total"]["value"] == len(members)
            assert [h["_id"] for h in low["hits"]] == members[::-1][:2]
            assert [h["_id"] for h in hit["inner_hits"]["top"]["hits"]["hits"]] == members[:1]


async def test_collapse_search_after_on_the_collapse_field(asgi_client: httpx.AsyncClient) -> None:
    docs = await _corpus(asgi_client, shards=2)
    keys = sorted({d["k"] for d in docs.values() if "k" in d}, reverse=True)
    seen: list[int] = []
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": 2, "sort": [{"k": "desc"}], "collapse": {"field": "k"}}
        if after is not None:
            body["search_after"] = after
        hits = (await asgi_client.post("/c/_search", json=body)).json()["hits"]["hits"]
        hits = [h for h in hits if h["fields"]["k"] != [None]]
        if not hits:
            break
        seen += [h["fields"]["k"][0] for h in hits]
        after = hits[-1]["sort"]
    assert seen == keys


async def test_collapse_refusals(asgi_client: httpx.AsyncClient) -> None:
    await _corpus(asgi_client, shards=1)
    r = await asgi_client.post("/c/_search", json={"collapse": {"field": "t"}})
    assert r.status_code == 400 and "only keywords and numbers" in r.text
    r = await asgi_client.post("/c/_search", json={"collapse": {"field": "missing_field"}})
    assert r.status_code == 400
    r = await asgi_client.post("/c/_search?scroll=1m", json={"collapse": {"field": "g"}})
    assert_canonical_error(r, 400, "action_request_validation_exception")
    r = await asgi_client.post("/c/_search", json={"collapse": {"field": "g"}, "sort": ["v"], "search_after": [1]})
    assert r.status_code == 400 and "search_after" in r.text
    r = await asgi_client.post("/c/_search", json={"collapse": {"field": "g", "inner_hits": {"collapse": {
        "field": "k", "inner_hits": {}}}}})  # fmt: skip
    assert_canonical_error(r, 400, "parse_exception")
