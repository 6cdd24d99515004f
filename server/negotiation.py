"""Request-body admission: size limit, ``Content-Encoding`` decoding, ``Content-Type`` check.

:class:`BodyLimitMiddleware` is pure ASGI and sits outermost. It reads the request body as it arrives,
counting bytes, and answers ``413`` with an empty body (what ES's ``http.max_content_length`` does) as
soon as the count passes the limit, or at once when ``Content-Length`` already says so. Gzip and deflate
bodies are inflated incrementally under the same limit, so a compression bomb is a 413 too. The app then
sees one ``http.request`` message with the whole (decoded) body, ``content-encoding`` removed and
``content-length`` fixed. Buffering here costs nothing extra: every endpoint parses whole bodies.

:func:`check_content_type` mirrors ES's 406 for bodies whose media type it cannot read.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from native.errors import BadRequest
from server import jsonio
from server.errors import FlatError, error_body

__all__ = ["BodyLimitMiddleware", "ContentTypeNotSupported", "check_content_type"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_ACCEPTED = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/vnd.elasticsearch+json",
        "application/vnd.elasticsearch+x-ndjson",
    }
)
_COMPATIBLE = frozenset({"7", "8", "9"})
_UTF8 = frozenset({"utf-8", "utf8"})


class ContentTypeNotSupported(FlatError):
    """406, rendered flat: ``{"error":"Content-Type header [text/plain] is not supported","status":406}``."""

    status = 406
    es_type = "media_type_header_exception"

    def __init__(self, content_type: str | None) -> None:
        if content_type is None:
            super().__init__("Content-Type header is missing")
        else:
            super().__init__(f"Content-Type header [{content_type}] is not supported")


def check_content_type(content_type: str | None, has_body: bool) -> None:
    """Raise :class:`ContentTypeNotSupported` unless a body, if any, is JSON or NDJSON.

    As ES (strict since 6.0): a body without a Content-Type is a 406 "Content-Type header is missing", an
    empty or unknown one (curl -d sends ``application/x-www-form-urlencoded``) "Content-Type header [...] is
    not supported". ``compatible-with`` may be 7, 8 or 9 on either media type; a charset other than UTF-8 is
    refused. Every client we know sends one of the accepted types (opensearch-py and the shippers send
    ``application/json`` with NDJSON bodies, which the bulk endpoints read as NDJSON).
    """
    if not has_body:
        return
    if content_type is None:
        raise ContentTypeNotSupported(None)
    media, *params = content_type.split(";")
    if media.strip().lower() not in _ACCEPTED:
        raise ContentTypeNotSupported(content_type)
    for param in params:
        key, _, value = param.partition("=")
        key = key.strip().lower()
        value = value.strip().strip('"').lower()
        if (key == "compatible-with" and value not in _COMPATIBLE) or (key == "charset" and value not in _UTF8):
            raise ContentTypeNotSupported(content_type)


class _TooLarge(Exception):
    pass


class _Inflater:
    """Incremental gzip/deflate decoding with an output cap (multi-member gzip included)."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self.size = 0
        self.out: list[bytes] = []
        self._d: Any = None
        self._pending = b""

    def _new(self, head: bytes) -> Any:
        if self.encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is meant to be zlib-wrapped, but some clients send raw deflate.
        zlib_header = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> None:
        data = self._pending + chunk
        self._pending = b""
        while data:
            if self._d is None:
                if len(data) < 2:
                    self._pending = data
                    return
                self._d = self._new(data)
            # Ask for at most one byte past the limit: enough to know the body is too large.
            self._emit(self._d.decompress(data, self.limit - self.size + 1))
            if self._d.eof:
                data = self._d.unused_data
                self._d = None
                if data and self.encoding not in ("gzip", "x-gzip"):
                    raise zlib.error("trailing data after the deflate stream")
            else:
                data = self._d.unconsumed_tail

    def _emit(self, out: bytes) -> None:
        self.size += len(out)
        if self.size > self.limit:
            raise _TooLarge
        if out:
            self.out.append(out)

    def finish(self) -> bytes:
        if self._pending or (self._d is not None and not self._d.eof):
            if self._d is not None:
                self._emit(self._d.flush())
            raise zlib.error("truncated compressed body")
        return b"".join(self.out)


class BodyLimitMiddleware:
    """Cap request bodies at ``max_content_length`` bytes (before and after decompression)."""

    def __init__(self, app: ASGIApp, max_content_length: int) -> None:
        self.app = app
        self.max_content_length = max_content_length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        length: int | None = None
        encoding = "identity"
        for name, value in headers:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
            elif name == b"content-encoding":
                encoding = value.decode("latin-1").strip().lower()
        if length is not None and length > self.max_content_length:
            await _send_empty(send, 413)
            return
        inflater = _Inflater(encoding, self.max_content_length) if encoding in _DECODED else None
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_content_length:
                    raise _TooLarge
                if inflater is not None:
                    inflater.feed(chunk)
                elif chunk:
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            body = inflater.finish() if inflater is not None else b"".join(chunks)
            if inflater is not None:
                inflater.out.clear()
            # the pieces are not needed past the join: kept, they double a 100 MB body for the whole request
            chunks.clear()
        except _TooLarge:
            await _send_empty(send, 413)
            return
        except zlib.error as exc:
            await _send_error(send, BadRequest(f"failed to decode request body with [{encoding}]: {exc}"))
            return
        if inflater is not None:
            headers = [(k, v) for k, v in headers if k not in (b"content-encoding", b"content-length")]
            headers.append((b"content-length", str(len(body)).encode()))
            scope = dict(scope)
            scope["headers"] = headers
        await self.app(scope, _replay(body, receive), send)


_DECODED = frozenset({"gzip", "x-gzip", "deflate", "x-deflate"})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as servers do

    return replay


_PRODUCT = (b"x-elastic-product", b"Elasticsearch")


async def _send_empty(send: Send, status: int) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", b"0"), _PRODUCT, (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _send_error(send: Send, exc: BadRequest) -> None:
    body = jsonio.dumps(error_body(exc))
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/json; charset=UTF-8"),
                (b"content-length", str(len(body)).encode()),
                _PRODUCT,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
