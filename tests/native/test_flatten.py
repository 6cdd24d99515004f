"""``flatten_source`` keeps source order (highlight fragments and ``fields`` values depend on it)."""

from __future__ import annotations

from native.schema import flatten_source


def test_values_and_paths_keep_source_order() -> None:
    source = {"a": ["x", "y", "z"], "b": {"c": [1, 2]}, "d": [{"e": 1}, {"e": 2, "f": [3, [4, 5]]}], "g": None}
    flat = flatten_source(source)
    assert flat == {"a": ["x", "y", "z"], "b.c": [1, 2], "d.e": [1, 2], "d.f": [3, 4, 5], "g": [None]}
    assert list(flat) == ["a", "b.c", "d.e", "d.f", "g"]
