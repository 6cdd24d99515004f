"""Nested documents (``native.nested``): the ``nested`` query with its score modes, ``inner_hits``, nested sort,
``include_in_parent`` / ``include_in_root``, multi-level nesting, updates and deletes — over the in-process app
on real shards, every expected answer computed from the documents in plain Python."""

from __future__ import annotations

import statistics
from typing import Any

import httpx
import orjson
import pytest

DOCS: dict[str, dict[str, Any]] = {
    "1": {"name": "a", "c": [{"k": "u", "n": 1, "d": [{"z": 1}, {"z": 4}]}, {"k": "v", "n": 7}]},
    "2": {"name": "b", "c": {"k": "u", "n": 5, "d": {"z": 2}}},
    "3": {"name": "c"},
    "4": {"name": "d", "c": [{"k": "v", "n": 2}, {"k": "u", "n": 9, "d": [{"z": 3}]}, {"k": "w", "n": 5}]},
    "5": {"name": "e", "c": [{"k": "w", "n": 3, "d": [{"z": 8}, {"z": 1}]}]},
}
MAPPINGS = {
    "properties": {
        "name": {"type": "keyword"},
        "c": {
            "type": "nested",
            "properties": {
                "k": {"type": "keyword"},
                "n": {"type": "long"},
                "d": {"type": "nested", "properties": {"z": {"type": "long"}}},
            },
        },
    }
}


