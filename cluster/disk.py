"""Disk watermarks: the flood stage puts ES's ``read_only_allow_delete`` block on the node's indices.

As in Elasticsearch's ``DiskThresholdMonitor``: when the data path's disk is past
``cluster.routing.allocation.disk.watermark.flood_stage`` (95 % used, or less free than a byte size), every
open index on the node gets ``index.blocks.read_only_allow_delete``, so writes answer 429
``cluster_block_exception`` while searches go on; once the disk is back under the ``high`` watermark (90 %)
the block is lifted by itself. A percentage watermark frees at most ``…max_headroom`` of a large disk (100 GB
for the flood stage, 150 GB for high, when the watermark is left at its default), as in ES 8.

The disk is read every ``cluster.info.update.interval`` (30 s, as ES) by the embedded cluster's loop, and on
the write path at most once a second (``maybe_check``), so a filling disk is seen within a second of load
and a block is lifted by the first retried write after space returns. A shard that meets ENOSPC answers
``DiskFull`` (the same 429) for the write that found no room, whatever the watermarks say.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cluster.master import Master
from cluster.settings import (
    DISK_THRESHOLD_ENABLED,
    FLOOD_STAGE,
    HIGH_WATERMARK,
    INFO_UPDATE_INTERVAL,
    min_free_bytes,
)
from native.dates import parse_time_value
from native.errors import IllegalArgument, QuidditchError

log = logging.getLogger(__name__)

BLOCK = "read_only_allow_delete"
WRITE_CHECK_S = 1.0  # the write path reads the disk at most this often


@dataclass(frozen=True)
class DiskUsage:
    total: int
    free: int

    @property
    def used_percent(self) -> float:
        return 100.0 * (self.total - self.free) / self.total if self.total else 0.0


def disk_usage(path: str) -> DiskUsage:
    stat = os.statvfs(path)
    return DiskUsage(stat.f_blocks * stat.f_frsize, stat.f_bavail * stat.f_frsize)


class DiskWatermarks:
    """Reads the data path's disk and puts or lifts the flood-stage block on the master's indices."""

    def __init__(self, master: Master, path: str, usage: Callable[[str], DiskUsage] = disk_usage) -> None:
        self.master = master
        self.path = path
        self._usage = usage
        self._lock = threading.Lock()
        self._last = float("-inf")
        # Past the flood stage: every write is refused (``WriteCoordinator``) even when the block could not be
        # saved. Blocks are lifted when the disk goes from past the flood stage to under the high watermark, so
        # a block an operator put on a healthy disk stays; a node restarted while flooded lifts them too.
        self.flooded = any(_blocked(m.settings) for m in master.state.indices.values())

    def update_interval(self) -> float:
        value = self.master.cluster_setting(INFO_UPDATE_INTERVAL)
        try:
            return max(0.1, parse_time_value(str(value))) if value is not None else 30.0
        except (ValueError, IllegalArgument):
            return 30.0

    def maybe_check(self) -> None:
        """``check`` unless the disk was read less than ``WRITE_CHECK_S`` ago (the write path's call)."""
        if time.monotonic() - self._last >= WRITE_CHECK_S:
            self.check()

    def check(self) -> None:
        """Read the disk; past the flood stage, block every open index; under the high watermark, lift the
        blocks. In between, nothing changes (ES's hysteresis)."""
        with self._lock:
            self._last = time.monotonic()
            setting = self.master.cluster_setting
            if str(setting(DISK_THRESHOLD_ENABLED) or "true").lower() == "false":
                if self.flooded:
                    self.flooded = False
                    self._lift()
                return
            try:
                usage = self._usage(self.path)
            except OSError:
                log.exception("cannot read the disk usage", extra={"path": self.path})
                return
            try:
                flood, high = (min_free_bytes(key, setting(key), setting(key + ".max_headroom"), usage.total)
                               for key in (FLOOD_STAGE, HIGH_WATERMARK))  # fmt: skip
            except IllegalArgument:
                log.exception("unreadable disk watermark setting")
                return
            if usage.free < flood:
                if not self.flooded:
                    log.warning("flood-stage disk watermark exceeded: indices become read-only-allow-delete",
                                extra={"path": self.path, "used_percent": round(usage.used_percent, 1),
                                       "free_bytes": usage.free})  # fmt: skip
                self.flooded = True
                self._block()
            elif usage.free >= high and self.flooded:
                log.info("disk usage under the high watermark: lifting read-only-allow-delete blocks",
                         extra={"path": self.path, "free_bytes": usage.free})  # fmt: skip
                self.flooded = False
                self._lift()

    def _block(self) -> None:
        names = [m.name for m in self.master.state.indices.values() if m.is_open and not _blocked(m.settings)]
        self._set(names, True)

    def _lift(self) -> None:
        self._set([m.name for m in self.master.state.indices.values() if _blocked(m.settings)], False)

    def _set(self, names: list[str], value: bool) -> None:
        """Put or lift the block in the cluster state. A full disk may refuse that write too: writes are
        refused meanwhile all the same (``flooded``), and the next check tries again."""
        if not names:
            return
        try:
            self.master.set_block(names, BLOCK, value)
        except (QuidditchError, OSError) as exc:
            log.warning("cannot save the flood-stage block", extra={"indices": names, "error": str(exc)})


def _blocked(settings: Mapping[str, str]) -> bool:
    return str(settings.get(f"index.blocks.{BLOCK}", "false")).lower() == "true"
