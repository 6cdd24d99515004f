"""API keys: created over REST, kept hashed in ``<data_dir>/security/api_keys.json``, invalidated, expiring.

A key is an ``id`` (20 URL-safe characters, as ES's) and a secret ``api_key`` (22 characters, 128 random
bits), presented as ``Authorization: ApiKey base64(id:api_key)``. Only a salted SHA-256 of the secret
is stored (ES's ``ssha256``; a 128-bit random secret needs no slow hash, unlike a password) and compared
in constant time. An invalidated or expired key stays listed (ES keeps them for
``xpack.security.authc.api_key.delete.retention_period``, 7 days, then removes them; so does this store
when it next writes).

The store belongs to one server process: it is read at start and written through on every change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from server.security.files import security_dir, write_private

__all__ = ["ApiKey", "ApiKeyStore", "KeyCheck", "new_secret"]

_RETENTION_MS = 7 * 24 * 3600 * 1000
_HASH_PREFIX = "{SSHA256}"


def _now_ms() -> int:
    return int(time.time() * 1000)


def new_secret(nbytes: int) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode().rstrip("=")


def _hash(secret: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.sha256(salt + secret.encode()).digest()
    return _HASH_PREFIX + base64.b64encode(salt + digest).decode()


def _matches(secret: str, stored: str) -> bool:
    if not stored.startswith(_HASH_PREFIX):
        return False
    raw = base64.b64decode(stored[len(_HASH_PREFIX) :])
    return hmac.compare_digest(_hash(secret, raw[:16]), stored)


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    hash: str
    creation: int
    username: str
    realm: str
    realm_type: str
    expiration: int | None = None
    invalidated: bool = False
    invalidation: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    role_descriptors: dict[str, Any] = field(default_factory=dict)

    def expired(self, now_ms: int) -> bool:
        return self.expiration is not None and self.expiration <= now_ms

    def info(self) -> dict[str, Any]:
        """The key as ``GET /_security/api_key`` lists it (never the hash)."""
        body: dict[str, Any] = {"id": self.id, "name": self.name, "type": "rest", "creation": self.creation}
        if self.expiration is not None:
            body["expiration"] = self.expiration
        body["invalidated"] = self.invalidated
        if self.invalidation is not None:
            body["invalidation"] = self.invalidation
        body.update(
            username=self.username,
            realm=self.realm,
            realm_type=self.realm_type,
            metadata=self.metadata,
            role_descriptors=self.role_descriptors,
        )
        return body


@dataclass(frozen=True)
class KeyCheck:
    """The outcome of presenting ``id:secret``: the key, or why not (ES's texts)."""

    key: ApiKey | None
    failure: str = ""


class ApiKeyStore:
    def __init__(self, data_dir: str) -> None:
        self.path = os.path.join(security_dir(data_dir), "api_keys.json")
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read()
        except (FileNotFoundError, NotADirectoryError):
            return
        try:  # a damaged file stops the server: keys are never silently forgotten (nor overwritten)
            self._keys = {k["id"]: ApiKey(**k) for k in json.loads(raw)["api_keys"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"damaged api key file [{self.path}]: {exc!r}") from None

    def _save(self) -> None:
        now = _now_ms()
        self._keys = {
            kid: k
            for kid, k in self._keys.items()
            if not (k.invalidated and k.invalidation is not None and k.invalidation + _RETENTION_MS < now)
            and not (k.expiration is not None and k.expiration + _RETENTION_MS < now)
        }
        data = {"api_keys": [asdict(k) for k in self._keys.values()]}
        write_private(self.path, json.dumps(data, indent=1).encode())

    def create(
        self,
        *,
        name: str,
        username: str,
        realm: str,
        realm_type: str,
        expiration_ms: int | None,
        metadata: dict[str, Any],
        role_descriptors: dict[str, Any],
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (shown once, never stored)."""
        secret = new_secret(16)
        with self._lock:
            key_id = new_secret(15)
            while key_id in self._keys:
                key_id = new_secret(15)
            now = _now_ms()
            key = ApiKey(
                id=key_id,
                name=name,
                hash=_hash(secret),
                creation=now,
                username=username,
                realm=realm,
                realm_type=realm_type,
                expiration=None if expiration_ms is None else now + expiration_ms,
                metadata=metadata,
                role_descriptors=role_descriptors,
            )
            self._keys[key_id] = key
            self._save()
        return key, secret

    def check(self, key_id: str, secret: str) -> KeyCheck:
        key = self._keys.get(key_id)
        if key is None:
            _matches(secret, _hash("", b"\0" * 16))  # the same work as a known id
            return KeyCheck(None, f"unable to find apikey with id {key_id}")
        if not _matches(secret, key.hash):
            return KeyCheck(None, f"invalid credentials for API key [{key_id}]")
        if key.invalidated:
            return KeyCheck(None, "api key has been invalidated")
        if key.expired(_now_ms()):
            return KeyCheck(None, "api key is expired")
        return KeyCheck(key)

    def find(self, keep: Callable[[ApiKey], bool]) -> list[ApiKey]:
        return sorted((k for k in self._keys.values() if keep(k)), key=lambda k: (k.creation, k.id))

    def invalidate(self, ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """Invalidate these keys: (newly invalidated ids, ids that already were)."""
        fresh: list[str] = []
        already: list[str] = []
        with self._lock:
            now = _now_ms()
            for key_id in ids:
                key = self._keys.get(key_id)
                if key is None:
                    continue
                if key.invalidated:
                    already.append(key_id)
                else:
                    self._keys[key_id] = replace(key, invalidated=True, invalidation=now)
                    fresh.append(key_id)
            if fresh:
                self._save()
        return fresh, already
