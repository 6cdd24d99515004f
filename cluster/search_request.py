"""The parsed form of an ES search request (body + URL parameters), validated before any fan-out."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

import orjson

from cluster.collapse import CollapseSpec, parse_collapse, validate_collapse, validate_collapse_early
from cluster.pit import PitRef, SliceSpec, parse_pit, parse_slice, validate_contexts
from cluster.search_stats import parse_stats_groups
from cluster.shard_copies import CopyPreference
from native.dates import parse_time_value
from native.errors import (
    ActionRequestValidation,
    ElasticsearchParseError,
    IllegalArgument,
    ParsingError,
    ScriptingDisabled,
    XContentParseError,
)
from native.highlight import parse_highlight
from native.nested_sort import check_mode, parse_nested_sort
from native.query import parse_query
from native.rescore import Rescorer, parse_rescore
from native.search import SortField
from native.suggest import parse_suggest

SEARCH_BODY_KEYS = frozenset({
    "query", "from", "size", "sort", "_source", "aggs", "aggregations", "track_total_hits", "search_after",
    "highlight", "min_score", "timeout", "docvalue_fields", "fields", "stored_fields", "version",
    "seq_no_primary_term", "explain", "track_scores", "script_fields", "terminate_after", "post_filter",
    "indices_boost", "collapse", "pit", "runtime_mappings", "profile", "rescore", "suggest", "ext",
    "stats", "knn", "slice", "_source_includes", "_source_excludes",
})  # fmt: skip


NUMERIC_TYPES = ("long", "double", "date", "date_nanos")  # a field sort's ``numeric_type``
SORT_MODES = ("min", "max", "sum", "avg", "median")  # a field sort's ``mode`` (native.multi_sort)

# accepted keys with no implementation: an empty value passes, anything else is a 400 naming the key
_NOT_IMPLEMENTED = ("knn",)


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
    internal: bool = False  # a server-internal scan: not counted in ``_field_usage_stats``
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
    # ``timeout`` in seconds (None: not given or ``-1``): shards that have not answered by then leave partial
    # results and ``timed_out: true``
    timeout_s: float | None = None
    # ``allow_partial_search_results=false``: a shard past the timeout fails the search (504) instead
    allow_partial_search_results: bool = True
    post_filter: dict[str, Any] | None = None
    terminate_after: int | None = None
    rest_total_hits_as_int: bool = False
    # stored_fields: None = not asked; () = none besides metadata; "_none_" hides _id too
    stored_fields: tuple[str, ...] | None = None
    hide_id: bool = False
    indices_boost: list[tuple[str, float]] = field(default_factory=list)
    explain: bool = False
    request_cache: bool | None = None
    routing: tuple[str, ...] = ()  # ``?routing=a,b``: only the shards these values hash to
    only_shards: tuple[int, ...] = ()  # ``?preference=_shards:0,2``: only these shard numbers
    preference: str | None = None  # ``?preference=``: which copy of each shard (``cluster.shard_copies``)
    dfs: bool = False  # ``search_type=dfs_query_then_fetch``
    profile: bool = False  # ``profile: true`` (``cluster.profile``)
    collapse: CollapseSpec | None = None  # ``collapse`` (``cluster.collapse``)
    pit: PitRef | None = None  # ``pit``: the point in time searched (``cluster.pit``)
    slice: SliceSpec | None = None  # ``slice`` of a scroll or PIT search
    stats_groups: tuple[str, ...] = ()  # ``stats``: the ``_stats`` search groups this search also counts in
    rescore: tuple[Rescorer, ...] = ()
    suggest: dict[str, Any] | None = None
    # how many ``script_fields`` were asked for (scripts are refused, after ES's count limit)
    script_fields: int = 0
    # ``include_named_queries_score``: ``matched_queries`` as {name: score} instead of a list of names
    include_named_queries_score: bool = False
    # ``pre_filter_shard_size`` (None: ES's default rule, ``cluster.can_match``)
    pre_filter_shard_size: int | None = None


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
        fmt = spec.get("format")
        if fmt is not None and not isinstance(fmt, str):
            raise ParsingError("[field_sort] format doesn't support values of type: START_OBJECT")
        numeric_type = spec.get("numeric_type")
        if numeric_type is not None and numeric_type not in NUMERIC_TYPES:
            raise IllegalArgument(
                f"invalid value for [numeric_type], must be [{', '.join(NUMERIC_TYPES)}], got {numeric_type}"
            )
        mode = spec.get("mode")
        nested = spec.get("nested")
        if nested is not None:
            parse_nested_sort(nested, name)  # a malformed one is a 400 here
            check_mode(mode)
        elif mode is not None and (not isinstance(mode, str) or mode.lower() not in SORT_MODES):
            raise IllegalArgument(f"Unknown SortMode [{mode}]")
        out.append(
            SortField(name, order, spec.get("missing", "_last"), spec.get("unmapped_type"), fmt, numeric_type,
                      None if mode is None else str(mode).lower(),
                      orjson.dumps(nested).decode() if nested is not None else None)
        )  # fmt: skip
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
        return SourceFilter(includes=_patterns("_source", raw))
    if isinstance(raw, dict):
        for key in raw:
            if key not in ("includes", "include", "excludes", "exclude", "exclude_vectors"):
                raise ParsingError(f"Unknown key for a {_token(raw[key])} in [{key}].")
        # ES 9's ``exclude_vectors`` (the 9.x Python client sends ``false``): leaving the _source as stored is what
        # ``false`` asks; dropping vector fields from it (``true``) is not built, so it is refused by name
        vectors = raw.get("exclude_vectors", False)
        if not isinstance(vectors, bool):
            raise ParsingError(f"[exclude_vectors] expected a boolean but found [{_token(vectors)}]")
        if vectors:
            raise IllegalArgument("[_source.exclude_vectors] true is not supported by this server")
        inc = raw.get("includes", raw.get("include")) or []
        exc = raw.get("excludes", raw.get("exclude")) or []
        return SourceFilter(includes=_patterns("includes", inc), excludes=_patterns("excludes", exc))
    if raw is not None:
        raise ParsingError(f"Unknown key for a {_token(raw)} in [_source].")
    return SourceFilter(
        includes=tuple(p for p in (includes or "").split(",") if p),
        excludes=tuple(p for p in (excludes or "").split(",") if p),
    )


def _token(value: Any) -> str:
    """The name of the JSON token ``value`` starts with, as ES's parse errors say it."""
    if isinstance(value, bool):
        return "VALUE_BOOLEAN"
    if isinstance(value, int | float):
        return "VALUE_NUMBER"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "VALUE_NULL"


