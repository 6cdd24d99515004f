from __future__ import annotations

import asyncio
import gzip
import hashlib
import socket
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.errors import error_body
from server.negotiation import BodyLimitMiddleware, ContentTypeNotSupported, check_content_type
from tests.server.helpers import assert_canonical_error, assert_flat_error

LIMIT = 1000


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse(
        {
            "size": len(body),
            "sha": hashlib.sha256(body).hexdigest(),
            "content_encoding": request.headers.get("content-encoding"),
            "content_length": request.headers.get("content-length"),
        }
    )


def make_app(limit: int = LIMIT) -> BodyLimitMiddleware:
    return BodyLimitMiddleware(Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"])]), limit)


def client(limit: int = LIMIT) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app(limit)), base_url="http://test")


def assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.content == b""
    assert response.headers["content-length"] == "0"
    assert response.headers["x-elastic-product"] == "Elasticsearch"


async def chunks(total: int, size: int = 100) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"x" * n


@pytest.mark.asyncio
async def test_body_within_limit_passes_untouched() -> None:
    async with client() as c:
        for size in (0, 1, LIMIT):
            r = await c.post("/echo", content=b"a" * size)
            assert r.status_code == 200
            assert r.json()["size"] == size
        r = await c.get("/echo")
        assert r.json()["size"] == 0


@pytest.mark.asyncio
async def test_content_length_over_limit_is_rejected_early() -> None:
    async with client() as c:
        assert_413(await c.post("/echo", content=b"a" * (LIMIT + 1)))


@pytest.mark.asyncio
async def test_streamed_body_over_limit_is_rejected_while_counting() -> None:
    async with client() as c:
        r = await c.post("/echo", content=chunks(LIMIT * 5))
        assert_413(r)
        r = await c.post("/echo", content=chunks(LIMIT))
        assert r.status_code == 200 and r.json()["size"] == LIMIT


@pytest.mark.asyncio
async def test_gzip_and_deflate_bodies_are_decoded() -> None:
    payload = b'{"query":{"match_all":{}}}' * 20
    sha = hashlib.sha256(payload).hexdigest()
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(payload) + raw.flush()
    cases = [
        ("gzip", gzip.compress(payload)),
        ("x-gzip", gzip.compress(payload)),
        ("deflate", zlib.compress(payload)),
        ("deflate", raw_deflate),
        ("gzip", gzip.compress(payload[:100]) + gzip.compress(payload[100:])),  # two members
    ]
    async with client() as c:
        for encoding, data in cases:
            r = await c.post("/echo", content=data, headers={"content-encoding": encoding})
            assert r.status_code == 200, (encoding, r.text)
            got = r.json()
            assert got == {"size": len(payload), "sha": sha, "content_encoding": None,
                           "content_length": str(len(payload))}  # fmt: skip


@pytest.mark.asyncio
async def test_gzip_bomb_is_413() -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))
    assert len(bomb) < LIMIT * 100
    async with client(limit=len(bomb) + 10) as c:
        assert_413(await c.post("/echo", content=bomb, headers={"content-encoding": "gzip"}))
    async with client(limit=LIMIT) as c:
        exact = gzip.compress(b"y" * LIMIT)
        r = await c.post("/echo", content=exact, headers={"content-encoding": "gzip"})
        assert r.status_code == 200 and r.json()["size"] == LIMIT
        over = gzip.compress(b"y" * (LIMIT + 1))
        assert_413(await c.post("/echo", content=over, headers={"content-encoding": "gzip"}))


@pytest.mark.asyncio
async def test_corrupt_or_truncated_gzip_is_400() -> None:
    async with client() as c:
        r = await c.post("/echo", content=b"not gzip at all", headers={"content-encoding": "gzip"})
        assert_canonical_error(r, 400, "illegal_argument_exception")
        truncated = gzip.compress(b"z" * 500)[:-12]
        r = await c.post("/echo", content=truncated, headers={"content-encoding": "gzip"})
        assert_canonical_error(r, 400, "illegal_argument_exception")


