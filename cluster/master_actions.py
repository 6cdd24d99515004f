"""The master actions a coordinating node forwards to the elected master, and how each crosses the wire.

Every ``Master`` method that writes cluster state is listed once here: its arguments travel as a JSON object
by name, its result as JSON that the caller turns back into the value ``Master`` returns. The coordination
service runs ``call`` on the master; ``MasterClient`` exposes the same method names and decodes with
``decode``. A method missing here cannot be forwarded (a test checks the list against ``Master``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from cluster.errors import error_from_pb, error_to_pb, unexpected_to_pb
from cluster.protos import coordination_pb2 as cpb
from cluster.state import ClusterState, IndexMeta, ShardRouting, StaleStateError
from native.errors import QuidditchError


def _none(_: Any) -> Any:
    return None


def _meta(value: Any) -> Any:
    return value.to_json()


def _metas(values: Any) -> Any:
    return [m.to_json() for m in values]


def _pair(value: Any) -> Any:
    return list(value)


@dataclass(frozen=True)
class Action:
    call: Callable[[Any, Mapping[str, Any]], Any]  # (master, args) → result, on the master
    encode: Callable[[Any], Any] = _none  # result → JSON
    decode: Callable[[Any], Any] = _none  # JSON → result, on the caller


def _alias_actions(raw: Any) -> list[Any]:
    from cluster.master import AliasAction

    return [AliasAction(a["op"], tuple(a["indices"]), tuple(a["aliases"]), dict(a["props"]), a["must_exist"])
            for a in raw]  # fmt: skip


def alias_actions_json(actions: Any) -> list[dict[str, Any]]:
    return [{"op": a.op, "indices": list(a.indices), "aliases": list(a.aliases), "props": dict(a.props),
             "must_exist": a.must_exist} for a in actions]  # fmt: skip


_META: dict[str, Callable[[Any], Any]] = {"encode": _meta, "decode": IndexMeta.from_json}
_METAS: dict[str, Callable[[Any], Any]] = {
    "encode": _metas,
    "decode": lambda raw: [IndexMeta.from_json(m) for m in raw],
}
_TUPLE: dict[str, Callable[[Any], Any]] = {"encode": _pair, "decode": tuple}

ACTIONS: dict[str, Action] = {
    "create_index": Action(lambda m, a: m.create_index(a["name"], a["body"]), **_META),
    "delete_index": Action(lambda m, a: m.delete_index(a["name"])),
    "put_mapping": Action(lambda m, a: m.put_mapping(a["name"], a["update"]), **_META),
    "apply_dynamic_mapping": Action(lambda m, a: m.apply_dynamic_mapping(a["name"], a["new_properties"]), **_META),
    "put_settings": Action(
        lambda m, a: m.put_settings(a["name"], a["settings"], preserve_existing=a["preserve_existing"]), **_META
    ),
    "set_index_state": Action(lambda m, a: m.set_index_state(a["names"], a["state"]), **_METAS),
    "set_block": Action(lambda m, a: m.set_block(a["names"], a["block"], a["value"]), **_METAS),
    "update_aliases": Action(lambda m, a: m.update_aliases(_alias_actions(a["actions"]))),
    "put_cluster_settings": Action(lambda m, a: m.put_cluster_settings(a["persistent"], a["transient"]), **_TUPLE),
    "put_index_template": Action(lambda m, a: m.put_index_template(a["name"], a["body"], create=a["create"])),
    "put_component_template": Action(lambda m, a: m.put_component_template(a["name"], a["body"], create=a["create"])),
    "put_legacy_template": Action(lambda m, a: m.put_legacy_template(a["name"], a["body"], create=a["create"])),
    "delete_templates": Action(lambda m, a: m.delete_templates(a["kind"], a["names"])),
    "rollover": Action(
        lambda m, a: m.rollover(
            a["alias"], a["new_name"], a["body"], dry_run=a["dry_run"], conditions_met=a["conditions_met"]
        ),
        **_TUPLE,
    ),
    # ``_cluster/reroute``: the commands are decided on the caller's state; the master takes the routing they made
    # only over that same state (else ``StaleStateError``: the caller decides again on the newer one)
    "reroute": Action(
        lambda m, a: m.reroute(_routing_over(a["base_version"], a["routing"])),
        encode=lambda state: state.to_json(),
        decode=ClusterState.from_json,
    ),
    # shard state (allocation): a data node reports a started or a failed copy
    "copy_started": Action(lambda m, a: m.copy_started(a["index_uuid"], a["shard"], a["allocation_id"])),
    "fail_copy": Action(lambda m, a: m.fail_copy(a["index_uuid"], a["shard"], a["allocation_id"], a["reason"])),
}


def _routing_over(base_version: int, routing: Any) -> Callable[[ClusterState], ClusterState]:
    table = {str(k): tuple(ShardRouting.from_json(r) for r in v) for k, v in dict(routing).items()}

    def change(state: ClusterState) -> ClusterState:
        if state.version != base_version:
            raise StaleStateError(f"cluster state version [{base_version}] is stale ({state.version})")
        return replace(state, routing=table)

    return change


def routing_json(state: ClusterState) -> dict[str, Any]:
    return {uuid: [r.to_json() for r in table] for uuid, table in state.routing.items()}


def run_action(master: Any, request: cpb.ActionRequest) -> cpb.ActionResponse:
    """Run a forwarded action on the master (blocking: call it from a worker thread)."""
    response = cpb.ActionResponse()
    action = ACTIONS.get(request.method)
    try:
        if action is None:
            raise QuidditchError(f"unknown master action [{request.method}]")
        result = action.call(master, orjson.loads(request.args_json or b"{}"))
        response.result_json = orjson.dumps(action.encode(result), default=str)
    except QuidditchError as exc:
        response.error.CopyFrom(error_to_pb(exc))
        response.error_class = f"{type(exc).__module__}:{type(exc).__qualname__}"
    except Exception as exc:
        response.error.CopyFrom(unexpected_to_pb(exc))
    response.state_version = master.state.version
    return response


def raise_remote(response: cpb.ActionResponse) -> None:
    """Raise the error a forwarded action ended with, as the class the master raised where it can be
    imported (callers catch ``IndexNotFound`` and co), else as ``RemoteError`` with the same type and status."""
    if not response.HasField("error"):
        return
    plain = error_from_pb(response.error)
    cls = _error_class(response.error_class)
    if cls is None:
        raise plain
    exc = cls.__new__(cls)
    QuidditchError.__init__(exc, plain.reason, caused_by=plain.caused_by, **plain.extra)
    exc.status, exc.es_type = plain.status, plain.es_type
    for key, value in plain.extra.items():  # some errors keep their fields as attributes too
        if not hasattr(exc, key):
            setattr(exc, key, value)
    raise exc


def _error_class(path: str) -> type[QuidditchError] | None:
    module, _, name = path.partition(":")
    if not (module.startswith(("native.", "cluster.")) and name):
        return None
    try:
        value: Any = importlib.import_module(module)
        for part in name.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError):
        return None
    return value if isinstance(value, type) and issubclass(value, QuidditchError) else None
