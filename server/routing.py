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
- **Other segments holding an encoded ``/``.** ``PUT /a%2Fb`` names the index ``a/b`` (which ES then refuses
  as an invalid name), not the path ``/a/b``: the segment stays encoded for routing and the matched ``str``
  path parameters are decoded once after (``ENCODED_PARAMS`` in the scope says so).

:class:`IndexedRouter` then picks the route without walking all ~180 of them: see its doc.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes

from starlette._utils import get_route_path
from starlette.convertors import Convertor, StringConvertor, register_url_convertor
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from cluster.names import is_date_math, resolve_date_math
from native.errors import QuidditchError

__all__ = ["DOC_ID", "IndexedRouter", "RawPathRouting", "allowed_methods", "resolve_path"]

# a segment after one of these is a document id, never an index name
_DOC_ID_AFTER = frozenset({"_doc", "_create", "_update", "_source", "_explain", "_termvectors"})
# the document routes whose id is matched with ``{id:docid}``: ``/{index}/<one of these>/{id}``
_DOC_ROUTES = frozenset({"_doc", "_create", "_update", "_source"})
DOC_ID = "{id:docid}"
ENCODED_PARAMS = "quidditch.encoded_params"


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
        if "/" in segment and not ("<" in segment and _has_date_math(segment)):
            # an encoded slash inside one segment: one name, never two segments
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
                    if any("/" in _decode(s) for s in path.split("/")):
                        scope[ENCODED_PARAMS] = True
        await self.app(scope, receive, send)


# a whole path segment that is one parameter: ``{index}``, ``{id:docid}``
_PARAM_SEGMENT = re.compile(r"^\{[a-zA-Z_][a-zA-Z0-9_]*(?::[a-zA-Z_][a-zA-Z0-9_]*)?\}$")
_KEYED = 2  # path segments 1 and 2 (after the leading ``/``) key the candidate lists
_ANY = None  # a request segment that is no route's literal there


def _one_segment(convertor: Convertor[Any]) -> bool:
    """Whether the convertor's regex surely matches no ``/`` (``str``, ``docid``, ``int``, ``uuid``); ``path``,
    ``float`` (its ``.``) and anything unknown are taken as possibly spanning segments."""
    regex = convertor.regex
    return regex == "[^/]+" or not any(c in regex for c in "/.\\^")


class _Shape:
    """What a route's path says about the paths it can match, conservatively (``None``: anything)."""

    __slots__ = ("literals", "nsegments")

    def __init__(self, route: BaseRoute) -> None:
        # literals[i]: the text segment i (1-based, i <= _KEYED) must equal, or None when not fixed
        self.literals: list[str | None] = [None] * (_KEYED + 1)
        # the segment count of every matching path, or None when a parameter may span segments
        self.nsegments: int | None = None
        if not isinstance(route, Route) or not route.path.startswith("/"):
            return  # a Mount, a Host, a WebSocketRoute...: a candidate for every path
        segments = route.path.split("/")
        convertors = route.param_convertors
        fixed_count = True
        for i, segment in enumerate(segments):
            if "{" not in segment:
                if 1 <= i <= _KEYED:
                    self.literals[i] = segment
            elif not _PARAM_SEGMENT.match(segment) or not _one_segment(convertors[segment[1:-1].split(":")[0]]):
                fixed_count = False  # a parameter that may hold ``/``, or text mixed with parameters
        if fixed_count:
            self.nsegments = len(segments)
        else:  # only the literal segments before the first parameter stay at fixed positions
            first_param = next(i for i, seg in enumerate(segments) if "{" in seg)
            self.literals = [lit if i < first_param else None for i, lit in enumerate(self.literals)]

    def may_match(self, nsegments: int | None, keys: tuple[str | None, ...]) -> bool:
        if self.nsegments is not None and nsegments is not None and self.nsegments != nsegments:
            return False
        return all(lit is None or lit == key for lit, key in zip(self.literals[1:], keys, strict=True))


# ES lists the allowed methods of a 405 in the order of its ``RestRequest.Method`` enum. HEAD is left out:
# Starlette adds it to every GET route, where ES registers it on a few paths only.
_METHOD_ORDER = ("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT")
CATCH_ALL = "/{path:path}"


