"""``_delete_by_query`` and ``_update_by_query`` (without scripts): a snapshot search, then bulk writes.

The matching documents are read from the readers pinned at the start (ES's snapshot semantics), page
by page, and written back with ``if_seq_no``/``if_primary_term`` so a document changed meanwhile counts
as a version conflict instead of being overwritten.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from cluster.root import SNAPSHOT_PIN_SECONDS, Root
from cluster.scroll import Pages
from cluster.search_request import SearchSpec
from cluster.state import IndexMeta
from cluster.throttle import Throttle
from cluster.writes import WriteCoordinator, WriteItem
from native.search import SortField

PAGE = 1000


async def by_query(
    root: Root,
    writes: WriteCoordinator,
    indices: Sequence[IndexMeta],
    query: dict[str, Any] | None,
    *,
    action: str,
    refresh: bool,
    abort_on_conflict: bool = True,
    max_docs: int | None = None,
    routing: Sequence[str] = (),
    batch_size: int = PAGE,
    throttle: Throttle | None = None,
) -> dict[str, Any]:
    """Delete (``action="delete"``) or re-index (``action="index"``) every document matching ``query``,
    ``batch_size`` (``scroll_size``) at a time, paced by ``throttle`` (``requests_per_second``)."""
    started = time.monotonic()
    throttle = throttle or Throttle()
    spec = SearchSpec(query=query, size=batch_size, sort=[SortField("_doc")], explicit_sort=True)
    spec.allow_partial_search_results = False  # a shard that fails or times out must not be skipped
    spec.seq_no_primary_term = True
    spec.track_total_hits = True
    spec.routing = tuple(routing)
    pages = Pages(root, indices, spec, SNAPSHOT_PIN_SECONDS)
    response, _ = await pages.next()
    total = int(response["hits"]["total"]["value"])
    if max_docs is not None:
        total = min(total, max_docs)
    done = conflicts = batches = 0
    failures: list[dict[str, Any]] = []
    offset = 0
    hits = response["hits"]["hits"]
    batch_started = started
    while hits and offset < total:
        hits = hits[: total - offset]
        items = [
            WriteItem(
                action=action,
                index=hit["_index"],
                id=hit["_id"],
                routing=hit.get("_routing"),  # the document's shard
                source=None if action == "delete" else _source_bytes(hit),
                if_seq_no=hit["_seq_no"],
                if_primary_term=hit["_primary_term"],
            )
            for hit in hits
        ]
        batches += 1
        for result in await writes.write(items, refresh=False):
            if "error" not in result.body:
                done += 1
            elif result.status == 409:
                conflicts += 1
                if abort_on_conflict:
                    failures.append({"index": result.index, "id": result.id, "cause": result.body["error"],
                                     "status": 409})  # fmt: skip
            else:
                failures.append({"index": result.index, "id": result.id, "cause": result.body["error"],
                                 "status": result.status})  # fmt: skip
        offset += len(hits)
        if failures and abort_on_conflict:
            break
        await throttle.pace(len(hits), batch_started)
        batch_started = time.monotonic()
        response, _ = await pages.next()
        hits = response["hits"]["hits"]
    if refresh:
        await writes.refresh(list(indices))
    body: dict[str, Any] = {
        "took": int((time.monotonic() - started) * 1000),
        "timed_out": False,
        "total": total,
        "updated" if action == "index" else "deleted": done,
        "batches": batches,
        "version_conflicts": conflicts,
        "noops": 0,
        "retries": {"bulk": 0, "search": 0},
        **throttle.status(),
        "failures": failures,
    }
    if action == "delete":
        body["updated"] = 0
    else:
        body["deleted"] = 0
    return body


def _source_bytes(hit: dict[str, Any]) -> bytes:
    import orjson

    return orjson.dumps(hit["_source"])
