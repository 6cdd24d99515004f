"""The cluster's members as the admin APIs render them: every node of cluster state, not just this one.

``members(request)`` lists them (this node first), with the addresses each API prints; ``select_members``
resolves ES node specifications (``_all``, ``_local``, ``_master``, ids, names, addresses, wildcards,
``role:true|false``, in order, later items adding or removing); ``es_roles``/``role_letters`` turn
Quidditch roles into ES's (every node also ingests: ``dim`` for the embedded node).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from cluster.state import NodeInfo
from server.http import cluster_of

__all__ = ["NODE_ATTRIBUTES", "Member", "es_roles", "local_member", "members", "role_letters", "select_members",
           "state_node_entry"]

# the attributes ES's default distribution sets on every node; ``_cat/nodeattrs`` lists the same ones
NODE_ATTRIBUTES = {"xpack.installed": "true"}
_LETTERS = {"data": "d", "ingest": "i", "master": "m"}
TRANSPORT_PORT = 9300  # what the embedded node (no transport server) reports, as a one-node ES would


@dataclass(frozen=True)
class Member:
    node: NodeInfo
    local: bool
    master: bool
    host: str
    transport_address: str
    http_address: str

    @property
    def id(self) -> str:
        return self.node.id

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def port(self) -> int:
        return int(self.transport_address.rpartition(":")[2] or TRANSPORT_PORT)


def es_roles(node: NodeInfo) -> list[str]:
    return sorted({*node.roles, "ingest"})


def role_letters(node: NodeInfo) -> str:
    return "".join(_LETTERS.get(r, "-") for r in es_roles(node))


def members(request: Request) -> list[Member]:
    """Every member of cluster state, this node first (then by name); a state without members (a master
    that has not registered any) still lists this node."""
    cluster = cluster_of(request)
    settings = request.app.state.settings
    state = cluster.master.state
    nodes = dict(state.nodes) or {cluster.node_id: NodeInfo(cluster.node_id, cluster.node_name)}
    out = []
    for node in nodes.values():
        local = node.id == cluster.node_id
        transport = node.transport_address or f"{settings.host}:{TRANSPORT_PORT}"
        http = node.http_address or (f"{settings.host}:{settings.port}" if local else "")
        host = transport.rpartition(":")[0] or settings.host
        master = node.id == (state.master_node or cluster.node_id)
        out.append(Member(node, local, master, host, transport, http))
    return sorted(out, key=lambda m: (not m.local, m.name, m.id))


def local_member(request: Request) -> Member:
    return members(request)[0]


def _matches(member: Member, item: str) -> bool:
    names = (member.id, member.name, member.host, member.transport_address, member.http_address)
    return any(name and fnmatch.fnmatchcase(name, item) for name in names)


def select_members(request: Request, node_ids: list[str]) -> list[Member]:
    """The members ``node_ids`` names (ES's ``DiscoveryNodes.resolveNodes``)."""
    everyone = members(request)
    chosen: set[str] = set()
    for item in node_ids or ["_all"]:
        if item in ("_all", "*"):
            chosen |= {m.id for m in everyone}
        elif item == "_local":
            chosen |= {m.id for m in everyone if m.local}
        elif item == "_master":
            chosen |= {m.id for m in everyone if m.master}
        elif ":" in item and item.partition(":")[2] in ("true", "false"):
            role, _, flag = item.partition(":")
            for m in everyone:
                roles = es_roles(m.node)
                has = role in roles or (role == "master_eligible" and "master" in roles)
                if has and flag == "true":
                    chosen.add(m.id)
                elif has and flag == "false":
                    chosen.discard(m.id)
        else:
            chosen |= {m.id for m in everyone if _matches(m, item)}
    return [m for m in everyone if m.id in chosen]


def state_node_entry(request: Request, member: Member) -> dict[str, Any]:
    """A node as ``_cluster/state`` (and ``_search_shards``) list it."""
    settings = request.app.state.settings
    return {
        "name": member.name,
        "ephemeral_id": member.id,
        "transport_address": member.transport_address,
        "external_id": member.name,
        "attributes": {**NODE_ATTRIBUTES, **member.node.attributes},
        "roles": es_roles(member.node),
        "version": settings.version_number,
        "min_index_version": 7000099,
        "max_index_version": 8521000,
    }
