"""A routing step before Starlette's: the URL path as ES splits it, on the still-encoded ``raw_path``.

Starlette routes on the decoded path, where an encoded ``/`` (``%2F``) has become a separator. ES splits the
raw path first and decodes each segment after, so two kinds of segment are handled here:

- **Date-math names.** ``PUT /%3Clogs-%7Bnow%2Fd%7D%3E`` names the index ``<logs-{now/d}>``; every segment
  written as date math is resolved (as ES resolves index and alias names in any API):
  ``/<logs-{now/d}>/_doc/1`` becomes ``/logs-2024.06.01/_doc/1``. An expression that does not parse is left
  alone; it then fails as an unknown path or an invalid name.
- **Document ids.** The id of ``/{index}/_doc|_create|_update|_source/{id}`` is taken literally (never date
  math) and may hold any character: ``PUT /idx/_doc/a%2Fb`` is the document ``a/b``. Such a segment stays
  percent-encoded in the path Starlette routes on and the ``docid`` convertor (``{id:docid}``) decodes it
  once matched, so an unencoded ``/idx/_doc/a/b`` still matches no route, as in ES.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, unquote_to_bytes

from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Receive, Scope, Send

from cluster.names import is_date_math, resolve_date_math
from native.errors import QuidditchError

__all__ = ["DOC_ID", "RawPathRouting", "resolve_path"]

# a segment after one of these is a document id, never an index name
_DOC_ID_AFTER = frozenset({"_doc", "_create", "_update", "_source", "_explain", "_termvectors"})
# the document routes whose id is matched with ``{id:docid}``: ``/{index}/<one of these>/{id}``
_DOC_ROUTES = frozenset({"_doc", "_create", "_update", "_source"})
DOC_ID = "{id:docid}"


class DocIdConvertor(Convertor[str]):
    """One path segment, kept percent-encoded by :class:`RawPathRouting` and decoded here."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return unquote(value)

    def to_string(self, value: str) -> str:
        return quote(str(value), safe="")


register_url_convertor("docid", DocIdConvertor())


def _has_date_math(segment: str) -> bool:
    return any(is_date_math(part.removeprefix("-")) for part in segment.split(","))


def _decode(raw_segment: str) -> str:
    """A segment of the latin-1 text of ``raw_path``: percent escapes and raw bytes both read as UTF-8."""
    return unquote_to_bytes(raw_segment.encode("latin-1")).decode("utf-8", "replace")


def _is_doc_id(raw_segments: list[str], i: int) -> bool:
    return i == 3 and len(raw_segments) == 4 and raw_segments[2] in _DOC_ROUTES


def resolve_path(raw_path: str) -> tuple[str, str] | None:
    """The path to route on (decoded, date math resolved, a document id still encoded) and its ``raw_path``,
    or None when Starlette's own decoded path will do."""
    raw_segments = raw_path.split("/")
    segments = [_decode(s) for s in raw_segments]
    encoded = [quote(s, safe="") for s in segments]
    changed = False
    for i, segment in enumerate(segments):
        if _is_doc_id(raw_segments, i):
            if segment != raw_segments[i]:  # escaped or raw UTF-8: hand it on encoded, for ``docid``
                segments[i] = encoded[i]
                changed = True
            continue
        if "<" not in segment or (i and segments[i - 1] in _DOC_ID_AFTER) or not _has_date_math(segment):
            continue
        try:
            resolved = resolve_date_math(segment)
        except QuidditchError:
            continue
        if resolved is not None:
            segments[i] = resolved
            encoded[i] = quote(resolved, safe="")
            changed = True
    if not changed:
        return None
    return "/".join(segments), "/".join(encoded)


class RawPathRouting:
    """Rewrites ``path``/``raw_path`` of requests whose path holds a date-math name or an encoded document
    id (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path")
            raw_text = raw.decode("latin-1") if raw else quote(scope["path"])
            if "%" in raw_text or "<" in raw_text or not raw_text.isascii():
                resolved = resolve_path(raw_text.split("?", 1)[0])
                if resolved is not None:
                    path, raw_path = resolved
                    scope = {**scope, "path": path, "raw_path": raw_path.encode()}
        await self.app(scope, receive, send)
