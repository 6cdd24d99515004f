"""Aggregations: ES JSON → spec tree → per-shard partials → merge → ES response.

    tree = parse_aggs(body["aggs"])                                   # 400s happen here
    part = execute_shard(tree, searcher, query, resolver, now_millis=now, index_name="logs")  # leaf
    merged = merge_partials(tree, [part_a, part_b, ...])              # root, any grouping
    body["aggregations"] = finalize(tree, merged)                     # root

Partials are opaque bytes (orjson-encoded JSON, no pickle) so they travel inside leaf protobuf
messages. ``merge_partials`` is associative, so the root may merge shard results as they arrive.
"""

from __future__ import annotations

from typing import Any

import tantivy

from native.aggs import buckets
from native.aggs.buckets import DEFAULT_MAX_BUCKETS, TooManyBuckets
from native.aggs.execute import ShardContext
from native.aggs.parse import parse_aggs
from native.aggs.partials import decode, encode, finalize_level, merge_level
from native.aggs.spec import AggNode, AggTree
from native.fields import FieldResolver

__all__ = [
    "DEFAULT_MAX_BUCKETS",
    "AggNode",
    "AggTree",
    "TooManyBuckets",
    "check_buckets",
    "execute_shard",
    "finalize",
    "merge_partials",
    "parse_aggs",
]


def check_buckets(tree: AggTree, max_buckets: int | None = None) -> None:
    """Refuse, before running, a tree whose range/filters buckets alone pass ``search.max_buckets``."""
    buckets.check_fixed(tree, DEFAULT_MAX_BUCKETS if max_buckets is None else max_buckets)


def execute_shard(
    tree: AggTree,
    searcher: tantivy.Searcher,
    query: tantivy.Query,
    resolver: FieldResolver,
    *,
    now_millis: int,
    index_name: str = "",
    max_buckets: int | None = None,
    named: Any = None,
    explain: Any = None,
) -> bytes:
    """Run every aggregation of ``tree`` over the docs of one shard matching ``query``; ``named`` (the
    request's ``native.named_queries.NamedQueries``) gives ``top_hits`` hits their ``matched_queries``."""
    with buckets.limited(max_buckets):
        buckets.check_fixed(tree)
        ctx = ShardContext(searcher, resolver, now_millis, index_name, named=named, explain=explain)
        return encode(ctx.collect_level(tree.nodes, query))


def merge_partials(tree: AggTree, partials: list[bytes]) -> bytes:
    """Merge shard (or already merged) partials into one partial."""
    if not partials:
        return encode({})
    if len(partials) == 1:
        return partials[0]  # as merged as it gets (finalize decodes and checks it)
    merged = decode(partials[0])
    for data in partials[1:]:
        merged = merge_level(tree.nodes, merged, decode(data))
    return encode(merged)


def finalize(tree: AggTree, merged: bytes, *, max_buckets: int | None = None) -> dict[str, Any]:
    """The ES response ``aggregations`` object; ``too_many_buckets_exception`` past ``max_buckets``."""
    with buckets.limited(max_buckets):
        out = finalize_level(tree.nodes, decode(merged))
        buckets.check_response(out)
    return out
