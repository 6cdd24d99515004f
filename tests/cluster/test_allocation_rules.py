"""``cluster.allocation``: hand-built states in, routing tables out, checked against ES's rules."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.allocation import allocate, fail_copy, stamp_unassigned, start_copy
from cluster.reroute import retry_failed
from cluster.state import ClusterState, IndexMeta, NodeInfo, ShardRouting


def ids() -> itertools.count[int]:
    return itertools.count(1)


def factory() -> object:
    counter = ids()
    return lambda: f"a{next(counter)}"


def meta(name: str, shards: int = 1, replicas: int = 1) -> IndexMeta:
    settings = {"index.number_of_shards": str(shards), "index.number_of_replicas": str(replicas)}
    return IndexMeta(name=name, uuid=f"u-{name}", mappings={}, creation_date=0, settings=settings)


def state(nodes: list[str], *metas: IndexMeta, roles: tuple[str, ...] = ("master", "data")) -> ClusterState:
    return ClusterState(nodes={n: NodeInfo(n, n, roles) for n in nodes}, indices={m.name: m for m in metas})


def with_nodes(s: ClusterState, nodes: list[str]) -> ClusterState:
    return replace(s, nodes={n: NodeInfo(n, n) for n in nodes})


def start_all(s: ClusterState, new_id: object) -> ClusterState:
    """Report every initializing copy started until nothing initializes (recoveries, then moves)."""
    for _ in range(50):
        pending = [(u, r.shard, c.allocation_id) for u, t in s.routing.items() for r in t for c in r.copies
                   if c.state == "INITIALIZING"]  # fmt: skip
        if not pending:
            return s
        for u, shard, aid in pending:
            s = allocate(start_copy(s, u, shard, aid), new_id=new_id)  # type: ignore[arg-type]
    raise AssertionError("allocation never settled")


def check_invariants(s: ClusterState) -> None:
    data = {n.id for n in s.data_nodes()}
    for table in s.routing.values():
        for r in table:
            nodes = [c.node for c in r.copies]
            assert len(nodes) == len(set(nodes)), r  # one copy per node, so primary and replica never share
            assert set(nodes) <= data, r
            assert sum(c.primary for c in r.copies) <= 1, r
            for c in r.copies:
                if c.state == "STARTED" and c.primary:
                    assert c.allocation_id in r.in_sync
                if c.state == "RELOCATING":  # its target exists on the node it names
                    assert any(t.node == c.relocating_node and t.state == "INITIALIZING" for t in r.copies)


def test_new_index_primaries_started_replicas_initializing_elsewhere() -> None:
    new_id = factory()
    s = allocate(state(["n1", "n2", "n3"], meta("logs", shards=3, replicas=1)), new_id=new_id)  # type: ignore[arg-type]
    table = s.routing["u-logs"]
    assert [r.primary.state for r in table if r.primary] == ["STARTED"] * 3
    assert sorted(r.primary.node for r in table if r.primary) == ["n1", "n2", "n3"]  # spread
    for r in table:
        assert r.primary is not None
        assert r.in_sync == (r.primary.allocation_id,)
        [replica] = r.replicas
        assert replica.state == "INITIALIZING" and replica.node != r.primary.node
    check_invariants(s)
    s = start_all(s, new_id)  # placement is greedy; the balancer evens it out once the replicas started
    assert Counter(c.node for r in s.routing["u-logs"] for c in r.copies) == {"n1": 2, "n2": 2, "n3": 2}
    check_invariants(s)


def test_one_data_node_leaves_replicas_unassigned_and_is_deterministic() -> None:
    base = state(["solo"], meta("a", shards=2, replicas=2))
    one = allocate(base, new_id=factory())  # type: ignore[arg-type]
    two = allocate(base, new_id=factory())  # type: ignore[arg-type]
    assert one == two
    assert [len(r.copies) for r in one.routing["u-a"]] == [1, 1]
    assert allocate(one) is one  # nothing to change: the same state back


def test_only_data_nodes_hold_copies() -> None:
    s = state(["m1"], meta("a"), roles=("master",))
    s = allocate(s, new_id=factory())  # type: ignore[arg-type]
    assert s.routing["u-a"][0].copies == ()
    s = allocate(replace(s, nodes={**s.nodes, "d1": NodeInfo("d1", "d1", ("data",))}), new_id=factory())  # type: ignore[arg-type]
    assert [c.node for c in s.routing["u-a"][0].copies] == ["d1"]


def test_copy_started_goes_in_sync() -> None:
    new_id = factory()
    s = allocate(state(["n1", "n2"], meta("a")), new_id=new_id)  # type: ignore[arg-type]
    r = s.routing["u-a"][0]
    replica = r.replicas[0]
    s = start_copy(s, "u-a", 0, replica.allocation_id)
    r = s.routing["u-a"][0]
    assert r.replicas[0].state == "STARTED"
    assert set(r.in_sync) == {r.primary.allocation_id, replica.allocation_id}  # type: ignore[union-attr]
    assert start_copy(s, "u-a", 0, "nope") is s  # stale: ignored


def test_lost_primary_promotes_in_sync_replica_with_new_term() -> None:
    new_id = factory()
    s = start_all(allocate(state(["n1", "n2", "n3"], meta("a", shards=1, replicas=1)), new_id=new_id), new_id)
    r = s.routing["u-a"][0]
    old_primary, replica = r.primary, r.replicas[0]
    assert old_primary is not None
    s = allocate(with_nodes(s, [n for n in ("n1", "n2", "n3") if n != old_primary.node]), new_id=new_id)  # type: ignore[arg-type]
    r = s.routing["u-a"][0]
    assert r.primary is not None and r.primary.allocation_id == replica.allocation_id
    assert r.primary_term == 2
    assert old_primary.allocation_id not in r.in_sync
    [fresh] = r.replicas  # a new replica on the third node, recovering
    assert fresh.state == "INITIALIZING" and fresh.node not in (old_primary.node, replica.node)
    check_invariants(s)


def test_initializing_replica_is_never_promoted_and_primary_returns_only_to_its_node() -> None:
    new_id = factory()
    s = allocate(state(["n1", "n2"], meta("a", replicas=1)), new_id=new_id)  # type: ignore[arg-type]
    r = s.routing["u-a"][0]
    primary = r.primary
    assert primary is not None and r.replicas[0].state == "INITIALIZING"
    other = "n2" if primary.node == "n1" else "n1"
    s = allocate(with_nodes(s, [other]), new_id=new_id)  # type: ignore[arg-type]
    r = s.routing["u-a"][0]
    assert r.primary is None and r.copies == ()  # red: the only in-sync copy is gone
    assert [c.allocation_id for c in r.lost] == [primary.allocation_id]
    assert r.in_sync == (primary.allocation_id,)
    s = allocate(with_nodes(s, [other, "n9"]), new_id=new_id)  # type: ignore[arg-type]
    assert s.routing["u-a"][0].primary is None  # a stranger does not get it
    s = allocate(with_nodes(s, [other, "n9", primary.node]), new_id=new_id)  # type: ignore[arg-type]
    r = s.routing["u-a"][0]
    assert r.primary is not None and r.primary.node == primary.node
    assert r.primary.allocation_id == primary.allocation_id and r.primary_term == 2
    assert r.lost == () and len(r.replicas) == 1
    check_invariants(s)


def test_state_json_round_trip_keeps_lost_and_moves() -> None:
    new_id = factory()
    s = allocate(state(["n1", "n2"], meta("a", replicas=1)), new_id=new_id)  # type: ignore[arg-type]
    s = allocate(with_nodes(s, ["n3"]), new_id=new_id)  # type: ignore[arg-type]
    assert ClusterState.from_json(s.to_json()) == s
    assert s.routing["u-a"][0].lost


def test_fail_copy_removes_from_in_sync_then_reallocates() -> None:
    new_id = factory()
    s = start_all(allocate(state(["n1", "n2", "n3"], meta("a", replicas=1)), new_id=new_id), new_id)
    r = s.routing["u-a"][0]
    replica = r.replicas[0]
    failed = fail_copy(s, "u-a", 0, replica.allocation_id)
    r2 = failed.routing["u-a"][0]
    assert replica.allocation_id not in r2.in_sync and r2.copy(replica.allocation_id) is None
    assert r2.failed_attempts == 1 and r2.unassigned_reason == "ALLOCATION_FAILED"
    s = allocate(failed, new_id=new_id)  # type: ignore[arg-type]
    assert s.routing["u-a"][0].replicas[0].state == "INITIALIZING"


def test_fail_primary_promotes_and_max_retries_stops_reallocation() -> None:
    new_id = factory()
    s = start_all(allocate(state(["n1", "n2"], meta("a", replicas=1)), new_id=new_id), new_id)
    r = s.routing["u-a"][0]
    s = allocate(fail_copy(s, "u-a", 0, r.primary.allocation_id), new_id=new_id)  # type: ignore[union-attr, arg-type]
    r2 = s.routing["u-a"][0]
    assert r2.primary is not None and r2.primary.allocation_id == r.replicas[0].allocation_id
    assert r2.primary_term == 2
    for _ in range(5):  # the replica keeps failing: after max_retries it stays unassigned
        replica = s.routing["u-a"][0].replicas
        if not replica:
            break
        s = allocate(fail_copy(s, "u-a", 0, replica[0].allocation_id), new_id=new_id)  # type: ignore[arg-type]
    assert s.routing["u-a"][0].replicas == ()
    assert s.routing["u-a"][0].failed_attempts == 5
    s = allocate(retry_failed(s), new_id=new_id)  # type: ignore[arg-type]
    assert [c.state for c in s.routing["u-a"][0].replicas] == ["INITIALIZING"]


def test_failing_the_last_copy_keeps_it_until_its_node_restarts() -> None:
    new_id = factory()
    s = allocate(state(["n1"], meta("a", replicas=0)), new_id=new_id)  # type: ignore[arg-type]
    aid = s.routing["u-a"][0].copies[0].allocation_id
    s = allocate(fail_copy(s, "u-a", 0, aid), new_id=new_id)  # type: ignore[arg-type]
    r = s.routing["u-a"][0]
    assert r.primary is None and [c.state for c in r.lost] == ["FAILED"]  # not retried on the same live node
    s = allocate(with_nodes(s, []), new_id=new_id)  # type: ignore[arg-type]
    s = allocate(with_nodes(s, ["n1"]), new_id=new_id)  # type: ignore[arg-type]
    assert s.routing["u-a"][0].primary is not None  # the node restarted: tried again


def test_join_takes_unassigned_replicas_then_rebalances_bounded() -> None:
    new_id = factory()
    s = start_all(allocate(state(["n1", "n2"], meta("a", shards=6, replicas=0)), new_id=new_id), new_id)
    assert Counter(c.node for r in s.routing["u-a"] for c in r.copies) == {"n1": 3, "n2": 3}
    s = allocate(with_nodes(s, ["n1", "n2", "n3", "n4"]), new_id=new_id)  # type: ignore[arg-type]
    moving = [c for r in s.routing["u-a"] for c in r.copies if c.state == "RELOCATING"]
    assert len(moving) == 2  # cluster_concurrent_rebalance
    for r in s.routing["u-a"]:  # nothing removed before its replacement started
        assert any(c.state in ("STARTED", "RELOCATING") for c in r.copies)
    check_invariants(s)
    s = start_all(s, new_id)
    assert sorted(Counter(c.node for r in s.routing["u-a"] for c in r.copies).values()) == [1, 1, 2, 2]
    assert all(c.state == "STARTED" and c.primary for r in s.routing["u-a"] for c in r.copies)
    assert all(r.primary_term == 1 for r in s.routing["u-a"])  # a move is no promotion


def test_concurrent_rebalance_setting_is_honoured() -> None:
    new_id = factory()
    s = start_all(allocate(state(["n1"], meta("a", shards=6, replicas=0)), new_id=new_id), new_id)
    s = replace(s, persistent={"cluster.routing.allocation.cluster_concurrent_rebalance": "5"})
    s = allocate(with_nodes(s, ["n1", "n2"]), new_id=new_id)  # type: ignore[arg-type]
    assert sum(c.state == "RELOCATING" for r in s.routing["u-a"] for c in r.copies) == 3  # 6 → 3/3 needs 3
    unlimited = start_all(allocate(state(["n1"], meta("b", shards=8, replicas=0)), new_id=new_id), new_id)
    unlimited = replace(unlimited, persistent={"cluster.routing.allocation.cluster_concurrent_rebalance": "-1"})
    unlimited = allocate(with_nodes(unlimited, ["n1", "n2"]), new_id=new_id)  # type: ignore[arg-type]
    assert sum(c.state == "RELOCATING" for r in unlimited.routing["u-b"] for c in r.copies) == 4


def test_relocation_source_leaving_cancels_target_and_target_leaving_restores_source() -> None:
    new_id = factory()
    s = start_all(allocate(state(["n1"], meta("a", shards=2, replicas=0)), new_id=new_id), new_id)
    s = allocate(with_nodes(s, ["n1", "n2"]), new_id=new_id)  # type: ignore[arg-type]
    assert any(c.state == "RELOCATING" for r in s.routing["u-a"] for c in r.copies)
    back = allocate(with_nodes(s, ["n1"]), new_id=new_id)  # type: ignore[arg-type]
    assert all(c.state == "STARTED" and c.node == "n1" for r in back.routing["u-a"] for c in r.copies)
    gone = allocate(with_nodes(s, ["n2"]), new_id=new_id)  # type: ignore[arg-type]
    # the moving primary's target never started: red, it waits for n1 (its in-sync copy) to come back
    assert any(r.primary is None for r in gone.routing["u-a"])
    check_invariants(gone)


def test_fewer_replicas_removes_copies_and_deleted_index_leaves_table() -> None:
    new_id = factory()
    s = start_all(allocate(state(["n1", "n2", "n3"], meta("a", replicas=2)), new_id=new_id), new_id)
    assert len(s.routing["u-a"][0].copies) == 3
    s = allocate(replace(s, indices={"a": meta("a", replicas=1)}), new_id=new_id)  # type: ignore[arg-type]
    r = s.routing["u-a"][0]
    assert len(r.copies) == 2 and set(r.in_sync) == {c.allocation_id for c in r.copies}
    s = allocate(replace(s, indices={}), new_id=new_id)  # type: ignore[arg-type]
    assert s.routing == {}


def test_old_routing_entries_load_with_defaults() -> None:
    r = ShardRouting.from_json({"shard": 0, "copies": [{"node": "n", "primary": True}], "in_sync": []})
    assert r.lost == () and r.failed_attempts == 0 and r.copies[0].relocating_node == ""


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sets(st.sampled_from(["n1", "n2", "n3", "n4", "n5"]), max_size=5), min_size=1, max_size=8),
       st.integers(1, 4), st.integers(0, 2), st.lists(st.booleans(), min_size=8, max_size=8))  # fmt: skip
def test_invariants_hold_over_joins_and_leaves(
    memberships: list[set[str]], shards: int, replicas: int, settle: list[bool]
) -> None:
    new_id = factory()
    s = state([], meta("a", shards=shards, replicas=replicas), meta("b", shards=2, replicas=1))
    for members, do_settle in zip(memberships, settle, strict=False):
        before = s
        s = allocate(with_nodes(s, sorted(members)), new_id=new_id)  # type: ignore[arg-type]
        check_invariants(s)
        for uuid, table in s.routing.items():
            for r in table:
                old = before.shard_routing(uuid, r.shard)
                if old is not None and old.primary is not None and old.primary.node in members:
                    assert r.primary is not None  # a primary on a live node is never dropped
                # every node a primary lands on after a loss held an in-sync copy (or the shard was fresh)
                if old is not None and old.primary is None and old.in_sync and r.primary is not None:
                    assert r.primary.allocation_id in old.in_sync
        if do_settle:
            s = start_all(s, new_id)
            check_invariants(s)
    s = start_all(allocate(s, new_id=new_id), new_id)  # type: ignore[arg-type]
    data = len(s.data_nodes())
    for name in ("a", "b"):
        m = s.indices[name]
        for r in s.routing[m.uuid]:
            if r.primary is not None:  # fully replicated as far as the nodes allow
                assert len(r.copies) == min(data, 1 + m.number_of_replicas)


def test_excluding_a_node_drains_it_two_moves_at_a_time() -> None:
    new_id = factory()
    s = start_all(allocate(state(["n1", "n2", "n3"], meta("a", shards=9, replicas=0)), new_id=new_id), new_id)
    assert Counter(c.node for r in s.routing["u-a"] for c in r.copies) == {"n1": 3, "n2": 3, "n3": 3}
    s = replace(s, persistent={"cluster.routing.allocation.exclude._name": "n2"})
    s = allocate(s, new_id=new_id)  # type: ignore[arg-type]
    moving = [c for r in s.routing["u-a"] for c in r.copies if c.state == "RELOCATING"]
    assert [c.node for c in moving] == ["n2", "n2"]  # node_concurrent_outgoing_recoveries
    assert all(c.relocating_node in ("n1", "n3") for c in moving)
    s = start_all(s, new_id)
    assert sorted(Counter(c.node for r in s.routing["u-a"] for c in r.copies).items()) in (
        [("n1", 5), ("n3", 4)], [("n1", 4), ("n3", 5)])  # fmt: skip
    s = start_all(allocate(replace(s, persistent={}), new_id=new_id), new_id)  # the filter goes: n2 gets shards again
    assert Counter(c.node for r in s.routing["u-a"] for c in r.copies)["n2"] == 3


def test_index_filters_enable_and_shards_per_node() -> None:
    new_id = factory()
    pinned = replace(meta("p", shards=2, replicas=1), settings={
        "index.number_of_shards": "2", "index.number_of_replicas": "1",
        "index.routing.allocation.require._name": "n1,n2"})  # fmt: skip
    s = start_all(allocate(state(["n1", "n2", "n3"], pinned), new_id=new_id), new_id)
    assert {c.node for r in s.routing["u-p"] for c in r.copies} == {"n1", "n2"}
    limited = replace(meta("l", shards=3, replicas=0), settings={
        "index.number_of_shards": "3", "index.number_of_replicas": "0",
        "index.routing.allocation.total_shards_per_node": "1"})  # fmt: skip
    s = allocate(state(["n1", "n2"], limited), new_id=new_id)  # type: ignore[arg-type]
    assert sorted(len(r.copies) for r in s.routing["u-l"]) == [0, 1, 1]  # the third has no room: red
    none = replace(state(["n1", "n2"], meta("x")), persistent={"cluster.routing.allocation.enable": "none"})
    assert all(not r.copies for r in allocate(none, new_id=new_id).routing["u-x"])  # type: ignore[arg-type]
    prim = replace(none, persistent={"cluster.routing.allocation.enable": "primaries"})
    s = allocate(prim, new_id=new_id)  # type: ignore[arg-type]
    assert [(c.primary, c.state) for r in s.routing["u-x"] for c in r.copies] == [(True, "STARTED")]
    s = allocate(replace(s, persistent={}), new_id=new_id)  # type: ignore[arg-type]
    assert len(s.routing["u-x"][0].replicas) == 1


def test_rebalance_enable_none_keeps_copies_in_place() -> None:
    new_id = factory()
    s = start_all(allocate(state(["n1"], meta("a", shards=4, replicas=0)), new_id=new_id), new_id)
    s = replace(s, transient={"cluster.routing.rebalance.enable": "none"})
    s = allocate(with_nodes(s, ["n1", "n2"]), new_id=new_id)  # type: ignore[arg-type]
    assert all(c.state == "STARTED" and c.node == "n1" for r in s.routing["u-a"] for c in r.copies)
    replicas_only = replace(s, transient={"cluster.routing.rebalance.enable": "replicas"})
    s = allocate(replicas_only, new_id=new_id)  # type: ignore[arg-type]
    assert all(c.state == "STARTED" for r in s.routing["u-a"] for c in r.copies)  # only primaries here


def test_unassigned_since_is_stamped_when_a_copy_goes_missing() -> None:
    new_id = factory()
    s = start_all(allocate(state(["n1", "n2"], meta("a", shards=2, replicas=1)), new_id=new_id), new_id)
    created = stamp_unassigned(ClusterState(), s, 111)
    assert all(r.unassigned_at == 0 for r in created.routing["u-a"])  # a new index: since its creation date
    left = allocate(with_nodes(s, ["n1"]), new_id=new_id)  # type: ignore[arg-type]
    stamped = stamp_unassigned(s, left, 222)
    assert [r.unassigned_at for r in stamped.routing["u-a"]] == [222, 222]
    assert all(r.unassigned_reason == "NODE_LEFT" for r in stamped.routing["u-a"])
    again = stamp_unassigned(stamped, replace(stamped, persistent={"x": "1"}), 333)
    assert [r.unassigned_at for r in again.routing["u-a"]] == [222, 222]  # still missing: the first time stays
    assert ClusterState.from_json(stamped.to_json()) == stamped


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["join", "leave", "start", "fail"]), st.integers(0, 1000)),
                min_size=1, max_size=30))  # fmt: skip
def test_invariants_hold_over_random_events(events: list[tuple[str, int]]) -> None:
    new_id = factory()
    pool = ["n1", "n2", "n3", "n4"]
    members = ["n1", "n2"]
    s = allocate(state(members, meta("a", shards=3, replicas=1), meta("b", shards=1, replicas=2)), new_id=new_id)  # type: ignore[arg-type]
    for kind, pick in events:
        before = s
        copies = [(u, r.shard, c) for u, t in s.routing.items() for r in t for c in r.copies]
        if kind == "join" and len(members) < len(pool):
            members = [*members, next(n for n in pool if n not in members)]
            s = allocate(with_nodes(s, members), new_id=new_id)  # type: ignore[arg-type]
        elif kind == "leave" and members:
            members = [n for i, n in enumerate(members) if i != pick % len(members)]
            s = allocate(with_nodes(s, members), new_id=new_id)  # type: ignore[arg-type]
        elif kind == "start":
            initializing = [x for x in copies if x[2].state == "INITIALIZING"]
            if initializing:
                u, shard, c = initializing[pick % len(initializing)]
                s = allocate(start_copy(s, u, shard, c.allocation_id), new_id=new_id)  # type: ignore[arg-type]
        elif kind == "fail" and copies:
            u, shard, c = copies[pick % len(copies)]
            s = allocate(fail_copy(s, u, shard, c.allocation_id), new_id=new_id)  # type: ignore[arg-type]
        check_invariants(s)
        for u, table in s.routing.items():
            for r in table:
                old = before.shard_routing(u, r.shard)
                assert old is None or r.primary_term >= old.primary_term
                for c in r.copies:
                    if c.state in ("STARTED", "RELOCATING"):
                        assert c.allocation_id in r.in_sync, r  # only started copies that kept every write
                if r.primary is None and old is not None and old.primary is not None and r.in_sync:
                    # red: the in-sync copies that went are remembered with their node
                    assert {c.allocation_id for c in r.lost} <= set(r.in_sync)
