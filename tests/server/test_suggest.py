"""``suggest``: the term suggester (scores and frequencies computed here from the documents) and the
completion suggester (prefix, fuzzy, weights, skip_duplicates, size) over several shards."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import orjson
import pytest

BODIES = ["noble prize winner", "nobel prize", "the noble gases", "prize fight", "a nobel noble"]
SUGGESTIONS: list[Any] = [
    {"input": ["Nirvana", "Nevermind"], "weight": 34},
    "Nirvana tribute",
    [{"input": "Nickelback", "weight": 10}],
    {"input": "Nirvana", "weight": 5},
    None,
]


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    mappings = {"properties": {"body": {"type": "text"}, "sug": {"type": "completion"}}}
    r = await asgi_client.put("/sg", json={"settings": {"number_of_shards": 3}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i, (body, sug) in enumerate(zip(BODIES, SUGGESTIONS, strict=True), 1):
        doc = {"body": body} | ({"sug": sug} if sug is not None else {})
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps(doc)]
    r = await asgi_client.post("/sg/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


def osa(a: str, b: str) -> int:
    d = {(i, -1): i + 1 for i in range(-1, len(a))} | {(-1, j): j + 1 for j in range(-1, len(b))}
    for i in range(len(a)):
        for j in range(len(b)):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i] != b[j]))
            if i and j and a[i] == b[j - 1] and a[i - 1] == b[j]:
                d[i, j] = min(d[i, j], d[i - 2, j - 2] + 1)
    return d[len(a) - 1, len(b) - 1]


def expected_term_options(token: str) -> list[dict[str, Any]]:
    freq = Counter(w for body in BODIES for w in set(body.split()))
    if freq[token]:
        return []  # suggest_mode missing
    options = []
    for term, count in freq.items():
        if term[:1] != token[:1] or term == token:
            continue
        edits = osa(term, token)
        score = 1 - edits / min(len(term), len(token))
        if edits <= 2 and score >= 0.5:
            options.append({"text": term, "score": pytest.approx(score), "freq": count})
    return sorted(options, key=lambda o: (-o["score"].expected, -o["freq"], o["text"]))[:5]


async def test_term_suggester(client: httpx.AsyncClient) -> None:
    text = "nobbel prise noble"
    r = await client.post("/sg/_search", json={"size": 0, "suggest": {"s": {"text": text, "term": {"field": "body"}}}})
    assert r.status_code == 200, r.text
    entries = r.json()["suggest"]["s"]
    assert [(e["text"], e["offset"], e["length"]) for e in entries] == [("nobbel", 0, 6), ("prise", 7, 5),
                                                                          ("noble", 13, 5)]  # fmt: skip
    for entry in entries:
        assert entry["options"] == expected_term_options(entry["text"])


async def test_completion_suggester(client: httpx.AsyncClient) -> None:
    async def options(completion: dict[str, Any], prefix: str = "nir") -> list[tuple[str, str, float]]:
        body = {"suggest": {"c": {"prefix": prefix, "completion": {"field": "sug", **completion}}}}
        r = await client.post("/sg/_search", json=body)
        assert r.status_code == 200, r.text
        (entry,) = r.json()["suggest"]["c"]
        assert entry["text"] == prefix
        return [(o["_id"], o["text"], o["_score"]) for o in entry["options"]]

    # one option per document (its best input), by weight
    assert await options({}) == [("1", "Nirvana", 34.0), ("4", "Nirvana", 5.0), ("2", "Nirvana tribute", 1.0)]
    assert await options({"skip_duplicates": True}) == [("1", "Nirvana", 34.0), ("2", "Nirvana tribute", 1.0)]
    assert await options({"size": 1}) == [("1", "Nirvana", 34.0)]
    assert await options({}, prefix="NIC") == [("3", "Nickelback", 10.0)]
    assert await options({}, prefix="nor") == []
    fuzzy = await options({"fuzzy": {"fuzziness": 1}}, prefix="nor")
    assert [o[0] for o in fuzzy] == ["1", "4", "2"]


@pytest.mark.parametrize("suggest", [
    {"s": {"text": "x", "phrase": {"field": "body", "bogus": 1}}},
    {"s": {"prefix": "x", "completion": {"field": "sug", "contexts": {"place": ["cafe"]}}}},
    {"s": {"text": "x", "term": {"field": "body", "bogus": 1}}},
    {"s": {"text": "x", "term": {}}},
    {"s": {"prefix": "x", "completion": {"field": "body"}}},
    # accepted only at their defaults: anything else would not be honoured
    {"s": {"text": "x", "term": {"field": "body", "string_distance": "levenshtein"}}},
    {"s": {"text": "x", "term": {"field": "body", "max_inspections": 10}}},
    {"s": {"text": "x", "phrase": {"field": "body", "direct_generator": [{"field": "body", "max_inspections": 2}]}}},
])  # fmt: skip
async def test_suggest_errors(client: httpx.AsyncClient, suggest: dict[str, Any]) -> None:
    r = await client.post("/sg/_search", json={"suggest": suggest})
    assert r.status_code == 400, r.text


async def test_default_valued_options_are_accepted(client: httpx.AsyncClient) -> None:
    term = {"field": "body", "string_distance": "internal", "max_inspections": 5}
    r = await client.post("/sg/_search", json={"suggest": {"s": {"text": "x", "term": term}}})
    assert r.status_code == 200, r.text
