"""Users of the file realm: kept in the data dir, passwords hashed with bcrypt, managed offline.

The files have the formats of Elasticsearch's file realm (what ``elasticsearch-users`` writes), in
``<data_dir>/security/``::

    users         one ``name:bcrypt-hash`` per line
    users_roles   one ``role:name1,name2`` per line

so a user written by one tool reads in the other. Only ``quidditch users …`` (:mod:`server.security.cli`)
writes them; a running server reads them and notices changes (added users, new passwords, deletions)
on the next request that authenticates, as ES's file realm watches its files.

A successful bcrypt check (~70 ms at cost 10) is remembered as an HMAC-SHA256 of the password under a
per-process random key, so later requests cost microseconds (ES caches realm credentials the same way);
the cache empties whenever the files change. Every comparison is constant-time, and an unknown user
costs one bcrypt check as well, so timing does not reveal which names exist.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import bcrypt

from server.security.files import security_dir, write_private

__all__ = [
    "KNOWN_ROLES",
    "MIN_PASSWORD_LENGTH",
    "User",
    "UserStore",
    "hash_password",
    "validate_password",
    "validate_username",
]

log = logging.getLogger(__name__)

BCRYPT_COST = 10  # ES's default for the file realm (bcrypt, cost 10)
MIN_PASSWORD_LENGTH = 6  # ES refuses shorter passwords
_MAX_BCRYPT_BYTES = 72  # bcrypt reads no further; refused rather than silently cut
KNOWN_ROLES = frozenset({"superuser"})
_MAX_NAME = 507
_CACHE_LIMIT = 10_000


@cache
def _dummy_hash() -> bytes:
    """A real bcrypt hash to check unknown users against, so that they cost as much as known ones."""
    return bcrypt.hashpw(b"quidditch-no-such-user", bcrypt.gensalt(BCRYPT_COST))


@dataclass(frozen=True)
class User:
    name: str
    password_hash: bytes
    roles: tuple[str, ...]


def validate_username(name: str) -> None:
    """ES's rules for realm user names (printable ASCII, 1 to 507 characters, no surrounding space), and
    no ``:`` or ``,``, which the file formats use as separators."""
    if not 1 <= len(name) <= _MAX_NAME:
        raise ValueError(f"invalid username [{name}]: must be 1 to {_MAX_NAME} characters long")
    if not all(" " <= c <= "~" for c in name) or name != name.strip():
        raise ValueError(
            f"invalid username [{name}]: printable ASCII characters only, without leading or trailing whitespace"
        )
    if ":" in name or "," in name:
        raise ValueError(f"invalid username [{name}]: must not contain ':' or ','")


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"passwords must be at least [{MIN_PASSWORD_LENGTH}] characters long")
    if len(password.encode()) > _MAX_BCRYPT_BYTES:
        raise ValueError(f"passwords must be at most [{_MAX_BCRYPT_BYTES}] bytes long (bcrypt reads no further)")


def validate_roles(roles: Iterable[str]) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(r.strip() for r in roles if r.strip()))
    unknown = [r for r in found if r not in KNOWN_ROLES]
    if unknown:
        raise ValueError(f"unknown role [{unknown[0]}]; known roles: {', '.join(sorted(KNOWN_ROLES))}")
    if not found:  # ES would let a user without roles do nothing; this server cannot express that
        raise ValueError(f"a user needs a role; known roles: {', '.join(sorted(KNOWN_ROLES))}")
    return found


def hash_password(password: str) -> bytes:
    validate_password(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST))


def _check_bcrypt(password: str, hashed: bytes) -> bool:
    raw = password.encode()
    if len(raw) > _MAX_BCRYPT_BYTES:
        bcrypt.checkpw(b"x", _dummy_hash())  # same cost, never a match
        return False
    try:
        return bcrypt.checkpw(raw, hashed)
    except ValueError:  # a damaged hash in the file
        return False


class UserStore:
    """The ``users``/``users_roles`` pair of one data dir: read, written (offline) and checked against."""

    def __init__(self, data_dir: str) -> None:
        directory = security_dir(data_dir)
        self.users_path = os.path.join(directory, "users")
        self.roles_path = os.path.join(directory, "users_roles")
        self._lock = threading.Lock()
        self._stamp: tuple[object, ...] | None = None
        self._users: dict[str, User] = {}
        self._cache_key = secrets.token_bytes(32)
        self._verified: dict[str, bytes] = {}
        self.damaged_lines = 0  # of ``users`` as last read

    # -- reading --------------------------------------------------------------------------------------

    def _file_stamp(self) -> tuple[object, ...]:
        stamp: list[object] = []
        for path in (self.users_path, self.roles_path):
            try:
                st = os.stat(path)
                stamp.append((st.st_ino, st.st_mtime_ns, st.st_size))
            except (FileNotFoundError, NotADirectoryError):  # no file, no users; unreadable ones fail loudly
                stamp.append(None)
        return tuple(stamp)

    def users(self) -> dict[str, User]:
        """Every user, read again when either file changed since the last call."""
        stamp = self._file_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._users = self._read()
                    self._verified = {}
                    self._stamp = stamp
        return self._users

    def _read(self) -> dict[str, User]:
        hashes: dict[str, bytes] = {}
        damaged = 0
        for line in _lines(self.users_path):
            name, sep, hashed = line.partition(":")
            if sep and name and hashed.strip().startswith("$2"):
                hashes[name] = hashed.strip().encode()
            else:
                damaged += 1
        if damaged and self._stamp is not None:  # a change while serving: those users cannot log in
            log.warning("skipped %d damaged lines of %s", damaged, self.users_path)
        self.damaged_lines = damaged
        roles: dict[str, list[str]] = {name: [] for name in hashes}
        for line in _lines(self.roles_path):
            role, sep, names = line.partition(":")
            for name in names.split(",") if sep else ():
                if name.strip() in roles:
                    roles[name.strip()].append(role.strip())
        return {name: User(name, hashed, tuple(roles[name])) for name, hashed in hashes.items()}

    def has_users(self) -> bool:
        return bool(self.users())

    # -- checking -------------------------------------------------------------------------------------

    def _digest(self, password: str) -> bytes:
        return hmac.new(self._cache_key, password.encode(), hashlib.sha256).digest()

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None (blocking: call it off the event loop)."""
        user = self.users().get(name)
        digest = self._digest(password)
        cached = self._verified.get(name)
        if user is not None and cached is not None:
            return user if hmac.compare_digest(cached, digest) else self._check(user, password, digest)
        if user is None:
            _check_bcrypt(password, _dummy_hash())
            return None
        return self._check(user, password, digest)

    def cached(self, name: str, password: str) -> User | None:
        """The user when this password was already checked since the files last changed (no bcrypt)."""
        user = self.users().get(name)
        cached = self._verified.get(name)
        if user is None or cached is None:
            return None
        return user if hmac.compare_digest(cached, self._digest(password)) else None

    def _check(self, user: User, password: str, digest: bytes) -> User | None:
        if not _check_bcrypt(password, user.password_hash):
            return None
        if len(self._verified) >= _CACHE_LIMIT:
            self._verified = {}
        self._verified[user.name] = digest
        return user

    # -- writing (the offline ``quidditch users`` commands) ------------------------------------------------

    def add(self, name: str, password: str, roles: Iterable[str]) -> None:
        validate_username(name)
        checked_roles = validate_roles(roles)
        users = self._editable()
        if name in users:
            raise ValueError(f"user [{name}] already exists")
        users[name] = User(name, hash_password(password), checked_roles)
        self._write(users)

    def passwd(self, name: str, password: str) -> None:
        users = self._editable()
        if name not in users:
            raise ValueError(f"user [{name}] doesn't exist")
        users[name] = User(name, hash_password(password), users[name].roles)
        self._write(users)

    def set_roles(self, name: str, roles: Iterable[str]) -> None:
        users = self._editable()
        if name not in users:
            raise ValueError(f"user [{name}] doesn't exist")
        users[name] = User(name, users[name].password_hash, validate_roles(roles))
        self._write(users)

    def delete(self, name: str) -> None:
        users = self._editable()
        if name not in users:
            raise ValueError(f"user [{name}] doesn't exist")
        del users[name]
        self._write(users)

    def _editable(self) -> dict[str, User]:
        users = dict(self.users())
        if self.damaged_lines:  # rewriting would drop them: a person decides
            raise ValueError(
                f"damaged users file [{self.users_path}]: {self.damaged_lines} unreadable lines; fix it first"
            )
        return users

    def _write(self, users: dict[str, User]) -> None:
        lines = [f"{u.name}:{u.password_hash.decode()}\n" for u in sorted(users.values(), key=lambda u: u.name)]
        by_role: dict[str, list[str]] = {}
        for user in sorted(users.values(), key=lambda u: u.name):
            for role in user.roles:
                by_role.setdefault(role, []).append(user.name)
        role_lines = [f"{role}:{','.join(names)}\n" for role, names in sorted(by_role.items())]
        # roles first: a reader between the two renames sees the old users with at most their new roles
        write_private(self.roles_path, "".join(role_lines).encode())
        write_private(self.users_path, "".join(lines).encode())


def _lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [line.rstrip("\n") for line in handle if line.strip() and not line.startswith("#")]
    except (FileNotFoundError, NotADirectoryError):
        return []
