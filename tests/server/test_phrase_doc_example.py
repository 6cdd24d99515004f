"""The ES reference's phrase suggester example: two documents indexed with a refresh each (two segments, so
Lucene's ``MultiTerms`` counts -1 distinct terms); 0.5962314 is the score the ES 7 reference documents."""

from __future__ import annotations

import httpx
import pytest


async def test_reference_example(asgi_client: httpx.AsyncClient) -> None:
    settings = {"index": {"number_of_shards": 1, "analysis": {
        "analyzer": {"trigram": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "shingle"]}},
        "filter": {"shingle": {"type": "shingle", "min_shingle_size": 2, "max_shingle_size": 3}}}}}  # fmt: skip
    mappings = {
        "properties": {"title": {"type": "text", "fields": {"trigram": {"type": "text", "analyzer": "trigram"}}}}
    }
    r = await asgi_client.put("/test", json={"settings": settings, "mappings": mappings})
    assert r.status_code == 200, r.text
    for title in ("noble warriors", "nobel prize"):
        r = await asgi_client.post("/test/_doc?refresh=true", json={"title": title})
        assert r.status_code == 201, r.text
    body = {"suggest": {"text": "noble prize", "simple_phrase": {"phrase": {
        "field": "title.trigram", "size": 1, "gram_size": 3,
        "direct_generator": [{"field": "title.trigram", "suggest_mode": "always"}],
        "highlight": {"pre_tag": "<em>", "post_tag": "</em>"}}}}}  # fmt: skip
    r = await asgi_client.post("/test/_search", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["suggest"]["simple_phrase"] == [
        {
            "text": "noble prize",
            "offset": 0,
            "length": 11,
            "options": [
                {
                    "text": "nobel prize",
                    "highlighted": "<em>nobel</em> prize",
                    "score": pytest.approx(0.5962314, rel=1e-6),
                }
            ],
        }
    ]
