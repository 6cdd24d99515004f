"""What ``GET _cluster/health`` waits for: ``wait_for_status``, ``wait_for_nodes``, ``wait_for_active_shards``.

The handler rebuilds the health body until every condition holds or ``timeout`` passes (then ES's 408 with
``timed_out: true``). Nothing is assumed: ``wait_for_nodes=10`` on a one-node cluster times out, as does
``wait_for_active_shards=5`` with fewer active shard copies. ``wait_for_no_relocating_shards`` and
``wait_for_no_initializing_shards`` wait for the moves and recoveries of the routing table to finish.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from native.errors import IllegalArgument

__all__ = ["HealthWaits", "health_expand_wildcards"]

_RANK = {"green": 0, "yellow": 1, "red": 2}
_NODES = re.compile(r"^(>=|<=|>|<|ge\(|le\(|gt\(|lt\()?\s*(\d+)\)?$")
_OPS = {">=": "ge", "<=": "le", ">": "gt", "<": "lt", "ge(": "ge", "le(": "le", "gt(": "gt", "lt(": "lt"}


@dataclass(frozen=True)
class HealthWaits:
    status: str | None = None
    nodes: tuple[str, int] | None = None  # (eq|ge|le|gt|lt, count)
    active_shards: int | None = None  # -1: all
    no_relocating: bool = False
    no_initializing: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> HealthWaits:
        status = params.get("wait_for_status")
        if status is not None and status not in _RANK:
            raise IllegalArgument(f"unknown cluster health status [{status}]")
        nodes = None
        if params.get("wait_for_nodes"):
            match = _NODES.match(params["wait_for_nodes"].strip())
            if match is None:
                raise IllegalArgument(f"cannot parse wait_for_nodes [{params['wait_for_nodes']}]")
            nodes = (_OPS.get(match.group(1) or "", "eq"), int(match.group(2)))
        active = None
        value = params.get("wait_for_active_shards")
        if value is not None and value != "":
            if value == "all":
                active = -1
            else:
                try:
                    active = int(value)
                except ValueError:
                    raise IllegalArgument(f"cannot parse value [{value}] for [wait_for_active_shards]") from None
                if active < 0:
                    raise IllegalArgument(f"[wait_for_active_shards] must be >= 0 but was [{value}]")
        return cls(status, nodes, active, _flag(params, "wait_for_no_relocating_shards"),
                   _flag(params, "wait_for_no_initializing_shards"))  # fmt: skip

    def met(self, body: Mapping[str, Any]) -> bool:
        if self.status is not None and _RANK[body["status"]] > _RANK[self.status]:
            return False
        if self.nodes is not None:
            op, want = self.nodes
            have = int(body["number_of_nodes"])
            ok = {"eq": have == want, "ge": have >= want, "le": have <= want, "gt": have > want,
                  "lt": have < want}[op]  # fmt: skip
            if not ok:
                return False
        if self.no_relocating and int(body["relocating_shards"]):
            return False
        if self.no_initializing and int(body["initializing_shards"]):
            return False
        if self.active_shards is not None:
            if self.active_shards == -1:
                return int(body["unassigned_shards"]) == 0 and int(body["initializing_shards"]) == 0
            return int(body["active_shards"]) >= self.active_shards
        return True


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    if value in ("", "true"):
        return True
    if value == "false":
        return False
    raise IllegalArgument(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")


def health_expand_wildcards(value: str | None) -> set[str] | None:
    """The index states a wildcard in the health request expands to (None: ES's default, open and closed)."""
    if value is None:
        return None
    states: set[str] = set()
    for item in (v.strip() for v in value.split(",")):
        if item in ("all",):
            states |= {"open", "closed"}
        elif item in ("open", "closed"):
            states.add(item)
        elif item not in ("none", "hidden"):
            raise IllegalArgument(f"No enum constant org.elasticsearch.action.support.IndicesOptions.WildcardStates."
                                  f"{item.upper()}")  # fmt: skip
    return states
