"""Grafana's Elasticsearch data source, replayed request by request over the real socket with httpx.

The request shapes are the ones in ``/work/shared/reference/clients.md`` section 2.1 (Grafana's
``query_builder.go`` / ``aggregation_factory.go`` and the editor's resource allow-list): ``GET /``,
``_cluster/health``, ``_field_caps``, ``_mapping`` and ``POST /_msearch`` with one NDJSON header line per
panel query. The corpus is ~2,000 log lines over two hours, generated from a fixed seed; every expected
value is computed in plain Python from the same documents.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess, running_server

pytestmark = [pytest.mark.compat, pytest.mark.timeout(120)]

INDEX = "grafana-logs"
MAPPINGS = {
    "properties": {
        "@timestamp": {"type": "date"},
        "latency": {"type": "long"},
        "status": {"type": "integer"},
        "host": {"type": "keyword"},
        "message": {"type": "text"},
    }
}
DOC_COUNT = 2000
START_MS = 1_715_904_000_000  # 2024-05-17T00:00:00Z
SPAN_MS = 2 * 3_600_000
HOSTS = ["web-1", "web-2", "web-3", "db-1", "db-2", "cache-1"]
STATUSES = [200] * 6 + [201, 301, 404, 500, 500, 503]
METHODS = ["GET", "POST", "PUT", "DELETE"]
ENDPOINTS = ["users", "orders", "items", "health", "login"]
WORDS = ["request", "served", "cache", "miss", "upstream", "timeout", "connection", "refused", "slow", "retry"]
LOG_WORDS = ("timeout", "refused")

# The dashboard's time range: starts inside the data (not on a 30 s boundary) and ends 5 minutes after it,
# so the trailing buckets exist only because of extended_bounds.
RANGE_MIN = START_MS + 17_345
RANGE_MAX = START_MS + SPAN_MS + 300_000
STEP_MS = 30_000
HOUR_MS = 3_600_000

HEADERS = {"Content-Type": "application/x-ndjson", "User-Agent": "Grafana/11.3.0"}


def iso_millis(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def make_docs(seed: int = 20240517) -> dict[str, dict[str, Any]]:
    """Unique millisecond timestamps (so time order is total), in random insertion order."""
    rng = random.Random(seed)
    offsets = sorted(rng.sample(range(SPAN_MS), DOC_COUNT))
    docs: dict[str, dict[str, Any]] = {}
    for i, offset in enumerate(offsets):
        # mostly 1..800 ms, a few 3000..3500 ms: latency histogram buckets 1000..2750 stay empty
        latency = rng.randint(3000, 3500) if rng.random() < 0.03 else rng.randint(1, 800)
        words = rng.sample(WORDS, 3)
        docs[f"log-{i:04d}"] = {
            "@timestamp": iso_millis(START_MS + offset),
            "latency": latency,
            "status": rng.choice(STATUSES),
            "host": rng.choice(HOSTS),
            "message": f"{rng.choice(METHODS)} /api/{rng.choice(ENDPOINTS)} " + " ".join(words),
        }
    return docs


def ts_ms(doc: dict[str, Any]) -> int:
    parsed = datetime.strptime(doc["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return round(parsed.timestamp() * 1000)


def in_range(doc: dict[str, Any]) -> bool:
    return RANGE_MIN <= ts_ms(doc) <= RANGE_MAX


def avg(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


# -- Grafana request builders ---------------------------------------------------------------------------


def time_filter(query: str | None = None) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [
        {"range": {"@timestamp": {"gte": RANGE_MIN, "lte": RANGE_MAX, "format": "epoch_millis"}}}
    ]
    if query is not None:
        filters.append({"query_string": {"query": query, "analyze_wildcard": True}})
    return {"bool": {"filter": filters}}


def date_histogram(**interval: str) -> dict[str, Any]:
    return {
        "field": "@timestamp",
        **interval,
        "min_doc_count": 0,
        "extended_bounds": {"min": RANGE_MIN, "max": RANGE_MAX},
        "format": "epoch_millis",
    }


def msearch(client: httpx.Client, *searches: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """What Grafana's backend posts: one ``query_then_fetch`` header line per panel query."""
    lines = []
    for index, body in searches:
        lines.append(json.dumps({"search_type": "query_then_fetch", "ignore_unavailable": True, "index": index}))
        lines.append(json.dumps(body))
    response = client.post(
        "/_msearch", params={"max_concurrent_shard_requests": "5"}, content="\n".join(lines) + "\n", headers=HEADERS
    )
    assert response.status_code == 200, response.text[:3000]
    responses = response.json()["responses"]
    assert len(responses) == len(searches)
    return responses


