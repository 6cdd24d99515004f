"""The data directory lock: one process at a time owns a data dir (ES's ``node.lock``).

``quidditch serve`` takes it for its lifetime; offline tools (``quidditch shard remove-corrupted-data``)
take it too and refuse to run while a server holds it. An ``flock`` on ``<data>/node.lock``: the kernel
drops it when the process exits, however it exits, so a killed server never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os

from native.errors import QuidditchError


class DataDirLocked(QuidditchError):
    status = 500
    es_type = "lock_obtain_failed_exception"


class DataDirLock:
    def __init__(self, data_dir: str) -> None:
        self.path = os.path.join(data_dir, "node.lock")
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        """Take the lock or raise ``DataDirLocked`` at once (never waits)."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirLocked(
                f"failed to obtain node lock [{self.path}]: another quidditch process holds the data directory"
            ) from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
