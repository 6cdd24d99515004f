"""The suite set the project tracks: two roots under ``<repo parent>/shared/compat_cases``.

* ``es-rest-api-spec``: Elasticsearch's own ``rest-api-spec`` YAML tests, all folders;
* ``elasticsearch-clients-tests``: the clients' YAML tests, every folder; the APIs refused by design
  (machine learning, transforms, ES|QL, SQL, …) or not built yet are named in ``compat_tests/skips.yaml``.

Used by ``compat_tests/test_yaml_suites.py`` and ``python -m compat_tests.yaml_runner
--default-suites``; the location of ``shared`` can be overridden with ``$QUIDDITCH_SHARED``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .api import ApiResolver
from .report import Report, TestResult
from .runner import LineSink, resolve_api, run_paths
from .skips import SkipList

__all__ = [
    "SHARED_ENV",
    "SuiteRoot",
    "default_suites",
    "run_suites",
    "shared_dir",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_ENV = "QUIDDITCH_SHARED"
REST_API_SPEC_TESTS = "compat_cases/es-rest-api-spec/rest-api-spec/src/yamlRestTest/resources/rest-api-spec/test"
CLIENT_TESTS = "compat_cases/elasticsearch-clients-tests/tests"


@dataclass(frozen=True)
class SuiteRoot:
    label: str  # prefix of the test ids in the baseline
    path: Path
    include: tuple[str, ...] | None = None  # None: every file under path


def shared_dir() -> Path:
    """``$QUIDDITCH_SHARED`` if set, else the repository's parent folder + ``/shared``."""
    env = os.environ.get(SHARED_ENV)
    return Path(env) if env else REPO_ROOT.parent / "shared"


def default_suites(shared: Path | None = None) -> list[SuiteRoot]:
    base = shared if shared is not None else shared_dir()
    return [
        SuiteRoot("es-rest-api-spec", base / REST_API_SPEC_TESTS),
        SuiteRoot("elasticsearch-clients-tests", base / CLIENT_TESTS),
    ]


def run_suites(
    url: str,
    roots: Sequence[SuiteRoot],
    skips: SkipList | str | Path | None = None,
    *,
    timeout: float = 10.0,
    time_budget: float | None = None,
    api_spec: ApiResolver | None = None,
    on_result: LineSink | None = None,
    name_filter: str | None = None,
    wipe: bool = True,
) -> Report:
    """Run each root in turn into one report (results keep their ``root``).

    ``time_budget`` (seconds, whole run): tests not started in time are reported as failures.
    """
    api = resolve_api(api_spec)
    deadline = time.monotonic() + time_budget if time_budget is not None else None
    merged = Report()
    for root in roots:
        if not root.path.is_dir():
            raise FileNotFoundError(f"suite root {root.label} not found: {root.path}")
        report = run_paths(
            url,
            [root.path],
            skips,
            name_filter=name_filter,
            timeout=timeout,
            api_spec=api,
            on_result=on_result,
            include=root.include,
            deadline=deadline,
            wipe=wipe,
        )
        for result in report:
            merged.add(result)
        merged.server_errors += report.server_errors
    return merged


def result_root_label(result: TestResult) -> str:
    """``es-rest-api-spec`` for a root under ``.../compat_cases/es-rest-api-spec/...``, else the
    root folder's name."""
    parts = Path(result.root).parts
    if "compat_cases" in parts:
        index = parts.index("compat_cases")
        if index + 1 < len(parts):
            return parts[index + 1]
    return Path(result.root).name or "."
