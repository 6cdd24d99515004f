"""A kill at any moment restarts into a consistent node (issue #9, outcome 2).

Real server processes (``ServerProcess``), killed on purpose:

- at every failpoint (``native.failpoints``: ``QUIDDITCH_FAILPOINTS=<point>=crash``) while the operation that
  passes it runs; the next start (armed with the next point, which its own checks cannot reach) checks that
  every acknowledged write is there with its content and that indices, aliases and templates are as
  acknowledged;
- at random moments (SIGKILL and SIGTERM) during a concurrent bulk load whose documents sometimes add a new
  field (a mapping rebuild, in the background past ``QUIDDITCH_ONLINE_REBUILD_DOCS``), and during refreshes and
  force merges;
- right after the 201 of a document that adds a field to a large index (the background rebuild runs): the
  case that left a node that never started.

``Ledger`` tracks what the server acknowledged (every 200/201 item, exactly) and what it may have applied
(requests whose answer was lost in the kill); a check accepts only those states.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import tantivy

from native import failpoints
from native.analysis import Analysis
from native.failpoints import POINTS
from native.mapping import Mapping
from native.schema import CompiledMapping
from native.shard import Shard
from native.writes import WriteOp
from tests import conftest
from tests.conftest import SLOW_TIER, ServerProcess, tier

FP = "QUIDDITCH_FAILPOINTS"
REBUILD_DOCS = 150  # the background-rebuild threshold of the servers here (production: 20,000)
BASE_ENV = {"QUIDDITCH_ONLINE_REBUILD_DOCS": str(REBUILD_DOCS)}
NDJSON = {"content-type": "application/x-ndjson"}
_ABSENT = object()

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _patient_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restarts here replay WALs and rebuild indices on a machine other jobs share: allow them 90 s."""
    monkeypatch.setattr(conftest, "START_TIMEOUT", 90.0)


@dataclass
class _Doc:
    acked: Any = _ABSENT  # the acknowledged source (None: deleted), _ABSENT: never acknowledged
    maybe: list[Any] = field(default_factory=list)  # sources sent since, whose answers were lost


