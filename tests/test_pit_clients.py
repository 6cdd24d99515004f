"""The official elasticsearch client against a real server: point in time, ``Search.iterate``, sliced scans,
async search."""

from __future__ import annotations

from collections.abc import Iterator

import elasticsearch
import pytest
from elasticsearch import helpers
from elasticsearch.dsl import Search

from tests.conftest import ServerProcess


@pytest.fixture(scope="module")
def es(server: ServerProcess) -> Iterator[elasticsearch.Elasticsearch]:
    client = elasticsearch.Elasticsearch(server.url, request_timeout=30)
    client.indices.create(index="books", settings={"number_of_shards": 3},
                          mappings={"properties": {"n": {"type": "long"}, "tag": {"type": "keyword"}}})  # fmt: skip
    ok, errors = helpers.bulk(client, ({"_index": "books", "_id": str(i), "_source": {"n": i, "tag": f"t{i % 4}"}}
                                       for i in range(250)))  # fmt: skip
    assert ok == 250 and not errors
    client.indices.refresh(index="books")
    yield client
    client.close()


def test_open_point_in_time_pages_a_frozen_view(es: elasticsearch.Elasticsearch) -> None:
    pit = es.open_point_in_time(index="books", keep_alive="1m")
    es.index(index="books", id="late", document={"n": -1, "tag": "t0"}, refresh=True)
    es.delete(index="books", id="0", refresh=True)
    seen: list[str] = []
    after = None
    while True:
        extra = {"search_after": after} if after is not None else {}
        r = es.search(pit={"id": pit["id"], "keep_alive": "1m"}, size=40, sort=[{"n": "desc"}], **extra)
        hits = r["hits"]["hits"]
        if not hits:
            break
        seen += [h["_id"] for h in hits]
        after = hits[-1]["sort"]
    assert seen == [str(i) for i in range(249, -1, -1)]  # the view at opening: "0" still there, "late" not
    assert es.close_point_in_time(id=pit["id"])["succeeded"] is True
    with pytest.raises(elasticsearch.NotFoundError):
        es.search(pit={"id": pit["id"]})
    es.index(index="books", id="0", document={"n": 0, "tag": "t0"}, refresh=True)
    es.delete(index="books", id="late", refresh=True)


def test_dsl_search_iterate(es: elasticsearch.Elasticsearch) -> None:
    ids = [hit.meta.id for hit in Search(using=es, index="books").query("term", tag="t1").iterate(keep_alive="1m")]
    assert sorted(ids, key=int) == [str(i) for i in range(1, 250, 4)]


def test_sliced_scans_partition(es: elasticsearch.Elasticsearch) -> None:
    union: list[str] = []
    for i in range(3):
        union += [h["_id"] for h in helpers.scan(es, index="books", query={"slice": {"id": i, "max": 3}}, size=30)]
    assert sorted(union, key=int) == [str(i) for i in range(250)]


def test_async_search_roundtrip(es: elasticsearch.Elasticsearch) -> None:
    r = es.async_search.submit(index="books", keep_on_completion=True, wait_for_completion_timeout="5s",
                               size=0, aggs={"s": {"sum": {"field": "n"}}})  # fmt: skip
    assert r["response"]["aggregations"]["s"]["value"] == sum(range(250))
    got = es.async_search.get(id=r["id"])
    assert got["is_running"] is False
    assert es.async_search.status(id=r["id"])["completion_status"] == 200
    assert es.async_search.delete(id=r["id"])["acknowledged"] is True
