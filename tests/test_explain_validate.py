"""``_explain``, ``_validate/query``, ``_search_shards`` and ``_settings/{name}`` over the in-process app.

Explain scores are checked against BM25 computed here by hand (Lucene's formula, k1=1.2, b=0.75) and
against the score ``_search`` gives the same document.
"""

from __future__ import annotations

import math
import re

import httpx
import pytest

from cluster.routing import shard_for

DOCS = {
    "1": {"title": "the quick brown fox jumps over the brown dog", "year": 1998, "tag": "x"},
    "2": {"title": "a lazy dog", "year": 1960, "tag": "y"},
    "3": {"title": "quick quick quick", "year": 2001, "tag": "x"},
}


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def bm25(term: str, doc_id: str) -> float:
    """Lucene BM25 of one term in ``title`` over DOCS: boost(k1+1) * idf * tf."""
    lengths = {d: len(_tokens(v["title"])) for d, v in DOCS.items()}
    n = sum(1 for v in DOCS.values() if term in _tokens(v["title"]))
    big_n = len(DOCS)
    idf = math.log(1 + (big_n - n + 0.5) / (n + 0.5))
    freq = _tokens(DOCS[doc_id]["title"]).count(term)
    avgdl = sum(lengths.values()) / big_n
    tf = freq / (freq + 1.2 * (1 - 0.75 + 0.75 * lengths[doc_id] / avgdl))
    return 2.2 * idf * tf


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    r = await asgi_client.put("/books", json={"mappings": {"properties": {
        "title": {"type": "text"}, "year": {"type": "integer"}, "tag": {"type": "keyword"}}}})  # fmt: skip
    assert r.status_code == 200, r.text
    for doc_id, doc in DOCS.items():
        r = await asgi_client.put(f"/books/_doc/{doc_id}", json=doc)
        assert r.status_code == 201, r.text
    await asgi_client.post("/books/_refresh")
    return asgi_client


def _leaves(node: dict) -> list[dict]:
    assert set(node) == {"value", "description", "details"}
    if not node["details"]:
        return [node]
    return [leaf for child in node["details"] for leaf in _leaves(child)]


