"""``function_score``: its AST nodes and its parser (compiled by ``native.query.compile_function_score``).

Functions: ``weight``, ``field_value_factor`` (``factor``, ``modifier``, ``missing``), the decay functions
``gauss`` / ``exp`` / ``linear`` (``origin``, ``scale``, ``offset``, ``decay``, ``multi_value_mode``) on numeric,
date and geo_point fields, and ``random_score`` (``seed``, ``field``); each with an optional ``filter`` and
``weight``. ``score_mode``, ``boost_mode``, ``max_boost``, ``min_score`` and ``boost`` as in ES.
``script_score`` is refused by name: this server runs no scripts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from native.errors import ParsingError, ScriptingDisabled
from native.query.ast import MatchAll, QueryAst
from native.query.limits import ParseContext
from native.query.params import as_float, as_int, as_str, expect_object

__all__ = ["BOOST_MODES", "MODIFIERS", "PARSERS", "SCORE_MODES", "FunctionScore", "ScoreFunction"]

SCORE_MODES = ("multiply", "sum", "avg", "first", "max", "min")
BOOST_MODES = ("multiply", "replace", "sum", "avg", "max", "min")
MODIFIERS = ("none", "log", "log1p", "log2p", "ln", "ln1p", "ln2p", "square", "sqrt", "reciprocal")
DECAYS = ("gauss", "exp", "linear")
MULTI_VALUE_MODES = ("min", "max", "avg", "sum")
_FUNCTIONS = (*DECAYS, "field_value_factor", "random_score", "script_score")
_FLOAT_MAX = 3.4028234663852886e38  # Float.MAX_VALUE, ES's default max_boost


@dataclass(frozen=True)
class ScoreFunction:
    """One function. ``kind``: weight | field_value_factor | gauss | exp | linear | random_score."""

    kind: str
    filter: QueryAst | None = None
    weight: float | None = None
    field: str | None = None
    # field_value_factor
    factor: float = 1.0
    modifier: str = "none"
    missing: float | None = None
    # decay functions (values as sent: read by the field's type when compiled)
    origin: Any = None
    scale: Any = None
    offset: Any = 0
    decay: float = 0.5
    multi_value_mode: str = "min"
    # random_score
    seed: int | None = None


@dataclass(frozen=True)
class FunctionScore(QueryAst):
    query: QueryAst
    functions: tuple[ScoreFunction, ...] = ()
    score_mode: str = "multiply"
    boost_mode: str = "multiply"
    max_boost: float = _FLOAT_MAX
    min_score: float | None = None
    boost: float = 1.0


def _mode(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    text = str(value).lower()
    if text not in allowed:
        raise ParsingError(f"failed to parse [function_score] query. illegal {key} [{value}]")
    return text


def _field_value_factor(body: Any) -> dict[str, Any]:
    body = expect_object("field_value_factor", body)
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key == "field":
            out["field"] = as_str("field_value_factor", "field", value)
        elif key == "factor":
            out["factor"] = as_float("field_value_factor", "factor", value)
        elif key == "modifier":
            out["modifier"] = _mode("modifier", value, MODIFIERS)
        elif key == "missing":
            out["missing"] = as_float("field_value_factor", "missing", value)
        else:
            raise ParsingError(f"[field_value_factor] query does not support [{key}]")
    if "field" not in out:
        raise ParsingError("[field_value_factor] required field 'field' missing")
    return out


def _decay(kind: str, body: Any) -> dict[str, Any]:
    body = expect_object(kind, body)
    out: dict[str, Any] = {}
    field = None
    for key, value in body.items():
        if key == "multi_value_mode":
            out["multi_value_mode"] = _mode("multi_value_mode", value, MULTI_VALUE_MODES)
        elif isinstance(value, dict):
            if field is not None:
                raise ParsingError(f"[{kind}] query does not support multiple fields, found [{field}] and [{key}]")
            field = key
            for param in value:
                if param not in ("origin", "scale", "offset", "decay"):
                    raise ParsingError(f"parameter [{param}] not supported!")
            if value.get("scale") is None:
                raise ParsingError(f"[{kind}] must have a [scale] value")
            out.update(origin=value.get("origin"), scale=value["scale"], offset=value.get("offset", 0))
            decay = as_float(kind, "decay", value.get("decay", 0.5))
            if not 0.0 < decay < 1.0:
                raise ParsingError(f"decay must be in the range [0..1], got [{decay}]")
            out["decay"] = decay
        else:
            raise ParsingError(f"[{kind}] query does not support [{key}]")
    if field is None:
        raise ParsingError(f"[{kind}] requires a field object")
    out["field"] = field
    return out


def _random(body: Any) -> dict[str, Any]:
    body = expect_object("random_score", body)
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key == "seed":
            if isinstance(value, str):
                out["seed"] = hash_seed(value)
            else:
                out["seed"] = as_int("random_score", "seed", value)
        elif key == "field":
            out["field"] = as_str("random_score", "field", value)
        else:
            raise ParsingError(f"[random_score] query does not support [{key}]")
    return out


def hash_seed(text: str) -> int:
    """A string seed as ES reads it: the number it parses as, else a hash of the text."""
    try:
        return int(text)
    except ValueError:
        h = 0
        for ch in text:  # Java's String.hashCode, so a string seed is stable across processes
            h = (31 * h + ord(ch)) & 0xFFFFFFFF
        return h - (1 << 32) if h >= 1 << 31 else h


def _function(kind: str, body: Any) -> dict[str, Any]:
    if kind == "script_score":
        raise ScriptingDisabled("cannot execute [inline] scripts: [script_score] functions are not supported")
    if kind == "field_value_factor":
        return _field_value_factor(body)
    if kind == "random_score":
        return _random(body)
    return _decay(kind, body)


def _one_function(entry: Any, ctx: ParseContext) -> ScoreFunction:
    if not isinstance(entry, dict):
        raise ParsingError("failed to parse [function_score] query. malformed query, expected a [START_OBJECT]")
    kind: str | None = None
    params: dict[str, Any] = {}
    filter_ast: QueryAst | None = None
    weight: float | None = None
    for key, value in entry.items():
        if key == "filter":
            from native.query.compound import parse_inner

            filter_ast = parse_inner(value, ctx)
        elif key == "weight":
            weight = as_float("function_score", "weight", value)
        elif key in _FUNCTIONS:
            if kind is not None:
                raise ParsingError(
                    f"failed to parse function_score functions. already found [{kind}], now encountering [{key}]."
                )
            kind = key
            params = _function(key, value)
        else:
            raise ParsingError(f"function_score query does not support [{key}]")
    if kind is None:
        if weight is None:
            raise ParsingError("failed to parse [function_score] query. function has neither a function nor a weight")
        kind = "weight"
    return ScoreFunction(kind=kind, filter=filter_ast, weight=weight, **params)


def parse_function_score(body: Any, ctx: ParseContext) -> FunctionScore:
    from native.query.compound import parse_inner

    body = expect_object("function_score", body)
    query: QueryAst = MatchAll()
    functions: list[ScoreFunction] = []
    single: dict[str, Any] = {}
    found_array = False
    opts: dict[str, Any] = {}
    for key, value in body.items():
        if key == "query":
            query = parse_inner(value, ctx)
        elif key == "functions":
            if single:
                raise ParsingError(
                    f"failed to parse [function_score] query. already found [{next(iter(single))}], now encountering "
                    "[functions]."
                )
            if not isinstance(value, list):
                raise ParsingError("failed to parse [function_score] query. [functions] must be an array")
            functions.extend(_one_function(entry, ctx) for entry in value)
            found_array = True
        elif key in _FUNCTIONS or key == "weight":
            if found_array:
                raise ParsingError(
                    f"failed to parse [function_score] query. already found [functions] array, now encountering "
                    f"[{key}]."
                )
            single[key] = value
        elif key in ("score_mode", "boost_mode"):
            opts[key] = _mode(key, value, SCORE_MODES if key == "score_mode" else BOOST_MODES)
        elif key in ("max_boost", "min_score", "boost"):
            opts[key] = as_float("function_score", key, value)
        elif key == "_name":
            continue
        else:
            raise ParsingError(f"function_score query does not support [{key}]")
    if single:
        functions.append(_one_function(single, ctx))
    return FunctionScore(query=query, functions=tuple(functions), **opts)


PARSERS = {"function_score": parse_function_score}
