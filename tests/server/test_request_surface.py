"""Nothing the official client can send is silently ignored.

For each API below, every URL parameter (and, for the search APIs, every body key) that the installed
``elasticsearch`` client lists is classified here:

- ``HONOURED``: it changes the answer as in Elasticsearch; the feature tests named beside it check how;
- ``NOOP``: Elasticsearch itself answers the same with or without it on a cluster like this one (one copy
  of each shard, no remote clusters, no frozen indices); the reason is stated beside it;
- ``REFUSED``: the server answers 400 and the reason names it;
- ``SCRIPTED``: it runs scripts, which are refused by design with ES's own "scripts are disabled" 400.

The test sends each one with a meaningful value and checks the server does what the table says. A
parameter the client gains later is unclassified and fails ``test_every_client_parameter_is_classified``
until someone decides what Quidditch does with it.
"""

from __future__ import annotations

import inspect
import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from elasticsearch._sync.client import Elasticsearch

HONOURED, NOOP, REFUSED = "honoured", "no-op", "refused"
SCRIPTED = "refused: scripting"  # ES's own answer when scripts are disabled: "cannot execute [inline] scripts"
# accepted by every API: rendering only (``error_trace`` adds a stack trace to errors when ES has one)
COMMON = frozenset({"error_trace", "filter_path", "human", "pretty"})

# The no-ops, once each.
_ONE_COPY = "one copy of each shard: every copy choice reads the same data"
_NO_REMOTE = "cross-cluster searches only: there are no remote clusters"
_NO_FROZEN = "deprecated; only frozen indices are throttled and there are none"
_CONCURRENCY = "bounds concurrency or memory on the coordinator only; the answer is the same"
_PRE_FILTER = "ES's pre-filter only skips shards that cannot match; the hits and aggregations are the same"
_ACTIVE_SHARDS = "the primary is the only copy that must be active, and it is whenever a write is answered"
_NO_SCRIPT = "the script language; scripts themselves are refused"

Table = dict[str, tuple[str, Any]]  # name → (verdict, sample value)

