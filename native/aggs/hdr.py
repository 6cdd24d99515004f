"""``percentiles`` / ``percentile_ranks`` with ``hdr: {number_of_significant_value_digits}``: an HDR histogram
(the ``hdrhistogram`` package) instead of a t-digest.

ES records doubles in an auto-ranging ``DoubleHistogram``; here the doubles are scaled by a power of two
``2^k`` into an integer ``HdrHistogram`` covering ``[1, 2^41]``, with ``k`` picked per shard so that the
largest value lands near the top (so every value keeps the requested number of significant digits down to
``2^-30`` of the largest). Partial: ``{"k": k, "h": the histogram's base64 encoding, "n": count}``. Two
partials merge by re-recording the finer one's buckets at the coarser scale (a bucket's values are all
equivalent at the precision asked for) and adding the histograms, which is associative up to that
precision.

Results are ES's: ``getValueAtPercentile`` (the highest value equivalent to the one at the rank) and
``getPercentileAtOrBelowValue`` (the share of values whose bucket is at or below the value's). Negative
values are refused, as ES does (an HDR histogram cannot record them).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from native.aggs.partials import Partial
from native.errors import IllegalArgument

_TOP_BITS = 41
_MAX_K = 60
_MIN_K = -1000


def _new(digits: int) -> HdrHistogram:
    return HdrHistogram(1, 1 << (_TOP_BITS + 1), max(1, digits))


def _scale_for(largest: float) -> int:
    if largest <= 0:
        return 0
    k = _TOP_BITS - 1 - math.frexp(largest)[1]
    return max(_MIN_K, min(_MAX_K, k))


def from_values(values: np.ndarray, digits: int) -> Partial:
    """The partial of raw values (empty ``{}`` when there are none)."""
    if values.size == 0:
        return {}
    if float(values.min()) < 0:
        raise IllegalArgument("Negative values are not supported by HDR aggregation")
    k = _scale_for(float(values.max()))
    scaled = np.rint(np.ldexp(values.astype(np.float64), k)).astype(np.int64)
    uniq, counts = np.unique(scaled, return_counts=True)
    hist = _new(digits)
    for value, count in zip(uniq.tolist(), counts.tolist(), strict=True):
        hist.record_value(int(value), int(count))
    return {"k": k, "h": hist.encode().decode(), "n": int(values.size)}


def _decode(p: Partial) -> HdrHistogram:
    return HdrHistogram.decode(p["h"].encode())


def _buckets(hist: HdrHistogram) -> list[tuple[int, int, int]]:
    """(lowest equivalent, highest equivalent, count) of every recorded bucket, ascending."""
    out = []
    for item in hist.get_recorded_iterator():
        high = int(item.value_iterated_to)
        out.append((int(hist.get_lowest_equivalent_value(high)), high, int(item.count_at_value_iterated_to)))
    return out


def merge(a: Partial, b: Partial, digits: int) -> Partial:
    if not a:
        return b
    if not b:
        return a
    if a["k"] > b["k"]:
        a, b = b, a
    target = _decode(a)
    shift = b["k"] - a["k"]  # b is finer: its values shrink by 2^shift
    for low, high, count in _buckets(_decode(b)):
        middle = (low + high) / 2.0
        target.record_value(max(0, round(math.ldexp(middle, -shift))), count)
    return {"k": a["k"], "h": target.encode().decode(), "n": a["n"] + b["n"]}


def quantile(p: Partial, percent: float) -> float:
    """ES ``DoubleHistogram.getValueAtPercentile``."""
    hist = _decode(p)
    buckets = _buckets(hist)
    total = sum(c for _, _, c in buckets)
    percent = min(max(percent, 0.0), 100.0)
    target = max(1, math.ceil(percent / 100.0 * total - 1e-9))
    running = 0
    for low, high, count in buckets:
        running += count
        if running >= target:
            value = high if percent > 0 else low
            return math.ldexp(float(value), -p["k"])
    return math.ldexp(float(buckets[-1][1]), -p["k"]) if buckets else math.nan


def rank(p: Partial, value: float) -> float:
    """ES ``DoubleHistogram.getPercentileAtOrBelowValue``."""
    hist = _decode(p)
    buckets = _buckets(hist)
    total = sum(c for _, _, c in buckets)
    if not total:
        return math.nan
    scaled = math.ldexp(value, p["k"])
    below = sum(c for low, _, c in buckets if low <= scaled)
    return 100.0 * below / total


def render(node_kind: str, percents: tuple[float, ...], keyed: bool, p: Partial) -> dict[str, Any]:
    results: list[tuple[float, float | None]] = []
    for x in percents:
        if not p:
            results.append((x, None))
        elif node_kind == "percentiles":
            results.append((x, quantile(p, x)))
        else:
            results.append((x, min(100.0, rank(p, x))))
    if keyed:
        return {"values": {repr(float(x)): v for x, v in results}}
    return {"values": [{"key": float(x), "value": v} for x, v in results]}