def _patterns(key: str, raw: Any) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise ParsingError(f"Unknown key for a {_token(raw)} in [{key}].")
    for item in items:
        if not isinstance(item, str):
            raise ParsingError(f"Unknown key for a {_token(item)} in [{key}].")
    return tuple(items)


def _top_hits_with_fields(aggs: Any, fields: list[Any]) -> Any:
    """A copy of ``aggs`` whose ``top_hits`` without their own ``fields`` fetch the search's (as ES does)."""
    if not isinstance(aggs, dict):
        return aggs
    out: dict[str, Any] = {}
    for name, definition in aggs.items():
        if not isinstance(definition, dict):
            out[name] = definition
            continue
        copy = dict(definition)
        top_hits = copy.get("top_hits")
        if isinstance(top_hits, dict) and "fields" not in top_hits:
            copy["top_hits"] = {**top_hits, "fields": fields}
        for key in ("aggs", "aggregations"):
            if key in copy:
                copy[key] = _top_hits_with_fields(copy[key], fields)
        out[name] = copy
    return out


# Metadata fields ES's fields option cannot fetch (their mappers have no value fetcher).
_INTERNAL_FIELDS = frozenset({"_seq_no", "_source", "_feature", "_nested_path", "_field_names"})


def _check_fetchable(fields: list[Any]) -> None:
    for item in fields:
        name = item if isinstance(item, str) else item.get("field")
        if name in _INTERNAL_FIELDS:
            raise IllegalArgument(f"error fetching [{name}]: Cannot fetch values for internal field [{name}].")


