"""``date_nanos``: dates at nanosecond precision — parsing, range checks, rendering.

Storage (``native.schema``): a ``date_nanos`` field keeps two i64 columns, both indexed and fast:

- its own column (``FieldInfo.tantivy_name``) holds **epoch milliseconds** (the nanoseconds rounded down), so
  aggregations, ``exists`` and everything else that reads a ``date`` column work unchanged — ES itself
  aggregates date_nanos at millisecond resolution (date_histogram keys, min/max values are millis);
- a hidden column ``<tantivy_name>_ns`` (``FieldInfo.extra["nanos"]``) holds **epoch nanoseconds**; term and
  range queries, sorting, ``search_after`` and sort values read it (sort values are nanoseconds, as ES gives
  them).

``_source`` keeps the value as sent. ES's range applies: 1970-01-01T00:00:00Z .. 2262-04-11T23:47:16.854775807Z
(a signed 64-bit nanosecond count); a value outside it fails the document with ES's message.

A sort's ``numeric_type`` (``sort_unit_scale``) converts keys on the shard so that ``date`` (millis) and
``date_nanos`` (nanos) indices merge in one unit; a date outside 1970..2262 cannot become nanoseconds (ES's
error). ES aggregates date_nanos in milliseconds; queries, sort values and ``fields``/``docvalue_fields``
keep the nanoseconds (``format_date_nanos``: ``strict_date_optional_time_nanos`` prints 3 to 9 fractional
digits, ``epoch_millis`` a fraction of a millisecond).

A shard built before this encoding existed has no ``_ns`` column: its fingerprint (``native.shard``) carries
``STORAGE_ENCODING`` for date_nanos leaves, so it differs and the generation is rebuilt from ``_source`` when it
opens (``native.generations``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from native.date_calendar import Civil, DateParseError, _Zone, resolve_time_zone
from native.date_formats import (
    _NAMED_PATTERNS,
    _OPTIONAL_TIME_NAMES,
    _compile_pattern,
    _fields_to_millis,
    _format_pattern,
    _format_regex,
    _offset_text,
    split_formats,
)
from native.dates import _apply_math
from native.errors import IllegalArgument

__all__ = [
    "DEFAULT_NANOS_FORMATS",
    "MAX_NANOS",
    "NANOS_PER_MILLI",
    "STORAGE_ENCODING",
    "check_nanos_range",
    "format_date_nanos",
    "instant_text",
    "parse_date_math_nanos",
    "parse_date_nanos",
]

NANOS_PER_MILLI = 1_000_000
NANOS_PER_SECOND = 1_000_000_000
MAX_NANOS = 2**63 - 1  # 2262-04-11T23:47:16.854775807Z
DEFAULT_NANOS_FORMATS: tuple[str, ...] = ("strict_date_optional_time_nanos", "epoch_millis")
STORAGE_ENCODING = "ms+ns-columns-v1"  # in the shard fingerprint of date_nanos leaves

_EPOCH_RE = re.compile(r"^([+-]?\d+)(?:\.(\d+))?\Z")


def _parse_one(value: str, fmt: str, zone: _Zone, round_up: bool) -> int:
    if fmt in ("epoch_millis", "epoch_second"):
        match = _EPOCH_RE.match(value)
        if match is None:
            raise ValueError(value)
        whole, frac = match.group(1), match.group(2) or ""
        scale, digits = (NANOS_PER_MILLI, 6) if fmt == "epoch_millis" else (NANOS_PER_SECOND, 9)
        # rounding up, a missing fraction is the unit's last nanosecond (ES's round-up epoch parsers)
        part = int((frac + "0" * digits)[:digits]) if frac else (10**digits - 1 if round_up else 0)
        sign = -1 if whole.startswith("-") else 1
        return int(whole) * scale + sign * part
    regex = _format_regex(fmt) or _compile_pattern(fmt)
    match = regex.match(value)
    if match is None:
        raise ValueError(value)
    groups = match.groupdict()
    millis = _fields_to_millis(groups, zone, round_up)
    frac = groups.get("S")
    if frac:
        below = int((frac + "0" * 9)[:9]) % NANOS_PER_MILLI
    else:
        below = NANOS_PER_MILLI - 1 if round_up else 0
    return millis * NANOS_PER_MILLI + below


def parse_date_nanos(
    value: str | int | float,
    formats: str | Sequence[str] = DEFAULT_NANOS_FORMATS,
    *,
    time_zone: str | None = None,
    round_up: bool = False,
) -> int:
    """Parse a date with the first of ``formats`` that accepts it → epoch nanoseconds (the fraction kept to
    9 digits; ``epoch_millis`` takes up to 6 fractional digits, ``epoch_second`` up to 9)."""
    fmts = split_formats(formats)
    if isinstance(value, bool):
        raise DateParseError(value, "||".join(fmts))
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        text = str(value).strip()
    zone = resolve_time_zone(time_zone)
    for fmt in fmts:
        try:
            return _parse_one(text, fmt, zone, round_up)
        except (ValueError, OverflowError, IndexError):
            continue
    raise DateParseError(value, "||".join(fmts))


def parse_date_math_nanos(
    expr: str | int | float,
    *,
    now_millis: int,
    round_up: bool = False,
    formats: str | Sequence[str] = DEFAULT_NANOS_FORMATS,
    time_zone: str | None = None,
) -> int:
    """ES date math (``now-1d/d``, ``2024-01-01T00:00:00.000000001Z||+1h``) → epoch nanoseconds.

    Arithmetic keeps the nanoseconds below the millisecond; a rounding (``/d``) clears them, or fills them
    with 999 999 on the ``round_up`` side (``gt``/``lte``), as ES does."""
    if not isinstance(expr, str):
        return parse_date_nanos(expr, formats, time_zone=time_zone, round_up=round_up)
    if expr.startswith("now"):
        base, math = now_millis * NANOS_PER_MILLI, expr[3:]
    elif "||" in expr:
        head, math = expr.split("||", 1)
        base = parse_date_nanos(head, formats, time_zone=time_zone, round_up=round_up and not math)
    else:
        return parse_date_nanos(expr, formats, time_zone=time_zone, round_up=round_up)
    if not math:
        return base
    millis, below = divmod(base, NANOS_PER_MILLI)
    result = _apply_math(millis, math, resolve_time_zone(time_zone), round_up, expr)
    if "/" in math:
        below = NANOS_PER_MILLI - 1 if round_up else 0
    return result * NANOS_PER_MILLI + below


def instant_text(nanos: int) -> str:
    """``nanos`` as Java's ``Instant.toString`` prints it (the fraction in groups of 3 digits, none if 0)."""
    seconds, below = divmod(nanos, NANOS_PER_SECOND)
    civil = Civil.from_local_millis(seconds * 1000)
    day = f"{civil.year:04d}-{civil.month:02d}-{civil.day:02d}"
    text = f"{day}T{civil.hour:02d}:{civil.minute:02d}:{civil.second:02d}"
    if below:
        digits = f"{below:09d}"
        while digits.endswith("000"):
            digits = digits[:-3]
        text += "." + digits
    return text + "Z"


