"""The embedded server with its leaf over gRPC (``QUIDDITCH_LEAF_TRANSPORT=grpc``) answers as the in-process one.

Two servers get the same documents; a representative set of HTTP calls (search, aggregations, paging, scroll,
get/mget, bulk, explain, validate, termvectors, count) must answer the same JSON on both, ``took`` aside.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from cluster.grpc_leaf import GrpcLeafClient
from cluster.leaf_client import LocalLeafClient
from tests.conftest import _starlette_of

TIMED = {"took"}


@contextlib.asynccontextmanager
async def _server(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    from server.app import create_app
    from server.settings import load_settings

    app = create_app(load_settings({"data_dir": str(data_dir)}))
    starlette_app = _starlette_of(app)
    async with starlette_app.router.lifespan_context(starlette_app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                                     base_url="http://quidditch.test", timeout=30) as client:  # fmt: skip
            yield client


@pytest.fixture
async def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    monkeypatch.setenv("QUIDDITCH_LEAF_TRANSPORT", "local")
    async with _server(tmp_path / "local") as local:
        monkeypatch.setenv("QUIDDITCH_LEAF_TRANSPORT", "grpc")
        async with _server(tmp_path / "grpc") as remote:
            clusters = [_starlette_of(c._transport.app).state.cluster for c in (local, remote)]  # type: ignore[attr-defined]
            assert isinstance(clusters[0].leaf, LocalLeafClient)
            assert isinstance(clusters[1].leaf, GrpcLeafClient) and clusters[1].leaf_server is not None
            yield local, remote


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIMED}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


async def _both(pair: tuple[httpx.AsyncClient, ...], method: str, path: str, **kwargs: Any) -> Any:
    answers = []
    for client in pair:
        response = await client.request(method, path, **kwargs)
        text = response.text
        for meta in _starlette_of(client._transport.app).state.cluster.master.state.indices.values():  # type: ignore[attr-defined]
            text = text.replace(meta.uuid, "<uuid>")  # each server names its indices' uuids itself
        answers.append((response.status_code, _strip(orjson.loads(text)) if text else None))
    assert answers[0] == answers[1], (method, path)
    return answers[0][1]


def _ndjson(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {"content": b"\n".join(orjson.dumps(line) for line in lines) + b"\n",
            "headers": {"content-type": "application/x-ndjson"}}  # fmt: skip


async def test_the_grpc_leaf_answers_as_the_in_process_one(pair: tuple[httpx.AsyncClient, ...]) -> None:
    await _both(pair, "PUT", "/books", json={
        "settings": {"number_of_shards": 3},
        "mappings": {"properties": {
            "title": {"type": "text", "term_vector": "with_positions_offsets"}, "genre": {"type": "keyword"},
            "year": {"type": "integer"}, "price": {"type": "double"}, "published": {"type": "date"},
        }},
    })  # fmt: skip
    genres = ["fantasy", "crime", "poetry", "history"]
    lines: list[dict[str, Any]] = []
    for i in range(120):
        lines += [{"index": {"_id": str(i)}},
                  {"title": f"the {['red', 'blue', 'green'][i % 3]} book of {genres[i % 4]} volume {i}",
                   "genre": genres[i % 4], "year": 1950 + i % 70, "price": round(5 + i * 0.37, 2),
                   "published": f"20{10 + i % 14:02d}-0{1 + i % 9}-1{i % 10}"}]  # fmt: skip
    lines += [{"create": {"_id": "0"}}, {"title": "duplicate"}, {"delete": {"_id": "nope"}}]
    bulk = await _both(pair, "POST", "/books/_bulk?refresh=true", **_ndjson(lines))
    assert bulk["errors"] and bulk["items"][-2]["create"]["status"] == 409
    searches: list[dict[str, Any]] = [
        {"query": {"match": {"title": "red book"}}, "size": 7},
        {"query": {"bool": {"must": [{"match": {"title": "fantasy"}}], "filter": [{"range": {"year": {"gte": 1960}}}]}},
         "sort": [{"price": "desc"}], "from": 3, "size": 5, "track_total_hits": True},
        {"size": 0, "aggs": {"g": {"terms": {"field": "genre"}, "aggs": {"p": {"avg": {"field": "price"}}}},
                             "h": {"date_histogram": {"field": "published", "calendar_interval": "year"}},
                             "s": {"stats": {"field": "year"}}, "c": {"cardinality": {"field": "genre"}},
                             "pc": {"percentiles": {"field": "price", "percents": [50, 90]}}}},
        {"query": {"term": {"genre": "crime"}}, "sort": [{"year": "asc"}, {"price": "asc"}],
         "search_after": [1960, 10.0], "size": 4},
        {"query": {"match": {"title": "green"}}, "highlight": {"fields": {"title": {}}}, "size": 3},
        {"query": {"match_all": {}}, "collapse": {"field": "genre"}, "sort": [{"year": "desc"}], "size": 10},
        {"suggest": {"s": {"text": "bok", "term": {"field": "title"}}}, "size": 0},
        {"query": {"match": {"title": "volume"}}, "_source": ["genre"], "size": 2, "explain": True},
    ]
    for body in searches:
        await _both(pair, "POST", "/books/_search", json=body)
    await _both(pair, "POST", "/books/_count", json={"query": {"term": {"genre": "poetry"}}})
    await _both(pair, "POST", "/books/_search", json={"query": {"range": {"year": {"gte": "x"}}}})  # a 400
    # scroll: the same pages (the scroll ids differ, so the pages are compared, not the ids)
    pages: list[list[list[str]]] = [[], []]
    for n, client in enumerate(pair):
        r = (await client.post("/books/_search?scroll=1m", json={"size": 25, "sort": ["_doc"]})).json()
        while r["hits"]["hits"]:
            pages[n].append([h["_id"] for h in r["hits"]["hits"]])
            r = (await client.post("/_search/scroll", json={"scroll": "1m", "scroll_id": r["_scroll_id"]})).json()
    assert pages[0] == pages[1] and sum(len(p) for p in pages[0]) == 120
    await _both(pair, "GET", "/books/_doc/17")
    await _both(pair, "GET", "/books/_doc/missing")
    await _both(pair, "POST", "/_mget", json={"docs": [{"_index": "books", "_id": "3"},
                                                        {"_index": "books", "_id": "x"}]})  # fmt: skip
    await _both(pair, "POST", "/books/_explain/5", json={"query": {"match": {"title": "blue"}}})
    await _both(pair, "POST", "/books/_explain/missing", json={"query": {"match": {"title": "blue"}}})
    await _both(pair, "POST", "/books/_explain/5?_source=true", json={"query": {"range": {"year": {"gte": "x"}}}})
    await _both(pair, "POST", "/books/_validate/query?explain=true&all_shards=true",
                json={"query": {"match": {"title": "red"}}})  # fmt: skip
    await _both(pair, "POST", "/books/_validate/query?explain=true", json={"query": {"range": {"year": {"gte": "x"}}}})
    await _both(pair, "POST", "/books/_termvectors/8?term_statistics=true")
    await _both(pair, "POST", "/books/_termvectors", json={"doc": {"title": "a red red fox"}, "fields": ["title"]})
    await _both(pair, "POST", "/books/_mtermvectors", json={"docs": [{"_id": "1"}, {"_id": "missing"},
                                                                  {"_id": "2", "per_field_analyzer": {"title": "x"}}]})
    await _both(pair, "POST", "/books/_update/4?refresh=true", json={"doc": {"price": 1.5}})
    await _both(pair, "DELETE", "/books/_doc/6?refresh=true")
    await _both(pair, "POST", "/books/_search", json={"query": {"range": {"price": {"lte": 2}}}, "size": 5})
    await _both(pair, "POST", "/books/_delete_by_query?refresh=true", json={"query": {"term": {"genre": "poetry"}}})
    await _both(pair, "POST", "/books/_refresh")
    await _both(pair, "POST", "/books/_forcemerge?max_num_segments=1")
    await _both(pair, "GET", "/books/_count")
