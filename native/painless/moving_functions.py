"""``MovingFunctions.*``: the window functions a ``moving_fn`` script calls, with ES's exact arithmetic.

Every function ignores NaN entries of the window (gaps); an empty window gives NaN (``sum`` gives 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any


def _real(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if not math.isnan(v)]


def window_max(values: Sequence[float]) -> float:
    real = _real(values)
    return max(real) if real else math.nan


def window_min(values: Sequence[float]) -> float:
    real = _real(values)
    return min(real) if real else math.nan


def window_sum(values: Sequence[float]) -> float:
    total = 0.0
    for value in _real(values):
        total += value
    return total


def unweighted_avg(values: Sequence[float]) -> float:
    real = _real(values)
    if not real:
        return math.nan
    total = 0.0
    for value in real:
        total += value
    return total / len(real)


def std_dev(values: Sequence[float], avg: float) -> float:
    if math.isnan(avg):
        return math.nan
    real = _real(values)
    if not real:
        return math.nan
    squares = 0.0
    for value in real:
        squares += (value - avg) ** 2
    return math.sqrt(squares / len(real))


def linear_weighted_avg(values: Sequence[float]) -> float:
    avg, total_weight, current = 0.0, 1, 1
    for value in _real(values):
        avg += value * current
        total_weight += current
        current += 1
    return math.nan if total_weight == 1 else avg / total_weight


def ewma(values: Sequence[float], alpha: float) -> float:
    avg = math.nan
    first = True
    for value in _real(values):
        if first:
            avg, first = value, False
        else:
            avg = value * alpha + avg * (1 - alpha)
    return avg


def holt(values: Sequence[float], alpha: float, beta: float) -> float:
    s = b = last_s = last_b = 0.0
    counter = 0
    for value in _real(values):
        if counter == 0:
            s, b = value, 0.0
        else:
            s = alpha * value + (1.0 - alpha) * (last_s + last_b)
            b = beta * (s - last_s) + (1 - beta) * last_b
        counter += 1
        last_s, last_b = s, b
    return math.nan if counter == 0 else s


def holt_winters(
    values: Sequence[float], alpha: float, beta: float, gamma: float, period: int, multiplicative: bool
) -> float:
    if len(values) < period * 2:
        raise ValueError(
            f"Holt-Winters aggregation requires at least (2 * period == 2 * {period} == {2 * period}) "
            f"data-points to function.  Only [{len(values)}] were provided."
        )
    padding = 0.0000000001
    vs = [0.0] * len(values)
    counter = 0
    for value in _real(values):
        vs[counter] = value + padding
        counter += 1
    if counter == 0:
        return math.nan
    s = b = last_b = 0.0
    for i in range(period):
        s += vs[i]
        b += (vs[i + period] - vs[i]) / period
    s /= period
    b /= period
    last_s = s
    seasonal = [0.0] * len(values)
    if s != 0.0:
        for i in range(period):
            seasonal[i] = vs[i] / s
    for i in range(period, len(vs)):
        if multiplicative:
            s = alpha * (vs[i] / seasonal[i - period]) + (1.0 - alpha) * (last_s + last_b)
        else:
            s = alpha * (vs[i] - seasonal[i - period]) + (1.0 - alpha) * (last_s + last_b)
        b = beta * (s - last_s) + (1 - beta) * last_b
        if multiplicative:
            seasonal[i] = gamma * (vs[i] / (last_s + last_b)) + (1 - gamma) * seasonal[i - period]
        else:
            seasonal[i] = gamma * (vs[i] - (last_s - last_b)) + (1 - gamma) * seasonal[i - period]
        last_s, last_b = s, b
    idx = len(values) - period
    return (s + b) * seasonal[idx] if multiplicative else s + b + seasonal[idx]


# name → (function, argument kinds: "a" double[], "d" double, "i" int, "b" boolean)
FUNCTIONS: dict[str, tuple[Callable[..., float], str]] = {
    "max": (window_max, "a"),
    "min": (window_min, "a"),
    "sum": (window_sum, "a"),
    "unweightedAvg": (unweighted_avg, "a"),
    "stdDev": (std_dev, "ad"),
    "linearWeightedAvg": (linear_weighted_avg, "a"),
    "ewma": (ewma, "ad"),
    "holt": (holt, "add"),
    "holtWinters": (holt_winters, "adddib"),
}


def call(name: str, args: Sequence[Any]) -> float:
    function, _ = FUNCTIONS[name]
    return function(*args)
