"""Aggregation behaviours pinned to Elasticsearch's own answers (its YAML REST tests, search.aggregation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_aggs import Shard

from native.aggs import finalize, merge_partials, parse_aggs
from native.aggs.sketches import digest_from_values, digest_quantile, digest_rank, merge_digests
from native.aggs.terms import _partition_of
from native.errors import IllegalArgument, QuidditchError

DOCS = [
    {"id": "1", "n": 1, "price": 1.0, "tag": "foo"},
    {"id": "2", "n": 51, "price": 51.0, "tag": "foo"},
    {"id": "3", "n": 101, "price": 101.0, "tag": "foo"},
    {"id": "4", "n": 151, "price": 151.0, "tag": "foo"},
]


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Shard:
    return Shard(Path(tmp_path_factory.mktemp("es")), DOCS, ("n", "price", "tag"))


def run(shard: Shard, body: dict[str, Any]) -> dict[str, Any]:
    tree = parse_aggs(body)
    return finalize(tree, merge_partials(tree, [shard.run(tree)]))


def test_percentiles_small_sample_like_es(shard: Shard) -> None:
    res = run(shard, {"p": {"percentiles": {"field": "n"}}, "d": {"percentiles": {"field": "price"}}})
    expected = {"1.0": 1.0, "5.0": 1.0, "25.0": 26.0, "50.0": 76.0, "75.0": 126.0, "95.0": 151.0, "99.0": 151.0}
    assert res["p"]["values"] == expected
    assert res["d"]["values"] == expected


def test_percentiles_three_values_and_merged() -> None:
    d = digest_from_values(np.array([51.0, 101.0, 151.0]), 100.0)
    assert [digest_quantile(d, q) for q in (0.01, 0.25, 0.5, 0.75, 0.99)] == [51.0, 63.5, 101.0, 138.5, 151.0]
    left, right = digest_from_values(np.array([51.0]), 100.0), digest_from_values(np.array([101.0, 151.0]), 100.0)
    merged = merge_digests(left, right, 100.0)
    assert digest_quantile(merged, 0.25) == 63.5


def test_percentile_ranks_count_equal_values_half(shard: Shard) -> None:
    res = run(shard, {"r": {"percentile_ranks": {"field": "n", "values": [0, 51, 76, 151, 200], "keyed": False}}})
    assert [v["value"] for v in res["r"]["values"]] == [0.0, 37.5, 50.0, 87.5, 100.0]


def test_percentiles_compression_must_not_be_negative() -> None:
    with pytest.raises(IllegalArgument, match=r"\[compression\] must be greater than or equal to 0. Found \[-1.0\]"):
        parse_aggs({"p": {"percentiles": {"field": "n", "tdigest": {"compression": -1}}}})


def test_large_digest_stays_rank_accurate() -> None:
    values = np.random.default_rng(5).lognormal(5, 1.2, 50_000)
    parts = [digest_from_values(part, 100.0) for part in np.array_split(values, 4)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merge_digests(merged, p, 100.0)
    ordered = np.sort(values)
    for q in (0.001, 0.01, 0.25, 0.5, 0.99, 0.999):
        rank = np.searchsorted(ordered, digest_quantile(merged, q)) / ordered.size
        assert abs(rank - q) < 0.005
    assert abs(digest_rank(merged, 1000.0) - np.searchsorted(ordered, 1000.0) / ordered.size * 100) < 0.5


@pytest.mark.parametrize("kind", ["avg", "min", "max", "sum", "stats", "extended_stats", "percentiles"])
def test_numeric_metric_on_keyword_fails_the_shard(shard: Shard, kind: str) -> None:
    with pytest.raises(QuidditchError) as info:
        run(shard, {"a": {kind: {"field": "tag"}}})
    assert info.value.status == 400
    assert info.value.reason == f"Field [tag] of type [keyword] is not supported for aggregation [{kind}]"


def test_value_count_with_missing_on_unmapped_field(shard: Shard) -> None:
    assert run(shard, {"c": {"value_count": {"field": "nope", "missing": 1}}})["c"]["value"] == 4


def test_extended_stats_variance_is_es_formula(shard: Shard) -> None:
    res = run(shard, {"e": {"extended_stats": {"field": "n"}}})["e"]
    s, q, c = 304.0, 1.0 + 51**2 + 101**2 + 151**2, 4
    assert res["variance"] == (q - s * s / c) / c


def test_terms_partitions_match_es_hashing() -> None:
    assert _partition_of("bcd", 2, False) == 0 and _partition_of("abc", 2, False) == 1
    assert _partition_of(5678, 2, True) == 0 and _partition_of(1234, 2, True) == 1


def test_terms_include_partition(shard: Shard) -> None:
    res = run(shard, {"t": {"terms": {"field": "n", "include": {"partition": 1, "num_partitions": 2}}}})
    assert {b["key"] for b in res["t"]["buckets"]} == {k for k in (1, 51, 101, 151) if _partition_of(k, 2, True) == 1}


def test_terms_unmapped_typed_missing(shard: Shard) -> None:
    res = run(shard, {
        "b": {"terms": {"field": "nope", "value_type": "boolean", "missing": True}},
        "d": {"terms": {"field": "nope", "value_type": "date", "missing": "2016-05-11"}},
    })  # fmt: skip
    assert res["b"]["buckets"] == [{"key": 1, "key_as_string": "true", "doc_count": 4}]
    assert res["d"]["buckets"] == [{"key": 1462924800000, "key_as_string": "2016-05-11T00:00:00.000Z", "doc_count": 4}]


def test_terms_value_type_mismatch_fails_the_shard(shard: Shard) -> None:
    with pytest.raises(QuidditchError):
        run(shard, {"t": {"terms": {"field": "tag", "value_type": "ip"}}})


def test_terms_mixing_long_and_double_partials_gives_doubles(shard: Shard) -> None:
    tree = parse_aggs({"t": {"terms": {"field": "n"}}})
    longs = shard.run(tree)
    doubles = shard.run(parse_aggs({"t": {"terms": {"field": "price"}}}))
    res = finalize(tree, merge_partials(tree, [longs, doubles]))["t"]["buckets"]
    assert all(isinstance(b["key"], float) for b in res)
    assert [b["doc_count"] for b in res] == [2, 2, 2, 2]
