"""Term patterns as tantivy (Rust ``regex``-syntax, whole-term anchored) regular expressions.

* ES ``wildcard``/``prefix`` → an escaped regex (``*`` → ``.*``, ``?`` → ``.``);
* Lucene ``regexp`` syntax → Rust syntax: ``@`` (any string), ``#`` (empty), ``"…"`` literals and
  ``<n-m>`` numeric intervals are rewritten; ``^``/``$`` are literals in Lucene; intersection ``&``
  and complement ``~`` have no Rust equivalent and are rejected when their flag is on;
* a lexicographic range over keyword terms (tantivy-py has no range query on text fields) →
  regexes for ``>= x`` / ``< x`` built from the bytes of ``x``.
"""

from __future__ import annotations

from native.errors import IllegalArgument

__all__ = ["escape", "lexicographic_range", "lucene_regex", "wildcard_regex"]

_RUST_META = set("\\.+*?()|[]{}^$#&-~")


def escape(text: str) -> str:
    return "".join("\\" + ch if ch in _RUST_META else ch for ch in text)


def wildcard_regex(pattern: str, normalize: object = None) -> str:
    """ES wildcard (``*``, ``?``, ``\\`` escapes) → regex; ``normalize`` maps the literal runs."""
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            text = "".join(literal)
            if callable(normalize):
                text = normalize(text)
            out.append(escape(text))
            literal.clear()

    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            literal.append(pattern[i + 1])
            i += 2
            continue
        if ch in "*?":
            flush()
            out.append(".*" if ch == "*" else ".")
        else:
            literal.append(ch)
        i += 1
    flush()
    return "".join(out)


_FLAG_NAMES = {"INTERSECTION", "COMPLEMENT", "EMPTY", "ANYSTRING", "INTERVAL", "NONE", "ALL"}


def _flags(flags: str) -> set[str]:
    names = {f.strip().upper() for f in (flags or "ALL").split("|") if f.strip()}
    unknown = names - _FLAG_NAMES
    if unknown:
        raise IllegalArgument(f"Unknown regexp flag [{sorted(unknown)[0]}]")
    if "ALL" in names:
        return _FLAG_NAMES - {"NONE", "ALL"}
    return names - {"NONE"}


def _interval(lo: str, hi: str) -> str:
    a, b = int(lo), int(hi)
    if a > b:
        a, b = b, a
    if b - a > 10_000:
        raise IllegalArgument(f"regexp interval <{lo}-{hi}> is too large")
    width = len(lo) if len(lo) == len(hi) else 0
    values = [f"{n:0{width}d}" if width else str(n) for n in range(a, b + 1)]
    return "(?:" + "|".join(values) + ")"


def lucene_regex(pattern: str, flags: str = "ALL") -> str:
    """Translate a Lucene ``RegExp`` into Rust regex syntax (anchoring is implicit in tantivy)."""
    enabled = _flags(flags)
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            out.append("\\" + nxt if nxt in "dDsSwW" else escape(nxt))
            i += 2
        elif ch == '"':
            end = pattern.find('"', i + 1)
            if end == -1:
                raise IllegalArgument(f"expected '\"' at position {n}")
            out.append(escape(pattern[i + 1 : end]))
            i = end + 1
        elif ch == "[":
            i = _class(pattern, i, out)
        elif ch == "@" and "ANYSTRING" in enabled:
            out.append("(?:.*)")
            i += 1
        elif ch == "#" and "EMPTY" in enabled:
            out.append("(?:)")
            i += 1
        elif ch == "<" and "INTERVAL" in enabled:
            end = pattern.find(">", i)
            body = pattern[i + 1 : end] if end != -1 else ""
            lo, dash, hi = body.partition("-")
            if end == -1 or not dash or not lo.isdigit() or not hi.isdigit():
                raise IllegalArgument(f"invalid interval in regexp [{pattern}]")
            out.append(_interval(lo, hi))
            i = end + 1
        elif ch in "&~" and ("INTERSECTION" if ch == "&" else "COMPLEMENT") in enabled:
            raise IllegalArgument(f"regexp operator [{ch}] is not supported")
        elif ch in "^$#&~@<>-":
            out.append(escape(ch))
            i += 1
        else:
            out.append(ch)  # . ? * + | ( ) { } and literals mean the same in both syntaxes
            i += 1
    return "(?s)" + "".join(out)


def _class(pattern: str, start: int, out: list[str]) -> int:
    """Copy one ``[...]`` class, escaping what Rust would read as nested classes or set operators."""
    i, n = start + 1, len(pattern)
    parts = ["["]
    if i < n and pattern[i] == "^":
        parts.append("^")
        i += 1
    first = True
    while i < n and (pattern[i] != "]" or first):
        ch = pattern[i]
        first = False
        if ch == "\\" and i + 1 < n:
            parts.append(escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "-" and len(parts) > 1 and i + 1 < n and pattern[i + 1] != "]":
            parts.append("-")
        else:
            parts.append(escape(ch) if ch in "[]&~-^\\" else ch)
        i += 1
    if i >= n:
        raise IllegalArgument(f"expected ']' at position {n}")
    parts.append("]")
    out.append("".join(parts))
    return i + 1


def _above(ch: str) -> str | None:
    code = ord(ch) + 1
    if code > 0x10FFFF:
        return None
    return f"[\\x{{{code:X}}}-\\x{{10FFFF}}]"


def _below(ch: str) -> str | None:
    code = ord(ch) - 1
    if code < 0:
        return None
    return f"[\\x{{0}}-\\x{{{code:X}}}]"


def _greater(x: str, inclusive: bool) -> str:
    alts = [escape(x) + (".*" if inclusive else ".+")]
    for i, ch in enumerate(x):
        cls = _above(ch)
        if cls is not None:
            alts.append(escape(x[:i]) + cls + ".*")
    return "(?s)(?:" + "|".join(alts) + ")"


def _less(x: str, inclusive: bool) -> str | None:
    alts = [escape(x[:i]) for i in range(len(x))]  # proper prefixes are smaller
    for i, ch in enumerate(x):
        cls = _below(ch)
        if cls is not None:
            alts.append(escape(x[:i]) + cls + ".*")
    if inclusive:
        alts.append(escape(x))
    if not alts:
        return None
    return "(?s)(?:" + "|".join(alts) + ")"


def lexicographic_range(
    lower: str | None, upper: str | None, include_lower: bool, include_upper: bool
) -> list[str] | None:
    """Regexes whose conjunction is the range; ``[]`` = everything, ``None`` = nothing."""
    regexes: list[str] = []
    if lower is not None:
        regexes.append(_greater(lower, include_lower))
    if upper is not None:
        less = _less(upper, include_upper)
        if less is None:
            return None
        regexes.append(less)
    return regexes
