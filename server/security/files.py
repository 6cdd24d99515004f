"""Where security state lives in the data dir, and how it is written (atomically, owner-only)."""

from __future__ import annotations

import contextlib
import os

__all__ = ["security_dir", "write_private"]


def security_dir(data_dir: str) -> str:
    """``<data_dir>/security``: ``users``, ``users_roles`` (ES's file-realm formats) and ``api_keys.json``."""
    return os.path.join(data_dir, "security")


def write_private(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data``: a 0600 temporary file, fsynced, renamed over it, directory fsynced."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
