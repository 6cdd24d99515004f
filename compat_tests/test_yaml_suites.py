"""Elasticsearch YAML REST suites against a freshly started Quidditch, with a ratchet.

Starts ``python -m server.cli serve`` on a free port with a temporary data dir, runs the suite
set of :mod:`compat_tests.yaml_runner.suites` (``<repo parent>/shared/compat_cases``; the test
is skipped when that folder is absent), writes the JSON report to a temporary file and the
pass-rate table to ``compat_tests/RESULTS.md``, and fails when a test listed in
``compat_tests/baseline.json`` no longer passes.  Newly passing tests are printed; add them with::

    python -m compat_tests.yaml_runner --default-suites --url URL \\
        --skips compat_tests/skips.yaml --update-baseline --results-md compat_tests/RESULTS.md
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from compat_tests.yaml_runner.baseline import check_baseline, load_baseline, results_markdown
from compat_tests.yaml_runner.suites import REPO_ROOT, default_suites, run_suites, shared_dir

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline.json"
RESULTS_MD = HERE / "RESULTS.md"
SKIPS = HERE / "skips.yaml"
REQUEST_TIMEOUT = 10.0
# Seconds for the whole suite run (later tests are failed, not run): 168 s on an idle 2-core machine, ~6 min on a
# busy one, so the budget leaves room for a loaded CI box without letting a hang run forever.
RUN_BUDGET = 900.0
STARTUP_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def quidditch_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    workdir = tmp_path_factory.mktemp("quidditch-yaml")
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(workdir / "data"),
        ],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{_tail(workdir / 'server.log')}")
            try:
                if httpx.get(url + "/", timeout=2.0).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"server did not answer GET / within {STARTUP_TIMEOUT:g}s:\n{_tail(workdir / 'server.log')}"
                )
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _tail(file: Path, lines: int = 40) -> str:
    try:
        return "\n".join(file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


@pytest.mark.compat
@pytest.mark.timeout(RUN_BUDGET + 60)
def test_yaml_rest_suites_ratchet(quidditch_url: str) -> None:
    shared = shared_dir()
    if not (shared / "compat_cases").is_dir():
        pytest.skip(f"YAML suites not available: {shared / 'compat_cases'} does not exist")
    report = run_suites(
        quidditch_url,
        default_suites(shared),
        SKIPS,
        timeout=REQUEST_TIMEOUT,
        time_budget=RUN_BUDGET,
    )
    report_file = Path(tempfile.gettempdir()) / "quidditch-yaml-report.json"
    report.write_json(report_file)
    RESULTS_MD.write_text(results_markdown(report), encoding="utf-8")
    check = check_baseline(report, load_baseline(BASELINE))
    print(f"\nYAML REST suites: {report.final_line()} (report: {report_file}, table: {RESULTS_MD})")
    for line in check.lines():
        print(line)
    if not check.ok:
        listing = "\n".join(f"  {tid}  [{why}]" for tid, why in check.regressions)
        pytest.fail(f"{len(check.regressions)} test(s) of {BASELINE.name} no longer pass:\n{listing}")
    # a server error is a defect of ours whether or not the test around it passes
    assert not report.server_errors, "answers >= 500:\n" + "\n".join(report.server_errors)
