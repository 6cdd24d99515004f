"""ES's "did you mean" hints for unknown names (``SuggestingErrorOnUnknown`` and ``BaseRestHandler``).

A candidate is suggested when its Lucene Levenshtein similarity to the unknown name (``1 - edits / longer
length``) is above 0.5; suggestions go best first, ties by name.
"""

from __future__ import annotations

from collections.abc import Iterable


def similarity(a: str, b: str) -> float:
    """Lucene's ``LevenshteinDistance.getDistance``: 1 for equal strings, 0 for nothing in common."""
    if not a or not b:
        return 1.0 if a == b else 0.0
    previous = list(range(len(a) + 1))
    for j, cb in enumerate(b, 1):
        current = [j] + [0] * len(a)
        for i, ca in enumerate(a, 1):
            current[i] = min(current[i - 1] + 1, previous[i] + 1, previous[i - 1] + (ca != cb))
        previous = current
    return 1.0 - previous[len(a)] / max(len(a), len(b))


def suggestions(unknown: str, candidates: Iterable[str]) -> list[str]:
    """The candidates close to ``unknown``, best first."""
    scored = [(similarity(unknown, c), c) for c in set(candidates)]
    return [c for score, c in sorted((s for s in scored if s[0] > 0.5), key=lambda s: (-s[0], s[1]))]


def _phrase(keys: list[str]) -> str:
    return f"[{keys[0]}]" if len(keys) == 1 else f"any of [{', '.join(keys)}]"


def field_hint(unknown: str, candidates: Iterable[str]) -> str:
    """The tail of ``[parser] unknown field [x]``: `` did you mean [y]?`` or nothing."""
    keys = suggestions(unknown, candidates)
    return f" did you mean {_phrase(keys)}?" if keys else ""


def param_hint(unknown: str, candidates: Iterable[str]) -> str:
    """The tail of ``contains unrecognized parameter: [x]``: `` -> did you mean [y]?`` or nothing."""
    keys = suggestions(unknown, candidates)
    return f" -> did you mean {_phrase(keys)}?" if keys else ""
