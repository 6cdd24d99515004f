"""Pipeline aggregation specs and the kinds' families.

Sibling pipelines (``*_bucket``) read the buckets of a sibling multi-bucket aggregation and add one
result beside it; parent pipelines (``derivative`` … ``bucket_sort``) sit inside a multi-bucket
aggregation and add a value to (or select, or reorder) each of its buckets. Both run at finalize on the
root, after every partial is merged (``native.aggs.pipeline.run``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from native.aggs.spec import PIPELINE_KINDS as _ALL_PIPELINE_KINDS

SIBLING_KINDS = frozenset(
    {"avg_bucket", "max_bucket", "min_bucket", "sum_bucket", "stats_bucket", "extended_stats_bucket",
     "percentiles_bucket"}
)  # fmt: skip
SEQUENTIAL_KINDS = frozenset({"derivative", "cumulative_sum", "cumulative_cardinality", "serial_diff", "moving_fn"})
BUCKETWISE_KINDS = frozenset({"bucket_script", "bucket_selector", "bucket_sort"})
PARENT_KINDS = SEQUENTIAL_KINDS | BUCKETWISE_KINDS
PIPELINE_KINDS = SIBLING_KINDS | PARENT_KINDS
assert PIPELINE_KINDS == _ALL_PIPELINE_KINDS, "native.aggs.spec.PIPELINE_KINDS lists the same kinds"

# parents a sequential pipeline accepts (ES: histogram, date_histogram, auto_date_histogram)
HISTOGRAM_KINDS = frozenset({"histogram", "date_histogram", "auto_date_histogram"})
SINGLE_BUCKET_KINDS = frozenset(
    {"filter", "missing", "global", "nested", "reverse_nested", "sampler", "diversified_sampler", "random_sampler",
     "children", "parent"}
)  # fmt: skip
# multi-bucket kinds other modules may register (this module only needs their names)
OTHER_MULTI_BUCKET_KINDS = frozenset(
    {"auto_date_histogram", "rare_terms", "significant_terms", "significant_text", "multi_terms", "ip_range",
     "ip_prefix", "geohash_grid", "geotile_grid", "geohex_grid", "variable_width_histogram", "adjacency_matrix",
     "time_series", "categorize_text", "frequent_item_sets"}
)  # fmt: skip

GAP_POLICIES = ("skip", "insert_zeros", "keep_values")
DEFAULT_PERCENTS = (1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0)


@dataclass(frozen=True)
class SortField:
    path: str  # "_key", "_count" or a buckets path
    asc: bool = True


@dataclass(frozen=True)
class PipelineSpec:
    """One pipeline aggregation; ``paths`` maps script variable names (``_value`` for a single path)
    to buckets paths, in request order."""

    paths: tuple[tuple[str, str], ...] = ()
    gap_policy: str = "skip"
    format: str | None = None
    sigma: float = 2.0  # extended_stats_bucket
    percents: tuple[float, ...] = DEFAULT_PERCENTS  # percentiles_bucket
    keyed: bool = True  # percentiles_bucket
    unit_ms: float | None = None  # derivative
    lag: int = 1  # serial_diff
    window: int = 0  # moving_fn
    shift: int = 0  # moving_fn
    script: Any = field(default=None, compare=False, hash=False)  # a native.painless.Script
    sort: tuple[SortField, ...] = ()  # bucket_sort
    from_: int = 0  # bucket_sort
    size: int | None = None  # bucket_sort

    @property
    def path(self) -> str:
        return self.paths[0][1]


def is_multi_bucket(kind: str) -> bool:
    from native.aggs.spec import BUCKET_KINDS

    return (kind in BUCKET_KINDS or kind in OTHER_MULTI_BUCKET_KINDS) and kind not in SINGLE_BUCKET_KINDS
