"""Discovery with real processes: a node that joins is listed and takes shards within 5 s; a killed one leaves
within 5 s; bad cluster flags end the process with one line and exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.cluster.cluster_procs import REPO, ProcCluster, proc_cluster  # noqa: F401 (a fixture)

DISCOVERY_S = 5.0


def _node_names(cluster: ProcCluster) -> set[str]:
    rows = cluster.request("GET", "/_cat/nodes?h=name&format=json").json()
    return {row["name"] for row in rows}


def _shard_nodes(cluster: ProcCluster, index: str, states: tuple[str, ...] = ("STARTED",)) -> list[str]:
    """The nodes of the copies in ``states`` (a moving copy, ES's ``d1 -> 127.0.0.1 <id> d2``, names both)."""
    rows = cluster.request("GET", f"/_cat/shards/{index}?format=json&h=shard,prirep,state,node").json()
    picked = [row["node"] for row in rows if row["state"] in states]
    return [name for node in picked for name in (node.split()[::4] if "->" in node else [node])]


@pytest.mark.slow
def test_join_and_death_within_five_seconds(proc_cluster: ProcCluster) -> None:  # noqa: F811
    master = proc_cluster.start_node("m1", roles="master")
    proc_cluster.start_node("d1", roles="data", seeds=[master.transport])
    proc_cluster.until(lambda: _node_names(proc_cluster) == {"m1", "d1"}, DISCOVERY_S, "d1 listed")
    body = {"settings": {"number_of_shards": 4, "number_of_replicas": 0}}
    assert proc_cluster.request("PUT", "/logs", json=body).status_code == 200
    proc_cluster.until(lambda: _shard_nodes(proc_cluster, "logs") == ["d1"] * 4, DISCOVERY_S, "shards on d1")

    # a node started later is a member within 5 s of its start and holds shards: rebalancing moves copies of
    # ``logs`` to it (peer recovery), and a new index's primaries start there
    d2 = proc_cluster.start_node("d2", roles="data", seeds=[master.transport], wait=False)
    proc_cluster.wait_ready(d2)
    took = proc_cluster.until(lambda: _node_names(proc_cluster) == {"m1", "d1", "d2"}, DISCOVERY_S, "d2 listed")
    assert took < DISCOVERY_S
    took = proc_cluster.until(lambda: "d2" in _shard_nodes(proc_cluster, "logs"), DISCOVERY_S, "d2 takes shards")
    assert took < DISCOVERY_S
    assert proc_cluster.request("PUT", "/fresh", json=body).status_code == 200
    proc_cluster.until(lambda: "d2" in _shard_nodes(proc_cluster, "fresh"), DISCOVERY_S, "fresh shards on d2")

    # a killed node (no goodbye) is gone within 5 s
    proc_cluster.kill("d2")
    took = proc_cluster.until(lambda: _node_names(proc_cluster) == {"m1", "d1"}, DISCOVERY_S, "d2 dropped")
    assert took < DISCOVERY_S
    health = proc_cluster.request("GET", "/_cluster/health").json()
    assert health["number_of_nodes"] == 2 and health["number_of_data_nodes"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--roles", "data"], "needs --seed-hosts"),
        (["--roles", "master,data", "--seed-hosts", "127.0.0.1:9300"], "takes no --seed-hosts"),
        (["--roles", "ingest"], "unknown role [ingest]"),
        (["--seed-hosts", "nohost", "--roles", "data"], "seed host [nohost] is not host:port"),
        (["--state-store", "zookeeper://x"], "--state-store must be local or etcd://"),
    ],
)
def test_bad_cluster_flags_exit_2_with_one_line(tmp_path, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run([sys.executable, "-m", "server.cli", "serve", "--data-dir", str(tmp_path), *args],
                          cwd=str(REPO), env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr


def test_no_cluster_flag_is_the_embedded_server() -> None:
    from server.cli import cluster_topology
    from server.settings import load_settings

    assert cluster_topology(load_settings({}, environ={})) is None
    topology = cluster_topology(load_settings({"roles": "data", "seed_hosts": "127.0.0.1:9300"}, environ={}))
    assert topology is not None and topology.roles == ("data",) and topology.seed_hosts == ("127.0.0.1:9300",)
    assert topology.state_store == "local"
    master = cluster_topology(load_settings({"transport_port": 9300}, environ={}))
    assert master is not None and master.roles == ("master", "data") and master.seed_hosts == ()
