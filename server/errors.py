"""The one error renderer: domain errors (``native.errors``) to Elasticsearch error bodies.

Shapes::

    {"error": {"root_cause": [{"type", "reason", ...extra}], "type", "reason", ...extra,
               "caused_by"?: {...}}, "status": N}          # every QuidditchError
    {"error": "<reason>", "status": N}                      # FlatError: 406, unknown endpoint, 405

``root_cause[0]`` is always filled (clients print its reason). A ``SearchPhaseError`` renders as ES's
``search_phase_execution_exception`` ("all shards failed", phase ``query``, grouped, one failed shard
whose ``reason`` is the cause); its root cause and HTTP status are the cause's. The error's ``index``,
``node`` and ``shard`` extras describe that failed shard rather than the top-level error.

Errors that are not ``QuidditchError`` are bugs; :func:`unexpected_error_body` renders them as a 500 of
type ``exception`` (what ES answers for an exception without a more specific name, and what
``QuidditchError`` itself renders as), with the Python class name in the reason so a user's bug report
says what broke. Both renderers add ``stack_trace`` when asked (``?error_trace=true``).

Error classes defined here (the HTTP-only ones; the domain tree is in ``native.errors``)::

    QuidditchError
    └── FlatError (flat body)
        ├── NoHandlerFound (400)
        └── MethodNotAllowed (405)
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, ClassVar, Protocol

from native.errors import QuidditchError, SearchPhaseError

__all__ = [
    "FlatError",
    "MethodNotAllowed",
    "NoHandlerFound",
    "error_body",
    "error_status",
    "unexpected_error_body",
]

_SHARD_KEYS = ("index", "node", "shard")


class FlatError(QuidditchError):
    """An error ES renders as ``{"error": "<reason>", "status": N}`` (no root_cause)."""

    flat: ClassVar[bool] = True


class NoHandlerFound(FlatError):
    status = 400
    es_type = "no_handler_found"

    def __init__(self, uri: str, method: str) -> None:
        super().__init__(f"no handler found for uri [{uri}] and method [{method}]")


class MethodNotAllowed(FlatError):
    status = 405
    es_type = "method_not_allowed"

    def __init__(self, uri: str, method: str, allowed: list[str]) -> None:
        super().__init__(
            f"Incorrect HTTP method for uri [{uri}] and method [{method}], allowed: [{', '.join(allowed)}]"
        )
        self.allowed = allowed


def error_status(exc: BaseException) -> int:
    """The HTTP status to answer with (a search-phase failure takes its cause's status)."""
    if not isinstance(exc, QuidditchError):
        return 500
    if isinstance(exc, SearchPhaseError) and exc.caused_by is not None:
        return error_status(exc.caused_by)
    return exc.status


def _plain(exc: QuidditchError) -> dict[str, Any]:
    """type, reason and extras, without caused_by (the root_cause entry form)."""
    return {"type": exc.es_type, "reason": exc.reason, **exc.extra}


def _full(exc: QuidditchError) -> dict[str, Any]:
    if isinstance(exc, SearchPhaseError):
        return _search_phase(exc)
    body = _plain(exc)
    if exc.caused_by is not None:
        body["caused_by"] = _full(exc.caused_by)
    return body


def _search_phase(exc: SearchPhaseError) -> dict[str, Any]:
    extra = {k: v for k, v in exc.extra.items() if k not in _SHARD_KEYS}
    body: dict[str, Any] = {
        "type": exc.es_type,
        "reason": exc.reason or "all shards failed",
        "phase": extra.pop("phase", "query"),
        "grouped": extra.pop("grouped", True),
    }
    cause = exc.caused_by
    failed = extra.pop("failed_shards", None)
    if failed is None:
        failed = []
        if cause is not None:
            index = exc.extra.get("index", cause.extra.get("index"))
            failed.append(
                {
                    "shard": exc.extra.get("shard", 0),
                    "index": index,
                    "node": exc.extra.get("node"),
                    "reason": _full(cause),
                }
            )
    body["failed_shards"] = failed
    body.update(extra)
    if cause is not None:
        body["caused_by"] = _full(cause)
    return body


def _root_causes(exc: QuidditchError) -> list[dict[str, Any]]:
    root = exc.root_cause()
    if isinstance(root, SearchPhaseError):  # a search-phase error without a cause
        return [{"type": root.es_type, "reason": root.reason or "all shards failed"}]
    return [_plain(root)]


def _stack_trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def error_body(exc: QuidditchError, *, error_trace: bool = False) -> dict[str, Any]:
    """The JSON body for a domain error (see the module docstring for the shapes)."""
    status = error_status(exc)
    if getattr(exc, "flat", False):
        return {"error": exc.reason, "status": status}
    error = {"root_cause": _root_causes(exc), **_full(exc)}
    if error_trace:
        error["stack_trace"] = _stack_trace(exc)
    return {"error": error, "status": status}


def unexpected_error_body(exc: BaseException, *, error_trace: bool = False) -> dict[str, Any]:
    """The 500 body for an exception that is not a ``QuidditchError`` (a bug); domain errors pass through."""
    if isinstance(exc, QuidditchError):
        return error_body(exc, error_trace=error_trace)
    message = str(exc)
    reason = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    entry: dict[str, Any] = {"type": "exception", "reason": reason}
    error: dict[str, Any] = {"root_cause": [dict(entry)], **entry}
    if error_trace:
        error["stack_trace"] = _stack_trace(exc)
    return {"error": error, "status": 500}


class _ShardFailure(Protocol):  # ``leaf_pb2.ShardFailure``
    @property
    def shard(self) -> Any: ...
    @property
    def error(self) -> Any: ...


def broadcast_failures(failures: Iterable[_ShardFailure]) -> list[dict[str, Any]]:
    """``_shards.failures`` of a broadcast API (refresh, force merge) as ES renders a shard's failure."""
    return [{"index": f.shard.index, "shard": f.shard.shard, "status": HTTPStatus(f.error.status).name,
             "reason": {"type": f.error.es_type, "reason": f.error.reason}} for f in failures]  # fmt: skip
