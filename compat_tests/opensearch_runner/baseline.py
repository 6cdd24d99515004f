"""The ratchet for story runs: ``{"about": ..., "passing": ["_core/bulk.yaml", ...]}``.

A baseline story that does not pass in a run (fails, is skipped or was not run) is a regression;
a passing story missing from the baseline is newly passing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..yaml_runner.report import Report

__all__ = ["BaselineCheck", "check_baseline", "load_baseline", "write_baseline"]

_ABOUT = (
    "Ids (paths relative to tests/default) of the OpenSearch API-spec test stories that pass. "
    "compat_tests/test_opensearch_stories.py fails when one of them stops passing. Regenerate: "
    "python -m compat_tests.opensearch_runner --default-suites --url URL "
    "--skips compat_tests/opensearch_skips.yaml --baseline compat_tests/opensearch_baseline.json --update-baseline"
)


def load_baseline(path: str | Path) -> set[str]:
    file = Path(path)
    if not file.exists():
        return set()
    data = json.loads(file.read_text(encoding="utf-8"))
    passing = data.get("passing") if isinstance(data, dict) else data
    if not isinstance(passing, list):
        raise ValueError(f"{file}: expected {{'passing': [story ids]}}")
    return {str(item) for item in passing}


def write_baseline(path: str | Path, report: Report) -> int:
    passing = sorted({r.id for r in report if r.status == "pass"})
    data = {"about": _ABOUT, "passing": passing}
    Path(path).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(passing)


@dataclass
class BaselineCheck:
    regressions: list[tuple[str, str]] = field(default_factory=list)
    newly_passing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.regressions

    def lines(self) -> list[str]:
        out: list[str] = []
        if self.regressions:
            out.append(f"{len(self.regressions)} baseline story(ies) no longer pass:")
            out.extend(f"  REGRESSION  {sid}  [{why}]" for sid, why in self.regressions)
        if self.newly_passing:
            out.append(f"{len(self.newly_passing)} story(ies) pass that are not in the baseline:")
            out.extend(f"  NEW PASS  {sid}" for sid in self.newly_passing)
            out.append("  update the baseline with --update-baseline (see compat_tests/opensearch_baseline.json)")
        return out


def check_baseline(report: Report, baseline: Iterable[str], *, partial: bool = False) -> BaselineCheck:
    """Compare a run with the baseline; ``partial`` (a filtered run) ignores stories not run."""
    by_id = {r.id: r for r in report}
    check = BaselineCheck()
    for sid in sorted(set(baseline)):
        result = by_id.get(sid)
        if result is None:
            if not partial:
                check.regressions.append((sid, "not run"))
        elif result.status != "pass":
            check.regressions.append((sid, f"{result.status}: {' '.join(result.reason.split())[:300]}"))
    known = set(baseline)
    check.newly_passing = sorted(sid for sid, r in by_id.items() if r.status == "pass" and sid not in known)
    return check
