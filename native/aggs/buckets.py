"""``search.max_buckets``: one bucket limit for a whole search, as ES's ``MultiBucketConsumer`` keeps it.

ES counts the buckets of every multi-bucket aggregation (terms, histograms, ranges, filters, composite,
geo ...) across the final response, nested buckets included, and answers ``too_many_buckets_exception``
(400 since 8.8) past the cluster setting ``search.max_buckets`` (65,536). Single-bucket aggregations
(``filter``, ``nested``, ``global``, ``missing``) do not count, as in ES.

The limit is checked at three points, all with this module's limit and error:

1. **Before running** (root and leaf): aggregations whose bucket count the request fixes (``range``,
   ``date_range``, ``geo_distance``, ``filters``), nested only under such, multiply to a count known up
   front; past the limit the search is refused before any shard work (a ``range`` with 70,000 ranges).
2. **While building buckets**: the code that makes buckets in a loop (histogram bucket starts per shard,
   empty-bucket filling at finalize, range-field histograms, tantivy's own bucket limit) stops at the limit
   instead of building millions first. The limit in force is held in a context variable that
   ``execute_shard`` and ``finalize`` set (:func:`limited`), so no kind needs it passed in.
3. **The response** (root, after finalize): :func:`count_response` walks the rendered aggregations and
   counts every bucket of every multi-bucket aggregation, which is exactly ES's number.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from native.aggs.spec import AggNode, AggTree, FiltersSpec, GeoDistanceSpec, RangeSpec
from native.errors import BadRequest

__all__ = [
    "DEFAULT_MAX_BUCKETS",
    "TooManyBuckets",
    "check",
    "check_fixed",
    "check_response",
    "count_response",
    "current_limit",
    "limited",
]

DEFAULT_MAX_BUCKETS = 65536

_limit: contextvars.ContextVar[int] = contextvars.ContextVar("max_buckets", default=DEFAULT_MAX_BUCKETS)


class TooManyBuckets(BadRequest):
    es_type = "too_many_buckets_exception"

    def __init__(self, limit: int) -> None:
        # ES 8.x words it so since #73191: the count at which it stopped is not the count it would have made
        super().__init__(
            f"Trying to create too many buckets. Must be less than or equal to: [{limit}] but this number of "
            "buckets was exceeded. This limit can be set by changing the [search.max_buckets] cluster level "
            "setting.",
            max_buckets=limit,
        )


def current_limit() -> int:
    return _limit.get()


@contextmanager
def limited(limit: int | None) -> Iterator[int]:
    """Run the block with ``limit`` as the bucket limit (None: the default)."""
    token = _limit.set(DEFAULT_MAX_BUCKETS if limit is None else int(limit))
    try:
        yield _limit.get()
    finally:
        _limit.reset(token)


def check(count: int) -> None:
    """Raise once ``count`` buckets would pass the limit in force."""
    limit = _limit.get()
    if count > limit:
        raise TooManyBuckets(limit)


def _fixed_count(node: AggNode) -> int | None:
    params = node.params
    if isinstance(params, RangeSpec | GeoDistanceSpec):
        return len(params.ranges)
    if isinstance(params, FiltersSpec):
        return len(params.filters) + (1 if params.other_bucket else 0)
    return None


def check_fixed(tree: AggTree, limit: int | None = None) -> None:
    """Refuse a tree whose fixed-count aggregations alone make more buckets than the limit."""
    limit = _limit.get() if limit is None else limit
    total = 0
    stack: list[tuple[AggNode, int]] = [(node, 1) for node in tree.nodes]
    while stack:
        node, parents = stack.pop()
        if node.kind == "composite" and node.params.size > limit:  # ES refuses the size up front
            raise TooManyBuckets(limit)
        own = _fixed_count(node)
        if own is None:
            continue  # its bucket count depends on the data: counted while building and in the response
        made = parents * own
        total += made
        if total > limit:
            raise TooManyBuckets(limit)
        stack.extend((child, made) for child in node.children)


def count_response(aggs: Mapping[str, Any]) -> int:
    """The buckets of every multi-bucket aggregation in a rendered ``aggregations`` object."""
    count = 0
    stack: list[Mapping[str, Any]] = [aggs]
    while stack:
        level = stack.pop()
        for value in level.values():
            if not isinstance(value, dict):
                continue
            buckets = value.get("buckets")
            if isinstance(buckets, list):
                count += len(buckets)
                stack.extend(b for b in buckets if isinstance(b, dict))
            elif isinstance(buckets, dict):
                count += len(buckets)
                stack.extend(b for b in buckets.values() if isinstance(b, dict))
            else:  # a single-bucket aggregation's sub-aggregations, or a metric (holds no buckets)
                stack.append(value)
    return count


def check_response(aggs: Mapping[str, Any], limit: int | None = None) -> None:
    limit = _limit.get() if limit is None else limit
    if count_response(aggs) > limit:
        raise TooManyBuckets(limit)
