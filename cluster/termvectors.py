"""Term vectors computed on the fly: a document's ``_source`` analyzed with its index's analyzers.

Shards store no term vectors; every request re-analyzes the fields (text: the field's index analyzer or
``per_field_analyzer``; keyword: the normalizer, or the whole value) the way indexing did, so the terms
are the ones in the index. Positions follow Lucene: a multi-valued field continues after the previous
value with ``position_increment_gap`` (100) and offsets continue after its length plus 1.

Which fields: without ``fields``, those whose mapping sets ``term_vector`` (what ES has stored; the stored
flavour decides whether positions and offsets are shown); for artificial documents, every text or keyword
field of the document; with ``fields``, the matching text/keyword fields, generated with the request's
flags.

Statistics: ``doc_freq`` is tantivy's (``Searcher.doc_freq``, which like Lucene counts deleted documents
not yet merged away). ``ttf``, ``sum_doc_freq`` and ``sum_ttf`` are not exposed by tantivy: they are
computed exactly by re-analyzing the shard's live documents when it holds at most ``STATS_SCAN_LIMIT`` of
them; above that ``ttf`` is left out and the two sums are ``-1`` (ES's "not available"), while
``doc_count`` comes from the ``_field_names`` index.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
import tantivy

from native.errors import IllegalArgument
from native.fields import FIELD_NAMES_FIELD, SOURCE_FIELD
from native.mapping import Leaf
from native.schema import CompiledMapping

STATS_SCAN_LIMIT = 10_000
_TEXT = ("text", "match_only_text", "search_as_you_type")
_KEYWORD = ("keyword", "constant_keyword", "wildcard", "version")
_STORED_FLAGS = {  # ES term_vector option → (positions, offsets)
    "yes": (False, False),
    "with_positions": (True, False),
    "with_offsets": (False, True),
    "with_positions_offsets": (True, True),
    "with_positions_payloads": (True, False),
    "with_positions_offsets_payloads": (True, True),
}


@dataclass(frozen=True)
class TermVectorOptions:
    fields: tuple[str, ...] | None = None
    positions: bool = True
    offsets: bool = True
    payloads: bool = True
    term_statistics: bool = False
    field_statistics: bool = True
    per_field_analyzer: dict[str, str] = field(default_factory=dict)
    filter: dict[str, Any] | None = None

    def to_json(self) -> bytes:
        """The options as the ``_termvectors`` leaf call carries them (``TermvectorsRequest.options_json``)."""
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes) -> TermVectorOptions:
        if not data:
            return cls()
        values = orjson.loads(data)
        fields = values.pop("fields", None)
        return cls(fields=None if fields is None else tuple(fields), **values)


@dataclass
class Token:
    term: str
    position: int
    start: int
    end: int


def source_values(source: Any, path: str) -> list[Any]:
    """The leaf values at a dotted ``path`` in document order (objects, arrays and dotted keys walked)."""
    out: list[Any] = []

    def walk(node: Any, rest: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, rest)
        elif not rest:
            if not isinstance(node, dict):
                out.append(node)
        elif isinstance(node, dict):
            for key, child in node.items():
                if rest == key:
                    walk(child, "")
                elif rest.startswith(key + "."):
                    walk(child, rest[len(key) + 1 :])

    walk(source, path)
    return out


def _leaves(compiled: CompiledMapping) -> dict[str, Leaf]:
    return {leaf.path: leaf for leaf in compiled.leaves if leaf.type in _TEXT or leaf.type in _KEYWORD}


def analyze_values(
    compiled: CompiledMapping, leaf: Leaf, values: Iterable[Any], analyzer: str | None = None
) -> list[Token]:
    """The tokens ``values`` of ``leaf`` produce at index time (or with ``analyzer`` instead)."""
    tokens: list[Token] = []
    position, offset = -1, 0
    gap = int(leaf.params.get("position_increment_gap", 100))
    first = True
    for value in values:
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if leaf.type in _KEYWORD and analyzer is None:
            ignore_above = leaf.params.get("ignore_above")
            if ignore_above is not None and len(text) > int(ignore_above):
                continue
            normalizer = leaf.params.get("normalizer")
            term = compiled.analysis.normalizer(str(normalizer)).analyze(text)[0] if normalizer else text
            produced = [Token(term, 0, 0, len(text))]
        else:
            name = analyzer or str(leaf.params.get("analyzer", "standard"))
            produced = [
                Token(t.text, t.position, t.char_offset_from, t.char_offset_to)
                for t in compiled.analysis.analyzer(name).pre_tokenize(text).tokens
            ]
        if not first:
            position += gap
        base = position + 1
        for tok in produced:
            tokens.append(Token(tok.term, base + tok.position, offset + tok.start, offset + tok.end))
        if produced:
            position = tokens[-1].position
        offset += len(text) + 1
        first = False
    return tokens


def select_fields(
    compiled: CompiledMapping, source: dict[str, Any], opts: TermVectorOptions, *, artificial: bool
) -> list[tuple[Leaf, bool, bool]]:
    """(leaf, show positions, show offsets) for every field the response covers."""
    leaves = _leaves(compiled)
    out: list[tuple[Leaf, bool, bool]] = []
    if opts.fields is not None:
        seen: set[str] = set()
        for pattern in opts.fields:
            for info in compiled.expand(pattern):
                leaf = leaves.get(info.path)
                if leaf is None or leaf.path in seen:
                    continue
                seen.add(leaf.path)
                stored = _STORED_FLAGS.get(str(leaf.params.get("term_vector", "no")))
                positions, offsets = stored if stored and not artificial else (opts.positions, opts.offsets)
                out.append((leaf, positions, offsets))
        return out
    for leaf in leaves.values():
        stored = _STORED_FLAGS.get(str(leaf.params.get("term_vector", "no")))
        present = bool(source_values(source, leaf.source_path))
        if artificial and present:
            out.append((leaf, opts.positions, opts.offsets))
        elif stored is not None and present:
            out.append((leaf, *stored))
    return out


@dataclass
class _FieldStats:
    doc_count: int = 0
    sum_doc_freq: int = 0
    sum_ttf: int = 0
    ttf: Counter[str] = field(default_factory=Counter)


def _scan_stats(
    searcher: tantivy.Searcher, compiled: CompiledMapping, leaves: Sequence[Leaf], wanted: dict[str, set[str]]
) -> dict[str, _FieldStats] | None:
    """Exact per-field statistics over the shard's live documents, or None when there are too many."""
    num_docs = int(searcher.num_docs)
    if num_docs > STATS_SCAN_LIMIT:
        return None
    stats = {leaf.path: _FieldStats() for leaf in leaves}
    if num_docs == 0:
        return stats
    for _, address in searcher.search(tantivy.Query.all_query(), num_docs, count=False).hits:
        source = orjson.loads(bytes(searcher.doc(address).to_dict()[SOURCE_FIELD][0]))
        for leaf in leaves:
            values = source_values(source, leaf.source_path)
            if not values:
                continue
            counts = Counter(t.term for t in analyze_values(compiled, leaf, values))
            if not counts:
                continue
            entry = stats[leaf.path]
            entry.doc_count += 1
            entry.sum_doc_freq += len(counts)
            entry.sum_ttf += sum(counts.values())
            for term in wanted.get(leaf.path, ()):
                entry.ttf[term] += counts.get(term, 0)
    return stats


