"""Aggregation parsing entry: ES aggregation JSON → an ``AggTree`` of spec nodes (``native.aggs.spec``).

``parse_aggs`` validates the whole ``aggs`` object up front so that every 400 happens before any shard
is touched; each kind's body is read by its parser in ``bucket_parsers`` or ``metric_parsers``.

Depth: ES has no aggregation depth limit of its own; the request's JSON nesting limit (1,000) and
``search.max_buckets`` bound it. Here every level costs a few Python frames at each phase (parse,
collect, merge, finalize), so trees deeper than ``MAX_AGG_DEPTH`` (100, far past any real dashboard)
are refused with a 400 naming the limit instead of running into the interpreter's recursion limit.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

from native.aggs import (
    adjacency,
    autodate,
    bucket_parsers,
    geogrid,
    ip,
    mad,
    matrix,
    metric_parsers,
    multi_terms,
    rare_terms,
    samplers,
    significant,
    top_metrics,
    varwidth,
    weighted,
)
from native.aggs.pipeline import parse_pipeline, validate_tree
from native.aggs.spec import KNOWN_KINDS, METRIC_KINDS, PIPELINE_KINDS, STATS_KINDS, AggNode, AggTree
from native.errors import IllegalArgument, ParsingError, ScriptingDisabled

_BAD_NAME = re.compile(r"[\[\]>]")
MAX_AGG_DEPTH = 100


def parse_aggs(body: Any) -> AggTree:
    """Parse the ``aggs`` / ``aggregations`` object of a search body."""
    tree = AggTree(_parse_level(body, 1))
    samplers.check_random_sampler(tree.nodes)
    validate_tree(tree)
    _check_composite_parents(tree.nodes, None)
    return tree


_COMPOSITE_SAFE_PARENTS = frozenset({"nested", "reverse_nested", "filter"})


def _check_composite_parents(nodes: tuple[AggNode, ...], unsafe_parent: str | None) -> None:
    """``composite`` runs only at the top or under single-bucket nested/reverse_nested/filter chains (ES)."""
    for node in nodes:
        if node.kind == "composite" and unsafe_parent is not None:
            factory = "".join(part.capitalize() for part in unsafe_parent.split("_")) + "AggregatorFactory"
            raise IllegalArgument(
                f"[composite] aggregation cannot be used with a parent aggregation of type: [{factory}]"
            )
        parent = unsafe_parent if node.kind in _COMPOSITE_SAFE_PARENTS else node.kind
        _check_composite_parents(node.children, parent)


def _parse_level(body: Any, depth: int) -> tuple[AggNode, ...]:
    if not isinstance(body, dict):
        raise ParsingError("Aggregation definition must be an object")
    if depth > MAX_AGG_DEPTH and body:
        raise IllegalArgument(
            f"The nested depth of the aggregation [{next(iter(body))}] exceeds the maximum nested depth for "
            f"aggregations [{MAX_AGG_DEPTH}]"
        )
    return tuple(_parse_node(name, definition, depth) for name, definition in body.items())


def _parse_node(name: str, definition: Any, depth: int) -> AggNode:
    if not isinstance(name, str) or not name or _BAD_NAME.search(name):
        raise ParsingError(
            f"Invalid aggregation name [{name}]. Aggregation names can contain any character except '[', ']', and '>'"
        )
    if not isinstance(definition, dict):
        raise ParsingError(f"Expected [START_OBJECT] under [{name}], but got a different token")
    kind: str | None = None
    body: Any = None
    children: tuple[AggNode, ...] = ()
    meta = None
    for key, value in definition.items():
        if key in ("aggs", "aggregations"):
            if children:
                raise ParsingError(f"Found two sub aggregation definitions under [{name}]")
            children = _parse_level(value, depth + 1)
        elif key == "meta":
            if not isinstance(value, dict):
                raise ParsingError(f"Expected [START_OBJECT] under [meta], but got a different token in [{name}]")
            meta = value
        else:
            if kind is not None:
                raise ParsingError(f"Found two aggregation type definitions in [{name}]: [{kind}] and [{key}]")
            if key not in KNOWN_KINDS:
                close = difflib.get_close_matches(key, sorted(KNOWN_KINDS), n=3, cutoff=0.6)
                hint = f" did you mean [{', '.join(close)}]?" if close else ""
                raise ParsingError(f"Unknown aggregation type [{key}]{hint}")
            kind, body = key, value
    if kind is None:
        raise ParsingError(f"Missing definition for aggregation [{name}]")
    if not isinstance(body, dict):
        raise ParsingError(f"Expected [START_OBJECT] under [{kind}], but got a different token")
    if children and kind in PIPELINE_KINDS:
        raise ParsingError(f"Aggregation [{name}] cannot define sub-aggregations")
    if "script" in body and kind not in PIPELINE_KINDS:
        raise ScriptingDisabled("cannot execute [inline] scripts")
    if children and kind in METRIC_KINDS:
        raise ParsingError(f"Aggregator [{name}] of type [{kind}] cannot accept sub-aggregations")
    params = _PARSERS[kind](name, kind, body)
    return AggNode(name, kind, params, children, meta)


_PARSERS: dict[str, Callable[[str, str, dict[str, Any]], Any]] = {
    "composite": bucket_parsers._composite,
    "geo_bounds": metric_parsers._geo_metric,
    "geo_centroid": metric_parsers._geo_metric,
    "geo_distance": bucket_parsers._geo_distance,
    "terms": bucket_parsers._terms,
    "histogram": bucket_parsers._histogram,
    "date_histogram": bucket_parsers._date_histogram,
    "range": bucket_parsers._range,
    "date_range": bucket_parsers._range,
    "filters": bucket_parsers._filters,
    "filter": bucket_parsers._filter,
    "missing": bucket_parsers._missing,
    "global": bucket_parsers._global,
    "nested": bucket_parsers._nested,
    "reverse_nested": bucket_parsers._nested,
    **dict.fromkeys(STATS_KINDS, metric_parsers._metric),
    "percentiles": metric_parsers._percentiles,
    "percentile_ranks": metric_parsers._percentiles,
    "cardinality": metric_parsers._cardinality,
    "top_hits": metric_parsers._top_hits,
    "top_metrics": top_metrics.parse_top_metrics,
    "rare_terms": rare_terms.parse_rare_terms,
    "significant_terms": significant.parse_significant_terms,
    "significant_text": significant.parse_significant_text,
    "sampler": samplers.parse_sampler,
    "diversified_sampler": samplers.parse_diversified_sampler,
    "random_sampler": samplers.parse_random_sampler,
    "multi_terms": multi_terms.parse_multi_terms,
    **dict.fromkeys(PIPELINE_KINDS, parse_pipeline),
    "weighted_avg": weighted.parse_weighted_avg,
    "matrix_stats": matrix.parse_matrix_stats,
    "median_absolute_deviation": mad.parse_mad,
    "ip_range": ip.parse_ip_range,
    "ip_prefix": ip.parse_ip_prefix,
    "geohash_grid": geogrid.parse_geo_grid,
    "geotile_grid": geogrid.parse_geo_grid,
    "adjacency_matrix": adjacency.parse_adjacency_matrix,
    "auto_date_histogram": autodate.parse_auto_date_histogram,
    "variable_width_histogram": varwidth.parse_variable_width,
}
