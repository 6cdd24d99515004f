"""query_string (Lucene syntax, parsed with luqum) and simple_query_string (own parser, never fails).

Both become ordinary AST nodes at parse time. A term without a field runs against the query's
``fields`` / ``default_field`` through ``MultiField`` (``*`` = the index's default fields, resolved at
compile time, and lenient as in ES). Parentheses deeper than the nesting limit are refused before
luqum sees the string, and every produced leaf counts towards the clause limit.
"""

from __future__ import annotations

import re
from typing import Any

from luqum import tree as T
from luqum.exceptions import ParseError as LuqumParseError
from luqum.parser import parser as luqum_parser

from native.errors import ParsingError
from native.query.ast import (
    Bool,
    Exists,
    FieldBoost,
    Match,
    MatchAll,
    MatchNone,
    MatchPhrase,
    MultiField,
    QueryAst,
    Range,
    Regexp,
    Wildcard,
)
from native.query.full_text import parse_field_boosts
from native.query.limits import ParseContext, check_regex_length, too_deep, too_many_clauses
from native.query.params import as_bool, as_float, as_str, check_params, expect_object

__all__ = ["PARSERS"]

_QS_OPTS = (
    "query",
    "default_field",
    "fields",
    "default_operator",
    "analyze_wildcard",
    "lenient",
    "analyzer",
    "allow_leading_wildcard",
    "minimum_should_match",
    "fuzziness",
    "fuzzy_prefix_length",
    "fuzzy_max_expansions",
    "fuzzy_transpositions",
    "phrase_slop",
    "tie_breaker",
    "type",
    "time_zone",
    "quote_field_suffix",
    "auto_generate_synonyms_phrase_query",
    "max_determinized_states",
    "enable_position_increments",
    "escape",
    "rewrite",
    "quote_analyzer",
    "flags",
    "analyze_wildcard",
    "fuzzy_rewrite",
)


class _Builder:
    """Turns parsed query-string pieces into AST nodes for one query's options."""

    def __init__(self, name: str, body: dict[str, Any], ctx: ParseContext) -> None:
        self.ctx = ctx
        self.name = name
        fields = body.get("fields")
        if fields is None and body.get("default_field") is not None:
            fields = [as_str(name, "default_field", body["default_field"])]
        self.fields = parse_field_boosts(name, fields)
        self.operator = str(body.get("default_operator", "or")).lower()
        if self.operator not in ("and", "or"):
            raise ParsingError(f"[{name}] query does not support [default_operator] value [{self.operator}]")
        self.lenient = as_bool(name, "lenient", body.get("lenient", False))
        self.analyze_wildcard = as_bool(name, "analyze_wildcard", body.get("analyze_wildcard", False))
        self.phrase_slop = int(body.get("phrase_slop", 0))
        self.tie_breaker = as_float(name, "tie_breaker", body.get("tie_breaker", 0.0))
        self.time_zone = body.get("time_zone")
        self.combine = "sum" if body.get("type") == "most_fields" else "dis_max"
        analyzer = body.get("analyzer")
        self.analyzer = None if analyzer is None else as_str(name, "analyzer", analyzer)
        quote = body.get("quote_analyzer")
        self.quote_analyzer = self.analyzer if quote is None else as_str(name, "quote_analyzer", quote)

    def on_fields(self, field: str | None, template: QueryAst) -> QueryAst:
        self.ctx.count()
        if field is not None and "*" not in field:
            return _with_field(template, field)
        fields = self.fields if field is None else (FieldBoost(field),)
        return MultiField(fields, template, combine=self.combine, tie_breaker=self.tie_breaker, lenient=self.lenient)

    def word(self, field: str | None, text: str, fuzzy: str | int | None = None) -> QueryAst:
        if field == "_exists_":
            self.ctx.count()
            return Exists(text)
        if text == "*" and field is None:
            self.ctx.count()
            return MatchAll()
        if text == "*":
            return self.on_fields(None, Exists(field or "")) if "*" in (field or "") else Exists(field or "")
        if _has_wildcard(text):
            # Lucene's query parser runs wildcard terms through the analyzer's normalizer (lowercase)
            return self.on_fields(field, Wildcard("", text, analyze=True))
        return self.on_fields(
            field,
            Match(
                "", _unescape(text), operator=self.operator, fuzziness=fuzzy, lenient=self.lenient,
                analyzer=self.analyzer,
            ),
        )  # fmt: skip

    def phrase(self, field: str | None, text: str, slop: int | None = None) -> QueryAst:
        slop = self.phrase_slop if slop is None else slop
        return self.on_fields(
            field, MatchPhrase("", text, slop=slop, lenient=self.lenient, analyzer=self.quote_analyzer)
        )

    def range(self, field: str | None, lo: str | None, hi: str | None, inc_lo: bool, inc_hi: bool) -> QueryAst:
        # Lucene's endpoints: ``*`` is open, quotes are dropped and escapes discarded (``12\:00``, ``"12:00"``)
        lo = None if lo in (None, "*") else _unescape(lo[1:-1] if len(lo) > 1 and lo[0] == lo[-1] == '"' else lo)
        hi = None if hi in (None, "*") else _unescape(hi[1:-1] if len(hi) > 1 and hi[0] == hi[-1] == '"' else hi)
        return self.on_fields(field, Range("", lo, hi, inc_lo, inc_hi, time_zone=self.time_zone))

    def combine_clauses(self, items: list[tuple[str, QueryAst]]) -> QueryAst:
        """``items`` of (occur, node) where occur is must / should / must_not."""
        if len(items) == 1 and items[0][0] != "must_not":
            return items[0][1]
        must = tuple(n for o, n in items if o == "must")
        should = tuple(n for o, n in items if o == "should")
        must_not = tuple(n for o, n in items if o == "must_not")
        return Bool(must=must, should=should, must_not=must_not)


