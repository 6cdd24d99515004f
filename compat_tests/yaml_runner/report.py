"""Test results, the console line format and the JSON report.

JSON shape::

    {"summary": {"passed": N, "failed": M, "skipped": K},
     "suites": {"<folder>": {"passed": .., "failed": .., "skipped": ..}, ...},
     "tests": [{"id": "<file>::<test>", "status": "pass|fail|skip", "reason": "...",
                "detail": "..."}, ...],
     "server_errors": ["<file>::<test>: METHOD /path -> 500", ...]}

``<folder>`` is the folder holding the YAML file, relative to the root path it was found under.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["Report", "Status", "TestResult"]

Status = Literal["pass", "fail", "skip"]
_LABEL = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}
_COUNT_KEY = {"pass": "passed", "fail": "failed", "skip": "skipped"}


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


@dataclass(frozen=True)
class TestResult:
    id: str
    status: Status
    reason: str = ""
    detail: str = ""
    suite: str = "."
    root: str = ""

    def line(self) -> str:
        out = f"{_LABEL[self.status]}  {self.id}"
        if self.reason:
            out += f"  [{_one_line(self.reason)}]"
        return out

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id, "status": self.status, "reason": self.reason}
        if self.detail:
            item["detail"] = self.detail
        if self.root:
            item["root"] = self.root
        return item


class Report:
    def __init__(self) -> None:
        self.results: list[TestResult] = []
        self.server_errors: list[str] = []  # "<test id>: METHOD /path -> status" for every answer >= 500

    def add(self, result: TestResult) -> None:
        self.results.append(result)

    def __iter__(self) -> Iterator[TestResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @staticmethod
    def _empty() -> dict[str, int]:
        return {"passed": 0, "failed": 0, "skipped": 0}

    def summary(self) -> dict[str, int]:
        counts = self._empty()
        for result in self.results:
            counts[_COUNT_KEY[result.status]] += 1
        return counts

    @property
    def passed(self) -> int:
        return self.summary()["passed"]

    @property
    def failed(self) -> int:
        return self.summary()["failed"]

    @property
    def skipped(self) -> int:
        return self.summary()["skipped"]

    def suites(self) -> dict[str, dict[str, int]]:
        suites: dict[str, dict[str, int]] = {}
        for result in self.results:
            counts = suites.setdefault(result.suite, self._empty())
            counts[_COUNT_KEY[result.status]] += 1
        return dict(sorted(suites.items()))

    def by_id(self, test_id: str) -> TestResult:
        for result in self.results:
            if result.id == test_id:
                return result
        raise KeyError(test_id)

    def final_line(self) -> str:
        counts = self.summary()
        line = f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
        return line + (f", {len(self.server_errors)} answers >= 500" if self.server_errors else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "suites": self.suites(),
            "tests": [r.to_dict() for r in self.results],
            "server_errors": list(self.server_errors),
        }

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
