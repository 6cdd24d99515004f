"""A real 3-member etcd cluster on loopback ports, for the tests that need one.

``EtcdCluster.start(tmp_dir)`` runs three ``etcd`` processes (Debian's ``etcd-server``; ``.ci/run`` installs
it) on free 127.0.0.1 ports, each with its data in ``tmp_dir``, and waits (bounded) until every member
reports healthy. ``kill(i)`` SIGKILLs one member, ``pause(i)``/``resume(i)`` SIGSTOP and SIGCONT it;
``stop()`` ends them all, stopped ones included. Import it from a test module::

    from tests.cluster.etcd_fixture import etcd_cluster  # noqa: F401  (the fixture)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
HEALTHY_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EtcdMember:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.client_port}"


@dataclass
class EtcdCluster:
    members: list[EtcdMember] = field(default_factory=list)

    @property
    def endpoints(self) -> list[str]:
        return [m.endpoint for m in self.members]

    @property
    def url(self) -> str:
        """The ``--state-store`` form: ``etcd://h:p,h:p,h:p``."""
        return "etcd://" + ",".join(m.address for m in self.members)

    @classmethod
    def start(cls, tmp_dir: Path, size: int = 3) -> EtcdCluster:
        if not os.path.exists(ETCD):
            pytest.fail("etcd is not installed (apt-get install etcd-server; .ci/run does it)", pytrace=False)
        cluster = cls()
        for i in range(size):
            member_dir = tmp_dir / f"etcd{i}"
            member_dir.mkdir(parents=True, exist_ok=True)
            cluster.members.append(
                EtcdMember(f"m{i}", free_port(), free_port(), member_dir / "data", member_dir / "etcd.log")
            )
        initial = ",".join(f"{m.name}=http://127.0.0.1:{m.peer_port}" for m in cluster.members)
        try:
            for member in cluster.members:
                cluster._spawn(member, initial)
            cluster.wait_healthy()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _spawn(self, member: EtcdMember, initial: str) -> None:
        args = [
            ETCD,
            "--name", member.name,
            "--data-dir", str(member.data_dir),
            "--listen-client-urls", member.endpoint,
            "--advertise-client-urls", member.endpoint,
            "--listen-peer-urls", f"http://127.0.0.1:{member.peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{member.peer_port}",
            "--initial-cluster", initial,
            "--initial-cluster-state", "new",
            "--initial-cluster-token", f"quidditch-test-{self.members[0].client_port}",
            "--heartbeat-interval", "100",
            "--election-timeout", "1000",
        ]  # fmt: skip
        log = open(member.log_path, "ab")
        member.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def wait_healthy(self, timeout_s: float = HEALTHY_TIMEOUT_S, members: list[EtcdMember] | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        pending = list(members if members is not None else self.members)
        while pending:
            member = pending[0]
            if member.process is not None and member.process.poll() is not None:
                tail = member.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"etcd member {member.name} exited ({member.process.returncode}):\n{tail}")
            try:
                healthy = httpx.get(member.endpoint + "/health", timeout=1.0).json().get("health") == "true"
            except (httpx.HTTPError, ValueError):
                healthy = False
            if healthy:
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise RuntimeError(f"etcd member {member.name} not healthy within {timeout_s} s")
            time.sleep(0.1)

    def kill(self, index: int) -> None:
        process = self.members[index].process
        assert process is not None
        process.kill()
        process.wait(10)

    def pause(self, index: int) -> None:
        process = self.members[index].process
        assert process is not None
        process.send_signal(signal.SIGSTOP)

    def resume(self, index: int) -> None:
        process = self.members[index].process
        assert process is not None
        process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        for member in self.members:
            process = member.process
            if process is None or process.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)


@pytest.fixture(scope="module")
def etcd_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """One healthy 3-member etcd cluster per test module (tests isolate by cluster name)."""
    cluster = EtcdCluster.start(tmp_path_factory.mktemp("etcd"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def fresh_etcd_cluster(tmp_path: Path) -> Iterator[EtcdCluster]:
    """A 3-member etcd cluster of its own, for a test that kills or stops members."""
    cluster = EtcdCluster.start(tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()
