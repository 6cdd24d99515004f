"""Sub-aggregations computed inside the parent histogram's own tantivy ``aggregate`` call.

A ``histogram`` or ``date_histogram`` otherwise runs its children once per bucket, on the query restricted
to the bucket (``ShardContext.collect_subs``): one tantivy call per bucket, ~0.7 ms each whatever the bucket
holds (an hourly histogram over a week with a ``terms``, ``percentiles`` or metric child: 130-400 ms at 1M
documents). When every child can be asked of tantivy as a sub-aggregation of the histogram (the kind
has ``inline_spec``/``inline_reader``: stats-family metrics, ``percentiles``, ``terms``), it is, in the same
call, and each child's partial is read from its bucket of the result: the partial the per-bucket path makes.
Where a bucket's result cannot give that exactly (tantivy cut a ``terms`` bucket; a bucket's values too few
or too narrow for the percentile sketch), the reader returns None and that bucket runs its children the
per-bucket way. Names are aliased (``m0``, ``m1``…) since ES names may hold any character.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from native.aggs.execute import ShardContext
from native.aggs.partials import Level, Partial, kind_of
from native.aggs.spec import AggNode

Reader = Callable[[dict[str, Any]], Partial | None]


def inline_spec(ctx: ShardContext, children: tuple[AggNode, ...]) -> dict[str, Any] | None:
    """The tantivy sub-aggregations computing every child, or None when one of them cannot be."""
    subs: dict[str, Any] = {}
    for i, child in enumerate(children):
        spec_of = getattr(kind_of(child), "inline_spec", None)
        part = spec_of(ctx, child, f"m{i}") if spec_of is not None else None
        if part is None:
            return None
        subs.update(part)
    return subs


def inline_reader(ctx: ShardContext, children: tuple[AggNode, ...]) -> Callable[[dict[str, Any]], Level | None]:
    """A function of one result bucket: the children's partials, or None when the bucket must run its
    children itself."""
    readers: list[tuple[str, Reader]] = [
        (child.name, kind_of(child).inline_reader(ctx, child, f"m{i}"))  # type: ignore[attr-defined]
        for i, child in enumerate(children)
    ]

    def read(bucket: dict[str, Any]) -> Level | None:
        out: Level = {}
        for name, reader in readers:
            partial = reader(bucket)
            if partial is None:
                return None
            out[name] = partial
        return out

    return read
