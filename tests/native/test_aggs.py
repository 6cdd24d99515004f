"""Aggregations against exact answers computed independently (plain Python / numpy) over the same docs.

The same documents are indexed once into one tantivy index and once split over five (shard =
crc32(id) % 5); every exact aggregation must give the same answer on both layouts, and that answer
must equal the independently computed one.
"""

from __future__ import annotations

import math
import random
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pytest
import tantivy

import native.aggs as aggs
from native.aggs import execute_shard, finalize, merge_partials, parse_aggs
from native.aggs.sketches import HyperLogLog, hash_numbers
from native.dates import format_date
from native.errors import IllegalArgument, ParsingError, QuidditchError, ScriptingDisabled, XContentParseError
from native.fields import FieldInfo

NOW = 1_720_000_000_000
T0 = 1_672_531_200_000  # 2023-01-01T00:00:00Z
T1 = 1_704_067_200_000  # 2024-01-01T00:00:00Z

# ES path → (es_type, tantivy name). Tantivy names differ from paths on purpose.
FIELDS: dict[str, tuple[str, str]] = {
    "tag": ("keyword", "f_tag"),
    "tags": ("keyword", "f_tags"),
    "n": ("long", "f_n"),
    "price": ("double", "f_price"),
    "ts": ("date", "f_ts"),
    "flag": ("boolean", "f_flag"),
}


# -- test harness: schema, resolver, indexes -------------------------------------------------------


class Resolver:
    """A minimal FieldResolver over a fixed set of fields present in ``schema``."""

    def __init__(self, schema: tantivy.Schema, paths: Iterable[str]) -> None:
        self._schema = schema
        self._fields = {p: FieldInfo(p, FIELDS[p][0], FIELDS[p][1]) for p in paths}

    @property
    def schema(self) -> tantivy.Schema:
        return self._schema

    def field(self, path: str) -> FieldInfo | None:
        return self._fields.get(path)

    def expand(self, pattern: str) -> Sequence[FieldInfo]:
        return [f for p, f in self._fields.items() if p == pattern]

    def default_fields(self) -> Sequence[FieldInfo]:
        return list(self._fields.values())


def build_schema(paths: Iterable[str]) -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("_id", stored=True, fast=True, tokenizer_name="raw")
    sb.add_bytes_field("_source", stored=True)
    sb.add_integer_field("_seq_no", fast=True)  # as every shard schema: ``count_matches`` counts its values
    for path in paths:
        es_type, name = FIELDS[path]
        if es_type == "keyword":
            sb.add_text_field(name, fast=True, tokenizer_name="raw")
        elif es_type in ("long", "date"):
            sb.add_integer_field(name, indexed=True, fast=True)
        elif es_type == "double":
            sb.add_float_field(name, indexed=True, fast=True)
        elif es_type == "boolean":
            sb.add_boolean_field(name, indexed=True, fast=True)
    return sb.build()


class Shard:
    def __init__(self, path: Path, docs: list[dict[str, Any]], paths: Sequence[str] = tuple(FIELDS)) -> None:
        self.schema = build_schema(paths)
        path.mkdir(parents=True, exist_ok=True)
        self.index = tantivy.Index(self.schema, str(path))
        writer = self.index.writer(100_000_000, 1)
        for i, doc in enumerate(docs):
            writer.add_document(to_tantivy(doc, paths, i))
            if i and i % 4000 == 0:
                writer.commit()  # several segments
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()
        self.resolver = Resolver(self.schema, paths)

    def run(self, tree: aggs.AggTree, query: tantivy.Query | None = None) -> bytes:
        return execute_shard(
            tree,
            self.searcher,
            query or tantivy.Query.all_query(),
            self.resolver,
            now_millis=NOW,
            index_name="idx",
        )


def to_tantivy(doc: dict[str, Any], paths: Sequence[str], seq_no: int = 0) -> tantivy.Document:
    d = tantivy.Document()
    d.add_text("_id", doc["id"])
    d.add_integer("_seq_no", seq_no)
    d.add_bytes("_source", orjson.dumps(doc))
    for path in paths:
        value = doc.get(path)
        if value is None:
            continue
        es_type, name = FIELDS[path]
        for v in value if isinstance(value, list) else [value]:
            if es_type == "keyword":
                d.add_text(name, v)
            elif es_type in ("long", "date"):
                d.add_integer(name, int(v))
            elif es_type == "double":
                d.add_float(name, float(v))
            else:
                d.add_boolean(name, bool(v))
    return d


def shard_of(doc_id: str, n: int = 5) -> int:
    return zlib.crc32(doc_id.encode()) % n


