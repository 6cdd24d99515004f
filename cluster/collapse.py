"""Field collapsing: ``collapse: {field, inner_hits, max_concurrent_group_searches}``.

The top hit of each group (documents sharing the value of a single-valued ``keyword`` or numeric field) in the
search's order, as ES returns them; ``hits.total`` and ``max_score`` stay those of every matching document.
The root reads the merged hits in order and keeps each group's first until ``from + size`` groups are found,
asking the shards for more hits (the window doubles) while groups are missing and hits remain. Every
collapsed hit shows its group value under ``fields.<field>`` (read the way ``docvalue_fields`` reads it).

``inner_hits`` (one object or a list) runs, per group on the page, the search's query restricted to the group
(a ``term`` on the value, ``must_not exists`` for documents without one) with its own ``from``/``size``
(default 3)/``sort``/source options, at most ``max_concurrent_group_searches`` at a time; an inner hit may
itself collapse on a second field (without inner hits of its own, as ES).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from native.errors import (
    ActionRequestValidation,
    ElasticsearchParseError,
    IllegalArgument,
    ParsingError,
    SearchPhaseError,
)
from native.fields import COLUMNAR_NUMERIC_TYPES
from native.mapping import Mapping

if TYPE_CHECKING:
    from cluster.root import QueryPhase, Root
    from cluster.search_request import SearchSpec
    from cluster.state import IndexMeta

DEFAULT_INNER_SIZE = 3
_INNER_KEYS = frozenset({
    "name", "from", "size", "sort", "_source", "version", "seq_no_primary_term", "explain", "track_scores",
    "fields", "docvalue_fields", "stored_fields", "highlight", "collapse", "ignore_unmapped", "script_fields",
})  # fmt: skip
_INNER_BODY_KEYS = ("from", "size", "sort", "_source", "version", "seq_no_primary_term", "explain",
                    "track_scores", "fields", "docvalue_fields", "stored_fields", "highlight")  # fmt: skip


@dataclass(frozen=True)
class InnerHits:
    name: str
    body: dict[str, Any]  # a search body (from, size, sort, _source, ...) for the group's search
    collapse: CollapseSpec | None = None


@dataclass(frozen=True)
class CollapseSpec:
    field: str
    inner_hits: tuple[InnerHits, ...] = ()
    max_concurrent_group_searches: int = 0  # 0: no limit of our own


def parse_collapse(raw: Any, *, inner: bool = False) -> CollapseSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ParsingError("[collapse] failed to parse field [collapse]")
    for key in raw:
        if key not in ("field", "inner_hits", "max_concurrent_group_searches", "collapse"):
            raise ParsingError(f"[collapse] unknown field [{key}]")
    if "collapse" in raw:
        raise ParsingError("[collapse] unknown field [collapse]")
    field = raw.get("field")
    if not isinstance(field, str) or not field:
        raise ParsingError("[collapse] failed to parse field [field]")
    concurrency = raw.get("max_concurrent_group_searches", 0)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise ParsingError("[collapse] failed to parse field [max_concurrent_group_searches]")
    if concurrency < 0:
        raise IllegalArgument("maxConcurrentGroupRequests must be positive, was: " + str(concurrency))
    raw_inner = raw.get("inner_hits")
    if inner and raw_inner is not None:
        raise ElasticsearchParseError("[collapse] inner_hits are not allowed in a second level of collapse")
    items = [] if raw_inner is None else raw_inner if isinstance(raw_inner, list) else [raw_inner]
    inner_hits = tuple(_parse_inner(item, field) for item in items)
    return CollapseSpec(field, inner_hits, concurrency)


def _parse_inner(raw: Any, field: str) -> InnerHits:
    if not isinstance(raw, dict):
        raise ParsingError("[inner_hits] failed to parse field [inner_hits]")
    for key in raw:
        if key not in _INNER_KEYS:
            raise ParsingError(f"[inner_hits] unknown field [{key}]")
    if raw.get("script_fields"):
        raise IllegalArgument("[script_fields] in [inner_hits] is not supported by this server")
    collapse = None
    if raw.get("collapse") is not None:
        nested = raw["collapse"]
        if isinstance(nested, dict) and "collapse" in nested:
            raise ElasticsearchParseError("[collapse] a second level of collapse cannot collapse again")
        collapse = parse_collapse(nested, inner=True)
    body = {k: raw[k] for k in _INNER_BODY_KEYS if k in raw}
    body.setdefault("size", DEFAULT_INNER_SIZE)
    return InnerHits(str(raw.get("name", field)), body, collapse)


def validate_collapse_early(body: dict[str, Any], scroll: bool) -> None:
    """The request-level refusals of ES's ``SearchRequest.validate`` for ``collapse``."""
    if scroll:
        raise ActionRequestValidation("Validation Failed: 1: cannot use `collapse` in a scroll context;")
    if body.get("rescore"):
        raise ActionRequestValidation("Validation Failed: 1: cannot use `collapse` in conjunction with `rescore`;")


def validate_collapse(body: dict[str, Any], collapse: CollapseSpec) -> None:
    """``search_after`` only with a sort on the collapse field alone (read from the raw sort, as ES does)."""
    if body.get("search_after") is not None:
        raw = body.get("sort")
        items = [] if raw is None else raw if isinstance(raw, list) else [raw]
        fields = [name for item in items for name in ([item.split(":")[0]] if isinstance(item, str) else item)]
        if fields != [collapse.field]:
            raise IllegalArgument(
                "Cannot use [collapse] in conjunction with [search_after] unless the search is sorted on the same "
                "field. Multiple sort fields are not allowed."
            )


