"""The skips file: tests the runner must not run, each with a mandatory reason.

Format (YAML, a list of entries)::

    - path: "search/10_source_filtering.yml"          # a whole file (glob allowed)
      reason: "source filtering on nested objects not implemented"
    - path: "search.aggregation/*"                     # a whole folder
      reason: "aggregations come later"
    - path: "search/*.yml::*highlight*"                # file glob :: test-name glob
      reason: "highlighting not implemented"
    - path: "cat.*/*"                                  # optional: only under roots matching a glob
      root: "*elasticsearch-clients-tests*"
      reason: "..."

``path`` is matched against the test id ``<file relative to its root>::<test name>`` with shell
globs (``*`` also crosses ``/``; case-sensitive).  Without ``::`` it matches the file path alone,
or any file below it when it names a folder.  An entry without ``path`` or ``reason`` is an
error.  An empty file, or ``[]``, means no skips.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml

__all__ = ["SkipEntry", "SkipList", "SkipsFileError", "load_skips"]


class SkipsFileError(Exception):
    """The skips file is malformed."""


@dataclass(frozen=True)
class SkipEntry:
    path: str
    reason: str
    root: str | None = None

    def matches(self, test_id: str, root: str | None = None) -> bool:
        if self.root is not None and (root is None or not fnmatchcase(root, self.root)):
            return False
        file_part, _, test_part = test_id.partition("::")
        if "::" in self.path:
            file_glob, _, test_glob = self.path.partition("::")
            return fnmatchcase(file_part, file_glob) and fnmatchcase(test_part, test_glob)
        folder = self.path.rstrip("/")
        return fnmatchcase(file_part, self.path) or fnmatchcase(file_part, folder + "/*")


class SkipList:
    def __init__(self, entries: list[SkipEntry] | None = None) -> None:
        self.entries = list(entries or [])

    def __len__(self) -> int:
        return len(self.entries)

    def reason_for(self, test_id: str, root: str | None = None) -> str | None:
        for entry in self.entries:
            if entry.matches(test_id, root):
                return entry.reason
        return None

    @classmethod
    def from_data(cls, data: Any, source: str = "skips") -> SkipList:
        if data is None:
            return cls()
        if not isinstance(data, list):
            raise SkipsFileError(f"{source}: expected a list of {{path, reason}} entries")
        entries: list[SkipEntry] = []
        for position, item in enumerate(data, start=1):
            if not isinstance(item, dict):
                raise SkipsFileError(f"{source}: entry {position} must be a mapping")
            unknown = sorted(set(item) - {"path", "reason", "root"})
            if unknown:
                raise SkipsFileError(f"{source}: entry {position} has unknown keys {unknown}")
            path = item.get("path")
            reason = item.get("reason")
            if not isinstance(path, str) or not path.strip():
                raise SkipsFileError(f"{source}: entry {position} has no path")
            if not isinstance(reason, str) or not reason.strip():
                raise SkipsFileError(f"{source}: entry {position} ({path}) has no reason")
            root = item.get("root")
            entries.append(SkipEntry(path=path.strip(), reason=reason.strip(), root=str(root) if root else None))
        return cls(entries)


def load_skips(path: str | Path) -> SkipList:
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SkipsFileError(f"{file}: invalid YAML: {exc}") from exc
    return SkipList.from_data(data, str(file))
