"""Pipeline aggregations end to end (in-process app, two shards), against answers computed here in plain
Python over the same documents."""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import httpx
import orjson
import pytest

DAY = 86_400_000
START = 1_700_006_400_000  # 2023-11-15T00:00:00Z, a day boundary
EMPTY_DAYS = {3, 7}
N_DAYS = 10


def _docs() -> list[dict[str, Any]]:
    rng = random.Random(7)
    docs = []
    for day in range(N_DAYS):
        if day in EMPTY_DAYS:
            continue
        for _ in range(rng.randint(1, 5)):
            docs.append({
                "ts": START + day * DAY + rng.randint(0, DAY - 1),
                "v": rng.randint(-20, 50),
                "cat": rng.choice(["a", "b", "c"]),
                "user": f"u{rng.randint(0, 12)}",
            })  # fmt: skip
    return docs


DOCS = _docs()


def _days() -> list[list[dict[str, Any]]]:
    return [[d for d in DOCS if (d["ts"] - START) // DAY == day] for day in range(N_DAYS)]


def _avg(docs: list[dict[str, Any]]) -> float:
    return sum(d["v"] for d in docs) / len(docs) if docs else math.nan


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    mappings = {"properties": {"ts": {"type": "date"}, "v": {"type": "long"}, "cat": {"type": "keyword"},
                               "user": {"type": "keyword"}}}  # fmt: skip
    r = await asgi_client.put("/p", json={"settings": {"number_of_shards": 2}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(DOCS):
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps(doc)]
    r = await asgi_client.post("/p/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"]
    return asgi_client


async def _aggs(client: httpx.AsyncClient, aggs: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/p/_search", json={"size": 0, "aggs": aggs})
    assert r.status_code == 200, r.text
    return r.json()["aggregations"]  # type: ignore[no-any-return]


def _histo(subs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"date_histogram": {"field": "ts", "fixed_interval": "1d", **extra}, "aggs": subs}


def _null(x: float) -> float | None:
    return None if math.isnan(x) else x


async def test_sibling_bucket_metrics(client: httpx.AsyncClient) -> None:
    aggs = {
        "h": _histo({"a": {"avg": {"field": "v"}}}),
        "max": {"max_bucket": {"buckets_path": "h>a"}},
        "min": {"min_bucket": {"buckets_path": "h>a", "format": "0.0"}},
        "avg": {"avg_bucket": {"buckets_path": "h>a"}},
        "sum0": {"sum_bucket": {"buckets_path": "h>a", "gap_policy": "insert_zeros"}},
        "stats": {"stats_bucket": {"buckets_path": "h.a"}},
        "ext": {"extended_stats_bucket": {"buckets_path": "h>a", "sigma": 3}},
        "pct": {"percentiles_bucket": {"buckets_path": "h>a", "percents": [0, 50, 99.9]}},
        "pct_list": {"percentiles_bucket": {"buckets_path": "h>_count", "keyed": False, "percents": [25]}},
        "count_sum": {"sum_bucket": {"buckets_path": "h>_count"}},
    }
    out = await _aggs(client, aggs)
    days = _days()
    avgs = [_avg(d) for d in days]
    real = [(i, a) for i, a in enumerate(avgs) if not math.isnan(a)]
    values = [a for _, a in real]
    key = [b["key_as_string"] for b in out["h"]["buckets"]]
    assert len(key) == N_DAYS
    assert out["max"]["value"] == max(values)
    assert out["max"]["keys"] == [key[i] for i, a in real if a == max(values)]
    assert out["min"]["value"] == min(values) and out["min"]["value_as_string"] == f"{min(values):.1f}"
    assert out["avg"]["value"] == pytest.approx(sum(values) / len(values))
    assert out["sum0"]["value"] == pytest.approx(sum(values))
    assert out["stats"]["count"] == len(values) and out["stats"]["sum"] == pytest.approx(sum(values))
    assert out["stats"]["min"] == min(values) and out["stats"]["max"] == max(values)
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / len(values)
    assert out["ext"]["variance"] == pytest.approx(variance)
    assert out["ext"]["std_deviation_bounds"]["upper"] == pytest.approx(mean + 3 * math.sqrt(variance))
    ordered = sorted(values)
    for p in (0.0, 50.0, 99.9):
        index = math.floor(p / 100 * (len(ordered) - 1) + 0.5)
        assert out["pct"]["values"][str(p)] == ordered[index]
    counts = sorted(len(d) for d in days)
    assert out["pct_list"]["values"] == [{"key": 25.0, "value": counts[math.floor(0.25 * (N_DAYS - 1) + 0.5)]}]
    assert out["count_sum"]["value"] == len(DOCS)


async def test_sibling_on_terms_and_empty_input(client: httpx.AsyncClient) -> None:
    aggs = {"t": {"terms": {"field": "cat"}, "aggs": {"s": {"sum": {"field": "v"}}}},
            "best": {"max_bucket": {"buckets_path": "t>s"}}}  # fmt: skip
    out = await _aggs(client, aggs)
    sums = {c: sum(d["v"] for d in DOCS if d["cat"] == c) for c in "abc"}
    assert out["best"] == {"value": max(sums.values()), "keys": [c for c in "abc" if sums[c] == max(sums.values())]}
    r = await client.post(
        "/p/_search",
        json={
            "size": 0,
            "query": {"term": {"cat": "zzz"}},
            "aggs": {
                **aggs,
                "avg": {"avg_bucket": {"buckets_path": "t>s"}},
                "st": {"stats_bucket": {"buckets_path": "t>s"}},
            },
        },
    )
    body = r.json()["aggregations"]
    assert body["best"] == {"value": None, "keys": []} and body["avg"] == {"value": None}
    assert body["st"] == {"count": 0, "min": None, "max": None, "avg": None, "sum": 0.0}


async def test_derivative_cumulative_serial_diff(client: httpx.AsyncClient) -> None:
    subs = {
        "s": {"sum": {"field": "v"}},
        "d": {"derivative": {"buckets_path": "s", "unit": "1h"}},
        "dd": {"derivative": {"buckets_path": "d"}},
        "dz": {"derivative": {"buckets_path": "s", "gap_policy": "insert_zeros"}},
        "cs": {"cumulative_sum": {"buckets_path": "_count"}},
        "csum": {"cumulative_sum": {"buckets_path": "s", "format": "0"}},
        "sd": {"serial_diff": {"buckets_path": "s", "lag": 2, "gap_policy": "insert_zeros"}},
    }
    out = await _aggs(client, {"h": _histo(subs)})
    buckets = out["h"]["buckets"]
    days = _days()
    sums = [float(sum(d["v"] for d in day)) if day else math.nan for day in days]
    zeros = [0.0 if math.isnan(s) else s for s in sums]
    total = count = 0.0
    deriv: list[float | None] = [None]
    for i, bucket in enumerate(buckets):
        count += len(days[i])
        total += zeros[i]
        assert bucket["cs"] == {"value": count}
        assert bucket["csum"] == {"value": total, "value_as_string": str(int(total))}
        if i == 0:
            assert "d" not in bucket and "dz" not in bucket and "dd" not in bucket
            continue
        gradient = sums[i] - sums[i - 1]
        assert bucket["d"]["value"] == _null(gradient)
        if not math.isnan(gradient):
            assert bucket["d"]["normalized_value"] == pytest.approx(gradient / 24)
        deriv.append(_null(gradient))
        assert bucket["dz"]["value"] == zeros[i] - zeros[i - 1]
        if i >= 2:
            prev = deriv[i - 1]
            second = (deriv[i] if deriv[i] is not None else math.nan) - (prev if prev is not None else math.nan)
            assert bucket["dd"]["value"] == _null(second)
            assert bucket["sd"]["value"] == zeros[i] - zeros[i - 2]
        else:
            assert "dd" not in bucket and "sd" not in bucket


async def test_moving_fn_windows(client: httpx.AsyncClient) -> None:
    subs = {
        "c": {"value_count": {"field": "v"}},
        "mx": {"moving_fn": {"buckets_path": "c", "window": 3, "script": "MovingFunctions.max(values)"}},
        "avg": {"moving_fn": {"buckets_path": "_count", "window": 2, "shift": 1,
                              "script": {"source": "MovingFunctions.unweightedAvg(values) * params.k",
                                         "params": {"k": 10}}}},
    }  # fmt: skip
    out = await _aggs(client, {"h": _histo(subs, min_doc_count=1)})
    buckets = out["h"]["buckets"]
    counts = [float(len(day)) for day in _days() if day]
    assert [b["doc_count"] for b in buckets] == counts
    for i, bucket in enumerate(buckets):
        window = counts[max(i - 3, 0) : i]
        assert bucket["mx"]["value"] == (max(window) if window else None)
        shifted = counts[max(i - 2 + 1, 0) : i + 1]
        assert bucket["avg"]["value"] == pytest.approx(10 * sum(shifted) / len(shifted))


async def test_bucket_script_selector_sort(client: httpx.AsyncClient) -> None:
    subs = {
        "s": {"sum": {"field": "v"}},
        "n": {"value_count": {"field": "v"}},
        "ratio": {"bucket_script": {"buckets_path": {"total": "s", "count": "n"}, "script": {
            "source": "params.total / params.count * params.f", "params": {"f": 2}}}},
        "keep": {"bucket_selector": {"buckets_path": {"r": "ratio"}, "script": {
            "source": "params.r > params.min", "params": {"min": 5}}}},
        "top": {"bucket_sort": {"sort": [{"ratio": {"order": "desc"}}, "_key"], "from": 1, "size": 2}},
    }  # fmt: skip
    out = await _aggs(client, {"t": {"terms": {"field": "user", "size": 100}, "aggs": subs}})
    ratios = {}
    for user in {d["user"] for d in DOCS}:
        values = [d["v"] for d in DOCS if d["user"] == user]
        ratios[user] = sum(values) / len(values) * 2
    kept = sorted(((r, u) for u, r in ratios.items() if r > 5), key=lambda x: (-x[0], x[1]))
    expected = [u for _, u in kept][1:3]
    got = out["t"]["buckets"]
    assert [b["key"] for b in got] == expected
    for bucket in got:
        assert bucket["ratio"]["value"] == pytest.approx(ratios[bucket["key"]])


async def test_bucket_sort_truncates_histogram_without_sort(client: httpx.AsyncClient) -> None:
    out = await _aggs(client, {"h": _histo({"cut": {"bucket_sort": {"from": 2, "size": 3}}})})
    keys = [b["key"] for b in out["h"]["buckets"]]
    assert keys == [START + day * DAY for day in range(2, 5)]


async def test_cumulative_cardinality(client: httpx.AsyncClient) -> None:
    subs = {"u": {"cardinality": {"field": "user"}}, "cu": {"cumulative_cardinality": {"buckets_path": "u"}}}
    out = await _aggs(client, {"h": _histo(subs)})
    seen: set[str] = set()
    for day, bucket in zip(_days(), out["h"]["buckets"], strict=True):
        seen |= {d["user"] for d in day}
        assert bucket["u"]["value"] == len({d["user"] for d in day})
        assert bucket["cu"] == {"value": len(seen)}


async def test_pipeline_inside_buckets_and_over_pipelines(client: httpx.AsyncClient) -> None:
    aggs = {
        "t": {"terms": {"field": "cat"}, "aggs": {
            "h": _histo({"s": {"sum": {"field": "v"}}, "d": {"derivative": {"buckets_path": "s"}}}),
            "maxd": {"max_bucket": {"buckets_path": "h>d"}},
        }},
        "best": {"max_bucket": {"buckets_path": "t>maxd"}},
    }  # fmt: skip
    out = await _aggs(client, aggs)
    best = -math.inf
    for bucket in out["t"]["buckets"]:
        docs = [d for d in DOCS if d["cat"] == bucket["key"]]
        first = min((d["ts"] - START) // DAY for d in docs)
        last = max((d["ts"] - START) // DAY for d in docs)
        sums = []
        for day in range(first, last + 1):
            day_docs = [d for d in docs if (d["ts"] - START) // DAY == day]
            sums.append(float(sum(d["v"] for d in day_docs)) if day_docs else math.nan)
        grads = [b - a for a, b in itertools.pairwise(sums) if not (math.isnan(a) or math.isnan(b))]
        expected = max(grads) if grads else None
        assert bucket["maxd"]["value"] == expected
        if expected is not None:
            best = max(best, expected)
    assert out["best"]["value"] == best


@pytest.mark.parametrize(
    ("aggs", "es_type", "reason"),
    [
        (
            {"d": {"derivative": {"buckets_path": "x"}}},
            "action_request_validation_exception",
            "derivative aggregation [d] must have a histogram, date_histogram or auto_date_histogram as parent but "
            "doesn't have a parent",
        ),
        (
            {
                "t": {
                    "terms": {"field": "cat"},
                    "aggs": {"s": {"sum": {"field": "v"}}, "d": {"derivative": {"buckets_path": "s"}}},
                }
            },
            "action_request_validation_exception",
            "derivative aggregation [d] must have a histogram, date_histogram or auto_date_histogram as parent",
        ),
        (
            {"t": {"terms": {"field": "cat"}}, "bs": {"bucket_sort": {"sort": ["t>_count"]}}},
            "action_request_validation_exception",
            "bucket_sort aggregation [bs] must be declared inside of another",
        ),
        (
            {"h": _histo({}), "m": {"max_bucket": {"buckets_path": "h>nope"}}},
            "action_request_validation_exception",
            "No aggregation [nope] found for path [h>nope]",
        ),
        (
            {"h": _histo({"a": {"derivative": {"buckets_path": "b"}}, "b": {"derivative": {"buckets_path": "a"}}})},
            "action_request_validation_exception",
            "Cyclical dependency found with pipeline aggregator",
        ),
        (
            {"h": _histo({"m": {"moving_fn": {"buckets_path": "_count", "window": 0, "script": "1"}}})},
            "illegal_argument_exception",
            "[window] must be a positive, non-zero integer.",
        ),
        (
            {"h": _histo({"x": {"bucket_script": {"buckets_path": {"c": "_count"}, "script": "params.c = 1"}}})},
            "script_exception",
            "compile error",
        ),
        (
            {
                "h": _histo(
                    {
                        "x": {
                            "bucket_script": {
                                "buckets_path": {"c": "_count"},
                                "script": {"source": "1", "lang": "python"},
                            }
                        }
                    }
                )
            },
            "illegal_argument_exception",
            "script_lang not supported [python]",
        ),
        (
            {"h": _histo({"x": {"derivative": {"buckets_path": "_count", "gap_policy": "nope"}}})},
            "parsing_exception",
            "Invalid gap policy: [nope]",
        ),
        (
            {"h": _histo({"x": {"derivative": {"buckets_path": "_count", "lag": 1}}})},
            "parsing_exception",
            "[derivative] unknown field [lag]",
        ),
        (
            {
                "h": _histo(
                    {"x": {"cumulative_sum": {"buckets_path": "_count"}, "aggs": {"y": {"max": {"field": "v"}}}}}
                )
            },
            "parsing_exception",
            "Aggregation [x] cannot define sub-aggregations",
        ),
        (
            {"t": {"terms": {"field": "cat", "script": "1"}}},
            "illegal_argument_exception",
            "cannot execute [inline] scripts",
        ),
    ],
)
async def test_request_errors(client: httpx.AsyncClient, aggs: dict[str, Any], es_type: str, reason: str) -> None:
    r = await client.post("/p/_search", json={"size": 0, "aggs": aggs})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["root_cause"][0]["type"] == es_type, error
    assert reason in error["root_cause"][0]["reason"], error


async def test_execution_errors(client: httpx.AsyncClient) -> None:
    aggs = {"t": {"terms": {"field": "cat"}, "aggs": {"p": {"percentiles": {"field": "v"}}}},
            "m": {"max_bucket": {"buckets_path": "t>p"}}}  # fmt: skip
    r = await client.post("/p/_search", json={"size": 0, "aggs": aggs})
    assert r.status_code == 400
    assert "but [p] contains multiple values. Please specify which to use." in r.text
    aggs["m"] = {"max_bucket": {"buckets_path": "t>p[50]"}}
    assert (await client.post("/p/_search", json={"size": 0, "aggs": aggs})).status_code == 200
    aggs = {"h": _histo({"x": {"bucket_script": {"buckets_path": {"c": "_count"}, "script": "params.c > 1"}}})}
    r = await client.post("/p/_search", json={"size": 0, "aggs": aggs})
    assert r.status_code == 400 and "must return a Number" in r.text


async def test_sibling_paths_dig_through_single_buckets_and_bucket_keys(client: httpx.AsyncClient) -> None:
    aggs = {
        "f": {"filter": {"term": {"cat": "a"}}, "aggs": {"h": _histo({"s": {"sum": {"field": "v"}}})}},
        "t": {"terms": {"field": "cat"}, "aggs": {"h": _histo({"s": {"sum": {"field": "v"}}})}},
        "via_filter": {"sum_bucket": {"buckets_path": "f>h>s"}},
        "via_key": {"max_bucket": {"buckets_path": "t['b']>h>s"}},
        "count_via_key": {"sum_bucket": {"buckets_path": "t['b']>h._count"}},
        "bad": {"max_bucket": {"buckets_path": "t['zzz']>h>s"}},
    }
    out = await _aggs(client, aggs)
    assert out["via_filter"]["value"] == sum(d["v"] for d in DOCS if d["cat"] == "a")
    b_days: dict[int, int] = {}
    for d in DOCS:
        if d["cat"] == "b":
            day = (d["ts"] - START) // DAY
            b_days[day] = b_days.get(day, 0) + d["v"]
    assert out["via_key"]["value"] == max(b_days.values())
    assert out["count_via_key"]["value"] == sum(1 for d in DOCS if d["cat"] == "b")
    assert out["bad"] == {"value": None, "keys": []}
    r = await client.post("/p/_search", json={"size": 0, "aggs": {
        "f": {"filter": {"term": {"cat": "a"}}, "aggs": {"s": {"sum": {"field": "v"}}}},
        "m": {"max_bucket": {"buckets_path": "f>s"}}}})  # fmt: skip
    assert r.status_code == 400 and "Unable to find unqualified multi-bucket aggregation" in r.text


async def test_parent_pipelines_on_keyed_histogram_and_bucket_sort_gaps(client: httpx.AsyncClient) -> None:
    subs = {"a": {"avg": {"field": "v"}}, "cs": {"cumulative_sum": {"buckets_path": "_count"}},
            "srt": {"bucket_sort": {"sort": [{"a": "desc"}]}}}  # fmt: skip
    out = await _aggs(client, {"h": _histo(subs, keyed=True)})
    buckets = out["h"]["buckets"]
    assert isinstance(buckets, dict)
    avgs = [(_avg(day), i) for i, day in enumerate(_days()) if day]
    expected = [i for _, i in sorted(avgs, key=lambda x: (-x[0], x[1]))]
    assert [b["key"] for b in buckets.values()] == [START + i * DAY for i in expected]  # empty days dropped
    counts = [len(day) for day in _days()]
    for bucket in buckets.values():
        day = (bucket["key"] - START) // DAY
        assert bucket["cs"] == {"value": float(sum(counts[: day + 1]))}


async def test_bucket_script_variable_forms(client: httpx.AsyncClient) -> None:
    subs = {
        "s": {"sum": {"field": "v"}},
        "single": {"bucket_script": {"buckets_path": "s", "script": "params._value * 2"}},
        "listed": {"bucket_script": {"buckets_path": ["s", "_count"], "script": "params._value0 / params._value1"}},
        "expr": {"bucket_script": {"buckets_path": {"total": "s", "n": "_count"},
                                   "script": {"lang": "expression", "source": "total / n + k", "params": {"k": 1}}}},
    }  # fmt: skip
    out = await _aggs(client, {"t": {"terms": {"field": "cat"}, "aggs": subs}})
    for bucket in out["t"]["buckets"]:
        values = [d["v"] for d in DOCS if d["cat"] == bucket["key"]]
        assert bucket["single"] == {"value": 2.0 * sum(values)}
        assert bucket["listed"]["value"] == pytest.approx(sum(values) / len(values))
        assert bucket["expr"]["value"] == pytest.approx(sum(values) / len(values) + 1)
    r = await client.post("/p/_search", json={"size": 0, "aggs": {"t": {"terms": {"field": "cat"}, "aggs": {
        "s": {"sum": {"field": "v"}},
        "x": {"bucket_script": {"buckets_path": {"total": "s"}, "script": "total * 2"}}}}}})  # fmt: skip
    assert r.status_code == 400 and "cannot resolve symbol [total]" in r.text  # painless needs params.total


async def test_bucket_count_and_bucket_key_paths_in_parent_pipelines(client: httpx.AsyncClient) -> None:
    subs = {
        "users": {"terms": {"field": "user", "size": 100}},
        "by_cat": {"terms": {"field": "cat"}, "aggs": {"s": {"sum": {"field": "v"}}}},
        "n_users": {"bucket_script": {"buckets_path": {"n": "users._bucket_count"}, "script": "params.n"}},
        "a_sum": {"bucket_script": {"buckets_path": {"x": "by_cat['a']>s"}, "script": "params.x"}},
        "many": {"bucket_selector": {"buckets_path": {"n": "users._bucket_count"}, "script": "params.n >= 3"}},
    }
    out = await _aggs(client, {"h": _histo(subs)})
    days = [day for day in _days() if len({d["user"] for d in day}) >= 3]
    buckets = out["h"]["buckets"]
    assert [b["doc_count"] for b in buckets] == [len(day) for day in days]
    for day, bucket in zip(days, buckets, strict=True):
        assert bucket["n_users"] == {"value": float(len({d["user"] for d in day}))}
        a_values = [d["v"] for d in day if d["cat"] == "a"]
        if a_values:
            assert bucket["a_sum"] == {"value": float(sum(a_values))}
        else:
            assert "a_sum" not in bucket  # no bucket 'a' on that day: the path resolves to nothing, skipped