def make_docs(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    tags = [f"tag{i:02d}" for i in range(40)]
    weights = [1.0 / (i + 1) for i in range(40)]
    docs = []
    for i in range(count):
        doc: dict[str, Any] = {"id": f"d{i}"}
        if rng.random() < 0.95:
            doc["tag"] = rng.choices(tags, weights)[0]
        doc["tags"] = rng.sample(["a", "b", "c", "d", "e", "f"], rng.randint(0, 3))
        if rng.random() < 0.97:
            doc["n"] = rng.randint(-50, 949)
        if rng.random() < 0.9:
            doc["price"] = round(rng.lognormvariate(3, 1), 2)
        if rng.random() < 0.98:
            doc["ts"] = rng.randint(T0, T1 - 1)
        doc["flag"] = rng.random() < 0.3
        docs.append(doc)
    return docs


class Layouts:
    """One index holding every doc, and five indexes splitting them."""

    def __init__(self, root: Path, docs: list[dict[str, Any]]) -> None:
        self.docs = docs
        self.single = Shard(root / "single", docs)
        parts: list[list[dict[str, Any]]] = [[] for _ in range(5)]
        for doc in docs:
            parts[shard_of(doc["id"])].append(doc)
        self.shards = [Shard(root / f"s{i}", part) for i, part in enumerate(parts)]

    def both(self, body: dict[str, Any], query: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        tree = parse_aggs(body)
        one = finalize(tree, merge_partials(tree, [self.single.run(tree, query and query(self.single))]))
        parts = [s.run(tree, query and query(s)) for s in self.shards]
        # merge incrementally and in a different grouping: associativity is part of the contract
        left = merge_partials(tree, parts[:2])
        right = merge_partials(tree, [parts[4], merge_partials(tree, parts[2:4])])
        five = finalize(tree, merge_partials(tree, [left, right]))
        return one, five

    def same(self, body: dict[str, Any], query: Any = None) -> dict[str, Any]:
        one, five = self.both(body, query)
        assert_close(one, five)
        return five


def assert_close(a: Any, b: Any, rel: float = 1e-9, path: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_close(a[k], b[k], rel, f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: {len(a)} != {len(b) if isinstance(b, list) else b}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, rel, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float | int) and not isinstance(b, bool):
        assert b == pytest.approx(a, rel=rel, abs=1e-9), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Layouts:
    return Layouts(tmp_path_factory.mktemp("aggs"), make_docs(12_000))


def values(docs: list[dict[str, Any]], path: str) -> list[Any]:
    return [d[path] for d in docs if d.get(path) is not None]


# -- API surface & parsing -------------------------------------------------------------------------


def test_public_api_is_complete() -> None:
    assert {"parse_aggs", "execute_shard", "merge_partials", "finalize", "AggTree"} <= set(aggs.__all__)
    assert all(hasattr(aggs, name) for name in aggs.__all__)


@pytest.mark.parametrize(
    ("body", "error", "fragment"),
    [
        (
            {"a": {"termz": {"field": "x"}}},
            ParsingError,
            "Unknown aggregation type [termz] did you mean [terms]?",
        ),
        ({"a": {"avg": {"script": {"source": "1"}}}}, ScriptingDisabled, "cannot execute [inline] scripts"),
        ({"a": {"avg": {}}}, IllegalArgument, "Required one of fields [field, script]"),
        (
            {"a": {"avg": {"field": "n"}, "aggs": {"b": {"max": {"field": "n"}}}}},
            ParsingError,
            "cannot accept",
        ),
        ({"a": {"terms": {"field": "x", "bogus": 1}}}, XContentParseError, "[terms] unknown field [bogus]"),
        ({"a": {}}, ParsingError, "Missing definition for aggregation [a]"),
        ({"a": {"avg": {"field": "n"}, "max": {"field": "n"}}}, ParsingError, "Found two aggregation type"),
        ({"a[0]": {"avg": {"field": "n"}}}, ParsingError, "Invalid aggregation name [a[0]]"),
        ({"a": {"histogram": {"field": "n", "interval": 0}}}, IllegalArgument, "[interval] must be >0"),
        ({"a": {"date_histogram": {"field": "ts"}}}, IllegalArgument, "Required one of fields"),
        ({"a": {"date_histogram": {"field": "ts", "calendar_interval": "2M"}}}, IllegalArgument, "calendar"),
        ({"a": {"top_hits": {"size": 101}}}, IllegalArgument, "Top hits result window is too large"),
    ],
)
def test_parse_errors(body: dict[str, Any], error: type[QuidditchError], fragment: str) -> None:
    with pytest.raises(error) as info:
        parse_aggs(body)
    assert fragment in info.value.reason
    assert info.value.status == 400


def test_partials_are_json_bytes_not_pickle(data: Layouts) -> None:
    tree = parse_aggs({"t": {"terms": {"field": "tag"}, "aggs": {"p": {"percentiles": {"field": "price"}}}}})
    raw = data.shards[0].run(tree)
    assert isinstance(raw, bytes)
    assert isinstance(orjson.loads(raw), dict)


# -- terms -----------------------------------------------------------------------------------------


def expected_terms(counter: Counter[Any], size: int) -> tuple[list[tuple[Any, int]], int]:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:size], sum(n for _, n in ranked[size:])


def test_terms_keyword_exact(data: Layouts) -> None:
    res = data.same({"t": {"terms": {"field": "tag", "size": 10, "shard_size": 100}, "meta": {"x": 1}}})["t"]
    top, other = expected_terms(Counter(values(data.docs, "tag")), 10)
    assert res["meta"] == {"x": 1}
    assert [(b["key"], b["doc_count"]) for b in res["buckets"]] == top
    assert res["sum_other_doc_count"] == other
    assert res["doc_count_error_upper_bound"] == 0


def test_terms_multivalued_counts_each_distinct_value_once(data: Layouts) -> None:
    res = data.same({"t": {"terms": {"field": "tags"}}})["t"]
    counter = Counter(v for d in data.docs for v in set(d["tags"]))
    assert {b["key"]: b["doc_count"] for b in res["buckets"]} == dict(counter)
    assert res["sum_other_doc_count"] == 0


def test_terms_numeric_boolean_and_orders(data: Layouts) -> None:
    res = data.same({
        "n": {"terms": {"field": "n", "size": 5, "shard_size": 2000}},
        "k": {"terms": {"field": "tag", "size": 3, "order": {"_key": "desc"}}},
        "f": {"terms": {"field": "flag"}},
        "inc": {"terms": {"field": "tag", "include": "tag0[0-3]", "exclude": ["tag01"]}},
    })  # fmt: skip
    top, other = expected_terms(Counter(values(data.docs, "n")), 5)
    assert [(b["key"], b["doc_count"]) for b in res["n"]["buckets"]] == top
    assert all(isinstance(b["key"], int) for b in res["n"]["buckets"])
    assert res["n"]["sum_other_doc_count"] == other
    tags = Counter(values(data.docs, "tag"))
    assert [b["key"] for b in res["k"]["buckets"]] == sorted(tags, reverse=True)[:3]
    flags = Counter(d["flag"] for d in data.docs)
    assert [(b["key"], b["key_as_string"], b["doc_count"]) for b in res["f"]["buckets"]] == [
        (0, "false", flags[False]), (1, "true", flags[True]),
    ]  # fmt: skip
    assert sorted(b["key"] for b in res["inc"]["buckets"]) == ["tag00", "tag02", "tag03"]


def test_terms_order_by_sub_metric_and_missing(data: Layouts) -> None:
    res = data.same({
        "t": {"terms": {"field": "tag", "size": 4, "shard_size": 100, "order": {"mx": "desc"}},
              "aggs": {"mx": {"avg": {"field": "n"}}}},
        "m": {"terms": {"field": "tag", "missing": "NONE", "size": 100}},
    })  # fmt: skip
    by_tag: dict[str, list[int]] = defaultdict(list)
    for d in data.docs:
        if d.get("tag") and d.get("n") is not None:
            by_tag[d["tag"]].append(d["n"])
    ranked = sorted(by_tag, key=lambda t: (-float(np.mean(by_tag[t])), t))[:4]
    assert [b["key"] for b in res["t"]["buckets"]] == ranked
    for b in res["t"]["buckets"]:
        assert b["mx"]["value"] == pytest.approx(np.mean(by_tag[b["key"]]))
    missing = {b["key"]: b["doc_count"] for b in res["m"]["buckets"]}
    assert missing["NONE"] == sum(1 for d in data.docs if d.get("tag") is None)


def test_terms_error_bounds_on_skewed_shards(tmp_path: Path) -> None:
    # Term counts per shard, laid out so that small shard_size lists miss globally-large terms.
    layout = [
        {"a": 25, "b": 18, "c": 6, "d": 5, "e": 1},
        {"a": 30, "c": 20, "b": 4, "f": 3},
        {"d": 45, "b": 10, "a": 2, "c": 1, "g": 1},
    ]
    shards = []
    for s, counts in enumerate(layout):
        docs = [{"id": f"{s}-{t}-{i}", "tag": t} for t, n in counts.items() for i in range(n)]
        shards.append(Shard(tmp_path / f"s{s}", docs, ("tag",)))
    tree = parse_aggs({"t": {"terms": {"field": "tag", "size": 2, "shard_size": 2,
                                       "show_term_doc_count_error": True}}})  # fmt: skip
    res = finalize(tree, merge_partials(tree, [s.run(tree) for s in shards]))["t"]
    # Exactly what ES computes: each shard returns its top 2 and its last returned count is its error.
    shard_tops = [sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:2] for c in layout]
    errors = [top[-1][1] for top in shard_tops]  # every shard had more than 2 terms
    merged: Counter[str] = Counter()
    for top in shard_tops:
        merged.update(dict(top))
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(sum(c.values()) for c in layout)
    assert [(b["key"], b["doc_count"]) for b in res["buckets"]] == ranked[:2]
    assert res["doc_count_error_upper_bound"] == sum(errors)
    assert res["sum_other_doc_count"] == total - sum(n for _, n in ranked[:2])
    for b in res["buckets"]:
        expected_err = sum(e for top, e in zip(shard_tops, errors, strict=True) if b["key"] not in dict(top))
        assert b["doc_count_error_upper_bound"] == expected_err
    # the true count never exceeds doc_count + the term's error bound
    true = Counter()
    for c in layout:
        true.update(c)
    for b in res["buckets"]:
        assert b["doc_count"] <= true[b["key"]] <= b["doc_count"] + b["doc_count_error_upper_bound"]
    # a single shard is exact: error 0
    one = finalize(tree, merge_partials(tree, [shards[0].run(tree)]))["t"]
    assert one["doc_count_error_upper_bound"] == 0


def test_terms_on_one_segment_with_many_tied_terms(tmp_path: Path) -> None:
    # One segment is the whole shard (tantivy is asked for just the top terms): ties at the cut still
    # follow ES's key order, the other count and the error bound are exact.
    counts = {"big": 10, **{f"t{i:02d}": 2 for i in range(60)}, **{f"u{i:02d}": 1 for i in range(30)}}
    docs = [{"id": f"{t}-{i}", "tag": t} for t, n in counts.items() for i in range(n)]
    random.Random(3).shuffle(docs)
    shard = Shard(tmp_path / "one", docs, ("tag",))  # fewer than 4,000 docs: one commit, one segment
    assert shard.searcher.num_segments == 1
    for size in (1, 3, 25):
        tree = parse_aggs({"t": {"terms": {"field": "tag", "size": size, "shard_size": size}}})
        res = finalize(tree, merge_partials(tree, [shard.run(tree)]))["t"]
        top, other = expected_terms(Counter(d["tag"] for d in docs), size)
        assert [(b["key"], b["doc_count"]) for b in res["buckets"]] == top
        assert res["sum_other_doc_count"] == other
        assert res["doc_count_error_upper_bound"] == 0


@pytest.mark.parametrize("n_docs", [900, 9_000])  # one segment; three (a commit every 4,000 documents)
def test_numeric_terms_with_many_tied_counts(tmp_path: Path, n_docs: int) -> None:
    # Numeric terms take tantivy's top terms too: ties at the cut follow ES's key order, on one segment
    # and across segments, for count and key orders.
    rng = random.Random(n_docs)
    docs = [{"id": str(i), "n": rng.choice([7, 3, 11]) if i % 10 == 0 else rng.randint(0, 299)} for i in range(n_docs)]
    shard = Shard(tmp_path / "numeric", docs, ("n",))
    counter = Counter(d["n"] for d in docs)
    for size in (1, 3, 25):
        for order, ranked in (
            (None, sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))),
            ({"_key": "asc"}, sorted(counter.items())),
            ({"_key": "desc"}, sorted(counter.items(), reverse=True)),
        ):
            body: dict[str, Any] = {"field": "n", "size": size, "shard_size": size}
            if order:
                body["order"] = order
            tree = parse_aggs({"t": {"terms": body}})
            res = finalize(tree, merge_partials(tree, [shard.run(tree)]))["t"]
            assert [(b["key"], b["doc_count"]) for b in res["buckets"]] == ranked[:size]
            assert res["sum_other_doc_count"] == sum(n for _, n in ranked[size:])


