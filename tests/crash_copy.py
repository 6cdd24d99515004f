"""Copy a live shard directory the way a crash leaves it (tantivy adds and removes temp files meanwhile)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def _copy_if_present(src: str, dst: str) -> None:
    try:
        shutil.copy2(src, dst)
    except FileNotFoundError:
        pass  # a temp file tantivy removed while we copied


def crash_copy(live: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """A point-in-time-ish copy of ``live``; files that vanish during the copy are skipped."""
    try:
        shutil.copytree(live, target, copy_function=_copy_if_present)
    except shutil.Error as exc:  # a directory listed and then removed: keep what was copied
        if not all(isinstance(err, tuple) and "No such file" in str(err[-1]) for err in exc.args[0]):
            raise
    return Path(target)
