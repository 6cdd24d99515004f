"""ES analysis settings → tantivy text analyzers.

An index's ``settings.analysis`` (analyzers, tokenizers, filters, normalizers) is compiled once into an
``Analysis``: named tantivy ``TextAnalyzer`` objects registered on every tantivy index of the shard,
plus the same objects used in Python to analyze query text, so index and query tokens agree exactly.

Tantivy names: analyzers are registered as ``a:<name>``, normalizers as ``n:<name>``.

Mapping from ES building blocks (what tantivy can express):
- tokenizers: ``standard`` and ``letter`` → tantivy ``simple`` (split on non-alphanumerics),
  ``whitespace`` → ``whitespace``, ``keyword`` → ``raw``, ``pattern`` → ``regex`` over the tokens
  (ES splits *on* the pattern; we invert the common patterns ``\\W+``, ``\\s+`` and single separators).
- filters: ``lowercase``, ``asciifolding``, ``stop`` (``_english_`` or a list), ``stemmer``
  (``language``/``name``), ``porter_stem``, ``kstem``, ``length``/``truncate``-like limits are ignored.
- ``shingle`` (``min_shingle_size``, ``max_shingle_size``, ``output_unigrams``,
  ``output_unigrams_if_no_shingles``, ``token_separator``; ``index.max_shingle_diff`` checked): tantivy has
  no shingle filter, so shingles exist in this analysis layer only (``Analysis.tokens``, used by the phrase
  suggester to count word n-grams from ``_source``, and ``_analyze``); the tantivy index of such a field
  holds the unigrams, so match queries on it score unigrams only. Positions removed by a stop filter are
  not filled with ``filler_token``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tantivy

from native.errors import IllegalArgument, MapperParsingError

_STEMMER_LANGUAGES = {
    "english": "english",
    "light_english": "english",
    "minimal_english": "english",
    "porter": "english",
    "porter2": "english",
    "kstem": "english",
    "possessive_english": "english",
}
_STOP_LANGUAGES = {
    "_english_": "english",
    "_french_": "french",
    "_german_": "german",
    "_spanish_": "spanish",
    "_italian_": "italian",
    "_dutch_": "dutch",
    "_portuguese_": "portuguese",
    "_russian_": "russian",
    "_swedish_": "swedish",
    "_danish_": "danish",
    "_finnish_": "finnish",
    "_norwegian_": "norwegian",
    "_hungarian_": "hungarian",
}
_LANGUAGE_STEMMERS = {
    "arabic", "danish", "dutch", "english", "finnish", "french", "german", "greek", "hungarian",
    "italian", "norwegian", "portuguese", "romanian", "russian", "spanish", "swedish", "tamil", "turkish",
}  # fmt: skip

BUILTIN_ANALYZERS = ("standard", "simple", "whitespace", "keyword", "stop", "english", "default")


def _tokenizer(spec: Mapping[str, Any] | str) -> tantivy.Tokenizer:
    kind = spec if isinstance(spec, str) else str(spec.get("type", ""))
    if kind in ("standard", "letter", "lowercase", "classic", "uax_url_email"):
        return tantivy.Tokenizer.simple()
    if kind == "whitespace":
        return tantivy.Tokenizer.whitespace()
    if kind == "keyword":
        return tantivy.Tokenizer.raw()
    if kind == "pattern":
        pattern = "\\W+" if isinstance(spec, str) else str(spec.get("pattern", "\\W+"))
        return tantivy.Tokenizer.regex(_invert_split_pattern(pattern))
    raise IllegalArgument(f"failed to find tokenizer under name [{kind}]")


def _invert_split_pattern(pattern: str) -> str:
    """ES's pattern tokenizer splits on ``pattern``; tantivy's emits matches. Invert the usual ones."""
    inverses = {"\\W+": "\\w+", "\\W": "\\w+", "\\s+": "\\S+", "\\s": "\\S+", " ": "[^ ]+"}
    if pattern in inverses:
        return inverses[pattern]
    m = re.fullmatch(r"\[([^\]^]+)\]\+?", pattern)
    if m:
        return f"[^{m.group(1)}]+"
    if len(pattern) == 1 or (len(pattern) == 2 and pattern[0] == "\\"):
        return f"[^{pattern}]+"
    raise IllegalArgument(f"pattern tokenizer pattern [{pattern}] is not supported")


@dataclass(frozen=True)
class Shingle:
    """An analyzer's ``shingle`` token filter, applied after its tantivy chain."""

    min_size: int = 2
    max_size: int = 2
    output_unigrams: bool = True
    separator: str = " "  # ES's ``token_separator``
    unigrams_if_no_shingles: bool = False

    def apply(self, tokens: list[str]) -> list[tuple[str, bool]]:
        """(token, is_unigram) in Lucene's order: at each position the unigram, then the longer shingles."""
        out: list[tuple[str, bool]] = []
        for i, token in enumerate(tokens):
            if self.output_unigrams:
                out.append((token, True))
            for size in range(self.min_size, self.max_size + 1):
                if i + size <= len(tokens):
                    out.append((self.separator.join(tokens[i : i + size]), False))
        if not out and self.unigrams_if_no_shingles:
            out = [(token, True) for token in tokens]
        return out


