"""Domain errors across the leaf boundary: ``QuidditchError`` ⇄ ``leaf_pb2.Error``."""

from __future__ import annotations

from typing import Any

import orjson

from cluster.protos import leaf_pb2 as pb
from native.errors import QuidditchError


class RemoteError(QuidditchError):
    """An error raised on a leaf, carried back with its original status and type."""

    def __init__(self, status: int, es_type: str, reason: str, caused_by: QuidditchError | None = None,
                 **extra: Any) -> None:  # fmt: skip
        super().__init__(reason, caused_by=caused_by, **extra)
        self.status = status
        self.es_type = es_type


def error_to_pb(exc: QuidditchError) -> pb.Error:
    msg = pb.Error(status=exc.status, es_type=exc.es_type, reason=exc.reason)
    if exc.extra:
        msg.extra_json = orjson.dumps(exc.extra, default=str)
    if exc.caused_by is not None:
        msg.caused_by.CopyFrom(error_to_pb(exc.caused_by))
    return msg


def error_from_pb(msg: pb.Error) -> RemoteError:
    extra = orjson.loads(msg.extra_json) if msg.extra_json else {}
    cause = error_from_pb(msg.caused_by) if msg.HasField("caused_by") else None
    return RemoteError(msg.status, msg.es_type, msg.reason, cause, **extra)


def unexpected_to_pb(exc: BaseException) -> pb.Error:
    return pb.Error(status=500, es_type="exception", reason=f"{type(exc).__name__}: {exc}")
