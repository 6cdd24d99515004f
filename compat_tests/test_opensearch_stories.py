"""OpenSearch API-specification test stories against a freshly started Quidditch, with a ratchet.

Starts the server like ``compat_tests/test_yaml_suites.py`` (the ``quidditch_url`` fixture is
shared from there), runs the story folders of :mod:`compat_tests.opensearch_runner.suites`
(``<repo parent>/shared/compat_cases/opensearch-api-specification/tests/default``; the test is
skipped when that folder is absent) with ``compat_tests/opensearch_skips.yaml``, and fails when a
story listed in ``compat_tests/opensearch_baseline.json`` no longer passes.  Newly passing stories
are printed; add them with::

    python -m compat_tests.opensearch_runner --default-suites --url URL \\
        --skips compat_tests/opensearch_skips.yaml --baseline compat_tests/opensearch_baseline.json --update-baseline
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from compat_tests.opensearch_runner import check_baseline, default_paths, load_baseline, run_paths, stories_dir
from compat_tests.test_yaml_suites import quidditch_url  # noqa: F401  (pytest fixture)

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "opensearch_baseline.json"
SKIPS = HERE / "opensearch_skips.yaml"
REQUEST_TIMEOUT = 10.0
RUN_BUDGET = 150.0  # seconds for the whole run (< 3 min); later stories are failed, not run


@pytest.mark.compat
@pytest.mark.timeout(RUN_BUDGET + 60)
def test_opensearch_stories_ratchet(quidditch_url: str) -> None:  # noqa: F811
    if not stories_dir().is_dir():
        pytest.skip(f"OpenSearch test stories not available: {stories_dir()} does not exist")
    report = run_paths(
        quidditch_url,
        default_paths(),
        SKIPS,
        timeout=REQUEST_TIMEOUT,
        deadline=time.monotonic() + RUN_BUDGET,
    )
    report_file = Path(tempfile.gettempdir()) / "quidditch-opensearch-stories.json"
    report.write_json(report_file)
    check = check_baseline(report, load_baseline(BASELINE))
    print(f"\nOpenSearch stories: {report.final_line()} (report: {report_file})")
    for folder, counts in report.suites().items():
        print(f"  {folder}: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    for line in check.lines():
        print(line)
    if not check.ok:
        listing = "\n".join(f"  {sid}  [{why}]" for sid, why in check.regressions)
        pytest.fail(f"{len(check.regressions)} story(ies) of {BASELINE.name} no longer pass:\n{listing}")
    # a server error is a defect of ours whether or not the story around it passes
    assert not report.server_errors, "answers >= 500:\n" + "\n".join(report.server_errors)
