"""No acknowledged write lost, with real processes: ``number_of_replicas: 1`` on three data nodes, SIGKILL one
during continuous bulk indexing. A replica is promoted (primary term + 1), every acknowledged document is there
with its content, searches meanwhile answer 200 (complete, or with ``_shards.failures``) within their timeout,
``if_seq_no``/``if_primary_term`` stay correct, and the killed node, restarted, recovers its copies until health
is green again. Trials: 3 (``QUIDDITCH_SLOW=1``:
10)."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from typing import Any

import httpx
import orjson
import pytest

from tests.cluster.cluster_procs import ProcCluster, proc_cluster  # noqa: F401 (a fixture)
from tests.conftest import tier

SHARDS = 3
SEARCH_TIMEOUT_S = 2.0


def _primaries(cluster: ProcCluster) -> dict[int, tuple[str, int]]:
    """Shard → (node name of its started primary, its primary term)."""
    state = cluster.request("GET", "/_cluster/state/routing_table,nodes,metadata/logs").json()
    names = {node_id: node["name"] for node_id, node in state["nodes"].items()}
    terms = state["metadata"]["indices"]["logs"]["primary_terms"]
    out: dict[int, tuple[str, int]] = {}
    for shard_id, copies in state["routing_table"]["indices"]["logs"]["shards"].items():
        for copy in copies:
            if copy["primary"] and copy["state"] == "STARTED":
                out[int(shard_id)] = (names[copy["node"]], int(terms[shard_id]))
    return out


class Writer(threading.Thread):
    """Bulk batches with explicit ids until stopped; keeps what was acknowledged."""

    def __init__(self, cluster: ProcCluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.acked: dict[str, dict[str, Any]] = {}
        self.stop = threading.Event()
        self.requests = 0
        self.problems: list[str] = []  # the last few failed requests or items, for a failure's message

    def _problem(self, text: str) -> None:
        self.problems = [*self.problems[-4:], f"{time.strftime('%H:%M:%S')} {text[:300]}"]

    def run(self) -> None:
        client = httpx.Client(base_url=self.cluster.nodes["m1"].url, timeout=60)
        n = 0
        while not self.stop.is_set():
            docs = {f"d{n + i}": {"n": n + i, "text": f"doc {n + i}"} for i in range(20)}
            n += 20
            body = b"".join(orjson.dumps({"index": {"_index": "logs", "_id": i}}) + b"\n" + orjson.dumps(d) + b"\n"
                            for i, d in docs.items())  # fmt: skip
            try:
                response = client.post("/_bulk", content=body, headers={"content-type": "application/x-ndjson"})
            except httpx.HTTPError as exc:
                self._problem(repr(exc))
                continue
            self.requests += 1
            if response.status_code != 200:
                self._problem(f"{response.status_code} {response.text}")
                continue
            for item in response.json()["items"]:
                result = item["index"]
                if result.get("status") in (200, 201):
                    self.acked[result["_id"]] = docs[result["_id"]]
                else:
                    self._problem(orjson.dumps(result).decode())
        client.close()


class Searcher(threading.Thread):
    def __init__(self, cluster: ProcCluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.stop = threading.Event()
        self.slowest = 0.0
        self.statuses: list[int] = []
        self.partial = 0

    def run(self) -> None:
        client = httpx.Client(base_url=self.cluster.nodes["m1"].url, timeout=30)
        while not self.stop.is_set():
            t0 = time.monotonic()
            response = client.get(f"/logs/_search?size=0&timeout={SEARCH_TIMEOUT_S:.0f}s")
            self.slowest = max(self.slowest, time.monotonic() - t0)
            self.statuses.append(response.status_code)
            if response.status_code == 200 and response.json()["_shards"]["failed"]:
                self.partial += 1
            time.sleep(0.05)
        client.close()


def _acked(cluster: ProcCluster, writer: Writer, count: int, timeout_s: float, what: str) -> None:
    """Wait until ``writer`` has ``count`` acknowledged documents; else fail saying what its requests got and
    where the shards were."""
    try:
        cluster.until(lambda: len(writer.acked) >= count, timeout_s, what)
    except AssertionError as exc:
        with contextlib.suppress(httpx.HTTPError):
            shards = cluster.request("GET", "/_cat/shards/logs?v", timeout=5).text
            raise AssertionError(f"{exc}\nacked {len(writer.acked)} of {count} in {writer.requests} requests; "
                                 f"last problems: {writer.problems}\n{shards}") from None  # fmt: skip
        raise


@pytest.mark.slow
def test_kill_a_data_node_during_bulk(proc_cluster: ProcCluster) -> None:  # noqa: F811
    master = proc_cluster.start_node("m1", roles="master")
    for name in ("d1", "d2", "d3"):
        proc_cluster.start_node(name, roles="data", seeds=[master.transport])
    proc_cluster.until(lambda: len(proc_cluster.request("GET", "/_cat/nodes?format=json").json()) == 4, 10, "members")
    rng = random.Random(5)
    for trial in range(tier(3, 10)):
        proc_cluster.request("DELETE", "/logs")
        body = {"settings": {"number_of_shards": SHARDS, "number_of_replicas": 1}}
        assert proc_cluster.request("PUT", "/logs", json=body).status_code == 200
        health = proc_cluster.request("GET", "/_cluster/health/logs?wait_for_status=green&timeout=30s").json()
        assert health["status"] == "green", health
        before = _primaries(proc_cluster)
        victim = rng.choice(["d1", "d2", "d3"])
        writer, searcher = Writer(proc_cluster), Searcher(proc_cluster)
        writer.start()
        searcher.start()
        _acked(proc_cluster, writer, 200, 30, f"trial {trial}: writes before the kill")
        proc_cluster.kill(victim)
        killed_at = len(writer.acked)
        _acked(proc_cluster, writer, killed_at + 200, 60, f"trial {trial}: writes after killing {victim}")
        writer.stop.set()
        searcher.stop.set()
        writer.join(60)
        searcher.join(60)
        # searches kept answering: 200, within their timeout (plus the coordinator's own work)
        assert set(searcher.statuses) == {200}, (trial, searcher.statuses)
        assert searcher.slowest < SEARCH_TIMEOUT_S + 2.0, (trial, searcher.slowest)
        # the victim's primaries moved to their replicas, with a new term
        after = _primaries(proc_cluster)
        for shard, (node, term) in before.items():
            if node == victim:
                assert after[shard][0] != victim and after[shard][1] == term + 1, (trial, shard, before, after)
        # every acknowledged document is there, with its content
        assert proc_cluster.request("POST", "/logs/_refresh").status_code == 200
        ids = sorted(writer.acked)
        found = proc_cluster.request("POST", "/logs/_mget", json={"ids": ids}).json()["docs"]
        missing = [d["_id"] for d in found if not d.get("found")]
        assert not missing, (trial, victim, len(missing), missing[:5])
        assert all(d["_source"] == writer.acked[d["_id"]] for d in found)
        # optimistic concurrency across the failover: the current seq_no/term win once, then conflict
        doc = proc_cluster.request("GET", "/logs/_doc/d0").json()
        cas = f"/logs/_doc/d0?if_seq_no={doc['_seq_no']}&if_primary_term={doc['_primary_term']}"
        assert proc_cluster.request("PUT", cas, json={"n": -1}).status_code == 200
        assert proc_cluster.request("PUT", cas, json={"n": -2}).status_code == 409
        # back: the node rejoins, recovers its copies, health is green
        proc_cluster.restart(victim)
        health = proc_cluster.request("GET", "/_cluster/health/logs?wait_for_status=green&timeout=60s",
                                      timeout=90).json()  # fmt: skip
        assert health["status"] == "green", (trial, health)
