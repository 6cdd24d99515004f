"""``_cluster/allocation/explain``: why a shard copy is (not) where it is, as a one-node ES answers.

Every primary is started on this node except a failed one (``cluster.shard_failures``): that one is an
unassigned primary whose allocation failed (``ALLOCATION_FAILED``, with the failure as ``details``) and
that is never retried by itself. Replicas are unassigned (``INDEX_CREATED``): a copy never goes on the node
that holds its primary. Without a body the API explains the first unassigned copy, failed primaries first.
"""

from __future__ import annotations

import os
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cluster.shard_failures import ShardFailure
from cluster.state import IndexMeta, damaged_uuid
from native.errors import (
    ActionRequestValidation,
    IllegalArgument,
    IndexNotFound,
    ParsingError,
    QuidditchError,
    XContentParseError,
)
from server.http import check_params, cluster_of, es_json, json_body

NODE_ID = "quidditch-node-0"
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


def _node(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    return {"node_id": NODE_ID, "node_name": cluster_of(request).node_name,
            "transport_address": f"{settings.host}:9300"}  # fmt: skip


def _failed_primary(request: Request, failure: ShardFailure) -> dict[str, Any]:
    return {
        "index": failure.index, "shard": failure.shard, "primary": True, "current_state": "unassigned",
        "unassigned_info": {
            "reason": "ALLOCATION_FAILED", "at": failure.at, "failed_allocation_attempts": 1,
            "details": f"failed shard on node [{NODE_ID}]: {failure.details}", "last_allocation_status": "no",
        },
        "can_allocate": "no",
        "allocate_explanation": _NOT_ALLOWED,
        "node_allocation_decisions": [{
            **_node(request), "node_decision": "no",
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


def _replica(request: Request, meta: IndexMeta, shard: int) -> dict[str, Any]:
    return {
        "index": meta.name, "shard": shard, "primary": False, "current_state": "unassigned",
        "unassigned_info": {"reason": "INDEX_CREATED", "at": _iso(meta.creation_date),
                            "last_allocation_status": "no_attempt"},  # unassigned since the index was created
        "can_allocate": "no",
        "allocate_explanation": _NOT_ALLOWED,
        "node_allocation_decisions": [{
            **_node(request), "node_decision": "no",
            "deciders": [{"decider": "same_shard", "decision": "NO",
                          "explanation": "a copy of this shard is already allocated to this node"}],
        }],
    }  # fmt: skip


def _started_primary(request: Request, meta: IndexMeta, shard: int) -> dict[str, Any]:
    node = _node(request)
    return {
        "index": meta.name, "shard": shard, "primary": True, "current_state": "started",
        "current_node": {"id": node["node_id"], "name": node["node_name"],
                         "transport_address": node["transport_address"], "roles": ["data", "ingest", "master"],
                         "weight_ranking": 1},
        "can_remain_on_current_node": "yes",
        "can_rebalance_cluster": "no",
        "can_rebalance_to_other_node": "no",
        "rebalance_explanation": "Elasticsearch cannot rebalance this shard to another node since there is no "
                                 "other node to which it can be rebalanced.",
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
    return {"nodes": {NODE_ID: node}, "shard_sizes": {}, "shard_data_set_sizes": {}, "shard_paths": {},
            "reserved_sizes": []}  # fmt: skip


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
    else:
        index, primary = params.get("index"), _bool_param(params, "primary")
        shard = params.get("shard")
        if shard is not None:
            if not shard.strip().lstrip("-").isdigit():
                raise IllegalArgument(f"Failed to parse int parameter [shard] with value [{shard}]")
            shard = int(shard)
    explained = _explain(request, index, shard, primary)
    if include_disk_info:
        explained["cluster_info"] = _cluster_info(request)
    return es_json(request, explained)


def _explain(request: Request, index: str | None, shard: int | None, primary: bool | None) -> dict[str, Any]:
    cluster = cluster_of(request)
    state = cluster.master.state
    if index is None and shard is None and primary is None:
        for meta in state.indices.values():
            failures = cluster.node.failures(meta.uuid)
            if meta.is_open and failures:
                return _failed_primary(request, failures[min(failures)])
        replicas = [(m, s) for m in state.indices.values() if m.is_open and m.number_of_replicas
                    for s in range(m.number_of_shards)]  # fmt: skip
        if not replicas:
            raise IllegalArgument(_NO_UNASSIGNED)
        return _replica(request, *replicas[0])
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
    if not primary:
        if not meta.number_of_replicas:
            raise IllegalArgument(f"unable to find a replica shard assigned for [{meta.name}][{shard}]")
        return _replica(request, meta, shard)
    failure = cluster.node.failures(meta.uuid).get(shard)
    if failure is not None:
        return _failed_primary(request, failure)
    return _started_primary(request, meta, shard)
