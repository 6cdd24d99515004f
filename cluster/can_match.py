"""ES's can_match pre-filter phase: before the query phase, skip the shards a search provably cannot match.

When (ES's ``TransportSearchAction.shouldPreFilterSearchShards``): a ``query_then_fetch`` search whose query
may rewrite to ``match_none`` (a query that is not ``match_all``, no ``suggest``, and no aggregation that must
see every document: ``global``, or ``terms`` with ``min_doc_count: 0``) or whose primary sort is on a field,
targeting more shards than ``pre_filter_shard_size``. That defaults to 128, or to 1 when an index searched is
read-only (a write block) or the primary sort is on a field.

How: one leaf call per search (``SearchRequest.can_match``) where each shard answers from its mapping and the
minimum and maximum of the fields the query ranges over (``native.can_match``), without running the query.
Shards that cannot match are skipped: left out of the query phase and counted in ``_shards.skipped`` (and
``successful``). At least one shard always runs, so that an all-skipped search still has a well-formed answer
(its aggregations, ``hits`` shape); ES runs the first one then too.

Not done: ES also orders the shards by the primary sort field's min/max and, with ``search_after`` or a known
bottom sort value, skips shards that cannot compete; here sort alone never skips (the answer is the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from cluster.protos import leaf_pb2 as pb
from cluster.search_request import SearchSpec
from cluster.shard_copies import CopyPreference
from cluster.state import IndexMeta
from cluster.writes import write_block

if TYPE_CHECKING:
    from cluster.root import ShardTarget

DEFAULT_PRE_FILTER_SHARD_SIZE = 128


def should_pre_filter(spec: SearchSpec, indices: Sequence[IndexMeta], num_shards: int) -> bool:
    """Whether a search over ``num_shards`` shards of ``indices`` runs the can_match phase (as ES decides)."""
    if spec.dfs or spec.pit is not None or spec.slice is not None or spec.collapse is not None:
        return False
    field_sort = has_primary_field_sort(spec)
    if not (can_rewrite_to_match_none(spec) or field_sort):
        return False
    size = spec.pre_filter_shard_size
    if size is None:
        read_only = any(write_block(meta) is not None for meta in indices)
        size = 1 if field_sort or read_only else DEFAULT_PRE_FILTER_SHARD_SIZE
    return size < num_shards


def has_primary_field_sort(spec: SearchSpec) -> bool:
    return bool(spec.sort) and spec.sort[0].field not in ("_score", "_doc", "_shard_doc")


def can_rewrite_to_match_none(spec: SearchSpec) -> bool:
    query = spec.query
    if not query or "match_all" in query or spec.suggest:
        return False
    return not must_visit_all_docs(spec.aggs)


def must_visit_all_docs(aggs: Any) -> bool:
    """Whether an aggregation tree needs every shard even where nothing matches: a ``global`` aggregation, or a
    ``terms`` with ``min_doc_count: 0`` (its zero-count buckets come from every shard's terms). ES looks at the
    top level only; sub-aggregations are looked at too here, so a skipped shard never changes an answer."""
    if not isinstance(aggs, dict):
        return False
    for body in aggs.values():
        if not isinstance(body, dict):
            continue
        if "global" in body:
            return True
        terms = body.get("terms")
        if isinstance(terms, dict) and str(terms.get("min_doc_count", 1)) in ("0", "0.0"):
            return True
        for key in ("aggs", "aggregations"):
            if must_visit_all_docs(body.get(key)):
                return True
    return False


async def matching_targets(
    root: Any, targets: list[ShardTarget], query: dict[str, Any] | None, now_millis: int,
    preference: str | None = None, deadline: float | None = None,
) -> list[bool]:
    """Per target, whether its shard may match ``query`` (the leaves' can_match answers, one request per node;
    a shard whose node does not answer is kept); at least one is True."""
    request = pb.SearchRequest(
        shards=[t.ref() for t in targets],
        query_json=orjson.dumps(query) if query is not None else b"",
        now_millis=now_millis,
        can_match=True,
    )
    async with root.queue.admit():
        keep: list[bool] = await root.fanout.can_match(request, targets, CopyPreference.parse(preference), deadline)
    if not any(keep):
        keep[0] = True
    return keep
