"""ES's "did you mean" for an unknown parameter or metric: the known names close to the one given.

ES ranks candidates with Lucene's ``LevenshteinDistance`` (similarity ``1 - edits / longer length``) and
keeps those above 0.5, best first; the suffix is `` -> did you mean [a]?`` or ``[a, b]?`` for several.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["did_you_mean", "similarity"]


def _edits(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def similarity(a: str, b: str) -> float:
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - _edits(a, b) / longest


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` -> did you mean [x]?`` when some known names are close to ``name``, else ``""``."""
    scored = sorted(((similarity(name, k), k) for k in known), key=lambda p: (-p[0], p[1]))
    close = [k for score, k in scored if score > 0.5]
    if not close:
        return ""
    return f" -> did you mean {'[' + close[0] + ']' if len(close) == 1 else '[' + ', '.join(close) + ']'}?"
