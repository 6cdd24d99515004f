"""``quidditch serve``: clean stop on SIGINT/SIGTERM, and every acknowledged document after a restart."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_and_restart_serves_unrefreshed_writes(tmp_path: Path, sig: signal.Signals) -> None:
    server = ServerProcess(tmp_path / "data")
    server.start()
    try:
        r = httpx.put(f"{server.url}/books/_doc/1", json={"title": "dune"}, timeout=10)
        assert r.status_code == 201
        # no refresh: only the WAL holds it when the signal arrives
        assert server.proc is not None
        server.proc.send_signal(sig)
        try:
            code = server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"server did not stop on {sig.name}:\n{server.log_tail()}")
        assert code == 0, server.log_tail()
        server.start()
        doc = httpx.get(f"{server.url}/books/_doc/1", timeout=10).json()
        assert doc["found"] is True and doc["_source"] == {"title": "dune"}
        count = httpx.get(f"{server.url}/books/_count", timeout=10).json()["count"]
        assert count == 1
    finally:
        server.stop()