def objs(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


async def bulk(client: httpx.AsyncClient, index: str, docs: dict[str, dict[str, Any]]) -> None:
    lines = []
    for doc_id, doc in docs.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps(doc)]
    r = await client.post(f"/{index}/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    r = await asgi_client.put("/n", json={"settings": {"number_of_shards": 2}, "mappings": MAPPINGS})
    assert r.status_code == 200, r.text
    await bulk(asgi_client, "n", DOCS)
    return asgi_client


async def search(client: httpx.AsyncClient, body: dict[str, Any], index: str = "n") -> dict[str, Any]:
    r = await client.post(f"/{index}/_search", json=body)
    assert r.status_code == 200, r.text
    return r.json()["hits"]  # type: ignore[no-any-return]


# per-object score of SCORED: 2 when k == "u", plus 3 when n >= 5 (constant scores: independent of BM25)
SCORED = {
    "bool": {
        "should": [
            {"constant_score": {"filter": {"term": {"c.k": "u"}}, "boost": 2}},
            {"constant_score": {"filter": {"range": {"c.n": {"gte": 5}}}, "boost": 3}},
        ]
    }
}


def object_score(o: dict[str, Any]) -> float:
    return 2.0 * (o["k"] == "u") + 3.0 * (o["n"] >= 5)


@pytest.mark.parametrize("mode", ["avg", "max", "min", "sum", "none"])
async def test_nested_query_score_modes(client: httpx.AsyncClient, mode: str) -> None:
    hits = await search(client, {"size": 10, "query": {"nested": {"path": "c", "query": SCORED, "score_mode": mode}}})
    expected: dict[str, float] = {}
    for doc_id, doc in DOCS.items():
        scores = [object_score(o) for o in objs(doc.get("c")) if object_score(o) > 0]
        if scores:
            fold = {"avg": statistics.mean, "max": max, "min": min, "sum": sum, "none": lambda s: 0.0}[mode]
            expected[doc_id] = float(fold(scores))  # type: ignore[operator]
    assert hits["total"]["value"] == len(expected)
    assert {h["_id"]: h["_score"] for h in hits["hits"]} == pytest.approx(expected)


async def test_nested_query_matches_within_one_object(client: httpx.AsyncClient) -> None:
    inner = {"bool": {"must": [{"term": {"c.k": "v"}}, {"range": {"c.n": {"gte": 5}}}]}}
    hits = await search(client, {"query": {"nested": {"path": "c", "query": inner}}})
    expected = {i for i, d in DOCS.items() if any(o["k"] == "v" and o["n"] >= 5 for o in objs(d.get("c")))}
    assert {h["_id"] for h in hits["hits"]} == expected == {"1"}
    # nested fields are not in the top-level documents (ES), and totals count top-level documents only
    assert (await search(client, {"query": {"term": {"c.k": "u"}}}))["total"]["value"] == 0
    assert (await search(client, {"query": {"match_all": {}}}))["total"]["value"] == len(DOCS)
    count = (
        await client.post("/n/_count", json={"query": {"nested": {"path": "c", "query": {"match_all": {}}}}})
    ).json()
    assert count["count"] == sum(1 for d in DOCS.values() if objs(d.get("c")))


async def test_multi_level_nested_query(client: httpx.AsyncClient) -> None:
    query = {"nested": {"path": "c", "query": {"bool": {"must": [
        {"term": {"c.k": "u"}},
        {"nested": {"path": "c.d", "query": {"range": {"c.d.z": {"gte": 3}}}}},
    ]}}}}  # fmt: skip
    hits = await search(client, {"query": query})
    expected = {
        i for i, d in DOCS.items()
        if any(o["k"] == "u" and any(x["z"] >= 3 for x in objs(o.get("d"))) for o in objs(d.get("c")))
    }  # fmt: skip
    assert {h["_id"] for h in hits["hits"]} == expected == {"1", "4"}
    # the deeper path straight from the top level
    hits = await search(client, {"query": {"nested": {"path": "c.d", "query": {"term": {"c.d.z": 8}}}}})
    assert [h["_id"] for h in hits["hits"]] == ["5"]


async def test_unmapped_and_non_nested_paths(client: httpx.AsyncClient) -> None:
    body = {"query": {"nested": {"path": "nope", "query": {"match_all": {}}}}}
    r = await client.post("/n/_search", json=body)
    assert r.status_code == 400
    assert "[nested] failed to find nested object under path [nope]" in r.text
    body["query"]["nested"]["ignore_unmapped"] = True  # type: ignore[index]
    assert (await search(client, body))["total"]["value"] == 0
    r = await client.post("/n/_search", json={"query": {"nested": {"path": "c", "query": {"match_all": {}},
                                                                   "score_mode": "median"}}})  # fmt: skip
    assert r.status_code == 400
    r = await client.post("/n/_search", json={"query": {"nested": {"query": {"match_all": {}}}}})
    assert r.status_code == 400 and "[nested] requires 'path' field" in r.text


async def test_updates_and_deletes_reach_nested_documents(client: httpx.AsyncClient) -> None:
    query = {"query": {"nested": {"path": "c", "query": {"term": {"c.k": "w"}}}}}
    assert {h["_id"] for h in (await search(client, query))["hits"]} == {"4", "5"}
    r = await client.put("/n/_doc/4?refresh=true", json={"name": "d", "c": [{"k": "x", "n": 1}]})
    assert r.status_code == 200
    r = await client.delete("/n/_doc/5?refresh=true")
    assert r.status_code == 200
    assert (await search(client, query))["total"]["value"] == 0
    hits = await search(client, {"query": {"nested": {"path": "c", "query": {"term": {"c.k": "x"}}}}})
    assert [h["_id"] for h in hits["hits"]] == ["4"]


async def test_include_in_parent_and_root(asgi_client: httpx.AsyncClient) -> None:
    mappings = {"properties": {"p": {"type": "nested", "include_in_parent": True, "properties": {
        "a": {"type": "keyword"},
        "q": {"type": "nested", "include_in_root": True, "properties": {"b": {"type": "keyword"}}},
    }}}}  # fmt: skip
    r = await asgi_client.put("/inc", json={"mappings": mappings})
    assert r.status_code == 200, r.text
    await bulk(asgi_client, "inc", {"1": {"p": [{"a": "x", "q": {"b": "y"}}, {"a": "z"}]}})
    # flat copies: cross-object matches are possible there, as in ES
    both = {"bool": {"must": [{"term": {"p.a": "x"}}, {"term": {"p.a": "z"}}]}}
    assert (await search(asgi_client, {"query": both}, "inc"))["total"]["value"] == 1
    assert (await search(asgi_client, {"query": {"term": {"p.q.b": "y"}}}, "inc"))["total"]["value"] == 1
    nested_both = {"nested": {"path": "p", "query": both}}
    assert (await search(asgi_client, {"query": nested_both}, "inc"))["total"]["value"] == 0
    # include_in_root below a nested field that is not in its parent: only the deep fields reach the root
    mappings["properties"]["p"].pop("include_in_parent")  # type: ignore[attr-defined]
    r = await asgi_client.put("/inc2", json={"mappings": mappings})
    assert r.status_code == 200, r.text
    await bulk(asgi_client, "inc2", {"1": {"p": [{"a": "x", "q": {"b": "y"}}, {"a": "z"}]}})
    assert (await search(asgi_client, {"query": {"term": {"p.q.b": "y"}}}, "inc2"))["total"]["value"] == 1
    assert (await search(asgi_client, {"query": {"term": {"p.a": "x"}}}, "inc2"))["total"]["value"] == 0
    in_p = {"nested": {"path": "p", "query": {"term": {"p.q.b": "y"}}}}
    assert (await search(asgi_client, {"query": in_p}, "inc2"))["total"]["value"] == 0


async def test_inner_hits(client: httpx.AsyncClient) -> None:
    query = {"nested": {"path": "c", "query": {"range": {"c.n": {"gte": 2}}}, "score_mode": "sum",
                        "inner_hits": {"size": 2, "name": "big", "sort": [{"c.n": "desc"}]}}}  # fmt: skip
    hits = await search(client, {"size": 10, "query": query})
    for hit in hits["hits"]:
        objects = objs(DOCS[hit["_id"]].get("c"))
        matching = sorted(((o["n"], i) for i, o in enumerate(objects) if o["n"] >= 2), key=lambda t: -t[0])
        inner = hit["inner_hits"]["big"]["hits"]
        assert inner["total"]["value"] == len(matching)
        assert [(h["_nested"]["offset"], h["sort"][0]) for h in inner["hits"]] == [(i, n) for n, i in matching[:2]]
        for h in inner["hits"]:
            assert h["_id"] == hit["_id"] and h["_nested"]["field"] == "c"
            assert h["_source"] == objects[h["_nested"]["offset"]]


async def test_inner_hits_of_multi_level_nested(client: httpx.AsyncClient) -> None:
    query = {
        "nested": {
            "path": "c",
            "inner_hits": {},
            "query": {
                "nested": {"path": "c.d", "query": {"range": {"c.d.z": {"gte": 2}}}, "inner_hits": {"name": "deep"}}
            },
        }
    }
    hits = await search(client, {"size": 10, "query": query})
    seen = 0
    for hit in hits["hits"]:
        objects = objs(DOCS[hit["_id"]].get("c"))
        outer = hit["inner_hits"]["c"]["hits"]["hits"]
        want = [i for i, o in enumerate(objects) if any(x["z"] >= 2 for x in objs(o.get("d")))]
        assert [h["_nested"]["offset"] for h in outer] == want
        for h in outer:
            deep = h["inner_hits"]["deep"]["hits"]["hits"]
            inner_objects = objs(objects[h["_nested"]["offset"]].get("d"))
            offsets = [x["_nested"]["_nested"]["offset"] for x in deep]
            assert sorted(offsets) == [j for j, x in enumerate(inner_objects) if x["z"] >= 2]
            for x in deep:
                assert x["_nested"]["field"] == "c" and x["_nested"]["offset"] == h["_nested"]["offset"]
                assert x["_nested"]["_nested"]["field"] == "d"
                assert x["_source"] == inner_objects[x["_nested"]["_nested"]["offset"]]
            seen += len(deep)
    assert seen == sum(1 for d in DOCS.values() for o in objs(d.get("c")) for x in objs(o.get("d")) if x["z"] >= 2)


@pytest.mark.parametrize(("order", "mode"), [("asc", None), ("desc", None), ("asc", "sum"), ("desc", "avg")])
async def test_nested_sort(client: httpx.AsyncClient, order: str, mode: str | None) -> None:
    spec: dict[str, Any] = {"order": order, "nested": {"path": "c", "filter": {"term": {"c.k": "u"}}}}
    if mode:
        spec["mode"] = mode
    hits = await search(client, {"size": 10, "sort": [{"c.n": spec}, {"name": "asc"}]})
    fold = {"min": min, "max": max, "sum": sum, "avg": statistics.mean}[mode or ("min" if order == "asc" else "max")]
    keyed = []
    for doc_id, doc in DOCS.items():
        values = [o["n"] for o in objs(doc.get("c")) if o["k"] == "u"]
        keyed.append((fold(values) if values else None, doc["name"], doc_id))  # type: ignore[operator]
    present = sorted((k for k in keyed if k[0] is not None), key=lambda k: (k[0] if order == "asc" else -k[0], k[1]))
    missing = sorted((k for k in keyed if k[0] is None), key=lambda k: k[1])
    assert [h["_id"] for h in hits["hits"]] == [k[2] for k in present + missing]
    assert [h["sort"][0] for h in hits["hits"][: len(present)]] == pytest.approx([k[0] for k in present])


async def test_nested_sort_multi_level_max_children(client: httpx.AsyncClient) -> None:
    spec = {"order": "asc", "mode": "max", "nested": {"path": "c", "nested": {"path": "c.d", "max_children": 1}}}
    hits = await search(client, {"size": 10, "sort": [{"c.d.z": spec}, {"name": "asc"}]})
    keyed = []
    for doc_id, doc in DOCS.items():
        values = [objs(o.get("d"))[0]["z"] for o in objs(doc.get("c")) if objs(o.get("d"))]
        keyed.append((max(values) if values else None, doc["name"], doc_id))
    present = sorted((k for k in keyed if k[0] is not None), key=lambda k: (k[0], k[1]))
    missing = sorted((k for k in keyed if k[0] is None), key=lambda k: k[1])
    assert [h["_id"] for h in hits["hits"]] == [k[2] for k in present + missing]
    r = await client.post("/n/_search", json={"sort": [{"c.n": {"nested": {"path": "c", "bogus": 1}}}]})
    assert r.status_code == 400


async def test_fields_group_nested_objects(client: httpx.AsyncClient) -> None:
    hits = await search(client, {"size": 10, "_source": False, "fields": ["*"], "sort": [{"name": "asc"}]})
    for hit in hits["hits"]:
        doc = next(d for d in DOCS.values() if d["name"] == hit["fields"]["name"][0])
        expected = []
        for o in objs(doc.get("c")):
            group: dict[str, Any] = {"k": [o["k"]], "n": [o["n"]]}
            if objs(o.get("d")):
                group["d"] = [{"z": [x["z"]]} for x in objs(o["d"])]
            expected.append(group)
        assert hit["fields"].get("c", []) == expected
        assert not any(key.startswith("c.") for key in hit["fields"])
    only = await search(client, {"size": 10, "_source": False, "fields": ["c.d.z"], "sort": [{"name": "asc"}]})
    for hit in only["hits"]:
        doc = next(d for i, d in DOCS.items() if i == hit["_id"])
        expected = [{"d": [{"z": [x["z"]]} for x in objs(o.get("d"))]} for o in objs(doc.get("c")) if objs(o.get("d"))]
        assert hit.get("fields", {}).get("c", []) == expected


async def test_counts_top_level_vs_index_statistics(client: httpx.AsyncClient) -> None:
    nested = sum(len(objs(d.get("c"))) + sum(len(objs(o.get("d"))) for o in objs(d.get("c"))) for d in DOCS.values())
    assert (await client.get("/n/_count")).json()["count"] == len(DOCS)
    cat_count = (await client.get("/_cat/count/n", params={"h": "count"})).text.strip()
    assert int(cat_count) == len(DOCS)
    # ES's index statistics come from Lucene and count the hidden nested documents too
    stats = (await client.get("/n/_stats/docs")).json()["_all"]["primaries"]["docs"]["count"]
    assert stats == len(DOCS) + nested
    cat_indices = (await client.get("/_cat/indices/n", params={"h": "docs.count"})).text.strip()
    assert int(cat_indices) == len(DOCS) + nested


async def test_match_all_inside_nested_scores_one(client: httpx.AsyncClient) -> None:
    query = {"nested": {"path": "c", "query": {"match_all": {}}, "inner_hits": {"size": 1}}}
    hits = await search(client, {"size": 10, "query": query})
    assert hits["total"]["value"] == sum(1 for d in DOCS.values() if objs(d.get("c")))
    for hit in hits["hits"]:
        assert hit["_score"] == 1.0
        assert hit["inner_hits"]["c"]["hits"]["max_score"] == 1.0
        assert hit["inner_hits"]["c"]["hits"]["total"]["value"] == len(objs(DOCS[hit["_id"]]["c"]))


async def test_inner_hits_metadata_and_highlight(client: httpx.AsyncClient) -> None:
    await client.put("/n/_doc/1?refresh=true", json=DOCS["1"])  # version 2 of document 1
    inner = {"version": True, "seq_no_primary_term": True, "docvalue_fields": ["_seq_no"], "_source": ["c.k"],
             "highlight": {"fields": {"c.k": {}}}}  # fmt: skip
    body = {"version": True, "seq_no_primary_term": True, "docvalue_fields": ["_seq_no"],
            "query": {"ids": {"values": ["1"]}}}  # fmt: skip
    top = (await search(client, body))["hits"][0]
    body["query"] = {"nested": {"path": "c", "query": {"term": {"c.k": "u"}}, "inner_hits": inner}}
    hits = {h["_id"]: h for h in (await search(client, {**body, "size": 10}))["hits"]}
    assert top["_version"] == 2 and top["fields"]["_seq_no"] == [top["_seq_no"]]
    inner_hit = hits["1"]["inner_hits"]["c"]["hits"]["hits"][0]
    assert inner_hit["_version"] == 2
    assert inner_hit["_seq_no"] == top["_seq_no"] and inner_hit["_primary_term"] == top["_primary_term"]
    assert inner_hit["fields"]["_seq_no"] == [top["_seq_no"]]
    assert inner_hit["_source"] == {"k": "u"}
    assert inner_hit["highlight"] == {"c.k": ["<em>u</em>"]}


async def test_sort_on_a_nested_field_needs_its_nested_context(client: httpx.AsyncClient) -> None:
    r = await client.post("/n/_search", json={"sort": [{"c.n": "asc"}]})
    assert r.status_code == 400
    assert r.json()["error"]["root_cause"][0] == {
        "type": "query_shard_exception",
        "reason": "it is mandatory to set the [nested] context on the nested sort field: [c.n].",
    }


async def test_offsets_count_across_dotted_and_object_keys(asgi_client: httpx.AsyncClient) -> None:
    mappings = {
        "properties": {"o": {"properties": {"p": {"type": "nested", "properties": {"m": {"type": "keyword"}}}}}}
    }
    r = await asgi_client.put("/dot", json={"mappings": mappings})
    assert r.status_code == 200, r.text
    await bulk(asgi_client, "dot", {"1": {"o": {"p": [{"m": "x"}]}, "o.p": [{"m": "y"}, {"m": "z"}]}})
    query = {"nested": {"path": "o.p", "query": {"match_all": {}}, "inner_hits": {"size": 10}}}
    inner = (await search(asgi_client, {"query": query}, "dot"))["hits"][0]["inner_hits"]["o.p"]["hits"]["hits"]
    assert [(h["_nested"]["offset"], h["_source"]["m"]) for h in inner] == [(0, "x"), (1, "y"), (2, "z")]
