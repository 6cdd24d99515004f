"""Real ``quidditch serve`` processes on loopback ports for multi-process cluster tests.

``ProcCluster`` starts nodes as ``[sys.executable, "-m", "server.cli", "serve", ...]`` with ``PYTHONPATH`` set
to this repository (never the installed script), waits for each by polling its HTTP port (bounded), and can
SIGKILL, SIGSTOP, SIGCONT and restart a node. Every process is killed when the cluster is closed (the
``proc_cluster`` fixture's finalizer) and, as a last resort, at interpreter exit. Each node's stderr goes
to a file whose tail is attached to failure messages (``ProcCluster.logs``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0
_LIVE: set[subprocess.Popen[bytes]] = set()


def _kill_all() -> None:
    for proc in list(_LIVE):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)


atexit.register(_kill_all)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Node:
    name: str
    data_dir: Path
    http_port: int
    transport_port: int
    args: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    stopped: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def transport(self) -> str:
        return f"127.0.0.1:{self.transport_port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class ProcCluster:
    root: Path
    cluster_name: str = "qt"
    store: str = "local"  # or the etcd members' ``etcd://h:p,...``
    nodes: dict[str, Node] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def start_node(self, name: str, *, roles: str = "master,data", seeds: Sequence[str] = (),
                   extra: Sequence[str] = (), wait: bool = True, embedded: bool = False) -> Node:  # fmt: skip
        """A cluster node; ``embedded``: today's one-process server instead (no cluster flag at all)."""
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        http_port, transport_port = free_port(), free_port()
        args = ["--port", str(http_port), "--data-dir", str(data_dir), "--security-enabled", "false"]
        if not embedded:
            args += ["--node-name", name, "--cluster-name", self.cluster_name, "--roles", roles,
                     "--transport-port", str(transport_port), "--state-store", self.store, *extra]  # fmt: skip
        if seeds:
            args += ["--seed-hosts", ",".join(seeds)]
        node = Node(name, data_dir, http_port, transport_port, args, self.root / f"{name}.log")
        self.nodes[name] = node
        self._spawn(node)
        if wait:
            self.wait_ready(node)
        return node

    def _spawn(self, node: Node) -> None:
        env = {**os.environ, **self.env, "PYTHONPATH": str(REPO), "QUIDDITCH_LOG_LEVEL": "warning"}
        with open(node.log_path, "ab") as log:
            node.proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", *node.args], cwd=str(REPO),
                                         env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        node.stopped = False
        _LIVE.add(node.proc)

    def wait_ready(self, node: Node, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert node.proc is not None
            if node.proc.poll() is not None:
                raise AssertionError(f"node {node.name} exited with {node.proc.returncode}:\n{node.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(node.url + "/", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.05)
        raise AssertionError(f"node {node.name} not ready in {timeout_s}s:\n{node.log_tail()}")

    def kill(self, name: str) -> None:
        """SIGKILL: no goodbye, the lease has to run out."""
        node = self.nodes[name]
        assert node.proc is not None
        if node.stopped:
            node.proc.send_signal(signal.SIGCONT)
        node.proc.kill()
        node.proc.wait(timeout=10)
        _LIVE.discard(node.proc)

    def pause(self, name: str) -> None:
        node = self.nodes[name]
        assert node.proc is not None
        node.proc.send_signal(signal.SIGSTOP)
        node.stopped = True

    def resume(self, name: str) -> None:
        node = self.nodes[name]
        assert node.proc is not None
        node.proc.send_signal(signal.SIGCONT)
        node.stopped = False

    def restart(self, name: str, *, wait: bool = True) -> Node:
        node = self.nodes[name]
        if node.proc is not None and node.proc.poll() is None:
            self.kill(name)
        self._spawn(node)
        if wait:
            self.wait_ready(node)
        return node

    def close(self) -> None:
        for node in self.nodes.values():
            proc = node.proc
            if proc is None or proc.poll() is not None:
                continue
            if node.stopped:
                proc.send_signal(signal.SIGCONT)
            proc.terminate()
        for node in self.nodes.values():
            proc = node.proc
            if proc is None:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            _LIVE.discard(proc)

    def logs(self) -> str:
        return "\n".join(f"--- {n.name} ---\n{n.log_tail()}" for n in self.nodes.values())

    # -- HTTP helpers -------------------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, node: str | None = None, timeout: float = 30.0,
                **kwargs: Any) -> httpx.Response:  # fmt: skip
        target = self.nodes[node] if node else next(iter(self.nodes.values()))
        return httpx.request(method, target.url + path, timeout=timeout, **kwargs)

    def until(self, predicate: Callable[[], bool], timeout_s: float, what: str) -> float:
        """Poll ``predicate`` (bounded); the seconds it took. Fails with every node's log tail."""
        started = time.monotonic()
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if predicate():
                    return time.monotonic() - started
            if time.monotonic() - started > timeout_s:
                raise AssertionError(f"{what}: not within {timeout_s}s\n{self.logs()}")
            time.sleep(0.05)


@pytest.fixture
def proc_cluster(tmp_path: Path) -> Iterator[ProcCluster]:
    cluster = ProcCluster(tmp_path)
    try:
        yield cluster
    finally:
        cluster.close()
