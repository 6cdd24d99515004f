"""Compiling ``intervals`` (``native.query.intervals``): candidates from tantivy, intervals in Python.

tantivy-py exposes no positions, so with the shard's searcher the compiler (1) finds the candidates with a
superset query (every term a rule needs, the alternatives of ``any_of``, the reference of the positive
filters), (2) re-analyzes each candidate's field values from ``_source`` into token positions (values of a
multi-valued field 100 positions apart, ES's ``position_increment_gap``) and evaluates the rule exactly,
and (3) replays the survivors as constant scores on ``_seq_no``. The score is Lucene's for interval
queries: ``boost * f / (f + 1)`` with ``f`` the sum of ``1 / width`` over the matching intervals. Without a
searcher (``validate_query``'s rendering) the candidate query stands in.
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy
import orjson
import tantivy
from tantivy import Occur, Query

from native.errors import IllegalArgument
from native.fields import SEQ_NO_FIELD, SOURCE_FIELD, FieldInfo
from native.query import ast as A
from native.query.compile_function_score import replay_scores
from native.query.errors import QueryShardError
from native.query.intervals import Interval, IntervalRule, Intervals, apply_filter, combine
from native.schema import flatten_source

__all__ = ["IntervalsCompilerMixin"]

POSITION_INCREMENT_GAP = 100
Positions = list[tuple[int, str]]


def _edits(a: str, b: str, transpositions: bool) -> int:
    """Levenshtein distance (optimal string alignment when ``transpositions``)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if transpositions and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


