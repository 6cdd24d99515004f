"""The parsed form of an ES search request (body + URL parameters), validated before any fan-out."""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

from native.errors import IllegalArgument, ParsingError, ScriptingDisabled
from native.highlight import parse_highlight
from native.search import SortField

SEARCH_BODY_KEYS = frozenset({
    "query", "from", "size", "sort", "_source", "aggs", "aggregations", "track_total_hits", "search_after",
    "highlight", "min_score", "timeout", "docvalue_fields", "fields", "stored_fields", "version",
    "seq_no_primary_term", "explain", "track_scores", "script_fields", "terminate_after", "post_filter",
    "indices_boost", "collapse", "pit", "runtime_mappings", "profile", "rescore", "suggest", "ext",
    "stats", "knn", "slice", "_source_includes", "_source_excludes",
})  # fmt: skip


@dataclass(frozen=True)
class SourceFilter:
    enabled: bool = True
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()


@dataclass
class SearchSpec:
    query: dict[str, Any] | None = None
    from_: int = 0
    size: int = 10
    sort: list[SortField] = field(default_factory=list)
    explicit_sort: bool = False
    search_after: list[Any] | None = None
    aggs: dict[str, Any] | None = None
    track_total_hits: bool | int = 10_000
    min_score: float | None = None
    source: SourceFilter = SourceFilter()
    highlight: dict[str, Any] | None = None
    docvalue_fields: list[Any] = field(default_factory=list)
    fields: list[Any] = field(default_factory=list)
    version: bool = False
    seq_no_primary_term: bool = False
    track_scores: bool = False
    timeout: str | None = None
    post_filter: dict[str, Any] | None = None
    terminate_after: int | None = None
    rest_total_hits_as_int: bool = False


def parse_sort(raw: Any) -> list[SortField]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    out: list[SortField] = []
    for item in items:
        if isinstance(item, str):
            name, _, order = item.partition(":")
            default = "desc" if name == "_score" else "asc"
            out.append(SortField(name, order or default))
            continue
        if not isinstance(item, dict) or len(item) != 1:
            raise ParsingError(f"[sort] failed to parse field [{item}]")
        ((name, spec),) = item.items()
        if name == "_script":
            raise ScriptingDisabled("cannot execute [inline] scripts")
        default = "desc" if name == "_score" else "asc"
        if isinstance(spec, str):
            out.append(SortField(name, spec.lower()))
            continue
        if not isinstance(spec, dict):
            raise ParsingError(f"[sort] failed to parse field [{name}]")
        order = str(spec.get("order", default)).lower()
        if order not in ("asc", "desc"):
            raise IllegalArgument(f"Unknown SortOrder [{order}]")
        for key in spec:
            if key not in ("order", "missing", "unmapped_type", "mode", "numeric_type", "format", "nested"):
                raise ParsingError(f"[field_sort] unknown field [{key}]")
        out.append(SortField(name, order, spec.get("missing", "_last"), spec.get("unmapped_type")))
    return out


def parse_source_filter(raw: Any, includes: str | None = None, excludes: str | None = None) -> SourceFilter:
    if raw is None and includes is None and excludes is None:
        return SourceFilter()
    if isinstance(raw, bool):
        return SourceFilter(enabled=raw)
    if isinstance(raw, str):
        if raw in ("true", "false"):
            return SourceFilter(enabled=raw == "true")
        return SourceFilter(includes=tuple(p for p in raw.split(",") if p))
    if isinstance(raw, list):
        return SourceFilter(includes=tuple(str(p) for p in raw))
    if isinstance(raw, dict):
        inc = raw.get("includes", raw.get("include")) or []
        exc = raw.get("excludes", raw.get("exclude")) or []
        return SourceFilter(
            includes=tuple([inc] if isinstance(inc, str) else inc),
            excludes=tuple([exc] if isinstance(exc, str) else exc),
        )
    return SourceFilter(
        includes=tuple(p for p in (includes or "").split(",") if p),
        excludes=tuple(p for p in (excludes or "").split(",") if p),
    )


def _int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise IllegalArgument(f"Failed to parse int parameter [{name}] with value [{value}]") from None
    return number


def parse_search(body: MappingABC[str, Any] | None, params: MappingABC[str, str]) -> SearchSpec:
    """Body and URL parameters → ``SearchSpec``; URL parameters win, as in ES."""
    body = dict(body or {})
    for key in body:
        if key not in SEARCH_BODY_KEYS:
            raise ParsingError(f"Unknown key for a START_OBJECT in [{key}].")
    for unsupported in ("script_fields", "runtime_mappings"):
        if body.get(unsupported):
            raise ScriptingDisabled("cannot execute [inline] scripts")
    spec = SearchSpec()
    spec.query = body.get("query")
    if "q" in params:
        spec.query = {"query_string": {"query": params["q"]}}
        if "df" in params:
            spec.query["query_string"]["default_field"] = params["df"]
        if "default_operator" in params:
            spec.query["query_string"]["default_operator"] = params["default_operator"]
    spec.from_ = _int(params.get("from", body.get("from", 0)), "from")
    spec.size = _int(params.get("size", body.get("size", 10)), "size")
    if spec.from_ < 0:
        raise IllegalArgument(f"[from] parameter cannot be negative, found [{spec.from_}]")
    if spec.size < 0:
        raise IllegalArgument(f"[size] parameter cannot be negative, found [{spec.size}]")
    raw_sort = body.get("sort")
    if "sort" in params:
        raw_sort = params["sort"].split(",")
    spec.sort = parse_sort(raw_sort)
    spec.explicit_sort = bool(spec.sort)
    spec.search_after = body.get("search_after")
    if spec.search_after is not None and not isinstance(spec.search_after, list):
        raise ParsingError("[search_after] must be an array")
    spec.aggs = body.get("aggs", body.get("aggregations"))
    tth: Any = params.get("track_total_hits", body.get("track_total_hits", 10_000))
    if isinstance(tth, str):
        tth = True if tth == "true" else False if tth == "false" else _int(tth, "track_total_hits")
    spec.track_total_hits = tth
    if "min_score" in body:
        spec.min_score = float(body["min_score"])
    spec.source = parse_source_filter(
        params.get("_source", body.get("_source")), params.get("_source_includes"), params.get("_source_excludes")
    )
    spec.highlight = body.get("highlight")
    if spec.highlight is not None:
        parse_highlight(spec.highlight)
    spec.docvalue_fields = list(body.get("docvalue_fields") or [])
    spec.fields = list(body.get("fields") or [])
    spec.version = str(params.get("version", body.get("version", False))).lower() == "true"
    spec.seq_no_primary_term = (
        str(params.get("seq_no_primary_term", body.get("seq_no_primary_term", False))).lower() == "true"
    )
    spec.track_scores = bool(body.get("track_scores", False))
    spec.timeout = params.get("timeout", body.get("timeout"))
    spec.post_filter = body.get("post_filter")
    spec.rest_total_hits_as_int = params.get("rest_total_hits_as_int", "false") == "true"
    if spec.rest_total_hits_as_int and spec.track_total_hits == 10_000:
        spec.track_total_hits = True
    return spec
