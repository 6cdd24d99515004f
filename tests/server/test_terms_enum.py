"""``_terms_enum`` against plain-Python answers over the same documents."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx

from tests.server.helpers import assert_canonical_error

WORDS = ["garbanzo", "Gamma", "gala", "gaLA", "beta", "gamut", "zeta", "galaxy", "Ärger", "gä", "a", "ga"]


def _docs(seed: int = 7, n: int = 300) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"tag": rng.sample(WORDS, rng.randint(0, 3)), "n": i % 5, "ip": f"10.{i % 3}.0.{i % 7}"}
            for i in range(n)]  # fmt: skip


async def _load(client: httpx.AsyncClient, docs: list[dict[str, Any]]) -> None:
    mappings = {"properties": {"tag": {"type": "keyword"}, "n": {"type": "integer"}, "ip": {"type": "ip"},
                               "body": {"type": "text"}}}  # fmt: skip
    response = await client.put("/te", json={"settings": {"number_of_shards": 3}, "mappings": mappings})
    assert response.status_code == 200, response.text
    lines = []
    for i, doc in enumerate(docs):
        lines += [json.dumps({"index": {"_index": "te", "_id": str(i)}}), json.dumps(doc)]
    response = await client.post("/_bulk?refresh=true", content="\n".join(lines) + "\n",
                                 headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert response.status_code == 200 and not response.json()["errors"]


async def _terms(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/te/_terms_enum", json=body)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    assert out["_shards"] == {"total": 3, "successful": 3, "failed": 0}
    return out


def _expect(docs: list[dict[str, Any]], prefix: str = "", *, ci: bool = False, size: int = 10,
            after: str | None = None, where: Any = None) -> list[str]:  # fmt: skip
    terms = {t for d in docs if where is None or where(d) for t in d["tag"]}
    if ci:
        terms = {t for t in terms if t.lower().startswith(prefix.lower())}
    else:
        terms = {t for t in terms if t.startswith(prefix)}
    if after is not None:
        terms = {t for t in terms if t > after}
    return sorted(terms, key=lambda t: t.encode())[:size]


async def test_terms_enum_matches_plain_python(asgi_client: httpx.AsyncClient) -> None:
    docs = _docs()
    await _load(asgi_client, docs)
    for body, want in [
        ({"field": "tag"}, _expect(docs)),
        ({"field": "tag", "string": "ga"}, _expect(docs, "ga")),
        ({"field": "tag", "string": "ga", "case_insensitive": True}, _expect(docs, "ga", ci=True)),
        ({"field": "tag", "string": "ga", "size": 2}, _expect(docs, "ga", size=2)),
        ({"field": "tag", "search_after": "gala"}, _expect(docs, after="gala")),
        ({"field": "tag", "string": "gä"}, _expect(docs, "gä")),
        ({"field": "tag", "size": 0}, []),
        ({"field": "tag", "index_filter": {"term": {"n": 3}}}, _expect(docs, where=lambda d: d["n"] == 3)),
    ]:
        out = await _terms(asgi_client, body)
        assert out == {**out, "terms": want, "complete": True}, body
    # an ip's terms are its formatted addresses
    ips = sorted({d["ip"] for d in docs if d["ip"].startswith("10.1.")})
    assert (await _terms(asgi_client, {"field": "ip", "string": "10.1.", "size": 100}))["terms"] == ips
    # fields without a terms dictionary ES walks, and unmapped fields, find nothing
    for field in ("body", "n", "nope"):
        assert (await _terms(asgi_client, {"field": field}))["terms"] == []


async def test_terms_enum_refuses_bad_requests(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/te")
    for body, es_type in [
        ({"field": "tag", "bogus": 1}, "x_content_parse_exception"),
        ({"string": "a"}, "illegal_argument_exception"),
        ({"field": "tag", "size": "ten"}, "x_content_parse_exception"),
        ({"field": "tag", "size": -1}, "illegal_argument_exception"),
        ({"field": "tag", "case_insensitive": "yes"}, "x_content_parse_exception"),
    ]:
        assert_canonical_error(await asgi_client.post("/te/_terms_enum", json=body), 400, es_type)
    assert_canonical_error(
        await asgi_client.post("/missing/_terms_enum", json={"field": "tag"}), 404, "index_not_found_exception"
    )
