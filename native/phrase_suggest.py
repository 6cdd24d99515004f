"""The ``phrase`` suggester: ES's noisy-channel spell checker over word n-grams.

The text is analyzed (the ``analyzer`` option, else the field's search analyzer); each unigram token is a
position whose candidates come from the ``direct_generator`` list (by default one generator on the
suggestion's ``field``): index terms within ``max_edits`` of the token, the first ``prefix_length``
characters equal, scored ``1 - edits / min(len)`` and kept from ``accuracy`` (0.5) up, as Lucene's
``DirectSpellChecker`` does (``suggest_mode`` missing/popular/always, ``min_word_length``, ``min_doc_freq``,
``max_term_freq``, ``size``, ``pre_filter`` / ``post_filter`` analyzers). Every path through the candidate
sets with at most ``max_errors`` corrections (a count from 1 up, a fraction of the tokens below) is scored
``exp(Σ log10(channel * lm))``: the channel score is the candidate's string distance
(``real_word_error_likelihood`` for the user's own word) and ``lm`` the n-gram language model of
``gram_size`` (default: the field analyzer's ``max_shingle_size``) over the ``field``'s term counts, smoothed
by ``stupid_backoff`` (``discount`` 0.4, the default), ``laplace`` (``alpha`` 0.5) or
``linear_interpolation`` (``trigram_lambda``, ``bigram_lambda``, ``unigram_lambda``, normalised to sum 1).
Only paths scoring above ``confidence`` times the input phrase's score are kept, best first (ties: earlier
terms first), ``shard_size`` per shard; ``highlight`` wraps runs of corrected words in ``pre_tag`` /
``post_tag``; ``collate`` runs the query template (mustache ``{{suggestion}}`` and ``{{param}}``
substitution only) per option and drops options matching nothing (``prune``: keeps them with
``collate_match``).

Statistics: the term counts of a field (total term frequency, document frequency, their sum and the
number of distinct terms) are computed from every document's ``_source`` with the field's index analyzer,
shingles included (``native.analysis.Shingle``): tantivy's index holds no shingles. They are per shard, as
in ES, so on a multi-shard index scores (and, rarely, the order) may differ from a single-shard ES index,
exactly as they do in ES. Options of all shards are merged by text (the best score stays), filtered by the
highest shard cutoff, and sorted by score then text.
"""

from __future__ import annotations

import math
import re
import struct
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import tantivy

from native.errors import IllegalArgument, ParsingError
from native.fields import SOURCE_FIELD
from native.schema import CompiledMapping

__all__ = ["check_phrase", "merge_phrase", "shard_phrase"]

MIN_DOUBLE = 5e-324  # Java's Double.MIN_VALUE: the cutoff when ``confidence`` is 0
_PHRASE_KEYS = {
    "field", "analyzer", "size", "shard_size", "gram_size", "real_word_error_likelihood", "confidence",
    "max_errors", "separator", "token_limit", "force_unigrams", "highlight", "collate", "direct_generator",
    "smoothing",
}  # fmt: skip
_GENERATOR_KEYS = {
    "field", "suggest_mode", "min_word_length", "prefix_length", "max_edits", "size", "pre_filter", "post_filter",
    "accuracy", "min_doc_freq", "max_term_freq", "max_inspections", "sort", "string_distance",
}  # fmt: skip
_SMOOTHING_KEYS = {
    "stupid_backoff": {"discount"},
    "laplace": {"alpha"},
    "linear_interpolation": {"trigram_lambda", "bigram_lambda", "unigram_lambda"},
}


def check_defaults_only(kind: str, options: Mapping[str, Any]) -> None:
    """Options accepted only at their default: candidates are compared by the internal distance and every
    candidate is inspected, so another ``string_distance`` or ``max_inspections`` would not be honoured."""
    distance = options.get("string_distance", "internal")
    if str(distance).lower() != "internal":
        raise IllegalArgument(f"[{kind}] [string_distance] [{distance}] is not supported by this server")
    inspections = options.get("max_inspections", 5)
    if _number("max_inspections", inspections) != 5:
        raise IllegalArgument(f"[{kind}] [max_inspections] [{inspections}] is not supported by this server")


