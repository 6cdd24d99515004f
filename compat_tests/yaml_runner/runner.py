"""Runs suites against a server: discovery, skips, prerequisites, setup/test/teardown, cleanup.

Per test, in order: the skips file, the file-level ``requires`` (clients-tests), the
``skip``/``requires`` of setup, teardown and the test; then the server is wiped (indices,
data streams, templates), a fresh stash is made, ``setup`` runs, the test runs, and
``teardown`` runs even when the test failed.  A teardown failure fails a test that had
otherwise passed.  A file that cannot be parsed is reported as one failed entry
``<file>::(load)``; an unexpected runner error inside a test fails that test only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import httpx

from .api import ApiResolver, ApiTable, default_spec_dirs
from .cleanup import Cleaner
from .client import HttpClient
from .client_api import ClientApi
from .executor import StepFailure, TestContext
from .loader import Section, Suite, SuiteLoadError, discover_files, load_suite
from .prerequisites import PrerequisiteChecker, ServerInfo
from .report import Report, TestResult
from .skips import SkipList, load_skips

__all__ = ["Runner", "resolve_api", "run_paths"]

LineSink = Callable[[str], None]


class Runner:
    def __init__(
        self,
        client: HttpClient,
        api: ApiResolver,
        skips: SkipList | None = None,
        *,
        wipe: bool = True,
    ) -> None:
        self.client = client
        self.api = api
        self.skips = skips or SkipList()
        self.server = ServerInfo.discover(client)
        self.checker = PrerequisiteChecker(self.server, client)
        self.cleaner = Cleaner(client) if wipe else None

    def run_suite(self, suite: Suite, root: str = "", name_filter: str | None = None) -> list[TestResult]:
        results = []
        for test in suite.tests:
            test_id = suite.test_id(test)
            if name_filter and name_filter not in test_id:
                continue
            results.append(self.run_test(suite, test, root))
        return results

    def run_test(self, suite: Suite, test: Section, root: str = "") -> TestResult:
        test_id = suite.test_id(test)

        def result(status: Any, reason: str = "", detail: str = "") -> TestResult:
            return TestResult(id=test_id, status=status, reason=reason, detail=detail, suite=suite.folder, root=root)

        skip_reason = self.skips.reason_for(test_id, root)
        if skip_reason:
            return result("skip", f"skips file: {skip_reason}")
        skip_reason = self.checker.file_requires_reason(suite.file_requires)
        if skip_reason is None:
            skip_reason = self.checker.skip_reason((*suite.prerequisites, *test.prerequisites))
        if skip_reason:
            return result("skip", skip_reason)

        if self.cleaner is not None:
            self.cleaner.wipe()
        context = TestContext(self.client, self.api)
        failure: str | None = None
        detail = ""
        phase = "setup"
        try:
            for step in suite.setup.steps if suite.setup else ():
                context.run(step)
            phase = "test"
            for step in test.steps:
                context.run(step)
        except StepFailure as exc:
            failure = f"{phase} {exc}" if phase != "test" else str(exc)
            detail = self._detail(context, exc)
        except Exception as exc:  # a runner bug must not stop the run
            failure = f"runner error in {phase}: {type(exc).__name__}: {exc}"
        try:
            for step in suite.teardown.steps if suite.teardown else ():
                context.run(step)
        except StepFailure as exc:
            if failure is None:
                failure = f"teardown {exc}"
                detail = self._detail(context, exc)
        except Exception as exc:
            if failure is None:
                failure = f"runner error in teardown: {type(exc).__name__}: {exc}"
        if failure is not None:
            return result("fail", failure, detail)
        return result("pass")

    @staticmethod
    def _detail(context: TestContext, exc: StepFailure) -> str:
        parts = [str(exc)]
        if exc.step is not None:
            parts.append(f"step: {{{exc.step.kind}: {exc.step.args!r}}}")
        if context.response is not None:
            text = context.response.text
            parts.append(f"last response [{context.response.status}]: {text[:2000]}")
        return "\n".join(parts)


def resolve_api(api_spec: ApiResolver | Iterable[str | Path] | None = None) -> ApiResolver:
    """A resolver: the one given, spec folders given or in ``$ES_REST_API_SPEC``, else the client."""
    if api_spec is None:
        dirs = default_spec_dirs()
    elif hasattr(api_spec, "build"):
        return api_spec  # type: ignore[return-value]
    else:
        dirs = [Path(d) for d in api_spec]  # type: ignore[union-attr]
    return ApiTable.load(dirs) if dirs else ClientApi()


def _coerce_skips(skips: SkipList | str | Path | None) -> SkipList:
    if skips is None:
        return SkipList()
    if isinstance(skips, SkipList):
        return skips
    return load_skips(skips)


def run_paths(
    url: str,
    paths: Sequence[str | Path],
    skips: SkipList | str | Path | None = None,
    *,
    name_filter: str | None = None,
    timeout: float = 30.0,
    api_spec: ApiResolver | Iterable[str | Path] | None = None,
    on_result: LineSink | None = None,
    transport: httpx.BaseTransport | None = None,
    wipe: bool = True,
    include: Sequence[str] | None = None,
    deadline: float | None = None,
) -> Report:
    """Run every .yml/.yaml file under ``paths`` against ``url`` and return the :class:`Report`.

    ``on_result`` receives one console line per test as it finishes (nothing is printed when
    it is ``None``).  ``api_spec`` is a resolver (:class:`ApiTable`, :class:`ClientApi`) or
    folders of REST API spec JSON files; by default ``$ES_REST_API_SPEC`` if set, else the
    official ``elasticsearch`` client resolves API names (see :func:`resolve_api`).
    ``include``: when given, only files whose path relative to their root matches one of these
    globs (or lies under a folder so named) are run; the others are not reported at all.
    ``deadline`` (a ``time.monotonic()`` value): tests not started by then are reported as
    failures without being run.
    """
    api = resolve_api(api_spec)
    skip_list = _coerce_skips(skips)
    report = Report()
    with HttpClient(url, timeout=timeout, transport=transport) as client:
        runner = Runner(client, api, skip_list, wipe=wipe)
        for root, file in discover_files(paths):
            if include and not _included(file, root, include):
                continue
            try:
                suite = load_suite(file, root)
            except SuiteLoadError as exc:
                rel = file.relative_to(root).as_posix() if file.is_relative_to(root) else file.name
                folder = Path(rel).parent.as_posix() or "."
                failed = TestResult(id=f"{rel}::(load)", status="fail", reason=str(exc), suite=folder, root=str(root))
                _record(report, failed, on_result)
                continue
            for test in suite.tests:
                if name_filter and name_filter not in suite.test_id(test):
                    continue
                if deadline is not None and time.monotonic() > deadline:
                    late = TestResult(
                        id=suite.test_id(test),
                        status="fail",
                        reason="not run: the run's time budget is exhausted",
                        suite=suite.folder,
                        root=str(root),
                    )
                    _record(report, late, on_result)
                    continue
                _record(report, runner.run_test(suite, test, str(root)), on_result)
                report.server_errors += [f"{suite.test_id(test)}: {e}" for e in client.server_errors]
                client.server_errors.clear()
    return report


def _included(file: Path, root: Path, include: Sequence[str]) -> bool:
    rel = file.relative_to(root).as_posix() if file.is_relative_to(root) else file.name
    return any(fnmatchcase(rel, glob) or fnmatchcase(rel, glob.rstrip("/") + "/*") for glob in include)


def _record(report: Report, result: TestResult, on_result: LineSink | None) -> None:
    report.add(result)
    if on_result is not None:
        on_result(result.line())
