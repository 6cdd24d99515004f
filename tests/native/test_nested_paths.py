"""``native.nested`` helpers: which nested subtrees a document of each level indexes, and the nested documents
one ES document yields."""

from __future__ import annotations

import pytest

from native.errors import FieldValueError
from native.nested import included, nested_documents, nested_paths, strip

PROPS = {
    "a": {"type": "nested", "properties": {
        "x": {"type": "keyword"},
        "b": {"type": "nested", "include_in_parent": True, "properties": {
            "y": {"type": "keyword"},
            "c": {"type": "nested", "include_in_root": True, "properties": {"z": {"type": "keyword"}}},
        }},
    }},
    "o": {"properties": {"n": {"type": "nested", "properties": {"w": {"type": "keyword"}}}}},
}  # fmt: skip
DOC = {"k": 1, "a": [{"x": "1", "b": {"y": "2", "c": [{"z": "3"}, {"z": "4"}]}}, {"x": "5"}], "o": {"n": [{"w": "6"}]}}


def test_nested_paths_and_levels() -> None:
    paths = nested_paths(PROPS)
    assert {p: s.parent for p, s in paths.items()} == {"a": "", "a.b": "a", "a.b.c": "a.b", "o.n": ""}
    assert not included(paths, "a", "")
    assert included(paths, "a.b", "a") and not included(paths, "a.b", "")
    assert included(paths, "a.b.c", "") and not included(paths, "a.b.c", "a.b")


def test_strip_keeps_what_each_level_indexes() -> None:
    paths = nested_paths(PROPS)
    # the root keeps a.b.c (include_in_root) but none of a's or a.b's own fields
    assert strip(DOC, paths, "") == {"k": 1, "a": [{"b": {"c": [{"z": "3"}, {"z": "4"}]}}, {}], "o": {}}
    first = DOC["a"][0]  # type: ignore[index]
    assert strip(first, paths, "a", "a.") == {"x": "1", "b": {"y": "2"}}
    assert strip(first["b"], paths, "a.b", "a.b.") == {"y": "2"}


def test_nested_documents_of_a_document() -> None:
    paths = nested_paths(PROPS)
    docs = sorted(nested_documents(DOC, paths), key=lambda d: (d[0], str(d[1])))
    assert docs == sorted([
        ("a", {"a": {"x": "1", "b": {"y": "2"}}}),
        ("a", {"a": {"x": "5"}}),
        ("a.b", {"a": {"b": {"y": "2"}}}),
        ("a.b.c", {"a": {"b": {"c": {"z": "3"}}}}),
        ("a.b.c", {"a": {"b": {"c": {"z": "4"}}}}),
        ("o.n", {"o": {"n": {"w": "6"}}}),
    ], key=lambda d: (d[0], str(d[1])))  # fmt: skip
    with pytest.raises(FieldValueError, match=r"object mapping for \[a\] tried to parse field \[a\] as object"):
        list(nested_documents({"a": [{"x": "1"}, 7]}, paths))
