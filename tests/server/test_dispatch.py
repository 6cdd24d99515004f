"""``IndexedRouter`` (``server.routing``) picks exactly the route Starlette's ordered scan picks.

The reference is Starlette's own rule, computed here by iterating ``routes`` with ``route.matches(scope)``:
the first full match answers, else the first partial one (405), else the redirect/404 fallback. Every
registered pattern is instantiated with awkward values (``_all``, ``*``, comma lists, ``_``-names, encoded
ids, empty and multi-segment values, other routes' literals, trailing slashes) and tried with every method;
then whole responses (HEAD, 405, 404, "no handler found") are compared with the plain ``Router`` in place.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Route, Router

from server.app import create_app
from server.routing import IndexedRouter
from server.settings import load_settings

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
# values for a one-segment parameter: names ES accepts, wildcards, lists, encoded ids (as RawPathRouting
# hands them on), other routes' literals, and values that are not one segment
SEGMENT_VALUES = ["idx", "_all", "*", "logs-*", "a,b", "-idx", "_x", "a%2Fb", "%3Cx%3E", "_search", "_doc", "a/b", ""]
PATH_VALUES = ["x", "a/b", "", "a/b/c", "_search", "x/"]
_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?\}")


def _starlette(app: Any) -> Starlette:
    while not isinstance(app, Starlette):
        app = app.app
    return app


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> IndexedRouter:
    app = create_app(load_settings({"data_dir": str(tmp_path_factory.mktemp("dispatch") / "data")}))
    found = _starlette(app).router
    assert isinstance(found, IndexedRouter)
    return found


def reference_pick(routes: list[BaseRoute], scope: dict[str, Any]) -> tuple[BaseRoute | None, Any]:
    """Starlette's ``Router.app`` choice, by the plain ordered scan."""
    partial: tuple[BaseRoute | None, Any] = (None, {})
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is Match.FULL:
            return route, child_scope
        if match is Match.PARTIAL and partial[0] is None:
            partial = (route, child_scope)
    return partial