def check_field(collapse: CollapseSpec, indices: Sequence[IndexMeta]) -> None:
    """The field must be a single-valued ``keyword`` or numeric field with doc values, in every index searched."""
    for meta in indices:
        mapping = Mapping(meta.mappings)
        leaf = mapping.leaf(collapse.field)
        if leaf is not None and leaf.type == "alias":
            target = leaf.params.get("path")
            leaf = mapping.leaf(str(target)) if target else None
        if leaf is None:
            cause: IllegalArgument = IllegalArgument(f"no mapping found for `{collapse.field}` in order to collapse on")
        elif leaf.type != "keyword" and leaf.type not in COLUMNAR_NUMERIC_TYPES:
            cause = IllegalArgument(
                f"unknown type for collapse field `{collapse.field}`, only keywords and numbers are accepted"
            )
        else:
            continue
        raise SearchPhaseError("all shards failed", caused_by=cause)


def alias_targets(field: str, indices: Sequence[IndexMeta]) -> set[str]:
    out = set()
    for meta in indices:
        leaf = Mapping(meta.mappings).leaf(field)
        if leaf is not None and leaf.type == "alias" and leaf.params.get("path"):
            out.add(str(leaf.params["path"]))
    return out


def _group_key(hit: dict[str, Any], names: Sequence[str]) -> Any:
    fields = hit.get("fields") or {}
    values = next((fields[n] for n in names if fields.get(n)), None)
    if not values:
        return None
    if len(values) > 1:
        raise SearchPhaseError("all shards failed", caused_by=IllegalArgument(
            f"failed to collapse {hit.get('_id')}, the collapse field must be single valued"
        ))  # fmt: skip
    return values[0]


async def collapsed_search(
    root: Root, indices: Sequence[IndexMeta], spec: SearchSpec, collapse: CollapseSpec, **search_args: Any
) -> tuple[dict[str, Any], QueryPhase]:
    """The search with its hits collapsed on ``collapse.field`` and each group's ``inner_hits``."""
    check_field(collapse, indices)
    if spec.size == 0:  # no hits to collapse: the totals and aggregations of the plain search
        return await root.search(indices, spec, **search_args)
    want = spec.from_ + spec.size
    asked = {_names(f) for f in [*spec.fields, *spec.docvalue_fields]}
    # an alias is read through its target (which may differ per index)
    names = [collapse.field, *sorted(alias_targets(collapse.field, indices) - {collapse.field})]
    docvalue_fields = [*spec.docvalue_fields, *(n for n in names if n not in asked)]
    window = max(want * 2, 16)
    while True:
        wide = replace(spec, from_=0, size=window, docvalue_fields=docvalue_fields)
        response, phase = await root.search(indices, wide, **search_args)
        groups: list[tuple[Any, dict[str, Any]]] = []
        seen: set[Any] = set()
        for hit in response["hits"]["hits"]:
            key = _group_key(hit, names)
            marker = ("v", key) if key is not None else ("null",)
            if marker in seen:
                continue
            seen.add(marker)
            groups.append((key, hit))
            if len(groups) >= want:
                break
        if len(groups) >= want or window >= phase.total or not response["hits"]["hits"]:
            break
        window = min(window * 4, max(phase.total, window))
    page = groups[spec.from_ : spec.from_ + spec.size]
    for _, hit in groups:
        fields = hit.setdefault("fields", {})
        for name in names[1:]:
            if name not in asked:
                fields.pop(name, None)
    for key, hit in page:
        hit["fields"][collapse.field] = [key]
    if collapse.inner_hits and page:
        await _inner_hits(root, indices, spec, collapse, page, search_args)
    response["hits"]["hits"] = [hit for _, hit in page]
    return response, phase


def _names(item: Any) -> str:
    return item if isinstance(item, str) else str(item.get("field")) if isinstance(item, dict) else ""


async def _inner_hits(
    root: Root, indices: Sequence[IndexMeta], spec: SearchSpec, collapse: CollapseSpec,
    page: list[tuple[Any, dict[str, Any]]], search_args: dict[str, Any],
) -> None:  # fmt: skip
    from cluster.search_request import parse_search

    limit = asyncio.Semaphore(collapse.max_concurrent_group_searches or len(page) * len(collapse.inner_hits))
    base_query = spec.query or {"match_all": {}}
    params = {"rest_total_hits_as_int": "true"} if spec.rest_total_hits_as_int else {}

    async def one(key: Any, hit: dict[str, Any], inner: InnerHits) -> None:
        group = {"term": {collapse.field: key}} if key is not None else {
            "bool": {"must_not": [{"exists": {"field": collapse.field}}]}}  # fmt: skip
        body = {**inner.body, "query": {"bool": {"must": [base_query], "filter": [group]}}, "track_total_hits": True}
        inner_spec = parse_search(body, params)
        async with limit:
            if inner.collapse is not None:
                result, _ = await collapsed_search(root, indices, inner_spec, inner.collapse, **search_args)
            else:
                result, _ = await root.search(indices, inner_spec, **search_args)
        hit.setdefault("inner_hits", {})[inner.name] = {"hits": result["hits"]}

    await asyncio.gather(*(one(key, hit, inner) for key, hit in page for inner in collapse.inner_hits))
