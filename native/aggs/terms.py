"""The ``terms`` aggregation.

Per shard the counts are exact: keywords come from ``terms_with_prefix(field, "", filter_query=q)``
(every distinct value of the matching docs, no bucket limit); numeric, date and boolean fields from
tantivy's terms aggregation asked for up to 65 000 keys. The shard keeps its top ``shard_size`` terms
in the requested order and reports, as ES does:

- ``o``: the doc counts of the terms it did not return (``sum_other_doc_count``);
- ``e``: its error bound — the count of its last returned term when it returned a full ``shard_size``
  list ordered by ``_count`` desc, 0 when it returned every term or ordered by ``_key``, -1 otherwise.

Partial: ``{"b": [[key, doc_count, term_error, subs]], "o": int, "e": int, "sh": shards, "t": key type,
"f": date format}``. Merging adds counts per key; a term missing from one side inherits that side's
``e`` as its own error. Finalize orders, keeps ``size`` buckets, folds the rest into
``sum_other_doc_count``, and reports ``doc_count_error_upper_bound`` = sum of shard errors (0 for a
single shard, where the counts are exact).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Any

import mmh3
import tantivy

from native.aggs.execute import ShardContext, convert_key, date_format
from native.aggs.inline import inline_reader, inline_spec
from native.aggs.partials import Partial, bucket_metric, finalize_level, merge_level, sort_key_for
from native.aggs.spec import AggNode, Order, TermsSpec
from native.doc_count import weighted_terms
from native.errors import AggregationExecution, IllegalArgument, QuidditchError
from native.fields import INTEGRAL_COLUMNS, NUMERIC_COLUMNS, FieldInfo

MAX_NUMERIC_TERMS = 65000
MAX_METRIC_ORDER_CANDIDATES = 10000
INDEX_FIELD = "_index"
_INDEX_INFO = FieldInfo(path=INDEX_FIELD, es_type="keyword", tantivy_name=INDEX_FIELD)



_VALUE_TYPES: dict[str, set[str]] = {
    "string": {"keyword", "text", "match_only_text", "wildcard", "constant_keyword"},
    "ip": {"ip"},
    "date": {"date", "date_nanos"},
    "boolean": {"boolean"},
}
_NUMERIC_VALUE_TYPES = {"long", "integer", "short", "byte", "double", "float", "number", "numeric"}


def _check_value_type(info: Any, value_type: str | None) -> None:
    if value_type is None:
        return
    if value_type in _NUMERIC_VALUE_TYPES:
        ok = info.is_numeric
    else:
        ok = info.es_type in _VALUE_TYPES.get(value_type, {info.es_type})
    if not ok:
        raise IllegalArgument(
            f"Field [{info.path}] of type [{info.es_type}] is not supported for aggregation [terms] "
            f"with value_type [{value_type}]"
        )


def check_fielddata(ctx: ShardContext, info: Any) -> None:
    """ES refuses per-document values of a ``text`` field mapped without ``fielddata: true``."""
    if info.es_type == "text" and not info.extra.get("fielddata", False):
        from native.aggs.significant import fielddata_disabled

        raise IllegalArgument(fielddata_disabled(info.path, ctx.index_name))


def _unmapped_missing(spec: TermsSpec) -> tuple[Any, str, str | None]:
    """The key, key type and date format of the ``missing`` bucket of an unmapped field."""
    value, vt = spec.missing, spec.value_type
    if vt == "boolean":
        return (value.lower() == "true") if isinstance(value, str) else bool(value), "bool", None
    if vt == "date":
        from native.dates import parse_date

        formats = ("strict_date_optional_time", "epoch_millis")
        key = int(parse_date(value, formats)) if isinstance(value, str) else int(value)
        return key, "date", spec.format or "strict_date_optional_time"
    if vt in ("long", "integer", "short", "byte"):
        return int(float(value)), "long", None
    if vt in _NUMERIC_VALUE_TYPES:
        return float(value), "double", None
    if vt in ("string", "ip") or isinstance(value, str):
        return str(value), "string", None
    return float(value), "double", None


def _key_type(es_type: str) -> str:
    if es_type == "ip":
        return "ip"
    if es_type == "boolean":
        return "bool"
    if es_type == "date":
        return "date"
    if es_type in ("double", "float", "half_float", "scaled_float"):
        return "double"
    if es_type in ("long", "integer", "short", "byte", "unsigned_long"):
        return "long"
    return "string"


class TermsKind:
    def empty(self, node: AggNode) -> Partial:
        return {"b": [], "o": 0, "e": 0, "sh": 0, "t": None, "f": None}

    # -- shard -------------------------------------------------------------------------------------

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: TermsSpec = node.params
        info = ctx.field(spec.field)
        out = {"b": [], "o": 0, "e": 0, "sh": 1, "t": None, "f": None}
        if info is None and spec.field == INDEX_FIELD:
            return _index_terms(ctx, node, spec, query, out)
        if info is None:
            if spec.missing is None:
                return out
            n = ctx.count(query)
            if n:
                key, out["t"], out["f"] = _unmapped_missing(spec)
                out["b"] = [[key, n, 0, ctx.collect_subs(node, query, None)]]
            return out
        _check_value_type(info, spec.value_type)
        check_fielddata(ctx, info)
        if info.es_type == "ip" and isinstance(spec.include or spec.exclude, str):
            raise AggregationExecution(
                f"Aggregation [{node.name}] cannot support regular expression style include/exclude "
                "settings as they can only be applied to string fields. Use an array of values "
                "for include/exclude clauses"
            )
        out["t"] = _key_type(info.es_type)
        out["f"] = date_format(info, spec.format)
        fast = _tantivy_top(ctx, node, spec, info, query)
        if fast is not None:
            chosen, total, more, raw = fast
            read = inline_reader(ctx, node.children) if raw else None
            buckets = []
            for k, n in chosen:
                subs = read(raw[k]) if read is not None and k in raw else None
                if subs is None:
                    subs = ctx.collect_subs(node, query, ctx.term_filter(info, k))
                buckets.append([k, n, 0, subs])
            return _finish(out, spec, buckets, total, more)
        counts = self._counts(ctx, info, query)
        missing_key = None
        if spec.missing is not None:
            missing_key = convert_key(info, spec.missing)
            n_missing = ctx.count(ctx.restrict(query, ctx.missing_filter(info)))
            if n_missing:
                counts[missing_key] = counts.get(missing_key, 0) + n_missing
        if spec.min_doc_count == 0:
            for key in self._counts(ctx, info, tantivy.Query.all_query()):
                counts.setdefault(key, 0)
        accept = _acceptor(spec, info)
        candidates = [(k, n) for k, n in counts.items() if accept(k) and n >= spec.shard_min_doc_count]
        total = sum(n for _, n in candidates)

        def bucket_filter(key: Any) -> tantivy.Query:
            term = ctx.term_filter(info, key)
            if missing_key is not None and key == missing_key:
                return tantivy.Query.boolean_query(
                    [(tantivy.Occur.Should, term), (tantivy.Occur.Should, ctx.missing_filter(info))]
                )
            return term

        primary = spec.order[0]
        if primary.path in ("_count", "_key"):
            chosen = _chosen(node, spec, candidates)
            buckets = [[k, n, 0, ctx.collect_subs(node, query, bucket_filter(k))] for k, n in chosen]
        else:
            if len(candidates) > MAX_METRIC_ORDER_CANDIDATES:
                candidates.sort(key=lambda kn: (-kn[1], kn[0]))
                candidates = candidates[:MAX_METRIC_ORDER_CANDIDATES]
            scored = []
            for k, n in candidates:
                subs = ctx.collect_subs(node, query, bucket_filter(k))
                rendered = finalize_level(node.children, subs)
                scored.append((_order_key(spec.order, k, n, rendered, node), [k, n, 0, subs]))
            scored.sort(key=lambda item: item[0])
            buckets = [b for _, b in scored[: spec.shard_size]]
        return _finish(out, spec, buckets, total, len(candidates) > len(buckets))

    # -- inside a parent's histogram (``native.aggs.inline``) -----------------------------------------

    def inline_spec(self, ctx: ShardContext, node: AggNode, key: str) -> dict[str, Any] | None:
        """Every term of the bucket with its count, when the partial follows from those alone: no children,
        no ``missing``, ``min_doc_count`` >= 1, ordered by count or key, no ``value_type`` check."""
        spec: TermsSpec = node.params
        info = ctx.field(spec.field)
        if node.children or info is None or spec.missing is not None or spec.min_doc_count == 0 or ctx.weighted:
            return None
        if spec.value_type is not None or any(o.path not in ("_count", "_key") for o in spec.order):
            return None
        if info.es_type != "keyword" and info.tantivy_type not in NUMERIC_COLUMNS:
            return None
        return {key: _all_terms(info)}

    def inline_reader(self, ctx: ShardContext, node: AggNode, key: str) -> Callable[[dict[str, Any]], Partial | None]:
        spec: TermsSpec = node.params
        info = ctx.field(spec.field)
        assert info is not None
        accept, key_type, fmt = _acceptor(spec, info), _key_type(info.es_type), date_format(info, spec.format)

        def read(bucket: dict[str, Any]) -> Partial | None:
            result = bucket.get(key)
            if result is None or result.get("sum_other_doc_count") or result.get("doc_count_error_upper_bound"):
                return None  # tantivy cut this bucket's terms: it counts them itself
            counts = _bucket_counts(info, result["buckets"])
            candidates = [(k, n) for k, n in counts.items() if accept(k) and n >= spec.shard_min_doc_count]
            chosen = _chosen(node, spec, candidates)
            out = {"b": [], "o": 0, "e": 0, "sh": 1, "t": key_type, "f": fmt}
            total = sum(n for _, n in candidates)
            return _finish(out, spec, [[k, n, 0, {}] for k, n in chosen], total, len(candidates) > len(chosen))

        return read

    def _counts(self, ctx: ShardContext, info: Any, query: tantivy.Query) -> dict[Any, int]:
        if ctx.weighted and info.es_type != "text":  # documents with ``_doc_count`` count that many times
            counts: dict[Any, int] = {}
            for key, n in weighted_terms(ctx.searcher, query, info.tantivy_name):
                key = _bucket_key(info, key)
                counts[key] = counts.get(key, 0) + n
            return counts
        if info.tantivy_type == tantivy.FieldType.Text:
            counts = dict(ctx.searcher.terms_with_prefix(info.tantivy_name, "", filter_query=query))
            if ctx.weighted:  # a ``fielddata`` text field has no column: one weighted count per term
                return {t: ctx.count(ctx.restrict(query, ctx.term_filter(info, t))) for t in counts}
            return counts
        return _bucket_counts(info, ctx.aggregate(query, {"t": _all_terms(info)})["t"]["buckets"])

    # -- merge / finalize --------------------------------------------------------------------------

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        if not a["sh"]:
            return b
        if not b["sh"]:
            return a
        ea, eb = a["e"], b["e"]
        right = {bucket[0]: bucket for bucket in b["b"]}
        merged: dict[Any, list[Any]] = {}
        for key, count, err, subs in a["b"]:
            other = right.get(key)
            if other is None:
                merged[key] = [key, count, _add_err(err, eb), subs]
            else:
                subs = merge_level(node.children, subs, other[3])
                merged[key] = [key, count + other[1], _add_err(err, other[2]), subs]
        for key, count, err, subs in b["b"]:
            if key not in merged:
                merged[key] = [key, count, _add_err(err, ea), subs]
        return {
            "b": list(merged.values()),
            "o": a["o"] + b["o"],
            "e": _add_err(ea, eb),
            "sh": a["sh"] + b["sh"],
            "t": _merged_type(a["t"], b["t"]),
            "f": a["f"] or b["f"],
        }

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: TermsSpec = node.params
        single = p["sh"] <= 1
        eligible = [b for b in p["b"] if b[1] >= spec.min_doc_count]
        rendered_subs = [finalize_level(node.children, b[3]) for b in eligible]
        order = sorted(
            range(len(eligible)),
            key=lambda i: _order_key(spec.order, eligible[i][0], eligible[i][1], rendered_subs[i], node),
        )
        kept = order[: spec.size]
        other = p["o"] + sum(eligible[i][1] for i in order[spec.size :])
        buckets = []
        for i in kept:
            key, count, err, _ = eligible[i]
            bucket: dict[str, Any] = {"key": _render_key(key, p["t"])}
            if p["t"] == "bool":
                bucket["key_as_string"] = "true" if key else "false"
            elif p["t"] == "date" and p["f"]:
                from native.dates import format_date

                bucket["key_as_string"] = format_date(int(key), p["f"], None)
            bucket["doc_count"] = count
            if spec.show_term_doc_count_error:
                bucket["doc_count_error_upper_bound"] = 0 if single else err
            bucket.update(rendered_subs[i])
            buckets.append(bucket)
        return {
            "doc_count_error_upper_bound": 0 if single else p["e"],
            "sum_other_doc_count": other,
            "buckets": buckets,
        }


def _index_terms(ctx: ShardContext, node: AggNode, spec: TermsSpec, query: tantivy.Query, out: Partial) -> Partial:
    """``terms`` on the ``_index`` metadata field: one bucket, the shard's index name, holding every match
    (with ``min_doc_count: 0`` also when nothing matches, as ES reports every index searched)."""
    out["t"] = "string"
    n = ctx.count(query)
    accept = _acceptor(spec, _INDEX_INFO)
    candidates = [(ctx.index_name, n)] if accept(ctx.index_name) and n >= spec.shard_min_doc_count else []
    if not n and spec.min_doc_count > 0:
        candidates = []  # no bucket of a shard without matches
    chosen = _chosen(node, spec, candidates)
    buckets = [[k, c, 0, ctx.collect_subs(node, query, None)] for k, c in chosen]
    return _finish(out, spec, buckets, sum(c for _, c in candidates), len(candidates) > len(buckets))


def _all_terms(info: Any) -> dict[str, Any]:
    """Tantivy's terms aggregation asked for every term (up to ``MAX_NUMERIC_TERMS``) of a column."""
    return {"terms": {"field": info.tantivy_name, "size": MAX_NUMERIC_TERMS, "segment_size": MAX_NUMERIC_TERMS,
                      "min_doc_count": 1}}  # fmt: skip