def _passes(term: str, tf: int, df: int, rules: dict[str, Any]) -> bool:
    if tf < int(rules.get("min_term_freq", 1)) or ("max_term_freq" in rules and tf > int(rules["max_term_freq"])):
        return False
    if df < int(rules.get("min_doc_freq", 1)) or ("max_doc_freq" in rules and df > int(rules["max_doc_freq"])):
        return False
    if len(term) < int(rules.get("min_word_length", 0)):
        return False
    return not (int(rules.get("max_word_length", 0)) > 0 and len(term) > int(rules["max_word_length"]))


def term_vectors(
    searcher: tantivy.Searcher,
    compiled: CompiledMapping,
    source: dict[str, Any],
    opts: TermVectorOptions,
    *,
    artificial: bool = False,
) -> dict[str, Any]:
    """ES's ``term_vectors`` object for one document of the shard behind ``searcher``."""
    selected = select_fields(compiled, source, opts, artificial=artificial)
    per_field: dict[str, list[Token]] = {}
    for leaf, _, _ in selected:
        analyzer = opts.per_field_analyzer.get(leaf.path)
        if analyzer is not None and analyzer not in compiled.analysis.analyzers:
            raise IllegalArgument(f"failed to find analyzer [{analyzer}]")
        per_field[leaf.path] = analyze_values(compiled, leaf, source_values(source, leaf.source_path), analyzer)
    need_scan = opts.field_statistics or opts.term_statistics or opts.filter is not None
    wanted = {path: {t.term for t in toks} for path, toks in per_field.items()}
    stats = _scan_stats(searcher, compiled, [leaf for leaf, _, _ in selected], wanted) if need_scan else None
    num_docs = int(searcher.num_docs)
    out: dict[str, Any] = {}
    for leaf, show_positions, show_offsets in selected:
        tokens = per_field[leaf.path]
        if not tokens:
            continue
        info = compiled.field(leaf.path)
        assert info is not None
        by_term: dict[str, list[Token]] = {}
        for tok in tokens:
            by_term.setdefault(tok.term, []).append(tok)
        entry: dict[str, Any] = {}
        fstats = stats.get(leaf.path) if stats is not None else None
        if opts.field_statistics:
            if fstats is not None:
                entry["field_statistics"] = {"sum_doc_freq": fstats.sum_doc_freq, "doc_count": fstats.doc_count,
                                             "sum_ttf": fstats.sum_ttf}  # fmt: skip
            else:
                doc_count = int(searcher.doc_freq(FIELD_NAMES_FIELD, leaf.path))
                entry["field_statistics"] = {"sum_doc_freq": -1, "doc_count": doc_count, "sum_ttf": -1}
        terms: dict[str, Any] = {}
        scores: dict[str, float] = {}
        for term in sorted(by_term):
            toks = by_term[term]
            doc_freq = int(searcher.doc_freq(info.tantivy_name, term))
            if opts.filter is not None:
                if not _passes(term, len(toks), doc_freq, opts.filter):
                    continue
                # ES's filter ranks by classic tf-idf: sqrt(tf) * (log((N + 1) / (df + 1)) + 1)
                scores[term] = math.sqrt(len(toks)) * (math.log((num_docs + 1) / (doc_freq + 1)) + 1)
            body: dict[str, Any] = {}
            if opts.term_statistics:
                body["doc_freq"] = doc_freq
                if fstats is not None:
                    body["ttf"] = fstats.ttf[term]
            body["term_freq"] = len(toks)
            if show_positions or show_offsets:
                body["tokens"] = [
                    {**({"position": t.position} if show_positions else {}),
                     **({"start_offset": t.start, "end_offset": t.end} if show_offsets else {})}
                    for t in toks
                ]  # fmt: skip
            terms[term] = body
        if opts.filter is not None:
            limit = int(opts.filter.get("max_num_terms", 25))
            keep = set(sorted(scores, key=lambda t: (-scores[t], t))[:limit])
            terms = {t: {**b, "score": float(f"{scores[t]:.7g}")} for t, b in terms.items() if t in keep}
        entry["terms"] = terms
        out[leaf.path] = entry
    return out
