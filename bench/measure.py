"""Latency measurement with HdrHistogram: repeat a callable N times within a time budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hdrh.histogram import HdrHistogram

MAX_US = 120_000_000


def new_histogram() -> HdrHistogram:
    return HdrHistogram(1, MAX_US, 3)


def summarize(hist: HdrHistogram, errors: int = 0) -> dict[str, Any]:
    count = hist.get_total_count()
    if count == 0:
        return {"n": 0, "errors": errors, "p50_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    return {
        "n": count,
        "errors": errors,
        "p50_ms": hist.get_value_at_percentile(50) / 1000,
        "p99_ms": hist.get_value_at_percentile(99) / 1000,
        "max_ms": hist.get_max_value() / 1000,
        "mean_ms": round(hist.get_mean_value() / 1000, 4),
    }


def latency(fn: Callable[[], Any], reps: int, budget_s: float, warmup: int = 5) -> dict[str, Any]:
    """Run ``fn`` ``warmup`` times, then up to ``reps`` times or until ``budget_s`` elapses.

    ``fn`` returns a truthy value on success; an exception or a falsy result counts as an error.
    """
    hist = new_histogram()
    errors = 0
    last_error = None
    deadline = time.monotonic() + budget_s
    for _ in range(warmup):
        try:
            fn()
        except Exception as exc:
            last_error = repr(exc)[:300]
        if time.monotonic() > deadline:
            break
    for _ in range(reps):
        if time.monotonic() > deadline:
            break
        t0 = time.perf_counter_ns()
        try:
            ok = fn()
        except Exception as exc:
            ok = False
            last_error = repr(exc)[:300]
        dt_us = max(1, (time.perf_counter_ns() - t0) // 1000)
        if ok:
            hist.record_value(min(dt_us, MAX_US))
        else:
            errors += 1
    out = summarize(hist, errors)
    if last_error and errors:
        out["last_error"] = last_error
    return out