def _bucket_key(info: Any, key: Any) -> Any:
    """A key of tantivy's terms buckets in the partial's type."""
    if info.tantivy_type in (tantivy.FieldType.Text, tantivy.FieldType.IpAddr):
        return str(key)
    if info.es_type == "boolean":
        return bool(key)
    return int(key) if info.tantivy_type in INTEGRAL_COLUMNS else float(key)


def _bucket_counts(info: Any, buckets: list[dict[str, Any]]) -> dict[Any, int]:
    """Doc count per key of tantivy's terms buckets, keys in the partial's type."""
    out: dict[Any, int] = {}
    for b in buckets:
        key = _bucket_key(info, b["key"])
        out[key] = out.get(key, 0) + int(b["doc_count"])
    return out


def _chosen(node: AggNode, spec: TermsSpec, candidates: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
    """The shard's ``shard_size`` first candidates in a ``_count``/``_key`` order."""
    candidates.sort(key=lambda kn: _order_key(spec.order, kn[0], kn[1], None, node))
    return candidates[: spec.shard_size]


def _finish(out: Partial, spec: TermsSpec, buckets: list[list[Any]], total: int, more: bool) -> Partial:
    """Fill a shard partial from its chosen buckets: ``total`` is the doc count of every candidate term,
    ``more`` whether candidates were left out."""
    primary = spec.order[0]
    out["b"] = buckets
    out["o"] = total - sum(b[1] for b in buckets)
    if len(buckets) < spec.shard_size or not more or primary.path == "_key":
        out["e"] = 0
    elif primary.path == "_count" and not primary.asc:
        out["e"] = buckets[-1][1] if buckets else 0
    else:
        out["e"] = -1
    return out


# Tantivy's terms aggregation per segment keeps its top ``segment_size`` terms; asking for this many
# keeps every term of any segment with fewer distinct values, so the shard counts are exact (checked
# on the result: a segment that had to cut terms reports a non-zero error bound, and we fall back).
_SEGMENT_SIZE = 65000
_TOP_SLACK = 16


def _tantivy_top(
    ctx: ShardContext, node: AggNode, spec: TermsSpec, info: Any, query: tantivy.Query
) -> tuple[list[tuple[Any, int]], int, bool, dict[Any, dict[str, Any]]] | None:
    """The shard's top ``shard_size`` keyword or numeric terms from tantivy's own terms aggregation, or None when
    the request is not translatable or tantivy's answer is not provably exact (the caller then walks
    the term dictionary).

    Returns ``(chosen (key, count) in order, total doc count of all terms, whether terms were left
    out, result bucket per key)``: the same data the term-dictionary path derives, so the partial and its
    error bounds are identical. The children are computed in the same call when they can be
    (``native.aggs.inline``); then the result buckets hold them, else that mapping is empty.
    """
    numeric = info.tantivy_type in NUMERIC_COLUMNS and info.es_type != "boolean"
    if (info.es_type != "keyword" and not numeric) or spec.missing is not None or spec.min_doc_count == 0:
        return None
    if ctx.weighted:
        return None
    if spec.include is not None or spec.exclude is not None or spec.partition is not None:
        return None
    if spec.shard_min_doc_count > 1 or any(o.path not in ("_count", "_key") for o in spec.order):
        return None
    primary = spec.order[0]
    if primary.path == "_count" and primary.asc:
        return None  # ascending counts are not exact under per-segment cut-offs
    # Key order: a term among the first N keys of the shard is among the first N of every segment.
    size = spec.shard_size if primary.path == "_key" else spec.shard_size + _TOP_SLACK
    if size + 1 > _SEGMENT_SIZE:
        return None
    order = {"_key": "asc" if primary.asc else "desc"} if primary.path == "_key" else {"_count": "desc"}
    # One segment is the whole shard: its own top terms are the shard's, counts exact, nothing to over-fetch.
    single = ctx.searcher.num_segments == 1
    request = {"field": info.tantivy_name, "size": size, "segment_size": size if single else max(size, _SEGMENT_SIZE),
               "min_doc_count": 1, "order": order}  # fmt: skip
    inline = inline_spec(ctx, node.children) if node.children else None
    try:
        result = ctx.searcher.aggregate(query, {"t": {"terms": request, **({"aggs": inline} if inline else {})}})["t"]
    except ValueError:
        if not inline:
            return None
        inline = None  # (too many buckets with the children: they run per bucket)
        try:
            result = ctx.searcher.aggregate(query, {"t": {"terms": request}})["t"]
        except ValueError:
            return None
    if result.get("doc_count_error_upper_bound") and not single:
        return None  # a segment cut terms: counts may be short
    if numeric:
        got = list(_bucket_counts(info, result["buckets"]).items())
    else:
        got = [(b["key"], int(b["doc_count"])) for b in result["buckets"]]
        if got and not isinstance(got[0][0], str):
            return None
    other = int(result.get("sum_other_doc_count") or 0)
    total = sum(n for _, n in got) + other
    got.sort(key=lambda kn: _order_key(spec.order, kn[0], kn[1], None, node))
    chosen = got[: spec.shard_size]
    more = other > 0 or len(got) > len(chosen)
    if primary.path == "_count" and more and len(got) >= size and chosen:
        # Terms tied with the last chosen count may have been cut by tantivy (its tie order is not
        # ES's key order): exact only when the least count returned is below the last chosen count.
        if got[-1][1] >= chosen[-1][1]:
            return None
    raw = {_bucket_key(info, b["key"]): b for b in result["buckets"]} if inline else {}
    return chosen, total, more, raw


def _merged_type(a: str | None, b: str | None) -> str | None:
    if a and b and a != b and {a, b} <= {"long", "double"}:
        return "double"  # ES: mixing long and double fields gives double terms
    return a or b


def _add_err(a: int, b: int) -> int:
    return -1 if a < 0 or b < 0 else a + b


def _render_key(key: Any, key_type: str | None) -> Any:
    if key_type == "bool":
        return 1 if key else 0
    if key_type in ("long", "date"):
        return int(key)
    if key_type == "double":
        return float(key)
    return key


def _order_key(
    orders: tuple[Order, ...], key: Any, count: int, rendered: dict[str, Any] | None, node: AggNode
) -> tuple[Any, ...]:
    parts: list[Any] = []
    for order in orders:
        if order.path == "_count":
            parts.append(sort_key_for(count, order.asc))
        elif order.path == "_key":
            parts.append(sort_key_for(key, order.asc))
        else:
            parts.append(sort_key_for(bucket_metric(node.children, rendered or {}, order.path), order.asc))
    return tuple(parts)


def _acceptor(spec: TermsSpec, info: Any) -> Any:
    """A predicate over shard keys applying include / exclude / partition."""
    include = _rule(spec.include, info)
    exclude = _rule(spec.exclude, info)
    partition = spec.partition
    integral = info.tantivy_type in (*INTEGRAL_COLUMNS, tantivy.FieldType.Boolean)

    def accept(key: Any) -> bool:
        if include is not None and not include(key):
            return False
        if exclude is not None and exclude(key):
            return False
        return partition is None or _partition_of(key, partition[1], integral) == partition[0]

    return accept


def _rule(rule: str | tuple[Any, ...] | None, info: Any) -> Any:
    if rule is None:
        return None
    if isinstance(rule, str):
        pattern = _compiled(rule)
        return lambda key: pattern.fullmatch(str(key)) is not None
    values: set[Any] = set()
    for v in rule:
        values.add(v)
        values.add(str(v))
        try:
            values.add(convert_key(info, v))
        except (TypeError, ValueError, QuidditchError):
            pass
    return lambda key: key in values or str(key) in values


_M64 = (1 << 64) - 1


def _partition_of(key: Any, num: int, integral: bool) -> int:
    """ES's include partition: murmur3_x86_32 (seed 31) of the term bytes, or HPPC's mix64 of a long
    (a double's sortable long bits)."""
    if isinstance(key, str):
        return mmh3.hash(key.encode("utf-8"), 31, signed=True) % num
    if integral or isinstance(key, bool):
        z = int(key) & _M64
    else:
        bits = struct.unpack("<q", struct.pack("<d", float(key)))[0]
        z = (bits ^ ((bits >> 63) & 0x7FFFFFFFFFFFFFFF)) & _M64  # NumericUtils.doubleToSortableLong
    z = ((z ^ (z >> 32)) * 0x4CD6944C5CC20B6D) & _M64
    z = ((z ^ (z >> 29)) * 0xFC12C5B19D3259E9) & _M64
    z ^= z >> 32
    signed = z - (1 << 64) if z >= 1 << 63 else z
    return signed % num


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern not in _REGEX_CACHE:
        try:
            _REGEX_CACHE[pattern] = re.compile(pattern)
        except re.error as exc:
            raise IllegalArgument(f"invalid regular expression [{pattern}]") from exc
    return _REGEX_CACHE[pattern]


KINDS = {"terms": TermsKind()}
