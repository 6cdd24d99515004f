"""Request-time checks of pipeline aggregations (ES's ``validate`` and pipeline ordering), and the
dependency order the pipelines of one level run in.

Errors are collected as ES does and reported as one ``action_request_validation_exception``
(``Validation Failed: 1: …; 2: …;``).
"""

from __future__ import annotations

from native.aggs.pipeline.paths import PathElement, parse_path
from native.aggs.pipeline.spec import (
    BUCKETWISE_KINDS,
    HISTOGRAM_KINDS,
    PIPELINE_KINDS,
    SEQUENTIAL_KINDS,
    SIBLING_KINDS,
    SINGLE_BUCKET_KINDS,
    PipelineSpec,
    is_multi_bucket,
)
from native.aggs.spec import AggNode, AggTree
from native.errors import ActionRequestValidation


class _Errors(Exception):
    pass


def validate_tree(tree: AggTree) -> None:
    errors: list[str] = []
    _validate_level(tree.nodes, None, errors)
    if errors:
        text = "".join(f"{i}: {message};" for i, message in enumerate(errors, 1))
        raise ActionRequestValidation(f"Validation Failed: {text}")


def _validate_level(nodes: tuple[AggNode, ...], parent: AggNode | None, errors: list[str]) -> None:
    for node in nodes:
        if node.kind in PIPELINE_KINDS:
            _validate_pipeline(node, nodes, parent, errors)
        else:
            _validate_level(node.children, node, errors)
    if any(node.kind in PIPELINE_KINDS for node in nodes):
        try:
            pipeline_order(nodes)
        except _Errors as exc:
            errors.append(str(exc))


def _validate_pipeline(node: AggNode, siblings: tuple[AggNode, ...], parent: AggNode | None, errors: list[str]) -> None:
    kind, name = node.kind, node.name
    spec: PipelineSpec = node.params
    if kind in SIBLING_KINDS:
        _validate_sibling_path(name, spec.path, siblings, errors)
    elif kind in SEQUENTIAL_KINDS:
        if parent is None:
            errors.append(
                f"{kind} aggregation [{name}] must have a histogram, date_histogram or auto_date_histogram as "
                "parent but doesn't have a parent"
            )
        elif parent.kind not in HISTOGRAM_KINDS:
            errors.append(
                f"{kind} aggregation [{name}] must have a histogram, date_histogram or auto_date_histogram as parent"
            )
        if kind == "cumulative_cardinality" and parent is not None and parent.kind == "auto_date_histogram":
            # the union of sketches needs the merged partials, whose layout is known for (date_)histogram only
            errors.append(f"cumulative_cardinality aggregation [{name}] is not supported under auto_date_histogram")
        if kind == "cumulative_cardinality":
            target = next((n for n in siblings if n.name == parse_path(spec.path)[0].name), None)
            if target is not None and target.kind != "cardinality":
                errors.append(
                    f"buckets_path must reference a cardinality aggregation, got: [{target.kind}] for "
                    f"aggregation [{name}]"
                )
    elif kind in BUCKETWISE_KINDS:
        if parent is None:
            errors.append(f"{kind} aggregation [{name}] must be declared inside of another aggregation")
        elif not is_multi_bucket(parent.kind):
            errors.append(f"{kind} aggregation [{name}] must be declared inside of a multi-bucket aggregation")


def _validate_sibling_path(name: str, path: str, siblings: tuple[AggNode, ...], errors: list[str]) -> None:
    """ES's ``BucketMetricsPipelineAggregationBuilder.validate``: the path must reach a multi-bucket
    aggregation, through single-bucket aggregations and ``multi['key']`` buckets."""
    elements = parse_path(path)
    pos = 1
    element = elements[0]
    target = next((n for n in siblings if n.name == element.name and n.kind not in PIPELINE_KINDS), None)
    if target is None:
        errors.append(f"buckets_path aggregation does not exist for aggregation [{name}]: {path}")
        return
    while (
        target is not None
        and pos < len(elements)
        and (
            (is_multi_bucket(target.kind) and element.bracketed)
            or (target.kind in SINGLE_BUCKET_KINDS and target.children)
        )
    ):
        element = elements[pos]
        pos += 1
        target = next((c for c in target.children if c.name == element.name and c.kind not in PIPELINE_KINDS), None)
    if target is None:
        walked = ", ".join(s for e in elements[:pos] for s in e.strings())
        errors.append(f"buckets_path aggregation does not exist for aggregation [{name}]: [{walked}]")
    elif not is_multi_bucket(target.kind):
        errors.append(
            "Unable to find unqualified multi-bucket aggregation in buckets_path. Path must include a multi-bucket "
            f"aggregation for aggregation [{name}] found :{target.kind} for buckets path: {path}"
        )


def pipeline_order(nodes: tuple[AggNode, ...]) -> list[AggNode]:
    """The pipeline nodes of one level, each after the pipelines its paths name (ES's
    ``resolvePipelineAggregatorOrder``); raises ``_Errors`` on a bad path or a cycle."""
    aggs = {n.name: n for n in nodes if n.kind not in PIPELINE_KINDS}
    pipelines = {n.name: n for n in nodes if n.kind in PIPELINE_KINDS}
    ordered: list[AggNode] = []
    done: set[str] = set()
    marked: set[str] = set()

    def visit(node: AggNode) -> None:
        if node.name in done:
            return
        if node.name in marked:
            raise _Errors(f"Cyclical dependency found with pipeline aggregator [{node.name}]")
        marked.add(node.name)
        for _, path in node.params.paths:
            if path in ("_count", "_key"):
                continue
            elements = parse_path(path)
            first = elements[0].name
            if first in aggs:
                _check_sub_path(aggs[first], elements, path)
            elif first in pipelines:
                visit(pipelines[first])
            else:
                raise _Errors(f"No aggregation found for path [{path}]")
        marked.discard(node.name)
        done.add(node.name)
        ordered.append(node)

    for node in pipelines.values():
        visit(node)
    return ordered


def _check_sub_path(agg: AggNode, elements: tuple[PathElement, ...], path: str) -> None:
    for i in range(1, len(elements)):
        name = elements[i].name
        last = i == len(elements) - 1
        if last and (name.lower() == "_key" or name == "_count"):
            return
        sub = next((c for c in agg.children if c.name == name and c.kind not in PIPELINE_KINDS), None)
        if sub is None and last and any(c.name == name for c in agg.children):
            return
        if sub is None:
            raise _Errors(f"No aggregation [{name}] found for path [{path}]")
        agg = sub