def _with_field(template: QueryAst, field: str) -> QueryAst:
    from dataclasses import replace

    return replace(template, field=field)  # type: ignore[call-arg]


def _has_wildcard(text: str) -> bool:
    return re.search(r"(?<!\\)[*?]", text) is not None


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


# -- query_string -------------------------------------------------------------------------------------


def _max_paren_depth(text: str) -> int:
    depth = best = 0
    escaped = in_quote = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            in_quote = not in_quote
        elif not in_quote and ch == "(":
            depth += 1
            best = max(best, depth)
        elif not in_quote and ch == ")":
            depth -= 1
    return best


def _convert(node: Any, b: _Builder, field: str | None, occur_default: str, depth: int = 0) -> QueryAst:
    """Recursion is bounded: every level counts against the nesting limit (``NOT NOT NOT …`` too)."""
    depth += 1
    if depth > 4 * b.ctx.max_nested_depth:  # groups cost ~2 levels each; paren depth is checked apart
        raise too_deep()
    if isinstance(node, T.SearchField):
        name = _unescape(node.name)
        return _convert(node.expr, b, name, occur_default, depth)
    if isinstance(node, T.Group | T.FieldGroup):
        return _convert(node.expr, b, field, occur_default, depth)
    if isinstance(node, T.Boost):
        inner = _convert(node.expr, b, field, occur_default, depth)
        return Bool(must=(inner,), boost=float(node.force)) if float(node.force) != 1.0 else inner
    if isinstance(node, T.Word):
        return b.word(field, node.value)
    if isinstance(node, T.Phrase):
        return b.phrase(field, node.value[1:-1].replace('\\"', '"'))
    if isinstance(node, T.Proximity):
        return b.phrase(field, node.term.value[1:-1], int(node.degree))
    if isinstance(node, T.Fuzzy):
        degree = float(node.degree)
        fz: str | int = "AUTO" if degree < 1 else min(int(degree), 2)
        return b.word(field, node.term.value, fz)
    if isinstance(node, T.Regex):
        b.ctx.count()
        check_regex_length(node.value[1:-1], b.ctx.max_regex_length)
        return b.on_fields(field, Regexp("", node.value[1:-1]))
    if isinstance(node, T.Range):
        return b.range(field, node.low.value, node.high.value, node.include_low, node.include_high)
    if isinstance(node, T.From):
        return b.range(field, node.a.value, None, node.include, True)
    if isinstance(node, T.To):
        return b.range(field, None, node.a.value, True, node.include)
    if isinstance(node, T.Not | T.Prohibit):
        return Bool(must_not=(_convert(node.a, b, field, occur_default, depth),))
    if isinstance(node, T.Plus):
        return _convert(node.a, b, field, occur_default, depth)
    if isinstance(node, T.BaseOperation):
        if isinstance(node, T.AndOperation):
            default = "must"
        elif isinstance(node, T.OrOperation):
            default = "should"
        else:
            default = "must" if b.operator == "and" else "should"
        items: list[tuple[str, QueryAst]] = []
        for child in node.children:
            if isinstance(child, T.Not | T.Prohibit):
                items.append(("must_not", _convert(child.a, b, field, default, depth)))
            elif isinstance(child, T.Plus):
                items.append(("must", _convert(child.a, b, field, default, depth)))
            else:
                items.append((default, _convert(child, b, field, default, depth)))
        return b.combine_clauses(items)
    raise ParsingError(f"Failed to parse query [{node}]")