# fmt: off
SEARCH_PARAMS: Table = {
    "_slice": (REFUSED, "1"),
    "_source_exclude_vectors": (REFUSED, "true"),
    "_source_excludes": (HONOURED, "t"),  # test_search: source filtering
    "_source_includes": (HONOURED, "k"),
    "allow_no_indices": (HONOURED, "false"),
    "allow_partial_search_results": (HONOURED, "false"),
    "analyze_wildcard": (HONOURED, "true"),
    "analyzer": (HONOURED, "standard"),
    "batched_reduce_size": (NOOP, "2"),  # _CONCURRENCY
    "ccs_minimize_roundtrips": (NOOP, "true"),  # _NO_REMOTE
    "default_operator": (HONOURED, "AND"),
    "df": (HONOURED, "t"),
    "expand_wildcards": (HONOURED, "all"),
    "force_synthetic_source": (REFUSED, "true"),
    "ignore_throttled": (NOOP, "true"),  # _NO_FROZEN
    "ignore_unavailable": (HONOURED, "true"),
    "include_named_queries_score": (HONOURED, "true"),
    "lenient": (HONOURED, "true"),
    "max_concurrent_shard_requests": (NOOP, "2"),  # _CONCURRENCY
    "pre_filter_shard_size": (NOOP, "1"),  # _PRE_FILTER
    "preference": (HONOURED, "_shards:0"),  # test_search_routing
    "q": (HONOURED, "t:one"),
    "request_cache": (HONOURED, "false"),
    "rest_total_hits_as_int": (HONOURED, "true"),
    "routing": (HONOURED, "1"),  # test_search_routing
    "scroll": (HONOURED, "1m"),
    "search_type": (HONOURED, "query_then_fetch"),
    "sort": (HONOURED, "k:asc"),
    "suggest_field": (HONOURED, "t"),
    "suggest_mode": (HONOURED, "missing"),
    "suggest_size": (HONOURED, "3"),
    "suggest_text": (HONOURED, "one"),
    "typed_keys": (HONOURED, "true"),
}
SEARCH_BODY: Table = {
    "_source": (HONOURED, ["k"]),
    "aggregations": (HONOURED, {"a": {"terms": {"field": "k"}}}),
    "aggs": (HONOURED, {"a": {"terms": {"field": "k"}}}),
    "collapse": (HONOURED, {"field": "k"}),
    "docvalue_fields": (HONOURED, ["k"]),
    "explain": (HONOURED, True),
    "ext": (REFUSED, {"plugin": {}}),
    "fields": (HONOURED, ["k"]),
    "from": (HONOURED, 1),
    "highlight": (HONOURED, {"fields": {"t": {}}}),
    "indices_boost": (HONOURED, [{"p": 2.0}]),
    "knn": (REFUSED, {"field": "v", "query_vector": [1.0], "k": 1, "num_candidates": 1}),
    "min_score": (HONOURED, 0.5),
    "pit": (HONOURED, None),  # needs an open point in time: test_point_in_time
    "post_filter": (HONOURED, {"term": {"k": "a"}}),
    "profile": (HONOURED, True),
    "project_routing": (REFUSED, "_alias:*"),
    "query": (HONOURED, {"match": {"t": "one"}}),
    "rank": (REFUSED, {"rrf": {}}),
    "rescore": (HONOURED, {"window_size": 5, "query": {"rescore_query": {"match": {"t": "two"}}}}),
    "retriever": (REFUSED, {"standard": {"query": {"match_all": {}}}}),
    "runtime_mappings": (SCRIPTED, {"r": {"type": "keyword", "script": "emit('x')"}}),
    "script_fields": (SCRIPTED, {"s": {"script": "1"}}),
    "search_after": (HONOURED, None),  # needs a sort: test_search_after
    "seq_no_primary_term": (HONOURED, True),
    "size": (HONOURED, 3),
    "slice": (HONOURED, None),  # needs a scroll or a point in time: test_point_in_time, test_scroll
    "sort": (HONOURED, [{"k": "desc"}]),
    "stats": (HONOURED, ["group1"]),
    "stored_fields": (HONOURED, ["k"]),
    "suggest": (HONOURED, {"s": {"text": "one", "term": {"field": "t"}}}),
    "terminate_after": (HONOURED, 1),
    "timeout": (HONOURED, "1m"),
    "track_scores": (HONOURED, True),
    "track_total_hits": (HONOURED, 5),
    "version": (HONOURED, True),
}
COUNT_PARAMS: Table = {
    "_slice": (REFUSED, "1"),
    **{k: SEARCH_PARAMS[k] for k in ("allow_no_indices", "analyze_wildcard", "analyzer", "default_operator",
                                     "df", "expand_wildcards", "ignore_throttled", "ignore_unavailable",
                                     "lenient", "preference", "q", "routing")},
    "min_score": (HONOURED, "0.5"),
    "stats": (REFUSED, "group1"),
    "terminate_after": (HONOURED, "1"),
}
COUNT_BODY: Table = {
    "query": (HONOURED, {"match": {"t": "one"}}),
    "project_routing": (REFUSED, "_alias:*"),
}
MSEARCH_PARAMS: Table = {
    "_slice": (REFUSED, "1"),
    **{k: SEARCH_PARAMS[k] for k in ("allow_no_indices", "ccs_minimize_roundtrips", "expand_wildcards",
                                     "ignore_throttled", "ignore_unavailable", "include_named_queries_score",
                                     "max_concurrent_shard_requests", "pre_filter_shard_size",
                                     "rest_total_hits_as_int", "routing", "search_type", "typed_keys")},
    "max_concurrent_searches": (NOOP, "2"),  # _CONCURRENCY
    "project_routing": (REFUSED, "_alias:*"),
}
WRITE_PARAMS: Table = {
    "_slice": (REFUSED, "1"),
    "refresh": (HONOURED, "true"),
    "routing": (HONOURED, "1"),
    "timeout": (NOOP, "1m"),  # ES waits up to it for an unavailable primary; a shard here is there or failed
    "wait_for_active_shards": (NOOP, "1"),  # _ACTIVE_SHARDS
    "pipeline": (REFUSED, "p1"),  # test_pipelines_refused: "pipeline with id [p1] does not exist"
    "require_data_stream": (REFUSED, "true"),  # test_pipelines_refused
    "include_source_on_error": (REFUSED, "true"),
}
INDEX_PARAMS: Table = {
    **WRITE_PARAMS,
    "if_primary_term": (HONOURED, "1"),  # with if_seq_no: test_documents
    "if_seq_no": (HONOURED, "0"),  # the path's document, as the fixture wrote it
    "op_type": (HONOURED, "index"),
    "require_alias": (HONOURED, "false"),
    "version": (HONOURED, "5"),  # with version_type=external
    "version_type": (HONOURED, "external"),
}
DELETE_PARAMS: Table = {
    **{k: v for k, v in INDEX_PARAMS.items() if k not in ("op_type", "require_alias", "pipeline",
                                                            "require_data_stream", "include_source_on_error")},
    "if_seq_no": (HONOURED, "1"),  # the path's document, as the fixture wrote it
}
UPDATE_PARAMS: Table = {
    **{k: v for k, v in INDEX_PARAMS.items() if k not in ("op_type", "pipeline", "require_data_stream",
                                                            "version", "version_type")},
    "_source_excludes": (HONOURED, "t"),
    "_source_includes": (HONOURED, "k"),
    "lang": (NOOP, "painless"),  # _NO_SCRIPT
    "retry_on_conflict": (NOOP, "3"),  # an update reads and writes its document atomically on its shard
}  # fmt: skip
UPDATE_BODY: Table = {
    "_source": (HONOURED, True),
    "detect_noop": (HONOURED, False),
    "doc": (HONOURED, {"k": "b"}),
    "doc_as_upsert": (HONOURED, True),
    "script": (REFUSED, {"source": "ctx._source.n = 1"}),
    "scripted_upsert": (REFUSED, True),
    "upsert": (HONOURED, {"k": "c"}),
}
GET_PARAMS: Table = {
    "_slice": (REFUSED, "1"),
    "_source": (HONOURED, "k"),
    "_source_exclude_vectors": (REFUSED, "true"),
    "_source_excludes": (HONOURED, "t"),
    "_source_includes": (HONOURED, "k"),
    "force_synthetic_source": (REFUSED, "true"),
    "preference": (NOOP, "_local"),  # _ONE_COPY
    "realtime": (HONOURED, "false"),
    "refresh": (HONOURED, "true"),
    "routing": (HONOURED, "1"),
    "stored_fields": (HONOURED, "k"),
    "version": (HONOURED, "1"),  # a version mismatch is a 409
    "version_type": (HONOURED, "internal"),
}
BULK_PARAMS: Table = {
    **{k: WRITE_PARAMS[k] for k in ("_slice", "refresh", "routing", "timeout", "wait_for_active_shards",
                                    "pipeline", "require_data_stream", "include_source_on_error")},
    "_source": (HONOURED, "true"),  # the source of update items' results
    "_source_excludes": (HONOURED, "t"),
    "_source_includes": (HONOURED, "k"),
    "list_executed_pipelines": (NOOP, "true"),  # no pipeline runs (a named one fails the item), so none is listed
    "require_alias": (HONOURED, "false"),
}  # fmt: skip
MGET_PARAMS: Table = {k: GET_PARAMS[k] for k in GET_PARAMS if k not in ("version", "version_type")}
MGET_BODY: Table = {"docs": (HONOURED, [{"_id": "1"}]), "ids": (HONOURED, ["1"])}
# fmt: on


