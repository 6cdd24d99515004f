"""Suggesters: ``term``, ``phrase`` (``native.phrase_suggest``) and ``completion``, per shard and merged on the
root.

* ``term``: each token of the text (the field's search analyzer) gets the index terms within ``max_edits``
  (Damerau-Levenshtein, the first ``prefix_length`` characters equal), scored as Lucene's spell checker
  does, ``1 - edits / min(len(token), len(term))``, kept from ``accuracy`` up; ``suggest_mode`` missing
  (only for tokens absent from the field), popular (terms more frequent than the token) or always;
  ``min_word_length``, ``min_doc_freq``, ``sort`` score or frequency, ``size``. Shards merge options by
  text (frequencies add up, the best score stays).
* ``completion`` on a ``completion`` field (kept in ``_source``): inputs (a string, a list, or
  ``{"input", "weight"}`` objects) are analyzed with the field's analyzer (``simple`` by default) and
  matched by ``prefix`` (or ``regex``), optionally ``fuzzy`` (``fuzziness``, ``transpositions``,
  ``min_length``, ``prefix_length``); a document is suggested once, by its best input, scored by its
  weight; ``skip_duplicates`` drops repeated texts; ``size``; ``contexts`` (category and geo,
  ``native.completion_contexts``) filter and boost. The field is read from every document's ``_source`` (there is no
  FST index): the cost grows with the number of documents on the shard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import orjson
import tantivy

from native.completion_contexts import doc_contexts, match_contexts, parse_mappings, parse_query
from native.errors import IllegalArgument, ParsingError
from native.fields import ID_FIELD, SOURCE_FIELD
from native.phrase_suggest import check_defaults_only, check_phrase, merge_phrase, shard_phrase
from native.schema import CompiledMapping

__all__ = ["SuggestSpec", "merge_suggest", "parse_suggest", "shard_suggest"]

_TERM_KEYS = {
    "field", "analyzer", "size", "shard_size", "sort", "suggest_mode", "max_edits", "prefix_length",
    "min_word_length", "min_doc_freq", "max_term_freq", "max_inspections", "accuracy", "string_distance",
    "lowercase_terms",
}  # fmt: skip
_COMPLETION_KEYS = {"field", "size", "skip_duplicates", "fuzzy", "analyzer", "contexts"}
_FUZZY_KEYS = {"fuzziness", "transpositions", "min_length", "prefix_length", "unicode_aware"}


@dataclass(frozen=True)
class SuggestSpec:
    name: str
    kind: str  # term | phrase | completion
    text: str
    field: str
    size: int = 5
    options: dict[str, Any] = dc_field(default_factory=dict, hash=False, compare=False)
    regex: bool = False


def _int(kind: str, key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ParsingError(f"[{kind}] failed to parse field [{key}]")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ParsingError(f"[{kind}] failed to parse field [{key}]") from None


def parse_suggest(body: Any) -> list[SuggestSpec]:
    """The ``suggest`` section of a search body; any option not implemented is a 400 naming it."""
    if not isinstance(body, dict):
        raise ParsingError("suggest must be an object")
    global_text = body.get("text")
    out: list[SuggestSpec] = []
    for name, entry in body.items():
        if name == "text":
            continue
        if not isinstance(entry, dict):
            raise ParsingError(f"suggestion [{name}] must be an object")
        text: Any = entry.get("text", global_text)
        regex = False
        if "prefix" in entry:
            text = entry["prefix"]
        elif "regex" in entry:
            text, regex = entry["regex"], True
        kinds = [k for k in entry if k not in ("text", "prefix", "regex")]
        if len(kinds) != 1:
            raise ParsingError(f"suggestion [{name}] must have exactly one suggester, got {kinds}")
        kind = kinds[0]
        options = entry[kind]
        if kind not in ("term", "phrase", "completion"):
            raise ParsingError(f"unknown suggester [{kind}]")
        if not isinstance(options, dict):
            raise ParsingError(f"[{kind}] suggester must be an object")
        if kind == "phrase" and regex:
            raise ParsingError("suggester[phrase] doesn't support field [regex]")
        allowed = {"term": _TERM_KEYS, "phrase": options.keys(), "completion": _COMPLETION_KEYS}[kind]
        for key in options:
            if key not in allowed:
                raise ParsingError(f"suggester[{kind}] doesn't support field [{key}]")
        if kind == "completion" and options.get("contexts") is not None and not isinstance(options["contexts"], dict):
            raise ParsingError("[completion] failed to parse field [contexts]")
        if not isinstance(options.get("field"), str):
            raise IllegalArgument("The required field option [field] is missing")
        if text is None or not isinstance(text, str):
            raise IllegalArgument("The required text option is missing")
        size = _int(kind, "size", options.get("size", 5))
        if size <= 0:
            raise IllegalArgument("size must be positive")
        if kind == "term":
            _check_term(options)
        elif kind == "phrase":
            check_phrase(options, size)
        else:
            _check_completion(options)
        out.append(SuggestSpec(name, kind, text, options["field"], size, dict(options), regex))
    return out


def _check_term(options: MappingABC[str, Any]) -> None:
    for key, allowed in (("sort", ("score", "frequency")), ("suggest_mode", ("missing", "popular", "always")),
                         ("string_distance", ("internal", "damerau_levenshtein", "levenshtein"))):  # fmt: skip
        if key in options and str(options[key]).lower() not in allowed:
            raise IllegalArgument(f"Illegal {key} [{options[key]}]")
    edits = _int("term", "max_edits", options.get("max_edits", 2))
    if not 1 <= edits <= 2:
        raise IllegalArgument("Illegal max_edits value: must be 1 or 2")
    check_defaults_only("term", options)


def _check_completion(options: MappingABC[str, Any]) -> None:
    fuzzy = options.get("fuzzy")
    if isinstance(fuzzy, dict):
        for key in fuzzy:
            if key not in _FUZZY_KEYS:
                raise ParsingError(f"[fuzzy] unknown field [{key}]")
    elif fuzzy is not None and not isinstance(fuzzy, bool):
        raise ParsingError("[completion] failed to parse field [fuzzy]")


# -- shard side ----------------------------------------------------------------------------------------


def shard_suggest(
    specs: list[SuggestSpec], searcher: tantivy.Searcher, compiled: CompiledMapping, index: str
) -> dict[str, Any]:
    """This shard's part of every suggestion, JSON-ready (merged by ``merge_suggest``)."""
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.kind == "term":
            out[spec.name] = _term(spec, searcher, compiled)
        elif spec.kind == "phrase":
            out[spec.name] = shard_phrase(spec.text, check_phrase(spec.options, spec.size), searcher, compiled)
        else:
            out[spec.name] = _completion(spec, searcher, compiled, index)
    return out


