"""``minimum_should_match`` as ES reads it: ``3``, ``-2``, ``75%``, ``-25%``, ``3<90%``, ``2<-25% 9<-3``."""

from __future__ import annotations

import math

from native.errors import IllegalArgument

__all__ = ["resolve_msm"]


def _single(spec: str, n: int) -> int:
    spec = spec.strip()
    try:
        if spec.endswith("%"):
            pct = float(spec[:-1])
            count = math.floor(n * abs(pct) / 100.0)
            return n - count if pct < 0 else count
        value = int(spec)
    except ValueError:
        raise IllegalArgument(f"cannot parse minimum_should_match [{spec}]") from None
    return n + value if value < 0 else value


def resolve_msm(spec: str | int | None, n: int) -> int:
    """How many of ``n`` optional clauses must match (may exceed ``n``: then nothing matches)."""
    if spec is None:
        return 0
    text = str(spec).strip()
    if "<" in text:
        result = n
        for part in text.split():
            bound, _, rule = part.partition("<")
            try:
                threshold = int(bound)
            except ValueError:
                raise IllegalArgument(f"cannot parse minimum_should_match [{text}]") from None
            if n > threshold:
                result = _single(rule, n)
        return max(0, result)
    return max(0, _single(text, n))