def check_nanos_range(nanos: int) -> int:
    """``nanos`` if a date_nanos field can hold it, else ES's ``ValueError``."""
    if nanos < 0:
        raise ValueError(
            f"date[{instant_text(nanos)}] is before the epoch in 1970 and cannot be stored in nanosecond resolution"
        )
    if nanos > MAX_NANOS:
        raise ValueError(
            f"date[{instant_text(nanos)}] is after 2262-04-11T23:47:16.854775807 and cannot be stored in "
            "nanosecond resolution"
        )
    return nanos


def _fraction(nano_of_second: int, minimum: int, maximum: int) -> str:
    """Java ``appendFraction(NANO_OF_SECOND, minimum, maximum, true)``: trailing zeros dropped down to
    ``minimum`` digits (no decimal point when nothing is left)."""
    digits = f"{nano_of_second:09d}"[:maximum].rstrip("0")
    digits += "0" * (minimum - len(digits))
    return "." + digits if digits else ""


def format_date_nanos(nanos: int, fmt: str = "strict_date_optional_time_nanos", time_zone: str | None = None) -> str:
    """Render epoch nanoseconds as ES renders a date_nanos value in ``fmt`` (first of ``a||b``):
    ``strict_date_optional_time_nanos`` prints 3 to 9 fractional digits, ``strict_date_optional_time``
    milliseconds, ``epoch_millis`` the millis with the nanoseconds below them as a fraction
    (``1540815132123.456789``), a pattern's ``S`` letters as many digits of the nano-of-second."""
    first = split_formats(fmt)[0] if fmt else DEFAULT_NANOS_FORMATS[0]
    nanos = int(nanos)
    if first in ("epoch_millis", "epoch_second"):
        scale, width = (NANOS_PER_MILLI, 6) if first == "epoch_millis" else (NANOS_PER_SECOND, 9)
        whole, below = divmod(nanos, scale)
        return str(whole) + _fraction(below * 10 ** (9 - width), 0, width)
    zone = resolve_time_zone(time_zone)
    millis = nanos // NANOS_PER_MILLI
    offset = zone.offset_at_utc(millis)
    civil = Civil.from_local_millis(millis + offset)
    nano_of_second = civil.milli * NANOS_PER_MILLI + nanos % NANOS_PER_MILLI
    if first in _OPTIONAL_TIME_NAMES:
        head = _format_pattern("yyyy-MM-dd'T'HH:mm:ss", civil, offset)
        maximum = 9 if first.endswith("_nanos") else 3
        return head + _fraction(nano_of_second, 3, maximum) + _offset_text(offset, 3, "X")
    pattern = _NAMED_PATTERNS.get(first.removeprefix("strict_"), first)
    return _format_pattern(pattern, civil, offset, nano_of_second)


