"""Term-level queries: term, terms, range, exists, ids, prefix, wildcard, regexp, fuzzy.

Values are kept as sent; the compiler reads them according to the field's mapped type.
"""

from __future__ import annotations

from typing import Any

from native.errors import IllegalArgument, ParsingError
from native.query.ast import Exists, Fuzzy, Ids, Prefix, Range, Regexp, Term, Terms, TermsLookup, Wildcard
from native.query.limits import ParseContext, check_regex_length, check_terms_count
from native.query.lookup import parse_lookup
from native.query.params import (
    as_bool,
    as_float,
    as_int,
    as_str,
    check_params,
    expect_object,
    fuzziness,
    single_field,
)

__all__ = ["PARSERS"]


def _scalar(name: str, value: Any) -> str | int | float | bool:
    if value is None:
        raise IllegalArgument(f"[{name}] value cannot be null")
    if isinstance(value, dict | list):
        raise ParsingError(f"[{name}] query does not support array of values")
    return value  # type: ignore[no-any-return]


def _field_value(name: str, body: Any, allowed: tuple[str, ...]) -> tuple[str, Any, dict[str, Any]]:
    """``{field: value}`` or ``{field: {"value": v, ...opts}}`` → (field, value, opts)."""
    fname, raw = single_field(name, body)
    if isinstance(raw, dict):
        check_params(name, raw, ("value", *allowed))
        if "value" not in raw:
            raise IllegalArgument(f"[{name}] query requires a value" if name != "term" else "value cannot be null")
        return fname, _scalar(name, raw["value"]), raw
    if isinstance(raw, list):
        raise ParsingError(f"[{name}] query does not support array of values")
    return fname, _scalar(name, raw), {}


def parse_term(body: Any, ctx: ParseContext) -> Term:
    fname, value, opts = _field_value("term", body, ("case_insensitive",))
    ctx.count()
    return Term(
        fname,
        value,
        boost=as_float("term", "boost", opts.get("boost", 1.0)),
        case_insensitive=as_bool("term", "case_insensitive", opts.get("case_insensitive", False)),
    )


def parse_terms(body: Any, ctx: ParseContext) -> Terms | TermsLookup:
    body = expect_object("terms", body)
    boost = as_float("terms", "boost", body.get("boost", 1.0))
    fields = [k for k in body if k not in ("boost", "_name")]
    if not fields:
        raise ParsingError("[terms] query requires a field name")
    if len(fields) > 1:
        raise ParsingError(f"[terms] query does not support multiple fields, found [{fields[0]}] and [{fields[1]}]")
    fname = fields[0]
    values = body[fname]
    if isinstance(values, dict):
        ctx.count()
        return TermsLookup(fname, *parse_lookup(values), boost=boost)
    if not isinstance(values, list):
        raise ParsingError(f"[terms] query does not support [{fname}]")
    check_terms_count(len(values), ctx.max_terms_count)
    for v in values:
        if v is None or isinstance(v, dict | list):
            raise ParsingError("[terms] query does not support null or object values")
    ctx.count()
    return Terms(fname, tuple(values), boost=boost)


_RANGE_KEYS = (
    "gt",
    "gte",
    "lt",
    "lte",
    "from",
    "to",
    "include_lower",
    "include_upper",
    "format",
    "time_zone",
    "relation",
)


def parse_range(body: Any, ctx: ParseContext) -> Range:
    fname, raw = single_field("range", body)
    opts = expect_object("range", raw)
    check_params("range", opts, _RANGE_KEYS)
    lower = opts.get("from")
    upper = opts.get("to")
    include_lower = as_bool("range", "include_lower", opts.get("include_lower", True))
    include_upper = as_bool("range", "include_upper", opts.get("include_upper", True))
    for key in ("gt", "gte"):
        if key in opts:
            lower, include_lower = opts[key], key == "gte"
    for key in ("lt", "lte"):
        if key in opts:
            upper, include_upper = opts[key], key == "lte"
    for v in (lower, upper):
        if isinstance(v, dict | list):
            raise ParsingError("[range] query does not support object or array bounds")
    raw_relation = opts.get("relation", "intersects")
    relation = str(raw_relation).lower()
    if relation not in ("intersects", "within", "contains"):
        raise ParsingError(f"[range] query does not support relation [{raw_relation}]")
    ctx.count()
    return Range(
        fname,
        lower,
        upper,
        include_lower=include_lower,
        include_upper=include_upper,
        format=as_str("range", "format", opts["format"]) if "format" in opts else None,
        time_zone=as_str("range", "time_zone", opts["time_zone"]) if "time_zone" in opts else None,
        boost=as_float("range", "boost", opts.get("boost", 1.0)),
        relation=relation,
    )