def parse_query_string(body: Any, ctx: ParseContext) -> QueryAst:
    body = expect_object("query_string", body)
    check_params("query_string", body, _QS_OPTS)
    if body.get("query") is None:
        raise ParsingError("[query_string] must be provided with a [query]")
    text = as_str("query_string", "query", body["query"])
    builder = _Builder("query_string", body, ctx)
    if _max_paren_depth(text) + ctx.depth > ctx.max_nested_depth:
        raise too_deep()
    if not text.strip():
        return MatchNone()
    words = [w for w in text.split() if w not in ("AND", "OR", "NOT", "&&", "||")]
    if ctx.clauses + len(words) > ctx.max_clause_count:
        raise too_many_clauses(ctx.max_clause_count)  # refuse before luqum spends time on it
    try:
        tree = luqum_parser.parse(text)
    except (LuqumParseError, RecursionError, Exception) as exc:
        raise ParsingError(f"Failed to parse query [{text}]") from exc
    result = _convert(tree, builder, None, "should")
    boost = as_float("query_string", "boost", body.get("boost", 1.0))
    return Bool(must=(result,), boost=boost) if boost != 1.0 else result


# -- simple_query_string ------------------------------------------------------------------------------

_SQS_TOKEN = re.compile(r'\s+|"(?:[^"\\]|\\.)*"?(?:~\d+)?|[+|\-()]|(?:[^\s"+|()\\]|\\.)+')


def _sqs_term(token: str, b: _Builder) -> QueryAst | None:
    if token.startswith('"'):
        body, _, slop = token.rpartition("~") if re.search(r'"~\d+$', token) else (token, "", "")
        phrase = body.strip('"').replace('\\"', '"')
        if not phrase.strip():
            return None
        return b.phrase(None, phrase, int(slop) if slop else None)
    text = token
    fz: str | int | None = None
    if re.search(r"~\d*$", text) and not text.endswith("\\~"):
        text, _, n = text.rpartition("~")
        fz = min(int(n), 2) if n else "AUTO"
    text = _unescape(text)
    if not text:
        return None
    if text.endswith("*") and len(text) > 1:
        literal = re.sub(r"([\\*?])", r"\\\1", text[:-1])
        return b.on_fields(None, Wildcard("", literal + "*", analyze=True))
    if text == "*":
        b.ctx.count()
        return MatchAll()
    return b.on_fields(None, Match("", text, operator=b.operator, fuzziness=fz, lenient=True, analyzer=b.analyzer))


def parse_simple_query_string(body: Any, ctx: ParseContext) -> QueryAst:
    body = expect_object("simple_query_string", body)
    check_params("simple_query_string", body, _QS_OPTS)
    if body.get("query") is None:
        raise ParsingError("[simple_query_string] query text missing")
    text = as_str("simple_query_string", "query", body["query"])
    b = _Builder("simple_query_string", body, ctx)
    b.lenient = True
    default_op = b.operator
    # Lucene's SimpleQueryParser reads left to right; a run of one operator is one bool. An explicit
    # stack keeps deep parentheses from recursing; parentheses beyond the depth limit are flattened.
    stack: list[_Frame] = [_Frame()]
    pending_op: str | None = None
    negate = False
    depth_limit = max(1, ctx.max_nested_depth - ctx.depth)
    flattened = 0

    def push(node: QueryAst) -> None:
        nonlocal pending_op, negate
        stack[-1].add(Bool(must_not=(node,)) if negate else node, pending_op or default_op)
        pending_op, negate = None, False

    for token in _SQS_TOKEN.findall(text):
        if token.isspace() or not token:
            continue
        if token == "|":
            pending_op = "or"
        elif token == "+":
            pending_op = "and"
        elif token == "-":
            negate = True
        elif token == "(":
            if len(stack) >= depth_limit:
                flattened += 1
                continue
            frame = _Frame(negate=negate, op=pending_op)
            pending_op, negate = None, False
            stack.append(frame)
        elif token == ")":
            if flattened:
                flattened -= 1
            elif len(stack) > 1:
                _close(stack, default_op)
        else:
            node = _sqs_term(token, b)
            if node is not None:
                push(node)
    while len(stack) > 1:
        _close(stack, default_op)
    result = stack[0].result()
    if result is None:
        return MatchNone()
    boost = as_float("simple_query_string", "boost", body.get("boost", 1.0))
    return Bool(must=(result,), boost=boost) if boost != 1.0 else result


class _Frame:
    def __init__(self, negate: bool = False, op: str | None = None) -> None:
        self.items: list[QueryAst] = []
        self.run_op: str | None = None
        self.negate = negate
        self.op = op  # operator joining this group to what precedes it

    def add(self, node: QueryAst, op: str) -> None:
        if len(self.items) > 1 and self.run_op != op:
            self.items = [self._collapse()]
        if self.items:
            self.run_op = op
        self.items.append(node)

    def _collapse(self) -> QueryAst:
        if len(self.items) == 1:
            return self.items[0]
        if self.run_op == "and":
            return Bool(must=tuple(self.items))
        return Bool(should=tuple(self.items))

    def result(self) -> QueryAst | None:
        return self._collapse() if self.items else None


def _close(stack: list[_Frame], default_op: str) -> None:
    frame = stack.pop()
    node = frame.result()
    if node is not None:
        stack[-1].add(Bool(must_not=(node,)) if frame.negate else node, frame.op or default_op)


PARSERS = {
    "query_string": parse_query_string,
    "simple_query_string": parse_simple_query_string,
}