# -- histograms ------------------------------------------------------------------------------------


def test_histogram_fills_gaps_and_extended_bounds(data: Layouts) -> None:
    res = data.same({
        "h": {"histogram": {"field": "price", "interval": 25}},
        "x": {"histogram": {"field": "n", "interval": 100, "offset": 10,
                            "extended_bounds": {"min": -300, "max": 1500}}},
        "k": {"histogram": {"field": "n", "interval": 250, "keyed": True, "min_doc_count": 1}},
    })  # fmt: skip
    prices = np.array(values(data.docs, "price"))
    keys = np.floor(prices / 25) * 25
    expected = Counter(keys.tolist())
    got = {b["key"]: b["doc_count"] for b in res["h"]["buckets"]}
    assert {k: v for k, v in got.items() if v} == expected
    assert sorted(got) == [25.0 * i for i in range(int(keys.min() // 25), int(keys.max() // 25) + 1)]
    ns = np.array(values(data.docs, "n"))
    exp_x = Counter((np.floor((ns - 10) / 100) * 100 + 10).tolist())
    got_x = {b["key"]: b["doc_count"] for b in res["x"]["buckets"]}
    assert min(got_x) == -390.0 and max(got_x) == 1410.0  # the buckets holding -300 and 1500
    assert {k: v for k, v in got_x.items() if v} == exp_x
    assert set(res["k"]["buckets"]) == {"-250.0", "0.0", "250.0", "500.0", "750.0"}


def _month_start(ms: int, tz: str) -> int:
    local = datetime.fromtimestamp(ms / 1000, ZoneInfo(tz))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)


def test_date_histogram_fixed_and_calendar_month_in_time_zone(data: Layouts) -> None:
    res = data.same({
        "d": {"date_histogram": {"field": "ts", "fixed_interval": "7d"}},
        "m": {"date_histogram": {"field": "ts", "calendar_interval": "month", "time_zone": "Europe/Paris",
                                 "format": "yyyy-MM-dd"}},
        "mk": {"date_histogram": {"field": "ts", "calendar_interval": "1M", "keyed": True}},
    })  # fmt: skip
    ts = np.array(values(data.docs, "ts"), dtype=np.int64)
    week = 7 * 86_400_000
    assert {b["key"]: b["doc_count"] for b in res["d"]["buckets"] if b["doc_count"]} == Counter(
        (ts // week * week).tolist()
    )
    assert res["d"]["buckets"][0]["key_as_string"].endswith("T00:00:00.000Z")
    paris = Counter(_month_start(int(t), "Europe/Paris") for t in ts)
    got = {b["key"]: b["doc_count"] for b in res["m"]["buckets"]}
    assert got == paris
    first = res["m"]["buckets"][0]
    assert first["key"] == 1_672_527_600_000  # 2023-01-01T00:00 Paris is 2022-12-31T23:00Z
    assert first["key_as_string"] == "2023-01-01"
    assert res["m"]["buckets"][6]["key"] == 1_688_162_400_000  # July starts at 22:00Z (summer time)
    utc_months = Counter(_month_start(int(t), "UTC") for t in ts)
    assert len(res["mk"]["buckets"]) == 12
    assert {b["key"]: b["doc_count"] for b in res["mk"]["buckets"].values()} == utc_months
    assert "2023-03-01T00:00:00.000Z" in res["mk"]["buckets"]


def test_date_histogram_extended_bounds_with_date_math_and_strings(data: Layouts) -> None:
    res = data.same({"d": {"date_histogram": {
        "field": "ts", "calendar_interval": "month",
        "extended_bounds": {"min": "2022-10-15", "max": "2023-01-01||+1y+2M"},
    }}})["d"]  # fmt: skip
    keys = [b["key_as_string"] for b in res["buckets"]]
    assert keys[0] == "2022-10-01T00:00:00.000Z"
    assert keys[-1] == "2024-03-01T00:00:00.000Z"
    assert len(keys) == 18
    assert sum(b["doc_count"] for b in res["buckets"]) == len(values(data.docs, "ts"))


# -- ranges & filters ------------------------------------------------------------------------------


def test_range_and_date_range(data: Layouts) -> None:
    res = data.same({
        "r": {"range": {"field": "price",
                        "ranges": [{"to": 10}, {"from": 10, "to": 50}, {"from": 50, "key": "big"}]}},
        "dr": {"date_range": {"field": "ts", "format": "yyyy-MM", "ranges": [
            {"from": "2023-01", "to": "2023-07"}, {"from": "2023-07"}]}},
        "k": {"range": {"field": "n", "keyed": True, "ranges": [{"from": 0, "to": 100}]}},
    })  # fmt: skip
    prices = np.array(values(data.docs, "price"))
    b = res["r"]["buckets"]
    assert [x["key"] for x in b] == ["*-10.0", "10.0-50.0", "big"]
    assert [x["doc_count"] for x in b] == [
        int((prices < 10).sum()), int(((prices >= 10) & (prices < 50)).sum()), int((prices >= 50).sum()),
    ]  # fmt: skip
    assert b[1]["from"] == 10.0 and b[1]["to"] == 50.0 and "from" not in b[0]
    ts = np.array(values(data.docs, "ts"))
    mid = 1_688_169_600_000  # 2023-07-01
    dr = res["dr"]["buckets"]
    assert [x["key"] for x in dr] == ["2023-01-2023-07", "2023-07-*"]
    assert dr[0]["from"] == float(T0) and dr[0]["to_as_string"] == "2023-07"
    assert [x["doc_count"] for x in dr] == [int(((ts >= T0) & (ts < mid)).sum()), int((ts >= mid).sum())]
    ns = np.array(values(data.docs, "n"))
    assert res["k"]["buckets"]["0.0-100.0"]["doc_count"] == int(((ns >= 0) & (ns < 100)).sum())


def test_filters_filter_missing_global(data: Layouts) -> None:
    res = data.same(
        {
            "f": {"filters": {"filters": {"cheap": {"range": {"price": {"lt": 10}}},
                                          "t0": {"term": {"tag": "tag00"}}},
                              "other_bucket_key": "rest"}},
            "anon": {"filters": {"filters": [{"term": {"flag": True}}]}},
            "one": {"filter": {"term": {"tag": "tag01"}}, "aggs": {"s": {"sum": {"field": "n"}}}},
            "miss": {"missing": {"field": "price"}},
            "g": {"global": {}, "aggs": {"c": {"value_count": {"field": "n"}}}},
        },
        query=lambda s: tantivy.Query.range_query(s.schema, "f_n", tantivy.FieldType.Integer, 0, 499),
    )  # fmt: skip
    docs = [d for d in data.docs if d.get("n") is not None and 0 <= d["n"] <= 499]
    cheap = [d for d in docs if d.get("price") is not None and d["price"] < 10]
    t0 = [d for d in docs if d.get("tag") == "tag00"]
    rest = [d for d in docs if d not in cheap and d not in t0]
    assert res["f"]["buckets"] == {"cheap": {"doc_count": len(cheap)}, "t0": {"doc_count": len(t0)},
                                   "rest": {"doc_count": len(rest)}}  # fmt: skip
    assert res["anon"]["buckets"] == [{"doc_count": sum(1 for d in docs if d["flag"])}]
    t1 = [d for d in docs if d.get("tag") == "tag01"]
    assert res["one"] == {"doc_count": len(t1), "s": {"value": float(sum(d["n"] for d in t1))}}
    assert res["miss"]["doc_count"] == sum(1 for d in docs if d.get("price") is None)
    assert res["g"]["doc_count"] == len(data.docs)
    assert res["g"]["c"]["value"] == len(values(data.docs, "n"))


# -- metrics ---------------------------------------------------------------------------------------


def test_numeric_metrics_exact(data: Layouts) -> None:
    res = data.same({
        "s": {"stats": {"field": "price"}},
        "e": {"extended_stats": {"field": "n", "sigma": 3}},
        "avg": {"avg": {"field": "price"}}, "min": {"min": {"field": "n"}},
        "max": {"max": {"field": "price"}},
        "sum": {"sum": {"field": "n"}}, "vc": {"value_count": {"field": "price"}},
        "vk": {"value_count": {"field": "tags"}},
        "dmax": {"max": {"field": "ts"}},
    })  # fmt: skip
    p = np.array(values(data.docs, "price"))
    n = np.array(values(data.docs, "n"), dtype=np.float64)
    assert res["s"]["count"] == p.size
    assert res["s"]["sum"] == pytest.approx(p.sum())
    assert res["s"]["avg"] == pytest.approx(p.mean())
    assert (res["s"]["min"], res["s"]["max"]) == (p.min(), p.max())
    e = res["e"]
    assert e["variance"] == pytest.approx(n.var())
    assert e["std_deviation"] == pytest.approx(n.std())
    assert e["variance_sampling"] == pytest.approx(n.var(ddof=1))
    assert e["sum_of_squares"] == pytest.approx((n * n).sum())
    assert e["std_deviation_bounds"]["upper"] == pytest.approx(n.mean() + 3 * n.std())
    assert res["avg"]["value"] == pytest.approx(p.mean())
    assert res["min"]["value"] == n.min() and res["max"]["value"] == p.max()
    assert res["sum"]["value"] == n.sum()
    assert res["vc"]["value"] == p.size
    assert res["vk"]["value"] == sum(len(d["tags"]) for d in data.docs)
    assert res["dmax"]["value"] == float(max(values(data.docs, "ts")))
    assert res["dmax"]["value_as_string"].startswith("2023-12-31T")


def test_metrics_of_no_docs_are_null(data: Layouts) -> None:
    res = data.same(
        {"a": {"avg": {"field": "n"}}, "mn": {"min": {"field": "n"}}, "mx": {"max": {"field": "n"}},
         "s": {"sum": {"field": "n"}}, "st": {"stats": {"field": "n"}}, "p": {"percentiles": {"field": "n"}},
         "c": {"cardinality": {"field": "tag"}}, "t": {"terms": {"field": "tag"}},
         "h": {"histogram": {"field": "n", "interval": 10}}},
        query=lambda s: tantivy.Query.term_query(s.schema, "f_tag", "no-such-tag"),
    )  # fmt: skip
    assert res["a"] == {"value": None} and res["mn"] == {"value": None} and res["mx"] == {"value": None}
    assert res["s"] == {"value": 0.0}
    assert res["st"] == {"count": 0, "min": None, "max": None, "avg": None, "sum": 0.0}
    assert all(v is None for v in res["p"]["values"].values())
    assert res["c"] == {"value": 0}
    assert res["t"] == {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": []}
    assert res["h"] == {"buckets": []}


def test_unmapped_field_on_some_shards(tmp_path: Path, data: Layouts) -> None:
    # shard 0 has no "price" or "tag" field in its schema; the others do.
    docs = data.docs[:3000]
    lacking = Shard(tmp_path / "lacking", docs[:1000], ("n", "ts", "flag", "tags"))
    full = Shard(tmp_path / "full", docs[1000:], tuple(FIELDS))
    body = {"t": {"terms": {"field": "tag"}, "aggs": {"a": {"avg": {"field": "price"}}}},
            "a": {"avg": {"field": "price"}}, "h": {"histogram": {"field": "price", "interval": 100}},
            "c": {"cardinality": {"field": "tag"}}, "m": {"missing": {"field": "tag"}}}  # fmt: skip
    tree = parse_aggs(body)
    alone = finalize(tree, merge_partials(tree, [lacking.run(tree)]))
    assert alone["t"]["buckets"] == [] and alone["a"] == {"value": None} and alone["h"] == {"buckets": []}
    assert alone["m"]["doc_count"] == 1000 and alone["c"] == {"value": 0}
    both = finalize(tree, merge_partials(tree, [lacking.run(tree), full.run(tree)]))
    rest = docs[1000:]
    top, _ = expected_terms(Counter(values(rest, "tag")), 10)
    assert [(b["key"], b["doc_count"]) for b in both["t"]["buckets"]] == top
    assert both["a"]["value"] == pytest.approx(np.mean(values(rest, "price")))
    assert both["m"]["doc_count"] == 1000 + sum(1 for d in rest if d.get("tag") is None)


# -- nesting & top_hits ----------------------------------------------------------------------------


def test_three_levels_of_nesting(data: Layouts) -> None:
    res = data.same({"t": {"terms": {"field": "tag", "size": 3, "shard_size": 100}, "aggs": {
        "m": {"date_histogram": {"field": "ts", "calendar_interval": "quarter", "min_doc_count": 1}, "aggs": {
            "r": {"range": {"field": "price", "ranges": [{"to": 20}, {"from": 20}]}, "aggs": {
                "s": {"stats": {"field": "n"}},
                "c": {"cardinality": {"field": "tags"}}}}}}}}})["t"]  # fmt: skip
    top, _ = expected_terms(Counter(values(data.docs, "tag")), 3)
    assert [b["key"] for b in res["buckets"]] == [k for k, _ in top]
    for tb in res["buckets"]:
        in_tag = [d for d in data.docs if d.get("tag") == tb["key"]]
        for qb in tb["m"]["buckets"]:
            in_q = [d for d in in_tag if d.get("ts") is not None and _quarter(d["ts"]) == qb["key"]]
            assert qb["doc_count"] == len(in_q) > 0
            lo, hi = qb["r"]["buckets"]
            for bucket, pred in ((lo, lambda p: p < 20), (hi, lambda p: p >= 20)):
                docs = [d for d in in_q if d.get("price") is not None and pred(d["price"])]
                assert bucket["doc_count"] == len(docs)
                ns = [d["n"] for d in docs if d.get("n") is not None]
                assert bucket["s"]["count"] == len(ns)
                assert bucket["s"]["sum"] == float(sum(ns))
                assert bucket["s"]["max"] == (float(max(ns)) if ns else None)
                assert bucket["c"]["value"] == len({t for d in docs for t in d["tags"]})


def _quarter(ms: int) -> int:
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return int(datetime(dt.year, (dt.month - 1) // 3 * 3 + 1, 1, tzinfo=UTC).timestamp() * 1000)


def test_top_hits_sorted_by_field_under_terms(data: Layouts) -> None:
    one, five = data.both({"t": {"terms": {"field": "tag", "size": 2, "shard_size": 50}, "aggs": {
        "h": {"top_hits": {"size": 3, "sort": [{"n": {"order": "desc"}}], "_source": ["n", "tag"]}},
        "s": {"top_hits": {"size": 1}}}}})  # fmt: skip
    # equal sort values may tie-break differently per layout (as in ES); compare the values only
    sorts = [[h["sort"] for h in b["h"]["hits"]["hits"]] for b in one["t"]["buckets"]]
    assert sorts == [[h["sort"] for h in b["h"]["hits"]["hits"]] for b in five["t"]["buckets"]]
    for b in five["t"]["buckets"]:
        docs = [d for d in data.docs if d.get("tag") == b["key"] and d.get("n") is not None]
        best = sorted(docs, key=lambda d: -d["n"])[:3]
        hits = b["h"]["hits"]
        assert hits["total"] == {"value": b["doc_count"], "relation": "eq"}
        assert [h["sort"][0] for h in hits["hits"]] == [d["n"] for d in best]
        assert all(h["_index"] == "idx" and set(h["_source"]) <= {"n", "tag"} for h in hits["hits"])
        assert [h["_source"]["n"] for h in hits["hits"]] == [d["n"] for d in best]
        assert len(b["s"]["hits"]["hits"]) == 1 and b["s"]["hits"]["max_score"] is not None


# -- sketches --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> list[Shard]:
    root = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(3)
    prices = rng.lognormal(5, 1.2, 100_000)
    ids = rng.permutation(100_000)
    parts: list[list[dict[str, Any]]] = [[] for _ in range(5)]
    for i in range(100_000):
        doc = {"id": f"b{i}", "price": float(prices[i]), "n": int(ids[i]), "tag": f"k{ids[i]}",
               "ts": T0 + int(ids[i]) * 1000}  # fmt: skip
        parts[shard_of(doc["id"])].append(doc)
    return [Shard(root / f"s{i}", part, ("price", "n", "tag", "ts")) for i, part in enumerate(parts)]


def run_big(shards: list[Shard], body: dict[str, Any]) -> dict[str, Any]:
    tree = parse_aggs(body)
    return finalize(tree, merge_partials(tree, [s.run(tree) for s in shards]))


def test_percentiles_within_one_rank_on_100k_values(big: list[Shard]) -> None:
    res = run_big(big, {
        "p": {"percentiles": {"field": "price", "percents": [0.5, 1, 5, 25, 50, 75, 95, 99, 99.9]}},
        "d": {"percentiles": {"field": "ts"}},
        "l": {"percentiles": {"field": "price", "keyed": False, "percents": [50]}},
        "r": {"percentile_ranks": {"field": "price", "values": [100, 1000]}},
    })  # fmt: skip
    prices = np.sort(np.concatenate([[d for d in s.searcher.fast_field_values("f_price", _all(s))] for s in big]))
    for key, value in res["p"]["values"].items():
        rank = np.searchsorted(prices, value) / prices.size * 100
        assert abs(rank - float(key)) <= 1.0, (key, value, rank)
    ts = np.arange(100_000) * 1000 + T0
    dates = {k: v for k, v in res["d"]["values"].items() if not k.endswith("_as_string")}
    for key, value in dates.items():  # epoch-millis dates: a narrow range of large numbers
        assert abs(np.searchsorted(ts, value) / ts.size * 100 - float(key)) <= 1.0
        # a date field's percentiles also print as dates (ES: the field's DocValueFormat)
        assert res["d"]["values"][f"{key}_as_string"] == format_date(int(value), "strict_date_optional_time")
    assert list(dates) == ["1.0", "5.0", "25.0", "50.0", "75.0", "95.0", "99.0"]
    assert res["l"]["values"][0]["key"] == 50.0
    assert res["l"]["values"][0]["value"] == pytest.approx(np.median(prices), rel=0.02)
    for key, rank in res["r"]["values"].items():
        assert abs(rank - np.searchsorted(prices, float(key)) / prices.size * 100) <= 1.0


def _all(shard: Shard) -> list[tantivy.DocAddress]:
    return [a for _, a in shard.searcher.search(tantivy.Query.all_query(), shard.searcher.num_docs).hits]


def test_cardinality_100k_keyword_and_numeric_and_1k(big: list[Shard]) -> None:
    res = run_big(big, {
        "k": {"cardinality": {"field": "tag"}},
        "n": {"cardinality": {"field": "n"}},
        "small": {"filter": {"range": {"n": {"lt": 1000}}}, "aggs": {"c": {"cardinality": {"field": "tag"}}}},
    })  # fmt: skip
    assert abs(res["k"]["value"] - 100_000) / 100_000 < 0.02
    assert abs(res["n"]["value"] - 100_000) / 100_000 < 0.02
    assert res["small"]["doc_count"] == 1000
    assert abs(res["small"]["c"]["value"] - 1000) / 1000 < 0.02


def test_cardinality_sketch_1m_distinct_merged_over_wire() -> None:
    rng = np.random.default_rng(11)
    vals = rng.permutation(np.arange(1_000_000, dtype=np.int64) * 7919)
    sketches = []
    for part in np.array_split(vals, 5):
        sketch = HyperLogLog(3000)
        sketch.add_hashes(hash_numbers(part, integral=True))
        sketches.append(orjson.loads(orjson.dumps(sketch.to_wire())))
    merged = HyperLogLog.from_wire(sketches[0])
    for wire in sketches[1:]:
        merged = merged.merge(HyperLogLog.from_wire(wire))
    assert abs(merged.estimate() - 1_000_000) / 1_000_000 < 0.02
    # duplicates across shards do not inflate the count
    again = merged.merge(HyperLogLog.from_wire(sketches[0]))
    assert again.estimate() == merged.estimate()


@pytest.mark.parametrize("distinct", [50, 2_999, 5_000, 20_000, 60_000])
def test_cardinality_sketch_accuracy_across_the_exact_to_hll_switch(distinct: int) -> None:
    sketch = HyperLogLog(3000)
    sketch.add_hashes(hash_numbers(np.arange(distinct, dtype=np.int64), integral=True))
    assert abs(sketch.estimate() - distinct) / distinct < 0.02


def test_percentiles_merge_is_order_independent(big: list[Shard]) -> None:
    tree = parse_aggs({"p": {"percentiles": {"field": "price", "percents": [50, 99]}}})
    parts = [s.run(tree) for s in big]
    a = finalize(tree, merge_partials(tree, parts))["p"]["values"]
    b = finalize(tree, merge_partials(tree, [merge_partials(tree, parts[3:]), merge_partials(tree, parts[:3])]))
    for k, v in a.items():
        assert b["p"]["values"][k] == pytest.approx(v, rel=0.01)


def test_histogram_on_date_as_numbers_and_math_sanity(data: Layouts) -> None:
    res = data.same({"h": {"histogram": {"field": "ts", "interval": 86_400_000 * 30, "min_doc_count": 1}}})
    ts = np.array(values(data.docs, "ts"), dtype=np.float64)
    interval = 86_400_000 * 30
    assert {b["key"]: b["doc_count"] for b in res["h"]["buckets"]} == Counter(
        (np.floor(ts / interval) * interval).tolist()
    )
    assert all(math.isfinite(b["key"]) for b in res["h"]["buckets"])


def test_histogram_metric_children_exact_in_bucket_pass(data: Layouts) -> None:
    # stats-family children are computed inside the histogram's own pass; results must stay exact
    res = data.same({
        "m": {"date_histogram": {"field": "ts", "calendar_interval": "month", "time_zone": "Europe/Paris"},
              "aggs": {"s": {"stats": {"field": "price"}}, "a": {"avg": {"field": "n"}},
                       "u": {"max": {"field": "unmapped"}}}},
        "w": {"date_histogram": {"field": "ts", "fixed_interval": "30d"}, "aggs": {"mx": {"max": {"field": "n"}}}},
        "h": {"histogram": {"field": "n", "interval": 200}, "aggs": {"e": {"extended_stats": {"field": "price"}}}},
    })  # fmt: skip
    for b in res["m"]["buckets"]:
        docs = [d for d in data.docs if d.get("ts") is not None and _month_start(d["ts"], "Europe/Paris") == b["key"]]
        prices = values(docs, "price")
        assert b["doc_count"] == len(docs)
        assert b["s"]["count"] == len(prices) and b["s"]["sum"] == pytest.approx(sum(prices))
        assert b["a"]["value"] == pytest.approx(np.mean(values(docs, "n")))
        assert b["u"] == {"value": None}
    month = 30 * 86_400_000
    for b in res["w"]["buckets"]:
        ns = [d["n"] for d in data.docs if d.get("ts") is not None and d["ts"] // month * month == b["key"]
              and d.get("n") is not None]  # fmt: skip
        assert b["mx"]["value"] == (float(max(ns)) if ns else None)
    for b in res["h"]["buckets"]:
        prices = np.array([d["price"] for d in data.docs if d.get("n") is not None and d.get("price") is not None
                           and d["n"] // 200 * 200 == b["key"]])  # fmt: skip
        assert b["e"]["count"] == prices.size
        assert b["e"]["variance"] == pytest.approx(prices.var())