# -- numeric_type: sorting date and date_nanos indices together -------------------------------------------------
def sort_unit_scale(mapping_type: str | None, numeric_type: str | None) -> int:
    """How a shard converts a date sort key for ``numeric_type``: +1 millis → nanos (a ``date`` field sorted as
    ``date_nanos``), -1 nanos → millis (a ``date_nanos`` field sorted as ``date``), 0 none — so keys of
    ``date`` and ``date_nanos`` indices compare in one unit when merged, as ES converts them per shard."""
    if numeric_type == "date_nanos" and mapping_type == "date":
        return 1
    if numeric_type == "date" and mapping_type == "date_nanos":
        return -1
    return 0


def to_sort_unit(value: object, scale: int) -> object:
    """A shard's key (in the field's unit) in the ``numeric_type``'s unit."""
    if scale == 0 or not isinstance(value, int) or isinstance(value, bool):
        return value
    if scale < 0:
        return value // NANOS_PER_MILLI
    if value < 0:  # ES's DateUtils.toNanoSeconds refuses what a long of nanoseconds cannot hold
        raise IllegalArgument(
            f"milliSeconds [{value}] are before the epoch in 1970 and cannot be processed in nanosecond resolution"
        )
    if value > MAX_NANOS // NANOS_PER_MILLI:
        raise IllegalArgument(
            f"milliSeconds [{value}] are after 2262-04-11T23:47:16.854775807 and cannot be processed in nanosecond "
            "resolution"
        )
    return value * NANOS_PER_MILLI


def from_sort_unit(value: object, scale: int, reverse: bool) -> object:
    """A ``search_after`` key (in the ``numeric_type``'s unit) as a key of the field's unit that keeps exactly
    the documents whose converted key comes after it."""
    if scale == 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    if scale > 0:  # nanos → the millis column: v * 1e6 > x  ⇔  v > floor(x / 1e6); v * 1e6 < x  ⇔  v < ceil
        return -(-value // NANOS_PER_MILLI) if reverse else value // NANOS_PER_MILLI
    # millis → the nanos column: v // 1e6 > x  ⇔  v > x * 1e6 + 999 999; v // 1e6 < x  ⇔  v < x * 1e6
    return value * NANOS_PER_MILLI if reverse else value * NANOS_PER_MILLI + NANOS_PER_MILLI - 1
