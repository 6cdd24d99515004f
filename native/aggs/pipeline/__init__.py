"""Pipeline aggregations: parsed with the rest of the tree, run at finalize on the root.

``parse_pipeline`` reads a body into a ``PipelineSpec``; ``validate_tree`` does ES's request-time checks
(parents, paths, cycles); ``apply_level`` is called by ``finalize_level`` once a level is rendered. A
pipeline node collects nothing on the shards: its partial is a constant and it is skipped when a level
is rendered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from native.aggs.pipeline.parsers import parse_pipeline
from native.aggs.pipeline.run import apply_level, has_pipelines
from native.aggs.pipeline.spec import PIPELINE_KINDS
from native.aggs.pipeline.validate import validate_tree

if TYPE_CHECKING:
    import tantivy

    from native.aggs.execute import ShardContext
    from native.aggs.spec import AggNode

__all__ = ["KINDS", "PIPELINE_KINDS", "apply_level", "has_pipelines", "parse_pipeline", "validate_tree"]


class PipelineKind:
    """The shard side of a pipeline node: nothing to collect or merge."""

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Any:
        return 0

    def empty(self, node: AggNode) -> Any:
        return 0

    def merge(self, node: AggNode, a: Any, b: Any) -> Any:
        return 0

    def finalize(self, node: AggNode, partial: Any) -> dict[str, Any]:
        return {}  # never rendered: finalize_level skips pipeline nodes

    def inline_spec(self, ctx: ShardContext, node: AggNode, key: str) -> dict[str, Any] | None:
        return {}

    def inline_reader(self, ctx: ShardContext, node: AggNode, key: str) -> Callable[[dict[str, Any]], Any]:
        return lambda bucket: 0


KINDS = dict.fromkeys(PIPELINE_KINDS, PipelineKind())
