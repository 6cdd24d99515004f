"""Master failover with the etcd store: two master-eligible processes and two data nodes over a real 3-member
etcd cluster. SIGKILL the elected master: the other is elected within 5 s, index creation and mapping updates
work again through any node, and every acknowledged write is there."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.cluster.cluster_procs import ProcCluster
from tests.cluster.etcd_fixture import EtcdCluster, etcd_cluster  # noqa: F401 (a fixture)

FAILOVER_S = 5.0


def _bulk(index: str, start: int, n: int, extra: str = "") -> bytes:
    lines = []
    for i in range(start, start + n):
        lines.append(b'{"index":{"_index":"%s","_id":"%d"}}' % (index.encode(), i))
        lines.append(b'{"n":%d%s}' % (i, extra.encode()))
    return b"\n".join(lines) + b"\n"


def _master_name(cluster: ProcCluster, node: str) -> str | None:
    rows = cluster.request("GET", "/_cat/master?format=json", node=node, timeout=5).json()
    return rows[0]["node"] if rows else None


@pytest.mark.slow
def test_elected_master_killed(etcd_cluster: EtcdCluster, tmp_path: Path) -> None:  # noqa: F811
    cluster = ProcCluster(tmp_path, cluster_name=f"failover-{time.monotonic_ns()}", store=etcd_cluster.url)
    try:
        for name in ("m1", "m2"):
            cluster.start_node(name, roles="master")
        for name in ("d1", "d2"):
            cluster.start_node(name, roles="data")
        cluster.until(lambda: len(cluster.request("GET", "/_cat/nodes?format=json", node="d1").json()) == 4,
                      10, "four members")  # fmt: skip
        body = {"settings": {"number_of_shards": 4, "number_of_replicas": 0}}
        assert cluster.request("PUT", "/logs", node="d1", json=body).status_code == 200
        acked = 0
        done = cluster.request("POST", "/_bulk", node="d1", content=_bulk("logs", 0, 200),
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
        assert done.status_code == 200 and not done.json()["errors"]
        acked += 200
        elected = _master_name(cluster, "d1")
        assert elected in ("m1", "m2")
        other = "m2" if elected == "m1" else "m1"

        cluster.kill(elected)
        took = cluster.until(lambda: _master_name(cluster, "d2") == other, FAILOVER_S, "a new master")
        assert took < FAILOVER_S
        # index creation, a mapping update and a write that adds a field, through a data node and the new master
        assert cluster.request("PUT", "/after", node="d1", json=body).status_code == 200
        mapped = cluster.request("PUT", "/logs/_mapping", node="d2", json={"properties": {"tag": {"type": "keyword"}}})
        assert mapped.status_code == 200, mapped.text
        done = cluster.request("POST", "/_bulk", node=other, content=_bulk("logs", 200, 100, ',"fresh":"yes"'),
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
        assert done.status_code == 200 and not done.json()["errors"], done.text
        acked += 100
        mapping = cluster.request("GET", "/logs/_mapping", node="d1").json()["logs"]["mappings"]["properties"]
        assert mapping["tag"] == {"type": "keyword"} and "fresh" in mapping
        assert cluster.request("POST", "/logs/_refresh", node="d1").status_code == 200
        count = cluster.request("GET", "/logs/_count", node="d2").json()
        assert count["count"] == acked and count["_shards"]["failed"] == 0
        ids = cluster.request("GET", "/logs/_search?size=1000&_source=false", node="d1").json()["hits"]["hits"]
        assert sorted(int(h["_id"]) for h in ids) == list(range(acked))
    finally:
        cluster.close()


@pytest.mark.slow
def test_a_resumed_stale_master_is_fenced(etcd_cluster: EtcdCluster, tmp_path: Path) -> None:  # noqa: F811
    """SIGSTOP the elected master: the other takes over; SIGCONT it: it steps down, its writes go to the new
    master, and the state it held when it stopped never overwrites a newer one."""
    cluster = ProcCluster(tmp_path, cluster_name=f"fenced-{time.monotonic_ns()}", store=etcd_cluster.url)
    try:
        for name in ("m1", "m2"):
            cluster.start_node(name, roles="master")
        cluster.start_node("d1", roles="data")
        cluster.until(lambda: len(cluster.request("GET", "/_cat/nodes?format=json", node="d1").json()) == 3,
                      10, "three members")  # fmt: skip
        body = {"settings": {"number_of_shards": 2, "number_of_replicas": 0}}
        assert cluster.request("PUT", "/before", node="d1", json=body).status_code == 200
        stale = _master_name(cluster, "d1")
        assert stale in ("m1", "m2")
        other = "m2" if stale == "m1" else "m1"
        cluster.pause(stale)
        cluster.until(lambda: _master_name(cluster, "d1") == other, FAILOVER_S, "a new master")
        assert cluster.request("PUT", "/during", node="d1", json=body).status_code == 200
        cluster.resume(stale)
        # the resumed node creates an index through the new master, and nothing is lost
        created = cluster.request("PUT", "/after", node=stale, json=body)
        assert created.status_code == 200, created.text
        assert _master_name(cluster, "d1") == other
        names = {row["index"] for row in cluster.request("GET", "/_cat/indices?format=json", node="d1").json()}
        assert {"before", "during", "after"} <= names
    finally:
        cluster.close()
