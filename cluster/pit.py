"""Point in time (PIT) contexts and the request parts of search contexts: ``pit``, ``slice`` and ``_shard_doc``.

A PIT pins, on every shard of the indices it was opened on, the reader of that moment (``Readers.pin``, the
scroll's mechanism): a search that names the PIT reads those readers (``generations``), whatever was written,
refreshed or deleted since. Each search may renew the keep-alive; an expired or closed PIT is a 404
``search_context_missing_exception``. The id is opaque (URL-safe base64 of random bytes), as ES's is to
clients.

``_shard_doc`` (the PIT tiebreaker, added implicitly behind an explicit sort) is ``shard index << 32 | doc``
where the shard index is the shard's position in the PIT's shard list and the doc is its ``_seq_no`` (the
shard's index order here, unique within a shard and fixed in the pinned reader).
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from native.errors import ActionRequestValidation, IllegalArgument, ParsingError, QuidditchError, SearchPhaseError
from native.search import SortField

MAX_OPEN_PITS = 500
SHARD_DOC = "_shard_doc"
_LOW_32 = (1 << 32) - 1


class SearchContextMissing(QuidditchError):
    """A PIT or scroll id that is unknown, closed or expired."""

    es_type = "search_context_missing_exception"
    status = 404


def context_missing(context_id: str) -> SearchPhaseError:
    """As ES reports an unknown or expired PIT or scroll: every shard failed with the missing context (404)."""
    return SearchPhaseError(
        "all shards failed", caused_by=SearchContextMissing(f"No search context found for id [{context_id}]")
    )


@dataclass(frozen=True)
class PitRef:
    """The ``pit`` of a search body."""

    id: str
    keep_alive: float | None  # seconds; None: keep the current expiry
    keep_alive_text: str = ""  # as written (for messages)


@dataclass(frozen=True)
class SliceSpec:
    """The ``slice`` of a search body (``native.slicing`` splits the shards)."""

    id: int
    max: int
    field: str | None = None


@dataclass
class PitContext:
    id: str
    index_names: list[str]
    index_uuids: list[str]
    generations: list[int]
    keep_alive: float
    expires_at: float
    # per shard, the node whose readers are pinned (a search of the PIT reads there and nowhere else)
    nodes: list[str] = field(default_factory=list)


def parse_pit(raw: Any, parse_keep_alive: Any) -> PitRef | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ParsingError("[pit] failed to parse field [pit]")
    for key in raw:
        if key not in ("id", "keep_alive"):
            raise ParsingError(f"[pit] unknown field [{key}]")
    pit_id = raw.get("id")
    if not isinstance(pit_id, str) or not pit_id:
        raise ParsingError("[pit] failed to parse field [id]")
    keep = raw.get("keep_alive")
    return PitRef(pit_id, None if keep is None else parse_keep_alive(str(keep)), "" if keep is None else str(keep))


def parse_slice(raw: Any) -> SliceSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ParsingError("[slice] failed to parse field [slice]")
    for key in raw:
        if key not in ("id", "max", "field"):
            raise ParsingError(f"[slice] unknown field [{key}]")
    values: dict[str, int] = {}
    for key in ("id", "max"):
        value = raw.get(key)
        if isinstance(value, bool) or value is None:
            raise ParsingError(f"[slice] failed to parse field [{key}]")
        try:
            values[key] = int(value)
        except (TypeError, ValueError):
            raise ParsingError(f"[slice] failed to parse field [{key}]") from None
    field = raw.get("field")
    if field is not None and not isinstance(field, str):
        raise ParsingError("[slice] failed to parse field [field]")
    if values["id"] < 0:
        raise IllegalArgument("id must be greater than or equal to 0")
    if values["max"] <= 1:
        raise IllegalArgument("max must be greater than 1")
    if values["id"] >= values["max"]:
        raise IllegalArgument("max must be greater than id")
    return SliceSpec(values["id"], values["max"], field)


def validate_contexts(pit: PitRef | None, slice_: SliceSpec | None, scroll: bool, params: Mapping[str, str]) -> None:
    """``SearchRequest.validate`` / ``RestSearchAction.preparePointInTime`` for ``pit`` and ``slice``."""
    problems: list[str] = []
    if slice_ is not None and pit is None and not scroll:
        problems.append("[slice] can only be used with [scroll] or [point-in-time] requests")
    if pit is not None:
        if scroll:
            problems.append("using [point in time] is not allowed in a scroll context")
        for name in ("routing", "preference"):
            if name in params:
                problems.append(f"[{name}] cannot be used with point in time")
        if slice_ is not None and slice_.field == "_id":
            raise IllegalArgument("cannot slice on [_id] when using [point-in-time]")
    if problems:
        listed = "".join(f"{i}: {p};" for i, p in enumerate(problems, 1))
        raise ActionRequestValidation(f"Validation Failed: {listed}")


def with_tiebreaker(sort: list[SortField]) -> list[SortField]:
    """A PIT search's sort: an explicit sort gets ``_shard_doc`` (ascending) behind it unless it has one."""
    if not sort or any(s.field == SHARD_DOC for s in sort):
        return sort
    return [*sort, SortField(SHARD_DOC, "asc")]