def _f32(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ParsingError(f"[phrase] failed to parse field [{key}]")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ParsingError(f"[phrase] failed to parse field [{key}]") from None


# -- request --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generator:
    field: str
    suggest_mode: str = "missing"
    min_word_length: int = 4
    prefix_length: int = 1
    max_edits: int = 2
    size: int = 5
    accuracy: float = 0.5
    min_doc_freq: float = 0.0
    max_term_freq: float = 0.01
    pre_filter: str | None = None
    post_filter: str | None = None


@dataclass(frozen=True)
class Phrase:
    field: str
    size: int
    shard_size: int
    gram_size: int | None
    real_word_error_likelihood: float
    confidence: float
    max_errors: float
    separator: str
    analyzer: str | None
    token_limit: int
    force_unigrams: bool
    pre_tag: str | None
    post_tag: str | None
    collate_query: Any
    collate_params: dict[str, Any]
    collate_prune: bool
    smoothing: tuple[str, tuple[tuple[str, float], ...]]
    generators: tuple[Generator, ...]


def _generator(raw: Any) -> Generator:
    if not isinstance(raw, dict):
        raise ParsingError("[direct_generator] must be an object")
    for key in raw:
        if key not in _GENERATOR_KEYS:
            raise ParsingError(f"[direct_generator] unknown field [{key}]")
    if not isinstance(raw.get("field"), str):
        raise IllegalArgument("[direct_generator] expects exactly one field parameter, but found []")
    mode = str(raw.get("suggest_mode", "missing")).lower()
    if mode not in ("missing", "popular", "always"):
        raise IllegalArgument(f"Illegal suggest mode [{raw['suggest_mode']}]")
    edits = int(_number("max_edits", raw.get("max_edits", 2)))
    if not 1 <= edits <= 2:
        raise IllegalArgument("Illegal max_edits value: must be 1 or 2")
    if str(raw.get("sort", "score")).lower() != "score":
        raise IllegalArgument(f"[direct_generator] [sort] [{raw['sort']}] is not supported by this server")
    check_defaults_only("direct_generator", raw)
    size = int(_number("size", raw.get("size", 5)))
    if size <= 0:
        raise IllegalArgument("size must be positive")
    return Generator(
        field=raw["field"], suggest_mode=mode, size=size, max_edits=edits,
        min_word_length=int(_number("min_word_length", raw.get("min_word_length", 4))),
        prefix_length=int(_number("prefix_length", raw.get("prefix_length", 1))),
        accuracy=_number("accuracy", raw.get("accuracy", 0.5)),
        min_doc_freq=_number("min_doc_freq", raw.get("min_doc_freq", 0)),
        max_term_freq=_number("max_term_freq", raw.get("max_term_freq", 0.01)),
        pre_filter=str(raw["pre_filter"]) if raw.get("pre_filter") is not None else None,
        post_filter=str(raw["post_filter"]) if raw.get("post_filter") is not None else None,
    )  # fmt: skip


def _smoothing(raw: Any) -> tuple[str, tuple[tuple[str, float], ...]]:
    if raw is None:
        return ("stupid_backoff", (("discount", 0.4),))
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ParsingError("[smoothing] must be an object with exactly one model")
    ((kind, params),) = raw.items()
    if kind not in _SMOOTHING_KEYS:
        raise ParsingError(f"suggester[phrase] doesn't support [{kind}]")
    if not isinstance(params, dict):
        raise ParsingError(f"[{kind}] must be an object")
    for key in params:
        if key not in _SMOOTHING_KEYS[kind]:
            raise ParsingError(f"suggester[phrase][smoothing][{kind}] doesn't support field [{key}]")
    if kind == "stupid_backoff":
        return (kind, (("discount", _number("discount", params.get("discount", 0.4))),))
    if kind == "laplace":
        return (kind, (("alpha", _number("alpha", params.get("alpha", 0.5))),))
    lambdas = tuple((key, _number(key, params.get(key, 0.0))) for key in
                    ("trigram_lambda", "bigram_lambda", "unigram_lambda"))  # fmt: skip
    if abs(sum(v for _, v in lambdas) - 1.0) > 0.001:
        raise IllegalArgument("linear smoothing lambdas must sum to 1")
    return (kind, lambdas)


def check_phrase(options: dict[str, Any], size: int) -> Phrase:
    """The options of a ``phrase`` suggestion, validated (any unknown key is a 400 naming it)."""
    for key in options:
        if key not in _PHRASE_KEYS:
            raise ParsingError(f"suggester[phrase] doesn't support field [{key}]")
    rwel = _number("real_word_error_likelihood", options.get("real_word_error_likelihood", 0.95))
    if rwel <= 0.0:
        raise IllegalArgument("real_word_error_likelihood must be > 0.0")
    max_errors = _number("max_errors", options.get("max_errors", 1.0))
    if max_errors <= 0.0:
        raise IllegalArgument("max_error must be > 0.0")
    confidence = _number("confidence", options.get("confidence", 1.0))
    if confidence < 0.0:
        raise IllegalArgument("confidence must be >= 0.0")
    gram_size = int(_number("gram_size", options["gram_size"])) if "gram_size" in options else None
    if gram_size is not None and gram_size < 1:
        raise IllegalArgument("gram_size must be >= 1")
    token_limit = int(_number("token_limit", options.get("token_limit", 10)))
    if token_limit <= 0:
        raise IllegalArgument("token_limit must be >= 1")
    highlight = options.get("highlight") or {}
    if not isinstance(highlight, dict) or any(k not in ("pre_tag", "post_tag") for k in highlight):
        raise ParsingError("suggester[phrase][highlight] supports only [pre_tag] and [post_tag]")
    pre, post = highlight.get("pre_tag"), highlight.get("post_tag")
    if (pre is None) != (post is None):
        raise IllegalArgument("Pre and post tag must both be null or both not be null.")
    collate = options.get("collate")
    query: Any = None
    params: dict[str, Any] = {}
    prune = False
    if collate is not None:
        if not isinstance(collate, dict) or any(k not in ("query", "params", "prune") for k in collate):
            raise ParsingError("suggester[phrase][collate] supports only [query], [params] and [prune]")
        script = collate.get("query")
        if isinstance(script, dict) and "id" in script:
            raise IllegalArgument("stored scripts are not supported for [collate] by this server")
        if not isinstance(script, dict) or "source" not in script:
            raise IllegalArgument("[collate] requires a [query] script with a [source]")
        query = script["source"]
        params = dict(collate.get("params") or {})
        prune = str(collate.get("prune", False)).lower() == "true"
    raw_gens = options.get("direct_generator") or []
    if not isinstance(raw_gens, list):
        raw_gens = [raw_gens]
    shard_size = int(_number("shard_size", options.get("shard_size", max(size, 5))))
    separator = options.get("separator", " ")
    return Phrase(
        field=str(options["field"]), size=size, shard_size=max(shard_size, 1), gram_size=gram_size,
        real_word_error_likelihood=rwel, confidence=confidence, max_errors=max_errors, separator=str(separator),
        analyzer=str(options["analyzer"]) if options.get("analyzer") is not None else None,
        token_limit=token_limit, force_unigrams=str(options.get("force_unigrams", True)).lower() != "false",
        pre_tag=None if pre is None else str(pre), post_tag=None if post is None else str(post),
        collate_query=query, collate_params=params, collate_prune=prune, smoothing=_smoothing(options.get("smoothing")),
        generators=tuple(_generator(g) for g in raw_gens),
    )  # fmt: skip


# -- statistics -----------------------------------------------------------------------------------------


@dataclass
class TermStats:
    """One field's term counts on a shard (what Lucene's ``Terms`` gives the suggester)."""

    ttf: Counter[str]
    df: Counter[str]
    max_doc: int
    segments: int = 1

    @property
    def sum_ttf(self) -> int:
        return sum(self.ttf.values())


def _values_at(source: Any, path: str) -> list[Any]:
    from native.suggest import _values_at as values_at  # one implementation of dotted _source paths

    return values_at(source, path)


def _field_stats(sources: list[Any], compiled: CompiledMapping, field: str, segments: int) -> TermStats | None:
    leaf = compiled.mapping.leaf(field)
    if leaf is None:
        return None
    ttf: Counter[str] = Counter()
    df: Counter[str] = Counter()
    name = str(leaf.params.get("analyzer", "standard"))
    for source in sources:
        seen: set[str] = set()
        for value in _values_at(source, leaf.source_path or leaf.path):
            for item in value if isinstance(value, list) else [value]:
                if item is None or isinstance(item, dict | list):
                    continue
                text = item if isinstance(item, str) else orjson.dumps(item).decode()
                tokens = (compiled.analysis.tokens(name, text) if leaf.type in ("text", "match_only_text")
                          else [(text, True)])  # fmt: skip
                for token, _ in tokens:
                    ttf[token] += 1
                    seen.add(token)
        df.update(seen)
    return TermStats(ttf, df, len(sources), segments)


# -- candidates -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    term: str
    ttf: int  # in the generator's field
    distance: float  # the channel's string distance (1.0: the user's own word)
    score: float
    user_input: bool


def _edits(a: str, b: str) -> int:
    from native.suggest import _edits as edits

    return edits(a, b)


def _candidate(term: str, stats: TermStats, distance: float, user_input: bool) -> Candidate:
    ttf = stats.ttf.get(term, 0)
    return Candidate(term, ttf, distance, distance * ((ttf + 1) / (stats.sum_ttf + 1)), user_input)


def _similar(term: str, gen: Generator, stats: TermStats) -> list[tuple[str, float]]:
    """Lucene ``DirectSpellChecker.suggestSimilar``: (term, string distance), best first."""
    if len(term) < gen.min_word_length:
        return []
    own = stats.df.get(term, 0)
    if gen.suggest_mode == "missing" and own > 0:
        return []
    if gen.max_term_freq >= 1 and own > gen.max_term_freq:
        return []
    if gen.max_term_freq < 1 and own > math.ceil(gen.max_term_freq * stats.max_doc):
        return []
    threshold = gen.min_doc_freq
    if gen.suggest_mode != "always" and own > 0:
        plateau = int(threshold) if threshold >= 1 else int(stats.max_doc * threshold)
        ratio = math.log10(own - plateau) / math.log10(5) if own > plateau else float("nan")
        computed = 0 if math.isnan(ratio) else max(0, math.floor(own * ratio + 1 + 0.5))  # Java's Math.round
        threshold = max(threshold, computed)
    floor = own if gen.suggest_mode == "popular" else 0
    if threshold >= 1:
        floor = max(floor, int(threshold))
    elif threshold > 0:
        floor = max(floor, int(threshold * stats.max_doc) - 1)
    keep = term[: max(gen.prefix_length, gen.max_edits - 1)]  # Lucene's FuzzyTermsEnum prefix
    found: list[tuple[float, int, str]] = []
    for cand, freq in stats.df.items():
        if cand == term or not cand.startswith(keep) or freq <= floor:
            continue
        if abs(len(cand) - len(term)) > gen.max_edits:
            continue
        edits = _edits(cand, term)
        if edits > gen.max_edits:
            continue
        score = _f32(1.0 - _f32(edits / min(len(cand), len(term))))  # float arithmetic, as Lucene's boost
        if score >= gen.accuracy:
            found.append((score, freq, cand))
    found.sort(key=lambda f: (-f[0], -f[1], f[2]))
    return [(cand, score) for score, _, cand in found[: gen.size]]


class _Generators:
    """``MultiCandidateGeneratorWrapper``: every generator's candidates for a position, best ``limit``."""

    def __init__(self, gens: list[tuple[Generator, TermStats]], compiled: CompiledMapping, rwel: float, limit: int):
        self.gens, self.compiled, self.rwel, self.limit = gens, compiled, rwel, limit

    def _analyzed(self, name: str | None, term: str) -> list[str]:
        if name is None:
            return [term]
        return [t for t, _ in self.compiled.analysis.tokens(name, term)]

    def original(self, term: str) -> Candidate:
        gen, stats = self.gens[0]
        filtered = self._analyzed(gen.pre_filter, term)
        looked = filtered[-1] if filtered else term
        ttf = stats.ttf.get(looked, 0)
        return Candidate(term, ttf, 1.0, 1.0 * ((ttf + 1) / (stats.sum_ttf + 1)), True)

    def candidates(self, original: Candidate) -> list[Candidate]:
        have: dict[str, Candidate] = {}
        for gen, stats in self.gens:
            filtered = self._analyzed(gen.pre_filter, original.term)
            term = filtered[-1] if filtered else original.term
            fresh: list[Candidate] = []
            for word, distance in _similar(term, gen, stats):
                made = _candidate(word, stats, distance, False)
                if gen.post_filter is None:
                    fresh.append(made)
                    continue
                for token in self._analyzed(gen.post_filter, word):
                    if token == word:
                        fresh.append(made)
                    else:
                        ttf = made.ttf
                        fresh.append(Candidate(token, ttf, self.rwel, made.score, False))
            unique: dict[str, Candidate] = {}
            for cand in fresh:
                unique.setdefault(cand.term, cand)
            have.update(unique)  # new candidates replace earlier ones of the same term
        return sorted(have.values(), key=lambda c: (-c.score, _rev(c.term)))[: self.limit]


def _rev(term: str) -> tuple[int, ...]:
    """Sort key putting later (zzz) terms first, as Lucene's candidate order does on equal scores."""
    return (*(-b for b in term.encode()), 1)


# -- language model -------------------------------------------------------------------------------------


class _WordScorer:
    def __init__(
        self, stats: TermStats, rwel: float, separator: str, smoothing: tuple[str, tuple[tuple[str, float], ...]]
    ) -> None:
        self.freq = stats.ttf
        self.vocabulary = stats.sum_ttf if stats.sum_ttf > 0 else stats.max_doc
        # Lucene's ``MultiTerms.size()`` is -1: on a shard of several segments ES scores with -1 distinct terms
        num_terms = len(stats.ttf) if stats.segments <= 1 else -1
        self.num_terms = num_terms if self.vocabulary + num_terms > 1 else 0
        self.rwel, self.sep = rwel, separator
        self.kind = smoothing[0]
        self.params = dict(smoothing[1])
        if self.kind == "linear_interpolation":
            total = sum(self.params.values())
            self.params = {k: v / total for k, v in self.params.items()}

    def _f(self, *words: str) -> int:
        return self.freq.get(self.sep.join(words), 0)

    def score(self, path: list[Candidate], at: int, gram_size: int) -> float:
        cand = path[at]
        channel = self.rwel if cand.distance == 1.0 else cand.distance
        if at == 0 or gram_size == 1:
            lm = self.unigram(cand)
        elif at == 1 or gram_size == 2:
            lm = self.bigram(cand, path[at - 1])
        else:
            lm = self.trigram(cand, path[at - 1], path[at - 2])
        value = channel * lm
        return math.log10(value) if value > 0 else float("-inf")

    def unigram(self, w: Candidate) -> float:
        if self.kind == "laplace":
            alpha = self.params["alpha"]
            return (alpha + self._f(w.term)) / (self.vocabulary + alpha * self.num_terms)
        return (1.0 + self._f(w.term)) / (self.vocabulary + self.num_terms)

    def bigram(self, w: Candidate, w1: Candidate) -> float:
        count = self._f(w1.term, w.term)
        if self.kind == "laplace":
            alpha = self.params["alpha"]
            return (alpha + count) / (w1.ttf + alpha * self.num_terms)
        if self.kind == "linear_interpolation":
            uni = self.params["unigram_lambda"] * self.unigram(w)
            if count < 1:
                return uni
            return self.params["bigram_lambda"] * (count / (0.5 + w1.ttf)) + uni
        if count < 1:
            return self.params["discount"] * self.unigram(w)
        return count / (w1.ttf + 0.00000000001)

    def trigram(self, w: Candidate, w1: Candidate, w2: Candidate) -> float:
        if self.kind == "laplace":
            alpha = self.params["alpha"]
            return (alpha + self._f(w2.term, w1.term, w.term)) / (self._f(w1.term, w.term) + alpha * self.num_terms)
        if self.kind == "linear_interpolation":
            count = self._f(w2.term, w1.term, w.term)
            if count < 1:
                return self.bigram(w, w1)
            return self.params["trigram_lambda"] * (count / (1.0 + self._f(w1.term, w.term))) + self.bigram(w, w1)
        bigram = self._f(w1.term, w.term)
        if bigram < 1:
            return self.params["discount"] * self.unigram(w)
        trigram = self._f(w2.term, w1.term, w.term)
        if trigram < 1:
            return self.params["discount"] * (bigram / (w1.ttf + 0.00000000001))
        return trigram / (bigram + 0.00000000001)


def _best(
    sets: list[tuple[Candidate, list[Candidate]]], scorer: _WordScorer, gram_size: int, max_errors: float,
    cutoff: float, limit: int,
) -> list[tuple[float, list[Candidate]]]:  # fmt: skip
    """``CandidateScorer.findBestCandidates``: every path with at most the allowed corrections, top ``limit``."""
    allowed = int(max_errors) if max_errors >= 1.0 else math.floor(max_errors * len(sets) + 0.5)
    allowed = max(1, allowed)
    found: list[tuple[float, list[Candidate]]] = []
    path: list[Candidate] = [sets[0][0]] * len(sets)

    def walk(ord_: int, left: int, total: float) -> None:
        original, candidates = sets[ord_]
        choices = [(original, left)] + ([(c, left - 1) for c in candidates] if left > 0 else [])
        for choice, remaining in choices:
            path[ord_] = choice
            score = total + scorer.score(path, ord_, gram_size)
            if ord_ == len(sets) - 1:
                final = math.exp(score)
                if final > cutoff:
                    found.append((final, list(path)))
            else:
                walk(ord_ + 1, remaining, score)

    walk(0, allowed, 0.0)
    found.sort(key=lambda f: (-f[0], [c.term.encode() for c in f[1]], len(f[1])))
    return found[:limit]


def _joined(path: list[Candidate], pre: str | None, post: str | None) -> str:
    parts = []
    for i, cand in enumerate(path):
        if pre is None or cand.user_input:
            parts.append(cand.term)
            continue
        opened = pre if i == 0 or path[i - 1].user_input else ""
        closed = post if i == len(path) - 1 or path[i + 1].user_input else ""
        parts.append(f"{opened}{cand.term}{closed}")
    return " ".join(parts)


# -- collate --------------------------------------------------------------------------------------------

_MUSTACHE = re.compile(r"\{\{\{\s*([\w.]+)\s*\}\}\}|\{\{\s*([\w.]+)\s*\}\}")


def render_template(template: Any, variables: dict[str, Any]) -> Any:
    """A query template with ``{{name}}`` (JSON-escaped) and ``{{{name}}}`` substituted, parsed as JSON."""
    text = template if isinstance(template, str) else orjson.dumps(template).decode()

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        raw = variables.get(name, "")
        rendered = raw if isinstance(raw, str) else orjson.dumps(raw).decode()
        return rendered if match.group(1) else orjson.dumps(rendered).decode()[1:-1]

    try:
        return orjson.loads(_MUSTACHE.sub(value, text))
    except orjson.JSONDecodeError:
        raise ParsingError("[collate] query template does not render to a JSON query") from None


def _collate_check(phrase: Phrase, searcher: tantivy.Searcher, compiled: CompiledMapping) -> Callable[[str], bool]:
    from native.query import compile_query, parse_query
    from native.search import count_matches

    def matches(suggestion: str) -> bool:
        body = render_template(phrase.collate_query, {**phrase.collate_params, "suggestion": suggestion})
        if isinstance(body, dict) and set(body) == {"query"}:
            body = body["query"]
        query = compile_query(parse_query(body), compiled, now_millis=int(time.time() * 1000), searcher=searcher)
        return count_matches(searcher, query) > 0

    return matches


# -- shard and root -------------------------------------------------------------------------------------


def _all_sources(searcher: tantivy.Searcher) -> list[Any]:
    hits = searcher.search(tantivy.Query.all_query(), max(int(searcher.num_docs), 1), count=False).hits
    return [orjson.loads(bytes(searcher.doc(addr).to_dict()[SOURCE_FIELD][0])) for _, addr in hits]


def _analyzer_name(compiled: CompiledMapping, field: str) -> str | None:
    leaf = compiled.mapping.leaf(field)
    if leaf is None:
        return None
    if leaf.type not in ("text", "match_only_text"):
        return "keyword"  # the whole text is one term, as a keyword field's value is
    return str(leaf.params.get("search_analyzer", leaf.params.get("analyzer", "standard")))


def shard_phrase(text: str, phrase: Phrase, searcher: tantivy.Searcher, compiled: CompiledMapping) -> dict[str, Any]:
    """This shard's options for one phrase suggestion and its cutoff score."""
    if compiled.mapping.leaf(phrase.field) is None:
        raise IllegalArgument(f"no mapping found for field [{phrase.field}]")
    explicit = phrase.analyzer is not None
    analyzer = phrase.analyzer if explicit else _analyzer_name(compiled, phrase.field)
    assert analyzer is not None
    compiled.analysis.analyzer(analyzer)  # an unknown analyzer is a 400
    shingle = compiled.analysis.shingles.get(analyzer)
    gram_size = phrase.gram_size
    if gram_size is None:
        gram_size = shingle.max_size if shingle is not None else 1
        if shingle is not None and not explicit and not shingle.output_unigrams:
            raise IllegalArgument(f"The default analyzer for field: [{phrase.field}] doesn't emit unigrams. "
                                  "If this is intentional try to set the analyzer explicitly")  # fmt: skip
    generators = list(phrase.generators)
    if not generators:
        if shingle is not None and not shingle.output_unigrams and phrase.force_unigrams:
            raise IllegalArgument(f"The default candidate generator for phrase suggest can't operate on field: "
                                  f"[{phrase.field}] since it doesn't emit unigrams. If this is intentional try to "
                                  "set the candidate generator field explicitly")  # fmt: skip
        generators = [Generator(field=phrase.field)]
    for gen in generators:
        for name in (gen.pre_filter, gen.post_filter):
            if name is not None:
                compiled.analysis.analyzer(name)
    sources = _all_sources(searcher)
    cache: dict[str, TermStats | None] = {}

    def stats_of(field: str) -> TermStats | None:
        if field not in cache:
            cache[field] = _field_stats(sources, compiled, field, int(searcher.num_segments))
        return cache[field]

    usable = [(g, s) for g in generators if (s := stats_of(g.field)) is not None and s.ttf]
    suggest_stats = stats_of(phrase.field)
    if not usable or suggest_stats is None or not suggest_stats.ttf:
        return {"cutoff": MIN_DOUBLE, "options": []}
    wrapper = _Generators(usable, compiled, phrase.real_word_error_likelihood, phrase.shard_size)
    tokens = compiled.analysis.tokens(analyzer, text)
    words = [t for t, unigram in tokens if unigram or not phrase.force_unigrams]
    if tokens and not words:
        raise IllegalArgument("At least one unigram is required but all tokens were ngrams")
    if not words or len(words) >= phrase.token_limit:
        return {"cutoff": MIN_DOUBLE, "options": []}
    originals = [wrapper.original(w) for w in words]
    sets = [(original, wrapper.candidates(original)) for original in originals]
    scorer = _WordScorer(suggest_stats, phrase.real_word_error_likelihood, phrase.separator, phrase.smoothing)
    cutoff = MIN_DOUBLE
    if phrase.confidence > 0.0:
        cutoff = math.exp(sum(scorer.score(originals, i, gram_size) for i in range(len(originals))))
        cutoff *= phrase.confidence
    best = _best(sets, scorer, gram_size, phrase.max_errors, cutoff, phrase.shard_size)
    collate = _collate_check(phrase, searcher, compiled) if phrase.collate_query is not None else None
    options = []
    for score, path in best:
        option: dict[str, Any] = {"text": _joined(path, None, None)}
        if phrase.pre_tag is not None:
            option["highlighted"] = _joined(path, phrase.pre_tag, phrase.post_tag)
        option["score"] = _f32(score)
        if collate is not None:
            matched = collate(option["text"])
            if not matched and not phrase.collate_prune:
                continue
            if phrase.collate_prune:
                option["collate_match"] = matched
        if option["score"] > cutoff:
            options.append(option)
    return {"cutoff": cutoff, "options": options}


def merge_phrase(text: str, phrase: Phrase, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The response entry of a phrase suggestion from its shards' answers."""
    cutoff = max((float(p["cutoff"]) for p in parts), default=MIN_DOUBLE)
    merged: dict[str, dict[str, Any]] = {}
    for part in parts:
        for option in part["options"]:
            have = merged.get(option["text"])
            if have is None:
                merged[option["text"]] = dict(option)
                continue
            if option["score"] > have["score"]:
                have["score"] = option["score"]
                if "highlighted" in option:
                    have["highlighted"] = option["highlighted"]
            if "collate_match" in option:
                have["collate_match"] = bool(have.get("collate_match")) or bool(option["collate_match"])
    options = sorted((o for o in merged.values() if o["score"] > cutoff), key=lambda o: (-o["score"], o["text"]))
    return [{"text": text, "offset": 0, "length": len(text), "options": options[: phrase.size]}]
