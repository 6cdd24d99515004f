"""The etcd backend of ``ClusterStateStore``: three etcd members hold state, membership and the master lease.

Keys, under ``/quidditch/<cluster_name>/``:

- ``state``: the cluster state as JSON; ``state_version``: its version (decimal), compared on save;
- ``nodes/<id>``: a member's ``NodeInfo`` JSON, attached to a lease of the registration's TTL;
- ``master``: the elected master's node id, attached to the master lease.

Election and fencing (DESIGN §4): ``campaign`` creates ``master`` only if it does not exist (a txn comparing
its create revision with 0) and remembers the create revision it won with. Every ``save`` is a txn that
compares that create revision and the stored version: when the lease lapsed (the holder was SIGSTOPped,
paused, cut off) etcd deleted the key, another node may have created it anew, and the stale master's save
fails with ``NotMaster`` whatever it still believes.

Size: etcd refuses a request over ``--max-request-bytes`` (1.5 MiB by default), so a state whose JSON
exceeds ``max_request_bytes`` (less a margin for the txn around it) is refused here with ``StateTooLarge``
instead of an obscure gRPC error.

Background work (lease keepalives, the watch stream) runs on one asyncio loop in a daemon thread per store;
``close`` ends it. The watch stream covers the whole prefix from the revision the last reload saw, so no
event between reconnects is lost; when etcd compacted that history the store reloads and delivers the latest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from cluster.etcd_gateway import EtcdGateway, b64, prefix_end, unb64
from cluster.state import ClusterState, NodeInfo, StaleStateError
from cluster.state_store import NotMaster, StateTooLarge, StoreUnavailable
from cluster.subscribers import Subscribers, Unsubscribe
from native.errors import IllegalArgument, QuidditchError

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1536 * 1024  # etcd's default --max-request-bytes
TXN_MARGIN_BYTES = 4096


def parse_etcd_url(url: str) -> list[str]:
    """``etcd://h:p,h:p,h:p`` → ``["http://h:p", ...]``."""
    if not url.startswith("etcd://"):
        raise IllegalArgument(f"[{url}] is not an etcd url (etcd://host:port,...)")
    hosts = [h.strip() for h in url[len("etcd://") :].rstrip("/").split(",") if h.strip()]
    if not hosts:
        raise IllegalArgument(f"[{url}] names no etcd member")
    for host in hosts:
        parts = urlsplit(f"//{host}")
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise IllegalArgument(f"etcd member [{host}] of [{url}] is not host:port")
    return [f"http://{h}" for h in hosts]


def etcd_ttl(ttl_s: float) -> int:
    """etcd leases are whole seconds, and etcd raises a TTL below its minimum (1.5 election timeouts: 2 s with
    the default timings) to that minimum: ask for 2 to 3 s so a death is seen within the issue's 5 s."""
    return max(1, math.ceil(ttl_s))


@dataclass
class _Registration:
    node: NodeInfo
    ttl_s: float
    lease: str
    keepalive: bool


@dataclass
class _MasterClaim:
    node_id: str
    lease: str
    create_revision: int
    ttl_s: float