def _edits(a: str, b: str) -> int:
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _token_offsets(text: str, tokens: list[str]) -> list[tuple[str, int, int]]:
    lowered = text.lower()
    out, cursor = [], 0
    for token in tokens:
        at = lowered.find(token, cursor)
        if at < 0:
            out.append((token, cursor, len(token)))
            continue
        out.append((token, at, len(token)))
        cursor = at + len(token)
    return out


def _term(spec: SuggestSpec, searcher: tantivy.Searcher, compiled: CompiledMapping) -> list[dict[str, Any]]:
    opts = spec.options
    info = compiled.field(spec.field)
    if info is None or info.es_type not in ("text", "keyword"):
        return [{"text": t, "offset": o, "length": n, "options": []}
                for t, o, n in _token_offsets(spec.text, spec.text.lower().split())]  # fmt: skip
    tokens = list(info.analyze(spec.text)) if info.analyze is not None else [spec.text]
    mode = str(opts.get("suggest_mode", "missing")).lower()
    max_edits = int(opts.get("max_edits", 2))
    prefix_length = int(opts.get("prefix_length", 1))
    min_word_length = int(opts.get("min_word_length", 4))
    min_doc_freq = float(opts.get("min_doc_freq", 0))
    accuracy = float(opts.get("accuracy", 0.5))
    shard_size = max(int(opts.get("shard_size", spec.size)), spec.size)
    entries = []
    for token, offset, length in _token_offsets(spec.text, tokens):
        options: list[dict[str, Any]] = []
        own = int(searcher.doc_freq(info.tantivy_name, token))
        if len(token) >= min_word_length and not (mode == "missing" and own > 0):
            for term, freq in searcher.terms_with_prefix(info.tantivy_name, token[:prefix_length]):
                if term == token or freq < min_doc_freq or abs(len(term) - len(token)) > max_edits:
                    continue
                if mode == "popular" and freq <= own:
                    continue
                edits = _edits(term, token)
                if edits > max_edits:
                    continue
                score = 1.0 - edits / min(len(term), len(token))
                if score >= accuracy:
                    options.append({"text": term, "score": score, "freq": int(freq)})
            options = _sorted_term_options(options, str(opts.get("sort", "score")))[:shard_size]
        entries.append({"text": token, "offset": offset, "length": length, "options": options})
    return entries


