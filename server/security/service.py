"""Whether security is on, and who a request is: the one object the middleware and handlers share.

Security is **on** when the ``security_enabled`` setting says ``true``, or when it says ``auto`` (the
default) and the data dir held at least one user (``quidditch users add``) when the server started. It
is off with ``false``, or with ``auto`` and no users: then no request is authenticated and an
``Authorization`` header is ignored, as before (the embedded default on loopback). ``auto`` is decided
once, at start: deleting the last user of a running server does not open it.

While on, every request carries credentials (``GET /`` too, as in ES):

- ``Authorization: Basic base64(user:password)``: a user of the file realm (:mod:`.users`);
- ``Authorization: ApiKey base64(id:api_key)``: a key from ``POST /_security/api_key`` (:mod:`.api_keys`).

Any other scheme (``Bearer``: ES's token service, which this server has not) reads as no credentials.
Roles are recorded and reported; the only role is ``superuser`` and every authenticated identity may use
every API (there is no finer authorization, so no 403).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from server.security.api_keys import ApiKey, ApiKeyStore
from server.security.errors import AuthenticationFailed
from server.security.users import UserStore
from server.settings import Settings

__all__ = ["FILE_REALM", "Authentication", "Security", "security_mode"]

log = logging.getLogger(__name__)

FILE_REALM = ("default_file", "file")  # ES's name and type for the default file realm
API_KEY_REALM = ("_es_api_key", "_es_api_key")
_MODES = ("auto", "true", "false")


def security_mode(settings: Settings) -> Literal["auto", "true", "false"]:
    mode = settings.security_enabled.strip().lower()
    if mode not in _MODES:
        raise ValueError(
            f"failed to parse setting [security_enabled] with value [{settings.security_enabled}]: "
            "expected auto, true or false"
        )
    return mode  # type: ignore[return-value]


@dataclass(frozen=True)
class Authentication:
    """Who a request is (``GET /_security/_authenticate`` renders it)."""

    username: str
    roles: tuple[str, ...]
    realm: tuple[str, str]
    api_key: ApiKey | None = None

    @property
    def owner_realm(self) -> tuple[str, str]:
        """The realm of the user behind the request (an API key's owner's, for a key)."""
        if self.api_key is not None:
            return (self.api_key.realm, self.api_key.realm_type)
        return self.realm

    def body(self) -> dict[str, Any]:
        realm = {"name": self.realm[0], "type": self.realm[1]}
        body: dict[str, Any] = {
            "username": self.username,
            "roles": list(self.roles),
            "full_name": None,
            "email": None,
            "metadata": {},
            "enabled": True,
            "authentication_realm": realm,
            "lookup_realm": dict(realm),
            "authentication_type": "api_key" if self.api_key is not None else "realm",
        }
        if self.api_key is not None:
            body["api_key"] = {"id": self.api_key.id, "name": self.api_key.name}
        return body


class Security:
    """The users and keys of one data dir, and the on/off decision (see the module doc)."""

    def __init__(self, data_dir: str, mode: Literal["auto", "true", "false"] = "auto") -> None:
        self.users = UserStore(data_dir)
        self.enabled = mode == "true" or (mode == "auto" and self.users.has_users())
        if self.users.damaged_lines and mode != "false":  # never start open (auto) on a users file it misread
            damaged = self.users.damaged_lines
            raise ValueError(f"damaged users file [{self.users.users_path}]: {damaged} unreadable lines")
        self._api_keys: ApiKeyStore | None = None
        self._data_dir = data_dir
        self._bcrypt: ThreadPoolExecutor | None = None
        if self.enabled:
            self._api_keys = ApiKeyStore(data_dir)  # read now: a damaged file fails the start, not a request

    def _bcrypt_pool(self) -> ThreadPoolExecutor:
        """Two threads for password checks: a flood of wrong passwords costs at most two cores' worth and
        never queues ahead of the default executor's work (cluster admin, file I/O)."""
        if self._bcrypt is None:
            self._bcrypt = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bcrypt")
        return self._bcrypt

    @classmethod
    def from_settings(cls, settings: Settings) -> Security:
        return cls(settings.data_dir, security_mode(settings))

    @property
    def api_keys(self) -> ApiKeyStore:
        if self._api_keys is None:
            self._api_keys = ApiKeyStore(self._data_dir)
        return self._api_keys

    async def authenticate(self, authorization: str | None, uri: str) -> Authentication:
        """Who sent ``authorization`` (the header's value), or :class:`AuthenticationFailed`."""
        scheme, _, value = (authorization or "").strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return await self._basic(value.strip(), uri)
        if scheme == "apikey":
            return await self._api_key(value.strip())
        raise AuthenticationFailed.missing(uri)

    async def _basic(self, value: str, uri: str) -> Authentication:
        decoded = _b64(value)
        if decoded is None:
            raise AuthenticationFailed("invalid basic authentication header encoding")
        name, sep, password = decoded.partition(":")
        if not sep:
            raise AuthenticationFailed("invalid basic authentication header value")
        user = self.users.cached(name, password)
        if user is None:  # bcrypt: ~70 ms, off the event loop, on threads of its own
            loop = asyncio.get_running_loop()
            user = await loop.run_in_executor(self._bcrypt_pool(), self.users.authenticate, name, password)
        if user is None:
            log.info("authentication failed for user [%s]", name, extra={"path": uri.split("?", 1)[0]})
            raise AuthenticationFailed.user(name, uri)
        return Authentication(user.name, user.roles, FILE_REALM)

    async def _api_key(self, value: str) -> Authentication:
        decoded = _b64(value)
        key_id, sep, secret = (decoded or "").partition(":")
        if decoded is None or not sep or not key_id:
            raise AuthenticationFailed.api_key("invalid ApiKey value")
        check = self.api_keys.check(key_id, secret)
        if check.key is None:
            log.info("authentication failed for api key [%s]: %s", key_id, check.failure)
            raise AuthenticationFailed.api_key(check.failure)
        # a key acts for its owner; ES reports no roles for it (its privileges are its role descriptors)
        return Authentication(check.key.username, (), API_KEY_REALM, check.key)


def _b64(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
