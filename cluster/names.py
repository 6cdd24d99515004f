"""Index and alias names: ES's naming rules and index expressions (comma lists, wildcards, exclusions, aliases).

Index names and alias names share one namespace, as in ES; both may be written as date math
(``<logs-{now/d}>``). Errors specific to names live here:

BadRequest
├── InvalidAliasName (invalid_alias_name_exception)
└── IndexClosed (index_closed_exception)
QuidditchError
└── AliasesNotFound (404, aliases_not_found_exception)
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Collection, Iterable
from typing import Any

from native.dates import format_date, parse_date_math
from native.errors import BadRequest, IndexNotFound, InvalidIndexName, ParsingError, QuidditchError


class InvalidAliasName(BadRequest):
    es_type = "invalid_alias_name_exception"

    def __init__(self, alias: str, desc: str) -> None:
        super().__init__(f"Invalid alias name [{alias}]: {desc}", index=alias, index_uuid="_na_")


class IndexClosed(BadRequest):
    es_type = "index_closed_exception"

    def __init__(self, index: str, index_uuid: str) -> None:
        super().__init__("closed", index_uuid=index_uuid, index=index)


class AliasesNotFound(QuidditchError):
    status = 404
    es_type = "aliases_not_found_exception"

    def __init__(self, missing: list[str]) -> None:
        listed = ",".join(missing)
        super().__init__(f"aliases [{listed}] missing")
        self.extra.update({"resource.type": "aliases", "resource.id": listed})


_DATE_MATH_PART = re.compile(r"\{([^{}]+?)(?:\{([^{}|]*)(?:\|([^{}]*))?\})?\}")


def is_date_math(part: str) -> bool:
    return part.startswith("<") and part.endswith(">")


def resolve_date_math(expression: str | None, now_millis: int | None = None) -> str | None:
    """ES date-math index names: ``<logstash-{now/M{yyyy.MM}}>`` → ``logstash-2024.06`` (format default
    ``uuuu.MM.dd``, optional ``|time_zone``), for every comma-separated part written in angle brackets
    (``-<…>`` excludes one)."""
    if not expression or "<" not in expression:
        return expression
    now = now_millis if now_millis is not None else int(time.time() * 1000)

    def render(match: re.Match[str]) -> str:
        math, fmt, tz = match.group(1), match.group(2) or "uuuu.MM.dd", match.group(3)
        try:
            millis = parse_date_math(math, now_millis=now, time_zone=tz)
            return format_date(millis, fmt, tz)
        except Exception:
            raise ParsingError(f"invalid date math expression [{math}]") from None

    parts = []
    for part in expression.split(","):
        sign = "-" if part.startswith("-<") else ""
        if is_date_math(part[len(sign) :]):
            part = sign + _DATE_MATH_PART.sub(render, part[len(sign) + 1 : -1])
        parts.append(part)
    return ",".join(parts)


def resolve_alias_names(aliases: dict[str, Any]) -> dict[str, Any]:
    """An ``aliases`` body (alias name → properties) with its date-math names resolved."""
    return {resolve_date_math(alias) or alias: props for alias, props in aliases.items()}


_FORBIDDEN = ["\\", "/", "*", "?", '"', "<", ">", "|", " ", ","]


def validate_index_name(name: str) -> None:
    """Raise ``InvalidIndexName`` with ES's reason when ``name`` breaks a rule (before any file I/O)."""
    if not name:
        raise InvalidIndexName("Invalid index name [], must not be empty", index=name, index_uuid="_na_")
    if name != name.lower():
        raise InvalidIndexName(f"Invalid index name [{name}], must be lowercase", index=name, index_uuid="_na_")
    if any(ch in name for ch in _FORBIDDEN):
        listed = ", ".join(_FORBIDDEN)
        raise InvalidIndexName(
            f"Invalid index name [{name}], must not contain the following characters [{listed}]",
            index=name, index_uuid="_na_",
        )  # fmt: skip
    if "#" in name:
        raise InvalidIndexName(f"Invalid index name [{name}], must not contain '#'", index=name, index_uuid="_na_")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in name):
        # a NUL or another control character: no file, log line or URL can carry it safely
        raise InvalidIndexName(
            f"Invalid index name [{name}], must not contain control characters", index=name, index_uuid="_na_"
        )
    if ":" in name:
        raise InvalidIndexName(f"Invalid index name [{name}], must not contain ':'", index=name, index_uuid="_na_")
    if name[0] in "_-+":
        raise InvalidIndexName(
            f"Invalid index name [{name}], must not start with '_', '-', or '+'", index=name, index_uuid="_na_"
        )
    if name in (".", ".."):
        raise InvalidIndexName(f"Invalid index name [{name}], must not be '.' or '..'", index=name, index_uuid="_na_")
    size = len(name.encode())
    if size > 255:
        raise InvalidIndexName(
            f"Invalid index name [{name}], index name is too long, ({size} > 255)", index=name, index_uuid="_na_"
        )


def validate_alias_name(alias: str, existing_indices: Iterable[str] = ()) -> None:
    """ES's ``AliasValidator``: alias names follow the index-name rules and may not shadow an index."""
    if not alias or not alias.strip():
        raise IllegalArgumentAlias("alias name is required")
    try:
        validate_index_name(alias)
    except InvalidIndexName as exc:
        desc = exc.reason.split("], ", 1)[1] if "], " in exc.reason else exc.reason
        raise InvalidAliasName(alias, desc) from None
    if alias in set(existing_indices):
        raise InvalidAliasName(alias, "an index or data stream exists with the same name as the alias")


