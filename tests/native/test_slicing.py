"""``native.slicing``: the shard plan covers every shard exactly once, and ES's id encoding."""

from __future__ import annotations

from collections import defaultdict

import pytest

from native.slicing import encode_id, id_slot, plan_slices, value_slot


@pytest.mark.parametrize("shards", range(1, 7))
@pytest.mark.parametrize("slices", range(2, 10))
def test_plan_assigns_every_document_of_every_shard_once(shards: int, slices: int) -> None:
    # per shard: the (sub id, sub max) parts that slices take of it; None = the whole shard
    parts: dict[int, list[tuple[int, int] | None]] = defaultdict(list)
    for slice_id in range(slices):
        for shard, part in enumerate(plan_slices(slice_id, slices, shards, None, False)):
            if part is None:
                parts[shard].append(None)
            elif not part.none:
                parts[shard].append((part.id, part.max))
    for shard in range(shards):
        taken = parts[shard]
        if taken == [None]:
            continue
        assert None not in taken, taken
        maxes = {m for _, m in taken}
        assert len(maxes) == 1, taken  # one split of the shard, shared by its slices
        assert sorted(i for i, _ in taken) == list(range(maxes.pop()))


def test_point_in_time_slices_by_document_order() -> None:
    (part,) = plan_slices(1, 3, 1, None, True)
    assert part is not None and part.mode == "by_doc"
    (part,) = plan_slices(1, 3, 1, "n", True)
    assert part is not None and part.mode == "by_field" and part.field == "n"


def test_encode_id_as_es() -> None:
    assert encode_id("1") == b"\xfe\x1f"  # numeric ids: two digits a byte, 0xf pads an odd length
    assert encode_id("42") == b"\xfe\x42"
    assert encode_id("007") == b"\xfe\x00\x7f"
    assert encode_id("hello world") == b"\xff" + b"hello world"  # not URL-safe base64: UTF-8 behind 0xff
    assert encode_id("AAAA") == b"\x00\x00\x00"  # URL-safe base64 without padding: decoded


def test_slots_are_in_range_and_spread() -> None:
    slots = [id_slot(str(i), 4) for i in range(400)]
    assert set(slots) == {0, 1, 2, 3}
    assert min(slots.count(s) for s in range(4)) > 50
    values = [value_slot(v, 3) for v in range(300)] + [value_slot(v / 7, 3) for v in range(300)]
    assert set(values) == {0, 1, 2}
