"""Values a request puts into a sort: ``search_after`` keys and ``missing``, read as the sort field's type.

ES reads each ``search_after`` value with the sort field's type (``SearchAfterBuilder``): a number or a
numeric string for a numeric field, a date string or epoch millis for a date, any scalar (as text) for a
keyword. A value that does not read is a 400 ``illegal_argument_exception`` "Failed to parse search_after
value for field [f]." and a count that differs from the sort's is "search_after has N value(s) but sort has
M." Both are shard-level failures: the leaf wraps them in ``search_phase_execution_exception``.

Java's double → long conversion saturates, so a long sort key past the 64-bit range is clamped here too;
that keeps ``search_after: [1e308]`` a valid (empty) page instead of a value tantivy refuses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from native import dates
from native.date_nanos import parse_date_nanos
from native.errors import IllegalArgument, QuidditchError
from native.fields import NUMERIC_FLOAT_TYPES, FieldInfo

__all__ = ["coerce_missing", "coerce_search_after"]

_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1


def _shard_failure(reason: str) -> IllegalArgument:
    return IllegalArgument(reason)  # the leaf reports it as this shard's failure


def _as_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(value)
    number: int | float
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            number = float(text)
    else:
        number = value
    if isinstance(number, float):
        if math.isnan(number):
            raise ValueError(value)
        if math.isinf(number):
            return _I64_MAX if number > 0 else _I64_MIN
        number = int(number)
    return max(_I64_MIN, min(_I64_MAX, number))


def _as_double(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(value)
    number = float(value)
    if math.isnan(number):
        raise ValueError(value)
    return number


def _as_date(value: Any, info: FieldInfo, fmt: str | None = None) -> int:
    if isinstance(value, str):
        try:
            return _as_long(value)
        except ValueError:
            formats = (fmt, *info.date_formats) if fmt else info.date_formats
            return _as_long(dates.parse_date(value, formats))
    return _as_long(value)


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def _coerce_one(value: Any, field: str, info: FieldInfo | None, fmt: str | None = None) -> Any:
    if value is None:
        return None
    if field == "_score":
        return _as_double(value)
    if info is None:  # an unmapped field (``unmapped_type``): only missing values, any scalar compares
        if isinstance(value, dict | list):
            raise ValueError(value)
        return value
    es_type = info.es_type
    if es_type == "boolean":
        if isinstance(value, bool):
            return int(value)
        if value in ("true", "false"):
            return int(value == "true")
        return 1 if _as_long(value) else 0
    if info.extra.get("mapping_type") == "date_nanos":  # nanoseconds, as sort values are given
        if _numeric(value):
            return _as_long(value)
        formats = (fmt, *info.date_formats) if fmt else info.date_formats
        return parse_date_nanos(value, formats)
    if es_type == "date" or es_type == "date_nanos":
        return _as_date(value, info, fmt)
    if es_type in NUMERIC_FLOAT_TYPES:
        return _as_double(value)
    if es_type in ("keyword", "text"):  # ``text``: a ``fielddata`` text field's terms (``native.fielddata``)
        if isinstance(value, dict | list):
            raise ValueError(value)
        return ("true" if value else "false") if isinstance(value, bool) else str(value)
    if es_type == "unsigned_long":  # a u64 column: keep the whole unsigned range
        return _as_unsigned(value)
    return _as_long(value)


def _as_unsigned(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, min(2**64 - 1, value))
    if isinstance(value, str):
        try:
            return max(0, min(2**64 - 1, int(value.strip())))
        except ValueError:
            pass
    number = _as_double(value)
    return 2**64 - 1 if number >= 2.0**64 else max(0, int(number))


def coerce_search_after(
    search_after: Sequence[Any],
    fields: Sequence[str],
    infos: Sequence[FieldInfo | None],
    formats: Sequence[str | None] | None = None,
) -> tuple[Any, ...]:
    """``search_after`` as the sort keys' own types, or a shard failure naming the field that did not read."""
    if len(search_after) != len(fields):
        raise _shard_failure(f"search_after has {len(search_after)} value(s) but sort has {len(fields)}.")
    out = []
    for i, (value, field, info) in enumerate(zip(search_after, fields, infos, strict=True)):
        try:
            out.append(_coerce_one(value, field, info, formats[i] if formats else None))
        except (ValueError, TypeError, OverflowError, QuidditchError):
            raise _shard_failure(f"Failed to parse search_after value for field [{field}].") from None
    return tuple(out)


def coerce_missing(missing: Any, field: str, info: FieldInfo | None) -> Any:
    """A sort's ``missing`` value (other than ``_first``/``_last``) as the field's type."""
    if missing in ("_first", "_last"):
        return missing
    if missing is None or isinstance(missing, dict | list):
        raise _shard_failure(f"[sort] unsupported [missing] value [{missing}] for field [{field}]")
    try:
        return _coerce_one(missing, field, info)
    except (ValueError, TypeError, OverflowError, QuidditchError):
        raise _shard_failure(f'For input string: "{missing}"') from None
