"""The applier: the one thread that calls into a shard's tantivy ``IndexWriter`` (adds, deletes, commits).

tantivy-py's writer takes a mutable borrow for every call, so ``native.shard`` queues all writer work here.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

import tantivy

from native.fields import ID_FIELD

log = logging.getLogger(__name__)

# Every shard's writer: its heap, and its indexing threads. Measured on the 2-core bench box
# (bench.profile_ingest): 2 indexing threads ingest no faster over HTTP (27k docs/s either way) and ~10% slower
# in-process, the second thread competing with the GIL-bound path.
WRITER_HEAP = 64_000_000
WRITER_THREADS = 1

# Documents handed to the applier but not yet given to tantivy, beyond which a write waits (backpressure;
# the queue holds each document's tantivy JSON). A commit of ~1 s of ingest fits well below it. The byte
# bound keeps large documents from queueing ~100,000 x their size while a commit runs.
MAX_PENDING_DOCS = 100_000
MAX_PENDING_BYTES = 8 << 20


def _docs_bytes(docs: _Docs) -> int:
    return sum(len(doc) for _, doc, _ in docs if doc is not None)

# What tantivy-py says when it refuses one document (a value the schema cannot take), as opposed to a failure
# of the writer itself (an I/O error, a killed indexing thread), after which the documents it held are gone.
_DOCUMENT_ERRORS = ("could not be parsed", "not valid JSON")


def writer_failed(exc: BaseException) -> bool:
    """Whether ``exc``, raised by an ``IndexWriter`` call, means the writer lost what it held since its last
    commit (``An index writer was killed``, ``No space left on device``…), not that one document was refused."""
    return not (isinstance(exc, ValueError) and any(text in str(exc) for text in _DOCUMENT_ERRORS))


_Docs = list[tuple[str, "str | None", bool]]  # (id, tantivy JSON or None for a delete, append-only)


class _Ticket:
    """Completion of a queued applier command: ``wait`` returns once it ran, raising what it raised."""

    __slots__ = ("_done", "error")

    def __init__(self) -> None:
        self._done = threading.Event()
        self.error: BaseException | None = None

    def set(self, error: BaseException | None = None) -> None:
        self.error = error
        self._done.set()

    def wait(self) -> None:
        self._done.wait()
        if self.error is not None:
            raise self.error


class _Applier(threading.Thread):
    """Serialises every call into the shard's tantivy ``IndexWriter`` (adds, deletes, commits), in order.

    ``apply`` and ``submit`` are only called under the shard's write lock, so the queue order is the seq_no
    order and a commit contains exactly the operations queued before it. While the thread is idle (no
    commit running, nothing queued) ``apply`` hands the documents to tantivy in the calling thread, as a
    write did before commits moved here: nothing can start on the thread meanwhile, since only a holder of
    the write lock queues work. While a commit runs, documents queue behind it instead of blocking.
    """

    def __init__(self, writer: tantivy.IndexWriter, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.writer = writer
        self._queue: deque[tuple[str, Any]] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._pending_docs = 0
        self._pending_bytes = 0
        self._busy = False
        self._discard = False
        # The first writer failure since the last successful commit (``writer_failed``): once set, the
        # writer no longer holds every operation handed to it, so no commit may be taken as covering them
        # (``native.shard`` rolls the writer back and re-applies its WAL before the next commit).
        self.failure: BaseException | None = None

    def apply(self, docs: _Docs) -> None:
        with self._cond:
            inline = not self._busy and not self._queue
            if not inline:
                size = _docs_bytes(docs)
                while (self._pending_docs >= MAX_PENDING_DOCS or self._pending_bytes >= MAX_PENDING_BYTES) and (
                    self.is_alive()
                ):
                    self._cond.wait()
                self._queue.append(("docs", (docs, size)))
                self._pending_docs += len(docs)
                self._pending_bytes += size
                self._cond.notify_all()
        if inline:
            self._apply(docs)

    def submit(self, kind: str) -> _Ticket:
        """Queue ``commit``, ``sync`` (a no-op: done once everything before it ran) or ``stop``."""
        ticket = _Ticket()
        with self._cond:
            self._queue.append((kind, ticket))
            self._cond.notify_all()
        return ticket

    def stop(self, *, discard: bool = False) -> None:
        if discard:
            self._discard = True
        self.submit("stop")
        self.join()

    def run(self) -> None:
        queue, cond = self._queue, self._cond
        while True:
            with cond:
                self._busy = False
                cond.notify_all()
                while not queue:
                    cond.wait()
                kind, arg = queue.popleft()
                self._busy = True
            if kind == "docs":
                docs, size = arg
                if not self._discard:
                    self._apply(docs)
                with cond:
                    self._pending_docs -= len(docs)
                    self._pending_bytes -= size
                    cond.notify_all()
                del docs, arg
                continue
            error: BaseException | None = None
            if kind == "commit":
                if self.failure is not None:
                    error = self.failure
                else:
                    try:
                        self.writer.commit()
                    except BaseException as exc:
                        error = self.failure = exc
            arg.set(error)
            if kind == "stop":
                return

    def _apply(self, docs: _Docs) -> None:
        writer = self.writer
        add_json, delete = writer.add_json, writer.delete_documents_by_term
        for doc_id, doc, append_only in docs:
            try:
                if not append_only:
                    delete(ID_FIELD, doc_id)
                if doc is not None:
                    add_json(doc)
            except Exception as exc:  # its WAL record is durable
                if writer_failed(exc):
                    if self.failure is None:
                        log.error("tantivy writer failed", extra={"id": doc_id, "error": str(exc)})
                        self.failure = exc
                    continue
                log.exception("tantivy rejected a document", extra={"id": doc_id})

    def rollback(self) -> None:
        """Drop what the writer holds since its last commit and clear ``failure`` (call with nothing queued:
        ``submit("sync").wait()`` under the shard's write lock)."""
        self.writer.rollback()
        self.failure = None