def client_surface(api: Callable[..., Any]) -> tuple[set[str], set[str]]:
    """The URL parameters and body keys the client's method for ``api`` can send."""
    source = inspect.getsource(api)
    query = set(re.findall(r'__query\["(\w+)"\]', source)) - COMMON
    body = set(re.findall(r'__body\["(\w+)"\]', source))
    return query, body


# (client method, HTTP method, path, body, its parameter table, its body table)
APIS: dict[str, tuple[Callable[..., Any], str, str, Any, Table, Table | None]] = {
    "search": (Elasticsearch.search, "POST", "/p/_search", {}, SEARCH_PARAMS, SEARCH_BODY),
    "count": (Elasticsearch.count, "POST", "/p/_count", {}, COUNT_PARAMS, COUNT_BODY),
    "msearch": (Elasticsearch.msearch, "POST", "/_msearch", '{"index":"p"}\n{}\n', MSEARCH_PARAMS, None),
    "index": (Elasticsearch.index, "PUT", "/p/_doc/1", {"t": "one"}, INDEX_PARAMS, None),
    "delete": (Elasticsearch.delete, "DELETE", "/p/_doc/2", None, DELETE_PARAMS, None),
    "update": (Elasticsearch.update, "POST", "/p/_update/1", {"doc": {"k": "a"}}, UPDATE_PARAMS, UPDATE_BODY),
    "get": (Elasticsearch.get, "GET", "/p/_doc/1", None, GET_PARAMS, None),
    "bulk": (Elasticsearch.bulk, "POST", "/_bulk", '{"index":{"_index":"p","_id":"7"}}\n{"k":"b"}\n', BULK_PARAMS,
             None),
    "mget": (Elasticsearch.mget, "POST", "/p/_mget", {"ids": ["1"]}, MGET_PARAMS, MGET_BODY),
}  # fmt: skip
# parameters that only make sense together (the table's sample is sent with these)
COMPANIONS = {
    ("index", "if_seq_no"): {"if_primary_term": "1"},
    ("index", "if_primary_term"): {"if_seq_no": "0"},
    ("delete", "if_seq_no"): {"if_primary_term": "1"},
    ("delete", "if_primary_term"): {"if_seq_no": "1"},
    ("update", "if_seq_no"): {"if_primary_term": "1"},
    ("update", "if_primary_term"): {"if_seq_no": "0"},
    ("index", "version"): {"version_type": "external"},
    ("index", "version_type"): {"version": "5"},
    ("delete", "version"): {"version_type": "external"},
    ("delete", "version_type"): {"version": "100"},
    ("search", "suggest_mode"): {"suggest_field": "t", "suggest_text": "one"},
    ("search", "suggest_size"): {"suggest_field": "t", "suggest_text": "one"},
    ("search", "suggest_text"): {"suggest_field": "t"},
    ("search", "suggest_field"): {"suggest_text": "one"},
}


