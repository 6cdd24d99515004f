"""``POST /_cluster/reroute``: ES's allocation commands, decided and applied on the routing table.

Every command is parsed (an unknown command or field is ES's parsing error) and decided in order against the
routing table (``cluster.reroute``), with ES's messages: a replica never goes on a node that holds a copy
(``same_shard``, so on a single node never), a started primary is already assigned, and a shard that is not
on the named node cannot be moved or cancelled. ``move`` relocates a copy, ``cancel`` drops one (a started
primary with ``allow_primary`` is recovered again from its in-sync copies), ``allocate_replica`` places a
missing replica, ``retry_failed`` clears the failure counts that stopped allocation; ``dry_run`` saves
nothing. With ``explain`` each decision is listed under ``explanations``; without it, the first ``NO`` is
ES's ``illegal_argument_exception``. Empty or stale primaries are not forced: a failed shard keeps its files.
``state`` holds what ``metric`` asks for (the resulting state; default: the routing parts; ``none``: no
``state``). ES 8 also sends a deprecation warning about ``state``; it is left out, as ES 9 (which dropped
the field) and the clients' own tests expect no warning on a plain reroute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cluster import reroute as reroute_commands
from cluster.state import ClusterState, IndexMeta
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
    """Decides each command against the state the commands before it produced (ES applies them in order)."""

    def __init__(self, request: Request) -> None:
        cluster = cluster_of(request)
        self.cluster = cluster
        self.state = cluster.master.state
        self.members = members(request)
        self.local = local_member(request)

    def node(self, name: str) -> str:
        """The id of the member ``name`` names (id, name or host; ``_local``, ``_master``)."""
        if name == "_local":
            return self.local.id
        for m in self.members:
            if (name == "_master" and m.master) or name in (m.id, m.name, m.host):
                return m.id
        raise IllegalArgument(f"failed to resolve [{name}], no matching nodes")

    def describe(self, node_id: str) -> str:
        m = next((m for m in self.members if m.id == node_id), self.local)
        return f"{{{m.name}}}{{{m.id}}}{{{m.id}}}{{{m.host}}}{{{m.transport_address}}}{{{role_letters(m.node)}}}"

    def meta(self, index: str) -> IndexMeta:
        meta = self.state.indices.get(index)
        if meta is None:
            raise IndexNotFound(index)
        return meta

    def _failed(self, meta: IndexMeta, shard: int) -> bool:
        return shard in self.cluster.node.failures(meta.uuid)

    def primary_started(self, meta: IndexMeta, shard: int) -> bool:
        routing = self.state.shard_routing(meta.uuid, shard)
        primary = routing.primary if routing is not None and meta.is_open else None
        return primary is not None and primary.state in ("STARTED", "RELOCATING") and not self._failed(meta, shard)

    def decide(self, name: str, p: dict[str, Any]) -> Decision:
        """The decision, and (when YES) ``self.state`` moved on to the state the command makes."""
        try:
            return self._decide(name, p)
        except reroute_commands.RerouteRefused as refused:
            return Decision(name, p, False, refused.reason)

    def _decide(self, name: str, p: dict[str, Any]) -> Decision:
        index, shard = p["index"], p["shard"]
        label = f"[{index}][{shard}]"
        state = self.state
        if name == "move":
            source, target = self.node(p["from_node"]), self.node(p["to_node"])
            meta = self.meta(index)
            if not meta.is_open or self._failed(meta, shard):
                raise reroute_commands.RerouteRefused(f"[move_allocation] can't move {label}, failed to find it on "
                                                      f"node {self.describe(source)}")  # fmt: skip
            self.state = reroute_commands.move(state, meta.uuid, shard, source, target, label=label,
                                               describe=self.describe)  # fmt: skip
            return Decision(name, p, True, f"shard {label} can be moved from {self.describe(source)} to "
                                           f"{self.describe(target)}")  # fmt: skip
        node = self.node(p["node"])
        meta = self.meta(index)
        if name == "cancel":
            if not meta.is_open or self._failed(meta, shard):
                raise reroute_commands.RerouteRefused(f"can't cancel {label}, failed to find it on node "
                                                      f"{self.describe(node)}")  # fmt: skip
            self.state = reroute_commands.cancel(state, meta.uuid, shard, node, allow_primary=p["allow_primary"],
                                                 label=label, describe=self.describe)  # fmt: skip
            return Decision(name, p, True, f"shard {label} on node {self.describe(node)} can be cancelled")
        if not 0 <= shard < meta.number_of_shards:
            raise IllegalArgument(f"[{name}] no such shard {label}")
        if name == "allocate_replica":
            self.state = reroute_commands.allocate_replica(state, meta.uuid, shard, node,
                                                           wanted=meta.number_of_replicas, label=label,
                                                           describe=self.describe)  # fmt: skip
            return Decision(name, p, True, f"allocation of {label} on node {self.describe(node)} is allowed")
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
    decisions: list[Decision] = []

    def run(current: ClusterState) -> ClusterState:
        """The commands decided and applied in order on the master's current state (under its lock)."""
        decider.state = current
        decisions[:] = [decider.decide(name, p) for name, p in commands]
        if not explain:
            for decision in decisions:
                if not decision.yes:
                    raise IllegalArgument(decision.explanation)
        return reroute_commands.retry_failed(decider.state) if flag(params, "retry_failed") else decider.state

    master = cluster_of(request).master
    state = await asyncio.to_thread(master.reroute, run, dry_run=flag(params, "dry_run"))
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
    out["state"] = state_body(request, state, wanted, list(state.indices.values()), False)
    return es_json(request, out)
