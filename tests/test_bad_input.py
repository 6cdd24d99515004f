"""Bad input gets ES's status and ``error.type``, and the server keeps answering afterwards.

Most cases run in process (httpx over ASGI on ``create_app``); the body-size limit and a few others run
over the real hypercorn socket.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import httpx
import pytest

from tests.conftest import running_server
from tests.server.helpers import assert_canonical_error, assert_flat_error

NDJSON = {"content-type": "application/x-ndjson"}
INDEX = "things"
MAPPINGS = {"properties": {"n": {"type": "long"}, "title": {"type": "text"}, "tag": {"type": "keyword"}}}


async def _alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200, response.text
    assert response.json()["tagline"] == "You Know, for Search"


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    response = await asgi_client.put(f"/{INDEX}", json={"mappings": MAPPINGS})
    assert response.status_code == 200, response.text
    response = await asgi_client.put(f"/{INDEX}/_doc/1?refresh=true", json={"n": 1, "title": "one", "tag": "a"})
    assert response.status_code == 201, response.text
    return asgi_client


def _nested_bool(depth: int) -> str:
    """A query nested ``depth`` bools deep, built as text (``json.dumps`` would recurse that deep)."""
    return '{"query":' + '{"bool":{"must":[' * depth + '{"match_all":{}}' + "]}}" * depth + "}"


# -- the search body ------------------------------------------------------------------------------------


async def test_unknown_query_clause_is_a_parsing_exception(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/{INDEX}/_search", json={"query": {"matc": {"title": "one"}}})
    assert_canonical_error(response, 400, "parsing_exception")
    assert "matc" in response.json()["error"]["reason"]
    await _alive(client)


@pytest.mark.parametrize("body", [b'{"query":{', b"{not json}", b'{"query":{"match_all":{}}}}', b"\xff\xfe"])
async def test_malformed_json_body(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(f"/{INDEX}/_search", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    error_type = response.json()["error"]["type"]
    # ES answers these with one of its parse exceptions, depending on where Jackson gives up.
    assert error_type in (
        "x_content_parse_exception",
        "parse_exception",
        "json_parse_exception",
        "parsing_exception",
    )
    assert_canonical_error(response, 400, error_type)
    await _alive(client)


async def test_from_plus_size_over_the_result_window(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/{INDEX}/_search", json={"from": 9995, "size": 10})
    assert_canonical_error(response, 400, "search_phase_execution_exception", root_type="illegal_argument_exception")
    error = response.json()["error"]
    assert "Result window is too large" in error["root_cause"][0]["reason"]
    assert error["caused_by"]["type"] == "illegal_argument_exception"
    # exactly at the limit is fine
    ok = await client.post(f"/{INDEX}/_search", json={"from": 9990, "size": 10})
    assert ok.status_code == 200, ok.text
    await _alive(client)


async def test_bool_nesting_past_the_limit(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"/{INDEX}/_search", content=_nested_bool(40), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert_canonical_error(response, 400, response.json()["error"]["type"])
    assert "nested depth" in response.json()["error"]["reason"]
    within = await client.post(
        f"/{INDEX}/_search", content=_nested_bool(20), headers={"content-type": "application/json"}
    )
    assert within.status_code == 200, within.text
    assert within.json()["hits"]["total"]["value"] == 1
    await _alive(client)


async def test_absurd_bool_nesting_is_a_fast_400(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    response = await client.post(
        f"/{INDEX}/_search", content=_nested_bool(5000), headers={"content-type": "application/json"}
    )
    assert time.monotonic() - started < 5.0
    assert response.status_code == 400, response.text
    assert_canonical_error(response, 400, response.json()["error"]["type"])
    await _alive(client)


async def test_too_many_should_clauses(client: httpx.AsyncClient) -> None:
    query = {"bool": {"should": [{"term": {"n": i}} for i in range(5000)]}}
    response = await client.post(f"/{INDEX}/_search", json={"query": query})
    assert response.status_code == 400, response.text
    assert_canonical_error(response, 400, response.json()["error"]["type"])
    assert "maxClauseCount" in json.dumps(response.json())
    await _alive(client)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", f"/{INDEX}/_search?foo=bar"), ("GET", f"/{INDEX}/_count?size_of_thing=1"),
     ("GET", f"/{INDEX}/_doc/1?bogus=1"), ("PUT", "/newindex?whatever=true")],
)  # fmt: skip
async def test_unknown_url_parameter(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)
    assert_canonical_error(response, 400, "illegal_argument_exception")
    assert "contains unrecognized parameter" in response.json()["error"]["reason"]
    await _alive(client)


# -- indices ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/missing/_search", "/missing/_doc/1", "/missing/_count", "/missing/_mapping", "/missing"]
)
async def test_unknown_index(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert_canonical_error(response, 404, "index_not_found_exception")
    root = response.json()["error"]["root_cause"][0]
    assert root["resource.id"] == "missing"
    assert root["resource.type"] == "index_or_alias"
    await _alive(client)


@pytest.mark.parametrize(
    ("raw", "name"),
    [("%2E%2E", ".."), ("%2E", "."), ("UPPER", "UPPER"), ("_x", "_x"), ("-x", "-x"), ("%2Bx", "+x"),
     ("a%2Ab", "a*b"), ("a%3Fb", "a?b"), ("a%20b", "a b"), ("a%2Cb", "a,b"), ("a%22b", 'a"b'),
     ("a%3Cb", "a<b"), ("a%7Cb", "a|b"), ("a%23b", "a#b"), ("x" * 256, "x" * 256)],
)  # fmt: skip
async def test_invalid_index_name(client: httpx.AsyncClient, raw: str, name: str) -> None:
    response = await client.put(f"/{raw}", json={})
    assert_canonical_error(response, 400, "invalid_index_name_exception")
    assert response.json()["error"].get("index") == name, response.json()
    assert (await client.head(f"/{raw}")).status_code in (400, 404)
    await _alive(client)


async def test_existing_index(client: httpx.AsyncClient) -> None:
    response = await client.put(f"/{INDEX}", json={})
    assert_canonical_error(response, 400, "resource_already_exists_exception")
    assert response.json()["error"]["index"] == INDEX
    await _alive(client)


# -- documents and bulk ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"index":{"_index":"things"}\n{"n":1}\n',  # torn action line
        b'{"bogus":{"_index":"things"}}\n{"n":1}\n',  # unknown action
        b'not json\n{"n":1}\n',
        b'{"index":{"_index":"things"}}\n{"n":1}\n{"index":{"_index":"things"},"extra":{}}\n{"n":2}\n',
    ],
)
async def test_malformed_bulk_action_line(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/_bulk", content=body, headers=NDJSON)
    assert_canonical_error(response, 400, "illegal_argument_exception")
    await _alive(client)
    # nothing from a rejected request was indexed
    await client.post(f"/{INDEX}/_refresh")
    count = await client.get(f"/{INDEX}/_count")
    assert count.json()["count"] == 1, count.text


async def test_mapping_conflict_fails_only_its_bulk_item(client: httpx.AsyncClient) -> None:
    lines = [{"index": {"_index": INDEX, "_id": "ok1"}}, {"n": 2, "tag": "b"},
             {"index": {"_index": INDEX, "_id": "bad"}}, {"n": "not a number"},
             {"create": {"_index": INDEX, "_id": "ok2"}}, {"n": 3, "tag": "c"}]  # fmt: skip
    body = "".join(json.dumps(line) + "\n" for line in lines)
    response = await client.post("/_bulk?refresh=true", content=body, headers=NDJSON)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["errors"] is True
    items = result["items"]
    assert [next(iter(item)) for item in items] == ["index", "index", "create"]
    assert items[0]["index"]["status"] == 201 and items[0]["index"]["_id"] == "ok1"
    assert items[2]["create"]["status"] == 201 and items[2]["create"]["_id"] == "ok2"
    bad = items[1]["index"]
    assert bad["status"] == 400 and bad["_id"] == "bad"
    assert bad["error"]["type"] == "document_parsing_exception", bad
    assert "[n]" in bad["error"]["reason"]
    assert (await client.get(f"/{INDEX}/_doc/ok1")).json()["found"] is True
    assert (await client.get(f"/{INDEX}/_doc/ok2")).json()["found"] is True
    assert (await client.get(f"/{INDEX}/_doc/bad")).status_code == 404
    # the same conflict on the single-document API is a top-level 400
    single = await client.put(f"/{INDEX}/_doc/bad", json={"n": "nope"})
    assert_canonical_error(single, 400, "document_parsing_exception")
    await _alive(client)


async def test_id_over_512_bytes(client: httpx.AsyncClient) -> None:
    long_id = "é" * 257  # 514 UTF-8 bytes, 257 characters
    response = await client.put(f"/{INDEX}/_doc/{long_id}", json={"n": 1})
    assert_canonical_error(response, 400, "action_request_validation_exception")
    assert "512 bytes" in response.json()["error"]["reason"]
    body = json.dumps({"index": {"_index": INDEX, "_id": "y" * 513}}) + '\n{"n":1}\n'
    body += json.dumps({"index": {"_index": INDEX, "_id": "y" * 512}}) + '\n{"n":1}\n'
    bulk = await client.post("/_bulk", content=body, headers=NDJSON)
    assert bulk.status_code == 200, bulk.text
    first, second = (item["index"] for item in bulk.json()["items"])
    assert first["status"] == 400 and first["error"]["type"] == "action_request_validation_exception", first
    assert second["status"] == 201, second
    await _alive(client)


async def test_unknown_endpoint_is_a_flat_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/_no_such_api/really")
    assert_flat_error(response, 400, "no handler found for uri [/_no_such_api/really] and method [GET]")
    assert response.headers["x-elastic-product"] == "Elasticsearch"
    await _alive(client)


async def test_empty_bulk_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/_bulk", content=b"", headers=NDJSON)
    assert_canonical_error(response, 400, "action_request_validation_exception")
    assert "no requests added" in response.json()["error"]["reason"]
    await _alive(client)


# -- over the real socket --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_body_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with running_server(tmp_path_factory.mktemp("small") / "data", {"QUIDDITCH_HTTP_MAX_CONTENT_LENGTH": "1mb"}) as srv:
        yield srv


def _raw_request(
    url: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """http.client keeps ``path`` exactly as given (httpx would normalise ``/..``)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {"content-type": "application/json", **(headers or {})}.items():
            conn.putheader(name, value)
        conn.putheader("content-length", str(len(body)))
        conn.endheaders()
        try:
            conn.send(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading a body it refuses
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_body_over_max_content_length_is_413(small_body_server: Any) -> None:
    url = small_body_server.url
    assert httpx.put(f"{url}/big", json={}).status_code == 200
    line = b'{"index":{"_index":"big"}}\n{"f":"' + b"x" * 1000 + b'"}\n'
    body = line * (2 * 1024 * 1024 // len(line))
    status, payload = _raw_request(url, "POST", "/_bulk", body, {"content-type": "application/x-ndjson"})
    assert status == 413, payload[:500]
    # chunked (no Content-Length): refused while streaming
    with httpx.Client(base_url=url, timeout=30) as client:
        chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
        response = client.post("/_bulk", content=iter(chunks), headers=NDJSON)
        assert response.status_code == 413
        assert response.headers["x-elastic-product"] == "Elasticsearch"
    # just under the limit is accepted
    ok_body = line * (512 * 1024 // len(line))
    response = httpx.post(f"{url}/_bulk", content=ok_body, headers=NDJSON, timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["errors"] is False
    assert httpx.get(url + "/").status_code == 200


def test_bad_input_over_the_socket(server: Any) -> None:
    url = server.url
    status, payload = _raw_request(url, "PUT", "/..", b"{}")
    assert_canonical_error(json.loads(payload), 400, "invalid_index_name_exception")
    assert status == 400
    response = httpx.post(f"{url}/_search", content=b'{"query":{', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert_canonical_error(response, 400, response.json()["error"]["type"])
    response = httpx.post(f"{url}/_search", content=_nested_bool(5000), headers={"content-type": "application/json"})
    assert response.status_code == 400
    response = httpx.get(f"{url}/nope/_search")
    assert_canonical_error(response, 404, "index_not_found_exception")
    assert httpx.get(url + "/").status_code == 200
    assert server.proc.poll() is None


# -- causes found by fuzzing (tests/test_fuzz.py) and the rest of ES's bad-input table --------------------------

RICH = {"properties": {"t": {"type": "text"}, "k": {"type": "keyword"}, "n": {"type": "long"}, "d": {"type": "double"},
                       "dt": {"type": "date"}, "b": {"type": "boolean"}, "g": {"type": "geo_point"},
                       "obj": {"properties": {"a": {"type": "keyword"}}},
                       "nest": {"type": "nested", "properties": {"x": {"type": "long"}}}}}  # fmt: skip


@pytest.fixture
async def rich(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    response = await asgi_client.put("/rich", json={"mappings": RICH})
    assert response.status_code == 200, response.text
    docs = [{"t": "quick fox", "k": "a", "n": 1, "d": 1e300, "dt": "2024-01-01", "b": True, "nest": [{"x": 1}]},
            {"t": "lazy dog", "k": "b", "n": -7, "d": -1e300, "dt": "1970-01-01", "b": False},
            {"t": "no numbers"}]  # fmt: skip
    for i, doc in enumerate(docs):
        response = await asgi_client.put(f"/rich/_doc/{i}?refresh=true", json=doc)
        assert response.status_code == 201, response.text
    return asgi_client


async def _search(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.post("/rich/_search", json=body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"sort": [{"n": "asc"}], "search_after": []}, "search_after has 0 value(s) but sort has 1."),
        ({"sort": [{"n": "asc"}, {"k": "asc"}], "search_after": [1]}, "search_after has 1 value(s) but sort has 2."),
        ({"sort": [{"n": "asc"}], "search_after": ["abc"]}, "Failed to parse search_after value for field [n]."),
        ({"sort": [{"d": "asc"}], "search_after": ["abc"]}, "Failed to parse search_after value for field [d]."),
        ({"sort": [{"dt": "asc"}], "search_after": ["abc"]}, "Failed to parse search_after value for field [dt]."),
        ({"sort": [{"k": "asc"}], "search_after": [{"a": 1}]}, "Failed to parse search_after value for field [k]."),
        ({"sort": ["_score"], "search_after": [[1]]}, "Failed to parse search_after value for field [_score]."),
        ({"sort": [{"n": {"missing": "abc"}}]}, 'For input string: "abc"'),
        (
            {"sort": [{"nest.x": {"order": "asc", "missing": "zz", "nested": {"path": "nest"}}}]},
            'For input string: "zz"',
        ),
    ],
)  # fmt: skip
async def test_sort_values_of_the_wrong_type(rich: httpx.AsyncClient, body: Any, reason: str) -> None:
    response = await _search(rich, body)
    assert_canonical_error(response, 400, "search_phase_execution_exception", root_type="illegal_argument_exception")
    assert response.json()["error"]["root_cause"][0]["reason"] == reason
    await _alive(rich)


@pytest.mark.parametrize(
    ("after", "expected"),
    [([2**70], []), ([1e308], []), ([-1e308], ["1", "0"]), (["-10"], ["1", "0"]), ([-(2**64)], ["1", "0"])],
)
async def test_search_after_out_of_the_long_range_is_a_page(rich: httpx.AsyncClient, after: Any, expected: Any) -> None:
    # Java's double -> long conversion saturates: past the 64-bit range is before or after every value
    response = await _search(rich, {"sort": [{"n": "asc"}], "search_after": after, "query": {"exists": {"field": "n"}}})
    assert response.status_code == 200, response.text
    assert [h["_id"] for h in response.json()["hits"]["hits"]] == expected


async def test_search_after_on_a_date_reads_a_date_string(rich: httpx.AsyncClient) -> None:
    response = await _search(rich, {"sort": [{"dt": "asc"}], "search_after": ["2000-01-01"]})
    assert response.status_code == 200, response.text
    assert [h["_id"] for h in response.json()["hits"]["hits"]] == ["0", "2"]


@pytest.mark.parametrize(
    ("body", "es_type", "reason"),
    [
        ({"stored_fields": 5}, "parsing_exception",
         "Expected [VALUE_STRING] or [START_ARRAY] in [stored_fields] but found [VALUE_NUMBER]"),
        ({"_source": {"excludes": 1}}, "parsing_exception", "Unknown key for a VALUE_NUMBER in [excludes]."),
        ({"_source": {"includes": [1]}}, "parsing_exception", "Unknown key for a VALUE_NUMBER in [includes]."),
        ({"_source": {"bogus": "x"}}, "parsing_exception", "Unknown key for a VALUE_STRING in [bogus]."),
        ({"_source": 5}, "parsing_exception", "Unknown key for a VALUE_NUMBER in [_source]."),
        ({"min_score": "a"}, "number_format_exception", 'For input string: "a"'),
        ({"min_score": [1]}, "parsing_exception", None),
        ({"docvalue_fields": 1}, "parsing_exception",
         "Expected [START_ARRAY] in [docvalue_fields] but found [VALUE_NUMBER]"),
        ({"fields": [5]}, "parsing_exception", None),
        ({"query": {"match": {"t": "fox"}}, "highlight": {"fields": {"t": "a"}}}, "x_content_parse_exception", None),
        ({"query": {"match": {"t": "fox"}}, "highlight": {"fields": {"t": {"fragment_size": "x"}}}},
         "x_content_parse_exception", None),
        ({"query": {"match": {"t": "fox"}}, "highlight": {"pre_tags": 5, "fields": {"t": {}}}},
         "x_content_parse_exception", None),
        ({"query": {"match": {"t": "fox"}}, "highlight": {"fields": [5]}}, "x_content_parse_exception", None),
        ({"query": {"match": {"t": "fox"}}, "highlight": {"fields": {"t": {}}, "pre_tags": ["<b>"], "post_tags": []}},
         "illegal_argument_exception", "pre_tags or post_tags must not be empty"),
        ({"query": {"match": {"t": "fox"}}, "highlight": {"fields": {"t": {}}, "pre_tags": ["<b>"]}},
         "illegal_argument_exception", "pre_tags are set but post_tags are not set"),
    ],
)  # fmt: skip
async def test_search_options_of_the_wrong_type(rich: httpx.AsyncClient, body: Any, es_type: str, reason: Any) -> None:
    response = await _search(rich, body)
    assert_canonical_error(response, 400, es_type)
    if reason is not None:
        assert response.json()["error"]["reason"] == reason
    await _alive(rich)


def _agg(body: dict[str, Any]) -> dict[str, Any]:
    return {"size": 0, "aggs": {"a": body}}


@pytest.mark.parametrize(
    "agg",
    [
        {"date_histogram": {"field": "dt", "fixed_interval": "1d", "extended_bounds": {"min": -1e300, "max": 1e300}}},
        {"date_histogram": {"field": "dt", "fixed_interval": "1d", "extended_bounds": {"min": 0, "max": 2**64}}},
        {"date_histogram": {"field": "dt", "fixed_interval": "1d", "hard_bounds": {"min": 1e300}}},
        {"date_histogram": {"field": "dt", "fixed_interval": "1d", "extended_bounds": {"min": [1]}}},
        {"date_histogram": {"field": "dt", "fixed_interval": "1d", "extended_bounds": {"low": 1}}},
        {"histogram": {"field": "n", "interval": 1, "hard_bounds": {"min": "x"}}},
        {"histogram": {"field": "n", "interval": 1, "extended_bounds": {"min": 5, "max": 1}}},
        {"date_histogram": {"field": "dt", "fixed_interval": "1d", "time_zone": 5}},
        {"date_histogram": {"field": "dt", "calendar_interval": "year", "time_zone": "NaN"}},
        {"date_range": {"field": "dt", "ranges": [{"from": "now-1d"}], "time_zone": "Mars/Olympus"}},
        {"date_histogram": {"field": "dt", "fixed_interval": "1d", "format": 5}},
        {"terms": {"field": "n", "missing": {"a": 1}}},
        {"terms": {"field": "k", "size": 1.7e308}},
        {"terms": {"field": "k", "size": 2**31}},
        {"composite": {"sources": [{"k": {"terms": {"field": "k"}}}], "after": {"k": {"x": 1}}}},
        {"composite": {"sources": [{"n": {"terms": {"field": "n"}}}], "after": {"n": "abc"}}},
        {"composite": {"sources": [{"dt": {"terms": {"field": "dt"}}}], "after": {"dt": "not a date"}}},
        {"avg": {"field": "n", "missing": "x"}},
        {"avg": {"field": "unmapped", "missing": "x"}},
        {"histogram": {"field": "n", "interval": 1, "missing": "x"}},
        {"date_histogram": {"field": "dt", "fixed_interval": "1d", "missing": "abc"}},
        {"percentiles": {"field": "unmapped", "missing": "NaN"}},
        {"histogram": {"field": "n", "interval": 5e-324, "missing": 1}},
        {"date_range": {"field": "dt", "ranges": [{"from": "now-5y/y", "to": 2**64}]}},
        {"date_range": {"field": "dt", "ranges": [{"from": 1e300}]}},
        {"date_range": {"field": "dt", "ranges": [{"from": "99999999999999999999999"}]}},
        {"date_range": {"field": "dt", "ranges": [{"to": "now+100000000000y"}]}},
        {"date_histogram": {"field": "dt", "fixed_interval": "1d", "extended_bounds": {"min": "9" * 25, "max": "now"}}},
        {"histogram": {"field": "n", "interval": 5e-324, "extended_bounds": {"min": 0, "max": 1}}},
    ],
)
async def test_aggregation_parameters_of_the_wrong_type(rich: httpx.AsyncClient, agg: dict[str, Any]) -> None:
    response = await _search(rich, _agg(agg))
    assert response.status_code == 400, response.text
    assert_canonical_error(response, 400, response.json()["error"]["type"])
    root = response.json()["error"]["root_cause"][0]["type"]
    assert root in ("x_content_parse_exception", "illegal_argument_exception", "parsing_exception"), root
    await _alive(rich)


async def test_extreme_numbers_in_aggregations_answer(rich: httpx.AsyncClient) -> None:
    # a range past the long column's range is an empty bucket, not a value tantivy refuses
    response = await _search(
        rich,
        _agg({"range": {"field": "n", "ranges": [{"from": 1e308}, {"to": -1e308}, {"from": -1e308, "to": 1e308}]}}),
    )
    assert response.status_code == 200, response.text
    assert [b["doc_count"] for b in response.json()["aggregations"]["a"]["buckets"]] == [0, 2, 0]  # by "from"
    # sums of squares past the double range (values of 1e300) stay a 200
    response = await _search(rich, _agg({"extended_stats": {"field": "d"}}))
    assert response.status_code == 200, response.text
    assert response.json()["aggregations"]["a"]["count"] == 2
    # an interval as tiny as 5e-324 is too many buckets, never a crash
    response = await _search(rich, _agg({"histogram": {"field": "n", "interval": 5e-324}}))
    assert response.status_code == 400, response.text
    assert_canonical_error(response, 400, response.json()["error"]["type"])
    # ... and without empty buckets, keys past tantivy's i64 bucket numbers are a 400, never silently wrong keys
    for interval in (1e-300, 5e-324):
        agg = {"histogram": {"field": "n", "interval": interval, "min_doc_count": 1}}
        response = await _search(rich, _agg(agg))
        assert response.status_code == 400, response.text
        assert "is too small" in response.text
    await _alive(rich)


# -- documents -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "field", "ftype", "preview"),
    [
        ({"t": {"a": "b"}}, "t", "text", "{a=b}"),
        ({"k": {"a": "b"}}, "k", "keyword", "{a=b}"),
        ({"n": {"a": 1}}, "n", "long", "{a=1}"),
        ({"dt": {"a": "b"}}, "dt", "date", "{a=b}"),
        ({"b": {"a": True}}, "b", "boolean", "{a=true}"),
        ({"t": [{"a": "b"}]}, "t", "text", "{a=b}"),
        ({"k": ["x", [[{"a": "b"}]]]}, "k", "keyword", "{a=b}"),
        ({"g": {"a": 1}}, "g", "geo_point", "{a=1}"),
        ({"n": "not a number"}, "n", "long", "not a number"),
        ({"b": "yes"}, "b", "boolean", "yes"),
    ],
)
async def test_value_of_the_wrong_type_is_a_document_parsing_exception(
    rich: httpx.AsyncClient, doc: dict[str, Any], field: str, ftype: str, preview: str
) -> None:
    response = await rich.put("/rich/_doc/bad", json=doc)
    assert_canonical_error(response, 400, "document_parsing_exception")
    assert response.json()["error"]["reason"] == (
        f"failed to parse field [{field}] of type [{ftype}] in document with id 'bad'. "
        f"Preview of field's value: '{preview}'"
    )
    assert (await rich.get("/rich/_doc/bad")).status_code == 404
    await _alive(rich)


@pytest.mark.parametrize(("doc", "path"), [({"nest": 5}, "nest"), ({"obj": "x"}, "obj"), ({"obj": ["x"]}, "obj")])
async def test_concrete_value_into_an_object(rich: httpx.AsyncClient, doc: dict[str, Any], path: str) -> None:
    response = await rich.put("/rich/_doc/bad", json=doc)
    assert_canonical_error(response, 400, "document_parsing_exception")
    assert response.json()["error"]["reason"] == (
        f"object mapping for [{path}] tried to parse field [{path}] as object, but found a concrete value"
    )
    ok = await rich.put("/rich/_doc/ok", json={"obj": None, "nest": [], "k": ["x", None]})
    assert ok.status_code == 201, ok.text


async def test_bulk_items_with_bad_values_fail_alone(rich: httpx.AsyncClient) -> None:
    deep: Any = {"x": 1}
    for _ in range(300):
        deep = {"a": deep}
    lines = [{"index": {"_index": "rich", "_id": "l1"}}, {"k": [[{"a": 1}]]},
             {"update": {"_index": "rich", "_id": "0"}}, {"doc": 0.0},
             {"update": {"_index": "rich", "_id": "0"}}, {"doc": {"k": deep}},
             {"index": {"_index": "rich", "_id": "ok"}}, {"k": "fine"}]  # fmt: skip
    body = "".join(json.dumps(line) + "\n" for line in lines)
    response = await rich.post("/_bulk", content=body, headers=NDJSON)
    assert response.status_code == 200, response.text
    statuses = [next(iter(item.values()))["status"] for item in response.json()["items"]]
    assert statuses == [400, 400, 400, 201]
    await _alive(rich)


async def test_bulk_must_end_with_a_newline(client: httpx.AsyncClient) -> None:
    body = b'{"index":{"_index":"things"}}\n{"n":2}'
    response = await client.post("/_bulk", content=body, headers=NDJSON)
    assert_canonical_error(response, 400, "illegal_argument_exception")
    assert response.json()["error"]["reason"] == "The bulk request must be terminated by a newline [\\n]"
    assert (await client.post("/_bulk", content=body + b"\n", headers=NDJSON)).status_code == 200
    await client.post(f"/{INDEX}/_refresh")
    assert (await client.get(f"/{INDEX}/_count")).json()["count"] == 2  # only the terminated one


# -- HTTP: content type, methods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "Content-Type header is missing"),
        ({"content-type": ""}, "Content-Type header [] is not supported"),
        ({"content-type": "application/x-www-form-urlencoded"},
         "Content-Type header [application/x-www-form-urlencoded] is not supported"),
        ({"content-type": "text/plain"}, "Content-Type header [text/plain] is not supported"),
    ],
)  # fmt: skip
async def test_body_without_a_json_content_type_is_406(
    client: httpx.AsyncClient, headers: dict[str, str], reason: str
) -> None:
    for method, path in (("POST", f"/{INDEX}/_search"), ("PUT", f"/{INDEX}/_doc/x"), ("POST", "/_bulk")):
        response = await client.request(method, path, content=b'{"query":{"match_all":{}}}\n', headers=headers)
        assert_flat_error(response, 406, reason)
        assert response.headers["x-elastic-product"] == "Elasticsearch"
    # no body, no Content-Type: nothing to refuse
    assert (await client.get(f"/{INDEX}/_search")).status_code == 200
    # the types real clients send
    for content_type in ("application/json", "application/vnd.elasticsearch+json; compatible-with=8",
                         "application/json; charset=UTF-8"):  # fmt: skip
        response = await client.post(f"/{INDEX}/_search", content=b"{}", headers={"content-type": content_type})
        assert response.status_code == 200, (content_type, response.text)


async def test_source_parameter_needs_its_content_type(client: httpx.AsyncClient) -> None:
    source = '{"query":{"match_all":{}}}'
    response = await client.get(f"/{INDEX}/_search", params={"source": source})
    assert_canonical_error(response, 400, "illegal_argument_exception")
    assert response.json()["error"]["reason"] == "source and source_content_type parameters are required"
    ok = await client.get(f"/{INDEX}/_search", params={"source": source, "source_content_type": "application/json"})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", f"/{INDEX}/_search", "GET, POST"), ("PATCH", f"/{INDEX}/_doc/1", "GET, POST, PUT, DELETE"),
     ("PUT", "/_cluster/health", "GET"), ("PUT", f"/{INDEX}/_count", "GET, POST")],
)  # fmt: skip
async def test_wrong_method_is_405(client: httpx.AsyncClient, method: str, path: str, allowed: str) -> None:
    response = await client.request(method, path)
    assert_flat_error(
        response, 405, f"Incorrect HTTP method for uri [{path}] and method [{method}], allowed: [{allowed}]"
    )
    assert response.headers["x-elastic-product"] == "Elasticsearch"
    options = await client.options(path)
    assert options.status_code == 200 and options.headers["allow"] == allowed.replace(" ", "")
    await _alive(client)


