"""Index names: ES's naming rules and index expressions (comma lists, wildcards, exclusions)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from native.errors import IndexNotFound, InvalidIndexName

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


def resolve_expression(
    expression: str | Iterable[str] | None,
    existing: Iterable[str],
    *,
    aliases: dict[str, list[str]] | None = None,
    ignore_unavailable: bool = False,
    allow_no_indices: bool = True,
    expand_hidden: bool = False,
) -> list[str]:
    """Concrete index names for an ES index expression, in a stable order.

    ``None``, ``""``, ``_all`` and ``*`` mean every index; ``a,b*`` unions; ``-b*`` excludes what came
    before it. A missing concrete name raises ``IndexNotFound`` unless ``ignore_unavailable``; a wildcard
    that matches nothing raises it unless ``allow_no_indices``.
    """
    names = sorted(existing)
    visible = [n for n in names if expand_hidden or not n.startswith(".")]
    aliases = aliases or {}
    if expression is None:
        parts: list[str] = []
    elif isinstance(expression, str):
        parts = [p.strip() for p in expression.split(",") if p.strip()]
    else:
        parts = [p for part in expression for p in str(part).split(",") if p.strip()]
    if not parts or parts in (["_all"], ["*"]):
        if not visible and not allow_no_indices and parts:
            raise IndexNotFound(parts[0])
        return visible
    out: list[str] = []
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
            matched = [n for n in pool if fnmatch.fnmatchcase(n, part)]
            for alias, targets in aliases.items():
                if fnmatch.fnmatchcase(alias, part):
                    matched.extend(targets)
            if not matched and not allow_no_indices:
                raise IndexNotFound(part)
            out.extend(n for n in matched if n not in out)
            continue
        if part in names:
            if part not in out:
                out.append(part)
        elif part in aliases:
            out.extend(n for n in aliases[part] if n not in out)
        elif not ignore_unavailable:
            raise IndexNotFound(part)
    return out
