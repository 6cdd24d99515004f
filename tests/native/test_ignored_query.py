"""Queries on the ``_ignored`` metadata field over a real shard: ``term``/``terms``/``exists`` match the documents
whose values were ignored (``ignore_above``, ``ignore_malformed``), the expected sets worked out here from the
documents themselves; a generation written before ``_ignored`` was indexed is rebuilt when the shard opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from native.analysis import Analysis
from native.fields import ID_FIELD
from native.ignored import IgnoredFields
from native.mapping import Mapping
from native.query.compile import compile_query
from native.query.parse import parse_query
from native.schema import CompiledMapping
from native.shard import Shard
from native.writes import WriteOp

BODY = {"properties": {"k": {"type": "keyword", "ignore_above": 5}, "n": {"type": "long", "ignore_malformed": True},
                       "plain": {"type": "keyword"}}}  # fmt: skip
DOCS: dict[str, dict[str, Any]] = {
    "1": {"k": "abc", "n": 1, "plain": "x"},
    "2": {"k": "abcdefgh", "n": 2},
    "3": {"k": "abc", "n": "not a number"},
    "4": {"k": ["ab", "toolongvalue"], "n": "bad"},
    "5": {"plain": "averyveryverylongvalue"},
}


def _expected_ignored() -> dict[str, set[str]]:
    """field → ids of the documents with a value of it ignored (k: longer than 5; n: not an integer)."""
    out: dict[str, set[str]] = {"k": set(), "n": set()}
    for doc_id, doc in DOCS.items():
        ks = doc.get("k", [])
        if any(len(v) > 5 for v in (ks if isinstance(ks, list) else [ks])):
            out["k"].add(doc_id)
        if "n" in doc and not isinstance(doc["n"], int):
            out["n"].add(doc_id)
    return out


def _open(path: Path, body: dict[str, Any]) -> Shard:
    return Shard(str(path), Mapping(body), Analysis.from_settings({}, index_settings=None))


def _write(shard: Shard) -> None:
    for result in shard.write([WriteOp("index", k, orjson.dumps(v)) for k, v in DOCS.items()]):
        assert result.error is None, result.error
    shard.refresh(force=True)


def _ids(shard: Shard, query: dict[str, Any]) -> set[str]:
    _, searcher = shard.acquire_searcher()
    compiled = compile_query(parse_query(query), shard.compiled, now_millis=0, searcher=searcher)
    return {searcher.doc(addr)[ID_FIELD][0] for _, addr in searcher.search(compiled, 100).hits}


def _check(shard: Shard) -> None:
    expected = _expected_ignored()
    assert expected == {"k": {"2", "4"}, "n": {"3", "4"}}
    assert _ids(shard, {"term": {"_ignored": "k"}}) == expected["k"]
    assert _ids(shard, {"term": {"_ignored": {"value": "n"}}}) == expected["n"]
    assert _ids(shard, {"term": {"_ignored": "plain"}}) == set()
    assert _ids(shard, {"terms": {"_ignored": ["k", "n"]}}) == expected["k"] | expected["n"]
    assert _ids(shard, {"exists": {"field": "_ignored"}}) == expected["k"] | expected["n"]
    assert _ids(shard, {"bool": {"must_not": [{"exists": {"field": "_ignored"}}]}}) == {"1", "5"}
    assert _ids(shard, {"bool": {"filter": [{"term": {"_ignored": "k"}}, {"term": {"_ignored": "n"}}]}}) == {"4"}
    assert _ids(shard, {"match": {"_ignored": "k"}}) == expected["k"]
    assert _ids(shard, {"query_string": {"query": "_ignored:n"}}) == expected["n"]
    assert _ids(shard, {"query_string": {"query": "_ignored:k AND _ignored:n"}}) == expected["k"] & expected["n"]


def test_ignored_queries(tmp_path: Path) -> None:
    shard = _open(tmp_path, BODY)
    _write(shard)
    _check(shard)
    shard.close()


def test_exists_on_routing(tmp_path: Path) -> None:
    shard = _open(tmp_path, BODY)
    routings = {"2": "r1", "4": "r2"}
    ops = [WriteOp("index", k, orjson.dumps(v), routing=routings.get(k)) for k, v in DOCS.items()]
    for result in shard.write(ops):
        assert result.error is None, result.error
    shard.refresh(force=True)
    assert _ids(shard, {"exists": {"field": "_routing"}}) == set(routings)
    shard.close()


def test_generation_without_ignored_terms_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The write path before ``_ignored`` was indexed: no ignored terms, no tag in the fingerprint (same schema).
    with monkeypatch.context() as patch:
        patch.setattr(CompiledMapping, "ignorer", property(lambda self: IgnoredFields(self.mapping, {}, leaves=[])))
        old = _open(tmp_path, BODY)
        _write(old)
        assert _ids(old, {"exists": {"field": "_ignored"}}) == set()
        old.close()
    shard = _open(tmp_path, BODY)
    _check(shard)
    shard.close()


def test_fingerprint_tags_only_indices_that_can_ignore(tmp_path: Path) -> None:
    plain = _open(tmp_path / "a", {"properties": {"k": {"type": "keyword"}}})
    assert "_ignored" not in Shard._fingerprint(plain.compiled)
    plain.close()
    shard = _open(tmp_path / "b", BODY)
    assert orjson.loads(Shard._fingerprint(shard.compiled))[-1][0] == "_ignored"
    shard.close()


@pytest.mark.parametrize(
    "doc",
    [
        {"k": "abcde", "n": 5},
        {"k": "abcdef"},
        {"k": ["a", {"x": "y"}], "other": "a long unmapped value"},
        {"k": 123456},
        {"k": 12345.5},
        {"k": True, "n": None},
        {"n": "bad"},
        {"plain": "averyveryverylongvalue"},
    ],
)
def test_write_path_paths_match_fetch_time_computation(tmp_path: Path, doc: dict[str, Any]) -> None:
    shard = _open(tmp_path, BODY)
    ignorer = shard.compiled.ignorer
    assert ignorer.paths(doc) == list(ignorer.of(doc))
    above_only = IgnoredFields(Mapping({"properties": {"k": {"type": "keyword", "ignore_above": 5}}}), {})
    assert above_only.paths(doc) == list(above_only.of(doc))
    shard.close()


def test_mapping_update_of_ignore_above_reindexes_ignored(tmp_path: Path) -> None:
    shard = _open(tmp_path, BODY)
    _write(shard)
    assert _ids(shard, {"term": {"_ignored": "k"}}) == {"2", "4"}  # "abcdefgh" (8), "toolongvalue" (12)
    raised = {"properties": {**BODY["properties"], "k": {"type": "keyword", "ignore_above": 10}}}
    shard.update_mapping(Mapping(raised))
    assert _ids(shard, {"term": {"_ignored": "k"}}) == {"4"}  # only "toolongvalue" is longer than 10
    assert _ids(shard, {"term": {"k": "abcdefgh"}}) == {"2"}
    shard.close()
