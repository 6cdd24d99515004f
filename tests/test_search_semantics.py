"""``_search`` / ``_count`` / ``_msearch`` / scroll request semantics that ES's YAML suites check.

In process (httpx over ASGI); each expectation is ES 8's answer for the same request.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from cluster.doc_fields import decimal_format
from native.highlight import _passages, _sentence_breaks

NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    mappings = {"properties": {"count": {"type": "long"}, "d": {"type": "double"}, "text": {"type": "text"},
                               "ts": {"type": "date"}, "tag": {"type": "keyword"}}}  # fmt: skip
    r = await asgi_client.put("/test", json={"mappings": mappings})
    assert r.status_code == 200, r.text
    r = await asgi_client.put("/other", json={"aliases": {"other_alias": {}}})
    assert r.status_code == 200, r.text
    lines = []
    for i in range(1, 4):
        lines.append({"index": {"_index": "test", "_id": str(i)}})
        lines.append({"count": i, "d": 3.14, "text": f"The quick brown fox is brown{'.' * (i == 1)}", "tag": "t",
                      "ts": f"2024-01-0{i}T10:00:00.123Z", "include": {"field1": "v1", "field2": "v2"}})  # fmt: skip
    lines.append({"index": {"_index": "other", "_id": "o1"}})
    lines.append({"text": "quick fox"})
    body = "".join(json.dumps(x) + "\n" for x in lines)
    r = await asgi_client.post("/_bulk?refresh=true", content=body, headers=NDJSON)
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


async def _search(client: httpx.AsyncClient, path: str, body: Any = None, **params: Any) -> httpx.Response:
    return await client.post(path, params=params, json=body if body is not None else {})


async def test_stored_fields_hide_source_and_none_hides_id(client: httpx.AsyncClient) -> None:
    hit = (await _search(client, "/test/_search", {"stored_fields": []})).json()["hits"]["hits"][0]
    assert "_id" in hit and "_source" not in hit
    for value in ("_none_", ["_none_"]):
        hit = (await _search(client, "/test/_search", {"stored_fields": value})).json()["hits"]["hits"][0]
        assert "_id" not in hit and "_source" not in hit
    hit = (await _search(client, "/test/_search", stored_fields="_none_")).json()["hits"]["hits"][0]
    assert "_id" not in hit and "_source" not in hit
    hit = (await _search(client, "/test/_search", {"stored_fields": ["x", "_source"]})).json()["hits"]["hits"][0]
    assert hit["_source"]["count"] >= 1


async def test_url_source_params_override_body_source(client: httpx.AsyncClient) -> None:
    r = await _search(client, "/test/_search", {"_source": "include.field2"}, _source_includes="include.field1")
    source = r.json()["hits"]["hits"][0]["_source"]
    assert source == {"include": {"field1": "v1"}}


async def test_docvalue_fields_url_param_and_format(client: httpx.AsyncClient) -> None:
    r = await _search(client, "/test/_search", {"query": {"ids": {"values": ["1"]}}}, docvalue_fields="count")
    assert r.json()["hits"]["hits"][0]["fields"] == {"count": [1]}
    body = {"query": {"ids": {"values": ["1"]}}, "docvalue_fields": [{"field": "count", "format": "#.0"}],
            "fields": [{"field": "ts", "format": "strict_date_optional_time_nanos"}], "script_fields": {}}  # fmt: skip
    fields = (await _search(client, "/test/_search", body)).json()["hits"]["hits"][0]["fields"]
    assert fields == {"count": ["1.0"], "ts": ["2024-01-01T10:00:00.123Z"]}


def test_decimal_format_subset() -> None:
    assert decimal_format(1, "0.0") == "1.0"
    assert decimal_format(1, "#.0") == "1.0"
    assert decimal_format(2.675, "0.00") == "2.67" or decimal_format(2.675, "0.00") == "2.68"
    assert decimal_format(0.125, "0.00") == "0.12"  # HALF_EVEN, as java.text.DecimalFormat
    assert decimal_format(1234567.891, "#,##0.##") == "1,234,567.89"
    assert decimal_format(0.25, "0%") == "25%"
    assert decimal_format(-2.5, "0.0") == "-2.5"


@pytest.mark.parametrize(
    ("params", "body", "message"),
    [
        ({"search_type": "query_and_fetch"}, {}, "No search type for [query_and_fetch]"),
        ({"scroll": "1m", "request_cache": "true"}, {}, "[request_cache] cannot be used in a scroll context"),
        ({"scroll": "1m"}, {"size": 0}, "[size] cannot be [0] in a scroll context"),
        ({"rest_total_hits_as_int": "true", "track_total_hits": "100"}, {},
         "[rest_total_hits_as_int] cannot be used if the tracking of total hits is not accurate, got 100"),
        ({"track_total_hits": "-2"}, {}, "[track_total_hits] parameter must be positive or equals to -1, got -2"),
        ({}, {"terminate_after": -1}, "terminateAfter must be > 0"),
    ],
)  # fmt: skip
async def test_request_validation(client: httpx.AsyncClient, params: dict[str, str], body: Any, message: str) -> None:
    r = await _search(client, "/test/_search", body, **params)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]["reason"]


async def test_count_terminate_after_validated_before_index(client: httpx.AsyncClient) -> None:
    r = await client.post("/missing_index/_count", params={"terminate_after": "-1"})
    assert r.status_code == 400 and "terminateAfter must be > 0" in r.text
    r = await client.post("/test/_count", params={"terminate_after": "1"})
    assert r.json()["count"] == 1 and r.json()["terminated_early"] is True


async def test_terminate_after_caps_total(client: httpx.AsyncClient) -> None:
    body = (await _search(client, "/test/_search", {"terminate_after": 2})).json()
    assert body["terminated_early"] is True
    assert body["hits"]["total"] == {"value": 2, "relation": "eq"}
    body = (await _search(client, "/test/_search", {"terminate_after": 10})).json()
    assert body["terminated_early"] is False and body["hits"]["total"]["value"] == 3


async def test_rest_total_hits_as_int_with_tracking_disabled(client: httpx.AsyncClient) -> None:
    r = await _search(client, "/test/_search", {}, rest_total_hits_as_int="true", track_total_hits="false")
    assert r.json()["hits"]["total"] == -1
    r = await _search(client, "/test/_search", {"track_total_hits": -1})
    assert "total" not in r.json()["hits"]


async def test_lenient_query_string_param(client: httpx.AsyncClient) -> None:
    r = await _search(client, "/test/_search", q="count:foo", lenient="true")
    assert r.status_code == 200, r.text
    assert r.json()["hits"]["total"]["value"] == 0
    r = await _search(client, "/test/_search", q="count:foo")
    assert r.status_code == 400


async def test_ids_over_max_result_window_is_query_shard_exception(client: httpx.AsyncClient) -> None:
    r = await client.put("/small", json={"settings": {"index.max_result_window": 5}})
    assert r.status_code == 200
    r = await _search(client, "/small/_search", {"query": {"ids": {"values": ["1", "2", "3", "4", "5", "6"]}}})
    assert r.status_code == 400
    cause = r.json()["error"]["root_cause"][0]
    assert cause["type"] == "query_shard_exception"
    assert cause["reason"] == "failed to create query: Too many ids specified, allowed max result window is [5]"
    r = await _search(client, "/small/_search", {"query": {"ids": {"values": ["1", "2"]}}, "size": 5})
    assert r.status_code == 200
    r = await _search(client, "/small/_search", {"query": {"ids": {"values": ["1", "2"]}}})
    assert r.json()["error"]["root_cause"][0]["type"] == "illegal_argument_exception"  # then the window check


async def test_indices_boost_orders_by_index(client: httpx.AsyncClient) -> None:
    query = {"match": {"text": "quick"}}
    for boosts, first in (([{"test": 100.0}], "test"), ([{"other_alias": 100.0}], "other"), ([{"oth*": 100}], "other")):
        hits = (await _search(client, "/_all/_search", {"query": query, "indices_boost": boosts})).json()["hits"]
        assert hits["hits"][0]["_index"] == first, boosts
    r = await _search(client, "/_all/_search", {"indices_boost": [{"nonexistent": 2.0}]})
    assert r.status_code == 404 and "no such index" in r.text
    r = await _search(client, "/_all/_search", {"indices_boost": [{"nonexistent": 2.0}]}, ignore_unavailable="true")
    assert r.status_code == 200


async def test_version_seq_no_explain_timeout(client: httpx.AsyncClient) -> None:
    body = {"version": True, "seq_no_primary_term": True, "explain": True, "timeout": "1s",
            "query": {"match": {"text": "fox"}}}  # fmt: skip
    r = (await _search(client, "/test/_search", body)).json()
    assert r["timed_out"] is False
    hit = r["hits"]["hits"][0]
    assert hit["_version"] == 1 and hit["_primary_term"] == 1 and "_seq_no" in hit
    assert hit["_explanation"]["value"] == pytest.approx(hit["_score"])


async def test_grafana_style_request(client: httpx.AsyncClient) -> None:
    body = {
        "size": 10, "query": {"bool": {"filter": [{"query_string": {"query": "fox", "analyze_wildcard": True}}]}},
        "sort": [{"ts": {"order": "desc", "unmapped_type": "boolean"}}, {"_doc": {"order": "desc"}}],
        "script_fields": {}, "docvalue_fields": [], "highlight": {"fields": {"*": {}}, "fragment_size": 2147483647},
        "fields": [{"field": "ts", "format": "strict_date_optional_time_nanos"}], "search_after": [1704276000123, 0],
    }  # fmt: skip
    r = await _search(client, "/test/_search", body)
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["2", "1"]
    assert hits[0]["sort"] == [1704189600123, 1]
    assert hits[0]["fields"] == {"ts": ["2024-01-02T10:00:00.123Z"]}


async def test_highlight_keeps_sentence_punctuation(client: httpx.AsyncClient) -> None:
    body = {"query": {"ids": {"values": ["1"]}}, "highlight": {"fields": {"text": {}}}}
    body["query"] = {"bool": {"must": [{"match": {"text": "quick brown fox"}}], "filter": [{"ids": {"values": ["1"]}}]}}
    hit = (await _search(client, "/test/_search", body)).json()["hits"]["hits"][0]
    assert hit["highlight"]["text"] == ["The <em>quick</em> <em>brown</em> <em>fox</em> is <em>brown</em>."]


def test_highlight_passages_are_sentences_within_fragment_size() -> None:
    text = "First fox here. Nothing. " + "Filler " * 30 + "Last fox!"
    assert _sentence_breaks("A b. C d! e") == [5, 10, 11]
    fox = [(i, i + 3) for i in range(len(text)) if text.startswith("fox", i)]
    passages = _passages(text, fox, 40)
    assert text[passages[0].start : passages[0].end].strip() == "First fox here. Nothing."
    last = text[passages[-1].start : passages[-1].end]
    assert len(passages) == 2 and "Last fox" in last and len(last) <= 43


async def test_msearch_headers_and_request_level_errors(client: httpx.AsyncClient) -> None:
    lines = [{"index": "test", "preference": "_local", "routing": "1", "request_cache": True,
              "search_type": "query_then_fetch"}, {"query": {"match_all": {}}},
             {"index": "missing"}, {}]  # fmt: skip
    body = "".join(json.dumps(x) + "\n" for x in lines)
    r = await client.post("/_msearch", content=body, headers=NDJSON)
    assert r.status_code == 200, r.text
    responses = r.json()["responses"]
    assert responses[0]["hits"]["total"]["value"] == 3 and responses[0]["status"] == 200
    assert responses[1]["error"]["root_cause"][0]["type"] == "index_not_found_exception"
    lines = [{"index": "test"}, {"track_total_hits": 10}]
    body = "".join(json.dumps(x) + "\n" for x in lines)
    r = await client.post("/_msearch?rest_total_hits_as_int=true", content=body, headers=NDJSON)
    assert r.status_code == 400 and "got 10" in r.text
    r = await client.post("/_msearch", content='{"bogus": 1}\n{}\n', headers=NDJSON)
    assert r.status_code == 400 and "key [bogus] is not supported in the metadata section" in r.text


async def test_date_math_index_name(client: httpx.AsyncClient) -> None:
    from server.handlers.search import resolve_date_math

    now = 1704103200123  # 2024-01-01T10:00:00.123Z
    assert resolve_date_math("<logstash-{now/M}>", now) == "logstash-2024.01.01"
    assert resolve_date_math("<logs-{now/d{yyyy.MM}}>,plain", now) == "logs-2024.01,plain"
    r = await client.post("/%3Clogstash-%7Bnow%2FM%7D%3E/_search")
    assert r.status_code == 404
    assert r.json()["error"]["root_cause"][0]["index"].startswith("logstash-")
