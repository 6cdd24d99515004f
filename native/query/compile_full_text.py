"""Compiling the full-text queries of ``native.query.full_text``: match, match_phrase(_prefix), multi-field."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import tantivy
from tantivy import Occur, Query

from native.errors import IllegalArgument
from native.fields import FieldInfo
from native.query import ast as A
from native.query.errors import QueryShardError
from native.query.index_field import INDEX_FIELD, INDEX_INFO
from native.query.limits import MAX_SLOP
from native.query.msm import resolve_msm
from native.query.patterns import escape
from native.query.term_centric import TermCentric, compile_term_centric
from native.query.values import NO_MATCH, BadValue, term_value

STRING_TYPES = frozenset({"text", "keyword", "match_only_text", "wildcard", "constant_keyword"})


class FullTextCompilerMixin:
    """Methods of ``native.query.compile._Compiler`` for match, match_phrase(_prefix) and multi-field queries."""

    schema: tantivy.Schema
    resolver: Any
    now_millis: int
    leaf: Callable[..., Query]
    const: Callable[..., Query]
    boosted: Callable[..., Query]
    compile: Callable[..., Query]
    field: Callable[..., FieldInfo | None]
    info: Callable[..., FieldInfo | None]
    exact: Callable[..., Query]
    regex: Callable[..., Query]
    all_of: Callable[..., Query]
    fuzzy_term: Callable[..., Query]

    def tokens(self, info: FieldInfo, query: Any) -> list[str]:
        text = "true" if query is True else "false" if query is False else str(query)
        if info.es_type == "keyword":
            typed = term_value(info, text, self.now_millis)
            return [] if typed is NO_MATCH else [typed]
        return list(info.analyze(text)) if info.analyze is not None else [text]

    def non_text(self, info: FieldInfo, query: Any, lenient: bool) -> Query:
        try:
            return self.exact(info, query)
        except BadValue:
            if lenient:
                return Query.empty_query()
            raise

    def zero_terms(self, mode: str) -> Query:
        return self.leaf(Query.all_query()) if mode == "all" else Query.empty_query()

    def match(self, node: A.Match) -> Query:
        got = self.analyzed(node)
        if isinstance(got, Query):
            return got
        info, tokens = got
        whole = tokens[:-1] if node.prefix_last else tokens
        clauses = [
            self.fuzzy_term(info, t, node.fuzziness, node.prefix_length, node.fuzzy_transpositions) for t in whole
        ]
        if node.prefix_last:
            clauses.append(self.const(self.regex(info, "(?s)" + escape(tokens[-1]) + ".*")))
        if node.operator == "and":
            q = self.all_of(clauses)
        else:
            need = resolve_msm(node.minimum_should_match, len(clauses))
            if need > len(clauses):
                return Query.empty_query()
            if len(clauses) == 1:
                q = clauses[0]
            else:
                q = Query.boolean_query([(Occur.Should, c) for c in clauses], need if need > 1 else None)
        return self.boosted(q, node.boost)

    def analyzed(self, node: A.Match | A.MatchPhrase | A.MatchPhrasePrefix) -> tuple[FieldInfo, list[str]] | Query:
        """The text field and the query's tokens, or the whole answer: an unmapped field, a non-text field's
        own query, or ``zero_terms_query`` when the analyzer left no token."""
        info = self.field(node.field, "term")
        if info is None:
            return Query.empty_query()
        if info.es_type not in STRING_TYPES:
            return self.boosted(self.non_text(info, node.query, node.lenient), node.boost)
        if node.analyzer is not None and info.es_type != "keyword":
            tokens = self.analyze_with(node.analyzer, node.query)
        else:
            tokens = self.tokens(info, node.query)
        if not tokens:
            return self.zero_terms(node.zero_terms_query)
        return info, tokens

    def analyze_with(self, analyzer: str, query: Any) -> list[str]:
        """The query text through the analyzer the query names (instead of the field's search analyzer)."""
        text = "true" if query is True else "false" if query is False else str(query)
        analysis = getattr(self.resolver, "analysis", None)
        found = None if analysis is None else getattr(analysis, "analyzers", {}).get(analyzer)
        if found is None:
            message = f"[match] analyzer [{analyzer}] not found"
            raise QueryShardError(f"failed to create query: {message}", caused_by=IllegalArgument(message))
        return list(found.analyze(text))

    def match_phrase(self, node: A.MatchPhrase) -> Query:
        got = self.analyzed(node)
        if isinstance(got, Query):
            return got
        info, tokens = got
        if len(tokens) == 1:
            q = self.leaf(Query.term_query(self.schema, info.tantivy_name, tokens[0]))
        else:
            slop = max(0, min(node.slop, MAX_SLOP))
            q = self.leaf(Query.phrase_query(self.schema, info.tantivy_name, list[Any](tokens), slop), len(tokens))
        return self.boosted(q, node.boost)

    def match_phrase_prefix(self, node: A.MatchPhrasePrefix) -> Query:
        got = self.analyzed(node)
        if isinstance(got, Query):
            return got
        info, tokens = got
        if info.es_type == "keyword" or len(tokens) == 1:
            q = self.const(self.regex(info, "(?s)" + escape(tokens[-1]) + ".*"))
            if len(tokens) == 1:
                return self.boosted(q, node.boost)
        q = self.leaf(Query.phrase_prefix_query(self.schema, info.tantivy_name, list[Any](tokens)), len(tokens))
        return self.boosted(q, node.boost)

    def term_centric(self, node: TermCentric) -> Query:
        def refuse(message: str) -> Exception:
            return QueryShardError(f"failed to create query: {message}", caused_by=IllegalArgument(message))

        analyzer = node.analyzer
        return compile_term_centric(
            node,
            self.expand_fields,
            self.tokens if analyzer is None else (lambda info, query: self.analyze_with(analyzer, query)),
            lambda info, token: self.leaf(Query.term_query(self.schema, info.tantivy_name, token)),
            self.boosted,
            self.zero_terms,
            refuse,
            STRING_TYPES,
        )

    def expand_fields(self, fields: Sequence[A.FieldBoost]) -> list[tuple[FieldInfo, float, bool]]:
        seen: set[str] = set()
        out: list[tuple[FieldInfo, float, bool]] = []
        for fb in fields:
            wildcard = "*" in fb.pattern
            if fb.pattern == "*":
                infos: Sequence[FieldInfo] = self.resolver.default_fields()
            elif wildcard:
                infos = self.resolver.expand(fb.pattern)
            else:
                one = self.info(fb.pattern)
                if one is None and fb.pattern == INDEX_FIELD:
                    one = INDEX_INFO  # decided per shard by ``compile`` (``native.query.index_field``)
                infos = [one] if one is not None else []
            for info in infos:
                if info.path not in seen:
                    seen.add(info.path)
                    out.append((info, fb.boost, wildcard))
        return out

    def multi_field(self, node: A.MultiField) -> Query:
        queries = []
        for info, boost, wildcard in self.expand_fields(node.fields):
            template = node.template
            lenient = node.lenient or wildcard
            if lenient and hasattr(template, "lenient"):
                template = replace(template, lenient=True)  # type: ignore[call-arg]
            try:
                q = self.compile(replace(template, field=info.path))  # type: ignore[call-arg]
            except (BadValue, QueryShardError):
                if lenient:
                    continue
                raise
            queries.append(self.boosted(q, boost))
        if not queries:
            return Query.empty_query()
        if len(queries) == 1:
            q = queries[0]
        elif node.combine == "sum":
            q = Query.boolean_query([(Occur.Should, c) for c in queries])
        else:
            q = Query.disjunction_max_query(queries, float(node.tie_breaker))
        return self.boosted(q, node.boost)
