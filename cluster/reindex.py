"""``_reindex`` (local sources only, no scripts): a snapshot search of the sources, then bulk writes.

The same pattern as ``cluster.by_query``: the source documents are read from readers pinned at the start
(page by page, in ``_doc`` order unless ``source.sort`` asks otherwise) and written to the destination
through the write coordinator, so the destination is auto-created (templates apply) and dynamic mapping
updates go through the master like any other write.

``dest.op_type=create`` turns an existing destination document into a version conflict (counted, and an
abort unless ``conflicts=proceed``); ``dest.version_type`` ``internal`` overwrites blindly, ``external`` and
``external_gte`` write each document with its source version (a newer destination document is a conflict).

``ReindexTasks`` runs a reindex in the background for ``wait_for_completion=false`` and keeps its result
until it is read, a minimal stand-in for ES's task manager (no cancellation); ``requests_per_second`` paces
the batches (``cluster.throttle``) and ``_rethrottle`` changes a running task's pace.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from cluster.root import SNAPSHOT_PIN_SECONDS, Root
from cluster.scroll import Pages
from cluster.search_request import SearchSpec, SourceFilter
from cluster.source_filter import filter_source
from cluster.state import IndexMeta
from cluster.throttle import Throttle
from cluster.writes import WriteCoordinator, WriteItem
from native.search import SortField

DEFAULT_BATCH = 1000


@dataclass(frozen=True)
class ReindexRequest:
    """A parsed ``_reindex`` body: what to read, where to write, how to treat conflicts."""

    sources: tuple[IndexMeta, ...]
    dest: str
    query: dict[str, Any] | None = None
    source_filter: SourceFilter = field(default_factory=SourceFilter)
    sort: tuple[SortField, ...] = ()
    batch_size: int = DEFAULT_BATCH
    max_docs: int | None = None
    op_type: str = "index"  # index | create
    routing: str | None = None  # "keep" (the default: each hit's own _routing), "discard" or "=value"
    abort_on_conflict: bool = True
    refresh: bool = False
    # external | external_gte: each document is written with its source version (``native.versioning``), so
    # a destination document of a newer version is a conflict; internal overwrites blindly
    version_type: str = "internal"


def _empty_response(started: float) -> dict[str, Any]:
    return {
        "took": int((time.monotonic() - started) * 1000),
        "timed_out": False,
        "total": 0,
        "updated": 0,
        "created": 0,
        "deleted": 0,
        "batches": 0,
        "version_conflicts": 0,
        "noops": 0,
        "retries": {"bulk": 0, "search": 0},
        "throttled_millis": 0,
        "requests_per_second": -1.0,
        "throttled_until_millis": 0,
        "failures": [],
    }


async def reindex(
    root: Root, writes: WriteCoordinator, request: ReindexRequest, throttle: Throttle | None = None
) -> dict[str, Any]:
    """Copy every source document matching ``request.query`` into ``request.dest``; ES's response body.
    ``throttle`` paces the batches (``requests_per_second``)."""
    started = time.monotonic()
    throttle = throttle or Throttle()
    body = _empty_response(started)
    sort = list(request.sort) or [SortField("_doc")]
    spec = SearchSpec(query=request.query, size=request.batch_size, sort=sort, explicit_sort=True)
    spec.allow_partial_search_results = False  # a shard that fails or times out must not be skipped
    spec.track_total_hits = True
    spec.version = request.version_type != "internal"
    spec.source = SourceFilter()  # filtered here, so a missing include still copies an empty document
    pages = Pages(root, request.sources, spec, SNAPSHOT_PIN_SECONDS)
    response, _ = await pages.next()
    total = int(response["hits"]["total"]["value"])
    if request.max_docs is not None:
        total = min(total, request.max_docs)
    body["total"] = total
    fixed = request.routing[1:] if request.routing and request.routing.startswith("=") else None
    keep = request.routing in (None, "keep")
    failures: list[dict[str, Any]] = body["failures"]
    offset = 0
    hits = response["hits"]["hits"]
    batch_started = started
    while hits and offset < total:
        hits = hits[: total - offset]
        items = [
            WriteItem(
                action=request.op_type,
                index=request.dest,
                id=hit["_id"],
                routing=hit.get("_routing") if keep else fixed,
                version=hit["_version"] if request.version_type != "internal" else None,
                version_type=request.version_type,
                source=orjson.dumps(filter_source(hit.get("_source", {}), request.source_filter)),
            )
            for hit in hits
        ]
        body["batches"] += 1
        for result in await writes.write(items, refresh=False):
            if "error" not in result.body:
                body["created" if result.body.get("result") == "created" else "updated"] += 1
            elif result.status == 409:
                body["version_conflicts"] += 1
                if request.abort_on_conflict:
                    failures.append(_failure(result.index, result.id, result.body["error"], 409))
            else:
                failures.append(_failure(result.index, result.id, result.body["error"], result.status))
        offset += len(hits)
        if failures and (request.abort_on_conflict or any(f["status"] != 409 for f in failures)):
            break
        await throttle.pace(len(hits), batch_started)
        batch_started = time.monotonic()
        response, _ = await pages.next()
        hits = response["hits"]["hits"]
    if request.refresh:
        meta = writes.master.state.indices.get(request.dest)
        if meta is not None:
            await writes.refresh([meta])
    body.update(throttle.status())
    body["took"] = int((time.monotonic() - started) * 1000)
    return body


def _failure(index: str, doc_id: str | None, cause: dict[str, Any], status: int) -> dict[str, Any]:
    return {"index": index, "id": doc_id, "cause": cause, "status": status}


@dataclass
class ReindexTask:
    id: int
    description: str
    start_millis: int
    started: float = field(default_factory=time.monotonic)
    result: dict[str, Any] | None = None
    error: BaseException | None = None
    handle: asyncio.Task[None] | None = None
    throttle: Throttle = field(default_factory=Throttle)
    action: str = "indices:data/write/reindex"

    @property
    def completed(self) -> bool:
        return self.result is not None or self.error is not None


class ReindexTasks:
    """Background reindex runs for ``wait_for_completion=false``, addressed as ``<node_id>:<n>``."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.tasks: dict[int, ReindexTask] = {}

    def start(
        self, description: str, work: Awaitable[dict[str, Any]], action: str = "indices:data/write/reindex",
        throttle: Throttle | None = None,
    ) -> ReindexTask:  # fmt: skip
        task = ReindexTask(next(self._ids), description, int(time.time() * 1000), action=action,
                           throttle=throttle or Throttle())  # fmt: skip

        async def run() -> None:
            try:
                task.result = await work
            except BaseException as exc:  # reported through the task, never lost
                task.error = exc

        task.handle = asyncio.get_running_loop().create_task(run())
        self.tasks[task.id] = task
        return task

    def get(self, task_id: int) -> ReindexTask | None:
        return self.tasks.get(task_id)

    def running(self) -> Sequence[ReindexTask]:
        return [t for t in self.tasks.values() if not t.completed]