class IllegalArgumentAlias(BadRequest):
    es_type = "illegal_argument_exception"


def match_names(patterns: str | Iterable[str] | None, names: Iterable[str]) -> list[str]:
    """Names matching a comma list of exact names and ``*`` globs (``None``, ``_all``, ``*`` match all)."""
    if patterns is None:
        return list(names)
    parts = [p.strip() for p in patterns.split(",")] if isinstance(patterns, str) else list(patterns)
    parts = [p for p in parts if p]
    if not parts or "_all" in parts or "*" in parts:
        return list(names)
    out = []
    for name in names:
        included = False
        for part in parts:
            if part.startswith("-") and included:
                if fnmatch.fnmatchcase(name, part[1:]):
                    included = False
            elif fnmatch.fnmatchcase(name, part):
                included = True
        if included:
            out.append(name)
    return out


def resolve_expression(
    expression: str | Iterable[str] | None,
    existing: Iterable[str],
    *,
    aliases: dict[str, list[str]] | None = None,
    ignore_unavailable: bool = False,
    allow_no_indices: bool = True,
    expand_hidden: bool = False,
    closed: dict[str, str] | None = None,
    expand_closed: bool = False,
    forbid_closed: bool = False,
    hidden: Collection[str] = (),
    expand_open: bool = True,
) -> list[str]:
    """Concrete index names for an ES index expression, in a stable order.

    ``None``, ``""``, ``_all`` and ``*`` mean every index; ``a,b*`` unions; ``-b*`` excludes what came
    before it; an alias (or a wildcard matching one) stands for the indices it points to. A missing
    concrete name raises ``IndexNotFound`` unless ``ignore_unavailable``; a wildcard that matches nothing
    raises it unless ``allow_no_indices``. ``closed`` (name → uuid) are skipped by wildcards unless
    ``expand_closed``; naming one concretely raises ``IndexClosed`` when ``forbid_closed`` (or drops it
    under ``ignore_unavailable``). ``hidden`` indices (``index.hidden: true``) are left out of wildcards that
    do not start with ``.`` unless ``expand_hidden``, as dot-prefixed names are.
    """
    if isinstance(expression, str):
        expression = resolve_date_math(expression)
    elif expression is not None:
        expression = [resolve_date_math(str(part)) or "" for part in expression]
    names = sorted(existing)
    closed = closed or {}
    # hidden: dot-prefixed names and ``hidden`` (``index.hidden: true``), matched by wildcards only when asked
    # ``expand_open=False`` (``expand_wildcards=closed``): wildcards match closed indices only
    visible = [n for n in names if (expand_hidden or not (n.startswith(".") or n in hidden))
               and (expand_closed or n not in closed) and (expand_open or n in closed)]  # fmt: skip
    aliases = aliases or {}
    if expression is None:
        parts: list[str] = []
    elif isinstance(expression, str):
        parts = [p.strip() for p in expression.split(",") if p.strip()]
    else:
        parts = [p for part in expression for p in str(part).split(",") if p.strip()]
    if not parts or parts in (["_all"], ["*"]):
        if not visible and not allow_no_indices:
            raise IndexNotFound(parts[0] if parts else "_all")
        return visible
    out: list[str] = []

    def add_concrete(name: str) -> None:
        if name in closed and forbid_closed:
            if ignore_unavailable:
                return
            raise IndexClosed(name, closed[name])
        if name not in out:
            out.append(name)

    for i, part in enumerate(parts):
        if part.startswith("-") and i > 0:
            pattern = part[1:]
            out = [n for n in out if not fnmatch.fnmatchcase(n, pattern)]
            continue
        if part == "_all":
            out.extend(n for n in visible if n not in out)
            continue
        if "*" in part or "?" in part:
            pool = names if part.startswith(".") else visible
            pool = [n for n in pool if (expand_closed or n not in closed) and (expand_open or n in closed)]
            matched = [n for n in pool if fnmatch.fnmatchcase(n, part)]
            if forbid_closed:
                shut = [n for n in matched if n in closed]
                if shut and not ignore_unavailable:
                    raise IndexClosed(shut[0], closed[shut[0]])
                matched = [n for n in matched if n not in closed]
            for alias, targets in aliases.items():
                # a dot-prefixed alias is matched by a pattern that starts with a dot too, as dot indices are
                visible_alias = expand_hidden or part.startswith(".") or not alias.startswith(".")
                if fnmatch.fnmatchcase(alias, part) and visible_alias:
                    matched.extend(t for t in targets if expand_closed or t not in closed)
            if not matched and not allow_no_indices:
                raise IndexNotFound(part)
            out.extend(n for n in matched if n not in out)
            continue
        if part in names:
            add_concrete(part)
        elif part in aliases:
            for target in aliases[part]:
                if target in closed and forbid_closed and not expand_closed:
                    continue
                if target not in out:
                    out.append(target)
        elif not ignore_unavailable:
            raise IndexNotFound(part)
    if not out and not allow_no_indices:  # ES: nothing left (missing names ignored) is an error too
        raise IndexNotFound(",".join(p for p in parts if not p.startswith("-")) or parts[0])
    return out
