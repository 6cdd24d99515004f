"""In-process membership and master lease: what etcd's leases give ``EtcdStateStore``, for ``LocalStateStore``.

One ``LeaseTable`` serves every handle of one local store. Members and the master lease carry a TTL and a
deadline; whoever holds them renews them (a handle's ``Keepalive`` for its own registrations, the master's
coordination service for remote nodes whose heartbeats arrive). A reaper thread drops what was not
renewed in time and tells the watchers, so a node that stops heartbeating leaves within its TTL plus the
reaper's wake-up (it wakes exactly at the earliest deadline). Reads expire lazily too, so nothing ever
reports an entry past its deadline.

The master lease is numbered: every win gets a new ``term``. A handle remembers the term it won and asks
``holds(term)`` before saving; once its lease lapsed (or was resigned, or another node won) the answer is
no, whatever the handle still believes. That is the fencing etcd's create revision gives the etcd store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cluster.state import NodeInfo
from cluster.subscribers import Subscribers

Clock = Callable[[], float]


@dataclass
class _Member:
    node: NodeInfo
    ttl_s: float
    deadline: float


@dataclass
class _MasterLease:
    node_id: str
    term: int
    ttl_s: float
    deadline: float


class LeaseTable:
    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._members: dict[str, _Member] = {}
        self._master: _MasterLease | None = None
        self._term = 0
        self._closed = False
        self._reaper: threading.Thread | None = None
        self.member_watchers: Subscribers[list[NodeInfo]] = Subscribers("members")
        self.leader_watchers: Subscribers[str | None] = Subscribers("leader")
        self.member_watchers.publish([])
        self.leader_watchers.publish(None)

    # membership -----------------------------------------------------------------------------------------

    def register(self, node: NodeInfo, ttl_s: float) -> None:
        with self._cond:
            self._expire()
            previous = self._members.get(node.id)
            self._members[node.id] = _Member(node, ttl_s, self._clock() + ttl_s)
            if previous is None or previous.node != node:
                self._publish_members()
            self._wake()

    def renew(self, node_id: str) -> bool:
        with self._cond:
            self._expire()
            member = self._members.get(node_id)
            if member is None:
                return False
            member.deadline = self._clock() + member.ttl_s
            return True

    def deregister(self, node_id: str) -> None:
        with self._cond:
            if self._members.pop(node_id, None) is not None:
                self._publish_members()

    def members(self) -> list[NodeInfo]:
        with self._cond:
            self._expire()
            return [self._members[k].node for k in sorted(self._members)]

    # election -------------------------------------------------------------------------------------------

    def campaign(self, node_id: str, ttl_s: float) -> int | None:
        """The term won, or None when another node holds a live lease. A holder campaigning again keeps
        its term (and renews)."""
        with self._cond:
            self._expire()
            if self._master is not None:
                if self._master.node_id != node_id:
                    return None
                self._master.deadline = self._clock() + self._master.ttl_s
                return self._master.term
            self._term += 1
            self._master = _MasterLease(node_id, self._term, ttl_s, self._clock() + ttl_s)
            self.leader_watchers.publish(node_id)
            self._wake()
            return self._term

    def renew_master(self, term: int) -> bool:
        with self._cond:
            self._expire()
            if self._master is None or self._master.term != term:
                return False
            self._master.deadline = self._clock() + self._master.ttl_s
            return True

    def holds(self, term: int) -> bool:
        with self._cond:
            self._expire()
            return self._master is not None and self._master.term == term

    def resign(self, term: int) -> None:
        with self._cond:
            if self._master is not None and self._master.term == term:
                self._master = None
                self.leader_watchers.publish(None)

    def leader(self) -> str | None:
        with self._cond:
            self._expire()
            return self._master.node_id if self._master is not None else None

    def contested(self) -> bool:
        """Whether anyone ever campaigned (then only the holder may save)."""
        with self._cond:
            return self._term > 0

    # expiry ---------------------------------------------------------------------------------------------

    def _expire(self) -> None:
        now = self._clock()
        dead = [k for k, m in self._members.items() if m.deadline <= now]
        for k in dead:
            del self._members[k]
        if dead:
            self._publish_members()
        if self._master is not None and self._master.deadline <= now:
            self._master = None
            self.leader_watchers.publish(None)

    def _publish_members(self) -> None:
        self.member_watchers.publish([self._members[k].node for k in sorted(self._members)])

    def _wake(self) -> None:
        if self._reaper is None and not self._closed:
            self._reaper = threading.Thread(target=self._reap, name="lease-reaper", daemon=True)
            self._reaper.start()
        self._cond.notify_all()

    def _reap(self) -> None:
        with self._cond:
            while not self._closed:
                self._expire()
                deadlines = [m.deadline for m in self._members.values()]
                if self._master is not None:
                    deadlines.append(self._master.deadline)
                timeout = max(0.0, min(deadlines) - self._clock()) + 0.01 if deadlines else None
                self._cond.wait(timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._reaper is not None:
            self._reaper.join(5.0)
        self.member_watchers.close()
        self.leader_watchers.close()


class Keepalive:
    """Calls ``renew`` every ``period_s`` on a thread until closed; ``suspend``/``resume`` stop and restart
    the renewals without ending the thread (a test's stand-in for a SIGSTOPped or GC-paused process)."""

    def __init__(self, name: str, renew: Callable[[], None], period_s: float) -> None:
        self._renew = renew
        self.period_s = period_s
        self._stop = threading.Event()
        self._suspended = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            if not self._suspended.is_set():
                self._renew()

    def suspend(self) -> None:
        self._suspended.set()

    def resume(self) -> None:
        self._suspended.clear()

    def close(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(5.0)
