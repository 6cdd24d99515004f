"""Where cluster state lives: the ``ClusterStateStore`` contract and its local backend.

DESIGN §4: no home-made consensus. A store persists the versioned state (compare-and-set on ``version``),
carries membership (nodes register with a TTL and drop out when they stop renewing) and elects the master
(whoever holds the master lease; a holder whose lease lapsed is fenced: its ``save`` is refused even if it
has not noticed yet). Two backends pass one conformance suite (tests/cluster/test_state_store_conformance.py):

- ``LocalStateStore``: one process (the embedded default, or the master process of a cluster that uses
  ``--state-store local``): the state is an fsynced JSON file, membership and the lease are in memory
  (``cluster.leases``). Remote nodes are registered on their behalf with ``keepalive=False`` and renewed by
  ``renew`` when their heartbeats arrive. ``session()`` opens another handle on the same store, with its
  own registrations and its own claim to the lease, as a second node's connection would be.
- ``EtcdStateStore`` (``cluster.etcd_store``): three etcd members; every node opens its own.

Errors::

    QuidditchError
    ├── StaleStateError (409): ``expected_version`` is not the stored version
    ├── NotMaster (503, not_master_exception): the saver does not hold the master lease (any more)
    ├── StoreUnavailable (503, master_not_discovered_exception): no etcd member answers
    └── StateTooLarge (400, illegal_argument_exception): the state exceeds what etcd accepts in one request

Threads: callbacks run on a delivery thread of their own per watcher (``cluster.subscribers``), never on the
caller's thread nor under a store lock; asyncio users hand over with ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Protocol

import orjson

from cluster.leases import Keepalive, LeaseTable
from cluster.state import ClusterState, ClusterStateCorrupted, NodeInfo, StaleStateError
from cluster.subscribers import Subscribers, Unsubscribe
from native.errors import IllegalArgument, QuidditchError
from native.failpoints import failpoint

__all__ = [
    "ClusterStateStore",
    "LocalStateStore",
    "NotMaster",
    "StaleStateError",
    "StateTooLarge",
    "StoreUnavailable",
    "Unsubscribe",
    "store_from_url",
]


class NotMaster(QuidditchError):
    status = 503
    es_type = "not_master_exception"


class StoreUnavailable(QuidditchError):
    status = 503
    es_type = "master_not_discovered_exception"


class StateTooLarge(IllegalArgument):
    pass


class ClusterStateStore(Protocol):
    """Persistence, membership and election for one cluster, as seen by one node.

    State: ``save`` fails with ``StaleStateError`` unless ``expected_version`` is the stored version, and with
    ``NotMaster`` when the master lease is held by someone else or this handle's lease lapsed (etcd requires
    a won ``campaign``; the local store also lets an uncontested process save, the embedded server).
    ``watch`` calls back with the current state, then with every saved state in version order (a watcher
    that falls far behind skips to the latest, logged).

    Membership: ``register`` puts ``node`` among the members for ``ttl_s`` seconds, renewed in the
    background until ``deregister``/``close`` unless ``keepalive=False`` (then the caller calls ``renew``;
    False means the registration is gone and the node must register again). A member that stops renewing
    is gone within ``ttl_s`` plus one second for ``members`` and every ``watch_members`` callback (which
    gets the full sorted list, first at once, then on each change).

    Election: ``campaign`` tries once, without blocking: True when ``node_id`` now holds the master lease
    (kept alive in the background like a registration). ``leader`` names the holder; ``watch_leader`` calls
    back with it (None: no master) at once and on each change; ``resign`` gives the lease up.
    """

    def load(self) -> ClusterState: ...

    def save(self, state: ClusterState, expected_version: int) -> None: ...

    def watch(self, callback: Callable[[ClusterState], None]) -> Unsubscribe: ...

    def register(self, node: NodeInfo, ttl_s: float, *, keepalive: bool = True) -> None: ...

    def renew(self, node_id: str) -> bool: ...

    def deregister(self, node_id: str) -> None: ...

    def members(self) -> list[NodeInfo]: ...

    def watch_members(self, callback: Callable[[list[NodeInfo]], None]) -> Unsubscribe: ...

    def campaign(self, node_id: str, ttl_s: float) -> bool: ...

    def leader(self) -> str | None: ...

    def watch_leader(self, callback: Callable[[str | None], None]) -> Unsubscribe: ...

    def resign(self) -> None: ...

    def close(self) -> None: ...


class _LocalShared:
    """What every handle of one local store shares: the file, its version, the leases and the watchers."""

    def __init__(self, path: str, version: int) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.version = version
        self.leases = LeaseTable()
        self.state_watchers: Subscribers[ClusterState] = Subscribers("state", key=lambda s: s.version)
        self.handles = 0


class LocalStateStore:
    """The embedded store: ``<data>/cluster_state.json``, written atomically and fsynced; membership and the
    master lease in memory (one process is the whole store)."""

    def __init__(self, data_dir: str, *, _shared: _LocalShared | None = None) -> None:
        self.path = os.path.join(data_dir, "cluster_state.json")
        self._data_dir = data_dir
        if _shared is None:
            os.makedirs(data_dir, exist_ok=True)
            _shared = _LocalShared(self.path, self.load().version)
        self._shared = _shared
        with _shared.lock:
            _shared.handles += 1  # the store ends with the close of its last handle
        self._closed = False
        self._lock = threading.Lock()  # this handle's own registrations and lease
        self._own: dict[str, tuple[NodeInfo, float]] = {}  # registrations this handle keeps alive
        self._term: int | None = None  # the master term this handle won (None: never)
        self._keepalive: Keepalive | None = None
        self._suspended = False
        self._unsubscribes: list[Unsubscribe] = []

    def session(self) -> LocalStateStore:
        """Another handle on this store, with its own registrations and claim to the master lease."""
        return LocalStateStore(self._data_dir, _shared=self._shared)

    # state ----------------------------------------------------------------------------------------------

    def load(self) -> ClusterState:
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            return ClusterState(cluster_uuid=os.urandom(11).hex())
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict) or not isinstance(data.get("indices", {}), dict):
                raise ValueError("not a cluster state object")
            return ClusterState.from_json(data)
        except (ValueError, TypeError, AttributeError) as exc:  # orjson.JSONDecodeError is a ValueError
            raise ClusterStateCorrupted(f"cluster state [{self.path}] is unreadable: {exc}") from None

    def save(self, state: ClusterState, expected_version: int) -> None:
        shared = self._shared
        with shared.lock:
            # once anyone campaigned, only the current holder saves (the embedded server never campaigns). The
            # lease is checked, not held, during the write: a window of one fsync here, none in etcd's txn
            if shared.leases.contested() and (self._term is None or not shared.leases.holds(self._term)):
                raise NotMaster(f"this node does not hold the master lease (the master is [{shared.leases.leader()}])")
            if expected_version != shared.version:
                raise StaleStateError(f"cluster state version [{expected_version}] is stale ({shared.version})")
            tmp = self.path + ".tmp"
            with open(tmp, "wb") as fh:
                fh.write(orjson.dumps(state.to_json()))
                fh.flush()
                os.fsync(fh.fileno())
            failpoint("cluster_state.after_tmp_write")
            os.replace(tmp, self.path)
            failpoint("cluster_state.after_rename")
            fd = os.open(os.path.dirname(self.path), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            shared.version = state.version
            shared.state_watchers.publish(state)

    def watch(self, callback: Callable[[ClusterState], None]) -> Unsubscribe:
        shared = self._shared
        with shared.lock:  # no save between the first value and the subscription
            if shared.state_watchers.latest is None:
                shared.state_watchers.publish(self.load())
            return self._track(shared.state_watchers.subscribe(callback))

    # membership -----------------------------------------------------------------------------------------

    def register(self, node: NodeInfo, ttl_s: float, *, keepalive: bool = True) -> None:
        self._shared.leases.register(node, ttl_s)
        with self._lock:
            if keepalive:
                self._own[node.id] = (node, ttl_s)
                self._keep_alive(ttl_s)
            else:
                self._own.pop(node.id, None)

    def renew(self, node_id: str) -> bool:
        return self._shared.leases.renew(node_id)

    def deregister(self, node_id: str) -> None:
        with self._lock:
            self._own.pop(node_id, None)
        self._shared.leases.deregister(node_id)

    def members(self) -> list[NodeInfo]:
        return self._shared.leases.members()

    def watch_members(self, callback: Callable[[list[NodeInfo]], None]) -> Unsubscribe:
        return self._track(self._shared.leases.member_watchers.subscribe(callback))

    # election -------------------------------------------------------------------------------------------

    def campaign(self, node_id: str, ttl_s: float) -> bool:
        if self._suspended:
            return False  # a paused process campaigns no more than it renews
        term = self._shared.leases.campaign(node_id, ttl_s)
        if term is None:
            return False
        with self._lock:
            self._term = term
            self._keep_alive(ttl_s)
        return True

    def leader(self) -> str | None:
        return self._shared.leases.leader()

    def watch_leader(self, callback: Callable[[str | None], None]) -> Unsubscribe:
        return self._track(self._shared.leases.leader_watchers.subscribe(callback))

    def resign(self) -> None:
        with self._lock:
            term, self._term = self._term, None
        if term is not None:
            self._shared.leases.resign(term)

    # background -----------------------------------------------------------------------------------------

    def _keep_alive(self, ttl_s: float) -> None:
        period = max(0.05, ttl_s / 3)
        if self._keepalive is None:
            self._keepalive = Keepalive("local-store-keepalive", self._renew_own, period)
            if self._suspended:
                self._keepalive.suspend()
        else:
            self._keepalive.period_s = min(self._keepalive.period_s, period)

    def _renew_own(self) -> None:
        with self._lock:
            own, term = list(self._own.values()), self._term
        for node, ttl_s in own:
            if not self._shared.leases.renew(node.id):
                self._shared.leases.register(node, ttl_s)  # lapsed while paused: it is alive again
        if term is not None:
            self._shared.leases.renew_master(term)

    def suspend_keepalive(self) -> None:
        """Stop renewing (registrations and lease) as a SIGSTOPped process would; for tests."""
        self._suspended = True
        if self._keepalive is not None:
            self._keepalive.suspend()

    def resume_keepalive(self) -> None:
        self._suspended = False
        if self._keepalive is not None:
            self._keepalive.resume()

    def _track(self, unsubscribe: Unsubscribe) -> Unsubscribe:
        self._unsubscribes.append(unsubscribe)
        return unsubscribe

    def close(self) -> None:
        """Ends this handle's keepalive, registrations, lease and watchers; the last handle's close ends the
        store's background work (its lease reaper)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            own, self._own = list(self._own), {}
        if self._keepalive is not None:
            self._keepalive.close()
            self._keepalive = None
        for node_id in own:
            self._shared.leases.deregister(node_id)
        self.resign()
        for unsubscribe in self._unsubscribes:
            unsubscribe()
        self._unsubscribes.clear()
        with self._shared.lock:
            self._shared.handles -= 1
            last = self._shared.handles == 0
        if last:
            self._shared.leases.close()
            self._shared.state_watchers.close()


def store_from_url(url: str, data_dir: str, cluster_name: str) -> ClusterStateStore:
    """The store ``--state-store`` names: ``local`` (the file under ``data_dir``) or ``etcd://h:p,h:p,h:p``
    (the etcd members, keys under ``/quidditch/<cluster_name>/``)."""
    if url == "local":
        return LocalStateStore(data_dir)
    if url.startswith("etcd://"):
        from cluster.etcd_store import EtcdStateStore, parse_etcd_url

        return EtcdStateStore(parse_etcd_url(url), cluster_name)
    raise IllegalArgument(f"unknown state store [{url}]: expected [local] or [etcd://host:port,...]")
