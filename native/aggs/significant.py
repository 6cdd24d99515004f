"""``significant_terms`` and ``significant_text``: terms unusually frequent in the matching documents.

The *subset* is the documents of the bucket (the query); the *superset* (background) is every document
of the index, or those of ``background_filter``. Per term, the subset and superset document counts feed
a heuristic (``native.aggs.significance``, JLH by default). Per shard:

- subset counts come from the same exact sources as ``terms`` (the term dictionary of a keyword or
  ``fielddata`` text field, tantivy's terms aggregation for numbers, dates, booleans and ips);
  ``significant_text`` reads the text field's indexed tokens the same way (its tokens are those ES's
  re-analysis of ``_source`` yields) unless ``filter_duplicate_text`` or ``source_fields`` ask for
  ``_source`` to be re-analyzed: then each matching document's text is analyzed again and, with
  ``filter_duplicate_text``, tokens inside a run of six or more tokens already seen in an earlier document
  are dropped (ES's duplicate-sequence filter, near-duplicate boilerplate);
- superset counts come from the background query over the same sources;
- ``missing`` (significant_terms) counts documents without a value under that key, in both sets;
- the shard keeps its ``shard_size`` best-scoring terms with at least ``shard_min_doc_count`` documents.

Merging adds subset/superset counts per term and both sizes; finalize scores with the merged counts,
keeps terms with ``doc_count >= min_doc_count`` and a positive score, best first, ``size`` of them.

Partial: ``{"b": [[key, subset_df, superset_df, subs]], "n": subset size, "N": superset size, "t": key
type, "f": date format}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson
import tantivy

from native.aggs.execute import ShardContext, convert_key, date_format
from native.aggs.partials import Partial, finalize_level, merge_level
from native.aggs.readers import _include, _int, _missing_value, _partition, _text
from native.aggs.significance import HEURISTICS, Heuristic, parse_heuristic, unknown_field
from native.aggs.spec import AggNode
from native.aggs.terms import TermsKind, _acceptor, _key_type, _render_key
from native.errors import AggregationExecution, IllegalArgument, ParsingError
from native.fields import SOURCE_FIELD
from native.values import nodes_at

JLH = Heuristic()
DUPLICATE_RUN = 6  # ES's DuplicateByteSequenceSpotter window, in tokens
_COMMON = {"field", "size", "shard_size", "min_doc_count", "shard_min_doc_count", "include", "exclude",
           "background_filter", *HEURISTICS}  # fmt: skip
_TERMS_KEYS = _COMMON | {"format", "value_type", "missing", "execution_hint"}
_TEXT_KEYS = _COMMON | {"filter_duplicate_text", "source_fields"}


@dataclass(frozen=True)
class SignificantSpec:
    field: str
    text: bool = False  # significant_text
    size: int = 10
    shard_size: int = 25
    min_doc_count: int = 3
    shard_min_doc_count: int = 0
    heuristic: Heuristic = JLH
    background_filter: Any = None  # QueryAst
    include: str | tuple[Any, ...] | None = None
    exclude: str | tuple[Any, ...] | None = None
    partition: tuple[int, int] | None = None
    format: str | None = None
    filter_duplicate_text: bool = False
    source_fields: tuple[str, ...] | None = None
    missing: Any = None


def parse_significant_terms(name: str, kind: str, body: dict[str, Any]) -> SignificantSpec:
    return _parse(name, kind, body, _TERMS_KEYS)


def parse_significant_text(name: str, kind: str, body: dict[str, Any]) -> SignificantSpec:
    return _parse(name, kind, body, _TEXT_KEYS)


def _parse(name: str, kind: str, body: dict[str, Any], allowed: set[str]) -> SignificantSpec:
    for key in body:
        if key not in allowed:
            raise unknown_field(kind, key, allowed)
    field = body.get("field")
    if field is None:
        raise IllegalArgument(f"[field] must not be null: [{name}]" if kind == "significant_text" else
                              "Required one of fields [field, script], but none were specified.")  # fmt: skip
    if not isinstance(field, str):
        raise ParsingError(f"[{kind}] field [field] must be a string")
    size = _int(kind, "size", body.get("size", 10))
    if size < 1:
        raise IllegalArgument(f"[size] must be greater than 0. Found [{size}] in [{name}]")
    shard_size = _int(kind, "shard_size", body.get("shard_size", min(int(size * 1.5 + 10), 2**31 - 1)))
    if shard_size < 1:
        raise IllegalArgument(f"[shard_size] must be greater than 0. Found [{shard_size}] in [{name}]")
    hint = body.get("execution_hint")
    if hint is not None and hint not in ("map", "global_ordinals"):
        raise IllegalArgument(f"Unknown `execution_hint`: [{hint}], expected any of [map, global_ordinals]")
    value_type = body.get("value_type")
    if value_type is not None and value_type not in ("string", "long", "double", "number", "date", "ip", "boolean"):
        raise IllegalArgument(f"Unknown value type [{value_type}]")
    background = None
    if body.get("background_filter") is not None:
        from native.query import parse_query

        if not isinstance(body["background_filter"], dict):
            raise ParsingError("Expected [START_OBJECT] for [background_filter]")
        background = parse_query(body["background_filter"])
    source_fields = body.get("source_fields")
    if source_fields is not None:
        source_fields = (source_fields,) if isinstance(source_fields, str) else tuple(str(f) for f in source_fields)
    return SignificantSpec(
        field=field,
        text=kind == "significant_text",
        size=size,
        shard_size=max(shard_size, size),
        min_doc_count=_int(kind, "min_doc_count", body.get("min_doc_count", 3), 0, long=True),
        shard_min_doc_count=_int(kind, "shard_min_doc_count", body.get("shard_min_doc_count", 0), 0, long=True),
        heuristic=parse_heuristic(kind, body),
        background_filter=background,
        include=None if isinstance(body.get("include"), dict) else _include(body.get("include")),
        exclude=_include(body.get("exclude")),
        partition=_partition(body.get("include")),
        format=_text(kind, "format", body.get("format")),
        filter_duplicate_text=bool(body.get("filter_duplicate_text", False)),
        source_fields=source_fields,
        missing=_missing_value(kind, body.get("missing")),
    )


_TERMS = TermsKind()


class SignificantKind:
    def empty(self, node: AggNode) -> Partial:
        return {"b": [], "n": 0, "N": 0, "t": None, "f": None}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: SignificantSpec = node.params
        out: Partial = self.empty(node)
        info = ctx.field(spec.field)
        if info is None:
            return out
        text_field = info.tantivy_type == tantivy.FieldType.Text and info.es_type != "keyword"
        if spec.text and info.tantivy_type != tantivy.FieldType.Text:
            raise IllegalArgument(
                f"Field [{spec.field}] has no analyzer, but SignificantText requires an analyzed field"
            )
        if not spec.text:
            if text_field and not info.extra.get("fielddata", False):
                raise IllegalArgument(fielddata_disabled(info.path, ctx.index_name))
            if info.tantivy_type != tantivy.FieldType.Text and isinstance(spec.include or spec.exclude, str):
                raise AggregationExecution(
                    f"Aggregation [{node.name}] cannot support regular expression style include/exclude "
                    "settings as they can only be applied to string fields. Use an array of values "
                    "for include/exclude clauses"
                )
        background = (
            tantivy.Query.all_query() if spec.background_filter is None else ctx.compile(spec.background_filter)
        )
        out["n"] = ctx.count(query)
        out["N"] = ctx.count(background)
        out["t"] = "string" if spec.text else _key_type(info.es_type)
        out["f"] = None if spec.text else date_format(info, spec.format)
        if spec.text and (spec.filter_duplicate_text or spec.source_fields):
            counts = _reanalyzed_counts(ctx, info, spec, query)
        else:
            counts = _TERMS._counts(ctx, info, query)
        missing_key = None
        if spec.missing is not None:  # documents without a value count under ``missing``
            missing_key = convert_key(info, spec.missing)
            n_missing = ctx.count(ctx.restrict(query, ctx.missing_filter(info)))
            if n_missing:
                counts[missing_key] = counts.get(missing_key, 0) + n_missing
        accept = _acceptor(spec, info)  # type: ignore[arg-type]
        candidates = {k: n for k, n in counts.items() if n >= max(spec.shard_min_doc_count, 1) and accept(k)}
        if not candidates:
            return out
        superset = _superset_counts(ctx, info, spec, background, list(candidates))
        if missing_key is not None and missing_key in candidates:
            n_missing = ctx.count(ctx.restrict(background, ctx.missing_filter(info)))
            superset[missing_key] = superset.get(missing_key, 0) + n_missing

        def bucket_filter(key: Any) -> tantivy.Query:
            term = ctx.term_filter(info, key)
            if key != missing_key:
                return term
            return tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, term), (tantivy.Occur.Should, ctx.missing_filter(info))]
            )

        scored = []
        for key, df in candidates.items():
            bg = min(superset.get(key, 0), out["N"])
            scored.append((spec.heuristic.score(min(df, out["n"]), out["n"], bg, out["N"]), key, df, bg))
        scored.sort(key=lambda s: (-s[0] if s[0] == s[0] else math.inf, _Desc(s[1])))
        out["b"] = [
            [key, df, bg, ctx.collect_subs(node, query, bucket_filter(key))]
            for _, key, df, bg in scored[: spec.shard_size]
        ]
        return out

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        merged: dict[Any, list[Any]] = {}
        for key, df, bg, subs in a["b"] + b["b"]:
            seen = merged.get(key)
            if seen is None:
                merged[key] = [key, df, bg, subs]
            else:
                merged[key] = [key, seen[1] + df, seen[2] + bg, merge_level(node.children, seen[3], subs)]
        return {"b": list(merged.values()), "n": a["n"] + b["n"], "N": a["N"] + b["N"], "t": a["t"] or b["t"],
                "f": a["f"] or b["f"]}  # fmt: skip

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: SignificantSpec = node.params
        rows = []
        for key, df, bg, subs in p["b"]:
            if df < spec.min_doc_count or bg > p["N"] or df > p["n"]:
                continue
            score = spec.heuristic.score(df, p["n"], bg, p["N"])
            if score > 0:
                rows.append((score, key, df, bg, subs))
        rows.sort(key=lambda r: (-r[0], _Desc(r[1])))
        buckets = []
        for score, key, df, bg, subs in rows[: spec.size]:
            bucket: dict[str, Any] = {"key": _render_key(key, p["t"])}
            if p["t"] == "bool":
                bucket["key_as_string"] = "true" if key else "false"
            elif p["t"] == "date" and p["f"]:
                from native.dates import format_date

                bucket["key_as_string"] = format_date(int(key), p["f"], None)
            bucket.update({"doc_count": df, "score": score, "bg_count": bg})
            bucket.update(finalize_level(node.children, subs))
            buckets.append(bucket)
        return {"doc_count": p["n"], "bg_count": p["N"], "buckets": buckets}


def _superset_counts(
    ctx: ShardContext, info: Any, spec: SignificantSpec, background: tantivy.Query, keys: list[Any]
) -> dict[Any, int]:
    """Background document count per candidate term. Without a background filter a string term's count is its
    index document frequency, as ES reads it from the term dictionary (documents deleted but not yet merged
    away still count there, in ES as in tantivy)."""
    if spec.background_filter is None and info.tantivy_type == tantivy.FieldType.Text and not ctx.weighted:
        return {key: int(ctx.searcher.doc_freq(info.tantivy_name, str(key))) for key in keys}
    return _TERMS._counts(ctx, info, background)


class _Desc:
    """Ties of equal score: ES leaves their order to a hash map; here they come in descending key order."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return (
            bool(str(other.value) < str(self.value))
            if type(self.value) is not type(other.value)
            else bool(other.value < self.value)
        )


