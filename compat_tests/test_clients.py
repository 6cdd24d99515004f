"""Real clients against the real hypercorn socket: ``elasticsearch`` 9.x and ``opensearch-py``.

Every test runs once per client. Expected aggregation values are computed in plain Python from the same
documents. An ``elasticsearch`` 8.x client is driven through a subprocess when a Python with it is found
(``QUIDDITCH_ES8_PYTHON``, else ``/tmp/es8/bin/python``); CI does not install one, so that test skips there.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import textwrap
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import elasticsearch
import opensearchpy
import pytest
from elasticsearch import helpers as es_helpers
from opensearchpy import helpers as os_helpers

from tests.conftest import ServerProcess, running_server

pytestmark = pytest.mark.compat

MAPPINGS = {
    "properties": {
        "title": {"type": "text"},
        "tag": {"type": "keyword"},
        "price": {"type": "double"},
        "n": {"type": "long"},
        "ts": {"type": "date"},
    }
}
TAGS = ["red", "green", "blue", "black", "white"]
START = datetime(2024, 3, 1, tzinfo=UTC)
DAY_MS = 86_400_000


def make_docs(count: int, seed: int = 7) -> dict[str, dict[str, Any]]:
    rng = random.Random(seed)
    docs = {}
    for i in range(count):
        ts = START + timedelta(seconds=rng.randrange(20 * 86_400))
        docs[f"d{i}"] = {
            "title": f"document {i} {rng.choice(['quick', 'brown', 'fox', 'lazy'])}",
            "tag": rng.choice(TAGS),
            "price": round(rng.uniform(1, 500), 2),
            "n": i,
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    return docs


@dataclass
class Driver:
    """One client library, with the few calls whose signatures differ between them."""

    kind: str
    client: Any
    helpers: Any
    not_found: type[Exception]
    bad_request: type[Exception]

    def create_index(self, index: str, mappings: dict[str, Any]) -> Any:
        if self.kind == "opensearch":
            return self.client.indices.create(index=index, body={"mappings": mappings})
        return self.client.indices.create(index=index, mappings=mappings)

    def search(self, index: str, **body: Any) -> Any:
        if self.kind == "opensearch":
            return self.client.search(index=index, body=body)
        return self.client.search(index=index, **body)

    def count(self, index: str, query: dict[str, Any] | None = None) -> int:
        if self.kind == "opensearch":
            response = self.client.count(index=index, body={"query": query} if query else None)
        else:
            response = self.client.count(index=index, query=query)
        return int(response["count"])

    def update(self, index: str, doc_id: str, doc: dict[str, Any]) -> Any:
        if self.kind == "opensearch":
            return self.client.update(index=index, id=doc_id, body={"doc": doc}, refresh=True)
        return self.client.update(index=index, id=doc_id, doc=doc, refresh=True)

    def msearch(self, searches: list[dict[str, Any]]) -> Any:
        if self.kind == "opensearch":
            return self.client.msearch(body=searches)
        return self.client.msearch(searches=searches)

    def error_type(self, exc: Exception) -> str:
        return str(exc.error)  # type: ignore[attr-defined]  # both libraries: error.type

    def status(self, exc: Exception) -> int:
        if self.kind == "opensearch":
            return int(exc.status_code)  # type: ignore[attr-defined]
        return int(exc.meta.status)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("clients") / "data") as srv:
        yield srv


@pytest.fixture(scope="module", params=["elasticsearch", "opensearch"])
def driver(request: pytest.FixtureRequest, server: ServerProcess) -> Iterator[Driver]:
    if request.param == "elasticsearch":
        es = elasticsearch.Elasticsearch(server.url, request_timeout=30)
        yield Driver("elasticsearch", es, es_helpers, elasticsearch.NotFoundError, elasticsearch.BadRequestError)
        es.close()
    else:
        client = opensearchpy.OpenSearch(hosts=[server.url], timeout=30)
        yield Driver("opensearch", client, os_helpers, opensearchpy.NotFoundError, opensearchpy.RequestError)
        client.close()


CORPUS_SIZE = 1234


@pytest.fixture(scope="module")
def corpus(driver: Driver) -> tuple[str, dict[str, dict[str, Any]]]:
    """1,234 docs loaded with ``helpers.bulk`` into ``corpus-<client>``."""
    index = f"corpus-{driver.kind}"
    docs = make_docs(CORPUS_SIZE)
    driver.create_index(index, MAPPINGS)
    ok, errors = driver.helpers.bulk(
        driver.client, ({"_index": index, "_id": k, "_source": v} for k, v in docs.items()), chunk_size=500
    )
    assert ok == CORPUS_SIZE and not errors
    driver.client.indices.refresh(index=index)
    return index, docs


def test_info(driver: Driver) -> None:
    info = driver.client.info()
    assert info["version"]["number"].startswith("8.")
    assert info["tagline"] == "You Know, for Search"
    assert info["version"]["build_flavor"] == "default"


def test_create_with_mappings_and_exists(driver: Driver) -> None:
    index = f"created-{driver.kind}"
    response = driver.create_index(index, MAPPINGS)
    assert response["acknowledged"] is True
    assert response["index"] == index
    assert driver.client.indices.exists(index=index)
    assert not driver.client.indices.exists(index=f"absent-{driver.kind}")
    mapping = driver.client.indices.get_mapping(index=index)
    assert mapping[index]["mappings"]["properties"]["tag"] == {"type": "keyword"}
    assert mapping[index]["mappings"]["properties"]["price"] == {"type": "double"}


def test_bulk_500_then_count_and_get(driver: Driver) -> None:
    index = f"bulk-{driver.kind}"
    docs = make_docs(500, seed=11)
    driver.create_index(index, MAPPINGS)
    ok, errors = driver.helpers.bulk(
        driver.client, ({"_index": index, "_id": k, "_source": v} for k, v in docs.items()), refresh=True
    )
    assert (ok, errors) == (500, [])
    assert driver.count(index) == 500
    red = sum(1 for d in docs.values() if d["tag"] == "red")
    assert driver.count(index, {"term": {"tag": "red"}}) == red
    got = driver.client.get(index=index, id="d42")
    assert got["found"] is True and got["_id"] == "d42"
    assert got["_source"] == docs["d42"]
    assert got["_version"] == 1


def test_streaming_bulk(driver: Driver) -> None:
    index = f"streaming-{driver.kind}"
    docs = make_docs(300, seed=12)
    driver.create_index(index, MAPPINGS)
    actions = [{"_index": index, "_id": k, "_source": v} for k, v in docs.items()]
    actions.append({"_op_type": "delete", "_index": index, "_id": "d0"})
    actions.append({"_op_type": "update", "_index": index, "_id": "d1", "doc": {"tag": "updated"}})
    seen = []
    for ok, item in driver.helpers.streaming_bulk(driver.client, actions, chunk_size=64):
        assert ok, item
        op, result = next(iter(item.items()))
        seen.append((op, result["_id"], result["status"]))
    assert seen[:300] == [("index", k, 201) for k in docs]
    assert seen[300:] == [("delete", "d0", 200), ("update", "d1", 200)]
    driver.client.indices.refresh(index=index)
    assert driver.count(index) == 299
    assert driver.client.get(index=index, id="d1")["_source"]["tag"] == "updated"


def test_scan_returns_every_doc_exactly_once(driver: Driver, corpus: tuple[str, dict[str, Any]]) -> None:
    index, docs = corpus
    hits = list(driver.helpers.scan(driver.client, index=index, query={"query": {"match_all": {}}}, size=100))
    ids = [hit["_id"] for hit in hits]
    assert len(ids) == CORPUS_SIZE
    assert set(ids) == set(docs)
    assert all(hit["_source"] == docs[hit["_id"]] for hit in hits)
    # a filtered scan too
    blue = list(driver.helpers.scan(driver.client, index=index, query={"query": {"term": {"tag": "blue"}}}, size=37))
    assert sorted(h["_id"] for h in blue) == sorted(k for k, v in docs.items() if v["tag"] == "blue")


def test_search_aggregations_match_plain_python(driver: Driver, corpus: tuple[str, dict[str, Any]]) -> None:
    index, docs = corpus
    response = driver.search(
        index,
        size=0,
        track_total_hits=True,
        aggs={
            "tags": {
                "terms": {"field": "tag", "size": 10},
                "aggs": {"avg_price": {"avg": {"field": "price"}}},
            },
            "avg_price": {"avg": {"field": "price"}},
            "per_day": {"date_histogram": {"field": "ts", "calendar_interval": "day"}},
        },
    )
    assert response["hits"]["total"] == {"value": CORPUS_SIZE, "relation": "eq"}
    aggs = response["aggregations"]

    values = list(docs.values())
    assert aggs["avg_price"]["value"] == pytest.approx(sum(d["price"] for d in values) / len(values))

    by_tag = Counter(d["tag"] for d in values)
    buckets = aggs["tags"]["buckets"]
    assert {b["key"]: b["doc_count"] for b in buckets} == dict(by_tag)
    assert [b["doc_count"] for b in buckets] == sorted((b["doc_count"] for b in buckets), reverse=True)
    assert aggs["tags"]["sum_other_doc_count"] == 0
    for bucket in buckets:
        prices = [d["price"] for d in values if d["tag"] == bucket["key"]]
        assert bucket["avg_price"]["value"] == pytest.approx(sum(prices) / len(prices))

    def day(ts: str) -> int:
        parsed = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return int(parsed.timestamp() * 1000) // DAY_MS * DAY_MS

    per_day = Counter(day(d["ts"]) for d in values)
    expected = {key: per_day.get(key, 0) for key in range(min(per_day), max(per_day) + DAY_MS, DAY_MS)}
    histogram = aggs["per_day"]["buckets"]
    assert {b["key"]: b["doc_count"] for b in histogram} == expected
    assert [b["key"] for b in histogram] == sorted(expected)
    first = histogram[0]
    assert first["key_as_string"].startswith(datetime.fromtimestamp(first["key"] / 1000, UTC).strftime("%Y-%m-%d"))

    # the hits side of the same request shape
    top = driver.search(index, size=3, query={"range": {"n": {"lt": 10}}}, sort=[{"n": "desc"}])
    assert [h["_id"] for h in top["hits"]["hits"]] == ["d9", "d8", "d7"]
    assert top["hits"]["total"]["value"] == 10


def test_update_and_delete(driver: Driver) -> None:
    index = f"crud-{driver.kind}"
    driver.create_index(index, MAPPINGS)
    created = driver.client.index(index=index, id="x", document={"title": "first", "n": 1}, refresh=True) \
        if driver.kind == "elasticsearch" else \
        driver.client.index(index=index, id="x", body={"title": "first", "n": 1}, refresh=True)  # fmt: skip
    assert created["result"] == "created"
    updated = driver.update(index, "x", {"n": 2, "tag": "t"})
    assert updated["result"] == "updated" and updated["_version"] == 2
    assert driver.client.get(index=index, id="x")["_source"] == {"title": "first", "n": 2, "tag": "t"}
    assert driver.count(index, {"term": {"n": 2}}) == 1
    noop = driver.update(index, "x", {"n": 2})
    assert noop["result"] == "noop"
    deleted = driver.client.delete(index=index, id="x", refresh=True)
    assert deleted["result"] == "deleted"
    assert not driver.client.exists(index=index, id="x")
    with pytest.raises(driver.not_found) as info:
        driver.client.get(index=index, id="x")
    assert driver.status(info.value) == 404
    with pytest.raises(driver.not_found):
        driver.client.delete(index=index, id="x")
    assert driver.count(index) == 0


def test_msearch(driver: Driver, corpus: tuple[str, dict[str, Any]]) -> None:
    index, docs = corpus
    responses = driver.msearch(
        [
            {"index": index},
            {"query": {"term": {"tag": "red"}}, "size": 1},
            {"index": index},
            {"query": {"range": {"n": {"gte": 1000}}}, "size": 0},
            {"index": f"missing-{driver.kind}"},
            {"query": {"match_all": {}}},
        ]
    )["responses"]
    assert len(responses) == 3
    assert responses[0]["hits"]["total"]["value"] == sum(1 for d in docs.values() if d["tag"] == "red")
    assert len(responses[0]["hits"]["hits"]) == 1
    assert responses[1]["hits"]["total"]["value"] == CORPUS_SIZE - 1000
    assert responses[2]["status"] == 404
    assert responses[2]["error"]["type"] == "index_not_found_exception"


def test_error_mapping(driver: Driver, corpus: tuple[str, dict[str, Any]]) -> None:
    index, _ = corpus
    with pytest.raises(driver.not_found) as missing:
        driver.search(f"missing-{driver.kind}", query={"match_all": {}})
    assert driver.status(missing.value) == 404
    assert driver.error_type(missing.value) == "index_not_found_exception"
    assert f"missing-{driver.kind}" in str(missing.value)

    with pytest.raises(driver.bad_request) as bad:
        driver.search(index, query={"matc": {"title": "x"}})
    assert driver.status(bad.value) == 400
    assert driver.error_type(bad.value) == "parsing_exception"
    assert "unknown query [matc]" in str(bad.value)

    with pytest.raises(driver.bad_request) as exists:
        driver.create_index(index, MAPPINGS)
    assert driver.error_type(exists.value) == "resource_already_exists_exception"


# -- elasticsearch-py 8.x, in its own venv ---------------------------------------------------------------

ES8_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import elasticsearch
    from elasticsearch import Elasticsearch, helpers
    es = Elasticsearch(sys.argv[1], request_timeout=30)
    out = {"client": elasticsearch.__versionstr__, "server": es.info()["version"]["number"]}
    props = {"tag": {"type": "keyword"}, "n": {"type": "long"}}
    es.indices.create(index="es8", mappings={"properties": props})
    actions = ({"_index": "es8", "_id": str(i), "_source": {"tag": f"t{i % 3}", "n": i}} for i in range(250))
    out["bulk"] = helpers.bulk(es, actions, refresh=True)[0]
    out["count"] = es.count(index="es8")["count"]
    r = es.search(index="es8", size=0, aggs={"t": {"terms": {"field": "tag"}}, "a": {"avg": {"field": "n"}}})
    out["terms"] = {b["key"]: b["doc_count"] for b in r["aggregations"]["t"]["buckets"]}
    out["avg"] = r["aggregations"]["a"]["value"]
    out["scan"] = len({h["_id"] for h in helpers.scan(es, index="es8", size=40)})
    try:
        es.search(index="nope-es8")
    except elasticsearch.NotFoundError as e:
        out["not_found"] = e.message
    try:
        es.search(index="es8", query={"matc": {}})
    except elasticsearch.BadRequestError as e:
        out["bad_request"] = e.message
    print(json.dumps(out))
    """
)


def _es8_python() -> str | None:
    for candidate in (os.environ.get("QUIDDITCH_ES8_PYTHON"), "/tmp/es8/bin/python"):
        if candidate and Path(candidate).exists():
            code = "import elasticsearch; print(elasticsearch.__versionstr__)"
            probe = subprocess.run([candidate, "-c", code], capture_output=True, text=True, timeout=60)
            if probe.returncode == 0 and probe.stdout.startswith("8."):
                return candidate
    return None


def test_elasticsearch_8_client(server: ServerProcess) -> None:
    python = _es8_python()
    if python is None:
        pytest.skip("no Python with elasticsearch 8.x (set QUIDDITCH_ES8_PYTHON or create /tmp/es8)")
    run = subprocess.run([python, "-c", ES8_SCRIPT, server.url], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["client"].startswith("8.")
    assert out["server"].startswith("8.")
    assert out["bulk"] == 250 and out["count"] == 250
    assert out["terms"] == {"t0": 84, "t1": 83, "t2": 83}
    assert out["avg"] == pytest.approx(124.5)
    assert out["scan"] == 250
    assert out["not_found"] == "index_not_found_exception"
    assert out["bad_request"] == "parsing_exception"
