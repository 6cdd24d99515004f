"""What a query asks the highlighter to mark: per-token matchers extracted from a ``QueryAst``.

tantivy's snippet generator only knows a query's plain terms on the very field highlighted, so the
highlighter also tests each token of a field value against matchers taken from the query tree: exact
terms (``term``, ``terms``, the analyzed tokens of ``match``-style queries), prefixes (``prefix``,
``match_phrase_prefix`` / ``match_bool_prefix`` last token), patterns (``wildcard``, ``regexp``) and
``fuzzy`` (edit distance). ``must_not`` clauses and ``boosting`` negatives mark nothing, as in ES.

With ``require_field_match`` (the default) only clauses on the highlighted field count; without, every
clause's terms are tried on it (their text analyzed by the analyzer of the field they were queried on).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from native.fields import FieldResolver
from native.query import ast as A
from native.query.term_centric import TermCentric

__all__ = ["TokenMatcher", "matchers_for"]


@dataclass(frozen=True)
class TokenMatcher:
    """Tests one analyzed token."""

    kind: str  # exact | prefix | regex | fuzzy
    value: str
    edits: int = 0
    case_insensitive: bool = False

    def __call__(self, token: str) -> bool:
        if self.case_insensitive:
            token = token.lower()
        if self.kind == "exact":
            return token == self.value
        if self.kind == "prefix":
            return token.startswith(self.value)
        if self.kind == "regex":
            return _compiled(self.value).fullmatch(token) is not None
        return _within_edits(token, self.value, self.edits)


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        try:
            compiled = re.compile(pattern, re.S)
        except re.error:
            compiled = re.compile(re.escape(pattern))
        if len(_REGEX_CACHE) < 1024:
            _REGEX_CACHE[pattern] = compiled
    return compiled


def _within_edits(a: str, b: str, edits: int) -> bool:
    if abs(len(a) - len(b)) > edits:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > edits:
            return False
        previous = current
    return previous[-1] <= edits


def _auto_edits(fuzziness: str | int | None, term: str) -> int:
    if fuzziness is None:
        return 0
    text = str(fuzziness).upper()
    if text.startswith("AUTO"):
        low, high = 3, 6
        if ":" in text:
            try:
                low, high = (int(x) for x in text[5:].split(","))
            except ValueError:
                pass
        n = len(term)
        return 0 if n < low else 1 if n < high else 2
    try:
        return min(int(float(text)), 2)
    except ValueError:
        return 0


def matchers_for(
    query: A.QueryAst, field: str, resolver: FieldResolver, *, require_field_match: bool = True
) -> list[TokenMatcher]:
    """The matchers of ``query`` that apply to the highlighted ``field``."""
    out: list[TokenMatcher] = []
    for node_field, matchers in _leaves(query, resolver):
        if not require_field_match or node_field == field:
            out.extend(matchers)
    return list(dict.fromkeys(out))


def _analyze(resolver: FieldResolver, field: str, text: str) -> list[str]:
    info = resolver.field(field)
    if info is None or info.analyze is None:
        return [text]
    return list(info.analyze(text))


_NEGATIVE = {("must_not", A.Bool), ("negative", A.Boosting)}


def _children(node: A.QueryAst) -> Iterator[A.QueryAst]:
    for f in dataclasses.fields(node):  # type: ignore[arg-type]
        if (isinstance(node, A.Bool) and f.name == "must_not") or (
            isinstance(node, A.Boosting) and f.name == "negative"
        ):
            continue
        value = getattr(node, f.name)
        if isinstance(value, A.QueryAst):
            yield value
        elif isinstance(value, tuple):
            yield from (v for v in value if isinstance(v, A.QueryAst))


def _leaves(node: A.QueryAst, resolver: FieldResolver) -> Iterator[tuple[str, list[TokenMatcher]]]:
    handler = _HANDLERS.get(type(node))
    if handler is not None:
        got = handler(node, resolver)
        if got is not None:
            yield got
        return
    if isinstance(node, TermCentric):
        for fb in node.fields:
            paths = [i.path for i in resolver.expand(fb.pattern)] if "*" in fb.pattern else [fb.pattern]
            for path in paths:
                yield path, [TokenMatcher("exact", t) for t in _analyze(resolver, path, str(node.query))]
        return
    if isinstance(node, A.MultiField):
        template = node.template
        for fb in node.fields:
            paths = [i.path for i in resolver.expand(fb.pattern)] if "*" in fb.pattern else [fb.pattern]
            for path in paths:
                yield from _leaves(dataclasses.replace(template, field=path), resolver)  # type: ignore[call-arg]
        return
    for child in _children(node):
        yield from _leaves(child, resolver)


Handler = Callable[[A.QueryAst, FieldResolver], "tuple[str, list[TokenMatcher]] | None"]


def _term(node: A.Term, resolver: FieldResolver) -> tuple[str, list[TokenMatcher]]:
    value = str(node.value).lower() if node.case_insensitive else str(node.value)
    return node.field, [TokenMatcher("exact", value, case_insensitive=node.case_insensitive)]


def _terms(node: A.Terms, resolver: FieldResolver) -> tuple[str, list[TokenMatcher]]:
    return node.field, [TokenMatcher("exact", str(v)) for v in node.values]


def _match(node: A.Match, resolver: FieldResolver) -> tuple[str, list[TokenMatcher]]:
    tokens = _analyze(resolver, node.field, str(node.query))
    out = [TokenMatcher("fuzzy", t, _auto_edits(node.fuzziness, t)) if node.fuzziness is not None
           else TokenMatcher("exact", t) for t in tokens]  # fmt: skip
    if node.prefix_last and tokens:
        out[-1] = TokenMatcher("prefix", tokens[-1])
    return node.field, out


def _phrase(node: A.MatchPhrase, resolver: FieldResolver) -> tuple[str, list[TokenMatcher]]:
    return node.field, [TokenMatcher("exact", t) for t in _analyze(resolver, node.field, str(node.query))]


def _phrase_prefix(node: A.MatchPhrasePrefix, resolver: FieldResolver) -> tuple[str, list[TokenMatcher]]:
    tokens = _analyze(resolver, node.field, str(node.query))
    out = [TokenMatcher("exact", t) for t in tokens[:-1]]
    if tokens:
        out.append(TokenMatcher("prefix", tokens[-1]))
    return node.field, out


def _prefix(node: A.Prefix, resolver: FieldResolver) -> tuple[str, list[TokenMatcher]]:
    value = node.value.lower() if node.case_insensitive else node.value
    return node.field, [TokenMatcher("prefix", value, case_insensitive=node.case_insensitive)]


def _wildcard(node: A.Wildcard, resolver: FieldResolver) -> tuple[str, list[TokenMatcher]]:
    value = node.value.lower() if node.case_insensitive else node.value
    pattern = fnmatch.translate(value).removesuffix(r"\Z").removeprefix("(?s:").removesuffix(")")
    return node.field, [TokenMatcher("regex", pattern, case_insensitive=node.case_insensitive)]


def _regexp(node: A.Regexp, resolver: FieldResolver) -> tuple[str, list[TokenMatcher]]:
    value = node.value.lower() if node.case_insensitive else node.value
    return node.field, [TokenMatcher("regex", value, case_insensitive=node.case_insensitive)]


def _fuzzy(node: A.Fuzzy, resolver: FieldResolver) -> tuple[str, list[TokenMatcher]]:
    value = str(node.value)
    return node.field, [TokenMatcher("fuzzy", value, _auto_edits(node.fuzziness, value))]


def _span_near(node: A.SpanNear, resolver: FieldResolver) -> tuple[str, list[TokenMatcher]]:
    return node.field, [TokenMatcher("exact", t) for t in node.terms]


_HANDLERS: dict[type, Handler] = {
    A.Term: _term,  # type: ignore[dict-item]
    A.Terms: _terms,  # type: ignore[dict-item]
    A.Match: _match,  # type: ignore[dict-item]
    A.MatchPhrase: _phrase,  # type: ignore[dict-item]
    A.MatchPhrasePrefix: _phrase_prefix,  # type: ignore[dict-item]
    A.Prefix: _prefix,  # type: ignore[dict-item]
    A.Wildcard: _wildcard,  # type: ignore[dict-item]
    A.Regexp: _regexp,  # type: ignore[dict-item]
    A.Fuzzy: _fuzzy,  # type: ignore[dict-item]
    A.SpanNear: _span_near,  # type: ignore[dict-item]
}