# -- index names -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name", "reason"),
    [("a%2Fb", "a/b", "must not contain the following characters"), ("a%00b", "a\x00b", "control characters"),
     ("a%01b", "a\x01b", "control characters"), ("a%7Fb", "a\x7fb", "control characters"),
     ("a%C2%85b", "a\x85b", "control characters")],
)  # fmt: skip
async def test_index_names_with_encoded_slash_or_control_characters(
    client: httpx.AsyncClient, raw: str, name: str, reason: str
) -> None:
    response = await client.put(f"/{raw}", json={})
    assert_canonical_error(response, 400, "invalid_index_name_exception")
    assert response.json()["error"]["index"] == name
    assert reason in response.json()["error"]["reason"]
    await _alive(client)


async def test_encoded_slash_in_an_index_name_of_other_apis(client: httpx.AsyncClient) -> None:
    response = await client.get("/a%2Fb/_search")
    assert_canonical_error(response, 404, "index_not_found_exception")
    assert response.json()["error"]["index"] == "a/b"
    # date math with a ``/`` still resolves
    created = await client.put("/%3Cdm-%7Bnow%2Fd%7D%3E", json={})
    assert created.status_code == 200, created.text
    assert created.json()["index"].startswith("dm-")


# -- the rest of ES's table (../shared/reference/bad-inputs.md) ---------------------------------------------------


