"""``suggest.phrase``: ES's noisy-channel model over a shingle sub-field, the expected scores worked out by hand
from the documents' term counts (exp of summed log10 of channel x language model, as ES computes them)."""

from __future__ import annotations

import math
import struct
from typing import Any

import httpx
import orjson
import pytest

DOCS = ["nobel prize", "nobel prize winner", "noble gases"]
# title.trigram (unigrams + 2- and 3-word shingles) over DOCS: total term frequencies
TTF = {"nobel": 2, "nobel prize": 2, "prize": 2, "nobel prize winner": 1, "prize winner": 1, "winner": 1,
       "noble": 1, "noble gases": 1, "gases": 1}  # fmt: skip
V, N = sum(TTF.values()), len(TTF)  # 12 tokens, 9 distinct terms
RWEL = 0.95


def f32(x: float) -> float:
    return float(struct.unpack("f", struct.pack("f", x))[0])


def phrase_score(*factors: float) -> float:
    return f32(math.exp(sum(math.log10(f) for f in factors)))


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    settings = {"index": {"number_of_shards": 1, "analysis": {
        "analyzer": {"trigram": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "shingle"]}},
        "filter": {"shingle": {"type": "shingle", "min_shingle_size": 2, "max_shingle_size": 3}}}}}  # fmt: skip
    mappings = {
        "properties": {"title": {"type": "text", "fields": {"trigram": {"type": "text", "analyzer": "trigram"}}}}
    }
    r = await asgi_client.put("/ph", json={"settings": settings, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i, title in enumerate(DOCS, 1):
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps({"title": title})]
    r = await asgi_client.post("/ph/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


async def suggest(client: httpx.AsyncClient, phrase: dict[str, Any], text: str = "noble prize",
                  params: str = "") -> dict[str, Any]:  # fmt: skip
    body = {"size": 0, "suggest": {"s": {"text": text, "phrase": {"field": "title.trigram", **phrase}}}}
    r = await client.post(f"/ph/_search{params}", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json()["suggest"])


ALWAYS = {"direct_generator": [{"field": "title.trigram", "suggest_mode": "always"}]}
# "noble" → candidate "nobel" (one transposition: 1 - 1/5), "prize" has none
NOBEL = phrase_score(0.8 * (1 + TTF["nobel"]) / (V + N), RWEL * TTF["nobel prize"] / TTF["nobel"])
# the input: "noble prize" is no bigram of the index, stupid backoff 0.4 x unigram(prize)
INPUT = phrase_score(RWEL * (1 + TTF["noble"]) / (V + N), RWEL * 0.4 * (1 + TTF["prize"]) / (V + N))


async def test_stupid_backoff_default(client: httpx.AsyncClient) -> None:
    out = await suggest(client, {**ALWAYS, "highlight": {"pre_tag": "<em>", "post_tag": "</em>"}})
    (entry,) = out["s"]
    assert (entry["text"], entry["offset"], entry["length"]) == ("noble prize", 0, 11)
    # confidence 1: only corrections scoring above the input phrase
    assert entry["options"] == [{"text": "nobel prize", "highlighted": "<em>nobel</em> prize",
                                 "score": pytest.approx(NOBEL, rel=1e-6)}]  # fmt: skip
    assert NOBEL > INPUT


async def test_confidence_zero_lists_the_input_too(client: httpx.AsyncClient) -> None:
    (entry,) = (await suggest(client, {**ALWAYS, "confidence": 0}))["s"]
    assert [(o["text"], o["score"]) for o in entry["options"]] == [
        ("nobel prize", pytest.approx(NOBEL, rel=1e-6)), ("noble prize", pytest.approx(INPUT, rel=1e-6))]  # fmt: skip
    assert "highlighted" not in entry["options"][0]
    (entry,) = (await suggest(client, {**ALWAYS, "confidence": 0, "size": 1}))["s"]
    assert [o["text"] for o in entry["options"]] == ["nobel prize"]


async def test_missing_mode_suggests_nothing_for_indexed_words(client: httpx.AsyncClient) -> None:
    (entry,) = (await suggest(client, {}))["s"]  # default generator: suggest_mode missing, "noble" is indexed
    assert entry["options"] == []
    (entry,) = (await suggest(client, {}, text="nobbel prize"))["s"]
    # "nobbel" (absent) → "nobel" (1 deletion, 1 - 1/5) and "noble" (2 edits, 1 - 2/5); unigram model, gram_size 3
    nobel = phrase_score(0.8 * 3 / (V + N), RWEL * 2 / 2)
    noble = phrase_score(0.6 * 2 / (V + N), RWEL * 0.4 * 3 / (V + N))
    original = phrase_score(RWEL * 1 / (V + N), RWEL * 0.4 * 3 / (V + N))
    assert [(o["text"], o["score"]) for o in entry["options"]] == [
        ("nobel prize", pytest.approx(nobel, rel=1e-6)), ("noble prize", pytest.approx(noble, rel=1e-6))]  # fmt: skip
    assert noble > original


async def test_laplace_and_linear_interpolation(client: httpx.AsyncClient) -> None:
    (entry,) = (await suggest(client, {**ALWAYS, "confidence": 0, "smoothing": {"laplace": {"alpha": 0.7}}}))["s"]
    a = 0.7

    def uni(t: str) -> float:
        return (a + TTF.get(t, 0)) / (V + a * N)

    nobel = phrase_score(0.8 * uni("nobel"), RWEL * (a + 2) / (TTF["nobel"] + a * N))
    noble = phrase_score(RWEL * uni("noble"), RWEL * (a + 0) / (TTF["noble"] + a * N))
    assert [(o["text"], o["score"]) for o in entry["options"]] == [
        ("nobel prize", pytest.approx(nobel, rel=1e-6)), ("noble prize", pytest.approx(noble, rel=1e-6))]  # fmt: skip

    lambdas = {"trigram_lambda": 0.5, "bigram_lambda": 0.3, "unigram_lambda": 0.2}
    body = {**ALWAYS, "confidence": 0, "smoothing": {"linear_interpolation": lambdas}}
    (entry,) = (await suggest(client, body))["s"]

    def u(t: str) -> float:
        return (1 + TTF.get(t, 0)) / (V + N)

    nobel = phrase_score(0.8 * u("nobel"), RWEL * (0.3 * 2 / (0.5 + 2) + 0.2 * u("prize")))
    noble = phrase_score(RWEL * u("noble"), RWEL * 0.2 * u("prize"))
    assert [(o["text"], o["score"]) for o in entry["options"]] == [
        ("nobel prize", pytest.approx(nobel, rel=1e-6)), ("noble prize", pytest.approx(noble, rel=1e-6))]  # fmt: skip


async def test_trigram_and_max_errors(client: httpx.AsyncClient) -> None:
    # "nobel prize winer": the trigram "nobel prize winner" exists once, its bigram "prize winner" once
    body = {"direct_generator": [{"field": "title.trigram", "suggest_mode": "always", "min_word_length": 3}],
            "confidence": 0, "size": 10}  # fmt: skip
    (entry,) = (await suggest(client, body, text="nobil prise winer"))["s"]
    texts = [o["text"] for o in entry["options"]]
    # max_errors 1: at most one word changed per option
    for text in texts:
        changed = sum(a != b for a, b in zip(text.split(), "nobil prise winer".split(), strict=True))
        assert changed <= 1, text
    (entry,) = (await suggest(client, {**body, "max_errors": 3}, text="nobil prise winer"))["s"]
    top = entry["options"][0]
    assert top["text"] == "nobel prize winner"
    # channel: nobil→nobel 1-1/5, prise→prize 1-1/5, winer→winner 1-1/5; trigram model
    expected = phrase_score(0.8 * 3 / (V + N), 0.8 * 2 / 2, 0.8 * 1 / 1)
    assert top["score"] == pytest.approx(expected, rel=1e-6)


async def test_collate_prune(client: httpx.AsyncClient) -> None:
    collate = {"query": {"source": {"match_phrase": {"{{field}}": "{{suggestion}}"}}}, "params": {"field": "title"}}
    (entry,) = (await suggest(client, {**ALWAYS, "confidence": 0, "collate": collate}))["s"]
    assert [o["text"] for o in entry["options"]] == ["nobel prize"]  # "noble prize" matches no document
    (entry,) = (await suggest(client, {**ALWAYS, "confidence": 0, "collate": {**collate, "prune": True}}))["s"]
    assert [(o["text"], o["collate_match"]) for o in entry["options"]] == [("nobel prize", True),
                                                                            ("noble prize", False)]  # fmt: skip


async def test_typed_keys(client: httpx.AsyncClient) -> None:
    out = await suggest(client, ALWAYS, params="?typed_keys=true")
    assert list(out) == ["phrase#s"]


@pytest.mark.parametrize(
    ("phrase", "status", "kind"),
    [
        ({"bogus": 1}, 400, "parsing_exception"),
        ({"max_errors": 0}, 400, "illegal_argument_exception"),
        ({"smoothing": {"kneser_ney": {}}}, 400, "parsing_exception"),
        ({"smoothing": {"linear_interpolation": {"trigram_lambda": 0.5}}}, 400, "illegal_argument_exception"),
        ({"direct_generator": [{"field": "title.trigram", "bogus": 1}]}, 400, "parsing_exception"),
        ({"highlight": {"pre_tag": "<em>"}}, 400, "illegal_argument_exception"),
        ({"collate": {"query": {"id": "stored"}}}, 400, "illegal_argument_exception"),
    ],
)
async def test_errors(client: httpx.AsyncClient, phrase: dict[str, Any], status: int, kind: str) -> None:
    body = {"suggest": {"s": {"text": "noble prize", "phrase": {"field": "title.trigram", **phrase}}}}
    r = await client.post("/ph/_search", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["type"] == kind


async def test_unknown_field_fails(client: httpx.AsyncClient) -> None:
    body = {"suggest": {"s": {"text": "noble prize", "phrase": {"field": "nope"}}}}
    r = await client.post("/ph/_search", json=body)
    assert r.status_code == 400
    assert "no mapping found for field [nope]" in r.text


async def test_shards_merge_options_by_text(asgi_client: httpx.AsyncClient) -> None:
    """Two shards holding the same documents score the same options; one holding nothing adds no cutoff."""
    from cluster.routing import shard_for

    routings = {shard_for(r, 3): r for r in "abcdefghijklmnop"}
    settings = {"index": {"number_of_shards": 3, "analysis": {
        "analyzer": {"trigram": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "shingle"]}},
        "filter": {"shingle": {"type": "shingle", "min_shingle_size": 2, "max_shingle_size": 3}}}}}  # fmt: skip
    mappings = {
        "properties": {"title": {"type": "text", "fields": {"trigram": {"type": "text", "analyzer": "trigram"}}}}
    }
    r = await asgi_client.put("/ph3", json={"settings": settings, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for shard in (0, 1):  # shard 2 stays empty
        for i, title in enumerate(DOCS):
            lines += [orjson.dumps({"index": {"_id": f"{shard}-{i}", "routing": routings[shard]}}),
                      orjson.dumps({"title": title})]  # fmt: skip
    r = await asgi_client.post("/ph3/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    body = {"suggest": {"s": {"text": "noble prize", "phrase": {"field": "title.trigram", "confidence": 0, **ALWAYS}}}}
    r = await asgi_client.post("/ph3/_search", json=body)
    assert r.status_code == 200, r.text
    (entry,) = r.json()["suggest"]["s"]
    assert [(o["text"], o["score"]) for o in entry["options"]] == [
        ("nobel prize", pytest.approx(NOBEL, rel=1e-6)), ("noble prize", pytest.approx(INPUT, rel=1e-6))]  # fmt: skip
