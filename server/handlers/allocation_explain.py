"""``_cluster/allocation/explain``: why a shard copy is (not) where it is, from the routing table.

An assigned copy is explained by its node. An unassigned one gets a decision per data node, with the
deciders that hold it back (``same_shard``: that node has a copy; ``replica_after_primary_active``: no
active primary to recover from; ``max_retry``: its copies failed too often; a primary whose in-sync copies
are gone can only come back on a node that held one: ``no_valid_shard_copy``). A copy that failed to open on
this node (``cluster.shard_failures``) is unassigned after a failed allocation (``ALLOCATION_FAILED``, with
the failure as ``details``) and is never retried by itself. Without a body the API explains the first
unassigned copy, failed primaries first.
"""

from __future__ import annotations

import os
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cluster.deciders import Deciders
from cluster.shard_failures import ShardFailure
from cluster.state import IndexMeta, ShardRouting, damaged_uuid
from native.errors import (
    ActionRequestValidation,
    IllegalArgument,
    IndexNotFound,
    ParsingError,
    QuidditchError,
    XContentParseError,
)
from server.handlers.members import Member, es_roles, local_member, members
from server.handlers.shard_view import CopyView, shard_views
from server.http import check_params, cluster_of, es_json, json_body

_BODY_KEYS = frozenset({"index", "shard", "primary", "current_node"})
_NOT_ALLOWED = (
    "Elasticsearch isn't allowed to allocate this shard to any of the nodes in the cluster. Choose a node to "
    "which you expect this shard to be allocated, find this node in the node-by-node explanation, and address "
    "the reasons which prevent Elasticsearch from allocating this shard there."
)
_NO_UNASSIGNED = (
    "No shard was specified in the request which means the response should explain a randomly-chosen unassigned "
    "shard, but there are no unassigned shards in this cluster. To explain the allocation of an assigned shard "
    "you must specify the target shard in the request."
)


def _node(member: Member) -> dict[str, Any]:
    return {"node_id": member.id, "node_name": member.name, "transport_address": member.transport_address}


def _failed_primary(request: Request, failure: ShardFailure) -> dict[str, Any]:
    me = local_member(request)
    return {
        "index": failure.index, "shard": failure.shard, "primary": True, "current_state": "unassigned",
        "unassigned_info": {
            "reason": "ALLOCATION_FAILED", "at": failure.at, "failed_allocation_attempts": 1,
            "details": f"failed shard on node [{me.id}]: {failure.details}", "last_allocation_status": "no",
        },
        "can_allocate": "no",
        "allocate_explanation": _NOT_ALLOWED,
        "node_allocation_decisions": [{
            **_node(me), "node_decision": "no",
            "store": {"in_sync": True, "store_exception": {"type": failure.es_type, "reason": failure.reason}},
            "deciders": [{
                "decider": "max_retry", "decision": "NO",
                "explanation": "shard failed on this node and is not retried: its files are left as they are; "
                               f"recover what survives with [quidditch shard remove-corrupted-data --index "
                               f"{failure.index} --shard {failure.shard}] and restart the node, "
                               f"[unassigned_info[[reason=ALLOCATION_FAILED], at[{failure.at}], failed_attempts[1], "
                               f"details[{failure.details}]]]",
            }],
        }],
    }  # fmt: skip


