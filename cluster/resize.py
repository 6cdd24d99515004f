"""Copies of an index: ``_clone``, ``_shrink`` and ``_split``.

ES hard-links the source's segments into the target; here the target is created with the source's mappings
and settings, then every document is re-indexed into it, read from readers pinned by the first page (the
generations a scroll pins), so the copy is one point-in-time view of the source. The result is the same
documents. Custom ``_routing`` is not stored with a document, so a routed document lands in the target by
its id.

QuidditchError
└── IllegalState (400, illegal_state_exception: ES answers these 500, but a bad shard count is the request's
    fault, and a 5xx here must mean a defect of ours)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson

from cluster.embedded import EmbeddedCluster
from cluster.names import resolve_alias_names
from cluster.root import SNAPSHOT_PIN_SECONDS
from cluster.scroll import Pages
from cluster.search_request import SearchSpec
from cluster.state import IndexMeta
from cluster.writes import WriteItem
from native.errors import IllegalArgument, QuidditchError
from native.search import SortField

__all__ = ["IllegalState", "check_resize", "resize_index", "routing_num_shards", "scan_documents", "target_settings"]

# Settings a resized index never inherits: identity, shard counts, and ES's private resize bookkeeping.
_NOT_COPIED = ("index.uuid", "index.provided_name", "index.creation_date", "index.version.created",
               "index.number_of_shards", "index.number_of_replicas", "index.number_of_routing_shards",
               "index.resize.", "index.routing.allocation.initial_recovery.")  # fmt: skip
_SCAN_PAGE = 1000


class IllegalState(QuidditchError):
    status = 400
    es_type = "illegal_state_exception"


def routing_num_shards(meta: IndexMeta) -> int:
    """ES's ``index.number_of_routing_shards``: explicit, or the default that allows splits by 2 up to 1024."""
    explicit = meta.settings.get("index.number_of_routing_shards")
    if explicit is not None:
        return int(explicit)
    shards = meta.number_of_shards
    splits = max(1, 10 - (shards - 1).bit_length())
    return shards * 2**splits


def check_resize(kind: str, source: IndexMeta, target_shards: int) -> None:
    """ES's preconditions for ``_clone``/``_shrink``/``_split``, in ES's order: the shard arithmetic of the
    request (``TransportResizeAction``), then the source's write block (``validateResize``)."""
    _check_shard_counts(kind, source, target_shards)
    blocked = ("index.blocks.write", "index.blocks.read_only")
    if not any(str(source.settings.get(key, "false")).lower() == "true" for key in blocked):
        raise IllegalState(f'index {source.name} must be read-only to resize index. use "index.blocks.write=true"')


def _check_shard_counts(kind: str, source: IndexMeta, target_shards: int) -> None:
    src = source.number_of_shards
    if kind == "clone" and target_shards != src:
        raise IllegalArgument(
            f"the number of target shards ([{target_shards}]) must be the same as the number of source shards ([{src}])"
        )
    if kind == "shrink":
        if target_shards > src:
            raise IllegalArgument(
                f"the number of target shards [{target_shards}] must be less that the number of source shards [{src}]"
            )
        if src % target_shards:
            raise IllegalArgument(f"the number of source shards [{src}] must be a multiple of [{target_shards}]")
    if kind == "split":
        if target_shards < src:
            raise IllegalArgument(
                f"the number of source shards [{src}] must be less that the number of target shards [{target_shards}]"
            )
        if target_shards % src:
            raise IllegalArgument(f"the number of source shards [{src}] must be a factor of [{target_shards}]")
        # from one shard any count is possible (ES assumes the routing shards of the target then)
        routing = target_shards if src == 1 else routing_num_shards(source)
        if routing % target_shards:
            raise IllegalState(
                f"the number of routing shards [{routing}] must be a multiple of the target shards [{target_shards}]"
            )


def target_settings(kind: str, source: IndexMeta, requested: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The target's settings (inherited, then ``requested`` over them) and, apart, the inherited blocks: those
    are applied only once the copy no longer needs to write. Checks the preconditions first."""
    default_shards = 1 if kind == "shrink" else source.number_of_shards
    target_shards = int(requested.get("index.number_of_shards") or default_shards)
    if requested.get("index.number_of_routing_shards") is not None and not (kind == "split"
                                                                             and source.number_of_shards == 1):
        raise IllegalArgument("cannot provide index.number_of_routing_shards on resize")
    check_resize(kind, source, target_shards)
    inherited = {k: v for k, v in source.settings.items() if not k.startswith(_NOT_COPIED) and k not in requested}
    blocks = {k: v for k, v in inherited.items() if k.startswith("index.blocks.")}
    settings = {k: v for k, v in inherited.items() if k not in blocks}
    settings.update({k: v for k, v in requested.items() if v is not None})
    settings["index.number_of_shards"] = str(target_shards)
    return settings, blocks


async def scan_documents(cluster: EmbeddedCluster, metas: list[IndexMeta]) -> AsyncIterator[list[dict[str, Any]]]:
    """Every document of ``metas`` as pages of hits, read from the readers pinned by the first page."""
    spec = SearchSpec(query=None, size=_SCAN_PAGE, sort=[SortField("_doc")], explicit_sort=True, internal=True)
    spec.allow_partial_search_results = False  # a shard that fails or times out must not be skipped
    spec.track_total_hits = True
    pages = Pages(cluster.root, metas, spec, SNAPSHOT_PIN_SECONDS)
    response, _ = await pages.next()
    total = int(response["hits"]["total"]["value"])
    offset = 0
    hits = response["hits"]["hits"]
    while hits and offset < total:
        yield hits
        offset += len(hits)
        response, _ = await pages.next()
        hits = response["hits"]["hits"]


async def _copy_documents(cluster: EmbeddedCluster, source: IndexMeta, target: str) -> None:
    await cluster.writes.refresh([source])  # acknowledged but unrefreshed documents are copied too
    async for hits in scan_documents(cluster, [source]):
        items = [WriteItem(action="index", index=target, id=hit["_id"], source=orjson.dumps(hit["_source"]),
                           routing=hit.get("_routing")) for hit in hits]  # fmt: skip
        for result in await cluster.writes.write(items):
            if "error" in result.body:
                raise IllegalState(f"failed to copy document [{result.id}] into [{target}]: {result.body['error']}")


async def resize_index(
    cluster: EmbeddedCluster, kind: str, source: IndexMeta, target: str, requested: dict[str, Any], aliases: Any
) -> None:
    """Create ``target`` as a ``kind`` copy of ``source`` (``requested``: flat settings of the request) and copy
    every document into it; on any failure the half-made target is deleted again."""
    settings, blocks = target_settings(kind, source, requested)
    aliases = aliases or {}
    if isinstance(aliases, dict):
        aliases = resolve_alias_names(aliases)
    create = {"settings": settings, "mappings": source.mappings, "aliases": aliases}
    await asyncio.to_thread(cluster.master.create_index, target, create)
    try:
        await _copy_documents(cluster, source, target)
        await cluster.writes.refresh([cluster.master.state.indices[target]])
        if blocks:  # inherited like every other setting, once the copy no longer needs to write
            await asyncio.to_thread(cluster.master.put_settings, target, blocks)
    except BaseException:
        await asyncio.to_thread(cluster.master.delete_index, target)
        raise
