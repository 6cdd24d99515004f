"""Shared fixtures: a real server subprocess (``server``) and an in-process ASGI client (``asgi_client``).

``ServerProcess`` is importable (``from tests.conftest import ServerProcess``) for suites outside ``tests/``
that need their own server, e.g. ``compat_tests/test_clients.py`` or a server started with extra env.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# The slow tier: ``QUIDDITCH_SLOW=1 python3 -m pytest`` runs the long trial counts (kill trials, fuzz cases)
# that CI runs in their short form; ``tier(ci, slow)`` picks the count a test runs.
SLOW_TIER = os.environ.get("QUIDDITCH_SLOW") == "1"


def tier(ci: int, slow: int) -> int:
    return slow if SLOW_TIER else ci


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted at ``path`` for the block (CI runs as root; elsewhere a refused mount
    skips the test, in CI it fails it)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs: {done.stderr.decode()}")
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m server.cli serve`` on 127.0.0.1, an ephemeral port and its own data dir.

    ``restart()`` keeps the data dir and the port (so ``url`` stays valid); ``kill()`` is a SIGKILL, the
    crash case; ``stop()`` is SIGTERM, then SIGKILL after 10 s. The server's output goes to ``log_path``,
    whose tail is shown when the server does not come up.
    """

    def __init__(self, data_dir: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> None:
        self.data_dir = str(data_dir)
        os.makedirs(self.data_dir, exist_ok=True)
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.log_path = Path(self.data_dir).parent / f"server-{Path(self.data_dir).name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        env.update(self.extra_env)
        self._log = open(self.log_path, "ab")  # closed in stop()/kill()
        cmd = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--data-dir", self.data_dir]  # fmt: skip
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {START_TIMEOUT}s ({last!r}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run (a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)
        self._close_log()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(timeout=STOP_TIMEOUT)
        self._close_log()

    def restart(self, *, kill: bool = False) -> ServerProcess:
        """Stop (or SIGKILL with ``kill=True``) and start again on the same data dir and port."""
        self.kill() if kill else self.stop()
        return self.start()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_server(
    data_dir: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir, env)
    try:
        yield proc.start()
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real server for the module; ``.url``, ``.data_dir``, ``.proc``, ``.restart()``, ``.kill()``."""
    with running_server(tmp_path_factory.mktemp("server") / "data") as proc:
        yield proc


@pytest.fixture
async def asgi_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """httpx over ASGITransport on ``create_app`` (middleware included), with the Starlette lifespan run."""
    from server.app import create_app
    from server.settings import load_settings

    app = create_app(load_settings({"data_dir": str(tmp_path / "data")}))
    starlette_app = _starlette_of(app)
    async with starlette_app.router.lifespan_context(starlette_app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=transport, base_url="http://quidditch.test", timeout=30
        ) as client:
            yield client


def _starlette_of(app: Any) -> Any:
    """The Starlette instance under the pure-ASGI middlewares ``create_app`` wraps it in."""
    from starlette.applications import Starlette

    seen = 0
    while not isinstance(app, Starlette):
        app = app.app
        seen += 1
        assert seen < 10, "no Starlette app under the middleware"
    return app