def _iso(epoch_millis: int) -> str:
    moment = time.gmtime(epoch_millis / 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", moment) + f".{epoch_millis % 1000:03d}Z"


def _decisions(request: Request, view: CopyView, routing: ShardRouting | None, meta: IndexMeta
               ) -> list[dict[str, Any]]:  # fmt: skip
    """One decision per data node for an unassigned copy, with the deciders that say no."""
    copies = routing.copies if routing is not None else ()
    primary_active = any(c.primary and c.state in ("STARTED", "RELOCATING") for c in copies)
    in_sync_nodes = {c.node for c in (routing.lost if routing is not None else ())}
    retries = int(meta.setting("index.allocation.max_retries", "5") or 5)
    rules = Deciders(cluster_of(request).master.state)
    fresh = routing is None or not (routing.in_sync or routing.lost)
    out = []
    for member in members(request):
        if not member.node.has_role("data"):
            continue
        deciders = []
        if not rules.allocation_enabled(meta, primary=view.primary, new=fresh):
            deciders.append({"decider": "enable", "decision": "NO",
                             "explanation": "allocation of this shard copy is disabled by [index|cluster]"
                                            ".routing.allocation.enable"})  # fmt: skip
        if not rules.can_remain(meta, member.id):
            deciders.append({"decider": "filter", "decision": "NO",
                             "explanation": "node does not match the [index|cluster].routing.allocation "
                                            "require, include or exclude filters"})  # fmt: skip
        if any(c.node == member.id for c in copies):
            deciders.append({"decider": "same_shard", "decision": "NO",
                             "explanation": "a copy of this shard is already allocated to this node"})  # fmt: skip
        if not view.primary and not primary_active:
            deciders.append({"decider": "replica_after_primary_active", "decision": "NO",
                             "explanation": "primary shard for this replica is not yet active"})  # fmt: skip
        if view.primary and routing is not None and routing.in_sync and member.id not in in_sync_nodes:
            deciders.append({"decider": "in_sync_copy", "decision": "NO",
                             "explanation": "this node holds no in-sync copy of the shard"})  # fmt: skip
        if routing is not None and routing.failed_attempts >= retries:
            deciders.append({"decider": "max_retry", "decision": "NO",
                             "explanation": f"shard has exceeded the maximum number of retries [{retries}] on failed "
                                            "allocation attempts"})  # fmt: skip
        out.append({**_node(member), "node_decision": "no" if deciders else "yes", "deciders": deciders})
    return out


def _unassigned(request: Request, meta: IndexMeta, view: CopyView) -> dict[str, Any]:
    routing = cluster_of(request).master.state.shard_routing(meta.uuid, view.shard)
    decisions = _decisions(request, view, routing, meta)
    lost = view.primary and routing is not None and bool(routing.in_sync)
    can = "no_valid_shard_copy" if lost and all(d["node_decision"] == "no" for d in decisions) else (
        "yes" if any(d["node_decision"] == "yes" for d in decisions) else "no")  # fmt: skip
    info: dict[str, Any] = {"reason": view.reason or "INDEX_CREATED", "at": _iso(view.at_millis or meta.creation_date)}
    if view.failed_attempts:
        info["failed_allocation_attempts"] = view.failed_attempts
    info["last_allocation_status"] = "no_valid_shard_copy" if lost else "no_attempt"
    out: dict[str, Any] = {
        "index": meta.name, "shard": view.shard, "primary": view.primary, "current_state": "unassigned",
        "unassigned_info": info, "can_allocate": can,
        "allocate_explanation": (
            "Elasticsearch can't allocate this shard because there are no copies of its data in the cluster. "
            "Elasticsearch will allocate this shard when a node holding a good copy of its data joins the cluster."
            if can == "no_valid_shard_copy" else _NOT_ALLOWED if can == "no" else
            "Elasticsearch can allocate the shard."),
        "node_allocation_decisions": decisions,
    }  # fmt: skip
    return out


def _assigned(request: Request, meta: IndexMeta, view: CopyView) -> dict[str, Any]:
    everyone = {m.id: m for m in members(request)}
    node = everyone.get(view.node or "")
    data_nodes = [m for m in everyone.values() if m.node.has_role("data")]
    return {
        "index": meta.name, "shard": view.shard, "primary": view.primary, "current_state": view.state.lower(),
        "current_node": {"id": view.node, "name": node.name if node else view.node,
                         "transport_address": node.transport_address if node else None,
                         "roles": es_roles(node.node) if node else [], "weight_ranking": 1},
        "can_remain_on_current_node": "yes",
        "can_rebalance_cluster": "no" if len(data_nodes) < 2 else "yes",
        "can_rebalance_to_other_node": "no",
        "rebalance_explanation": "Elasticsearch cannot rebalance this shard to another node since there is no "
                                 "other node to which it can be rebalanced." if len(data_nodes) < 2 else
                                 "Elasticsearch cannot rebalance this shard to another node because the cluster is "
                                 "already balanced.",
    }  # fmt: skip


class ShardNotFound(QuidditchError):
    status = 404
    es_type = "shard_not_found_exception"


def _body_field(body: dict[str, Any], key: str) -> Any:
    """A body field parsed as ES's ``ObjectParser`` declares it: strings for index and current_node, an int
    (a number or a numeric string) for shard, a boolean (or "true"/"false") for primary."""
    value = body[key]
    bad = XContentParseError(f"[cluster_allocation_explain_request] failed to parse field [{key}]")
    if key in ("index", "current_node"):
        if not isinstance(value, str):
            raise bad
        return value
    if key == "shard":
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int | float):
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise bad
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise bad


