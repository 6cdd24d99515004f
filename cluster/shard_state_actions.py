"""What a data node tells the master about its shard copies: ES's ``ShardStateAction``.

Two actions, both answered only once the master has applied them to cluster state:

- ``fail_copy``: a primary could not replicate an operation to a copy (or a recovery failed). The master
  removes the copy from the in-sync set (and unassigns or reallocates it). The primary acknowledges the write
  only after this returns, so a copy that missed an acknowledged write is never promoted; when it raises
  (master unreachable, or this primary is stale), the write is not acknowledged.
- ``copy_started``: a recovering copy holds every operation: the master marks it STARTED and in-sync.

``Master.fail_copy``/``Master.copy_started`` (allocation) implement them synchronously in the master's
process; ``MasterShardStateActions`` adapts them here (off the event loop). A node in another process
forwards them to the elected master (``cluster.coordination``) behind the same protocol.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class ShardStateActions(Protocol):
    async def copy_started(self, index_uuid: str, shard: int, allocation_id: str) -> None:
        """The copy finished recovering; returns once cluster state says it is STARTED and in-sync."""

    async def fail_copy(self, index_uuid: str, shard: int, allocation_id: str, reason: str) -> None:
        """The copy missed an operation; returns once cluster state no longer counts it in-sync (raises when
        that cannot be known: the caller must not acknowledge)."""


class _MasterActions(Protocol):
    def copy_started(self, index_uuid: str, shard: int, allocation_id: str) -> None: ...

    def fail_copy(self, index_uuid: str, shard: int, allocation_id: str, reason: str) -> None: ...


class MasterShardStateActions:
    """The actions on a master in this process (its methods write state: they run on a worker thread)."""

    def __init__(self, master: _MasterActions) -> None:
        self.master = master

    async def copy_started(self, index_uuid: str, shard: int, allocation_id: str) -> None:
        await asyncio.to_thread(self.master.copy_started, index_uuid, shard, allocation_id)

    async def fail_copy(self, index_uuid: str, shard: int, allocation_id: str, reason: str) -> None:
        await asyncio.to_thread(self.master.fail_copy, index_uuid, shard, allocation_id, reason)