def _shingle(spec: Mapping[str, Any], max_diff: int) -> Shingle:
    def size(key: str, default: int) -> int:
        try:
            return int(spec.get(key, default))
        except (TypeError, ValueError):
            raise IllegalArgument(f"Failed to parse value [{spec.get(key)}] for setting [{key}]") from None

    low, high = size("min_shingle_size", 2), size("max_shingle_size", 2)
    unigrams = str(spec.get("output_unigrams", True)).lower() != "false"
    if low < 2:
        raise IllegalArgument(f"[min_shingle_size] must be greater than 1, got [{low}]")  # fmt: skip
    if high < low:
        raise IllegalArgument("[max_shingle_size] must be greater than or equal to [min_shingle_size]")
    diff = high - low + (1 if unigrams else 0)
    if diff > max_diff:
        raise IllegalArgument(
            "In Shingle TokenFilter the difference between max_shingle_size and min_shingle_size (and +1 if "
            f"outputting unigrams) must be less than or equal to: [{max_diff}] but was [{diff}]. This limit can "
            "be set by changing the [index.max_shingle_diff] index level setting."
        )
    if_none = str(spec.get("output_unigrams_if_no_shingles", False)).lower() == "true"
    return Shingle(low, high, unigrams, str(spec.get("token_separator", " ")), if_none)


def _filter(name: str, custom: Mapping[str, Mapping[str, Any]]) -> list[tantivy.Filter]:
    spec: Mapping[str, Any] = custom.get(name, {"type": name})
    kind = str(spec.get("type", name))
    if kind == "lowercase":
        return [tantivy.Filter.lowercase()]
    if kind == "asciifolding":
        return [tantivy.Filter.ascii_fold()]
    if kind == "stop":
        words = spec.get("stopwords", "_english_")
        if isinstance(words, str):
            if words == "_none_":
                return []
            lang = _STOP_LANGUAGES.get(words)
            if lang is None:
                raise IllegalArgument(f"unknown stopwords list [{words}]")
            return [tantivy.Filter.stopword(lang)]
        return [tantivy.Filter.custom_stopword([str(w) for w in words])]
    if kind in ("stemmer", "snowball"):
        language = str(spec.get("language", spec.get("name", "english"))).lower()
        language = _STEMMER_LANGUAGES.get(language, language)
        if language not in _LANGUAGE_STEMMERS:
            raise IllegalArgument(f"unknown stemmer language [{language}]")
        return [tantivy.Filter.stemmer(language)]
    if kind in ("porter_stem", "kstem"):
        return [tantivy.Filter.stemmer("english")]
    if kind in ("trim", "unique", "remove_duplicates"):
        return []  # no-ops for the tokenizers we build on
    raise IllegalArgument(f"failed to find filter under name [{name}]")