class _Loop:
    """An asyncio loop on a daemon thread, with the httpx client its tasks share."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.client: httpx.AsyncClient | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, name="etcd-store", daemon=True)
        self.thread.start()
        self.run(self._make_client())

    async def _make_client(self) -> None:
        self.client = httpx.AsyncClient()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10.0)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.client is not None:
                await self.client.aclose()

        with contextlib.suppress(Exception):
            self.run(shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5.0)
        if not self.thread.is_alive():
            self.loop.close()


class EtcdStateStore:
    """One node's connection to the cluster's etcd members (``ClusterStateStore``). Every node opens its own;
    ``request_timeout_s`` bounds one attempt on one member before the next member is tried."""

    def __init__(
        self,
        endpoints: list[str],
        cluster_name: str,
        *,
        request_timeout_s: float = 2.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        self.gateway = EtcdGateway(endpoints, timeout_s=request_timeout_s)
        self.prefix = f"/quidditch/{cluster_name}/"
        self.max_request_bytes = max_request_bytes
        self._state_key = self.prefix + "state"
        self._version_key = self.prefix + "state_version"
        self._nodes_prefix = self.prefix + "nodes/"
        self._master_key = self.prefix + "master"
        self._lock = threading.Lock()
        self._registrations: dict[str, _Registration] = {}
        self._master: _MasterClaim | None = None
        self._suspended = False
        self._closed = False
        self._background: _Loop | None = None
        self._keepalive_started = False
        self._watching = False
        self._nodes: dict[str, NodeInfo] = {}  # the members as the watch stream last saw them
        self._leader_known = False
        self._state_watchers: Subscribers[ClusterState] = Subscribers("state", key=lambda s: s.version)
        self._member_watchers: Subscribers[list[NodeInfo]] = Subscribers("members")
        self._leader_watchers: Subscribers[str | None] = Subscribers("leader")

    # state ----------------------------------------------------------------------------------------------

    def load(self) -> ClusterState:
        kvs = self.gateway.call("/v3/kv/range", {"key": b64(self._state_key)}).get("kvs", [])
        return self._parse_state(kvs[0]["value"]) if kvs else ClusterState(cluster_uuid=os.urandom(11).hex())

    @staticmethod
    def _parse_state(value: str) -> ClusterState:
        return ClusterState.from_json(orjson.loads(unb64(value)))

    def save(self, state: ClusterState, expected_version: int) -> None:
        value = orjson.dumps(state.to_json())
        if len(value) + TXN_MARGIN_BYTES > self.max_request_bytes:
            raise StateTooLarge(
                f"cluster state of [{len(value)}] bytes exceeds the etcd request limit of "
                f"[{self.max_request_bytes}] bytes (etcd --max-request-bytes)"
            )
        with self._lock:
            claim = self._master
        if claim is None:
            raise NotMaster("this node does not hold the master lease")
        if expected_version == 0:
            version_compare = {"key": b64(self._version_key), "target": "CREATE", "create_revision": "0"}
        else:
            version_compare = {"key": b64(self._version_key), "target": "VALUE", "value": b64(str(expected_version))}
        txn = {
            "compare": [
                {"key": b64(self._master_key), "target": "CREATE", "create_revision": str(claim.create_revision)},
                version_compare,
            ],
            "success": [
                {"request_put": {"key": b64(self._state_key), "value": b64(value)}},
                {"request_put": {"key": b64(self._version_key), "value": b64(str(state.version))}},
            ],
            "failure": [
                {"request_range": {"key": b64(self._master_key)}},
                {"request_range": {"key": b64(self._version_key)}},
            ],
        }
        answer = self.gateway.call("/v3/kv/txn", txn)
        if answer.get("succeeded"):
            return
        master_kvs, version_kvs = (r.get("response_range", {}).get("kvs", []) for r in answer.get("responses", []))
        if not master_kvs or int(master_kvs[0].get("create_revision", 0)) != claim.create_revision:
            with self._lock:
                if self._master is claim:
                    self._master = None
            holder = unb64(master_kvs[0]["value"]).decode() if master_kvs else None
            raise NotMaster(f"the master lease of [{claim.node_id}] lapsed; the master is now [{holder}]")
        stored = int(unb64(version_kvs[0]["value"])) if version_kvs else 0
        if stored == state.version and self._stored_bytes() == value:
            return  # an attempt that timed out on one member was applied; the retry found it done
        raise StaleStateError(f"cluster state version [{expected_version}] is stale ({stored})")

    def _stored_bytes(self) -> bytes | None:
        kvs = self.gateway.call("/v3/kv/range", {"key": b64(self._state_key)}).get("kvs", [])
        return unb64(kvs[0]["value"]) if kvs else None

    def watch(self, callback: Callable[[ClusterState], None]) -> Unsubscribe:
        self._start_watch()
        return self._state_watchers.subscribe(callback)

    # membership -----------------------------------------------------------------------------------------

    def _grant(self, ttl_s: float) -> str:
        return str(self.gateway.call("/v3/lease/grant", {"TTL": str(etcd_ttl(ttl_s))})["ID"])

    def _revoke(self, lease: str) -> None:
        with contextlib.suppress(Exception):  # gone already is fine: that is what revoking wants
            self.gateway.call("/v3/lease/revoke", {"ID": lease})

    def register(self, node: NodeInfo, ttl_s: float, *, keepalive: bool = True) -> None:
        lease = self._grant(ttl_s)
        key = b64(self._nodes_prefix + node.id)
        self.gateway.call("/v3/kv/put", {"key": key, "value": b64(orjson.dumps(node.to_json())), "lease": lease})
        with self._lock:
            previous = self._registrations.get(node.id)
            self._registrations[node.id] = _Registration(node, ttl_s, lease, keepalive)
        if previous is not None and previous.lease != lease:
            self._revoke(previous.lease)
        if keepalive:
            self._start_keepalive()

    def renew(self, node_id: str) -> bool:
        with self._lock:
            registration = self._registrations.get(node_id)
        if registration is None:
            return False
        answer = self.gateway.call("/v3/lease/keepalive", {"ID": registration.lease})
        if int(answer.get("result", {}).get("TTL", 0)) > 0:
            return True
        with self._lock:
            if self._registrations.get(node_id) is registration:
                del self._registrations[node_id]
        return False

    def deregister(self, node_id: str) -> None:
        with self._lock:
            registration = self._registrations.pop(node_id, None)
        if registration is not None:
            self._revoke(registration.lease)  # deletes the key attached to it
        else:
            self.gateway.call("/v3/kv/deleterange", {"key": b64(self._nodes_prefix + node_id)})

    def members(self) -> list[NodeInfo]:
        answer = self.gateway.call(
            "/v3/kv/range", {"key": b64(self._nodes_prefix), "range_end": prefix_end(self._nodes_prefix)}
        )
        nodes = [NodeInfo.from_json(orjson.loads(unb64(kv["value"]))) for kv in answer.get("kvs", [])]
        return sorted(nodes, key=lambda n: n.id)

    def watch_members(self, callback: Callable[[list[NodeInfo]], None]) -> Unsubscribe:
        self._start_watch()
        return self._member_watchers.subscribe(callback)

    # election -------------------------------------------------------------------------------------------

    def campaign(self, node_id: str, ttl_s: float) -> bool:
        if self._suspended:
            return False  # a paused process campaigns no more than it renews
        with self._lock:
            claim = self._master
        if claim is not None and claim.node_id == node_id:
            kvs = self.gateway.call("/v3/kv/range", {"key": b64(self._master_key)}).get("kvs", [])
            if kvs and int(kvs[0].get("create_revision", 0)) == claim.create_revision:
                return True
            with self._lock:
                self._master = None
        lease = self._grant(ttl_s)
        txn = {
            "compare": [{"key": b64(self._master_key), "target": "CREATE", "create_revision": "0"}],
            "success": [{"request_put": {"key": b64(self._master_key), "value": b64(node_id), "lease": lease}}],
            "failure": [],
        }
        answer = self.gateway.call("/v3/kv/txn", txn)
        if not answer.get("succeeded"):
            self._revoke(lease)
            return False
        with self._lock:
            self._master = _MasterClaim(node_id, lease, int(answer["header"]["revision"]), ttl_s)
        self._start_keepalive()
        return True

    def leader(self) -> str | None:
        kvs = self.gateway.call("/v3/kv/range", {"key": b64(self._master_key)}).get("kvs", [])
        return unb64(kvs[0]["value"]).decode() if kvs else None

    def watch_leader(self, callback: Callable[[str | None], None]) -> Unsubscribe:
        self._start_watch()
        return self._leader_watchers.subscribe(callback)

    def resign(self) -> None:
        with self._lock:
            claim, self._master = self._master, None
        if claim is None:
            return
        txn = {
            "compare": [
                {"key": b64(self._master_key), "target": "CREATE", "create_revision": str(claim.create_revision)}
            ],
            "success": [{"request_delete_range": {"key": b64(self._master_key)}}],
            "failure": [],
        }
        self.gateway.call("/v3/kv/txn", txn)
        self._revoke(claim.lease)

    # background: keepalive ------------------------------------------------------------------------------

    def _loop(self) -> _Loop:
        with self._lock:
            if self._background is None:
                self._background = _Loop()
            return self._background

    def _start_keepalive(self) -> None:
        with self._lock:
            if self._keepalive_started or self._closed:
                return
            self._keepalive_started = True
        self._loop().spawn(self._keepalive_loop())

    def _kept(self) -> tuple[list[_Registration], _MasterClaim | None]:
        with self._lock:
            return [r for r in self._registrations.values() if r.keepalive], self._master

    async def _keepalive_loop(self) -> None:
        while True:
            registrations, claim = self._kept()
            ttls = [r.ttl_s for r in registrations] + ([claim.ttl_s] if claim is not None else [])
            period = max(0.1, min(ttls, default=3.0) / 3)
            await asyncio.sleep(period)
            if self._suspended:
                continue
            for registration in registrations:
                if not await self._keep(registration.lease, period):
                    await self._reregister(registration)
            if claim is not None and not await self._keep(claim.lease, period):
                with self._lock:
                    if self._master is claim:
                        self._master = None  # lapsed: fenced in etcd already, forget it here too
                log.warning("master lease lapsed", extra={"node": claim.node_id})

    async def _keep(self, lease: str, period: float) -> bool:
        """Renews one lease: False only when etcd says it is gone (an outage is not a verdict)."""
        client = self._loop().client
        assert client is not None
        try:
            answer = await self.gateway.acall(client, "/v3/lease/keepalive", {"ID": lease}, timeout_s=period)
        except Exception as exc:
            log.warning("lease keepalive failed", extra={"lease": lease, "error": str(exc)})
            return True
        return int(answer.get("result", {}).get("TTL", 0)) > 0

    async def _reregister(self, registration: _Registration) -> None:
        """A registration whose lease lapsed (the process was paused) comes back: it is alive again."""
        with self._lock:
            if self._registrations.get(registration.node.id) is not registration:
                return
        try:
            await asyncio.to_thread(self.register, registration.node, registration.ttl_s)
        except Exception as exc:
            log.warning("registering again failed", extra={"node": registration.node.id, "error": str(exc)})

    def suspend_keepalive(self) -> None:
        """Stop renewing (registrations and lease) as a SIGSTOPped process would; for tests."""
        self._suspended = True

    def resume_keepalive(self) -> None:
        self._suspended = False

    # background: the watch stream -----------------------------------------------------------------------

    def _start_watch(self) -> None:
        with self._lock:
            if self._watching or self._closed:
                return
            self._watching = True
        loop = self._loop()
        try:
            revision = loop.run(self._reload())  # the first values are there before any subscriber
        except BaseException:
            with self._lock:
                self._watching = False
            raise
        loop.spawn(self._watch_loop(revision))

    async def _reload(self) -> int:
        """Publishes the current state, members and leader; the revision to watch from."""
        client = self._loop().client
        assert client is not None
        answer = await self.gateway.acall(
            client, "/v3/kv/range", {"key": b64(self.prefix), "range_end": prefix_end(self.prefix)}
        )
        self._nodes = {}
        state: ClusterState | None = None
        leader: str | None = None
        for kv in answer.get("kvs", []):
            key = unb64(kv["key"]).decode()
            if key == self._state_key:
                state = self._parse_state(kv["value"])
            elif key == self._master_key:
                leader = unb64(kv["value"]).decode()
            elif key.startswith(self._nodes_prefix):
                self._nodes[key[len(self._nodes_prefix) :]] = NodeInfo.from_json(orjson.loads(unb64(kv["value"])))
        self._state_watchers.publish(state if state is not None else ClusterState())
        self._publish_members()
        self._publish_leader(leader)
        return int(answer["header"]["revision"]) + 1

    def _publish_members(self) -> None:
        members = [self._nodes[k] for k in sorted(self._nodes)]
        if self._member_watchers.latest != members:
            self._member_watchers.publish(members)

    def _publish_leader(self, leader: str | None) -> None:
        if not self._leader_known or self._leader_watchers.latest != leader:
            self._leader_known = True
            self._leader_watchers.publish(leader)

    def _apply(self, event: dict[str, Any]) -> None:
        kv = event["kv"]
        key = unb64(kv["key"]).decode()
        deleted = event.get("type") == "DELETE"
        if key == self._state_key and not deleted:
            self._state_watchers.publish(self._parse_state(kv["value"]))
        elif key == self._master_key:
            self._publish_leader(None if deleted else unb64(kv["value"]).decode())
        elif key.startswith(self._nodes_prefix):
            node_id = key[len(self._nodes_prefix) :]
            if deleted:
                self._nodes.pop(node_id, None)
            else:
                self._nodes[node_id] = NodeInfo.from_json(orjson.loads(unb64(kv["value"])))
            self._publish_members()

    async def _watch_loop(self, revision: int) -> None:
        client = self._loop().client
        assert client is not None
        body = {"key": b64(self.prefix), "range_end": prefix_end(self.prefix)}
        while True:
            endpoint = self.gateway.preferred
            try:
                request = {**body, "start_revision": str(revision)}
                reader = asyncio.ensure_future(self._consume(client, endpoint, request))
                while not reader.done():
                    await asyncio.wait({reader}, timeout=2.0)
                    if not reader.done() and not await self._answers(client, endpoint):
                        reader.cancel()  # a hung member (SIGSTOPped) keeps the stream open and silent
                        with contextlib.suppress(asyncio.CancelledError):
                            await reader
                        raise StoreUnavailable(f"etcd member [{endpoint}] stopped answering")
                revision = reader.result()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("etcd watch broke; resuming on another member", extra={"error": str(exc)})
                self.gateway.skip(endpoint)
                await asyncio.sleep(0.2)

    async def _consume(self, client: httpx.AsyncClient, endpoint: str, request: dict[str, Any]) -> int:
        """Applies the stream's events; the revision to resume from when it ends."""
        revision = int(request["start_revision"])
        async for message in self.gateway.stream(client, endpoint, "/v3/watch", {"create_request": request}):
            if message.get("canceled"):
                if message.get("compact_revision"):  # history gone: deliver the latest instead
                    return await self._reload()
                raise StoreUnavailable(f"etcd cancelled the watch: {message.get('cancel_reason', '')}")
            for event in message.get("events", []):
                try:
                    self._apply(event)
                except (ValueError, KeyError, TypeError) as exc:  # someone else's garbage under our prefix
                    log.warning("unreadable etcd event skipped", extra={"error": str(exc)})
                revision = int(event["kv"]["mod_revision"]) + 1
        return revision

    async def _answers(self, client: httpx.AsyncClient, endpoint: str) -> bool:
        try:
            probe = orjson.dumps({"key": b64(self._master_key), "count_only": True})
            response = await client.post(endpoint + "/v3/kv/range", content=probe, timeout=1.0)
        except httpx.TransportError:
            return False
        return response.status_code == 200

    # end ------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Ends the background loop, then gives up this node's registrations and lease."""
        with self._lock:
            self._closed = True
            background, self._background = self._background, None
            registrations = list(self._registrations.values())
            self._registrations.clear()
        if background is not None:
            background.close()
        with contextlib.suppress(QuidditchError):  # etcd down: the leases run out by themselves
            for registration in registrations:
                self._revoke(registration.lease)
            self.resign()
        self._state_watchers.close()
        self._member_watchers.close()
        self._leader_watchers.close()
        self.gateway.close()