def _scope(method: str, path: str, root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": root_path + path, "root_path": root_path}


def _instances(pattern: str) -> Iterator[str]:
    """``pattern`` with its parameters filled: every value for each parameter alone (the others ``idx``),
    and the full product of a few values."""
    params = _PARAM.findall(pattern)
    values = {name: PATH_VALUES if conv == "path" else SEGMENT_VALUES for name, conv in params}

    def fill(chosen: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: chosen[m.group(1)], pattern)

    if not params:
        yield pattern
        return
    for name, _ in params:
        for value in values[name]:
            yield fill({other: value if other == name else "idx" for other, _ in params})
    small = [values[name][:4] for name, _ in params]
    for combo in itertools.product(*small):
        yield fill(dict(zip([n for n, _ in params], combo, strict=True)))


def _sample_paths(routes: list[BaseRoute]) -> list[str]:
    paths = {"", "/", "//", "///", "/_search\n", "/idx/_search\n", "/_cat\n", "/idx\n", "/%2F", "/a/b/c/d/e/f/g"}
    literals: set[str] = set()
    for route in routes:
        assert isinstance(route, Route)
        for path in _instances(route.path):
            paths.update({path, path + "/", path.rstrip("/") or "/"})
        literals.update(seg for seg in route.path.split("/") if seg and "{" not in seg)
    # random walks over every route literal and a few names, one to five segments
    rng = random.Random(20240601)
    pool = [*sorted(literals), "idx", "_all", "*", "a,b", "_x", "a%2Fb", ""]
    for _ in range(1500):
        segments = [rng.choice(pool) for _ in range(rng.randint(1, 5))]
        paths.add("/" + "/".join(segments) + rng.choice(["", "", "/"]))
    return sorted(paths)


def test_every_pattern_every_method_picks_the_plain_scans_route(router: IndexedRouter) -> None:
    routes = list(router.routes)
    paths = _sample_paths(routes)
    assert len(paths) > 2000
    checked = 0
    answered: set[int] = set()
    for path in paths:
        for method in METHODS:
            scope = _scope(method, path)
            want_route, want_scope = reference_pick(routes, scope)
            got_route, got_scope = router.pick(scope)
            assert got_route is want_route, (method, path, got_route, want_route)
            assert got_scope == want_scope, (method, path)
            answered.add(id(want_route))
            checked += 1
    # every route answers some sample (the samples exercise the whole table)
    unreached = [getattr(r, "path", r) for r in routes if id(r) not in answered and not _shadowed(routes, r)]
    assert not unreached, unreached
    assert checked == len(paths) * len(METHODS)


def _shadowed(routes: list[BaseRoute], route: BaseRoute) -> bool:
    """A route an earlier one with the same path and methods always wins over (``HEAD`` twins and the like)."""
    assert isinstance(route, Route)
    for earlier in routes[: routes.index(route)]:
        assert isinstance(earlier, Route)
        if earlier.path == route.path and (earlier.methods or set()) >= (route.methods or set()):
            return True
    return False


def test_root_path_is_stripped_as_routes_strip_it(router: IndexedRouter) -> None:
    routes = list(router.routes)
    for path in ["/idx/_search", "/_cat/indices", "/", "/idx/_doc/1", "/idx"]:
        for method in METHODS:
            scope = _scope(method, path, root_path="/prefix")
            assert router.pick(scope)[0] is reference_pick(routes, scope)[0], (method, path)


def test_hot_paths_try_only_a_few_routes(router: IndexedRouter) -> None:
    search = router.candidates("/logs/_search")
    assert search is not None and len(search) <= 5
    assert isinstance(search[0], Route) and search[0].path == "/{index}/_search"
    doc = router.candidates("/logs/_doc/1")
    assert doc is not None and len(doc) <= 8
    assert router.candidates("/_search\n") is None  # ``$`` matches before a final newline: full scan


def test_routes_added_later_are_indexed() -> None:
    async def a(request: Request) -> Response:
        return PlainTextResponse("a")

    async def b(request: Request) -> Response:
        return PlainTextResponse("b")

    indexed = IndexedRouter([Route("/x/{y}", a, methods=["GET"])])
    assert indexed.pick(_scope("GET", "/x/_new"))[0] is indexed.routes[0]
    indexed.routes.insert(0, Route("/x/_new", b, methods=["GET"]))
    assert indexed.pick(_scope("GET", "/x/_new"))[0] is indexed.routes[0]


async def test_fallbacks_without_a_catch_all_are_starlettes() -> None:
    """No route matching at all: the redirect-slashes and 404 answers of the plain router."""

    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    def routes() -> list[BaseRoute]:
        return [Route("/a", ok, methods=["GET"]), Route("/b/{c}", ok, methods=["POST"])]

    answers = []
    for cls in (Router, IndexedRouter):
        transport = httpx.ASGITransport(app=cls(routes()))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers.append(
                [
                    (r.status_code, r.headers.get("location"), r.text)
                    for r in [
                        await client.get("/a/"),
                        await client.get("/b/x/"),
                        await client.get("/b/x"),
                        await client.delete("/a"),
                        await client.get("/nope"),
                        await client.head("/a"),
                    ]
                ]
            )
    assert answers[0] == answers[1]
    assert [status for status, _, _ in answers[1]] == [307, 307, 405, 405, 404, 200]  # HEAD rides on GET


# whole answers through create_app: HEAD, 405, 404, "no handler found", encoded ids, trailing slashes
REQUESTS = [
    ("HEAD", "/"), ("GET", "/"), ("DELETE", "/"), ("OPTIONS", "/"), ("PATCH", "/"),
    ("HEAD", "/idx"), ("HEAD", "/missing"), ("GET", "/missing"), ("PATCH", "/idx"), ("POST", "/idx"),
    ("GET", "/idx/_doc/1"), ("HEAD", "/idx/_doc/1"), ("HEAD", "/idx/_doc/nope"), ("GET", "/idx/_doc/a%2Fb"),
    ("GET", "/idx/_doc/a/b"), ("PATCH", "/idx/_doc/1"), ("GET", "/idx/_doc"), ("DELETE", "/idx/_doc"),
    ("GET", "/idx/_source/1"), ("DELETE", "/idx/_source/1"), ("GET", "/idx/_update/1"),
    ("DELETE", "/_cat/health"), ("POST", "/_cat/indices"), ("GET", "/_cat/"), ("GET", "/_nope"),
    ("GET", "/idx/_nope"), ("GET", "/idx/_nope/x/y"), ("GET", "/idx/_search/"), ("DELETE", "/idx/_search"),
    ("PUT", "/_search"), ("DELETE", "/_search/scroll/x"), ("PATCH", "/_search/scroll"), ("GET", "/idx/"),
    ("HEAD", "/_all"), ("HEAD", "/*"), ("HEAD", "/idx,missing"), ("GET", "/_all/_mapping"),
    ("GET", "/_x/_mapping"), ("PUT", "/_cluster/health"), ("GET", "/_nodes/a/b/c"), ("POST", "/_nodes"),
    ("GET", "/idx/_alias"), ("HEAD", "/_alias/nope"), ("PATCH", "/_template/t"), ("GET", "//"),
    ("GET", "/a/b/_search"), ("DELETE", "/a/b/_count"), ("GET", "/idx/_settings/"), ("PATCH", "/_bulk"),
    ("TRACE", "/idx"), ("GET", "/idx%0A"),
]  # fmt: skip


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "plain"])
async def test_whole_answers_match_the_plain_router(asgi_client: httpx.AsyncClient, indexed: bool) -> None:
    transport = asgi_client._transport
    assert isinstance(transport, httpx.ASGITransport)
    router = _starlette(transport.app).router
    assert type(router) is IndexedRouter
    created = await asgi_client.put("/idx/_doc/1?refresh=true", json={"v": 1})
    assert created.status_code == 201, created.text

    async def answers() -> list[tuple[Any, ...]]:
        out = []
        for method, path in REQUESTS:
            r = await asgi_client.request(method, path)
            headers = sorted((k, v) for k, v in r.headers.items() if k != "date")
            out.append((method, path, r.status_code, headers, r.content))
        return out

    def use(cls: type[Router]) -> None:
        router.__class__ = cls  # type: ignore[assignment]
        router.middleware_stack = router.app  # Router.__init__ bound its own ``app`` there

    # ``indexed`` only changes which router answers first; both orders must agree
    first, second = (IndexedRouter, Router) if indexed else (Router, IndexedRouter)
    use(first)
    try:
        a = await answers()
        use(second)
        b = await answers()
    finally:
        use(IndexedRouter)
    for x, y in zip(a, b, strict=True):
        assert x == y
    by_request = {(m, p): (status, dict(h)) for m, p, status, h, _ in a}
    assert all(h.get("x-elastic-product") == "Elasticsearch" for _, h in by_request.values())
    assert by_request[("HEAD", "/idx")][0] == 200 and by_request[("HEAD", "/missing")][0] == 404
    # a known path with another method: ES's flat 405 naming the allowed methods (from the catch-all);
    # OPTIONS on a known path lists them; a method even the catch-all lacks is Starlette's partial match, a 405
    assert by_request[("DELETE", "/_cat/health")][0] == 405 and by_request[("PATCH", "/idx")][0] == 405
    assert json.loads(a[REQUESTS.index(("DELETE", "/_cat/health"))][4]) == {
        "error": "Incorrect HTTP method for uri [/_cat/health] and method [DELETE], allowed: [GET]",
        "status": 405,
    }
    assert by_request[("OPTIONS", "/")][0] == 200 and by_request[("OPTIONS", "/")][1]["allow"] == "GET"
    assert by_request[("TRACE", "/idx")][0] == 405
    assert by_request[("GET", "/idx/_doc/a%2Fb")][0] == 404 and by_request[("GET", "/idx/_doc/a/b")][0] == 400