def _names(value: Any) -> list[Any]:
    """An analyzer's ``filter`` list; a single name may be given as a string (``"filter": "lowercase"``)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _build(tokenizer: tantivy.Tokenizer, filters: list[tantivy.Filter]) -> tantivy.TextAnalyzer:
    builder = tantivy.TextAnalyzerBuilder(tokenizer)
    for f in filters:
        builder = builder.filter(f)
    return builder.build()


def _builtin(name: str) -> tantivy.TextAnalyzer | None:
    lower = tantivy.Filter.lowercase()
    if name in ("standard", "default", "simple"):
        return _build(tantivy.Tokenizer.simple(), [lower])
    if name == "whitespace":
        return _build(tantivy.Tokenizer.whitespace(), [])
    if name == "keyword":
        return _build(tantivy.Tokenizer.raw(), [])
    if name == "stop":
        return _build(tantivy.Tokenizer.simple(), [lower, tantivy.Filter.stopword("english")])
    if name == "english":
        stop = tantivy.Filter.stopword("english")
        return _build(tantivy.Tokenizer.simple(), [lower, stop, tantivy.Filter.stemmer("english")])
    if name in _LANGUAGE_STEMMERS:
        return _build(tantivy.Tokenizer.simple(), [lower, tantivy.Filter.stemmer(name)])
    return None


def _section(analysis: Mapping[str, Any], key: str, kinds: tuple[type, ...]) -> dict[str, Any]:
    """``index.analysis.<key>``: an object of named definitions, each one of ``kinds`` (else a 400)."""
    section = analysis.get(key) or {}
    if not isinstance(section, dict):
        raise IllegalArgument(f"Failed to load settings: [index.analysis.{key}] must be an object")
    for name, spec in section.items():
        if not isinstance(spec, kinds):
            raise IllegalArgument(f"Failed to load settings: [index.analysis.{key}.{name}] must be an object")
    return section


@dataclass
class Analysis:
    """Compiled analyzers and normalizers of one index."""

    analyzers: dict[str, tantivy.TextAnalyzer] = field(default_factory=dict)
    normalizers: dict[str, tantivy.TextAnalyzer] = field(default_factory=dict)
    shingles: dict[str, Shingle] = field(default_factory=dict)  # analyzer name → its shingle filter
    # Index-level mapping defaults (``index.mapping.ignore_malformed`` / ``index.mapping.coerce``) that
    # ``native.schema.CompiledMapping`` applies to fields which do not set the parameter themselves.
    ignore_malformed: bool = False
    coerce: bool = True
    nested_objects_limit: int = 10_000  # index.mapping.nested_objects.limit (native.nested)
    ignore_above: int | None = None  # ``index.mapping.ignore_above``: keyword, wildcard and flattened fields

    @classmethod
    def from_settings(
        cls, analysis: Mapping[str, Any] | None, *, index_settings: Mapping[str, Any] | None = None
    ) -> Analysis:
        """Compile ``index.analysis`` settings; ``index_settings`` (flat ``index.*`` keys) adds the
        index-level mapping defaults."""
        analysis = analysis or {}
        if not isinstance(analysis, dict):
            raise IllegalArgument("Failed to load settings: [index.analysis] must be an object")
        tokenizers: Mapping[str, Any] = _section(analysis, "tokenizer", (dict, str))
        filters: Mapping[str, Mapping[str, Any]] = _section(analysis, "filter", (dict,))
        out = cls()
        for name in BUILTIN_ANALYZERS:
            built = _builtin(name)
            assert built is not None
            out.analyzers[name] = built
        for name, spec in _section(analysis, "analyzer", (dict,)).items():
            kind = spec.get("type", "custom")
            if kind != "custom":
                built = _builtin(str(kind))
                if built is None:
                    raise IllegalArgument(f"Unknown analyzer type [{kind}] for [{name}]")
                if kind in ("standard", "stop") and "stopwords" in spec:
                    extra = _filter("stop", {"stop": {"type": "stop", "stopwords": spec["stopwords"]}})
                    built = _build(tantivy.Tokenizer.simple(), [tantivy.Filter.lowercase(), *extra])
                out.analyzers[name] = built
                continue
            tok_name = spec.get("tokenizer")
            if not isinstance(tok_name, str | None) or not isinstance(spec.get("filter", []), list | str | None):
                raise IllegalArgument(f"Failed to load settings: analyzer [{name}] is malformed")
            if tok_name is None:
                raise MapperParsingError(f"analyzer [{name}] must specify either an analyzer type, or a tokenizer")
            tok_spec = tokenizers.get(tok_name, tok_name)
            chain: list[tantivy.Filter] = []
            for fname in _names(spec.get("filter")):
                if str(filters.get(str(fname), {"type": fname}).get("type", fname)) == "shingle":
                    max_diff = int((index_settings or {}).get("index.max_shingle_diff", 3))
                    out.shingles[name] = _shingle(filters.get(str(fname), {}), max_diff)
                    continue
                chain.extend(_filter(str(fname), filters))
            out.analyzers[name] = _build(_tokenizer(tok_spec), chain)
        for name, spec in _section(analysis, "normalizer", (dict,)).items():
            if not isinstance(spec.get("filter", []), list | str | None):
                raise IllegalArgument(f"Failed to load settings: normalizer [{name}] is malformed")
            chain = []
            for fname in _names(spec.get("filter")):
                chain.extend(_filter(str(fname), filters))
            out.normalizers[name] = _build(tantivy.Tokenizer.raw(), chain)
        out.normalizers.setdefault("lowercase", _build(tantivy.Tokenizer.raw(), [tantivy.Filter.lowercase()]))
        flat = index_settings or {}
        out.ignore_malformed = str(flat.get("index.mapping.ignore_malformed", "false")).lower() == "true"
        out.coerce = str(flat.get("index.mapping.coerce", "true")).lower() != "false"
        out.nested_objects_limit = int(flat.get("index.mapping.nested_objects.limit", 10_000))
        if flat.get("index.mapping.ignore_above") is not None:
            out.ignore_above = int(str(flat["index.mapping.ignore_above"]))
        return out

    def analyzer(self, name: str) -> tantivy.TextAnalyzer:
        try:
            return self.analyzers[name]
        except KeyError:
            raise MapperParsingError(f"analyzer [{name}] has not been configured in mappings") from None

    def tokens(self, name: str, text: str) -> list[tuple[str, bool]]:
        """``text`` through analyzer ``name`` including its shingle filter: (token, is_unigram) pairs."""
        words = list(self.analyzer(name).analyze(text))
        shingle = self.shingles.get(name)
        return shingle.apply(words) if shingle is not None else [(w, True) for w in words]

    def normalizer(self, name: str) -> tantivy.TextAnalyzer:
        try:
            return self.normalizers[name]
        except KeyError:
            raise MapperParsingError(f"normalizer [{name}] not found for field") from None

    def register(self, index: tantivy.Index) -> None:
        """Register every analyzer and normalizer on a tantivy index (they are not persisted)."""
        for name, analyzer in self.analyzers.items():
            index.register_tokenizer(f"a:{name}", analyzer)
        for name, normalizer in self.normalizers.items():
            index.register_tokenizer(f"n:{name}", normalizer)
            index.register_fast_field_tokenizer(f"n:{name}", normalizer)
