"""A subset of Java's ``DecimalFormat`` for the ``format`` of numeric aggregations (``key_as_string``,
``value_as_string``).

Supported: ``0`` / ``#`` digits, one ``.``, ``,`` grouping (group size = digits after the last comma of the
integer part), a trailing ``%`` (x100) or ``‰`` (x1000), quoted or plain literal prefixes/suffixes, an
optional ``;negative`` sub-pattern (only its prefix/suffix are used), scientific ``0.0E0``. Rounding is
HALF_EVEN as in DecimalFormat. ES's named formats ``raw`` (``Double.toString``) are handled too.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

_DIGITS = set("0#,.")


@lru_cache(maxsize=64)
def _compile(pattern: str) -> tuple[str, str, str, str, int, int, int, int, int, int | None]:
    """(prefix, suffix, neg_prefix, neg_suffix, min_int, min_frac, max_frac, group, scale, exp_digits)."""
    positive, _, negative = _split_unquoted(pattern, ";")
    prefix, core, suffix = _parts(positive)
    exp_digits: int | None = None
    if "E" in core:
        core, _, exp = core.partition("E")
        exp_digits = max(1, exp.count("0"))
    int_part, _, frac_part = core.partition(".")
    group = 0
    if "," in int_part:
        group = len(int_part) - int_part.rfind(",") - 1
    digits = int_part.replace(",", "")
    min_int = digits.count("0")
    min_frac = frac_part.count("0")
    max_frac = min_frac + frac_part.count("#")
    scale = 0
    if "%" in prefix + suffix:
        scale = 2
    elif "\u2030" in prefix + suffix:
        scale = 3
    if negative:
        neg_prefix, _, neg_suffix = _parts(negative)
    else:
        neg_prefix, neg_suffix = "-" + prefix, suffix
    return prefix, suffix, neg_prefix, neg_suffix, min_int, min_frac, max_frac, group, scale, exp_digits


def _split_unquoted(text: str, sep: str) -> tuple[str, str, str]:
    quoted = False
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif ch == sep and not quoted:
            return text[:i], sep, text[i + 1 :]
    return text, "", ""


def _parts(pattern: str) -> tuple[str, str, str]:
    """Literal prefix, number core, literal suffix (quotes removed from literals)."""
    i = 0
    prefix: list[str] = []
    quoted = False
    while i < len(pattern) and (quoted or pattern[i] not in _DIGITS):
        ch = pattern[i]
        if ch == "'":
            quoted = not quoted
        else:
            prefix.append(ch)
        i += 1
    j = i
    while j < len(pattern) and (pattern[j] in _DIGITS or pattern[j] == "E" or (pattern[j] == "0")):
        j += 1
    suffix = pattern[j:].replace("'", "")
    return "".join(prefix), pattern[i:j], suffix


def format_number(value: float | int, pattern: str) -> str:
    """``value`` rendered with a DecimalFormat ``pattern`` (``raw``/empty → ``Double.toString``)."""
    if pattern in ("", "raw") or pattern is None:
        return _java_double(value)
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    prefix, suffix, neg_prefix, neg_suffix, min_int, min_frac, max_frac, group, scale, exp_digits = _compile(pattern)
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(int(value))
    negative = number < 0
    number = abs(number).scaleb(scale)
    if exp_digits is not None:
        text = _scientific(number, max(min_int, 1), min_frac, max_frac, exp_digits)
    else:
        text = _fixed(number, min_int, min_frac, max_frac, group)
    if negative and any(ch not in "0.,E" for ch in text):
        return neg_prefix + text + neg_suffix
    return prefix + text + suffix


def _fixed(number: Decimal, min_int: int, min_frac: int, max_frac: int, group: int) -> str:
    rounded = number.quantize(Decimal(1).scaleb(-max_frac), rounding=ROUND_HALF_EVEN)
    text = f"{rounded:f}"
    int_text, _, frac_text = text.partition(".")
    frac_text = frac_text.rstrip("0")
    if len(frac_text) < min_frac:
        frac_text = frac_text.ljust(min_frac, "0")
    int_text = int_text.lstrip("0")
    if len(int_text) < min_int:
        int_text = int_text.rjust(min_int, "0")
    if group > 0 and len(int_text) > group:
        chunks: list[str] = []
        while len(int_text) > group:
            chunks.insert(0, int_text[-group:])
            int_text = int_text[:-group]
        chunks.insert(0, int_text)
        int_text = ",".join(chunks)
    if not int_text and not frac_text:
        int_text = "0"
    return int_text + ("." + frac_text if frac_text else "")


def _scientific(number: Decimal, int_digits: int, min_frac: int, max_frac: int, exp_digits: int) -> str:
    if number == 0:
        exponent = 0
    else:
        exponent = number.adjusted() - (int_digits - 1)
    mantissa = number.scaleb(-exponent)
    body = _fixed(mantissa, int_digits, min_frac, max_frac, 0)
    sign = "-" if exponent < 0 else ""
    return f"{body}E{sign}{str(abs(exponent)).rjust(exp_digits, '0')}"


def _java_double(value: float | int) -> str:
    from native.aggs.partials import java_double

    return java_double(float(value))
