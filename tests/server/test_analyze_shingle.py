"""The ``shingle`` token filter in custom analyzers: ``_analyze`` output and its settings checks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


def analysis(**shingle: Any) -> dict[str, Any]:
    return {"analysis": {
        "analyzer": {"sh": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "my_shingle"]}},
        "filter": {"my_shingle": {"type": "shingle", **shingle}}}}  # fmt: skip


async def test_analyze_with_shingles(asgi_client: httpx.AsyncClient) -> None:
    r = await asgi_client.put("/sh", json={"settings": analysis(max_shingle_size=3)})
    assert r.status_code == 200, r.text
    r = await asgi_client.post("/sh/_analyze", json={"analyzer": "sh", "text": "The Quick fox"})
    assert r.status_code == 200, r.text
    assert [(t["token"], t["type"], t["position"], t["start_offset"], t["end_offset"]) for t in r.json()["tokens"]] == [
        ("the", "word", 0, 0, 3), ("the quick", "shingle", 0, 0, 9), ("the quick fox", "shingle", 0, 0, 13),
        ("quick", "word", 1, 4, 9), ("quick fox", "shingle", 1, 4, 13), ("fox", "word", 2, 10, 13)]  # fmt: skip


async def test_shingles_without_unigrams_and_separator(asgi_client: httpx.AsyncClient) -> None:
    r = await asgi_client.put("/sh3", json={"settings": analysis(output_unigrams=False, token_separator="_")})
    assert r.status_code == 200, r.text
    r = await asgi_client.post("/sh3/_analyze", json={"analyzer": "sh", "text": "a b c"})
    assert [t["token"] for t in r.json()["tokens"]] == ["a_b", "b_c"]
    r = await asgi_client.post("/sh3/_analyze", json={"analyzer": "sh", "text": "alone"})
    assert r.json()["tokens"] == []
    settings = analysis(output_unigrams=False, output_unigrams_if_no_shingles=True)
    r = await asgi_client.put("/sh4", json={"settings": settings})
    assert r.status_code == 200, r.text
    r = await asgi_client.post("/sh4/_analyze", json={"analyzer": "sh", "text": "alone"})
    assert [t["token"] for t in r.json()["tokens"]] == ["alone"]


@pytest.mark.parametrize(
    ("shingle", "message"),
    [
        ({"min_shingle_size": 1}, "must be greater than 1"),
        ({"min_shingle_size": 3, "max_shingle_size": 2}, "greater than or equal to [min_shingle_size]"),
        ({"max_shingle_size": 6}, "must be less than or equal to: [3] but was [5]"),
    ],
)
async def test_shingle_settings_checked(asgi_client: httpx.AsyncClient, shingle: dict[str, Any], message: str) -> None:
    r = await asgi_client.put("/bad", json={"settings": analysis(**shingle)})
    assert r.status_code == 400, r.text
    assert message in r.text