def parse_exists(body: Any, ctx: ParseContext) -> Exists:
    body = expect_object("exists", body)
    check_params("exists", body, ("field",))
    if not body.get("field"):
        raise IllegalArgument("[exists] must be provided with a [field]")
    ctx.count()
    return Exists(as_str("exists", "field", body["field"]), boost=as_float("exists", "boost", body.get("boost", 1)))


def parse_ids(body: Any, ctx: ParseContext) -> Ids:
    body = expect_object("ids", body)
    check_params("ids", body, ("values", "type"))
    values = body.get("values", [])
    if not isinstance(values, list):
        raise ParsingError("[ids] failed to parse field [values]")
    check_terms_count(len(values), ctx.max_terms_count)
    ctx.count()
    return Ids(
        tuple(as_str("ids", "values", v) for v in values),
        boost=as_float("ids", "boost", body.get("boost", 1)),
    )


def parse_prefix(body: Any, ctx: ParseContext) -> Prefix:
    fname, value, opts = _field_value("prefix", body, ("case_insensitive", "rewrite"))
    ctx.count()
    return Prefix(
        fname,
        as_str("prefix", "value", value),
        case_insensitive=as_bool("prefix", "case_insensitive", opts.get("case_insensitive", False)),
        boost=as_float("prefix", "boost", opts.get("boost", 1.0)),
    )


def parse_wildcard(body: Any, ctx: ParseContext) -> Wildcard:
    fname, raw = single_field("wildcard", body)
    if isinstance(raw, dict) and "wildcard" in raw and "value" not in raw:
        # ES accepts the pattern under "wildcard" as well as "value"
        raw = {("value" if k == "wildcard" else k): v for k, v in raw.items()}
    fname, value, opts = _field_value("wildcard", {fname: raw}, ("case_insensitive", "rewrite"))
    ctx.count()
    return Wildcard(
        fname,
        as_str("wildcard", "value", value),
        case_insensitive=as_bool("wildcard", "case_insensitive", opts.get("case_insensitive", False)),
        boost=as_float("wildcard", "boost", opts.get("boost", 1.0)),
    )


def parse_regexp(body: Any, ctx: ParseContext) -> Regexp:
    fname, value, opts = _field_value(
        "regexp", body, ("flags", "flags_value", "case_insensitive", "max_determinized_states", "rewrite")
    )
    pattern = as_str("regexp", "value", value)
    check_regex_length(pattern, ctx.max_regex_length)
    ctx.count()
    return Regexp(
        fname,
        pattern,
        flags=as_str("regexp", "flags", opts.get("flags", "ALL")),
        case_insensitive=as_bool("regexp", "case_insensitive", opts.get("case_insensitive", False)),
        boost=as_float("regexp", "boost", opts.get("boost", 1.0)),
    )


def parse_fuzzy(body: Any, ctx: ParseContext) -> Fuzzy:
    fname, value, opts = _field_value(
        "fuzzy", body, ("fuzziness", "prefix_length", "max_expansions", "transpositions", "rewrite")
    )
    ctx.count()
    return Fuzzy(
        fname,
        value,
        fuzziness=fuzziness("fuzzy", opts.get("fuzziness", "AUTO")),
        prefix_length=as_int("fuzzy", "prefix_length", opts.get("prefix_length", 0)),
        max_expansions=as_int("fuzzy", "max_expansions", opts.get("max_expansions", 50)),
        transpositions=as_bool("fuzzy", "transpositions", opts.get("transpositions", True)),
        boost=as_float("fuzzy", "boost", opts.get("boost", 1.0)),
    )


PARSERS = {
    "term": parse_term,
    "terms": parse_terms,
    "range": parse_range,
    "exists": parse_exists,
    "ids": parse_ids,
    "prefix": parse_prefix,
    "wildcard": parse_wildcard,
    "regexp": parse_regexp,
    "fuzzy": parse_fuzzy,
}
