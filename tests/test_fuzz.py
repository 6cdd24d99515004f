"""Fuzzing: no bad request body gets a 5xx, hangs, or takes the server down.

Every case starts from a VALID request (a corpus of query DSL, aggregations and search options over a small
fixed index with text/keyword/long/double/date/boolean/nested/geo_point fields; bulk bodies; mappings;
index settings) and hypothesis mutates it: a value replaced by a wrong type, a huge or tiny number
(±1e308, 5e-324, 2**63, 2**64), ``"NaN"``/``"Infinity"`` as strings, control and astral characters, empty
arrays and objects, deep nesting; keys deleted or added; bulk bodies torn at the byte level. Each answer
must come within ``REQUEST_TIMEOUT`` seconds with a status below 500 (a 4xx in ES's error shape), and the
server must still answer a valid search afterwards.

The cases run in process (httpx over ASGI on ``create_app``, one app for the module, driven from a
background event loop so every request has a wall-clock timeout) plus a short run against a real
``ServerProcess``. CI counts are seeded (``derandomize=True``, no example database);
``QUIDDITCH_SLOW=1`` runs the long tier (``tier(ci, slow)``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import running_server, tier

REQUEST_TIMEOUT = 20.0
# a whole fuzz test: the CI counts take well under a minute, the slow tier's (14,000 searches) ~10 minutes
TEST_TIMEOUT = tier(300, 3600)
INDEX = "fz"
BULK_INDEX = "fzbulk"
JSON = {"content-type": "application/json"}
NDJSON = {"content-type": "application/x-ndjson"}

MAPPINGS: dict[str, Any] = {
    "properties": {
        "t": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
        "k": {"type": "keyword"},
        "n": {"type": "long"},
        "i": {"type": "integer"},
        "d": {"type": "double"},
        "dt": {"type": "date"},
        "b": {"type": "boolean"},
        "g": {"type": "geo_point"},
        "ip": {"type": "ip"},
        "obj": {"properties": {"a": {"type": "keyword"}, "c": {"type": "long"}}},
        "nest": {"type": "nested", "properties": {"x": {"type": "long"}, "y": {"type": "keyword"}}},
    }
}
DOCS: list[dict[str, Any]] = [
    {"t": "the quick brown fox", "k": "a", "n": 1, "i": 3, "d": 1.5, "dt": "2024-01-01T10:00:00Z", "b": True,
     "g": {"lat": 52.5, "lon": 13.4}, "ip": "10.0.0.1", "obj": {"a": "x", "c": 1}, "nest": [{"x": 1, "y": "p"}]},
    {"t": "lazy dogs sleep", "k": "b", "n": -7, "i": -1, "d": -2.25, "dt": "2023-06-15", "b": False,
     "g": "48.85,2.35", "nest": [{"x": 5, "y": "q"}, {"x": 9}]},
    {"t": "quick quick slow", "k": "a", "n": 2**40, "d": 1e300, "dt": 0, "g": [13.4, 52.5]},
    {"t": "", "k": "ü€😀", "n": 0, "d": 0.0, "dt": "1970-01-01T00:00:00.001Z", "b": True, "ip": "::1"},
    {"k": "c", "obj": {"a": "y"}},
    {"t": "brown dogs and a fox", "n": 42, "i": 42, "d": 42.0, "dt": "2025-12-31T23:59:59.999Z"},
]  # fmt: skip

QUERIES: list[dict[str, Any]] = [
    {"match_all": {}},
    {"match": {"t": "quick fox"}},
    {"match": {"t": {"query": "quick", "operator": "and", "fuzziness": "AUTO", "boost": 2}}},
    {"match_phrase": {"t": {"query": "quick brown", "slop": 1}}},
    {"match_phrase_prefix": {"t": "quick br"}},
    {"multi_match": {"query": "fox", "fields": ["t", "k"], "type": "best_fields"}},
    {"term": {"k": "a"}},
    {"term": {"n": {"value": 1, "boost": 1.5}}},
    {"terms": {"k": ["a", "b"]}},
    {"range": {"n": {"gte": 0, "lt": 100}}},
    {"range": {"dt": {"gte": "now-10y/d", "lte": "now", "format": "strict_date_optional_time"}}},
    {"range": {"d": {"gt": -10.5}}},
    {"exists": {"field": "b"}},
    {"prefix": {"k": "a"}},
    {"wildcard": {"k": {"value": "a*"}}},
    {"regexp": {"k": "a.*"}},
    {"fuzzy": {"k": {"value": "b", "fuzziness": 1}}},
    {"ids": {"values": ["1", "2"]}},
    {"bool": {"must": [{"match": {"t": "quick"}}], "filter": [{"term": {"b": True}}],
              "must_not": [{"term": {"k": "c"}}], "should": [{"range": {"n": {"gte": 1}}}],
              "minimum_should_match": 1}},
    {"constant_score": {"filter": {"term": {"k": "a"}}, "boost": 1.2}},
    {"dis_max": {"queries": [{"match": {"t": "fox"}}, {"match": {"t": "dogs"}}], "tie_breaker": 0.3}},
    {"boosting": {"positive": {"match": {"t": "quick"}}, "negative": {"term": {"k": "b"}}, "negative_boost": 0.5}},
    {"query_string": {"query": "t:quick AND n:[0 TO 10]"}},
    {"simple_query_string": {"query": "quick -slow", "fields": ["t"]}},
    {"geo_distance": {"distance": "500km", "g": {"lat": 50.0, "lon": 10.0}}},
    {"geo_bounding_box": {"g": {"top_left": {"lat": 60, "lon": 0}, "bottom_right": {"lat": 40, "lon": 20}}}},
]  # fmt: skip

AGGS: list[dict[str, Any]] = [
    {"a": {"terms": {"field": "k", "size": 5, "order": {"_count": "desc"}}}},
    {"a": {"terms": {"field": "n", "missing": 0}, "aggs": {"s": {"sum": {"field": "d"}}}}},
    {"a": {"histogram": {"field": "n", "interval": 10, "min_doc_count": 1,
                         "extended_bounds": {"min": -20, "max": 20}}}},
    {"a": {"histogram": {"field": "d", "interval": 0.5, "offset": 0.1, "hard_bounds": {"min": -5, "max": 5}}}},
    {"a": {"histogram": {"field": "i", "interval": 2, "missing": 0, "extended_bounds": {"min": -4, "max": 4}}}},
    {"a": {"date_histogram": {"field": "dt", "calendar_interval": "year", "format": "yyyy",
                              "time_zone": "+01:00", "min_doc_count": 0}}},
    {"a": {"date_histogram": {"field": "dt", "fixed_interval": "30d",
                              "extended_bounds": {"min": "2023-01-01", "max": "2024-12-31"}}}},
    {"a": {"range": {"field": "d", "ranges": [{"to": 0}, {"from": 0, "to": 10}, {"from": 10}]}}},
    {"a": {"date_range": {"field": "dt", "ranges": [{"from": "now-5y/y", "to": "now"}], "format": "yyyy-MM-dd"}}},
    {"a": {"avg": {"field": "n"}}, "b": {"max": {"field": "d", "missing": 1}}, "c": {"min": {"field": "dt"}}},
    {"a": {"stats": {"field": "i"}}, "b": {"extended_stats": {"field": "d", "sigma": 2}}},
    {"a": {"percentiles": {"field": "d", "percents": [50, 99], "tdigest": {"compression": 100}}}},
    {"a": {"percentile_ranks": {"field": "n", "values": [1, 10]}}},
    {"a": {"cardinality": {"field": "k", "precision_threshold": 100}}},
    {"a": {"value_count": {"field": "k"}}, "m": {"missing": {"field": "b"}}},
    {"a": {"filters": {"filters": {"x": {"term": {"k": "a"}}, "y": {"match": {"t": "dogs"}}}, "other_bucket": True}}},
    {"a": {"filter": {"term": {"b": True}}, "aggs": {"t": {"top_hits": {"size": 2, "sort": [{"n": "desc"}]}}}}},
    {"a": {"composite": {"size": 3, "sources": [{"k": {"terms": {"field": "k"}}},
                                                {"h": {"histogram": {"field": "n", "interval": 5}}}],
                         "after": {"k": "a", "h": 0}}}},
    {"a": {"nested": {"path": "nest"}, "aggs": {"x": {"terms": {"field": "nest.y"}}}}},
    {"a": {"global": {}, "aggs": {"c": {"value_count": {"field": "n"}}}}},
    {"a": {"geo_bounds": {"field": "g"}}, "b": {"geo_centroid": {"field": "g"}}},
]  # fmt: skip

SEARCHES: list[dict[str, Any]] = [
    *({"query": q} for q in QUERIES),
    *({"size": 0, "aggs": a} for a in AGGS),
    {"query": {"match": {"t": "quick"}}, "highlight": {"fields": {"t": {"fragment_size": 50}},
                                                       "pre_tags": ["<b>"], "post_tags": ["</b>"]}},
    {"sort": [{"n": {"order": "asc", "missing": "_first"}}, {"k": "desc"}], "search_after": [0, "a"]},
    {"sort": [{"dt": "desc"}, "_doc"], "search_after": [1704103200000, 1], "size": 2},
    {"sort": [{"d": {"order": "asc", "missing": 0}}], "from": 1, "size": 3},
    {"sort": ["_score"], "search_after": [1.0], "query": {"match": {"t": "quick"}}},
    {"_source": {"includes": ["t", "n"], "excludes": ["n"]}, "stored_fields": ["_source"]},
    {"_source": False, "docvalue_fields": ["n", {"field": "dt", "format": "epoch_millis"}], "fields": ["k"]},
    {"min_score": 0.1, "query": {"match": {"t": "quick"}}, "track_total_hits": True},
    {"track_total_hits": 2, "timeout": "1s", "terminate_after": 100, "version": True,
     "seq_no_primary_term": True},
    {"post_filter": {"term": {"k": "a"}}, "aggs": {"a": {"terms": {"field": "k"}}}},
    {"indices_boost": [{INDEX: 1.5}], "explain": True, "query": {"match": {"t": "fox"}}},
]  # fmt: skip

MAPPING_CORPUS: list[dict[str, Any]] = [
    {"properties": {"f": {"type": "text", "analyzer": "standard", "fields": {"kw": {"type": "keyword",
                                                                                   "ignore_above": 256}}}}},
    {"properties": {"f": {"type": "keyword", "normalizer": "lowercase", "doc_values": True, "null_value": "n"}}},
    {"properties": {"f": {"type": "long", "coerce": False, "ignore_malformed": True}}},
    {"properties": {"f": {"type": "scaled_float", "scaling_factor": 100}}},
    {"properties": {"f": {"type": "date", "format": "yyyy-MM-dd||epoch_millis"}}},
    {"properties": {"f": {"type": "nested", "properties": {"g": {"type": "integer"}}}}},
    {"properties": {"f": {"type": "object", "enabled": False}}},
    {"properties": {"f": {"type": "geo_point"}, "r": {"type": "integer_range"}}},
    {"dynamic": "strict", "properties": {"f": {"type": "boolean"}}},
    {"dynamic_templates": [{"s": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}],
     "properties": {"f": {"type": "ip"}}},
    {"properties": {"f": {"type": "text", "copy_to": "all"}, "all": {"type": "text"},
                    "al": {"type": "alias", "path": "f"}}},
]  # fmt: skip

SETTINGS_CORPUS: list[dict[str, Any]] = [
    {"number_of_shards": 1, "number_of_replicas": 0},
    {"index": {"number_of_shards": 2, "refresh_interval": "1s"}},
    {"index.max_result_window": 500, "index.mapping.total_fields.limit": 100},
    {"analysis": {"analyzer": {"my": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]}}}},
    {"analysis": {"normalizer": {"lc": {"type": "custom", "filter": ["lowercase"]}}}},
    {"index": {"refresh_interval": "-1", "max_terms_count": 100, "max_regex_length": 50}},
]

# -- mutation ----------------------------------------------------------------------------------------------

NASTY: list[Any] = [
    None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63) - 1, 2**64, 10**30, 1e308, -1e308, 5e-324, -5e-324, 0.5,
    "NaN", "Infinity", "-Infinity", "1e400", "", " ", "a", "abc", "\x00", "\x01\x1f", "\ud7ff", "\U0001f600",
    "é" * 300, "x" * 5000, "now-1d/d", "2024-13-45", "*", ".*", "(", "[", "\\", "_all", "_doc", "_id", "-1",
    "9" * 40, "1.5", "true", [], {}, [[]], [{}], {"a": {}}, [1, "a", None], {"": 1}, {"x": [None]},
]  # fmt: skip
SCALARS = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
KEYS = st.one_of(
    st.sampled_from(["query", "aggs", "field", "size", "from", "sort", "match", "bool", "must", "terms", "value",
                     "missing", "format", "interval", "order", "min", "max", "t", "n", "dt", "nest.x", "g", "",
                     "_source", "script", "boost", "type", "properties", "analyzer", "index", "fields"]),
    st.text(max_size=8),
)  # fmt: skip


def _paths(value: Any) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (iteratively: mutated values can be hundreds of levels deep)."""
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while stack:
        prefix, node = stack.pop()
        out.append(prefix)
        if isinstance(node, dict):
            stack.extend(((*prefix, key), child) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend(((*prefix, i), child) for i, child in enumerate(node))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def _deep(depth: int, kind: int) -> Any:
    value: Any = {"match_all": {}}
    for _ in range(depth):
        value = {"bool": {"must": [value]}} if kind == 0 else [value] if kind == 1 else {"a": value}
    return value


@st.composite
def _mutation(draw: st.DrawFn, base: Any) -> Any:
    """``base`` (a deep copy) with one to three mutations at random places."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "wrap", "deep", "dup"]))
        if op == "deep":
            new: Any = _deep(draw(st.sampled_from([3, 11, 31, 60])), draw(st.integers(0, 2)))
        elif op == "wrap":
            current = _get(doc, path)
            new = draw(st.sampled_from([[current], {"x": current}, [current, copy.deepcopy(current)], []]))
        elif op == "dup":
            current = _get(doc, path)
            new = [copy.deepcopy(current) for _ in range(draw(st.sampled_from([2, 50, 1100])))]
        else:
            new = copy.deepcopy(draw(SCALARS))  # NASTY's lists and dicts are shared: never mutate them
        if not path:
            doc = new if op in ("replace", "wrap", "deep") else doc
            continue
        parent = _get(doc, path[:-1])
        last = path[-1]
        if op == "delete":
            del parent[last]
        elif op == "add":
            if isinstance(parent, dict):
                parent[draw(KEYS)] = copy.deepcopy(draw(SCALARS))
            else:
                parent.append(copy.deepcopy(draw(SCALARS)))
        else:
            parent[last] = new
    return doc


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


# -- transports ----------------------------------------------------------------------------------------------


class InProcess:
    """One app for the module, on an event loop in a background thread: ``call`` waits with a timeout."""

    def __init__(self, data_dir: Path) -> None:
        from server.app import create_app
        from server.settings import load_settings
        from tests.conftest import _starlette_of

        self.app = create_app(load_settings({"data_dir": str(data_dir)}))
        self.starlette = _starlette_of(self.app)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._lifespan: Any = None
        self.client: httpx.AsyncClient | None = None

    def _run(self, coro: Any, timeout: float = REQUEST_TIMEOUT) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)

    def start(self) -> InProcess:
        async def up() -> None:
            self._lifespan = self.starlette.router.lifespan_context(self.starlette)
            await self._lifespan.__aenter__()
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)  # type: ignore[arg-type]
            self.client = httpx.AsyncClient(transport=transport, base_url="http://fuzz.test", timeout=REQUEST_TIMEOUT)

        self._run(up(), 60)
        return self

    def stop(self) -> None:
        async def down() -> None:
            assert self.client is not None
            await self.client.aclose()
            await self._lifespan.__aexit__(None, None, None)

        try:
            self._run(down(), 60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        assert self.client is not None
        request = self.client.request(method, path, content=body, headers=headers or {})
        try:
            return self._run(request)
        except FutureTimeout:
            pytest.fail(f"no answer within {REQUEST_TIMEOUT}s: {method} {path} {body[:2000] if body else b''!r}")


class OverSocket:
    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT)

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        try:
            return self.client.request(method, path, content=body, headers=headers or {})
        except httpx.TimeoutException:
            pytest.fail(f"no answer within {REQUEST_TIMEOUT}s: {method} {path} {body[:2000] if body else b''!r}")


Call = Callable[..., Any]


def _setup(call: Call) -> None:
    for name in (INDEX, BULK_INDEX):
        response = call("PUT", f"/{name}", _dumps({"mappings": MAPPINGS}), JSON)
        assert response.status_code == 200, response.text
    lines = []
    for i, doc in enumerate(DOCS):
        lines += [json.dumps({"index": {"_index": INDEX, "_id": str(i)}}), json.dumps(doc)]
    response = call("POST", "/_bulk?refresh=true", ("\n".join(lines) + "\n").encode(), NDJSON)
    assert response.status_code == 200 and not response.json()["errors"], response.text


def _check(response: Any, what: str) -> None:
    """Below 500; an error answer has ES's shape (``error`` and ``status``)."""
    assert response.status_code < 500, f"{what}\n-> {response.status_code} {response.text[:3000]}"
    if response.status_code >= 400 and response.headers.get("content-length") != "0":
        body = response.json()
        assert set(body) == {"error", "status"} and body["status"] == response.status_code, (what, body)


def _alive(call: Call) -> None:
    response = call("GET", "/")
    assert response.status_code == 200, response.text
    response = call("POST", f"/{INDEX}/_search", _dumps({"query": {"match_all": {}}, "size": 0}), JSON)
    assert response.status_code == 200 and response.json()["hits"]["total"]["value"] == len(DOCS), response.text


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    app = InProcess(tmp_path_factory.mktemp("fuzz") / "data").start()
    try:
        _setup(app.call)
        yield app
    finally:
        app.stop()


_SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "print_blob": False,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                              HealthCheck.function_scoped_fixture, HealthCheck.large_base_example],
}  # fmt: skip

