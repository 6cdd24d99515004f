"""``_cluster/allocation/explain``: why a shard copy is (not) where it is, as a one-node ES answers.

Every primary is started on this node except a failed one (``cluster.shard_failures``): that one is an
unassigned primary whose allocation failed (``ALLOCATION_FAILED``, with the failure as ``details``) and
that is never retried by itself. Replicas are unassigned (``INDEX_CREATED``): a copy never goes on the node
that holds its primary. Without a body the API explains the first unassigned copy, failed primaries first.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cluster.shard_failures import ShardFailure
from cluster.state import IndexMeta, damaged_uuid
from native.errors import ActionRequestValidation, IllegalArgument, IndexNotFound, ParsingError
from server.http import check_params, cluster_of, es_json, flag, json_body

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


def _replica(request: Request, meta: IndexMeta, shard: int) -> dict[str, Any]:
    return {
        "index": meta.name, "shard": shard, "primary": False, "current_state": "unassigned",
        "unassigned_info": {"reason": "INDEX_CREATED", "at": "1970-01-01T00:00:00.000Z",
                            "last_allocation_status": "no_attempt"},
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
                         "transport_address": node["transport_address"]},
        "can_remain_on_current_node": "yes",
        "can_rebalance_cluster": "no",
        "can_rebalance_to_other_node": "no",
        "rebalance_explanation": "Elasticsearch cannot rebalance this shard to another node since there is no "
                                 "other node to which it can be rebalanced.",
    }  # fmt: skip


async def allocation_explain(request: Request) -> Response:
    params = check_params(request, {"include_disk_info", "include_yes_decisions", "index", "shard", "primary",
                                    "current_node"})  # fmt: skip
    body = await json_body(request) or {}
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    for key in body:
        if key not in _BODY_KEYS:
            raise IllegalArgument(f"[cluster_allocation_explain_request] unknown field [{key}]")
    index = body.get("index", params.get("index"))
    shard = body.get("shard", params.get("shard"))
    primary = body.get("primary", flag(params, "primary") if "primary" in params else None)
    cluster = cluster_of(request)
    state = cluster.master.state
    if index is None and shard is None and primary is None:
        for meta in state.indices.values():
            failures = cluster.node.failures(meta.uuid)
            if meta.is_open and failures:
                return es_json(request, _failed_primary(request, failures[min(failures)]))
        replicas = [(m, s) for m in state.indices.values() if m.is_open and m.number_of_replicas
                    for s in range(m.number_of_shards)]  # fmt: skip
        if not replicas:
            raise IllegalArgument(_NO_UNASSIGNED)
        return es_json(request, _replica(request, *replicas[0]))
    missing = [name for name, value in (("index", index), ("shard", shard), ("primary", primary)) if value is None]
    if missing:
        raise ActionRequestValidation(
            "Validation Failed: " + "".join(f"{i}: {name} must be specified;" for i, name in enumerate(missing, 1))
        )
    if str(index) in state.damaged and primary in (True, "true"):
        raw = state.damaged[str(index)]
        return es_json(request, _failed_primary(request, ShardFailure(
            str(index), damaged_uuid(raw) or "_na_", int(str(shard)), "corrupt_state_exception",
            f"the metadata of index [{index}] in the cluster state is damaged", int(time.time() * 1000),
        )))  # fmt: skip
    target = state.indices.get(str(index))
    if target is None:
        raise IndexNotFound(str(index))
    meta = target
    try:
        shard_id = int(str(shard))
    except (TypeError, ValueError):
        raise IllegalArgument(f"failed to parse [shard] value [{shard}]") from None
    if not 0 <= shard_id < meta.number_of_shards:
        raise IllegalArgument(f"No shard was found in index [{meta.name}] with shard id [{shard_id}]")
    primary_flag = primary if isinstance(primary, bool) else str(primary).lower() == "true"
    if not primary_flag:
        if not meta.number_of_replicas:
            raise IllegalArgument(f"unable to find a replica shard assigned for [{meta.name}][{shard_id}]")
        return es_json(request, _replica(request, meta, shard_id))
    failure = cluster.node.failures(meta.uuid).get(shard_id)
    if failure is not None:
        return es_json(request, _failed_primary(request, failure))
    return es_json(request, _started_primary(request, meta, shard_id))
