"""Failed shards: a shard whose files are damaged (``native.damage``) or that does not open stays failed.

The data node records the failure instead of the shard (``DataNode.failed``) and keeps serving every other
shard. A failed shard is what Elasticsearch calls an unassigned primary after a failed allocation: the index
is red in ``_cluster/health``, ``_cat/shards`` lists it ``UNASSIGNED`` with reason ``ALLOCATION_FAILED``,
``_cluster/allocation/explain`` gives the failure, searches count it in ``_shards.failed`` (503 "all
shards failed" when no shard answered) and writes routed to it answer 503 ``unavailable_shards_exception``.
Nothing retries it: the files stay as they are until an operator runs ``quidditch shard
remove-corrupted-data`` (``native.repair``) and restarts the node.

QuidditchError
├── NoShardAvailable (503, no_shard_available_action_exception): a read of a failed shard
└── UnavailableShards (503, unavailable_shards_exception): a write routed to a failed shard
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from native.errors import QuidditchError


class NoShardAvailable(QuidditchError):
    status = 503
    es_type = "no_shard_available_action_exception"

    def __init__(self, index: str, shard: int) -> None:
        super().__init__(f"[{index}][{shard}] primary shard is not active", index=index, shard=str(shard))
        self.index = index
        self.shard = shard


class UnavailableShards(QuidditchError):
    status = 503
    es_type = "unavailable_shards_exception"

    def __init__(self, index: str, shard: int, requests: int) -> None:
        # ES waits up to the bulk timeout (1m) for the primary first; a failed shard does not come back by
        # itself here, so the write fails at once.
        super().__init__(
            f"[{index}][{shard}] primary shard is not active, request: [BulkShardRequest [[{index}][{shard}]] "
            f"containing [{requests}] requests]"
        )


@dataclass(frozen=True)
class ShardFailure:
    """Why a shard failed and when: ``es_type``/``reason`` of the error it failed with."""

    index: str
    index_uuid: str
    shard: int
    es_type: str
    reason: str
    at_millis: int

    @classmethod
    def of(cls, index: str, index_uuid: str, shard: int, exc: BaseException) -> ShardFailure:
        if isinstance(exc, QuidditchError):
            es_type, reason = exc.es_type, exc.reason
        else:
            es_type, reason = "exception", f"{type(exc).__name__}: {exc}"
        return cls(index, index_uuid, shard, es_type, reason, int(time.time() * 1000))

    @property
    def details(self) -> str:
        """The failure as ES words ``unassigned_info.details`` (after ``failed shard on node [..]: ``)."""
        return f"failed recovery, failure {self.es_type}[{self.reason}]"

    @property
    def at(self) -> str:
        """``at_millis`` as ES renders ``unassigned_info.at`` (ISO 8601, UTC, milliseconds)."""
        seconds, millis = divmod(self.at_millis, 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
