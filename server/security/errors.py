"""Security errors, rendered by the one renderer in ``server.errors``.

::

    QuidditchError
    ├── AuthenticationFailed (401, security_exception; WWW-Authenticate challenges in body and headers)
    ├── BadRequest
    │   └── ParseException (400, parse_exception: a value ES parses itself, e.g. a time value)
    └── SecurityDisabled (500, exception: a ``_security`` API while security is off, as ES answers)
"""

from __future__ import annotations

from typing import Any

from native.errors import BadRequest, QuidditchError

__all__ = ["CHALLENGES", "AuthenticationFailed", "ParseException", "SecurityDisabled"]

# ES 8 over plain HTTP without a token service: a Basic challenge (RFC 7617, with the comma ES added in
# 8.15) and an ApiKey one, sent as two ``WWW-Authenticate`` headers and listed in the error body.
CHALLENGES: tuple[str, ...] = ('Basic realm="security", charset="UTF-8"', "ApiKey")


class AuthenticationFailed(QuidditchError):
    """401 ``security_exception``; ``unsuccessful`` is ES's ``additional_unsuccessful_credentials``."""

    status = 401
    es_type = "security_exception"

    def __init__(self, reason: str, *, unsuccessful: str | None = None) -> None:
        extra: dict[str, Any] = {}
        if unsuccessful is not None:
            extra["additional_unsuccessful_credentials"] = unsuccessful
        extra["header"] = {"WWW-Authenticate": list(CHALLENGES)}
        super().__init__(reason, **extra)

    @classmethod
    def missing(cls, uri: str) -> AuthenticationFailed:
        return cls(f"missing authentication credentials for REST request [{uri}]")

    @classmethod
    def user(cls, username: str, uri: str) -> AuthenticationFailed:
        return cls(f"unable to authenticate user [{username}] for REST request [{uri}]")

    @classmethod
    def api_key(cls, why: str) -> AuthenticationFailed:
        return cls(
            "unable to authenticate with provided credentials and anonymous access is not allowed for this request",
            unsuccessful=f"API key: {why}",
        )


class SecurityDisabled(QuidditchError):
    """What ES answers to a ``_security`` API while ``xpack.security.enabled`` is false (a 500 ``exception``)."""

    def __init__(self) -> None:
        super().__init__(
            "Security must be explicitly enabled when using a [basic] license. Enable security by adding a user "
            "(quidditch users add) or setting [security_enabled] to [true] and restart the node."
        )


class ParseException(BadRequest):
    es_type = "parse_exception"
