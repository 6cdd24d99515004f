"""``track_scores`` with a field sort: each hit's score and ``max_score`` as the unsorted search gives them."""

from __future__ import annotations

import httpx

from tests.server.test_pit_slices import _bulk


async def test_track_scores_with_a_field_sort(asgi_client: httpx.AsyncClient) -> None:
    props = {"t": {"type": "text"}, "n": {"type": "long"}}
    r = await asgi_client.put("/ts", json={"settings": {"number_of_shards": 2}, "mappings": {"properties": props}})
    assert r.status_code == 200
    words = ["fox", "fox dog", "fox fox fox cat", "dog", "the quick brown fox jumps", "fox cat"]
    await _bulk(asgi_client, "ts", {str(i): {"t": w, "n": i} for i, w in enumerate(words)})
    query = {"match": {"t": "fox"}}
    plain = (await asgi_client.post("/ts/_search", json={"query": query})).json()["hits"]
    scores = {h["_id"]: h["_score"] for h in plain["hits"]}
    body = {"query": query, "sort": [{"n": "desc"}], "track_scores": True, "size": 3}
    tracked = (await asgi_client.post("/ts/_search", json=body)).json()["hits"]
    assert [h["_id"] for h in tracked["hits"]] == ["5", "4", "2"]
    assert {h["_id"]: h["_score"] for h in tracked["hits"]} == {k: scores[k] for k in ("5", "4", "2")}
    assert tracked["max_score"] == plain["max_score"] == max(scores.values())
    untracked = (await asgi_client.post("/ts/_search", json={**body, "track_scores": False})).json()["hits"]
    assert untracked["max_score"] is None and all(h["_score"] is None for h in untracked["hits"])
