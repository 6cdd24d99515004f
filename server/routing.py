"""A routing step before Starlette's: date-math index names in the URL path.

``PUT /%3Clogs-%7Bnow%2Fd%7D%3E`` names the index ``<logs-{now/d}>``. Once decoded, its ``/`` splits the
path into two segments and no route matches, so the names are resolved here, on the still-encoded
``raw_path``, before Starlette sees the path: ``/<logs-{now/d}>/_doc/1`` becomes ``/logs-2024.06.01/_doc/1``.
Every segment written as date math is resolved (as ES resolves index and alias names in any API) except a
document id, which is taken literally. An expression that does not parse is left alone; it then fails as
an unknown path or an invalid name.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from cluster.names import is_date_math, resolve_date_math
from native.errors import QuidditchError

# a segment after one of these is a document id, never an index name
_DOC_ID_AFTER = frozenset({"_doc", "_create", "_update", "_source", "_explain", "_termvectors"})


def _has_date_math(segment: str) -> bool:
    return any(is_date_math(part.removeprefix("-")) for part in segment.split(","))


def resolve_path(raw_path: str) -> str | None:
    """The decoded path with date-math segments resolved, or None when there is nothing to resolve."""
    segments = [unquote(s) for s in raw_path.split("/")]
    changed = False
    for i, segment in enumerate(segments):
        if "<" not in segment or (i and segments[i - 1] in _DOC_ID_AFTER) or not _has_date_math(segment):
            continue
        try:
            resolved = resolve_date_math(segment)
        except QuidditchError:
            continue
        if resolved is not None:
            segments[i] = resolved
            changed = True
    if not changed:
        return None
    return "/".join(segments)


class DateMathPaths:
    """Rewrites ``path``/``raw_path`` of requests whose path holds a date-math name (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path")
            raw_text = raw.decode("latin-1") if raw else quote(scope["path"])
            if "%3C" in raw_text.upper() or "<" in raw_text:
                path = resolve_path(raw_text.split("?", 1)[0])
                if path is not None:
                    scope = {**scope, "path": path, "raw_path": quote(path).encode()}
        await self.app(scope, receive, send)
