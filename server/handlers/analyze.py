"""The ``_analyze`` handler: text run through an index's (or an ad hoc) analyzer, as ES tokens."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.settings import analysis_settings
from native.analysis import Analysis, Shingle
from native.errors import IllegalArgument
from native.mapping import Mapping
from server.handlers.index_admin import _field_mapping, _object_body
from server.handlers.indices import resolve
from server.http import check_params, es_json

DEFAULT_MAX_TOKEN_COUNT = 10_000  # ES's ``index.analyze.max_token_count``
ANALYZE_KEYS = frozenset({"analyzer", "text", "field", "tokenizer", "filter", "char_filter", "normalizer",
                          "explain", "attributes"})  # fmt: skip


async def analyze(request: Request) -> Response:
    params = check_params(request, {"analyzer", "text", "field"})
    body = await _object_body(request, "analyze_request", ANALYZE_KEYS)
    body = {**{k: v for k, v in params.items() if k in ("analyzer", "text", "field")}, **body}
    text = body.get("text")
    if text is None:
        raise IllegalArgument("Validation Failed: 1: text is missing;")
    texts = text if isinstance(text, list) else [text]
    index = request.path_params.get("index")
    analysis = Analysis.from_settings({})
    name = body.get("analyzer")
    default = "standard"
    max_tokens = DEFAULT_MAX_TOKEN_COUNT
    if index is not None:
        default = "default"  # the index's ``default`` analyzer when it defines one (built in: standard)
        meta = resolve(request, index, {})[0]
        analysis = Analysis.from_settings(analysis_settings(meta.settings))
        max_tokens = int(meta.settings.get("index.analyze.max_token_count", DEFAULT_MAX_TOKEN_COUNT))
        if name is None and body.get("field"):
            field = _field_mapping(Mapping(meta.mappings).to_dict(), body["field"]) or {}
            name = field.get("analyzer", "standard") if field.get("type", "text") == "text" else "keyword"
    explain = body.get("explain") in (True, "true")
    custom_chain = body.get("tokenizer") is not None or bool(body.get("filter")) or bool(body.get("char_filter"))
    if explain and custom_chain:  # ES details every stage of the chain; not built here, so say so
        raise IllegalArgument("[explain] of a custom tokenizer/filter chain is not supported by this server")
    if body.get("char_filter"):
        raise IllegalArgument("[char_filter] is not supported in _analyze by this server")
    if body.get("attributes") and not explain:
        raise IllegalArgument("[attributes] can only be used with [explain]")
    if body.get("tokenizer") is not None or body.get("filter"):
        tok = body.get("tokenizer", "standard")
        custom = {"analyzer": {"_custom": {"tokenizer": tok, "filter": body.get("filter") or []}}}
        if isinstance(tok, dict):
            custom = {
                "tokenizer": {"_tok": tok},
                "analyzer": {"_custom": {"tokenizer": "_tok", "filter": body.get("filter") or []}},
            }
        analysis = Analysis.from_settings(custom)
        name = "_custom"
    analyzer = analysis.normalizer(body["normalizer"]) if body.get("normalizer") else analysis.analyzer(
        name or default)  # fmt: skip
    shingle = None if body.get("normalizer") else analysis.shingles.get(name or default)
    tokens: list[dict[str, Any]] = []
    position = 0  # of the next text: after the last token, then ES's position_increment_gap (100)
    base = 0
    for piece in texts:
        last = -1
        # the analyzer's own offsets and positions: a removed stopword leaves a gap, as in Lucene
        words: list[dict[str, Any]] = []
        for token in analyzer.pre_tokenize(piece).tokens:
            last = position + token.position
            words.append({"token": token.text, "start_offset": base + token.char_offset_from,
                          "end_offset": base + token.char_offset_to, "type": "word", "position": last})  # fmt: skip
        tokens.extend(_shingled(words, shingle) if shingle is not None else words)
        base += len(piece) + 1
        position = max(position, last + 1) + (100 if len(texts) > 1 else 0)
        if len(tokens) > max_tokens:
            raise IllegalArgument(
                f"The number of tokens produced by calling _analyze has exceeded the allowed maximum of "
                f"[{max_tokens}]. This limit can be set by changing the [index.analyze.max_token_count] index "
                "level setting."
            )
    if explain:  # ES's ``detail`` for a named analyzer (or normalizer): its tokens with their bytes
        detailed = [{**t, "bytes": "[" + " ".join(f"{b:02x}" for b in t["token"].encode()) + "]",
                     "positionLength": 1, "termFrequency": 1} for t in tokens]  # fmt: skip
        wanted = body.get("attributes")
        if wanted:  # ES: only the named extra attributes besides the token's own fields
            names = set(wanted if isinstance(wanted, list) else [wanted])
            base_fields = {"token", "start_offset", "end_offset", "type", "position"}
            detailed = [{k: v for k, v in t.items() if k in base_fields or k in names} for t in detailed]
        key = "analyzer" if not body.get("normalizer") else "normalizer"
        label = body.get("normalizer") or name or default
        return es_json(request, {"detail": {"custom_analyzer": False, key: {"name": label, "tokens": detailed}}})
    return es_json(request, {"tokens": tokens})


def _shingled(words: list[dict[str, Any]], shingle: Shingle) -> list[dict[str, Any]]:
    """A ``shingle`` filter's output (``native.analysis.Shingle``): at each position the word (if
    ``output_unigrams``), then the shingles starting there, typed ``shingle``."""
    out: list[dict[str, Any]] = []
    for i, word in enumerate(words):
        if shingle.output_unigrams:
            out.append(word)
        for size in range(shingle.min_size, shingle.max_size + 1):
            if i + size <= len(words):
                run = words[i : i + size]
                out.append({"token": shingle.separator.join(w["token"] for w in run),
                            "start_offset": word["start_offset"], "end_offset": run[-1]["end_offset"],
                            "type": "shingle", "position": word["position"]})  # fmt: skip
    return out if out or not shingle.unigrams_if_no_shingles else words


routes = [
    Route("/_analyze", analyze, methods=["GET", "POST"]),
    Route("/{index}/_analyze", analyze, methods=["GET", "POST"]),
]
