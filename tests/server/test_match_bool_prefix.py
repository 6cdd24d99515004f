"""``match_bool_prefix`` and ``multi_match`` ``bool_prefix`` through the HTTP app: matching sets computed from
the documents' words, and the prefix clause's constant score."""

from __future__ import annotations

import httpx
import orjson
import pytest

DOCS = {
    "1": "quick brown fox",
    "2": "lazy dog",
    "3": "fast fox",
    "4": "brown bear",
    "5": "quickly forgotten",
    "6": "nothing here",
}


async def _index(client: httpx.AsyncClient) -> None:
    r = await client.put("/m", json={"mappings": {"properties": {"t": {"type": "text"}, "u": {"type": "text"}}}})
    assert r.status_code == 200, r.text
    lines = []
    for doc_id, text in DOCS.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps({"t": text, "u": text.upper()})]
    r = await client.post("/m/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


def _expected(words: list[str], operator: str = "or") -> set[str]:
    *whole, prefix = words
    out = set()
    for doc_id, text in DOCS.items():
        tokens = text.split()
        hits = [w in tokens for w in whole] + [any(t.startswith(prefix) for t in tokens)]
        if (all(hits) if operator == "and" else any(hits)):
            out.add(doc_id)
    return out


@pytest.mark.parametrize(("text", "operator"), [("quick brown f", "or"), ("brown f", "and"), ("Qui", "or"),
                                                ("fox do", "or"), ("lazy d", "and")])  # fmt: skip
async def test_match_bool_prefix_matches(asgi_client: httpx.AsyncClient, text: str, operator: str) -> None:
    await _index(asgi_client)
    body = {"size": 20, "query": {"match_bool_prefix": {"t": {"query": text, "operator": operator}}}}
    r = await asgi_client.post("/m/_search", json=body)
    assert r.status_code == 200, r.text
    assert {h["_id"] for h in r.json()["hits"]["hits"]} == _expected(text.lower().split(), operator)


async def test_prefix_clause_scores_a_constant(asgi_client: httpx.AsyncClient) -> None:
    await _index(asgi_client)
    r = await asgi_client.post("/m/_search", json={"query": {"match_bool_prefix": {"t": "zzz forg"}}})
    hits = r.json()["hits"]["hits"]
    assert [(h["_id"], h["_score"]) for h in hits] == [("5", 1.0)]
    boosted = {"match_bool_prefix": {"t": {"query": "forg", "boost": 3}}}
    r = await asgi_client.post("/m/_search", json={"query": boosted})
    assert [(h["_id"], h["_score"]) for h in r.json()["hits"]["hits"]] == [("5", 3.0)]


async def test_multi_match_bool_prefix_sums_fields(asgi_client: httpx.AsyncClient) -> None:
    await _index(asgi_client)
    body = {"query": {"multi_match": {"query": "forg", "type": "bool_prefix", "fields": ["t", "u"]}}}
    r = await asgi_client.post("/m/_search", json=body)
    assert [(h["_id"], h["_score"]) for h in r.json()["hits"]["hits"]] == [("5", 2.0)]


async def test_match_bool_prefix_refuses_phrase_options(asgi_client: httpx.AsyncClient) -> None:
    await _index(asgi_client)
    r = await asgi_client.post("/m/_search", json={"query": {"match_bool_prefix": {"t": {"query": "a", "slop": 1}}}})
    assert r.status_code == 400