# -- the corpus is valid ---------------------------------------------------------------------------------------


def test_the_corpus_is_valid(app: InProcess) -> None:
    failed = []
    for body in SEARCHES:
        response = app.call("POST", f"/{INDEX}/_search", _dumps(body), JSON)
        if response.status_code != 200:
            failed.append((json.dumps(body), response.text[:300]))
    assert not failed, failed
    for i, mappings in enumerate(MAPPING_CORPUS):
        response = app.call("PUT", f"/fzmap-valid-{i}", _dumps({"mappings": mappings}), JSON)
        assert response.status_code == 200, (mappings, response.text[:2000])
        assert app.call("DELETE", f"/fzmap-valid-{i}").status_code == 200
    for i, index_settings in enumerate(SETTINGS_CORPUS):
        response = app.call("PUT", f"/fzset-valid-{i}", _dumps({"settings": index_settings}), JSON)
        assert response.status_code == 200, (index_settings, response.text[:2000])
        assert app.call("DELETE", f"/fzset-valid-{i}").status_code == 200


# -- _search ------------------------------------------------------------------------------------------------


def _search_case(data: st.DataObject) -> tuple[str, str, bytes]:
    body = data.draw(_mutation(data.draw(st.sampled_from(SEARCHES))))
    path = data.draw(st.sampled_from([f"/{INDEX}/_search", f"/{INDEX}/_search", f"/{INDEX}/_count",
                                      f"/{INDEX}/_search?size=3&from=1", "/_search"]))  # fmt: skip
    if path.endswith("_count") and isinstance(body, dict):
        body = {k: v for k, v in body.items() if k == "query"}
    return "POST", path, _dumps(body)