async def test_explain_single_term_matches_hand_computed_bm25(client: httpx.AsyncClient) -> None:
    r = await client.post("/books/_explain/1", json={"query": {"match": {"title": "brown"}}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["_index"], body["_id"], body["matched"]) == ("books", "1", True)
    expl = body["explanation"]
    assert expl["value"] == pytest.approx(bm25("brown", "1"), rel=1e-5)
    weight = expl if expl["description"].startswith("weight(") else expl["details"][0]
    assert weight["description"] == "weight(title:brown in 0) [PerFieldSimilarity], result of:"
    score = weight["details"][0]
    assert score["description"] == "score(freq=2.0), computed as boost * idf * tf from:"
    boost, idf, tf = score["details"]
    assert boost == {"value": 2.2, "description": "boost", "details": []}
    assert idf["value"] == pytest.approx(math.log(1 + (3 - 1 + 0.5) / 1.5), rel=1e-6)
    assert [d["description"] for d in tf["details"]][:2] == [
        "freq, occurrences of term within document", "k1, term saturation parameter"]  # fmt: skip
    assert {d["description"].split(",")[0]: d["value"] for d in tf["details"]}["dl"] == 9.0
    _leaves(expl)  # every node has exactly value/description/details


async def test_explain_bool_sums_clauses_and_agrees_with_search(client: httpx.AsyncClient) -> None:
    query = {"match": {"title": "quick dog"}}
    r = await client.request("GET", "/books/_explain/1", json={"query": query})
    expl = r.json()["explanation"]
    assert expl["description"] == "sum of:"
    assert expl["value"] == pytest.approx(bm25("quick", "1") + bm25("dog", "1"), rel=1e-5)
    assert sum(d["value"] for d in expl["details"]) == pytest.approx(expl["value"], rel=1e-5)
    hits = (await client.post("/books/_search", json={"query": query})).json()["hits"]["hits"]
    score = next(h["_score"] for h in hits if h["_id"] == "1")
    assert expl["value"] == pytest.approx(score, rel=1e-6)


async def test_explain_no_match_missing_doc_and_source(client: httpx.AsyncClient) -> None:
    r = await client.post("/books/_explain/2", json={"query": {"match": {"title": "fox"}}})
    assert r.status_code == 200
    assert r.json()["matched"] is False and r.json()["explanation"]["value"] == 0.0
    r = await client.post("/books/_explain/nope", json={"query": {"match_all": {}}})
    assert r.status_code == 404
    assert r.json() == {"_index": "books", "_id": "nope", "matched": False}
    r = await client.get("/books/_explain/1?q=title:fox&_source_includes=year")
    assert r.json()["matched"] is True
    assert r.json()["get"]["_source"] == {"year": 1998} and r.json()["get"]["found"] is True
    r = await client.post("/books/_explain/1", json={})
    assert r.status_code == 400 and "query is missing" in r.text
    r = await client.post("/books/_explain/1", json={"query": {"nope": {}}})
    assert r.status_code == 400 and r.json()["error"]["type"] == "parsing_exception"


async def test_validate_query(client: httpx.AsyncClient) -> None:
    r = await client.post("/books/_validate/query", json={"query": {"match": {"year": 1998}}})
    assert r.json() == {"_shards": {"total": 1, "successful": 1, "failed": 0}, "valid": True}
    r = await client.get("/_validate/query?explain=true")
    assert r.json()["explanations"] == [{"index": "books", "valid": True, "explanation": "*:*"}]
    r = await client.post("/books/_validate/query?explain=true", json={"query": {"term": {"title": "fox"}}})
    assert r.json()["explanations"][0]["explanation"] == "TermQuery(title:fox)"
    # a bad number fails while compiling against the mapping: valid false, reason in the explanation
    r = await client.post("/books/_validate/query?explain=true", json={"query": {"term": {"year": "abc"}}})
    assert r.status_code == 200 and r.json()["valid"] is False
    assert r.json()["explanations"][0]["valid"] is False and "abc" in r.json()["explanations"][0]["error"]
    # a parse failure: 200 valid false, the reason only with explain
    r = await client.post("/books/_validate/query", json={"query": {"bogus": {}}})
    assert r.status_code == 200 and r.json() == {"valid": False}
    r = await client.post("/books/_validate/query?explain=true", json={"query": {"bogus": {}}})
    assert r.json()["error"] == (
        "org.elasticsearch.common.ParsingException: unknown query [bogus]; "
        "nested: NamedObjectNotFoundException[unknown field [bogus]];"
    )
    r = await client.post("/missing/_validate/query", json={"query": {"match_all": {}}})
    assert r.status_code == 404


async def test_search_shards_and_settings_by_name(client: httpx.AsyncClient) -> None:
    r = await client.put("/multi", json={"settings": {"number_of_shards": 3, "number_of_replicas": 0}})
    assert r.status_code == 200
    body = (await client.get("/multi/_search_shards")).json()
    assert body["indices"] == {"multi": {}}
    assert [[c["shard"] for c in group] for group in body["shards"]] == [[0], [1], [2]]
    copy = body["shards"][0][0]
    assert (copy["state"], copy["primary"], copy["index"]) == ("STARTED", True, "multi")
    assert copy["node"] in body["nodes"]
    routed = (await client.get("/multi/_search_shards?routing=foo")).json()["shards"]
    assert [group[0]["shard"] for group in routed] == [shard_for("foo", 3)]
    r = await client.get("/_settings/index.number_of_*?flat_settings=true")
    assert r.json()["multi"]["settings"] == {"index.number_of_replicas": "0", "index.number_of_shards": "3"}
    r = await client.get("/multi/_settings/index.number_of_shards")
    assert r.json() == {"multi": {"settings": {"index": {"number_of_shards": "3"}}}}
