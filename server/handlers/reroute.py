"""``POST /_cluster/reroute``: ES's allocation commands, decided as ES's deciders decide on one node.

Every command is parsed (an unknown command or field is ES's parsing error) and decided against the routing
table, with ES's messages: on a single node a replica can never be allocated (``same_shard``), a started
primary is already assigned, a move needs another node, and a shard that is not on the named node cannot be
cancelled. With ``explain`` each decision is listed under ``explanations``; without it, the first ``NO`` is
ES's ``illegal_argument_exception``. The only command that can say ``YES`` here, cancelling a started primary
with ``allow_primary``, changes nothing visible: the primary is re-created on the same (only) node, as ES
would re-create it. ``state`` holds what ``metric`` asks for (default: the routing parts; ``none``: no
``state``). ES 8 also sends a deprecation warning about ``state``; it is left out, as ES 9 (which dropped
the field) and the clients' own tests expect no warning on a plain reroute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cluster.state import IndexMeta
from native.errors import IllegalArgument, IndexNotFound, ParsingError
from server.handlers.members import local_member, members, role_letters
from server.http import check_params, cluster_of, es_json, flag, json_body

__all__ = ["reroute"]

_FIELDS = {
    "move": ("index", "shard", "from_node", "to_node"),
    "cancel": ("index", "shard", "node", "allow_primary"),
    "allocate_replica": ("index", "shard", "node"),
    "allocate_empty_primary": ("index", "shard", "node", "accept_data_loss"),
    "allocate_stale_primary": ("index", "shard", "node", "accept_data_loss"),
}
_STATE_METRICS = ("version", "master_node", "blocks", "nodes", "metadata", "routing_table", "routing_nodes",
                  "customs")  # fmt: skip


@dataclass(frozen=True)
class Decision:
    command: str
    parameters: dict[str, Any]
    yes: bool
    explanation: str

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "parameters": self.parameters,
                "decisions": [{"decider": f"{self.command}_allocation_command",
                               "decision": "YES" if self.yes else "NO", "explanation": self.explanation}]}  # fmt: skip


def _parse(commands: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(commands, list):
        raise ParsingError("[cluster_reroute] commands must be an array of commands")
    out: list[tuple[str, dict[str, Any]]] = []
    for item in commands:
        if not isinstance(item, Mapping) or len(item) != 1:
            raise ParsingError("allocation command must be an object with a single command name")
        ((name, raw),) = item.items()
        if name not in _FIELDS:
            raise ParsingError(f"unknown allocation command [{name}]")
        if not isinstance(raw, Mapping):
            raise ParsingError(f"[{name}] command must be an object")
        for key in raw:
            if key not in _FIELDS[name]:
                raise ParsingError(f"[{name}] command does not support field [{key}]")
        params: dict[str, Any] = {}
        for key in _FIELDS[name]:
            value = raw.get(key)
            if key in ("allow_primary", "accept_data_loss"):
                params[key] = value is True or value == "true"
            elif key == "shard":
                if value is None:
                    raise IllegalArgument(f"[{name}] command missing the shard parameter")
                try:
                    params[key] = int(value)
                except (TypeError, ValueError):
                    raise ParsingError(f"[{name}] failed to parse field [shard]") from None
            else:
                if value is None:
                    raise IllegalArgument(f"[{name}] command missing the {key} parameter")
                params[key] = str(value)
        out.append((name, params))
    return out


class _Decider:
    def __init__(self, request: Request) -> None:
        cluster = cluster_of(request)
        self.cluster = cluster
        self.state = cluster.master.state
        me = local_member(request)
        self.node_desc = (f"{{{me.name}}}{{{me.id}}}{{{me.id}}}{{{me.host}}}{{{me.transport_address}}}"
                          f"{{{role_letters(me.node)}}}")  # fmt: skip
        self.names = {name for m in members(request) for name in (m.id, m.name, m.host)}

    def node(self, name: str) -> None:
        if name not in self.names and name not in ("_local", "_master"):
            raise IllegalArgument(f"failed to resolve [{name}], no matching nodes")

    def meta(self, index: str) -> IndexMeta:
        meta = self.state.indices.get(index)
        if meta is None:
            raise IndexNotFound(index)
        return meta

    def primary_started(self, meta: IndexMeta, shard: int) -> bool:
        return meta.is_open and 0 <= shard < meta.number_of_shards and shard not in self.cluster.node.failures(
            meta.uuid)

    def decide(self, name: str, p: dict[str, Any]) -> Decision:
        index, shard = p["index"], p["shard"]
        label = f"[{index}][{shard}]"
        if name == "move":
            self.node(p["from_node"])
            self.node(p["to_node"])
            meta = self.meta(index)
            if not self.primary_started(meta, shard):
                return Decision(name, p, False, f"[move_allocation] can't move {label}, failed to find it on node "
                                                f"{self.node_desc}")  # fmt: skip
            return Decision(name, p, False, f"[move_allocation] can't move {label}, from {self.node_desc}, to "
                                            f"{self.node_desc}, since its not allowed, reason: [NO(a copy of this "
                                            "shard is already allocated to this node)]")  # fmt: skip
        self.node(p["node"])
        meta = self.meta(index)
        if name == "cancel":
            if not self.primary_started(meta, shard):
                return Decision(name, p, False, f"can't cancel {label}, failed to find it on node {self.node_desc}")
            if not p["allow_primary"]:
                return Decision(name, p, False, f"can't cancel {label} on node {self.node_desc}, shard is primary "
                                                "and started")  # fmt: skip
            return Decision(name, p, True, f"shard {label} on node {self.node_desc} can be cancelled")
        if not 0 <= shard < meta.number_of_shards:
            raise IllegalArgument(f"[{name}] no such shard {label}")
        if name == "allocate_replica":
            if not self.primary_started(meta, shard):
                return Decision(name, p, False, f"[allocate_replica] trying to allocate a replica shard {label}, "
                                                "while corresponding primary shard is still unassigned")  # fmt: skip
            if not meta.number_of_replicas:
                return Decision(name, p, False, f"[allocate_replica] all copies of {label} are already assigned. "
                                                "Use the move allocation command instead")  # fmt: skip
            return Decision(name, p, False, f"[allocate_replica] allocation of {label} on node {self.node_desc} is "
                                            "not allowed, reason: [NO(a copy of this shard is already allocated "
                                            "to this node)]")  # fmt: skip
        if self.primary_started(meta, shard):
            return Decision(name, p, False, f"[{name}] primary {label} is already assigned")
        if not p["accept_data_loss"]:
            kind = "an empty" if name == "allocate_empty_primary" else "a stale"
            return Decision(name, p, False, f"[{name}] allocating {kind} primary for {label} can result in data "
                                            "loss. Please confirm by setting the accept_data_loss parameter to "
                                            "true")  # fmt: skip
        return Decision(name, p, False, f"[{name}] the failed shard {label} keeps its files on this node and is "
                                        "not re-created by this server: recover it with [quidditch shard "
                                        "remove-corrupted-data] and restart the node")  # fmt: skip


async def reroute(request: Request) -> Response:
    from server.handlers.cluster_admin import state_body

    params = check_params(request, {"dry_run", "explain", "retry_failed", "metric"})
    body = await json_body(request) or {}
    if not isinstance(body, Mapping):
        raise ParsingError("request body must be an object")
    for key in body:
        if key != "commands":
            raise ParsingError(f"[cluster_reroute] unknown field [{key}]")
    commands = _parse(body.get("commands", []))
    decider = _Decider(request)
    explain = flag(params, "explain")
    decisions = [decider.decide(name, p) for name, p in commands]
    if not explain:
        for decision in decisions:
            if not decision.yes:
                raise IllegalArgument(decision.explanation)
    out: dict[str, Any] = {"acknowledged": True}
    if explain:
        out["explanations"] = [d.to_json() for d in decisions]
    metric = params.get("metric")
    if metric == "none":
        return es_json(request, out)
    wanted = ({"version", "master_node", "blocks", "nodes", "routing_table"} if metric is None
              else {m.strip() for m in metric.split(",") if m.strip()})  # fmt: skip
    if "_all" in wanted:
        wanted = set(_STATE_METRICS)
    for name in wanted:
        if name not in _STATE_METRICS:
            raise IllegalArgument(f"request [{request.url.path}] contains unrecognized metric: [{name}]")
    state = decider.state
    out["state"] = state_body(request, state, wanted, list(state.indices.values()), False)
    return es_json(request, out)
