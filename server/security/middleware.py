"""``AuthenticationMiddleware``: every request authenticated before anything else reads it (while on).

Pure ASGI, outside the body limit: a request without valid credentials is answered 401 before its body
is read. The identity goes to handlers in ``scope["quidditch.authentication"]``
(:func:`authentication_of`). The 401 carries ES's ``WWW-Authenticate`` challenges as headers and in the
error body. Credentials are never logged.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from server.errors import error_body
from server.jsonio import dumps
from server.security.errors import CHALLENGES, AuthenticationFailed
from server.security.service import Authentication, Security

__all__ = ["SCOPE_KEY", "AuthenticationMiddleware", "authentication_of"]

SCOPE_KEY = "quidditch.authentication"
_JSON = b"application/json; charset=UTF-8"


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, security: Security) -> None:
        self.app = app
        self.security = security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.security.enabled:
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope.get("headers") or ():
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        try:
            scope[SCOPE_KEY] = await self.security.authenticate(authorization, _uri(scope))
        except AuthenticationFailed as exc:
            await _send_401(scope, send, exc)
            return
        await self.app(scope, receive, send)


def _uri(scope: Scope) -> str:
    """The request's path and query string as the client sent them (ES names the URI with its query)."""
    raw = scope.get("raw_path") or scope["path"].encode()
    path = raw.decode("latin-1")
    query = (scope.get("query_string") or b"").decode("latin-1")
    return f"{path}?{query}" if query else path


async def _send_401(scope: Scope, send: Send, exc: AuthenticationFailed) -> None:
    query = (scope.get("query_string") or b"").decode("latin-1")
    pretty = any(p == "pretty" or (p.startswith("pretty=") and p != "pretty=false") for p in query.split("&"))
    body = b"" if scope.get("method") == "HEAD" else dumps(error_body(exc), pretty)
    headers = [(b"content-type", _JSON), (b"content-length", str(len(body)).encode())]
    headers += [(b"www-authenticate", challenge.encode()) for challenge in CHALLENGES]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def authentication_of(request: Request) -> Authentication | None:
    """Who sent the request, or None while security is off."""
    found: Authentication | None = request.scope.get(SCOPE_KEY)
    return found
