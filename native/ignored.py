"""``_ignored``: the fields of a document whose values were not indexed, as ES records them.

A value is ignored when it is longer than its keyword field's ``ignore_above``, when it is malformed for a
field with ``ignore_malformed`` (the field's or the index's ``index.mapping.ignore_malformed``), or when
its dynamic field was left unmapped for a name past ``index.mapping.field_name_length.limit``
(``ignore_dynamic_beyond_limit``).

ES stores the list with each document; here it is worked out from ``_source`` and the current mapping when
a document is fetched (GET with ``stored_fields: _ignored``, search hits, ``fields: [_ignored]``), so it
follows later mapping changes. For ``term``/``terms``/``match``/``exists`` queries on ``_ignored`` the write path also
indexes each ignored field path as an ``IGNORED_PREFIX`` term of ``_field_names`` (``CompiledMapping.document``);
a mapping change that alters what is ignored changes the shard fingerprint and so rebuilds, and
``IGNORED_ENCODING`` in that fingerprint rebuilds generations written before the terms existed. Fields left
unmapped past the name length limit are reported at fetch but not indexed (the write path does not see them).
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from native.errors import QuidditchError
from native.field_types import Leaf
from native.mapping import Mapping, convert_value
from native.mapping_limits import FIELD_NAME_LENGTH, IGNORE_DYNAMIC_BEYOND
from native.schema import _MALFORMED_TYPES, flatten_source

_IGNORE_ABOVE_TYPES = frozenset({"keyword", "wildcard", "constant_keyword"})
IGNORED_ENCODING = "field-names-terms-v1"  # in the shard fingerprint of indices that can ignore values


@dataclass(frozen=True)
class _Check:
    path: str
    source_path: str
    ignore_above: int | None
    malformed: Leaf | None  # the leaf with ignore_malformed on, when malformed values are ignored


class IgnoredFields:
    """The ``_ignored`` computation for one index (its mapping and settings), reused across documents."""

    def __init__(
        self, mapping: Mapping, settings: MappingABC[str, Any], *, leaves: Sequence[Leaf] | None = None
    ) -> None:
        """``leaves``: the mapping's leaves when the caller has them already (with index-level defaults)."""
        index_malformed = str(settings.get("index.mapping.ignore_malformed", "false")).lower() == "true"
        checks: list[_Check] = []
        self._mapped: set[str] = set()
        for leaf in mapping.iter_leaves() if leaves is None else leaves:
            self._mapped.add(leaf.source_path or leaf.path)
            limit = leaf.params.get("ignore_above") if leaf.type in _IGNORE_ABOVE_TYPES else None
            flag = leaf.params.get("ignore_malformed", index_malformed and leaf.type in _MALFORMED_TYPES)
            malformed = None
            if str(flag).lower() == "true":
                malformed = Leaf(leaf.path, leaf.type, {**leaf.params, "ignore_malformed": True}, leaf.source_path)
            if limit is not None or malformed is not None:
                checks.append(_Check(leaf.path, leaf.source_path or leaf.path, int(limit) if limit is not None
                                     else None, malformed))  # fmt: skip
        self._checks = checks
        self._above_only = all(check.malformed is None for check in checks)
        self._min_above = min((c.ignore_above for c in checks if c.ignore_above is not None), default=0)
        self._name_limit: int | None = None
        if str(settings.get(IGNORE_DYNAMIC_BEYOND, "false")).lower() == "true" and settings.get(FIELD_NAME_LENGTH):
            self._name_limit = int(str(settings[FIELD_NAME_LENGTH]))

    @property
    def possible(self) -> bool:
        """Whether any document of the index can have ignored fields."""
        return bool(self._checks) or self._name_limit is not None

    def paths(self, source: MappingABC[str, Any]) -> list[str]:
        """The ignored field paths of one document, for the write path: ``of`` without its values, skipping the
        full walk when only ``ignore_above`` checks apply and no leaf value of the document is long enough."""
        if not self.possible:
            return []
        if self._above_only and self._name_limit is None and not _any_longer(source, self._min_above):
            return []
        return list(self.of(source))

    def of(self, source: MappingABC[str, Any]) -> dict[str, list[Any]]:
        """The ignored fields of one document: path → its ignored values, in path order."""
        if not self.possible:
            return {}
        flat = flatten_source(source)
        out: dict[str, list[Any]] = {}
        for check in self._checks:
            values = flat.get(check.source_path)
            if not values:
                continue
            ignored = [v for v in values if v is not None and _is_ignored(check, v)]
            if ignored:
                out[check.path] = ignored
        if self._name_limit is not None:
            limit = self._name_limit
            for path, values in flat.items():
                if path not in self._mapped and any(len(part) > limit for part in path.split(".")):
                    out[path] = values
        return dict(sorted(out.items()))


def _any_longer(value: Any, limit: int) -> bool:
    """Whether any leaf value (a string, or a number by its text as ``_is_ignored`` measures it) is longer than
    ``limit`` characters."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if len(item) > limit:
                return True
        elif kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is not bool and item is not None and len(str(item)) > limit:
            return True
    return False


def _is_ignored(check: _Check, value: Any) -> bool:
    if check.ignore_above is not None and isinstance(value, str | int | float) and not isinstance(value, bool):
        if len(value if isinstance(value, str) else str(value)) > check.ignore_above:
            return True
    if check.malformed is not None:
        try:
            return convert_value(check.malformed, value, None) is None
        except QuidditchError:
            return False
    return False