def _field_list(key: str, raw: Any) -> list[Any]:
    """``fields`` / ``docvalue_fields``: an array of names or ``{"field": name, "format": f}`` objects."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ParsingError(f"Expected [START_ARRAY] in [{key}] but found [{_token(raw)}]")
    for item in raw:
        if isinstance(item, str):
            continue
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            raise ParsingError(f"Expected [VALUE_STRING] or [START_OBJECT] in [{key}] but found [{_token(item)}]")
        for name, value in item.items():
            if name not in ("field", "format", "include_unmapped"):
                raise ParsingError(f"[{key}] unknown field [{name}]")
            if name == "format" and not isinstance(value, str):
                raise ParsingError(f"[{key}] failed to parse field [format]")
    return list(raw)


class NumberFormatError(IllegalArgument):
    """Java's ``NumberFormatException``: a 400 of its own type."""

    es_type = "number_format_exception"


def _min_score(value: Any) -> float:
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise NumberFormatError(f'For input string: "{value}"') from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ParsingError(f"[min_score] failed to parse field [{_token(value)}]")
    if math.isnan(number):
        raise NumberFormatError(f'For input string: "{value}"')
    return number


def query_from_params(params: MappingABC[str, str]) -> dict[str, Any]:
    """The ``query_string`` query that ``?q=`` (with ``df``, ``lenient``, …) stands for."""
    qs: dict[str, Any] = {"query": params["q"]}
    for param, key in (("df", "default_field"), ("default_operator", "default_operator"), ("analyzer", "analyzer")):
        if param in params:
            qs[key] = params[param]
    for name in ("lenient", "analyze_wildcard"):
        if name in params:
            value = params[name]
            if value not in ("", "true", "false"):
                raise IllegalArgument(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")
            qs[name] = value != "false"
    return {"query_string": qs}


_TIME_VALUE = re.compile(r"(.*?)\s*(nanos|micros|ms|s|m|h|d)")
_TIME_UNITS = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_timeout(raw: Any, name: str = "timeout") -> float | None:
    """An ES time value (``500ms``, ``2s``, ``1m``) → seconds, read as ES's ``TimeValue.parseTimeValue`` does
    (whole numbers only); ``-1`` (no timeout) and None → None."""
    if raw is None:
        return None
    if isinstance(raw, dict | list):
        token = "START_OBJECT" if isinstance(raw, dict) else "START_ARRAY"
        raise ParsingError(f"Unknown key for a {token} in [{name}].")
    text = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
    value = text.strip().lower()
    if value in ("-1", "0"):
        return None if value == "-1" else 0.0
    match = _TIME_VALUE.fullmatch(value)
    if match is None:
        raise ElasticsearchParseError(
            f"failed to parse setting [{name}] with value [{text}] as a time value: unit is missing or unrecognized"
        )
    number = match.group(1).strip()
    if not re.fullmatch(r"[+-]?\d+", number):
        fractional = re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", number) is not None
        raise ElasticsearchParseError(f"failed to parse [{text}]" + (", fractional time values are not supported"
                                                                   if fractional else ""))  # fmt: skip
    if int(number) < -1:
        raise IllegalArgument(f"failed to parse setting [{name}] with value [{text}] as a time value: negative "
                              "durations are not supported")  # fmt: skip
    return None if int(number) == -1 else int(number) * _TIME_UNITS[match.group(2)]


def _int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise IllegalArgument(f"Failed to parse int parameter [{name}] with value [{value}]") from None
    return number


def routing_values(params: MappingABC[str, str]) -> tuple[str, ...]:
    """``?routing=a,b`` → ``("a", "b")`` (empty values dropped, as ES's ``Strings.splitStringByCommaToArray``)."""
    return tuple(value for value in params.get("routing", "").split(",") if value)


def preferred_shards(preference: str | None) -> tuple[int, ...]:
    """The shard numbers of a ``_shards:0,2`` preference (before any ``|`` that follows it), else ``()``.

    Every other preference (``_local``, ``_only_local``, ``_prefer_nodes:…``, a custom string) picks among the
    copies of a shard: with one copy of each shard here, they all read the same data."""
    if not preference or not preference.startswith("_shards:"):
        return ()
    listed = preference.removeprefix("_shards:").split("|", 1)[0]
    try:
        shards = tuple(sorted({int(part) for part in listed.split(",") if part.strip()}))
    except ValueError:
        raise IllegalArgument(f"Failed to parse preference [{preference}]: shard ids must be integers") from None
    if not shards or any(shard < 0 for shard in shards):
        raise IllegalArgument(f"Failed to parse preference [{preference}]: no valid shard ids")
    return shards


def parse_search(body: MappingABC[str, Any] | None, params: MappingABC[str, str]) -> SearchSpec:
    """Body and URL parameters → ``SearchSpec``; URL parameters win, as in ES."""
    body = dict(body or {})
    for key in body:
        if key not in SEARCH_BODY_KEYS:
            raise ParsingError(f"Unknown key for a START_OBJECT in [{key}].")
    if body.get("runtime_mappings"):
        raise ScriptingDisabled("cannot execute [inline] scripts")
    ext = body.get("ext")
    if isinstance(ext, dict) and ext:  # sections for search plugins: this server has none
        raise XContentParseError(f"[ext] unknown search extension section [{next(iter(ext))}]")
    if body.get("collapse") and body.get("rescore"):
        raise ActionRequestValidation("Validation Failed: 1: cannot use `collapse` in conjunction with `rescore`;")
    if body.get("collapse") is not None:
        validate_collapse_early(body, "scroll" in params)
        validate_collapse(body, parse_collapse(body["collapse"]))  # type: ignore[arg-type]
    for key in _NOT_IMPLEMENTED:
        if body.get(key):  # asked for, it would change the answer: say so rather than ignore it
            raise IllegalArgument(f"[{key}] is not supported in a search request by this server")
    for key in ("version", "seq_no_primary_term", "explain", "track_scores"):
        if key in body and not isinstance(body[key], bool) and body[key] not in ("true", "false"):
            raise ParsingError(f"[{key}] expected a boolean but found [{_token(body[key])}]")
    spec = SearchSpec()
    spec.query = body.get("query")
    if "q" in params:
        spec.query = query_from_params(params)
    spec.from_ = _int(params.get("from", body.get("from", 0)), "from")
    spec.size = _int(params.get("size", body.get("size", 10)), "size")
    if spec.from_ < 0:
        raise IllegalArgument(f"[from] parameter cannot be negative, found [{spec.from_}]")
    if params.get("size") == "-1":  # ES 8: ``?size=-1`` is deprecated and read as not set (a body's -1 is a 400)
        spec.size = _int(body.get("size", 10), "size")
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
    tth: Any = params.get("track_total_hits", body.get("track_total_hits"))
    if isinstance(tth, str):
        tth = True if tth == "true" else False if tth == "false" else _int(tth, "track_total_hits")
    if tth is not None and not isinstance(tth, bool):
        if not isinstance(tth, int):
            raise ParsingError(f"[track_total_hits] failed to parse field [{tth}]")
        if tth < -1:
            raise IllegalArgument(f"[track_total_hits] parameter must be positive or equals to -1, got {tth}")
        tth = False if tth == -1 else tth
    if "min_score" in body:
        spec.min_score = _min_score(body["min_score"])
    if any(k in params for k in ("_source", "_source_includes", "_source_excludes")):
        spec.source = parse_source_filter(
            params.get("_source"), params.get("_source_includes"), params.get("_source_excludes")
        )
    else:
        spec.source = parse_source_filter(body.get("_source"))
    spec.highlight = body.get("highlight")
    if spec.highlight is not None:
        for highlight in parse_highlight(spec.highlight):
            if highlight.highlight_query is not None:  # a bad highlight_query is a 400 before fan-out
                parse_query(highlight.highlight_query)
    if "docvalue_fields" in params:
        spec.docvalue_fields = [f for f in params["docvalue_fields"].split(",") if f]
    else:
        spec.docvalue_fields = _field_list("docvalue_fields", body.get("docvalue_fields"))
    spec.fields = _field_list("fields", body.get("fields"))
    if spec.fields and spec.aggs:
        spec.aggs = _top_hits_with_fields(spec.aggs, spec.fields)
    _check_fetchable(spec.fields)
    _parse_stored_fields(spec, body, params)
    spec.version = str(params.get("version", body.get("version", False))).lower() == "true"
    spec.seq_no_primary_term = (
        str(params.get("seq_no_primary_term", body.get("seq_no_primary_term", False))).lower() == "true"
    )
    spec.track_scores = bool(body.get("track_scores", False))
    raw_timeout = params["timeout"] if "timeout" in params else body.get("timeout")
    spec.timeout_s = parse_timeout(raw_timeout)
    spec.timeout = None if raw_timeout is None else str(raw_timeout)
    partial = params.get("allow_partial_search_results", "true")
    if partial not in ("", "true", "false"):
        raise IllegalArgument(f"Failed to parse value [{partial}] as only [true] or [false] are allowed.")
    spec.allow_partial_search_results = partial != "false"
    spec.post_filter = body.get("post_filter")
    spec.rest_total_hits_as_int = params.get("rest_total_hits_as_int", "false") in ("true", "")
    if spec.rest_total_hits_as_int:
        if tth is None:
            tth = True
        elif tth is not True and tth is not False:
            raise IllegalArgument(
                f"[rest_total_hits_as_int] cannot be used if the tracking of total hits is not accurate, got {tth}"
            )
    spec.track_total_hits = 10_000 if tth is None else tth
    raw_ta = params.get("terminate_after", body.get("terminate_after"))
    if raw_ta is not None:
        terminate_after = _int(raw_ta, "terminate_after")
        if terminate_after < 0:
            raise IllegalArgument("terminateAfter must be > 0")
        spec.terminate_after = terminate_after or None
    spec.indices_boost = _parse_indices_boost(body.get("indices_boost"))
    spec.explain = str(params.get("explain", body.get("explain", False))).lower() == "true"
    for param, least, java in (("pre_filter_shard_size", 1, "preFilterShardSize"),
                               ("batched_reduce_size", 2, "batchedReduceSize"),
                               ("max_concurrent_shard_requests", 1, "maxConcurrentShardRequests")):  # fmt: skip
        # coordinator tuning only (the answer is the same), but a value ES refuses is refused here too
        if param in params and _int(params[param], param) < least:
            raise IllegalArgument(f"{java} must be >= {least}")
    if "pre_filter_shard_size" in params:
        spec.pre_filter_shard_size = _int(params["pre_filter_shard_size"], "pre_filter_shard_size")
    spec.routing = routing_values(params)
    spec.only_shards = preferred_shards(params.get("preference"))
    spec.preference = params.get("preference")
    CopyPreference.parse(spec.preference)  # an unknown ``_name`` is a 400 before any fan-out
    if "request_cache" in params:
        spec.request_cache = params["request_cache"] in ("true", "")
    spec.stats_groups = parse_stats_groups(body.get("stats"), params.get("stats"))
    search_type = params.get("search_type", "query_then_fetch")
    if search_type not in ("query_then_fetch", "dfs_query_then_fetch"):
        raise IllegalArgument(f"No search type for [{search_type}]")
    spec.dfs = search_type == "dfs_query_then_fetch"
    if "scroll" in params:
        _validate_scroll(spec, body, params)
    spec.collapse = parse_collapse(body.get("collapse"))
    if "profile" in body:
        if not isinstance(body["profile"], bool):
            raise ParsingError(f"[profile] expected a boolean but found [{_token(body['profile'])}]")
        spec.profile = body["profile"]
    spec.pit = parse_pit(body.get("pit"), _keep_alive)
    spec.slice = parse_slice(body.get("slice"))
    validate_contexts(spec.pit, spec.slice, "scroll" in params, params)
    if body.get("suggest") is not None:
        parse_suggest(body["suggest"])  # a bad suggestion is a 400 before fan-out
        spec.suggest = body["suggest"]
    if body.get("rescore") is not None:
        spec.rescore = parse_rescore(body["rescore"])
        if spec.explicit_sort and not all(s.field == "_score" and s.reverse for s in spec.sort):
            raise IllegalArgument("Cannot use [sort] option in conjunction with [rescore].")
    if body.get("script_fields"):
        # refused as scripts once the index's max_script_fields is checked (``cluster.root.validate_window``)
        spec.script_fields = len(body["script_fields"]) if isinstance(body["script_fields"], dict) else 1
    spec.include_named_queries_score = params.get("include_named_queries_score", "false") in ("true", "")
    return spec


def _keep_alive(value: str) -> float:
    try:
        return parse_time_value(value)
    except ValueError as exc:
        raise IllegalArgument(
            f"failed to parse setting [keep_alive] with value [{value}] as a time value: {exc}"
        ) from None


def _parse_stored_fields(spec: SearchSpec, body: MappingABC[str, Any], params: MappingABC[str, str]) -> None:
    raw: Any = params["stored_fields"].split(",") if "stored_fields" in params else body.get("stored_fields")
    if raw is None:
        return
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ParsingError(f"Expected [VALUE_STRING] or [START_ARRAY] in [stored_fields] but found [{_token(raw)}]")
    source_explicit = "_source" in body or any(k.startswith("_source") for k in params)
    if names == ["_none_"]:
        if source_explicit and spec.source.enabled:
            raise IllegalArgument("[stored_fields] cannot be disabled if [_source] is requested")
        if spec.fields:
            raise IllegalArgument("[stored_fields] cannot be disabled when using the [fields] option")
        spec.stored_fields = ()
        spec.hide_id = True
        spec.source = SourceFilter(enabled=False)
        return
    spec.stored_fields = tuple(n for n in names if n != "_source")
    if "_source" not in names and not source_explicit:
        spec.source = SourceFilter(enabled=False)


def _parse_indices_boost(raw: Any) -> list[tuple[str, float]]:
    if raw is None:
        return []
    entries = list(raw.items()) if isinstance(raw, dict) else []
    if isinstance(raw, list):
        for item in raw:
            if not isinstance(item, dict) or len(item) != 1:
                raise ParsingError("[indices_boost] expects an array of single-key objects")
            entries.extend(item.items())
    elif not isinstance(raw, dict):
        raise ParsingError("[indices_boost] must be an array of objects")
    out = []
    for name, boost in entries:
        if isinstance(boost, bool) or not isinstance(boost, int | float):
            raise ParsingError(f"[indices_boost] expects a number for [{name}] but found [{boost}]")
        out.append((str(name), float(boost)))
    return out


def _validate_scroll(spec: SearchSpec, body: MappingABC[str, Any], params: MappingABC[str, str]) -> None:
    """``SearchRequest.validate`` for scroll searches: every problem listed, as ES does."""
    problems: list[str] = []
    if spec.request_cache:
        problems.append("[request_cache] cannot be used in a scroll context")
    if spec.from_ > 0:
        problems.append("using [from] is not allowed in a scroll context")
    if spec.size == 0:
        problems.append("[size] cannot be [0] in a scroll context")
    if spec.search_after is not None:
        problems.append("[search_after] cannot be used in a scroll context")
    if problems:
        listed = "".join(f"{i}: {p};" for i, p in enumerate(problems, 1))
        raise ActionRequestValidation(f"Validation Failed: {listed}")