@pytest.mark.timeout(TEST_TIMEOUT)
@settings(max_examples=tier(700, 14_000), **_SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_search_bodies(app: InProcess, data: st.DataObject) -> None:
    method, path, body = _search_case(data)
    _check(app.call(method, path, body, JSON), f"{method} {path} {body[:3000]!r}")


# -- _bulk -------------------------------------------------------------------------------------------------


def _bulk_case(data: st.DataObject) -> bytes:
    items: list[Any] = []
    for i in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["index", "create", "update", "delete"]))
        meta: dict[str, Any] = {"_index": BULK_INDEX, "_id": f"b{i}"}
        items.append({action: meta})
        doc = copy.deepcopy(DOCS[i % len(DOCS)])
        if action == "update":
            items.append({"doc": doc, "doc_as_upsert": True})
        elif action != "delete":
            items.append(doc)
    items = data.draw(_mutation(items))
    if not isinstance(items, list):
        items = [items]
    text = b"".join(_dumps(line) + b"\n" for line in items)
    raw = data.draw(st.sampled_from(["keep"] * 6 + ["no_newline", "truncate", "garbage", "blank", "crlf"]))
    if raw == "no_newline":
        text = text.rstrip(b"\n")
    elif raw == "truncate":
        text = text[: data.draw(st.integers(0, max(len(text) - 1, 0)))]
    elif raw == "garbage":
        text += data.draw(st.sampled_from([b"{", b"\xff\xfe\n", b"[]\n", b"null\n", b"{}\n{}\n", b"\x00\n"]))
    elif raw == "blank":
        text = b"\n\n" + text
    elif raw == "crlf":
        text = text.replace(b"\n", b"\r\n")
    return text


