"""``requests_per_second`` for ``_reindex``, ``_update_by_query`` and ``_delete_by_query``, as ES paces them.

ES waits after each batch so that the batch's documents take ``docs / requests_per_second`` seconds, counting
the time the batch itself took (a batch of 1000 at 500 per second that took 0.5 s waits 1.5 s more). The
wait is reported as ``throttled_millis``. ``_rethrottle`` changes the rate of a running task: the wait in
progress is measured again at the new rate, so a faster rate takes effect at once (ES applies a slower rate
from the next batch; here it lengthens the current wait too, which paces no faster than asked).
"""

from __future__ import annotations

import asyncio
import math
import time

from native.errors import IllegalArgument

__all__ = ["Throttle", "parse_requests_per_second"]

UNLIMITED = -1.0


def parse_requests_per_second(raw: str | None) -> float:
    """The parameter's value: ``-1`` (the default) is unlimited, anything else must be a float above 0."""
    if raw is None or raw.strip() == "-1":
        return UNLIMITED
    try:
        rate = float(raw)
    except ValueError:
        raise IllegalArgument(f"failed to parse [requests_per_second] with value [{raw}] as a float") from None
    if not rate > 0 or not math.isfinite(rate):
        raise IllegalArgument(
            f"[requests_per_second] must be a float greater than 0. Use -1 to disable throttling. Found [{raw}]"
        )
    return rate


class Throttle:
    """The pace of one task; ``rate`` is documents per second, or ``UNLIMITED``."""

    def __init__(self, rate: float = UNLIMITED) -> None:
        self.rate = rate
        self.throttled_seconds = 0.0
        self.until: float = 0.0  # monotonic time the current wait ends (0: not waiting)
        self._changed = asyncio.Event()

    @property
    def limited(self) -> bool:
        return self.rate > 0

    def set_rate(self, rate: float) -> None:
        self.rate = rate
        self._changed.set()

    async def pace(self, docs: int, batch_started: float) -> None:
        """Wait until ``docs`` documents started at ``batch_started`` (monotonic) are within the rate."""
        while self.limited and docs > 0:
            self._changed.clear()
            now = time.monotonic()
            self.until = batch_started + docs / self.rate
            if now >= self.until:
                break
            try:
                await asyncio.wait_for(self._changed.wait(), self.until - now)
            except TimeoutError:
                pass
            self.throttled_seconds += time.monotonic() - now
        self.until = 0.0

    def status(self) -> dict[str, float | int]:
        """The throttling fields of a reindex / by-query response or task status."""
        until = max(0.0, self.until - time.monotonic()) if self.until else 0.0
        return {
            "throttled_millis": int(self.throttled_seconds * 1000),
            "requests_per_second": self.rate if self.limited else UNLIMITED,
            "throttled_until_millis": int(until * 1000),
        }
