"""Fault hooks ("failpoints", as etcd's gofail and TiKV's fail-rs have them) at the steps where a crash matters.

Code marks a step with ``failpoint("shard.after_commit")``. Nothing happens unless the environment variable
``QUIDDITCH_FAILPOINTS`` (read once, at import) names the point::

    QUIDDITCH_FAILPOINTS="shard.after_commit=crash;cluster_state.after_tmp_write=2*off->error"

A point's value is a chain of terms ``[<count>*]<action>`` joined by ``->``: each term acts for ``count``
hits (forever without a count), then the next one takes over; past the last term the point is off. Actions:

- ``off``: nothing (with a count: let the first hits pass);
- ``crash``: ``SIGKILL`` this process at once (no cleanup, no flush: what a power cut leaves of the
  process, with the page cache kept);
- ``term``: ``SIGTERM`` this process (the orderly shutdown path), then go on;
- ``error``: raise ``OSError(EIO)`` from the step, as a failing disk would;
- ``sleep(<ms>)``: wait, to widen a window for a test.

Disabled, a point costs one dict lookup (the write path calls one per batch). ``configure`` replaces the
table in-process (tests). The points in the code base (``POINTS``) are listed so a test or an operator can
see them; naming an unknown point is an error, so a typo cannot pass silently as "survived the crash".
"""

from __future__ import annotations

import errno
import os
import re
import signal
import threading
import time
from dataclasses import dataclass

ENV = "QUIDDITCH_FAILPOINTS"

# Every failpoint in the code base, and the step it marks.
POINTS: dict[str, str] = {
    "shard.new_after_state": "a new shard's first state.json is written, its tantivy index not yet created",
    "shard.after_wal_fsync": "a write batch's WAL records are fsynced, not yet handed to the applier",
    "shard.after_commit": "a refresh's tantivy commit is done, state.json not yet written",
    "shard.after_state_write": "a refresh's state.json is written, the sealed WAL generations not yet dropped",
    "rebuild.after_copy": "a mapping rebuild's new generation is committed, not yet swapped in",
    "rebuild.after_swap": "a background mapping rebuild swapped writer and index, state.json not yet written",
    "rebuild.after_state_write": "a mapping rebuild's state.json names the new generation, the old one remains",
    "merge.after_copy": "a force merge's new generation is committed, not yet swapped in",
    "merge.after_swap": "a force merge swapped writer and index, state.json not yet written",
    "merge.after_state_write": "a force merge's state.json names the new generation, the old one remains",
    "cluster_state.after_tmp_write": "the cluster state's temporary file is fsynced, not yet renamed",
    "cluster_state.after_rename": "the cluster state file is renamed into place, its directory not yet fsynced",
    "node.after_first_shard": "a new index's first shard is made (directory and state), its others not yet",
    "node.before_remove": "a deleted index's shards are closed, none of its files removed",
    "node.mid_remove": "a deleted index's first shard directory is removed, its other files not yet",
}
# Around the master's cluster state save, one pair per kind of change (``cluster.state.change_kinds``):
# before it (validated, not saved) and after it (saved, not yet applied: no shard directory made or removed,
# no shard told of a new mapping).
_CHANGES = ("create_index", "delete_index", "mapping", "aliases", "settings", "templates")
POINTS.update({f"master.before_save.{kind}": f"a {kind} change is validated, its cluster state not yet saved"
               for kind in _CHANGES})  # fmt: skip
POINTS.update({f"master.after_save.{kind}": f"a {kind} change's cluster state is saved, not yet applied"
               for kind in _CHANGES})  # fmt: skip

_TERM = re.compile(r"^(?:(\d+)\*)?(off|crash|term|error|sleep\((\d+)\))$")


@dataclass(slots=True)
class _Term:
    action: str
    count: int | None  # hits left; None: forever
    sleep_ms: int = 0


_table: dict[str, list[_Term]] = {}
_lock = threading.Lock()


def parse(spec: str) -> dict[str, list[_Term]]:
    """``name=term->term;name=...`` (``;`` or ``,`` between points) → the failpoint table."""
    table: dict[str, list[_Term]] = {}
    for item in re.split(r"[;,]", spec):
        item = item.strip()
        if not item:
            continue
        name, sep, chain = item.partition("=")
        name = name.strip()
        if not sep or name not in POINTS:
            raise ValueError(f"unknown failpoint [{name}] in {ENV} (known: {', '.join(sorted(POINTS))})")
        terms = []
        for raw in chain.split("->"):
            match = _TERM.match(raw.strip())
            if match is None:
                raise ValueError(f"bad failpoint action [{raw.strip()}] for [{name}] in {ENV}")
            count = int(match.group(1)) if match.group(1) else None
            action = match.group(2).split("(", 1)[0]
            terms.append(_Term(action, count, int(match.group(3) or 0)))
        table[name] = terms
    return table


def configure(spec: str) -> None:
    """Replace the failpoint table (the environment variable's syntax; "" turns every point off)."""
    global _table
    with _lock:
        _table = parse(spec)


def active() -> bool:
    """Whether any failpoint is set (callers skip work that only names points)."""
    return bool(_table)


def failpoint(name: str) -> None:
    """Act as the failpoint table says for ``name``: by default nothing."""
    if name not in _table:
        return
    with _lock:
        terms = _table.get(name)
        while terms and terms[0].count == 0:
            terms.pop(0)
        if not terms:
            return
        term = terms[0]
        if term.count is not None:
            term.count -= 1
    _act(name, term)


def _act(name: str, term: _Term) -> None:
    if term.action == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(10)  # the signal is delivered at once; never go on past a crash point
    elif term.action == "term":
        os.kill(os.getpid(), signal.SIGTERM)
    elif term.action == "error":
        raise OSError(errno.EIO, f"failpoint [{name}]")
    elif term.action == "sleep":
        time.sleep(term.sleep_ms / 1000)


configure(os.environ.get(ENV, ""))