def _bool_param(params: dict[str, str], name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value in ("", "true"):
        return True
    if value == "false":
        return False
    raise IllegalArgument(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")


def _cluster_info(request: Request) -> dict[str, Any]:
    """``include_disk_info``: the disk of the data path, as ES reports each node's least/most available disk."""
    path = os.path.abspath(request.app.state.settings.data_dir)
    stat = os.statvfs(path)
    total, free = stat.f_blocks * stat.f_frsize, stat.f_bavail * stat.f_frsize
    disk = {"path": path, "total_bytes": total, "used_bytes": total - free, "free_bytes": free,
            "free_disk_percent": round(100.0 * free / total, 1) if total else 0.0,
            "used_disk_percent": round(100.0 * (total - free) / total, 1) if total else 0.0}  # fmt: skip
    node = {"node_name": cluster_of(request).node_name, "least_available": disk, "most_available": disk}
    return {"nodes": {cluster_of(request).node_id: node}, "shard_sizes": {}, "shard_data_set_sizes": {},
            "shard_paths": {}, "reserved_sizes": []}  # fmt: skip


async def allocation_explain(request: Request) -> Response:
    params = check_params(request, {"include_disk_info", "include_yes_decisions", "index", "shard", "primary",
                                    "current_node"})  # fmt: skip
    include_disk_info = _bool_param(params, "include_disk_info")
    _bool_param(params, "include_yes_decisions")  # validated; every decision is listed either way
    body = await json_body(request) or {}
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    for key in body:
        if key not in _BODY_KEYS:
            raise IllegalArgument(f"[cluster_allocation_explain_request] unknown field [{key}]")
    url_keys = [k for k in ("index", "shard", "primary", "current_node") if k in params]
    if body and url_keys:
        raise IllegalArgument("Parameters [index, shard, primary, current_node] cannot be specified in both the "
                              "request body and the URL")  # fmt: skip
    if body:
        fields = {key: _body_field(body, key) for key in body}
        index, shard, primary = fields.get("index"), fields.get("shard"), fields.get("primary")
        current_node = fields.get("current_node")
    else:
        index, primary = params.get("index"), _bool_param(params, "primary")
        current_node = params.get("current_node")
        shard = params.get("shard")
        if shard is not None:
            if not shard.strip().lstrip("-").isdigit():
                raise IllegalArgument(f"Failed to parse int parameter [shard] with value [{shard}]")
            shard = int(shard)
    explained = _explain(request, index, shard, primary, current_node)
    if include_disk_info:
        explained["cluster_info"] = _cluster_info(request)
    return es_json(request, explained)


def _explain(request: Request, index: str | None, shard: int | None, primary: bool | None,
             current_node: str | None = None) -> dict[str, Any]:  # fmt: skip
    cluster = cluster_of(request)
    state = cluster.master.state
    if index is None and shard is None and primary is None:
        for meta in state.indices.values():
            failures = cluster.node.failures(meta.uuid)
            if meta.is_open and failures:
                return _failed_primary(request, failures[min(failures)])
        for meta in state.indices.values():
            if not meta.is_open:
                continue
            views = [v for copies in shard_views(request, meta).values() for v in copies if v.node is None]
            for v in sorted(views, key=lambda v: (not v.primary, v.shard)):
                return _unassigned(request, meta, v)
        raise IllegalArgument(_NO_UNASSIGNED)
    if index is None or shard is None or primary is None:
        missing = [name for name, value in (("index", index), ("shard", shard), ("primary", primary)) if value is None]
        raise ActionRequestValidation(
            "Validation Failed: " + "".join(f"{i}: {name} must be specified;" for i, name in enumerate(missing, 1))
        )
    if index in state.damaged and primary:
        return _failed_primary(request, ShardFailure(
            index, damaged_uuid(state.damaged[index]) or "_na_", shard, "corrupt_state_exception",
            f"the metadata of index [{index}] in the cluster state is damaged", int(time.time() * 1000),
        ))  # fmt: skip
    target = state.indices.get(index)
    if target is None:
        raise IndexNotFound(index)
    meta = target
    if not 0 <= shard < meta.number_of_shards:
        raise ShardNotFound("no such shard", index=meta.name, shard=str(shard), index_uuid=meta.uuid)
    failure = cluster.node.failures(meta.uuid).get(shard)
    if primary and failure is not None:
        return _failed_primary(request, failure)
    views = [v for v in shard_views(request, meta)[shard] if v.primary == primary]
    if current_node is not None:
        views = [v for v in views if v.node is not None and current_node in (v.node, _name_of(request, v.node))]
    if not views:
        raise IllegalArgument(f"unable to find a {'primary' if primary else 'replica'} shard assigned for "
                              f"[{meta.name}][{shard}]" + (f" on node [{current_node}]" if current_node else ""))
    assigned = [v for v in views if v.node is not None]
    if current_node is not None:
        view = (assigned or views)[0]
    else:
        view = next((v for v in views if v.node is None), views[0])
    return _unassigned(request, meta, view) if view.node is None else _assigned(request, meta, view)


def _name_of(request: Request, node_id: str) -> str:
    return next((m.name for m in members(request) if m.id == node_id), node_id)
