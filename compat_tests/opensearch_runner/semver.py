"""A small subset of npm ``semver`` ranges, enough for the ``version`` gates of test stories.

Supported: comparators ``<``, ``<=``, ``>``, ``>=``, ``=`` and bare versions, with partial
versions filled the npm way (``>2.0`` means ``>=2.1.0``, ``3`` means ``>=3.0.0 <4.0.0``), ``x``/``*``
wildcards, ``^``/``~``, hyphen ranges (``1.2 - 2.3``), space-separated conjunction and ``||``.
Pre-release tags are ignored.
"""

from __future__ import annotations

import re

__all__ = ["InvalidRange", "coerce", "satisfies"]

Version = tuple[int, int, int]

_VERSION = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_COMPARATOR = re.compile(
    r"(<=|>=|<|>|=|\^|~)?\s*v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+][0-9A-Za-z.-]*)?"
)
_MAX: Version = (1 << 62, 0, 0)


class InvalidRange(ValueError):
    """The version range cannot be parsed."""


def coerce(version: str) -> Version:
    """The first ``X[.Y[.Z]]`` in ``version``, missing parts as 0 (``"2.19.1-SNAPSHOT"`` -> (2, 19, 1))."""
    match = _VERSION.search(str(version))
    if match is None:
        raise ValueError(f"not a version: {version!r}")
    return (int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0))


def _bounds(op: str, parts: list[int | None]) -> tuple[Version, bool, Version, bool]:
    """(low, low_inclusive, high, high_inclusive) of one comparator; ``None`` parts are wildcards."""
    given = 0
    for part in parts:
        if part is None:
            break
        given += 1
    nums = [p if p is not None else 0 for p in parts[:given]] + [0] * (3 - given)
    base: Version = (nums[0], nums[1], nums[2])

    def bump(level: int) -> Version:  # next version at level (0 major, 1 minor)
        return (base[0] + 1, 0, 0) if level == 0 else (base[0], base[1] + 1, 0)

    low, high = (0, 0, 0), _MAX
    if given == 0:
        return low, True, high, False
    if op in ("", "="):
        if given == 3:
            return base, True, base, True
        return base, True, bump(given - 1), False
    if op == ">=":
        return base, True, high, False
    if op == ">":
        return (base, False, high, False) if given == 3 else (bump(given - 1), True, high, False)
    if op == "<":
        return low, True, base, False
    if op == "<=":
        return (low, True, base, True) if given == 3 else (low, True, bump(given - 1), False)
    if op == "~":
        return base, True, bump(0 if given == 1 else 1), False
    if op == "^":
        if base[0] > 0 or given == 1:
            return base, True, bump(0), False
        if base[1] > 0 or given == 2:
            return base, True, bump(1), False
        return base, True, (0, 0, base[2] + 1), False
    raise InvalidRange(f"unknown operator {op!r}")


def _parts(match: re.Match[str]) -> list[int | None]:
    out: list[int | None] = []
    for group in match.group(2, 3, 4):
        if group is None or group in ("x", "X", "*"):
            out.append(None)
        else:
            out.append(int(group))
    return out


def _conjunction_ok(version: Version, text: str) -> bool:
    text = text.strip()
    if text in ("", "*", "x", "X"):
        return True
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen:
        text = f">={hyphen.group(1)} <={hyphen.group(2)}"
    position = 0
    matched = False
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        match = _COMPARATOR.match(text, position)
        if match is None:
            raise InvalidRange(f"invalid version range {text!r}")
        low, low_inc, high, high_inc = _bounds(match.group(1) or "", _parts(match))
        if version < low or (version == low and not low_inc):
            return False
        if version > high or (version == high and not high_inc):
            return False
        position = match.end()
        matched = True
    if not matched:
        raise InvalidRange(f"invalid version range {text!r}")
    return True


def satisfies(version: str | Version | None, range_text: str | int | float | None) -> bool:
    """Whether ``version`` is in the npm-style range; no version or no range means yes."""
    if version is None or version == "" or range_text is None:
        return True
    current = coerce(version) if isinstance(version, str) else version
    results = [_conjunction_ok(current, alt) for alt in str(range_text).split("||")]
    return any(results)