def ok(response: dict[str, Any]) -> dict[str, Any]:
    assert "error" not in response, json.dumps(response)[:3000]
    assert response.get("status", 200) == 200
    return response


# -- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("grafana") / "data") as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def docs(client: httpx.Client) -> dict[str, dict[str, Any]]:
    corpus = make_docs()
    created = client.put(f"/{INDEX}", json={"mappings": MAPPINGS})
    assert created.status_code == 200, created.text
    ids = list(corpus)
    random.Random(3).shuffle(ids)
    lines = []
    for doc_id in ids:
        lines.append(json.dumps({"index": {"_index": INDEX, "_id": doc_id}}))
        lines.append(json.dumps(corpus[doc_id]))
    bulk = client.post("/_bulk", params={"refresh": "true"}, content="\n".join(lines) + "\n", headers=HEADERS)
    assert bulk.status_code == 200, bulk.text[:2000]
    assert bulk.json()["errors"] is False, bulk.text[:2000]
    count = client.get(f"/{INDEX}/_count")
    assert count.json()["count"] == DOC_COUNT
    return corpus


# -- data source setup ("Save & test") and the query editor ----------------------------------------------


def test_root_info(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers.get("X-Elastic-Product") == "Elasticsearch"
    info = response.json()
    major = int(info["version"]["number"].split(".")[0])
    assert major >= 8
    assert info["version"]["build_flavor"] == "default"  # "serverless" would switch Grafana's mode
    assert info["tagline"] == "You Know, for Search"


def test_cluster_health_wait_for_yellow(client: httpx.Client, docs: dict[str, Any]) -> None:
    response = client.get("/_cluster/health", params={"wait_for_status": "yellow"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] in ("green", "yellow")


def test_field_caps_time_field(client: httpx.Client, docs: dict[str, Any]) -> None:
    response = client.get(f"/{INDEX}/_field_caps", params={"fields": "@timestamp"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "error" not in body
    caps = body["fields"]["@timestamp"]
    assert "date" in caps or "date_nanos" in caps
    assert caps["date"]["type"] == "date"
    assert caps["date"]["aggregatable"] is True and caps["date"]["searchable"] is True
    assert INDEX in body["indices"]


@pytest.mark.parametrize("path", [f"/{INDEX}/_field_caps", "/_field_caps"])
def test_field_caps_all_fields(client: httpx.Client, docs: dict[str, Any], path: str) -> None:
    response = client.get(path, params={"fields": "*"})
    assert response.status_code == 200, response.text
    fields = response.json()["fields"]
    expected = {"@timestamp": "date", "latency": "long", "status": "integer", "host": "keyword", "message": "text"}
    for name, kind in expected.items():
        assert kind in fields[name], (name, fields[name])
        assert fields[name][kind]["type"] == kind
    assert fields["message"]["text"]["aggregatable"] is False
    assert fields["host"]["keyword"]["aggregatable"] is True


@pytest.mark.parametrize("path", ["/_mapping", f"/{INDEX}/_mapping"])
def test_mapping_for_editor(client: httpx.Client, docs: dict[str, Any], path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    properties = response.json()[INDEX]["mappings"]["properties"]
    for name, mapping in MAPPINGS["properties"].items():
        assert properties[name]["type"] == mapping["type"]


# -- metric panels ----------------------------------------------------------------------------------------


def test_metric_panel_avg_over_time(client: httpx.Client, docs: dict[str, dict[str, Any]]) -> None:
    body = {
        "size": 0,
        "query": time_filter("status:500 AND host:web*"),
        "aggs": {
            "2": {
                "date_histogram": date_histogram(fixed_interval=f"{STEP_MS}ms"),
                "aggs": {"1": {"avg": {"field": "latency"}}},
            }
        },
    }
    (response,) = msearch(client, (INDEX, body))
    ok(response)
    matching = [d for d in docs.values() if in_range(d) and d["status"] == 500 and d["host"].startswith("web")]
    assert matching, "the seed must produce matches"
    assert response["hits"]["total"]["value"] == len(matching)
    per_bucket: dict[int, list[int]] = defaultdict(list)
    for doc in matching:
        per_bucket[ts_ms(doc) // STEP_MS * STEP_MS].append(doc["latency"])

    buckets = response["aggregations"]["2"]["buckets"]
    expected_keys = list(range(RANGE_MIN // STEP_MS * STEP_MS, RANGE_MAX + 1, STEP_MS))
    assert [b["key"] for b in buckets] == expected_keys
    for bucket in buckets:
        key = bucket["key"]
        assert isinstance(key, int)
        assert bucket["key_as_string"] == str(key)
        latencies = per_bucket.get(key, [])
        assert bucket["doc_count"] == len(latencies), key
        expected = avg(latencies)
        if expected is None:
            assert bucket["1"]["value"] is None, bucket
        else:
            assert bucket["1"]["value"] == pytest.approx(expected), bucket


def test_metric_panel_calendar_interval(client: httpx.Client, docs: dict[str, dict[str, Any]]) -> None:
    body = {
        "size": 0,
        "query": time_filter("*"),
        "aggs": {
            "2": {
                "date_histogram": date_histogram(calendar_interval="1h"),
                "aggs": {"1": {"avg": {"field": "latency"}}, "3": {"max": {"field": "latency"}}},
            }
        },
    }
    (response,) = msearch(client, (INDEX, body))
    ok(response)
    per_hour: dict[int, list[int]] = defaultdict(list)
    for doc in docs.values():
        if in_range(doc):
            per_hour[ts_ms(doc) // HOUR_MS * HOUR_MS].append(doc["latency"])
    buckets = response["aggregations"]["2"]["buckets"]
    # START_MS is an hour boundary; the last bucket (START + 2h) holds nothing and comes from extended_bounds
    assert [b["key"] for b in buckets] == [START_MS, START_MS + HOUR_MS, START_MS + 2 * HOUR_MS]
    for bucket in buckets:
        latencies = per_hour.get(bucket["key"], [])
        assert bucket["key_as_string"] == str(bucket["key"])
        assert bucket["doc_count"] == len(latencies)
        assert bucket["1"]["value"] == (pytest.approx(avg(latencies)) if latencies else None)
        assert bucket["3"]["value"] == (max(latencies) if latencies else None)


def _terms_expected(docs: dict[str, dict[str, Any]]) -> dict[str, list[int]]:
    by_host: dict[str, list[int]] = defaultdict(list)
    for doc in docs.values():
        if in_range(doc):
            by_host[doc["host"]].append(doc["latency"])
    return by_host


def test_terms_group_by_count_desc(client: httpx.Client, docs: dict[str, dict[str, Any]]) -> None:
    """Grafana's "Group by: Terms host, Then by: Date Histogram" panel."""
    body = {
        "size": 0,
        "query": time_filter("*"),
        "aggs": {
            "3": {
                "terms": {"field": "host", "size": 10, "order": {"_count": "desc"}, "min_doc_count": 1},
                "aggs": {
                    "2": {
                        "date_histogram": date_histogram(fixed_interval="600000ms"),
                        "aggs": {"1": {"avg": {"field": "latency"}}},
                    }
                },
            }
        },
    }
    (response,) = msearch(client, (INDEX, body))
    ok(response)
    by_host = _terms_expected(docs)
    buckets = response["aggregations"]["3"]["buckets"]
    expected_order = sorted(by_host, key=lambda h: (-len(by_host[h]), h))
    assert [b["key"] for b in buckets] == expected_order
    for bucket in buckets:
        host = bucket["key"]
        assert bucket["doc_count"] == len(by_host[host])
        inner = bucket["2"]["buckets"]
        assert [b["key"] for b in inner] == list(range(START_MS, RANGE_MAX + 1, 600_000))
        per_slot: dict[int, list[int]] = defaultdict(list)
        for doc in docs.values():
            if in_range(doc) and doc["host"] == host:
                per_slot[ts_ms(doc) // 600_000 * 600_000].append(doc["latency"])
        for slot in inner:
            values = per_slot.get(slot["key"], [])
            assert slot["doc_count"] == len(values)
            assert slot["1"]["value"] == (pytest.approx(avg(values)) if values else None)


def test_terms_ordered_by_metric(client: httpx.Client, docs: dict[str, dict[str, Any]]) -> None:
    """Order by a metric id: Grafana also puts that metric directly under the terms agg."""
    body = {
        "size": 0,
        "query": time_filter("*"),
        "aggs": {
            "3": {
                "terms": {"field": "host", "size": 10, "order": {"1": "desc"}, "min_doc_count": 1},
                "aggs": {
                    "1": {"avg": {"field": "latency"}},
                    "2": {
                        "date_histogram": date_histogram(fixed_interval="3600000ms"),
                        "aggs": {"1": {"avg": {"field": "latency"}}},
                    },
                },
            }
        },
    }
    (response,) = msearch(client, (INDEX, body))
    ok(response)
    by_host = _terms_expected(docs)
    buckets = response["aggregations"]["3"]["buckets"]
    assert [b["key"] for b in buckets] == sorted(by_host, key=lambda h: -sum(by_host[h]) / len(by_host[h]))
    for bucket in buckets:
        assert bucket["1"]["value"] == pytest.approx(avg(by_host[bucket["key"]]))
        assert sum(b["doc_count"] for b in bucket["2"]["buckets"]) == len(by_host[bucket["key"]])


def _percentile_bounds(values: list[int], percent: float) -> tuple[int, int]:
    ordered = sorted(values)
    rank = percent / 100 * (len(ordered) - 1)
    slack = max(2, math.ceil(len(ordered) * 0.02))
    return ordered[max(0, math.floor(rank) - slack)], ordered[min(len(ordered) - 1, math.ceil(rank) + slack)]


def test_percentiles_extended_stats_cardinality(client: httpx.Client, docs: dict[str, dict[str, Any]]) -> None:
    percents = [25, 50, 75, 95, 99]
    body = {
        "size": 0,
        "query": time_filter("*"),
        "aggs": {
            "3": {
                "terms": {"field": "host", "size": 10, "order": {"_key": "asc"}, "min_doc_count": 1},
                "aggs": {
                    "4": {"percentiles": {"field": "latency", "percents": percents}},
                    "5": {"extended_stats": {"field": "latency", "sigma": 2}},
                    "6": {"cardinality": {"field": "latency"}},
                    "7": {"cardinality": {"field": "status"}},
                },
            },
            "8": {"cardinality": {"field": "host"}},
        },
    }
    (response,) = msearch(client, (INDEX, body))
    ok(response)
    aggs = response["aggregations"]
    by_host = _terms_expected(docs)
    assert aggs["8"]["value"] == len(by_host)
    buckets = aggs["3"]["buckets"]
    assert [b["key"] for b in buckets] == sorted(by_host)
    for bucket in buckets:
        host = bucket["key"]
        values = by_host[host]
        # percentiles: keys are the percents as "25.0"-style strings; values are approximations (t-digest)
        got = bucket["4"]["values"]
        assert set(got) == {f"{float(p)}" for p in percents}, got
        for p in percents:
            low, high = _percentile_bounds(values, p)
            assert low <= got[f"{float(p)}"] <= high, (host, p, got[f"{float(p)}"], low, high)
        stats = bucket["5"]
        n = len(values)
        mean = sum(values) / n
        variance = sum((v - mean) ** 2 for v in values) / n
        assert stats["count"] == n
        assert stats["min"] == min(values) and stats["max"] == max(values)
        assert stats["sum"] == pytest.approx(sum(values))
        assert stats["avg"] == pytest.approx(mean)
        assert stats["sum_of_squares"] == pytest.approx(sum(v * v for v in values))
        assert stats["variance"] == pytest.approx(variance)
        assert stats["std_deviation"] == pytest.approx(math.sqrt(variance))
        bounds = stats["std_deviation_bounds"]
        assert bounds["upper"] == pytest.approx(mean + 2 * math.sqrt(variance))
        assert bounds["lower"] == pytest.approx(mean - 2 * math.sqrt(variance))
        assert bucket["6"]["value"] == pytest.approx(len(set(values)), rel=0.02)
        statuses = {d["status"] for d in docs.values() if in_range(d) and d["host"] == host}
        assert bucket["7"]["value"] == len(statuses)


def test_filters_agg_with_query_strings(client: httpx.Client, docs: dict[str, dict[str, Any]]) -> None:
    filters = {
        "status:500": lambda d: d["status"] == 500,
        "host:db*": lambda d: d["host"].startswith("db"),
        "message:timeout AND NOT status:200": lambda d: "timeout" in d["message"].split() and d["status"] != 200,
    }
    body = {
        "size": 0,
        "query": time_filter("*"),
        "aggs": {
            "3": {
                "filters": {
                    "filters": {
                        label: {"query_string": {"query": label, "analyze_wildcard": True}} for label in filters
                    }
                },
                "aggs": {
                    "2": {
                        "date_histogram": date_histogram(fixed_interval="1800000ms"),
                        "aggs": {"1": {"avg": {"field": "latency"}}},
                    }
                },
            }
        },
    }
    (response,) = msearch(client, (INDEX, body))
    ok(response)
    buckets = response["aggregations"]["3"]["buckets"]
    assert isinstance(buckets, dict), "keyed filters come back as an object keyed by label"
    assert set(buckets) == set(filters)
    for label, predicate in filters.items():
        matching = [d for d in docs.values() if in_range(d) and predicate(d)]
        assert buckets[label]["doc_count"] == len(matching), label
        per_slot: dict[int, list[int]] = defaultdict(list)
        for doc in matching:
            per_slot[ts_ms(doc) // 1_800_000 * 1_800_000].append(doc["latency"])
        inner = buckets[label]["2"]["buckets"]
        assert [b["key"] for b in inner] == list(range(START_MS, RANGE_MAX + 1, 1_800_000))
        for slot in inner:
            values = per_slot.get(slot["key"], [])
            assert slot["doc_count"] == len(values), (label, slot["key"])
            assert slot["1"]["value"] == (pytest.approx(avg(values)) if values else None)


@pytest.mark.parametrize("min_doc_count", [0, 1])
def test_histogram_on_latency(client: httpx.Client, docs: dict[str, dict[str, Any]], min_doc_count: int) -> None:
    interval = 250
    body = {
        "size": 0,
        "query": time_filter("*"),
        "aggs": {
            "3": {
                "histogram": {"field": "latency", "interval": interval, "min_doc_count": min_doc_count},
                "aggs": {"1": {"avg": {"field": "latency"}}},
            }
        },
    }
    (response,) = msearch(client, (INDEX, body))
    ok(response)
    per_bucket: dict[int, list[int]] = defaultdict(list)
    for doc in docs.values():
        if in_range(doc):
            per_bucket[doc["latency"] // interval * interval].append(doc["latency"])
    if min_doc_count == 0:
        expected_keys = list(range(min(per_bucket), max(per_bucket) + 1, interval))
        assert 1000 not in per_bucket, "the corpus leaves a gap in the latency histogram"
    else:
        expected_keys = sorted(per_bucket)
    buckets = response["aggregations"]["3"]["buckets"]
    assert [b["key"] for b in buckets] == expected_keys
    for bucket in buckets:
        values = per_bucket.get(int(bucket["key"]), [])
        assert bucket["doc_count"] == len(values)
        assert bucket["1"]["value"] == (pytest.approx(avg(values)) if values else None)


def test_several_panels_in_one_msearch(client: httpx.Client, docs: dict[str, dict[str, Any]]) -> None:
    """A dashboard refresh: one _msearch carrying every panel, answered in order."""
    count_body = {
        "size": 0,
        "query": time_filter("host:cache-1"),
        "aggs": {"2": {"date_histogram": date_histogram(fixed_interval="3600000ms")}},
    }
    sum_body = {"size": 0, "query": time_filter("status:[400 TO 599]"), "aggs": {"1": {"sum": {"field": "latency"}}}}
    first, second = msearch(client, (INDEX, count_body), (INDEX, sum_body))
    cache = [d for d in docs.values() if in_range(d) and d["host"] == "cache-1"]
    assert sum(b["doc_count"] for b in ok(first)["aggregations"]["2"]["buckets"]) == len(cache)
    errors = [d["latency"] for d in docs.values() if in_range(d) and 400 <= d["status"] <= 599]
    assert ok(second)["aggregations"]["1"]["value"] == pytest.approx(sum(errors))


# -- logs panel -------------------------------------------------------------------------------------------


def logs_body(search_after: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "size": 500,
        "query": time_filter(" OR ".join(LOG_WORDS)),
        "sort": [{"@timestamp": {"order": "desc", "unmapped_type": "boolean"}}, {"_doc": {"order": "desc"}}],
        "highlight": {
            "fields": {"*": {}},
            "pre_tags": ["@HIGHLIGHT@"],
            "post_tags": ["@/HIGHLIGHT@"],
            "fragment_size": 2147483647,
        },
        "fields": [{"field": "@timestamp", "format": "strict_date_optional_time_nanos"}],
        "script_fields": {},
        "docvalue_fields": ["@timestamp"],
        "aggs": {"1": {"date_histogram": date_histogram(fixed_interval="60000ms")}},
    }
    if search_after is not None:
        body["search_after"] = search_after
    return body


NANOS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def parse_nanos(value: str) -> int:
    """Epoch ms of a strict_date_optional_time_nanos string."""
    assert NANOS_RE.match(value), value
    seconds, _, fraction = value[:-1].partition(".")
    whole = datetime.strptime(seconds, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(whole.timestamp()) * 1000 + int((fraction or "0").ljust(9, "0")[:3])


def test_logs_query_pages_with_search_after(client: httpx.Client, docs: dict[str, dict[str, Any]]) -> None:
    def matches(doc: dict[str, Any]) -> bool:
        return in_range(doc) and any(word in doc["message"].split() for word in LOG_WORDS)

    expected = sorted((k for k, d in docs.items() if matches(d)), key=lambda k: -ts_ms(docs[k]))
    assert len(expected) > 500, "the query must need more than one page"

    seen: list[str] = []
    search_after: list[Any] | None = None
    for _page in range(len(expected) // 500 + 3):
        (response,) = msearch(client, (INDEX, logs_body(search_after)))
        ok(response)
        assert response["hits"]["total"]["value"] == len(expected)
        histogram = response["aggregations"]["1"]["buckets"]
        assert sum(b["doc_count"] for b in histogram) == len(expected)
        assert histogram[0]["key"] == RANGE_MIN // 60_000 * 60_000
        assert histogram[-1]["key"] == RANGE_MAX // 60_000 * 60_000
        hits = response["hits"]["hits"]
        if not hits:
            break
        assert len(hits) <= 500
        for hit in hits:
            doc = docs[hit["_id"]]
            assert hit["_source"] == doc
            assert hit["sort"][0] == ts_ms(doc)
            assert len(hit["sort"]) == 2
            (stamp,) = hit["fields"]["@timestamp"]
            assert parse_nanos(stamp) == ts_ms(doc)
            highlighted = " ".join(
                f"@HIGHLIGHT@{token}@/HIGHLIGHT@" if token in LOG_WORDS else token for token in doc["message"].split()
            )
            assert hit["highlight"]["message"] == [highlighted], hit["highlight"]
            seen.append(hit["_id"])
        search_after = hits[-1]["sort"]
    else:
        pytest.fail("search_after paging never ran out of hits")
    assert len(seen) == len(set(seen)), Counter(seen).most_common(3)
    assert seen == expected


# -- editor: template variables, missing indices ----------------------------------------------------------


def test_template_variable_terms_query(client: httpx.Client, docs: dict[str, dict[str, Any]]) -> None:
    """``{"find": "terms", "field": "host", "query": "status:500"}``: the frontend's getTermsQuery body."""
    body = {
        "size": 0,
        "query": time_filter("status:500"),
        "aggs": {"1": {"terms": {"field": "host", "size": 500, "order": {"_key": "asc"}}}},
    }
    by_count = {
        "size": 0,
        "query": time_filter(),
        "aggs": {"1": {"terms": {"field": "status", "size": 500, "order": {"_count": "desc"}}}},
    }
    first, second = msearch(client, (INDEX, body), (INDEX, by_count))
    hosts = Counter(d["host"] for d in docs.values() if in_range(d) and d["status"] == 500)
    buckets = ok(first)["aggregations"]["1"]["buckets"]
    assert [(b["key"], b["doc_count"]) for b in buckets] == sorted(hosts.items())
    statuses = Counter(d["status"] for d in docs.values() if in_range(d))
    buckets = ok(second)["aggregations"]["1"]["buckets"]
    assert [(b["key"], b["doc_count"]) for b in buckets] == sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0]))


def test_missing_index_with_ignore_unavailable(client: httpx.Client, docs: dict[str, dict[str, Any]]) -> None:
    """With ``ignore_unavailable: true`` a missing concrete index is an empty result, not an error."""
    body = {
        "size": 0,
        "query": time_filter("*"),
        "aggs": {"2": {"date_histogram": date_histogram(fixed_interval="3600000ms")}},
    }
    missing, mixed, pattern = msearch(
        client, ("no-such-logs", body), (f"{INDEX},no-such-logs", body), ("grafana-log*", body)
    )
    assert "error" not in missing, missing
    assert missing.get("status", 200) == 200
    assert missing["hits"]["total"]["value"] == 0
    assert missing["hits"]["hits"] == []
    in_window = sum(1 for d in docs.values() if in_range(d))
    for response in (mixed, pattern):
        ok(response)
        assert response["hits"]["total"]["value"] == in_window
        assert sum(b["doc_count"] for b in response["aggregations"]["2"]["buckets"]) == in_window


def test_missing_index_without_ignore_unavailable_is_per_response_error(
    client: httpx.Client, docs: dict[str, dict[str, Any]]
) -> None:
    lines = [json.dumps({"index": "no-such-logs"}), json.dumps({"size": 0}), json.dumps({"index": INDEX}), "{}"]
    response = client.post("/_msearch", content="\n".join(lines) + "\n", headers=HEADERS)
    assert response.status_code == 200
    missing, present = response.json()["responses"]
    assert missing["status"] == 404
    assert missing["error"]["type"] == "index_not_found_exception"
    assert "error" not in present
