"""The ``exact`` query: documents whose field holds exactly the given value, as sent in ``_source``.

``{"exact": {"field": "value"}}`` matches a document when one of the field's source values equals the value
(no analysis, no normalizer: ``HELLO`` does not match ``hello``), scoring a constant ``boost``. The
candidates come from tantivy (every analyzed token on a text field, the normalized term on a keyword
field); each candidate's ``_source`` is then compared, and the survivors replayed on ``_seq_no``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import tantivy
from tantivy import Occur, Query

from native.fields import SEQ_NO_FIELD, SOURCE_FIELD, FieldInfo
from native.query.ast import QueryAst, Scalar
from native.query.compile_function_score import replay_scores
from native.query.limits import ParseContext
from native.query.params import as_float, check_params, single_field
from native.schema import flatten_source

__all__ = ["PARSERS", "Exact", "ExactCompilerMixin"]


@dataclass(frozen=True)
class Exact(QueryAst):
    field: str
    value: Scalar
    boost: float = 1.0


def parse_exact(body: Any, ctx: ParseContext) -> Exact:
    fname, raw = single_field("exact", body)
    boost = 1.0
    if isinstance(raw, dict):
        check_params("exact", raw, ("value",))
        boost = as_float("exact", "boost", raw.get("boost", 1.0))
        raw = raw.get("value")
    if raw is None or isinstance(raw, dict | list):
        from native.errors import ParsingError

        raise ParsingError("[exact] requires a value")
    ctx.count()
    return Exact(fname, raw, boost)


PARSERS = {"exact": parse_exact}


class ExactCompilerMixin:
    """Methods of ``native.query.compile._Compiler`` for ``exact``."""

    schema: tantivy.Schema
    searcher: tantivy.Searcher | None
    resolver: Any
    leaf: Callable[..., Query]
    field: Callable[..., FieldInfo | None]
    exact: Callable[..., Query]

    def exact_query(self, node: Exact) -> Query:
        info = self.field(node.field, "term")
        if info is None:
            return Query.empty_query()
        text = str(node.value).lower() if isinstance(node.value, bool) else str(node.value)
        if info.es_type == "text" and info.analyze is not None:
            tokens = list(dict.fromkeys(info.analyze(text)))
            if not tokens:
                return Query.empty_query()
            terms = [self.leaf(Query.term_query(self.schema, info.tantivy_name, t)) for t in tokens]
            candidates = terms[0] if len(terms) == 1 else Query.boolean_query([(Occur.Must, t) for t in terms])
        else:
            candidates = self.exact(info, node.value)
        searcher = self.searcher
        if searcher is None:
            return Query.const_score_query(candidates, float(node.boost))
        num_docs = int(searcher.num_docs)
        addrs = [a for _, a in searcher.search(candidates, max(num_docs, 1), count=False).hits]
        if not addrs:
            return Query.empty_query()
        mapping = getattr(self.resolver, "mapping", None)
        leaf = mapping.leaf(info.path) if mapping is not None else None
        path = leaf.source_path if leaf is not None else info.path
        kept = []
        for addr, seq in zip(addrs, searcher.fast_field_values(SEQ_NO_FIELD, addrs), strict=True):
            source = orjson.loads(bytes(searcher.doc(addr).to_dict()[SOURCE_FIELD][0]))
            values = flatten_source(source).get(path, [])
            if any(_same(v, node.value) for v in values):
                kept.append(int(seq or 0))
        return replay_scores(self.schema, {float(node.boost): kept} if kept else {})


def _same(source_value: Any, wanted: Any) -> bool:
    if isinstance(source_value, bool) or isinstance(wanted, bool):
        return str(source_value).lower() == str(wanted).lower()
    if isinstance(source_value, int | float) and not isinstance(wanted, str):
        return bool(source_value == wanted)
    return str(source_value) == str(wanted)