@pytest.mark.parametrize("key", ["size", "from"])
async def test_negative_size_or_from(client: httpx.AsyncClient, key: str) -> None:
    response = await client.post(f"/{INDEX}/_search", json={key: -1})
    assert_canonical_error(response, 400, "illegal_argument_exception")
    assert response.json()["error"]["reason"] == f"[{key}] parameter cannot be negative, found [-1]"
    if key == "size":  # ES 8 reads ``?size=-1`` as not set (deprecated); -2 is refused
        response = await client.get(f"/{INDEX}/_search?size=-1")
        assert response.status_code == 200 and len(response.json()["hits"]["hits"]) <= 10
        response = await client.get(f"/{INDEX}/_search?size=-2")
    else:
        response = await client.get(f"/{INDEX}/_search?{key}=-1")
    assert_canonical_error(response, 400, "illegal_argument_exception")


async def test_terms_over_max_terms_count(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"/{INDEX}/_search", json={"query": {"terms": {"tag": [str(i) for i in range(65537)]}}}
    )
    assert response.status_code == 400, response.text[:500]
    assert "The number of terms [65537] used in the Terms Query request has exceeded" in response.text
    ok = await client.post(f"/{INDEX}/_search", json={"query": {"terms": {"tag": ["a"] * 10}}})
    assert ok.status_code == 200


