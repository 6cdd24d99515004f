"""etcd's v3 JSON gateway over httpx: one call per request, failing over between the members.

The gateway (``POST /v3/kv/range``, ``/v3/kv/txn``, ``/v3/lease/grant``, ``/v3/lease/keepalive``,
``/v3/watch``, ...) speaks the gRPC messages as JSON: keys and values base64, int64 fields as decimal
strings, fields at their default value left out (``succeeded`` is absent when a txn failed, ``kvs`` when a
range found nothing). A gRPC error comes back as a non-200 answer ``{"error", "message", "code"}``.

Failover: a member that refuses the connection, times out or answers "unavailable" (the gRPC code 14 a
member without a leader gives) is skipped and the next one tried; the last member that answered is tried
first next time. Only when no member answers for ``retry_s`` does a call fail, with ``StoreUnavailable``.
A request that timed out may still have been applied: callers that write say what a retry means (see
``EtcdStateStore.save``).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from cluster.state_store import StoreUnavailable
from native.errors import QuidditchError

log = logging.getLogger(__name__)

RETRY_PAUSE_S = 0.1
RETRYABLE_CODES = frozenset({4, 14})  # DEADLINE_EXCEEDED, UNAVAILABLE


class EtcdError(QuidditchError):
    """etcd refused a request (not a member outage): ``code`` is the gRPC status code."""

    status = 500
    es_type = "exception"


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def prefix_end(prefix: str) -> str:
    """The ``range_end`` that makes a range or watch cover every key starting with ``prefix``."""
    raw = bytearray(prefix.encode())
    raw[-1] += 1  # our prefixes end in "/", never in 0xff
    return b64(bytes(raw))


def normalise_endpoint(endpoint: str) -> str:
    endpoint = endpoint.strip().rstrip("/")
    return endpoint if "://" in endpoint else f"http://{endpoint}"


class EtcdGateway:
    """Blocking calls (``call``) for the store's methods, async ones (``acall``, ``stream``) for its background
    loop; both share the member preference. ``timeout_s`` bounds one attempt on one member."""

    def __init__(self, endpoints: list[str], *, timeout_s: float = 2.0, retry_s: float = 5.0) -> None:
        if not endpoints:
            raise StoreUnavailable("no etcd endpoints given")
        self.endpoints = [normalise_endpoint(e) for e in endpoints]
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self._preferred = 0
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=timeout_s)

    def _order(self) -> list[int]:
        with self._lock:
            start = self._preferred
        n = len(self.endpoints)
        return [(start + i) % n for i in range(n)]

    def _answered(self, index: int) -> None:
        with self._lock:
            self._preferred = index

    def skip(self, endpoint: str) -> None:
        """Prefer another member from now on (``endpoint`` did not answer a background request)."""
        with self._lock:
            if self.endpoints[self._preferred] == endpoint:
                self._preferred = (self._preferred + 1) % len(self.endpoints)

    @property
    def preferred(self) -> str:
        with self._lock:
            return self.endpoints[self._preferred]

    @staticmethod
    def _outcome(response: httpx.Response) -> dict[str, Any] | None:
        """The answer, None when the member cannot serve it now (try another), or an ``EtcdError``."""
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = {}
        if response.status_code == 200 and isinstance(data, dict):
            return data
        code = int(data.get("code", 0)) if isinstance(data, dict) else 0
        if response.status_code >= 500 and (code in RETRYABLE_CODES or code == 0):
            return None
        message = data.get("message", response.text) if isinstance(data, dict) else response.text
        raise EtcdError(f"etcd refused the request: {message}", code=code)

    def call(self, path: str, body: dict[str, Any], *, timeout_s: float | None = None) -> dict[str, Any]:
        """One request, on the first member that can serve it; rounds over the members go on for
        ``retry_s`` (an election after the etcd leader died leaves every member unavailable for a moment)."""
        deadline = time.monotonic() + self.retry_s
        last = "no member tried"
        while True:
            for index in self._order():
                endpoint = self.endpoints[index]
                try:
                    response = self._client.post(
                        endpoint + path, content=orjson.dumps(body), timeout=timeout_s or self.timeout_s
                    )
                except httpx.TransportError as exc:
                    last = f"{endpoint}: {type(exc).__name__}"
                    continue
                data = self._outcome(response)
                if data is None:
                    last = f"{endpoint}: {response.text.strip()}"
                    continue
                self._answered(index)
                return data
            if time.monotonic() >= deadline:
                raise StoreUnavailable(f"no etcd member answers {self.endpoints}: {last}")
            time.sleep(RETRY_PAUSE_S)

    async def acall(
        self, client: httpx.AsyncClient, path: str, body: dict[str, Any], *, timeout_s: float | None = None
    ) -> dict[str, Any]:
        """``call`` for the background loop: one round over the members (its callers retry on their period)."""
        last = "no member tried"
        for index in self._order():
            endpoint = self.endpoints[index]
            try:
                response = await client.post(
                    endpoint + path, content=orjson.dumps(body), timeout=timeout_s or self.timeout_s
                )
            except httpx.TransportError as exc:
                last = f"{endpoint}: {type(exc).__name__}"
                continue
            data = self._outcome(response)
            if data is None:
                last = f"{endpoint}: {response.text.strip()}"
                continue
            self._answered(index)
            return data
        raise StoreUnavailable(f"no etcd member answers {self.endpoints}: {last}")

    @staticmethod
    async def stream(
        client: httpx.AsyncClient, endpoint: str, path: str, body: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """The messages of one streaming call (``/v3/watch``) on one member, until it ends or fails."""
        timeout = httpx.Timeout(5.0, read=None)
        async with client.stream("POST", endpoint + path, content=orjson.dumps(body), timeout=timeout) as response:
            if response.status_code != 200:
                raise EtcdError(f"etcd refused the stream: {(await response.aread()).decode(errors='replace')}")
            async for line in response.aiter_lines():
                if line.strip():
                    message = orjson.loads(line)
                    if "error" in message:
                        raise EtcdError(f"etcd ended the stream: {message['error']}")
                    yield message.get("result", {})

    def close(self) -> None:
        self._client.close()