def fielddata_disabled(field: str, index: str) -> str:
    """ES's refusal of a per-document operation on a ``text`` field without ``fielddata``."""
    return (
        f"Fielddata is disabled on [{field}] in [{index}]. Text fields are not optimised for operations that "
        "require per-document field data like aggregations and sorting, so these operations are disabled by "
        "default. Please use a keyword field instead. Alternatively, set fielddata=true on "
        f"[{field}] in order to load field data by uninverting the inverted index. Note that this can use "
        "significant memory."
    )


def _reanalyzed_counts(ctx: ShardContext, info: Any, spec: SignificantSpec, query: tantivy.Query) -> dict[Any, int]:
    """Per-term document counts from re-analyzing ``_source`` (documents in index order)."""
    analyze = info.analyze
    if analyze is None:
        return _TERMS._counts(ctx, info, query)
    paths = spec.source_fields or (spec.field,)
    addrs = sorted(ctx.docs(query), key=lambda a: (a.segment_ord, a.doc))
    seen_runs: set[tuple[str, ...]] = set()
    counts: dict[Any, int] = {}
    for addr in addrs:
        raw = (ctx.searcher.doc(addr).to_dict().get(SOURCE_FIELD) or [b"{}"])[0]
        source = orjson.loads(raw) if isinstance(raw, bytes | str) else raw
        terms: set[str] = set()
        for path in paths:
            for text in _texts(source, path):
                tokens = list(analyze(text))
                if spec.filter_duplicate_text:
                    tokens = _drop_duplicate_runs(tokens, seen_runs)
                terms.update(tokens)
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
    return counts


def _drop_duplicate_runs(tokens: list[str], seen: set[tuple[str, ...]]) -> list[str]:
    """Tokens not covered by a run of ``DUPLICATE_RUN`` tokens already seen; this text's runs are remembered."""
    covered = [False] * len(tokens)
    runs = [tuple(tokens[i : i + DUPLICATE_RUN]) for i in range(len(tokens) - DUPLICATE_RUN + 1)]
    for i, run in enumerate(runs):
        if run in seen:
            for j in range(i, i + DUPLICATE_RUN):
                covered[j] = True
    seen.update(runs)
    return [t for t, dup in zip(tokens, covered, strict=True) if not dup]


def _texts(source: Any, path: str) -> list[str]:
    """The string values at a dotted ``path`` of a ``_source``."""
    out: list[str] = []
    for node in nodes_at(source, path):
        for item in node if isinstance(node, list) else [node]:
            if isinstance(item, str):
                out.append(item)
    return out


KINDS = {"significant_terms": SignificantKind(), "significant_text": SignificantKind()}
