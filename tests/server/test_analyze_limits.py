"""``_analyze``: ``index.analyze.max_token_count``, ``explain`` for named analyzers, refused options."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error


async def test_max_token_count_and_explain(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/an", json={"settings": {"index.analyze.max_token_count": 3}})
    ok = (await c.post("/an/_analyze", json={"text": "This should succeed", "analyzer": "standard"})).json()
    assert [t["token"] for t in ok["tokens"]] == ["this", "should", "succeed"]
    over = await c.post("/an/_analyze", json={"text": "This should fail as it exceeds", "analyzer": "standard"})
    assert_canonical_error(over, 400, "illegal_argument_exception")
    assert "exceeded the allowed maximum of [3]" in over.json()["error"]["reason"]
    over_explain = await c.post("/an/_analyze", json={"text": "a b c d", "analyzer": "standard", "explain": True})
    assert over_explain.status_code == 400
    detail = (await c.post("/_analyze", json={"text": "Hé x", "analyzer": "standard", "explain": True})).json()
    analyzer = detail["detail"]["analyzer"]
    assert detail["detail"]["custom_analyzer"] is False and analyzer["name"] == "standard"
    assert [t["token"] for t in analyzer["tokens"]] == ["hé", "x"]
    assert analyzer["tokens"][0]["bytes"] == "[68 c3 a9]"
    only = (await c.post("/_analyze", json={"text": "x", "analyzer": "standard", "explain": True,
                                            "attributes": ["termFrequency"]})).json()  # fmt: skip
    assert set(only["detail"]["analyzer"]["tokens"][0]) == {"token", "start_offset", "end_offset", "type",
                                                             "position", "termFrequency"}  # fmt: skip
    custom = await c.post("/_analyze", json={"text": "x", "tokenizer": "standard", "explain": True})
    assert_canonical_error(custom, 400, "illegal_argument_exception")
    char = await c.post("/_analyze", json={"text": "x", "char_filter": ["html_strip"], "tokenizer": "standard"})
    assert_canonical_error(char, 400, "illegal_argument_exception")