class Ledger:
    """Acknowledged and possibly-applied documents and metadata; ``check`` compares a server against it."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, _Doc]] = {}
        self.meta: dict[str, bool | None] = {}  # "index:x", "alias:a@x", "template:t" → present / either
        self.fields: dict[str, set[str]] = {}  # index → new fields some acknowledged document added
        self.lock = threading.Lock()
        self.acked_ops = 0
        self.checked = 0

    def _doc(self, index: str, doc_id: str) -> _Doc:
        return self.docs.setdefault(index, {}).setdefault(doc_id, _Doc())

    def sent(self, index: str, doc_id: str, source: Any) -> None:
        with self.lock:
            self._doc(index, doc_id).maybe.append(source)

    def acked(self, index: str, doc_id: str, source: Any) -> None:
        with self.lock:
            doc = self._doc(index, doc_id)
            doc.acked, doc.maybe = source, []
            self.acked_ops += 1

    def bulk(self, client: httpx.Client, index: str, ops: list[tuple[str, str, Any]]) -> bool:
        """``ops`` (action, id, source) as one ``_bulk``; False when the answer was lost (the server died)."""
        lines = []
        for action, doc_id, source in ops:
            lines.append(orjson.dumps({action: {"_index": index, "_id": doc_id}}))
            if action != "delete":
                lines.append(orjson.dumps(source))
            self.sent(index, doc_id, None if action == "delete" else source)
        try:
            response = client.post("/_bulk", content=b"\n".join(lines) + b"\n", headers=NDJSON)
        except httpx.HTTPError:
            return False
        assert response.status_code == 200, response.text
        for (action, doc_id, source), item in zip(ops, response.json()["items"], strict=True):
            status = item[action]["status"]
            if action == "delete" and status in (200, 404):
                self.acked(index, doc_id, None)
            elif status in (200, 201):
                self.acked(index, doc_id, source)
                with self.lock:
                    self.fields.setdefault(index, set()).update(k for k in source if k.startswith("nf"))
        return True

    def check_docs(self, client: httpx.Client, index: str, *, refresh: bool) -> None:
        """Every document of ``index`` is in an allowed state (GET, realtime); with ``refresh``, searches
        count exactly the documents GET finds, and every new field is searchable."""
        docs = self.docs.get(index, {})
        ids = sorted(docs)
        present: dict[str, Any] = {}
        for lo in range(0, len(ids), 1000):
            response = client.post(f"/{index}/_mget", json={"ids": ids[lo : lo + 1000]})
            assert response.status_code == 200, response.text
            for hit in response.json()["docs"]:
                doc = docs[hit["_id"]]
                got = hit["_source"] if hit.get("found") else None
                allowed = [doc.acked, *doc.maybe] if doc.acked is not _ABSENT else [None, *doc.maybe]
                assert got in allowed, f"{index}/{hit['_id']}: {got!r} not in {allowed!r} (lost or phantom)"
                if doc.acked is not _ABSENT:
                    self.checked += 1
                doc.acked, doc.maybe = got, []
                if got is not None:
                    present[hit["_id"]] = got
        if not refresh:
            return
        assert client.post(f"/{index}/_refresh").status_code == 200
        count = client.post(f"/{index}/_count").json()["count"]
        assert count == len(present), f"{index}: search counts {count}, GET finds {len(present)}"
        for name in sorted(self.fields.get(index, ()))[-5:]:
            want = sum(1 for source in present.values() if name in source)
            body = {"query": {"match": {name: "v"}}}
            got = client.post(f"/{index}/_count", json=body).json()["count"]
            assert got == want, f"{index}: {got} documents match the new field {name}, {want} hold it"

    def expect(self, key: str, present: bool | None) -> None:
        self.meta[key] = present

    def check_meta(self, client: httpx.Client) -> None:
        aliases = client.get("/_alias").json()
        for key, want in self.meta.items():
            kind, _, name = key.partition(":")
            if kind == "index":
                got = client.head(f"/{name}").status_code == 200
            elif kind == "alias":
                alias, _, index = name.partition("@")
                got = alias in aliases.get(index, {}).get("aliases", {})
            else:
                got = client.get(f"/_index_template/{name}").status_code == 200
            assert want is None or got == want, f"{key}: present={got}, acknowledged {want}"
            self.meta[key] = got


def _call(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
    try:
        return client.request(method, url, **kwargs)
    except httpx.HTTPError:
        return None


def _died(proc: ServerProcess, timeout: float = 30.0) -> int:
    """Wait for the server to exit (it passed its failpoint); its exit code."""
    assert proc.proc is not None
    code = proc.proc.wait(timeout=timeout)
    proc.kill()  # closes the log
    return code


def _docs(prefix: str, lo: int, hi: int, extra: dict[str, Any] | None = None) -> list[tuple[str, str, Any]]:
    return [("index", f"{prefix}{i}", {"n": i, "t": f"word{i % 7} text", **(extra or {})}) for i in range(lo, hi)]


# -- in process: the open order ---------------------------------------------------------------------------

_BASE = {"properties": {"n": {"type": "long"}}}
_WITH_TEXT = {"properties": {"n": {"type": "long"}, "color": {"type": "text", "fields": {"raw": {"type": "keyword"}}}}}


def _shard(path: Path, mapping: dict[str, Any]) -> Shard:
    return Shard(str(path), Mapping(mapping), Analysis.from_settings({}), index_name="t")


def _matches(shard: Shard, field_name: str, value: str) -> int:
    _, searcher, compiled = shard.view()
    info = compiled.field(field_name)
    assert info is not None, field_name
    return int(searcher.search(tantivy.Query.term_query(compiled.schema, info.tantivy_name, value), 1).count)


@pytest.mark.parametrize("same_fingerprint", [False, True])
def test_a_generation_with_another_schema_is_opened_with_its_own_and_rebuilt(
    tmp_path: Path, same_fingerprint: bool
) -> None:
    """A shard whose generation was built under an earlier mapping (the kill between a mapping change and its
    rebuild), or whose schema differs although state.json says it matches (a version that compiled the
    mapping differently), opens and is rebuilt to the mapping it is given; committed and WAL-only documents
    are all there and searchable on the new field."""
    shard = _shard(tmp_path, _BASE)
    ops = [WriteOp("index", str(i), orjson.dumps({"n": i, "color": "red" if i % 2 else "blue"})) for i in range(30)]
    shard.write(ops[:20])
    shard.refresh()
    shard.write(ops[20:])  # in the WAL only
    shard._applier.stop(discard=True)  # a crash: no refresh, no state write
    shard.wal.close()
    shard.writer.wait_merging_threads()
    if same_fingerprint:
        state = orjson.loads((tmp_path / "state.json").read_bytes())
        state["fingerprint"] = Shard._fingerprint(CompiledMapping(Mapping(_WITH_TEXT), Analysis.from_settings({})))
        (tmp_path / "state.json").write_bytes(orjson.dumps(state))
    reopened = _shard(tmp_path, _WITH_TEXT)
    try:
        assert reopened.num_docs() == 30
        assert _matches(reopened, "color", "red") == 15
        assert _matches(reopened, "color.raw", "blue") == 15
        stored = reopened.get("25")
        assert stored is not None and orjson.loads(stored.source or b"") == {"n": 25, "color": "red"}
        assert sorted(p for p in os.listdir(tmp_path) if p.startswith("index.")) == [f"index.{reopened.generation}"]
    finally:
        reopened.close()


def test_failpoint_specs() -> None:
    """Counts, chains and the error action in process; unknown points and actions are refused; a disabled
    point costs well under a microsecond."""
    try:
        failpoints.configure("shard.after_commit=2*off->1*error")
        failpoints.failpoint("shard.after_commit")
        failpoints.failpoint("shard.after_commit")
        with pytest.raises(OSError, match="failpoint"):
            failpoints.failpoint("shard.after_commit")
        failpoints.failpoint("shard.after_commit")
        failpoints.failpoint("merge.after_copy")  # not armed
        with pytest.raises(ValueError, match="unknown failpoint"):
            failpoints.configure("shard.after_comit=crash")
        with pytest.raises(ValueError, match="bad failpoint action"):
            failpoints.configure("shard.after_commit=explode")
    finally:
        failpoints.configure("")
    assert not failpoints.active()
    start = time.perf_counter()
    for _ in range(100_000):
        failpoints.failpoint("shard.after_wal_fsync")
    assert (time.perf_counter() - start) / 100_000 < 2e-6


# -- the failpoint chain -------------------------------------------------------------------------------------


@dataclass
class Step:
    point: str
    run: Callable[[httpx.Client, Ledger], None]  # the operation that passes the point (the server dies in it)
    at_start: bool = False  # the point is passed while the server starts (a rebuild in the recovery)
    slow_only: bool = False  # the point is also covered by another step: only the slow tier runs this one


def _bulk_then(call: tuple[str, str]) -> Callable[[httpx.Client, Ledger], None]:
    def run(client: httpx.Client, ledger: Ledger) -> None:
        n = len(ledger.docs.get("big", {}))
        assert ledger.bulk(client, "big", _docs("b", n, n + 40))
        _call(client, *call)

    return run


def _bulk_dies(client: httpx.Client, ledger: Ledger) -> None:
    n = len(ledger.docs.get("big", {}))
    assert not ledger.bulk(client, "big", _docs("b", n, n + 40))


def _new_field(index: str, name: str, *, wait: bool) -> Callable[[httpx.Client, Ledger], None]:
    """A document adding field ``name`` (``wait``: then more writes until the background rebuild kills)."""

    def run(client: httpx.Client, ledger: Ledger) -> None:
        ledger.bulk(client, index, [("index", f"{name}-doc", {"n": -1, "t": "x", name: "v"})])
        deadline = time.monotonic() + 20
        i = 0
        while wait and time.monotonic() < deadline:
            if not ledger.bulk(client, index, _docs(f"{name}-", i, i + 5)):
                return
            i += 5
            time.sleep(0.05)

    return run


def _forcemerge(client: httpx.Client, ledger: Ledger) -> None:
    """A deleted document (so the merge has work), then a force merge the server dies in."""
    victim = next(doc_id for doc_id, doc in ledger.docs["big"].items() if isinstance(doc.acked, dict))
    assert ledger.bulk(client, "big", [("delete", victim, None)])
    _call(client, "POST", "/big/_refresh")
    _call(client, "POST", "/big/_forcemerge?max_num_segments=1")


def _meta_op(key: str, after: bool, method: str, url: str, body: Any = None) -> Callable[[httpx.Client, Ledger], None]:
    """A metadata change the server dies in: ``key`` is present after the restart exactly when ``after``
    (the point is before or after the cluster state save)."""

    def run(client: httpx.Client, ledger: Ledger) -> None:
        response = _call(client, method, url, json=body)
        assert response is None, f"{method} {url} answered {response.status_code if response else ''}"
        ledger.expect(key, after)
        if key.startswith("index:") and not after:
            ledger.docs.pop(key[6:], None)

    return run


def _steps() -> list[Step]:
    alias = {"actions": [{"add": {"index": "big", "alias": "al"}}]}
    template = {"index_patterns": ["tpl-*"], "template": {"settings": {"number_of_shards": 1}}}
    three = {"settings": {"number_of_shards": 3, "number_of_replicas": 0},
             "mappings": {"properties": {"n": {"type": "long"}}}}  # fmt: skip
    # Ordered so that no start passes the point armed for it before its operation: a shard point follows a
    # metadata change (nothing to replay, and the checks do not refresh), a rebuild point never follows a
    # kill that leaves a rebuild for the next start (except where that is the point: ``at_start``), and a new
    # shard's point never follows a kill that leaves shards for the next start to create.
    return [
        Step("shard.after_wal_fsync", _bulk_dies),
        Step("master.before_save.aliases", _meta_op("alias:al@big", False, "POST", "/_aliases", alias)),
        Step("shard.after_commit", _bulk_then(("POST", "/big/_refresh"))),
        Step("master.after_save.aliases", _meta_op("alias:al@big", True, "POST", "/_aliases", alias)),
        Step("shard.after_state_write", _bulk_then(("POST", "/big/_refresh"))),
        Step("master.before_save.templates", _meta_op("template:t1", False, "PUT", "/_index_template/t1", template)),
        # mapping rebuilds: in the call for "small", in the background for "big" (> REBUILD_DOCS documents)
        Step("rebuild.after_copy", _new_field("small", "nf1", wait=False), slow_only=True),
        Step("master.after_save.templates", _meta_op("template:t2", True, "PUT", "/_index_template/t2", template)),
        Step("rebuild.after_state_write", _new_field("small", "nf2", wait=False)),
        Step("rebuild.after_copy", _new_field("big", "nf3", wait=True)),
        Step("merge.after_copy", _forcemerge),
        Step("rebuild.after_swap", _new_field("big", "nf4", wait=True)),
        Step("merge.after_swap", _forcemerge),
        Step("rebuild.after_state_write", _new_field("big", "nf5", wait=True)),
        # the cluster state has the field, the shard was not told: the next start rebuilds, and dies in that
        Step("master.after_save.mapping", _new_field("big", "nf6", wait=False)),
        Step("rebuild.after_copy", lambda client, ledger: None, at_start=True),
        Step("merge.after_state_write", _forcemerge),
        Step("cluster_state.after_tmp_write", _meta_op("index:c1", False, "PUT", "/c1", three)),
        Step("shard.new_after_state", _meta_op("index:c5", True, "PUT", "/c5", three)),
        Step("cluster_state.after_rename", _meta_op("index:c2", True, "PUT", "/c2", three)),
        Step("master.after_save.create_index", _meta_op("index:c3", True, "PUT", "/c3", three)),
        Step("node.after_first_shard", _meta_op("index:c4", True, "PUT", "/c4", three)),
        Step("master.before_save.delete_index", _meta_op("index:c1x", True, "DELETE", "/c1x")),
        Step("master.after_save.delete_index", _meta_op("index:c2", False, "DELETE", "/c2")),
        Step("node.before_remove", _meta_op("index:c3", False, "DELETE", "/c3")),
        Step("node.mid_remove", _meta_op("index:c4", False, "DELETE", "/c4")),
    ]


def _check(client: httpx.Client, ledger: Ledger, data_dir: str, *, refresh: bool) -> None:
    ledger.check_meta(client)
    for index in list(ledger.docs):
        ledger.check_docs(client, index, refresh=refresh)
    # every index that exists takes writes on all its shards; a deleted one leaves no directory behind
    indices = client.get("/_all/_settings").json()
    live = {settings["settings"]["index"]["uuid"] for settings in indices.values()}
    on_disk = set(os.listdir(os.path.join(data_dir, "indices")))
    assert on_disk == live, f"index directories {sorted(on_disk)} for indices {sorted(live)}"
    for name in sorted(indices):
        if name.startswith("c") and name not in ledger.docs:
            ops = [("index", f"{name}-{i}", {"n": i}) for i in range(12)]  # lands on each of 3 shards
            assert ledger.bulk(client, name, ops)
            ledger.check_docs(client, name, refresh=refresh)


def test_every_failpoint_restarts_consistent(tmp_path: Path) -> None:
    """Each step: start with its point armed, check everything so far, run the operation, die at the point."""
    steps = [step for step in _steps() if SLOW_TIER or not step.slow_only]
    missing = {p for p in POINTS if not p.startswith("master.")} - {s.point for s in steps}
    assert not missing, f"failpoints without a crash test: {sorted(missing)}"
    ledger = Ledger()
    data = str(tmp_path / "data")
    proc = ServerProcess(data, env=BASE_ENV).start()
    client = httpx.Client(base_url=proc.url, timeout=30)
    try:
        settings = {"settings": {"number_of_shards": 1, "number_of_replicas": 0}}
        for name in ("big", "small", "c1x"):
            assert client.put(f"/{name}", json=settings).status_code == 200
            ledger.expect(f"index:{name}", True)
        assert ledger.bulk(client, "big", _docs("b", 0, REBUILD_DOCS + 50))
        assert ledger.bulk(client, "small", _docs("s", 0, 20))
        assert ledger.bulk(client, "c1x", _docs("x", 0, 5))
        proc.stop()
        t0 = time.monotonic()
        for step in steps:
            print(f"\n[crash step] {step.point} at {time.monotonic() - t0:.1f} s", end=" ", flush=True)
            proc.extra_env = {**BASE_ENV, FP: f"{step.point}=crash"}
            if step.at_start:
                with pytest.raises(RuntimeError, match="exited with -9"):
                    proc.start()
                continue
            started = time.monotonic()
            proc.start()
            print(f"(started in {time.monotonic() - started:.1f} s)", flush=True)
            # shard points are passed by refreshes: the checks then read through realtime GETs only
            _check(client, ledger, data, refresh=not step.point.startswith("shard."))
            step.run(client, ledger)
            assert _died(proc) == -9, f"{step.point}: the server did not die there"
        proc.extra_env = dict(BASE_ENV)
        proc.start()
        _check(client, ledger, data, refresh=True)
        print(f"\nfailpoints: {len(steps)} kills, {ledger.acked_ops} acknowledged writes, "
              f"{ledger.checked} acknowledged document states checked, 0 lost")  # fmt: skip
    finally:
        client.close()
        proc.stop()


# -- random kills ------------------------------------------------------------------------------------------


def _loader(url: str, ledger: Ledger, index: str, worker: int, rng: random.Random, stop: threading.Event,
            trial: int) -> None:  # fmt: skip
    """Bulk batches of index/update/delete over 400 ids of its own; now and then a document adds a field."""
    with httpx.Client(base_url=url, timeout=30) as client:
        batch = 0
        while not stop.is_set():
            ops: list[tuple[str, str, Any]] = []
            for _ in range(rng.randint(5, 60)):
                i = rng.randrange(400)
                doc_id = f"w{worker}-{i}"
                if rng.random() < 0.1:
                    ops.append(("delete", doc_id, None))
                else:
                    ops.append(("index", doc_id, {"n": i, "t": f"word{i % 7} text", "trial": trial}))
            if rng.random() < 0.15:  # a new field: a mapping change and a rebuild (in the background past 150)
                ops[-1] = ("index", ops[-1][1], {"n": -1, "t": "new", f"nf{trial}_{worker}_{batch}": "v"})
            batch += 1
            if not ledger.bulk(client, index, ops):
                return


def _merger(url: str, index: str, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            if _call(client, "POST", f"/{index}/_refresh") is None:
                return
            if _call(client, "POST", f"/{index}/_forcemerge?max_num_segments=1") is None:
                return


def test_random_kills_during_bulk_refresh_and_forcemerge(tmp_path: Path) -> None:
    """SIGKILL or SIGTERM at a random moment of a concurrent bulk load (with new fields now and then), or of a
    load with refreshes and force merges; each restart holds every acknowledged write."""
    trials = tier(10, 50)
    seed = int(os.environ.get("QUIDDITCH_SEED", str(time.time_ns() % 1_000_000)))
    rng = random.Random(seed)
    print(f"\nrandom kills: seed {seed} (QUIDDITCH_SEED={seed} repeats this run)", flush=True)
    ledger = Ledger()
    data = str(tmp_path / "data")
    proc = ServerProcess(data, env=BASE_ENV).start()
    client = httpx.Client(base_url=proc.url, timeout=30)
    kinds = {"kill-bulk": 0, "term-bulk": 0, "kill-merge": 0}
    try:
        body = {"settings": {"number_of_shards": 1, "number_of_replicas": 0}}
        assert client.put("/load", json=body).status_code == 200
        for trial in range(trials):
            kind = list(kinds)[trial % 3]
            kinds[kind] += 1
            stop = threading.Event()
            threads = [threading.Thread(target=_loader, args=(proc.url, ledger, "load", w, random.Random(rng.random()),
                                                              stop, trial)) for w in range(2)]  # fmt: skip
            if kind == "kill-merge":
                threads[1] = threading.Thread(target=_merger, args=(proc.url, "load", stop))
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.2, 0.9))
            assert proc.proc is not None
            if kind == "term-bulk":
                proc.proc.terminate()
                assert proc.proc.wait(timeout=60) == 0, f"seed {seed}: SIGTERM did not stop cleanly"
            else:
                proc.proc.kill()
            proc.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            proc.start()
            ledger.check_docs(client, "load", refresh=True)
        print(f"\nrandom kills (seed {seed}): {trials} trials {kinds}, {ledger.acked_ops} acknowledged writes, "
              f"{ledger.checked} acknowledged document states checked, 0 lost")  # fmt: skip
    finally:
        client.close()
        proc.stop()


# -- the reported case -------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["kill", "term"][: tier(1, 2)])  # CI: SIGTERM is in the random trials
def test_a_kill_right_after_a_new_field_on_a_large_index(tmp_path: Path, how: str) -> None:
    """The reported case: 25,000 documents, a document that adds a field → 201, SIGKILL (or a plain SIGTERM)
    at once, while the background rebuild (20,000+ documents) runs: every restart used to die with "An index
    exists but the schema does not match"."""
    docs = 25_000
    proc = ServerProcess(tmp_path / "data").start()
    client = httpx.Client(base_url=proc.url, timeout=60)
    try:
        body = {"settings": {"number_of_shards": 1, "number_of_replicas": 0}}
        assert client.put("/r", json=body).status_code == 200
        for lo in range(0, docs, 5_000):
            lines = []
            for i in range(lo, min(lo + 5_000, docs)):
                lines += [b'{"index":{"_id":"%d"}}' % i, orjson.dumps({"n": i, "t": f"word{i % 7}"})]
            response = client.post("/r/_bulk", content=b"\n".join(lines) + b"\n", headers=NDJSON)
            assert response.status_code == 200 and not response.json()["errors"]
        assert client.post("/r/_refresh").status_code == 200
        assert client.put("/r/_doc/x", json={"newfield": "v"}).status_code == 201
        proc.restart(kill=how == "kill")
        assert client.get("/r/_doc/x").json()["_source"] == {"newfield": "v"}
        assert client.get("/r/_doc/17").json()["_source"] == {"n": 17, "t": "word3"}
        assert client.post("/r/_refresh").status_code == 200
        assert client.post("/r/_count").json()["count"] == docs + 1
        match = client.post("/r/_count", json={"query": {"match": {"newfield": "v"}}}).json()
        assert match["count"] == 1
        assert client.post("/r/_count", json={"query": {"term": {"t": "word3"}}}).json()["count"] == len(
            range(3, docs, 7)
        )
    finally:
        client.close()
        proc.stop()