class IntervalsCompilerMixin:
    """Methods of ``native.query.compile._Compiler`` for ``intervals``."""

    schema: tantivy.Schema
    searcher: tantivy.Searcher | None
    resolver: Any
    leaf: Callable[..., Query]
    boosted: Callable[..., Query]
    compile: Callable[..., Query]

    def intervals(self, node: Intervals) -> Query:
        info = self._interval_field(node.field)
        if info is None:
            return Query.empty_query()
        candidates = self._candidates(node.rule)
        searcher = self.searcher
        if searcher is None:
            return self.boosted(candidates, node.boost)
        num_docs = int(searcher.num_docs)
        if num_docs == 0:
            return Query.empty_query()
        addrs = [addr for _, addr in searcher.search(candidates, num_docs, count=False).hits]
        if not addrs:
            return Query.empty_query()
        seqs = [int(v or 0) for v in searcher.fast_field_values(SEQ_NO_FIELD, addrs)]
        groups: dict[float, list[int]] = defaultdict(list)
        for addr, seq in zip(addrs, seqs, strict=True):
            source = orjson.loads(bytes(searcher.doc(addr).to_dict()[SOURCE_FIELD][0]))
            found = self._evaluate(node.rule, _PositionsOf(self, flatten_source(source)))
            if not found:
                continue
            freq = sum(1.0 / (end - start + 1) for start, end, _ in found)
            groups[float(numpy.float32(node.boost * freq / (freq + 1.0)))].append(seq)
        return replay_scores(self.schema, groups)

    # -- fields and analysis ---------------------------------------------------------------------------

    def _interval_field(self, path: str) -> FieldInfo | None:
        info: FieldInfo | None = self.resolver.field(path)
        if info is None:
            return None
        if info.es_type not in ("text", "match_only_text"):
            message = (
                f"Can only use interval queries on text fields - not on [{path}] which is of type [{info.es_type}]"
            )
            raise QueryShardError(f"failed to create query: {message}", caused_by=IllegalArgument(message))
        return info

    def _tokens(self, rule: IntervalRule, text: str) -> list[str]:
        info = self._interval_field(rule.field)
        if info is None:
            return []
        if rule.analyzer is not None:
            analysis = getattr(self.resolver, "analysis", None)
            found = None if analysis is None else getattr(analysis, "analyzers", {}).get(rule.analyzer)
            if found is None:
                raise IllegalArgument(f"[intervals] analyzer [{rule.analyzer}] not found")
            return list(found.analyze(text))
        return list(info.analyze(text)) if info.analyze is not None else text.split()

    def _normalized(self, rule: IntervalRule) -> str:
        """A prefix / pattern / fuzzy term as the field's analyzer normalizes it (lowercased when it lowercases)."""
        info = self._interval_field(rule.field)
        if info is not None and info.analyze is not None and list(info.analyze("A")) == ["a"]:
            return rule.text.lower()
        return rule.text

    # -- candidates ------------------------------------------------------------------------------------

    def _candidates(self, rule: IntervalRule) -> Query:
        q = self._source_candidates(rule)
        if rule.filter_rule is not None and rule.filter_kind is not None and not rule.filter_kind.startswith("not_"):
            q = Query.boolean_query([(Occur.Must, q), (Occur.Must, self._candidates(rule.filter_rule))])
        return q

    def _source_candidates(self, rule: IntervalRule) -> Query:
        if rule.kind == "match":
            info = self._interval_field(rule.field)
            tokens = list(dict.fromkeys(self._tokens(rule, rule.text)))
            if info is None or not tokens:
                return Query.empty_query()
            terms = [self.leaf(Query.term_query(self.schema, info.tantivy_name, t)) for t in tokens]
            return terms[0] if len(terms) == 1 else Query.boolean_query([(Occur.Must, t) for t in terms])
        if rule.kind in ("all_of", "any_of"):
            occur = Occur.Must if rule.kind == "all_of" else Occur.Should
            return Query.boolean_query([(occur, self._candidates(r)) for r in rule.rules])
        text = self._normalized(rule)
        if rule.kind == "prefix":
            return self.compile(A.Prefix(rule.field, text))
        if rule.kind == "wildcard":
            return self.compile(A.Wildcard(rule.field, text))
        if rule.kind == "regexp":
            return self.compile(A.Regexp(rule.field, text))
        return self.compile(
            A.Fuzzy(rule.field, text, rule.fuzziness, rule.prefix_length, transpositions=rule.transpositions)
        )

    # -- evaluation ------------------------------------------------------------------------------------

    def _evaluate(self, rule: IntervalRule, positions: _PositionsOf) -> list[Interval]:
        found = self._source_intervals(rule, positions)
        if found and rule.filter_rule is not None and rule.filter_kind is not None:
            found = apply_filter(rule.filter_kind, found, self._evaluate(rule.filter_rule, positions))
        return found

    def _source_intervals(self, rule: IntervalRule, positions: _PositionsOf) -> list[Interval]:
        if rule.kind == "all_of":
            parts = [self._evaluate(r, positions) for r in rule.rules]
            return combine(parts, rule.ordered, rule.max_gaps)
        if rule.kind == "any_of":
            return sorted({i for r in rule.rules for i in self._evaluate(r, positions)})
        tokens = positions.of(rule.field)
        if rule.kind == "match":
            terms = self._tokens(rule, rule.text)
            parts = [[(p, p, 0) for p, t in tokens if t == term] for term in terms]
            return combine(parts, rule.ordered, rule.max_gaps) if parts else []
        test = self._token_test(rule)
        return [(p, p, 0) for p, t in tokens if test(t)]

    def _token_test(self, rule: IntervalRule) -> Callable[[str], bool]:
        text = self._normalized(rule)
        if rule.kind == "prefix":
            return lambda t: t.startswith(text)
        if rule.kind == "wildcard":
            pattern = re.compile(fnmatch.translate(text), re.S)
            return lambda t: pattern.match(t) is not None
        if rule.kind == "regexp":
            try:
                regex = re.compile(text, re.S)
            except re.error:
                raise IllegalArgument(f"invalid regular expression [{rule.text}]") from None
            return lambda t: regex.fullmatch(t) is not None
        from native.query.compile import auto_fuzziness

        distance = auto_fuzziness(rule.fuzziness, text)
        keep = text[: rule.prefix_length]
        return lambda t: t.startswith(keep) and _edits(t, text, rule.transpositions) <= distance


class _PositionsOf:
    """Token positions of one document's fields, analyzed on first use."""

    def __init__(self, compiler: IntervalsCompilerMixin, flat: dict[str, list[Any]]) -> None:
        self._compiler = compiler
        self._flat = flat
        self._cache: dict[str, Positions] = {}

    def of(self, path: str) -> Positions:
        cached = self._cache.get(path)
        if cached is not None:
            return cached
        compiler = self._compiler
        info = compiler._interval_field(path)
        out: Positions = []
        if info is not None:
            mapping = getattr(compiler.resolver, "mapping", None)
            leaf = mapping.leaf(path) if mapping is not None else None
            values = self._flat.get(leaf.source_path if leaf is not None else path, [])
            position = 0
            for value in values:
                if not isinstance(value, str):
                    continue
                tokens = list(info.analyze(value)) if info.analyze is not None else value.split()
                out.extend((position + i, t) for i, t in enumerate(tokens))
                position += len(tokens) + POSITION_INCREMENT_GAP
        self._cache[path] = out
        return out