def _sorted_term_options(options: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    if sort == "frequency":
        return sorted(options, key=lambda o: (-o["freq"], -o["score"], o["text"]))
    return sorted(options, key=lambda o: (-o["score"], -o["freq"], o["text"]))


def _inputs(value: Any) -> list[tuple[str, int]]:
    """A completion field's value → (input, weight) pairs."""
    out: list[tuple[str, int]] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            out.append((item, 1))
        elif isinstance(item, dict):
            raw = item.get("input")
            weight = int(item.get("weight", 1) or 1)
            for text in raw if isinstance(raw, list) else [raw]:
                if isinstance(text, str):
                    out.append((text, weight))
    return out


def _completion(
    spec: SuggestSpec, searcher: tantivy.Searcher, compiled: CompiledMapping, index: str
) -> list[dict[str, Any]]:
    leaf = compiled.mapping.leaf(spec.field)
    if leaf is None or leaf.type != "completion":
        message = f"Field [{spec.field}] is not a completion suggest field"
        raise IllegalArgument(message)
    params = leaf.params or {}
    analyzer = compiled.analysis.analyzer(str(spec.options.get("analyzer") or params.get("search_analyzer")
                                              or params.get("analyzer") or "simple"))  # fmt: skip
    separator = " " if str(params.get("preserve_separators", True)).lower() != "false" else ""

    def analyzed(text: str) -> str:
        return separator.join(analyzer.analyze(text))

    matches = _matcher(spec, analyzed)
    mappings = parse_mappings(params)
    query = None
    if "contexts" in spec.options or mappings:
        query = parse_query(spec.options.get("contexts") or {}, mappings, spec.field)
    num_docs = int(searcher.num_docs)
    # a completion value is often an object ({"input", "weight"}), which leaves no trace in ``_field_names``:
    # every document is a candidate
    candidates = tantivy.Query.all_query()
    best: list[dict[str, Any]] = []
    for _, addr in searcher.search(candidates, max(num_docs, 1), count=False).hits:
        stored = searcher.doc(addr).to_dict()
        source = orjson.loads(bytes(stored[SOURCE_FIELD][0]))
        top: tuple[float, str] | None = None
        found: dict[str, set[str]] = {}
        for value in _values_at(source, leaf.source_path):
            for item in value if isinstance(value, list) else [value]:
                contexts = doc_contexts(item, source, mappings, _values_at) if mappings else {}
                for text, weight in _inputs(item):
                    if not matches(analyzed(text)):
                        continue
                    score, shown = float(weight), contexts
                    if query is not None:
                        matched = match_contexts(query, contexts)
                        if matched is None:
                            continue
                        score, shown = score * matched[0], matched[1]
                    for name, values in shown.items():
                        found.setdefault(name, set()).update(values)
                    if top is None or (score, text) > (top[0], top[1]):
                        top = (score, text)
        if top is not None:
            option = {"text": top[1], "_index": index, "_id": str(stored[ID_FIELD][0]),
                      "_score": top[0], "_source": source}  # fmt: skip
            if found:
                option["contexts"] = {name: sorted(values) for name, values in sorted(found.items())}
            best.append(option)
    best.sort(key=lambda o: (-o["_score"], o["text"], o["_id"]))
    if spec.options.get("skip_duplicates"):
        best = _unique_texts(best)
    return best[: spec.size]


def _values_at(source: Any, path: str) -> list[Any]:
    """The values at a dotted ``path`` of a ``_source`` (dotted keys and arrays of objects included)."""
    if not path:
        return [source]
    if isinstance(source, list):
        return [v for item in source for v in _values_at(item, path)]
    if not isinstance(source, dict):
        return []
    if path in source:
        return [source[path]]
    out: list[Any] = []
    for key, value in source.items():
        if path.startswith(key + "."):
            out.extend(_values_at(value, path[len(key) + 1 :]))
    return out


def _unique_texts(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for option in options:
        if option["text"] not in seen:
            seen.add(option["text"])
            out.append(option)
    return out


def _matcher(spec: SuggestSpec, analyzed: Any) -> Any:
    if spec.regex:
        try:
            pattern = re.compile(spec.text)
        except re.error:
            raise IllegalArgument(f"invalid regular expression [{spec.text}]") from None
        return lambda candidate: pattern.match(candidate) is not None
    prefix = analyzed(spec.text)
    fuzzy = spec.options.get("fuzzy")
    if not fuzzy:
        return lambda candidate: candidate.startswith(prefix)
    opts = fuzzy if isinstance(fuzzy, dict) else {}
    raw = str(opts.get("fuzziness", "AUTO")).upper()
    if raw.startswith("AUTO"):
        edits = 0 if len(prefix) < 3 else 1 if len(prefix) < 6 else 2
    else:
        edits = min(int(float(raw)), 2)
    if len(prefix) < int(opts.get("min_length", 3)):
        edits = 0
    keep = prefix[: int(opts.get("prefix_length", 1))]

    def fuzzy_match(candidate: str) -> bool:
        if not candidate.startswith(keep):
            return False
        lo, hi = max(0, len(prefix) - edits), len(prefix) + edits
        return any(_edits(candidate[:k], prefix) <= edits for k in range(lo, min(hi, len(candidate)) + 1))

    return fuzzy_match


# -- root side -----------------------------------------------------------------------------------------


def merge_suggest(specs: list[SuggestSpec], partials: list[dict[str, Any]]) -> dict[str, Any]:
    """The response's ``suggest`` section from every shard's ``shard_suggest``."""
    out: dict[str, Any] = {}
    for spec in specs:
        parts = [p[spec.name] for p in partials if spec.name in p]
        if spec.kind == "term":
            out[spec.name] = _merge_term(spec, parts)
        elif spec.kind == "phrase":
            out[spec.name] = merge_phrase(spec.text, check_phrase(spec.options, spec.size), parts)
        else:
            options = sorted((o for part in parts for o in part), key=lambda o: (-o["_score"], o["text"], o["_id"]))
            if spec.options.get("skip_duplicates"):
                options = _unique_texts(options)
            entry = {"text": spec.text, "offset": 0, "length": len(spec.text), "options": options[: spec.size]}
            out[spec.name] = [entry]
    return out


def _merge_term(spec: SuggestSpec, parts: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    if not parts:
        return []
    entries = [dict(e, options=[]) for e in parts[0]]
    for i, entry in enumerate(entries):
        merged: dict[str, dict[str, Any]] = {}
        for part in parts:
            if i >= len(part):
                continue
            for option in part[i]["options"]:
                have = merged.get(option["text"])
                if have is None:
                    merged[option["text"]] = dict(option)
                else:
                    have["freq"] += option["freq"]
                    have["score"] = max(have["score"], option["score"])
        sort = str(spec.options.get("sort", "score"))
        entry["options"] = _sorted_term_options(list(merged.values()), sort)[: spec.size]
    return entries