def shard_doc(shard_index: int, seq_no: int) -> int:
    return (shard_index << 32) | (seq_no & _LOW_32)


def shard_after(value: Any, shard_index: int, descending: bool) -> int:
    """The ``_doc`` (``_seq_no``) to continue shard ``shard_index`` after, for a ``_shard_doc`` search-after
    ``value``: shards before the value's shard are done (all of their ties passed), shards after it not begun."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise IllegalArgument(f"Failed to parse search_after value for field [{SHARD_DOC}].") from None
    at = value >> 32
    if shard_index == at:
        return value & _LOW_32
    passed = shard_index > at if descending else shard_index < at
    return (1 << 62) if passed != descending else -1


class PitRegistry:
    def __init__(self) -> None:
        self._contexts: dict[str, PitContext] = {}
        self._lock = threading.Lock()

    def open(
        self, index_names: Sequence[str], index_uuids: Sequence[str], generations: Sequence[int], keep_alive: float,
        nodes: Sequence[str] = (),
    ) -> PitContext:
        self.expire()
        with self._lock:
            if len(self._contexts) >= MAX_OPEN_PITS:
                raise IllegalArgument(
                    f"Trying to create too many point in time contexts. Must be less than or equal to: "
                    f"[{MAX_OPEN_PITS}]. This limit can be set by changing the [search.max_open_pit_context] setting."
                )
            pit_id = base64.urlsafe_b64encode(b"pit:" + os.urandom(24)).decode()
            ctx = PitContext(pit_id, list(index_names), list(index_uuids), list(generations), keep_alive,
                             time.monotonic() + keep_alive, list(nodes))  # fmt: skip
            self._contexts[pit_id] = ctx
            return ctx

    def get(self, pit_id: str, keep_alive: float | None) -> PitContext:
        self.expire()
        with self._lock:
            ctx = self._contexts.get(pit_id)
            if ctx is None:
                raise context_missing(pit_id)
            if keep_alive is not None:
                ctx.keep_alive = keep_alive
                ctx.expires_at = time.monotonic() + keep_alive
            return ctx

    def close(self, pit_ids: Sequence[str] | None) -> int:
        """How many of ``pit_ids`` (None: all) were open and are now freed."""
        self.expire()
        with self._lock:
            if pit_ids is None:
                freed = len(self._contexts)
                self._contexts.clear()
                return freed
            return sum(1 for pid in pit_ids if self._contexts.pop(pid, None) is not None)

    def expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            for pid in [p for p, c in self._contexts.items() if c.expires_at < now]:
                del self._contexts[pid]

    def __len__(self) -> int:
        return len(self._contexts)