async def test_regex_too_long_or_too_complex(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/{INDEX}/_search", json={"query": {"regexp": {"tag": "a" * 1001}}})
    assert response.status_code == 400, response.text[:500]
    assert "The length of regex [1001] used in the Regexp Query request has exceeded" in response.text
    ok = await client.post(f"/{INDEX}/_search", json={"query": {"regexp": {"tag": "a" * 50 + ".*"}}})
    assert ok.status_code == 200, ok.text
    response = await client.post(
        f"/{INDEX}/_search", json={"query": {"regexp": {"tag": "[ab]{1,1000}[cd]{1,1000}.{1,500}"}}}
    )
    assert response.status_code == 400, response.text[:500]
    assert response.json()["error"]["root_cause"][0]["type"] == "too_complex_to_determinize_exception"
    await _alive(client)


@pytest.mark.parametrize(
    "body",
    [{"query": {"script": {"script": "1"}}}, {"query": {"script_score": {"query": {"match_all": {}}, "script": "1"}}},
     {"script_fields": {"x": {"script": "1"}}}, {"sort": {"_script": {"script": "1"}}},
     {"aggs": {"a": {"avg": {"script": "1"}}}}, {"runtime_mappings": {"x": {"type": "long"}}}],
)  # fmt: skip
async def test_scripts_are_refused(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post(f"/{INDEX}/_search", json=body)
    assert_canonical_error(response, 400, "illegal_argument_exception")
    assert response.json()["error"]["reason"] == "cannot execute [inline] scripts"


@pytest.mark.parametrize(
    "body",
    [b'{"query":{"match_all":{}},"query":{"match_all":{}}}', b'{"size":NaN}', b'{"size":Infinity}', b'{"from":1e400}',
     b'{"size":' + b"9" * 5000 + b"}", b"[" * 2000 + b"]" * 2000, b'{"query":{"match_all":{}}} trailing'],
)  # fmt: skip
async def test_json_ES_refuses(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(f"/{INDEX}/_search", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text[:500]
    assert_canonical_error(response, 400, response.json()["error"]["type"])
    await _alive(client)


async def test_mapping_explosion_limits(client: httpx.AsyncClient) -> None:
    deep: dict[str, Any] = {"type": "long"}
    for i in range(21):
        deep = {"properties": {f"o{i}": deep}}
    response = await client.put("/deep", json={"mappings": deep})
    assert response.status_code == 400, response.text[:500]
    assert "Limit of mapping depth [20]" in response.json()["error"]["reason"]
    fields = {f"f{i}": {"type": "keyword"} for i in range(1001)}
    response = await client.put("/wide", json={"mappings": {"properties": fields}})
    assert response.status_code == 400, response.text[:500]
    assert "Limit of total fields [1000]" in response.json()["error"]["reason"]
    response = await client.put(f"/{INDEX}/_doc/wide", json={f"new{i}": 1 for i in range(1001)})
    assert response.status_code == 400, response.text[:500]
    assert "Limit of total fields [1000]" in response.json()["error"]["reason"]
    nested: dict[str, Any] = {f"n{i}": {"type": "nested"} for i in range(51)}
    response = await client.put("/nests", json={"mappings": {"properties": nested}})
    assert response.status_code == 400, response.text[:500]
    assert "Limit of nested fields [50]" in response.json()["error"]["reason"]
    await _alive(client)


async def test_metadata_field_in_the_source(client: httpx.AsyncClient) -> None:
    response = await client.put(f"/{INDEX}/_doc/m", json={"_id": "x"})
    assert_canonical_error(response, 400, "document_parsing_exception")
    assert "Field [_id] is a metadata field and cannot be added inside a document" in response.json()["error"]["reason"]


async def test_optimistic_concurrency(client: httpx.AsyncClient) -> None:
    response = await client.put(f"/{INDEX}/_doc/1?if_seq_no=0", json={"n": 2})
    assert_canonical_error(response, 400, "action_request_validation_exception")
    assert response.json()["error"]["reason"] == "Validation Failed: 1: ifSeqNo is set, but primary term is [0];"
    response = await client.put(f"/{INDEX}/_doc/1?if_seq_no=99&if_primary_term=1", json={"n": 2})
    assert_canonical_error(response, 409, "version_conflict_engine_exception")
    response = await client.put(f"/{INDEX}/_create/1", json={"n": 2})
    assert_canonical_error(response, 409, "version_conflict_engine_exception")
    assert (await client.get(f"/{INDEX}/_doc/1")).json()["_source"]["n"] == 1


@pytest.mark.parametrize("value", [-1e308, 1e300, 2**70, -(2**64)])
async def test_dates_past_the_64_bit_millisecond_range(rich: httpx.AsyncClient, value: Any) -> None:
    response = await rich.put("/rich/_doc/far", json={"dt": value})
    assert_canonical_error(response, 400, "document_parsing_exception")
    assert "failed to parse field [dt] of type [date]" in response.json()["error"]["reason"]
    await _alive(rich)


@pytest.mark.parametrize(
    "body",
    [{"mappings": 5}, {"mappings": [1, "a", None]}, {"settings": "x"}, {"aliases": [1]},
     {"mappings": {"properties": {"f": {"type": {"a": 1}}}}},
     {"mappings": {"properties": {"f": {"type": ["geo_point"]}}}},
     {"mappings": {"properties": {"f": {"type": "text", "fields": [{"kw": {"type": "keyword"}}]}}}},
     {"mappings": {"properties": {"f": {"type": "text", "fields": {"kw": {"type": ["keyword"]}}}}}},
     {"mappings": {"properties": {"f": {"type": "scaled_float", "scaling_factor": [100]}}}},
     {"mappings": {"properties": {"f": {"type": "scaled_float", "scaling_factor": "x"}}}},
     {"mappings": {"properties": {"f": {"type": "scaled_float", "scaling_factor": -1}}}},
     {"mappings": {"properties": {"f": {"type": "keyword", "ignore_above": "abc"}}}},
     {"mappings": {"properties": {"f": {"type": "keyword", "ignore_above": {"a": 1}}}}},
     {"mappings": {"properties": {"f": {"type": "keyword", "ignore_above": -1}}}},
     {"settings": {"number_of_shards": [1]}}, {"settings": {"number_of_replicas": [1]}},
     {"settings": {"analysis": {"analyzer": [{"my": {"tokenizer": "standard"}}]}}},
     {"settings": {"analysis": {"analyzer": {"my": {"tokenizer": {"a": 1}}}}}},
     {"settings": {"analysis": {"normalizer": "x"}}}, {"settings": {"analysis": {"normalizer": {"lc": 1.5}}}},
     {"settings": {"analysis": {"normalizer": {"lc": {"filter": 5}}}}}],
)  # fmt: skip
async def test_malformed_mappings_and_settings(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.put("/malformed", json=body)
    assert response.status_code == 400, response.text
    assert_canonical_error(response, 400, response.json()["error"]["type"])
    assert (await client.head("/malformed")).status_code == 404
    if "mappings" in body and isinstance(body["mappings"], dict):
        response = await client.put(f"/{INDEX}/_mapping", json=body["mappings"])
        assert response.status_code == 400, response.text
    await _alive(client)


async def test_highlighting_past_max_analyzed_offset(client: httpx.AsyncClient) -> None:
    long_text = "one " + "filler " * 150_000  # 1,050,004 characters
    response = await client.put(f"/{INDEX}/_doc/long?refresh=true", json={"title": long_text})
    assert response.status_code == 201, response.text[:500]
    body: dict[str, Any] = {"query": {"match": {"title": "one"}}, "highlight": {"fields": {"title": {}}}}
    response = await client.post(f"/{INDEX}/_search", json=body)
    assert response.status_code == 400, response.text[:500]
    assert "exceeds the [index.highlight.max_analyzed_offset] limit [1000000]" in response.text
    body["highlight"]["max_analyzed_offset"] = 100
    response = await client.post(f"/{INDEX}/_search", json=body)
    assert response.status_code == 200, response.text[:500]
    hit = response.json()["hits"]["hits"][0]
    assert hit["highlight"]["title"][0].startswith("<em>one</em>")
    body["highlight"]["max_analyzed_offset"] = 0
    response = await client.post(f"/{INDEX}/_search", json=body)
    assert_canonical_error(response, 400, "x_content_parse_exception")
    assert response.json()["error"]["caused_by"]["type"] == "illegal_argument_exception"


@pytest.mark.parametrize(
    ("body", "es_type"),
    [({"collapse": {"field": "tag", "bogus": 1}}, "parsing_exception"),
     ({"slice": {"id": 0, "max": 2}}, "action_request_validation_exception"),  # only with scroll or PIT
     ({"knn": {"field": "v", "query_vector": [1], "k": 1}}, "illegal_argument_exception"),
     ({"version": {"a": 1}}, "parsing_exception"), ({"explain": 5}, "parsing_exception"),
     ({"track_scores": "yes"}, "parsing_exception"), ({"timeout": 5}, "parse_exception")],
)  # fmt: skip
async def test_search_keys_not_implemented_or_of_the_wrong_type(
    client: httpx.AsyncClient, body: dict[str, Any], es_type: str
) -> None:
    response = await client.post(f"/{INDEX}/_search", json=body)
    assert_canonical_error(response, 400, es_type)
    assert next(iter(body)) in response.json()["error"]["reason"]
    # empty values change nothing and pass, as do string booleans
    ok = await client.post(f"/{INDEX}/_search", json={"suggest": {}, "rescore": [], "version": "true"})
    assert ok.status_code == 200, ok.text


async def test_expensive_queries_can_be_switched_off(client: httpx.AsyncClient) -> None:
    """``search.allow_expensive_queries: false`` (ES's kill switch, bad-inputs #8) refuses prefix, wildcard,
    regexp and fuzzy queries, also from query_string syntax; other queries run; resetting it allows them again."""
    expensive = {
        "prefix": {"prefix": {"tag": "a"}},
        "wildcard": {"wildcard": {"tag": "a*"}},
        "regexp": {"regexp": {"tag": "a.*"}},
        "fuzzy": {"fuzzy": {"title": "onr"}},
    }
    bad = await client.put("/_cluster/settings", json={"transient": {"search.allow_expensive_queries": "maybe"}})
    assert bad.status_code == 400
    put = await client.put("/_cluster/settings", json={"persistent": {"search.allow_expensive_queries": False}})
    assert put.status_code == 200, put.text
    cases = [*expensive.items(), ("wildcard", {"query_string": {"query": "tag:a*"}}),
             ("wildcard", {"bool": {"filter": [{"term": {"tag": "a"}}], "should": [expensive["wildcard"]]}})]
    for name, query in cases:
        response = await client.post(f"/{INDEX}/_search", json={"query": query})
        assert response.status_code == 400, (name, response.text)
        assert_canonical_error(response, 400, "search_phase_execution_exception")
        cause = response.json()["error"]["root_cause"][0]
        assert cause["type"] == "exception"
        assert cause["reason"].startswith(f"[{name}] queries cannot be executed when 'search.allow_expensive_queries'")
    assert (await client.post(f"/{INDEX}/_count", json={"query": expensive["prefix"]})).status_code == 400
    for field in ("tag", "title"):  # range on keyword and text fields; numeric ranges still run
        response = await client.post(f"/{INDEX}/_search", json={"post_filter": {"range": {field: {"gte": "a"}}}})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["root_cause"][0]["reason"] == (
            "[range] queries on [text] or [keyword] fields cannot be executed when 'search.allow_expensive_queries' "
            "is set to false.")  # fmt: skip
    numeric = await client.post(f"/{INDEX}/_search", json={"query": {"range": {"n": {"gte": 0}}}})
    assert numeric.status_code == 200 and numeric.json()["hits"]["total"]["value"] == 1
    fine = await client.post(f"/{INDEX}/_search", json={"query": {"match": {"title": "one"}}})
    assert fine.status_code == 200 and fine.json()["hits"]["total"]["value"] == 1
    reset = await client.put("/_cluster/settings", json={"persistent": {"search.allow_expensive_queries": None}})
    assert reset.status_code == 200
    for name, query in [*expensive.items(), ("range", {"range": {"tag": {"gte": "a"}}})]:
        response = await client.post(f"/{INDEX}/_search", json={"query": query})
        assert response.status_code == 200, (name, response.text)
        assert response.json()["hits"]["total"]["value"] == 1, name
