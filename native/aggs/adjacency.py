"""``adjacency_matrix``: one bucket per named filter and one per pair of filters (``A&B``, the documents
matching both), keeping the non-empty ones, sorted by key as ES renders them.

Filters are taken in name order, so a pair's key is ``<smaller name><separator><larger name>``. Each
bucket is the parent query restricted by its filter(s); sub-aggregations run on it.

Partial: ``{"b": {key: [doc_count, subs]}}`` with the non-empty buckets of the shard; merging adds counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tantivy

from native.aggs.execute import ShardContext
from native.aggs.partials import Partial, finalize_level, merge_level
from native.aggs.readers import _check_keys
from native.aggs.spec import AggNode
from native.errors import IllegalArgument, ParsingError, XContentParseError

MAX_FILTERS = 100  # ES's index.max_adjacency_matrix_filters default


@dataclass(frozen=True)
class AdjacencySpec:
    filters: tuple[tuple[str, Any], ...]  # (name, QueryAst) sorted by name
    separator: str = "&"


def parse_adjacency_matrix(name: str, kind: str, body: dict[str, Any]) -> AdjacencySpec:
    from native.query import parse_query

    _check_keys(kind, body, {"filters", "separator"})
    raw = body.get("filters")
    if raw is None:
        raise IllegalArgument(f"[filters] is required for aggregation [{name}]")
    if not isinstance(raw, dict):
        raise ParsingError(f"[filters] must be an object in [{name}]")
    if len(raw) > MAX_FILTERS:
        raise IllegalArgument(
            f"Number of filters is too large, must be less than or equal to: [{MAX_FILTERS}] but was [{len(raw)}]."
            "This limit can be set by changing the [index.max_adjacency_matrix_filters] index level setting."
        )
    filters = []
    for key in sorted(raw):
        query = raw[key]
        if not isinstance(query, dict):
            raise ParsingError("Expected [START_OBJECT] for a filter query")
        filters.append((str(key), parse_query(query)))
    separator = body.get("separator", "&")
    if not isinstance(separator, str):
        raise XContentParseError(f"[{kind}] separator doesn't support values of type: VALUE")
    return AdjacencySpec(tuple(filters), separator)


class AdjacencyMatrixKind:
    def empty(self, node: AggNode) -> Partial:
        return {"b": {}}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: AdjacencySpec = node.params
        compiled = [(key, ctx.compile(ast)) for key, ast in spec.filters]
        out: dict[str, list[Any]] = {}

        def bucket(key: str, scope: tantivy.Query) -> None:
            count = ctx.count(scope)
            if count:
                out[key] = [count, ctx.collect_subs(node, scope, None)]

        for i, (key, flt) in enumerate(compiled):
            single = ctx.restrict(query, flt)
            bucket(key, single)
            for other, other_flt in compiled[i + 1 :]:
                bucket(f"{key}{spec.separator}{other}", ctx.restrict(single, other_flt))
        return {"b": out}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        out = {key: list(value) for key, value in a["b"].items()}
        for key, (count, subs) in b["b"].items():
            if key in out:
                out[key] = [out[key][0] + count, merge_level(node.children, out[key][1], subs)]
            else:
                out[key] = [count, subs]
        return {"b": out}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        buckets = []
        for key in sorted(p["b"]):
            count, subs = p["b"][key]
            if count:
                buckets.append({"key": key, "doc_count": count, **finalize_level(node.children, subs)})
        return {"buckets": buckets}


KINDS = {"adjacency_matrix": AdjacencyMatrixKind()}