@pytest.mark.asyncio
async def test_unknown_encoding_and_identity_pass_through() -> None:
    async with client() as c:
        r = await c.post("/echo", content=b"abc", headers={"content-encoding": "identity"})
        assert r.json()["size"] == 3
        r = await c.post("/echo", content=b"abc", headers={"content-encoding": "br"})
        assert r.json()["size"] == 3 and r.json()["content_encoding"] == "br"


def test_lifespan_and_websocket_scopes_pass_through() -> None:
    seen = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["type"])

    asyncio.run(BodyLimitMiddleware(app, 10)({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    assert seen == ["lifespan"]


# --- a real socket: the 413 arrives while the client is still sending -----------------------------


@pytest.mark.asyncio
async def test_real_server_answers_413_before_the_body_is_finished() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) the listening socket
    config.accesslog = None
    config.errorlog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(make_app(64 * 1024), config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        for _ in range(100):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        # chunked upload that never ends: the answer must come once 64 KiB have been counted
        writer.write(b"POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n"
                     b"content-type: application/json\r\n\r\n")  # fmt: skip
        chunk = b"x" * 8192
        response = b""
        for _ in range(64):  # up to 512 KiB
            try:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
            except ConnectionError:  # the server answered and closed: read what it sent
                response = await asyncio.wait_for(reader.read(4096), timeout=5)
                break
            try:
                response = await asyncio.wait_for(reader.read(4096), timeout=0.05)
            except TimeoutError:
                continue
            if response:
                break
        assert response.startswith(b"HTTP/1.1 413"), response
        head = response.lower()
        assert b"content-length: 0" in head
        assert b"x-elastic-product: elasticsearch" in head
        writer.close()

        # Content-Length over the limit: answered without sending any body at all
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 10000000\r\n\r\n")
        await writer.drain()
        response = await asyncio.wait_for(reader.read(4096), timeout=5)
        assert response.startswith(b"HTTP/1.1 413"), response
        writer.close()

        # and a normal request still works on a fresh connection
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            r = await c.post("/echo", content=b"{}" * 100)
            assert r.status_code == 200 and r.json()["size"] == 200
    finally:
        stop.set()
        await asyncio.wait_for(server, timeout=10)


# --- Content-Type ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=UTF-8",
        "Application/JSON;charset=utf-8",
        "application/x-ndjson",
        "application/vnd.elasticsearch+json; compatible-with=8",
        "application/vnd.elasticsearch+json;compatible-with=7",
        "application/vnd.elasticsearch+x-ndjson; compatible-with=9",
        "application/vnd.elasticsearch+json; compatible-with=9; charset=utf-8",
    ],
)
def test_accepted_content_types(content_type: str | None) -> None:
    check_content_type(content_type, has_body=True)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/vnd.elasticsearch+json; compatible-with=6",
        "application/json; charset=latin-1",
    ],
)
def test_rejected_content_types(content_type: str) -> None:
    with pytest.raises(ContentTypeNotSupported) as info:
        check_content_type(content_type, has_body=True)
    assert info.value.status == 406
    assert_flat_error(error_body(info.value), 406, f"Content-Type header [{content_type}] is not supported")
    check_content_type(content_type, has_body=False)  # no body: nothing to read, nothing to refuse


def test_missing_or_empty_content_type_with_a_body() -> None:
    with pytest.raises(ContentTypeNotSupported) as info:
        check_content_type(None, has_body=True)
    assert_flat_error(error_body(info.value), 406, "Content-Type header is missing")
    with pytest.raises(ContentTypeNotSupported) as info:
        check_content_type("", has_body=True)
    assert_flat_error(error_body(info.value), 406, "Content-Type header [] is not supported")
    check_content_type(None, has_body=False)