def test_every_client_parameter_is_classified() -> None:
    for name, (api, _, _, _, params, body) in APIS.items():
        query, body_keys = client_surface(api)
        assert query <= params.keys(), f"{name}: unclassified parameters {sorted(query - params.keys())}"
        if body is not None:
            assert body_keys <= body.keys(), f"{name}: unclassified body keys {sorted(body_keys - body.keys())}"


async def _fixture(client: httpx.AsyncClient) -> None:
    await client.delete("/p")
    mappings = {"properties": {"t": {"type": "text"}, "k": {"type": "keyword"}, "n": {"type": "integer"}}}
    await client.put("/p", json={"mappings": mappings})
    for i, (t, k) in enumerate([("one two", "a"), ("two three", "b"), ("three one", "c")], 1):
        await client.put(f"/p/_doc/{i}", json={"t": t, "k": k, "n": i})
    await client.post("/p/_refresh")


async def _send(client: httpx.AsyncClient, method: str, path: str, body: Any, params: dict[str, str]) -> httpx.Response:
    if isinstance(body, str):
        return await client.request(method, path, params=params, content=body,
                                    headers={"content-type": "application/x-ndjson"})  # fmt: skip
    if body is None:
        return await client.request(method, path, params=params)
    return await client.request(method, path, params=params, json=body)


def _check(what: str, name: str, verdict: str, response: httpx.Response) -> str | None:
    """Why ``response`` does not match the verdict, or None."""
    if verdict == REFUSED and response.status_code == 200 and "items" in response.json():
        # a bulk refuses it per item: every item fails, naming it
        items = [next(iter(item.values())) for item in response.json()["items"]]
        if not all(name in item.get("error", {}).get("reason", "") for item in items):
            return f"{what} [{name}] should fail every item: {items}"
    elif verdict == SCRIPTED:
        if response.status_code != 400 or "cannot execute [inline] scripts" not in response.text:
            return f"{what} [{name}] should be refused as a script: {response.status_code} {response.text[:200]}"
    elif verdict == REFUSED:
        if response.status_code != 400:
            return f"{what} [{name}] should be refused: {response.status_code} {response.text[:200]}"
        if name.lstrip("_") not in response.text:
            return f"{what} [{name}]: the 400 must name it: {response.text[:200]}"
    elif response.status_code >= 300:
        return f"{what} [{name}] should work: {response.status_code} {response.text[:200]}"
    return None


