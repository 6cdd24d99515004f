"""The columnar bulk path (``IndexColumns``: plain index/create groups) answers exactly as the per-op path.

Every request is applied twice, to twin clusters: once as the coordinator sends it (columns where it can)
and once with the columnar path switched off; the ``_bulk`` items (ids of auto-id documents aside) and the
stored documents must be the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cluster import writes
from cluster.embedded import EmbeddedCluster
from server.handlers.bulk import bulk_response, parse_bulk

MAPPING = {"properties": {"n": {"type": "long"}, "at": {"type": "date"}, "tag": {"type": "keyword"},
                          "ip": {"type": "ip"}, "title": {"type": "text"}}}  # fmt: skip


def _ndjson(*lines: dict[str, Any]) -> bytes:
    return b"\n".join(orjson.dumps(line) for line in lines) + b"\n"


def _docs(action: str, ids: range, doc: Any) -> bytes:
    return _ndjson(*(line for i in ids for line in ({action: {"_index": "t", "_id": f"d{i}"}}, doc(i))))


def _first(i: int) -> dict[str, Any]:
    at = "not a date" if i == 7 else "2024-03-01T10:00:00.123Z"
    return {"n": i, "tag": f"t{i % 4}", "at": at, "ip": "10.0.0.1"}


REQUESTS = [
    # explicit ids over 3 shards, one bad date in the middle (a per-item mapper error)
    _docs("index", range(30), _first),
    # the same ids again: updated, version 2 (and d7 created now)
    _docs("index", range(30), lambda i: {"n": i + 100, "title": "second"}),
    # create over existing and new ids: conflicts and creations in one group
    _docs("create", range(25, 35), lambda i: {"n": i}),
    # a document that is not an object, and one that is not JSON
    _ndjson({"index": {"_index": "t", "_id": "x1"}}, {"n": 5}) + b'{"index":{"_index":"t","_id":"x2"}}\n[1]\n'
    + b'{"index":{"_index":"t","_id":"x3"}}\n{"n": }\n',
    # auto ids mixed with a delete and an update (those shards fall back to per-op requests);
    # last: auto ids land on random shards, so seq_nos differ between the twins from here on
    _ndjson({"index": {"_index": "t"}}, {"n": 1}, {"index": {"_index": "t"}}, {"n": "12"},
            {"delete": {"_index": "t", "_id": "d1"}}, {"update": {"_index": "t", "_id": "d2"}},
            {"doc": {"tag": "u"}}, {"index": {"_index": "t"}}, {"n": [1, 2], "ip": "not an ip"}),
]


@pytest.fixture
def twins(tmp_path: Path) -> Iterator[tuple[EmbeddedCluster, EmbeddedCluster, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    clusters = []
    for name in ("columns", "ops"):
        cluster = EmbeddedCluster(str(tmp_path / name))
        loop.run_until_complete(cluster.start())
        cluster.master.create_index("t", {"settings": {"number_of_shards": 3}, "mappings": MAPPING})
        clusters.append(cluster)
    try:
        yield clusters[0], clusters[1], loop
    finally:
        for cluster in clusters:
            loop.run_until_complete(cluster.stop())
        loop.close()


def _bulk(cluster: EmbeddedCluster, loop: asyncio.AbstractEventLoop, body: bytes, columns: bool) -> dict[str, Any]:
    parsed = parse_bulk(body, None, {})
    items = [p for p in parsed if not isinstance(p, Exception)]
    plain, send = writes._plain_index_ops, cluster.writes.leaf.bulk
    kinds: list[bool] = []

    async def spy(request: Any, hints: Any = None) -> Any:
        kinds.append(request.HasField("columns"))
        return await send(request, hints)

    cluster.writes.leaf.bulk = spy  # type: ignore[method-assign]
    if not columns:
        writes._plain_index_ops = lambda items, positions: False  # type: ignore[assignment]
    try:
        results = loop.run_until_complete(cluster.writes.write(items))  # type: ignore[arg-type]
    finally:
        writes._plain_index_ops = plain  # type: ignore[assignment]
        cluster.writes.leaf.bulk = send  # type: ignore[method-assign]
    assert columns or not any(kinds)
    if columns and b'"_id"' in body and b"delete" not in body:  # explicit ids only: each shard gets a plain group
        assert all(kinds)
    return orjson.loads(orjson.dumps(bulk_response(parsed, results)))  # type: ignore[no-any-return]


def _comparable(response: dict[str, Any], seq_nos: bool = True) -> list[dict[str, Any]]:
    out = []
    for item in response["items"]:
        ((action, body),) = item.items()
        body = dict(body)
        if body["_id"] and not str(body["_id"]).startswith(("d", "x")):
            body["_id"] = "<auto>"
        if not seq_nos:
            body.pop("_seq_no", None)
        if "error" in body:
            reason = str(body["error"]["reason"]).replace(str(item[action]["_id"]), "<id>")
            body["error"] = {"type": body["error"]["type"], "reason": reason}
        out.append({action: body})
    return out


@pytest.mark.parametrize("refresh_between", [False, True])
def test_columns_answer_as_the_per_op_path(twins: Any, refresh_between: bool) -> None:
    """``refresh_between``: each request's overwrites and create conflicts meet committed documents (the
    columnar path looks a batch's ids up together) rather than the live version map."""
    with_columns, with_ops, loop = twins
    for n, body in enumerate(REQUESTS):
        if refresh_between:
            for cluster in (with_columns, with_ops):
                loop.run_until_complete(cluster.writes.refresh([cluster.master.index("t")]))
        a = _bulk(with_columns, loop, body, columns=True)
        b = _bulk(with_ops, loop, body, columns=False)
        assert a["errors"] == b["errors"]
        last = n == len(REQUESTS) - 1
        assert _comparable(a, seq_nos=not last) == _comparable(b, seq_nos=not last)
    for cluster in (with_columns, with_ops):
        loop.run_until_complete(cluster.writes.refresh([cluster.master.index("t")]))
    for doc_id in [f"d{i}" for i in range(35)] + ["x1", "x2", "x3"]:
        docs = []
        for cluster in (with_columns, with_ops):
            got = loop.run_until_complete(cluster.writes.get(cluster.master.index("t"), doc_id))
            docs.append((got.found, got.source, got.version))
        assert docs[0] == docs[1], doc_id


def test_columns_results_in_request_order_with_errors(twins: Any) -> None:
    cluster, _, loop = twins
    response = _bulk(cluster, loop, REQUESTS[0], columns=True)
    items = [item["index"] for item in response["items"]]
    assert [item["_id"] for item in items] == [f"d{i}" for i in range(30)]
    assert items[7]["status"] == 400 and items[7]["error"]["type"] == "document_parsing_exception"
    ok = [item for i, item in enumerate(items) if i != 7]
    assert {(item["result"], item["status"], item["_version"]) for item in ok} == {("created", 201, 1)}
    assert "_seq_no" not in items[7]
    # each shard's seq_nos are 0..k-1 over its successful documents (a failed one takes none)
    seq_nos = sorted(item["_seq_no"] for item in ok)
    assert sorted(set(seq_nos)) == list(range(max(seq_nos) + 1))
    assert len(seq_nos) == 29
