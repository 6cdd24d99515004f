"""HTTP client statistics (``_nodes/stats/http``, ``_info/http``), as ES's ``HttpStats`` reports them.

An ASGI middleware notes every request against its connection (the client's address and port, which a
keep-alive connection keeps): when it was first seen, its user agent, last URI, request count and bytes.
Whether a connection is still open is read from the kernel, not guessed: on Linux the established TCP
sockets this process holds on the HTTP port are listed in ``/proc/net/tcp{,6}`` (matched by socket inode
to ``/proc/self/fd``). A connection no longer established gets its ``closed_time_millis``; closed clients
are kept for a while (ES keeps them 5 minutes) and at most ``MAX_CLOSED`` of them.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HttpClients", "HttpClientsMiddleware"]

MAX_CLOSED = 1000
MAX_TRACKED = 10_000  # clients remembered between two reads of the stats
CLOSED_KEEP_S = 300.0


@dataclass
class _Client:
    id: int
    remote: tuple[str, int]
    local: str
    agent: str | None
    opened_ms: int
    last_uri: str = ""
    last_request_ms: int = 0
    request_count: int = 0
    request_size_bytes: int = 0
    x_forwarded_for: str | None = None
    x_opaque_id: str | None = None
    closed_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "agent": self.agent, "local_address": self.local,
            "remote_address": f"{self.remote[0]}:{self.remote[1]}", "last_uri": self.last_uri,
            "opened_time_millis": self.opened_ms, "last_request_time_millis": self.last_request_ms,
            "request_count": self.request_count, "request_size_bytes": self.request_size_bytes,
        }  # fmt: skip
        if self.closed_ms is not None:
            out["closed_time_millis"] = self.closed_ms
        if self.x_forwarded_for is not None:
            out["x_forwarded_for"] = self.x_forwarded_for
        if self.x_opaque_id is not None:
            out["x_opaque_id"] = self.x_opaque_id
        return out


def _established_peers(port: int) -> set[tuple[str, int]] | None:
    """The remote ``(address, port)`` of this process's established TCP connections on local ``port``, or
    None where ``/proc`` cannot say (then every client still listed counts as open)."""
    try:
        inodes = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return None
    peers: set[tuple[str, int]] = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            with open(table, encoding="ascii") as fh:
                next(fh, None)
                for line in fh:
                    fields = line.split()
                    if len(fields) < 10 or fields[3] != "01" or fields[9] not in inodes:
                        continue
                    local_port = int(fields[1].split(":")[1], 16)
                    if local_port != port:
                        continue
                    address, remote_port = fields[2].split(":")
                    peers.add((_address(address, width), int(remote_port, 16)))
        except OSError:
            continue
    return peers


def _address(hex_address: str, width: int) -> str:
    raw = bytes.fromhex(hex_address)
    if width == 8:
        return ".".join(str(b) for b in raw[::-1])
    words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
    packed = b"".join(words)
    if packed[:12] == b"\x00" * 10 + b"\xff\xff":  # IPv4-mapped
        return ".".join(str(b) for b in packed[12:])
    return ":".join(packed[i : i + 2].hex() for i in range(0, 16, 2))


class HttpClients:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_remote: dict[tuple[str, int], _Client] = {}
        self._next_id = 1
        self.total_opened = 0
        self.rest_actions: dict[str, int] = {}  # REST handler name -> requests it served (``_nodes/usage``)
        self.since = int(time.time() * 1000)

    def count_action(self, name: str) -> None:
        with self._lock:
            self.rest_actions[name] = self.rest_actions.get(name, 0) + 1

    def note(self, scope: Scope) -> None:
        client = scope.get("client")
        if not client:
            return
        remote = (str(client[0]), int(client[1]))
        server = scope.get("server") or ("", 0)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        now = int(time.time() * 1000)
        path = scope.get("path", "")
        query = scope.get("query_string", b"").decode("latin-1")
        with self._lock:
            entry = self._by_remote.get(remote)
            if entry is None or entry.closed_ms is not None:
                entry = _Client(self._next_id, remote, f"{server[0]}:{server[1]}", headers.get("user-agent"), now)
                self._next_id += 1
                self.total_opened += 1
                self._by_remote[remote] = entry
                if len(self._by_remote) > MAX_TRACKED:  # nobody read the stats for long: forget the stalest half
                    stale = sorted(self._by_remote.values(), key=lambda e: e.last_request_ms)
                    for old in stale[: len(stale) // 2]:
                        del self._by_remote[old.remote]
            entry.last_uri = path + ("?" + query if query else "")
            entry.last_request_ms = now
            entry.request_count += 1
            try:
                entry.request_size_bytes += int(headers.get("content-length", "0"))
            except ValueError:
                pass
            entry.x_forwarded_for = headers.get("x-forwarded-for", entry.x_forwarded_for)
            entry.x_opaque_id = headers.get("x-opaque-id", entry.x_opaque_id)

    def stats(self, port: int) -> dict[str, Any]:
        """``{current_open, total_opened, clients}``; ``port``: the HTTP port the server listens on."""
        peers = _established_peers(port)
        now = int(time.time() * 1000)
        with self._lock:
            for remote, entry in list(self._by_remote.items()):
                if entry.closed_ms is None and peers is not None and remote not in peers:
                    entry.closed_ms = now
                if entry.closed_ms is not None and now - entry.closed_ms > CLOSED_KEEP_S * 1000:
                    del self._by_remote[remote]
            closed = sorted((e for e in self._by_remote.values() if e.closed_ms is not None), key=lambda e: e.id)
            for entry in closed[:-MAX_CLOSED] if len(closed) > MAX_CLOSED else []:
                del self._by_remote[entry.remote]
            clients = sorted(self._by_remote.values(), key=lambda e: e.id)
            open_count = sum(1 for e in clients if e.closed_ms is None)
            return {"current_open": open_count, "total_opened": self.total_opened,
                    "clients": [e.to_json() for e in clients]}  # fmt: skip


class HttpClientsMiddleware:
    def __init__(self, app: ASGIApp, clients: HttpClients) -> None:
        self.app = app
        self.clients = clients

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.clients.note(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            # the router records the matched route in the scope: ``_nodes/usage`` counts the REST handlers used
            endpoint = getattr(scope.get("route"), "endpoint", None)
            name = getattr(endpoint, "__name__", None)
            if name is not None and name != "_no_handler":
                self.clients.count_action(name)
