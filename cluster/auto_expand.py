"""``index.auto_expand_replicas``: the replica count follows the number of data nodes, as ES's master sets it.

The setting is ``false`` (the default) or ``<min>-<max>`` where ``max`` may be ``all``. While it is on, the
master keeps ``index.number_of_replicas`` at ``data nodes - 1`` clamped to ``[min, max]`` (``all`` means
``data nodes - 1``), so on a one-node cluster ``0-1`` gives no replica and the index can be green, and ``1-2``
keeps one replica that stays unassigned (yellow), exactly as in ES. The stored ``number_of_replicas`` is the
computed value, which ``GET _settings`` shows.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any

from native.errors import IllegalArgument

__all__ = ["AutoExpand", "apply_auto_expand", "parse_auto_expand"]

SETTING = "index.auto_expand_replicas"


@dataclass(frozen=True)
class AutoExpand:
    minimum: int
    maximum: int | None  # None: ``all``

    def replicas(self, data_nodes: int) -> int:
        upper = data_nodes - 1 if self.maximum is None else self.maximum
        wanted = data_nodes - 1
        if wanted < self.minimum:
            return self.minimum
        return min(wanted, upper)


def parse_auto_expand(value: Any) -> AutoExpand | None:
    """The parsed setting, or None when it is off; a malformed value is ES's ``illegal_argument_exception``."""
    if value is None:
        return None
    text = str(value)
    if text == "false":
        return None
    dash = text.find("-")
    if dash <= 0:
        raise IllegalArgument(f"failed to parse [{SETTING}] from value: [{text}] at index {dash}")
    low, high = text[:dash], text[dash + 1 :]
    try:
        minimum = int(low)
        maximum = None if high == "all" else int(high)
    except ValueError:
        raise IllegalArgument(f"failed to parse [{SETTING}] from value: [{text}] at index {dash}") from None
    if minimum < 0 or (maximum is not None and maximum < 0):
        raise IllegalArgument(f"failed to parse [{SETTING}] from value: [{text}] at index {dash}")
    if maximum is not None and minimum > maximum:
        raise IllegalArgument(f"[{SETTING}] minReplicas must be =< maxReplicas but wasn't {minimum} > {maximum}")
    return AutoExpand(minimum, maximum)


def apply_auto_expand(flat: MappingABC[str, Any], data_nodes: int) -> dict[str, Any]:
    """``flat`` with ``index.number_of_replicas`` set from ``index.auto_expand_replicas`` when that is on."""
    out = dict(flat)
    expand = parse_auto_expand(flat.get(SETTING))
    if expand is not None:
        out["index.number_of_replicas"] = str(expand.replicas(data_nodes))
    return out
