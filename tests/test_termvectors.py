"""``_termvectors`` / ``_mtermvectors`` over the in-process app, checked against a tokenizer written here.

The reference tokenizes like the standard analyzer on ASCII text (lowercase runs of letters and digits),
with Lucene's multi-value rules: positions continue after ``position_increment_gap`` (100) and offsets after
the previous value's length plus one.
"""

from __future__ import annotations

import re
from collections import Counter

import httpx
import pytest

DOCS = {
    "1": {
        "title": "The quick brown fox is brown",
        "tags": ["b", "a"],
        "body": ["One two", "two THREE"],
        "summary": "Fox fox",
    },
    "2": {"title": "Brown dogs and a fox", "tags": "a", "body": "four"},
    "3": {"title": "nothing in common", "tags": "c", "body": "one"},
}


def reference(values: list[str] | str) -> list[tuple[str, int, int, int]]:
    out: list[tuple[str, int, int, int]] = []
    base_pos, base_off, last = 0, 0, -1
    for i, value in enumerate([values] if isinstance(values, str) else values):
        base_pos = 0 if i == 0 else last + 1 + 100
        for j, m in enumerate(re.finditer(r"[A-Za-z0-9]+", value)):
            out.append((m.group().lower(), base_pos + j, base_off + m.start(), base_off + m.end()))
            last = base_pos + j
        base_off += len(value) + 1
    return out


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    r = await asgi_client.put("/tv", json={"mappings": {"properties": {
        "title": {"type": "text", "term_vector": "with_positions_offsets"},
        "body": {"type": "text"},
        "tags": {"type": "keyword"},
        "summary": {"type": "text", "term_vector": "yes"},
    }}})  # fmt: skip
    assert r.status_code == 200, r.text
    for doc_id, doc in DOCS.items():
        await asgi_client.put(f"/tv/_doc/{doc_id}", json=doc)
    await asgi_client.post("/tv/_refresh")
    return asgi_client


async def test_stored_term_vector_fields_by_default(client: httpx.AsyncClient) -> None:
    r = await client.get("/tv/_termvectors/1?term_statistics=true")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["_index"], body["_id"], body["_version"], body["found"]) == ("tv", "1", 1, True)
    vectors = body["term_vectors"]
    assert set(vectors) == {"title", "summary"}  # body and tags have no term_vector in their mapping
    ref = reference(DOCS["1"]["title"])
    terms = vectors["title"]["terms"]
    assert list(terms) == sorted({t for t, *_ in ref})
    for term, entry in terms.items():
        mine = [(p, s, e) for t, p, s, e in ref if t == term]
        assert entry["term_freq"] == len(mine)
        assert [(k["position"], k["start_offset"], k["end_offset"]) for k in entry["tokens"]] == mine
        assert entry["doc_freq"] == sum(1 for d in DOCS.values() if term in {t for t, *_ in reference(d["title"])})
        assert entry["ttf"] == sum(Counter(t for t, *_ in reference(d["title"]))[term] for d in DOCS.values())
    all_refs = [reference(d["title"]) for d in DOCS.values()]
    assert vectors["title"]["field_statistics"] == {
        "doc_count": 3,
        "sum_doc_freq": sum(len({t for t, *_ in r}) for r in all_refs),
        "sum_ttf": sum(len(r) for r in all_refs),
    }
    # term_vector: yes stores neither positions nor offsets
    assert vectors["summary"]["terms"] == {"fox": {"doc_freq": 1, "ttf": 2, "term_freq": 2}}
    # a keyword field on request: one token per value, the whole value
    tags = (await client.get("/tv/_termvectors/1?fields=tags&term_statistics=true")).json()["term_vectors"]["tags"]
    assert tags["terms"]["a"] == {"doc_freq": 2, "ttf": 2, "term_freq": 1,
                                  "tokens": [{"position": 101, "start_offset": 2, "end_offset": 3}]}  # fmt: skip
    assert tags["field_statistics"] == {"doc_count": 3, "sum_doc_freq": 4, "sum_ttf": 4}


async def test_requested_fields_multi_values_and_flags(client: httpx.AsyncClient) -> None:
    r = await client.post("/tv/_termvectors/1", json={"fields": ["body"], "offsets": False, "field_statistics": False})
    vectors = r.json()["term_vectors"]
    assert set(vectors) == {"body"} and "field_statistics" not in vectors["body"]
    ref = reference(DOCS["1"]["body"])
    assert ref[2] == ("two", 102, 8, 11)  # second value: after the gap, offsets after "One two" + 1
    for term, entry in vectors["body"]["terms"].items():
        assert [k["position"] for k in entry["tokens"]] == [p for t, p, _, _ in ref if t == term]
        assert "start_offset" not in entry["tokens"][0]


async def test_artificial_document_and_missing(client: httpx.AsyncClient) -> None:
    r = await client.post("/tv/_termvectors", json={"doc": {"title": "Brown brown cow"}, "term_statistics": True})
    body = r.json()
    assert "_id" not in body and body["found"] is True
    terms = body["term_vectors"]["title"]["terms"]
    assert terms["brown"]["term_freq"] == 2 and terms["brown"]["doc_freq"] == 2
    assert terms["cow"]["doc_freq"] == 0
    r = await client.get("/tv/_termvectors/nope")
    assert r.status_code == 200 and r.json()["found"] is False
    r = await client.post("/tv/_termvectors", json={})
    assert r.status_code == 400 and "id or doc is missing" in r.text


async def test_filter_keeps_best_terms(client: httpx.AsyncClient) -> None:
    r = await client.post("/tv/_termvectors/1", json={"fields": ["title"], "filter": {"max_num_terms": 2}})
    terms = r.json()["term_vectors"]["title"]["terms"]
    assert len(terms) == 2 and "brown" in terms  # brown: tf 2; quick/the/is: tf 1, df 1
    (other,) = set(terms) - {"brown"}
    assert other in ("quick", "is") and terms["brown"]["score"] > terms[other]["score"]


async def test_mtermvectors(client: httpx.AsyncClient) -> None:
    r = await client.post("/_mtermvectors?term_statistics=true", json={"docs": [
        {"_index": "tv", "_id": "1"}, {"_index": "tv", "_id": "2", "fields": ["tags"]}, {"_index": "gone", "_id": "1"},
    ]})  # fmt: skip
    docs = r.json()["docs"]
    assert docs[0]["term_vectors"]["title"]["terms"]["brown"]["term_freq"] == 2
    assert docs[0]["term_vectors"]["title"]["terms"]["brown"]["ttf"] == 3
    assert set(docs[1]["term_vectors"]) == {"tags"}
    assert docs[2]["error"]["type"] == "index_not_found_exception"
    r = await client.post("/tv/_mtermvectors", json={"ids": ["2", "3"]})
    assert [d["_id"] for d in r.json()["docs"]] == ["2", "3"]
