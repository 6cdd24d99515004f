"""``histogram`` / ``date_histogram`` over range fields against plain-Python expectations.

A range field is two hidden fast columns (``<name>_gte`` / ``<name>_lte``, inclusive bounds). The same docs
are indexed into one index and split over four; both layouts must give the expected buckets: a doc counts
once in every bucket its range (clipped to ``hard_bounds``) overlaps.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
import tantivy

from native.aggs import execute_shard, finalize, merge_partials, parse_aggs
from native.aggs.buckets import TooManyBuckets
from native.errors import IllegalArgument
from native.fields import FieldInfo

NOW = 1_720_000_000_000
DAY = 86_400_000
T0 = 1_672_531_200_000  # 2023-01-01T00:00:00Z
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
DATE_MIN, DATE_MAX = -(2**63), 2**63 - 1

# path → (es range type, bound kind)
RANGES = {"r": ("integer_range", "integer"), "s": ("integer_range", "integer"), "d": ("double_range", "double")}
RANGES["dr"] = ("date_range", "date")


class Resolver:
    def __init__(self, schema: tantivy.Schema) -> None:
        self._schema = schema
        self._fields = {"tag": FieldInfo("tag", "keyword", "tag")}
        for path, (es_type, kind) in RANGES.items():
            extra = {"gte": f"{path}_gte", "lte": f"{path}_lte", "bound_type": kind, "mapping_type": es_type}
            self._fields[path] = FieldInfo(path, es_type, path, extra=extra)

    @property
    def schema(self) -> tantivy.Schema:
        return self._schema

    def field(self, path: str) -> FieldInfo | None:
        return self._fields.get(path)

    def expand(self, pattern: str) -> Sequence[FieldInfo]:
        return [f for p, f in self._fields.items() if p == pattern]

    def default_fields(self) -> Sequence[FieldInfo]:
        return list(self._fields.values())


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("_id", stored=True, fast=True, tokenizer_name="raw")
    sb.add_bytes_field("_source", stored=True)
    sb.add_integer_field("_seq_no", fast=True)  # as every shard schema: ``count_matches`` counts its values
    sb.add_text_field("tag", fast=True, tokenizer_name="raw")
    for path, (_, kind) in RANGES.items():
        for hidden in (f"{path}_gte", f"{path}_lte"):
            if kind == "double":
                sb.add_float_field(hidden, indexed=True, fast=True)
            else:
                sb.add_integer_field(hidden, indexed=True, fast=True)
    return sb.build()


class Shard:
    def __init__(self, path: Path, docs: list[dict[str, Any]]) -> None:
        self.schema = _schema()
        path.mkdir(parents=True, exist_ok=True)
        self.index = tantivy.Index(self.schema, str(path))
        writer = self.index.writer(50_000_000, 1)
        for i, doc in enumerate(docs):
            d = tantivy.Document()
            d.add_text("_id", doc["id"])
            d.add_bytes("_source", orjson.dumps(doc))
            d.add_integer("_seq_no", i)
            d.add_text("tag", doc["tag"])
            for path, (_, kind) in RANGES.items():
                for lo, hi in doc.get(path, []):
                    if kind == "double":
                        d.add_float(f"{path}_gte", float(lo))
                        d.add_float(f"{path}_lte", float(hi))
                    else:
                        d.add_integer(f"{path}_gte", int(lo))
                        d.add_integer(f"{path}_lte", int(hi))
            writer.add_document(d)
            if i and i % 70 == 0:
                writer.commit()  # several segments
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()
        self.resolver = Resolver(self.schema)

    def run(self, tree: Any) -> bytes:
        return execute_shard(tree, self.searcher, tantivy.Query.all_query(), self.resolver, now_millis=NOW)


def make_docs() -> list[dict[str, Any]]:
    rng = random.Random(7)
    docs = []
    for i in range(240):
        doc: dict[str, Any] = {"id": f"d{i}", "tag": "abc"[i % 3]}
        if i % 9:
            n = 2 if i % 5 == 0 else 1  # some multi-valued docs, ranges in insertion order
            doc["r"] = []
            for _ in range(n):
                lo = rng.randint(-40, 120)
                doc["r"].append((lo, lo + rng.choice([0, 1, 3, 7, 18, 40])))
        if i % 4:
            lo = rng.randint(-30, 90)
            doc["s"] = [(lo, lo + rng.randint(0, 25))]
        if i % 6:
            lo = rng.uniform(-5.0, 5.0)
            doc["d"] = [(lo, lo + rng.choice([0.0, 0.3, 1.7, 3.2]))]
        if i % 7:
            start = T0 + rng.randint(0, 500) * DAY + rng.randint(0, 23) * 3_600_000
            doc["dr"] = [(start, start + rng.choice([0, 3_600_000, 5 * DAY, 45 * DAY, 200 * DAY]) - 1)]
        docs.append(doc)
    docs.append({"id": "open-lo", "tag": "a", "r": [(INT_MIN, -35)], "dr": [(DATE_MIN, T0 + 20 * DAY)]})
    docs.append({"id": "open-hi", "tag": "b", "r": [(110, INT_MAX)], "dr": [(T0 + 400 * DAY, DATE_MAX)]})
    return docs


DOCS = make_docs()


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Shard], list[Shard]]:
    base = tmp_path_factory.mktemp("range_hist")
    single = [Shard(base / "one", DOCS)]
    parts: list[list[dict[str, Any]]] = [[] for _ in range(4)]
    for i, doc in enumerate(DOCS):
        parts[i % 4].append(doc)
    return single, [Shard(base / f"s{k}", part) for k, part in enumerate(parts)]


def run(shards: list[Shard], body: dict[str, Any]) -> dict[str, Any]:
    tree = parse_aggs(body)
    partials = [s.run(tree) for s in shards]
    # merge in two groups, as a root merging shard results as they arrive would
    merged = merge_partials(tree, [merge_partials(tree, partials[:1]), merge_partials(tree, partials[1:])])
    return finalize(tree, merged)


def both(layouts: tuple[list[Shard], list[Shard]], body: dict[str, Any]) -> dict[str, Any]:
    one, many = layouts
    a, b = run(one, body), run(many, body)
    assert a == b
    return a


# -- plain-Python expectations ------------------------------------------------------------------------------


def numeric_expected(
    path: str,
    interval: float,
    offset: float = 0.0,
    hard: tuple[float | None, float | None] | None = None,
    min_doc_count: int = 1,
    extended: tuple[float, float] | None = None,
    docs: Iterable[dict[str, Any]] = DOCS,
) -> list[tuple[float, int]]:
    counts: Counter[int] = Counter()
    for doc in docs:
        indexes: set[int] = set()
        for lo, hi in doc.get(path, []):
            if hard is not None and hard[0] is not None:
                lo = max(lo, hard[0])
            if hard is not None and hard[1] is not None:
                hi = min(hi, hard[1])
            if lo > hi:
                continue
            first, last = math.floor((lo - offset) / interval), math.floor((hi - offset) / interval)
            indexes.update(range(first, last + 1))
        counts.update(indexes)
    if min_doc_count == 0 and (counts or extended):
        keys = list(counts)
        if extended:
            keys += [math.floor((v - offset) / interval) for v in extended]
        lo_i, hi_i = min(keys), max(keys)
        if hard is not None and hard[0] is not None:
            lo_i = max(lo_i, math.floor((hard[0] - offset) / interval))
        if hard is not None and hard[1] is not None:
            hi_i = min(hi_i, math.floor((hard[1] - offset) / interval))
        for i in range(lo_i, hi_i + 1):
            counts.setdefault(i, 0)
    return [(i * interval + offset, n) for i, n in sorted(counts.items()) if n >= min_doc_count]


def got_numeric(result: dict[str, Any]) -> list[tuple[float, int]]:
    return [(b["key"], b["doc_count"]) for b in result["buckets"]]


def month_start(millis: int, zone: ZoneInfo) -> int:
    local = datetime.fromtimestamp(millis / 1000, tz=UTC).astimezone(zone)
    return int(datetime(local.year, local.month, 1, tzinfo=zone).timestamp() * 1000)


def next_month(start: int, zone: ZoneInfo) -> int:
    local = datetime.fromtimestamp(start / 1000, tz=UTC).astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return int(datetime(year, month, 1, tzinfo=zone).timestamp() * 1000)


def month_expected(zone: ZoneInfo, hard: tuple[int, int] | None = None) -> list[tuple[int, int]]:
    counts: Counter[int] = Counter()
    for doc in DOCS:
        for lo, hi in doc.get("dr", []):
            if hard is not None:
                lo, hi = max(lo, hard[0]), min(hi, hard[1])
            if lo > hi:
                continue
            key = month_start(lo, zone)
            while key <= hi:
                counts[key] += 1
                key = next_month(key, zone)
    return sorted(counts.items())


# -- tests ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("interval,offset", [(5, 0), (10, 3), (1, 0), (2.5, 0.5)])
def test_integer_range_histogram_with_hard_bounds(layouts: Any, interval: float, offset: float) -> None:
    hard = (-50, 130)
    body = {"h": {"histogram": {"field": "r", "interval": interval, "offset": offset, "min_doc_count": 1,
                                "hard_bounds": {"min": hard[0], "max": hard[1]}}}}  # fmt: skip
    assert got_numeric(both(layouts, body)["h"]) == numeric_expected("r", interval, offset, hard)


def test_min_doc_count_zero_and_extended_bounds(layouts: Any) -> None:
    body = {"h": {"histogram": {"field": "s", "interval": 4, "extended_bounds": {"min": -60, "max": 140}}}}
    expected = numeric_expected("s", 4, min_doc_count=0, extended=(-60, 140))
    assert got_numeric(both(layouts, body)["h"]) == expected
    assert any(n == 0 for _, n in expected)
    clipped = {"h": {"histogram": {"field": "s", "interval": 4, "hard_bounds": {"min": 0, "max": 40},
                                   "extended_bounds": {"min": -60, "max": 140}}}}  # fmt: skip
    expected = numeric_expected("s", 4, hard=(0, 40), min_doc_count=0, extended=(-60, 140))
    assert got_numeric(both(layouts, clipped)["h"]) == expected
    assert expected[0][0] == 0 and expected[-1][0] == 40


def test_one_sided_hard_bounds_and_unbounded_ranges(layouts: Any) -> None:
    body = {"h": {"histogram": {"field": "r", "interval": 10, "min_doc_count": 1, "hard_bounds": {"min": -100}}}}
    with pytest.raises(TooManyBuckets, match="too many buckets"):
        both(layouts, body)  # the open-ended doc reaches 2^31 - 1
    body["h"]["histogram"]["hard_bounds"] = {"min": -100, "max": 1000}
    assert got_numeric(both(layouts, body)["h"]) == numeric_expected("r", 10, hard=(-100, 1000))


def test_double_range_histogram(layouts: Any) -> None:
    body = {"h": {"histogram": {"field": "d", "interval": 0.5, "min_doc_count": 1}}}
    assert got_numeric(both(layouts, body)["h"]) == numeric_expected("d", 0.5)


def test_sub_aggregations_per_bucket(layouts: Any) -> None:
    body = {"h": {"histogram": {"field": "s", "interval": 10, "min_doc_count": 1},
                  "aggs": {"t": {"terms": {"field": "tag"}}}}}  # fmt: skip
    result = both(layouts, body)["h"]
    expected: dict[float, Counter[str]] = defaultdict(Counter)
    for doc in DOCS:
        for lo, hi in doc.get("s", []):
            for i in range(math.floor(lo / 10), math.floor(hi / 10) + 1):
                expected[i * 10.0][doc["tag"]] += 1
    assert [b["key"] for b in result["buckets"]] == sorted(expected)
    for bucket in result["buckets"]:
        tags = {t["key"]: t["doc_count"] for t in bucket["t"]["buckets"]}
        assert tags == dict(expected[bucket["key"]])
        assert bucket["doc_count"] == sum(tags.values())


@pytest.mark.parametrize("tz", ["UTC", "Europe/Paris", "America/New_York"])
def test_date_range_calendar_month_in_time_zone(layouts: Any, tz: str) -> None:
    hard = (T0 - 40 * DAY, T0 + 600 * DAY)
    body = {"h": {"date_histogram": {"field": "dr", "calendar_interval": "month", "time_zone": tz,
                                     "min_doc_count": 1, "hard_bounds": {"min": hard[0], "max": hard[1]}}}}  # fmt: skip
    result = both(layouts, body)["h"]
    assert [(b["key"], b["doc_count"]) for b in result["buckets"]] == month_expected(ZoneInfo(tz), hard)


def test_date_range_fixed_interval(layouts: Any) -> None:
    hard = (T0, T0 + 450 * DAY)
    body = {"h": {"date_histogram": {"field": "dr", "fixed_interval": "7d", "min_doc_count": 0,
                                     "hard_bounds": {"min": hard[0], "max": hard[1]}}}}  # fmt: skip
    result = both(layouts, body)["h"]
    expected = numeric_expected("dr", 7 * DAY, hard=hard, min_doc_count=0)
    assert [(b["key"], b["doc_count"]) for b in result["buckets"]] == [(int(k), n) for k, n in expected]
    assert result["buckets"][0]["key_as_string"].endswith("T00:00:00.000Z")


def test_date_range_without_hard_bounds_is_too_many_buckets(layouts: Any) -> None:
    body = {"h": {"date_histogram": {"field": "dr", "calendar_interval": "day"}}}
    with pytest.raises(TooManyBuckets, match="too many buckets"):
        both(layouts, body)


def test_date_histogram_on_numeric_range_fails(layouts: Any) -> None:
    body = {"h": {"date_histogram": {"field": "r", "calendar_interval": "day"}}}
    with pytest.raises(IllegalArgument, match="Expected date range type"):
        both(layouts, body)


def test_es_yaml_scenario_date_range_hard_bounds(tmp_path: Path) -> None:
    # search.aggregation/360_date_histogram.yml "date_histogram on range with hard bounds", on 5 shards
    def ms(text: str) -> int:
        return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)

    ranges = [
        (ms("2016-01-01"), ms("2016-01-02") - 1),
        (ms("2016-01-02"), ms("2016-01-03") - 1),
        (ms("2016-02-01"), ms("2016-02-02") - 1),
        (ms("2016-03-01"), ms("2016-03-02") - 1),
        (ms("2016-04-01"), DATE_MAX),
        (DATE_MIN, ms("2016-02-01") - 1),
    ]
    docs = [{"id": f"y{i}", "tag": "a", "dr": [r]} for i, r in enumerate(ranges)] + [{"id": "y6", "tag": "a"}]
    shards = [Shard(tmp_path / f"s{k}", docs[k::5]) for k in range(5)]
    body = {"histo": {"date_histogram": {"field": "dr", "calendar_interval": "month",
                                         "hard_bounds": {"min": "2015-06-01", "max": "2016-06-01"}}}}  # fmt: skip
    buckets = run(shards, body)["histo"]["buckets"]
    assert len(buckets) == 13
    assert (buckets[0]["key_as_string"], buckets[0]["doc_count"]) == ("2015-06-01T00:00:00.000Z", 1)
    assert (buckets[8]["key_as_string"], buckets[8]["doc_count"]) == ("2016-02-01T00:00:00.000Z", 1)
    assert (buckets[12]["key_as_string"], buckets[12]["doc_count"]) == ("2016-06-01T00:00:00.000Z", 1)
    assert [b["doc_count"] for b in buckets] == [1] * 7 + [3, 1, 1, 1, 1, 1]