@pytest.mark.parametrize("api", sorted(APIS))
async def test_parameters_work_or_are_refused_by_name(asgi_client: httpx.AsyncClient, api: str) -> None:
    _, method, path, body, params, _ = APIS[api]
    wrong = []
    for name, (verdict, sample) in sorted(params.items()):
        await _fixture(asgi_client)
        sent = {name: sample, **COMPANIONS.get((api, name), {})}
        wrong.append(_check(f"{api} parameter", name, verdict, await _send(asgi_client, method, path, body, sent)))
    assert not [w for w in wrong if w], "\n".join(w for w in wrong if w)
    await _fixture(asgi_client)
    response = await _send(asgi_client, method, path, body, {"no_such_parameter": "1"})
    assert response.status_code == 400 and "no_such_parameter" in response.text


@pytest.mark.parametrize("api", ["search", "count", "update", "mget"])
async def test_body_keys_work_or_are_refused_by_name(asgi_client: httpx.AsyncClient, api: str) -> None:
    _, method, path, base, _, keys = APIS[api]
    assert keys is not None
    await _fixture(asgi_client)
    wrong = []
    for name, (verdict, sample) in sorted(keys.items()):
        if sample is None:  # needs another request first; its feature test covers it
            continue
        body = {**(base or {}), name: sample}
        if api == "update" and name in ("upsert", "doc_as_upsert", "detect_noop", "_source"):
            body = {"doc": {"k": "z"}, name: sample}
        wrong.append(_check(f"{api} body key", name, verdict, await _send(asgi_client, method, path, body, {})))
    assert not [w for w in wrong if w], "\n".join(w for w in wrong if w)
    response = await _send(asgi_client, method, path, {**(base or {}), "no_such_key": {}}, {})
    assert response.status_code == 400 and "no_such_key" in response.text


async def test_took_is_measured(asgi_client: httpx.AsyncClient) -> None:
    await _fixture(asgi_client)
    lines = []
    for i in range(3000):
        lines += [json.dumps({"index": {"_index": "p", "_id": f"b{i}"}}), json.dumps({"t": f"doc {i}", "n": i})]
    started = time.monotonic()
    response = await asgi_client.post("/_bulk?refresh=true", content="\n".join(lines) + "\n",
                                      headers={"content-type": "application/x-ndjson"})  # fmt: skip
    wall_ms = (time.monotonic() - started) * 1000
    assert 0 < response.json()["took"] <= wall_ms + 1
    msearch = '{"index":"p"}\n{"aggs":{"h":{"histogram":{"field":"n","interval":7}}}}\n' * 20
    started = time.monotonic()
    response = await asgi_client.post("/_msearch", content=msearch, headers={"content-type": "application/x-ndjson"})
    wall_ms = (time.monotonic() - started) * 1000
    assert 0 < response.json()["took"] <= wall_ms + 1


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [("pre_filter_shard_size", "0", "preFilterShardSize must be >= 1"),
     ("batched_reduce_size", "1", "batchedReduceSize must be >= 2"),
     ("max_concurrent_shard_requests", "0", "maxConcurrentShardRequests must be >= 1"),
     ("pre_filter_shard_size", "x", "Failed to parse int parameter [pre_filter_shard_size]")],
)  # fmt: skip
async def test_tuning_parameters_are_validated(asgi_client: httpx.AsyncClient, param: str, value: str,
                                               message: str) -> None:  # fmt: skip
    # checked before the indices are resolved, as ES does (the index need not exist)
    response = await asgi_client.get("/missing/_search", params={param: value})
    assert response.status_code == 400 and message in response.text
