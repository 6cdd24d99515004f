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
    response = await asgi_client.put(
        f"/{INDEX}/_doc/1?refresh=true", json={"n": 1, "title": "one", "tag": "a"}
    )
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
    response = await client.post(
        f"/{INDEX}/_search", content=body, headers={"content-type": "application/json"}
    )
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
    assert_canonical_error(
        response, 400, "search_phase_execution_exception", root_type="illegal_argument_exception"
    )
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
    with running_server(
        tmp_path_factory.mktemp("small") / "data", {"QUIDDITCH_HTTP_MAX_CONTENT_LENGTH": "1mb"}
    ) as srv:
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
    response = httpx.post(
        f"{url}/_search", content=b'{"query":{', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert_canonical_error(response, 400, response.json()["error"]["type"])
    response = httpx.post(
        f"{url}/_search", content=_nested_bool(5000), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    response = httpx.get(f"{url}/nope/_search")
    assert_canonical_error(response, 404, "index_not_found_exception")
    assert httpx.get(url + "/").status_code == 200
    assert server.proc.poll() is None