@pytest.mark.timeout(TEST_TIMEOUT)
@settings(max_examples=tier(150, 3_000), **_SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_bulk_bodies(app: InProcess, data: st.DataObject) -> None:
    body = _bulk_case(data)
    path = data.draw(st.sampled_from(["/_bulk", f"/{BULK_INDEX}/_bulk", "/_bulk?refresh=true"]))
    headers = data.draw(st.sampled_from([NDJSON, JSON]))
    _check(app.call("POST", path, body, headers), f"POST {path} {body[:3000]!r}")


# -- mappings and settings -----------------------------------------------------------------------------------


@pytest.mark.timeout(TEST_TIMEOUT)
@settings(max_examples=tier(120, 2_000), **_SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_mappings(app: InProcess, data: st.DataObject) -> None:
    mappings = data.draw(_mutation(data.draw(st.sampled_from(MAPPING_CORPUS))))
    if data.draw(st.booleans()):
        path, body = "/fzmap", {"mappings": mappings}
        response = app.call("PUT", path, _dumps(body), JSON)
        if response.status_code == 200:
            assert app.call("DELETE", path).status_code == 200
    else:
        path, body = f"/{BULK_INDEX}/_mapping", mappings
        response = app.call("PUT", path, _dumps(body), JSON)
    _check(response, f"PUT {path} {_dumps(body)[:3000]!r}")


@pytest.mark.timeout(TEST_TIMEOUT)
@settings(max_examples=tier(80, 1_000), **_SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_index_settings(app: InProcess, data: st.DataObject) -> None:
    index_settings = data.draw(_mutation(data.draw(st.sampled_from(SETTINGS_CORPUS))))
    if data.draw(st.booleans()):
        path, body = "/fzset", {"settings": index_settings}
        response = app.call("PUT", path, _dumps(body), JSON)
        if response.status_code == 200:
            assert app.call("DELETE", path).status_code == 200
    else:
        path, body = f"/{BULK_INDEX}/_settings", index_settings
        response = app.call("PUT", path, _dumps(body), JSON)
    _check(response, f"PUT {path} {_dumps(body)[:3000]!r}")


def test_still_alive_after_the_fuzzing(app: InProcess) -> None:
    _alive(app.call)


# -- a short run over a real socket ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(TEST_TIMEOUT)
def test_fuzz_over_the_socket(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as server:
        remote = OverSocket(server.url)
        _setup(remote.call)

        @settings(max_examples=tier(60, 1_000), **_SETTINGS)  # type: ignore[arg-type]
        @given(data=st.data())
        def run(data: st.DataObject) -> None:
            if data.draw(st.integers(0, 3)):
                method, path, body = _search_case(data)
                _check(remote.call(method, path, body, JSON), f"{method} {path} {body[:3000]!r}")
            else:
                body = _bulk_case(data)
                _check(remote.call("POST", "/_bulk", body, NDJSON), f"POST /_bulk {body[:3000]!r}")

        try:
            run()
            _alive(remote.call)
        finally:
            remote.client.close()
        assert server.proc is not None and server.proc.poll() is None