def allowed_methods(router: Router, scope: Scope) -> list[str]:
    """The methods some route other than the catch-all answers for this path (empty: an unknown path)."""
    route_path = get_route_path(scope)
    candidates = router.candidates(route_path) if isinstance(router, IndexedRouter) else None
    methods: set[str] = set()
    for route in router.routes if candidates is None else candidates:
        if not isinstance(route, Route) or route.path == CATCH_ALL or not route.methods:
            continue
        if route.path_regex.match(route_path):
            methods |= route.methods
    return [m for m in _METHOD_ORDER if m in methods]


def _decoded_params(route: Route, params: dict[str, Any]) -> dict[str, Any]:
    """The ``str`` parameters of a path routed with a segment still encoded, decoded (``docid`` decodes its own)."""
    return {
        name: _decode(value) if isinstance(value, str) and type(route.param_convertors.get(name)) is StringConvertor
        else value
        for name, value in params.items()
    }


class IndexedRouter(Router):
    """Starlette's :class:`~starlette.routing.Router`, answering exactly as it does, without the full scan.

    Starlette tries every route in order: the first full match (path and method) answers, else the first
    partial one (path only: a 405), else the redirect/404 fallback. Routes are indexed here by what their
    paths fix: the literal text of segments 1 and 2 (``/_cat/...``, ``/{index}/_search``) and the segment
    count when no parameter can span a ``/``. A request is keyed by its own segments 1 and 2 (when they
    are some route's literal there, else "any") and its segment count; the routes that could match such a
    key (a superset of the ones that do) are computed once per key and tried in their original order with
    Starlette's own ``matches``, so the first full and the first partial match are the ones the plain scan
    finds. When none matches (never, with the ``/{path:path}`` catch-all) Starlette's scan runs as is.

    A path ending in a newline falls back to the scan: ``$`` in a route's regex matches before it, so
    ``/_search\\n`` matches ``/_search`` while its segment is not that literal. Routes added after the first
    request are seen: the index is rebuilt when the route list changes length or identity.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._indexed: tuple[int, int] | None = None

    def _index(self) -> None:
        self._shapes = [(route, _Shape(route)) for route in self.routes]
        self._known: list[frozenset[str]] = [
            frozenset(lit for _, s in self._shapes if (lit := s.literals[i]) is not None) for i in range(_KEYED + 1)
        ]
        counts = [s.nsegments for _, s in self._shapes if s.nsegments is not None]
        self._max_nsegments = max(counts, default=0)
        self._candidates: dict[tuple[Any, ...], tuple[BaseRoute, ...]] = {}
        self._indexed = (id(self.routes), len(self.routes))

    def candidates(self, route_path: str) -> tuple[BaseRoute, ...] | None:
        """The routes that may match ``route_path``, in order; None when only the full scan will do."""
        if self._indexed != (id(self.routes), len(self.routes)):
            self._index()
        if route_path.endswith("\n") or not route_path.startswith("/"):
            return None
        segments = route_path.split("/", _KEYED + 1)
        count = route_path.count("/") + 1
        # longer than every fixed-length route (None): only the variable-length ones can match
        nsegments = count if count <= self._max_nsegments else None
        known = self._known
        keys = tuple(
            segments[i] if i < len(segments) and segments[i] in known[i] else _ANY for i in range(1, _KEYED + 1)
        )
        key = (nsegments, *keys)
        found = self._candidates.get(key)
        if found is None:
            found = self._candidates[key] = tuple(
                route
                for route, shape in self._shapes
                if (nsegments is not None or shape.nsegments is None) and shape.may_match(nsegments, keys)
            )
        return found

    def pick(self, scope: Scope) -> tuple[BaseRoute | None, Scope]:
        """The route Starlette's scan would hand ``scope`` to (full match first, else the first partial) and
        its child scope; ``(None, {})`` when it would fall through to redirect/404."""
        candidates = self.candidates(get_route_path(scope))
        routes = self.routes if candidates is None else candidates
        partial: BaseRoute | None = None
        partial_scope: Scope = {}
        for route in routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, child_scope
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        return partial, partial_scope

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        route, child_scope = self.pick(scope)
        if route is None:  # Starlette's own redirect_slashes / 404 fallback, unchanged
            await super().app(scope, receive, send)
            return
        if scope.get(ENCODED_PARAMS) and isinstance(route, Route) and "path_params" in child_scope:
            child_scope = {**child_scope, "path_params": _decoded_params(route, child_scope["path_params"])}
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)
