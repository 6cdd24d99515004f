"""Highlighting for the fetch phase, on tantivy's snippet generator.

Text is not stored in tantivy (``_source`` is), so each hit's field values are read from its source and
handed to the generator as a transient document. ES semantics kept: ``pre_tags``/``post_tags``,
``fragment_size`` (default 100), ``number_of_fragments`` (default 5; 0 = whole value), field patterns,
``require_field_match`` (a field is highlighted only when the query has terms for it). Tantivy only finds
the matches; fragments are cut as ES's unified highlighter cuts them: whole sentences (punctuation kept),
grouped up to ``fragment_size``, the best ``number_of_fragments`` returned in text order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any

import tantivy

from native.errors import IllegalArgument, XContentParseError
from native.schema import CompiledMapping, flatten_source

MAX_ANALYZED_OFFSET = 1_000_000


@dataclass(frozen=True)
class FieldHighlight:
    pattern: str
    pre_tags: tuple[str, ...]
    post_tags: tuple[str, ...]
    fragment_size: int
    number_of_fragments: int
    order: str = "none"
    # the request's ``max_analyzed_offset``: longer values are cut there (None: a value past the index limit
    # is an error, as in ES)
    max_analyzed_offset: int | None = None

    @property
    def tags(self) -> tuple[str, str]:
        return self.pre_tags[0], self.post_tags[0]


def _tags(opts: MappingABC[str, Any], key: str, default: str) -> tuple[str, ...]:
    value = opts.get(key, [default])
    tags = value if isinstance(value, list) else [value]
    if not all(isinstance(t, str) for t in tags):
        raise XContentParseError(f"[highlight] failed to parse field [{key}]")
    if not tags:
        raise IllegalArgument(f"[highlight] [{key}] must not be empty")
    return tuple(tags)


def _count(opts: MappingABC[str, Any], key: str, default: int) -> int:
    value = opts.get(key, default)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise XContentParseError(f"[highlight] failed to parse field [{key}]") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not -(2**31) <= value < 2**31:
        raise XContentParseError(f"[highlight] failed to parse field [{key}]")
    return int(value)


def parse_highlight(body: MappingABC[str, Any]) -> list[FieldHighlight]:
    """The ``highlight`` section, its types checked as ES's parser does (a wrong type is a 400)."""
    if not isinstance(body, dict):
        raise IllegalArgument("[highlight] must be an object")
    fields = body.get("fields") or {}
    if isinstance(fields, list):
        merged: dict[str, Any] = {}
        for item in fields:
            if not isinstance(item, dict):
                raise XContentParseError("[highlight] failed to parse field [fields]")
            merged.update(item)
        fields = merged
    if not isinstance(fields, dict):
        raise XContentParseError("[highlight] failed to parse field [fields]")
    out = []
    for pattern, field_opts in fields.items():
        if field_opts is not None and not isinstance(field_opts, dict):
            raise XContentParseError(f"[highlight_field] failed to parse field [{pattern}]")
        opts = {**{k: v for k, v in body.items() if k != "fields"}, **(field_opts or {})}
        pre_tags, post_tags = _tags(opts, "pre_tags", "<em>"), _tags(opts, "post_tags", "</em>")
        if "pre_tags" in opts and "post_tags" not in opts:
            raise IllegalArgument("pre_tags are set but post_tags are not set")
        order = opts.get("order", "none")
        if not isinstance(order, str):
            raise XContentParseError("[highlight] failed to parse field [order]")
        max_offset: int | None = None
        if opts.get("max_analyzed_offset") is not None:
            max_offset = _count(opts, "max_analyzed_offset", -1)
            if max_offset == -1:
                max_offset = None
            elif max_offset <= 0:
                raise IllegalArgument("[max_analyzed_offset] must be a positive integer, or -1")
        out.append(
            FieldHighlight(
                pattern=pattern,
                pre_tags=pre_tags,
                post_tags=post_tags,
                fragment_size=_count(opts, "fragment_size", 100),
                number_of_fragments=_count(opts, "number_of_fragments", 5),
                order=order,
                max_analyzed_offset=max_offset,
            )
        )
    return out


# A sentence ends after terminal punctuation plus closing quotes/brackets and spaces (a period only when no
# lowercase letter follows), or after a line break: close to Java's ``BreakIterator.getSentenceInstance(Locale.ROOT)``.
_SENTENCE_END = re.compile(r"[!?\u3002]+[\"')\]]*\s+|\.+[\"')\]]*\s+(?=[^a-z\s])|[.!?]+[\"')\]]*\s*$|[\n\r\u2029]+")


def _sentence_breaks(text: str) -> list[int]:
    breaks = [m.end() for m in _SENTENCE_END.finditer(text)]
    if not breaks or breaks[-1] != len(text):
        breaks.append(len(text))
    return breaks


def _match_ranges(generator: tantivy.SnippetGenerator, field: str, text: str) -> list[tuple[int, int]]:
    """Character ranges of the query's terms in ``text`` (tantivy reports byte offsets into its fragment)."""
    raw = text.encode()
    generator.set_max_num_chars(max(len(raw), 1))
    doc = tantivy.Document()
    doc.add_text(field, text)
    snippet = generator.snippet_from_doc(doc)
    ranges = snippet.highlighted()
    if not ranges:
        return []
    base = raw.find(snippet.fragment().encode())
    base = max(base, 0)

    def char_at(byte_offset: int) -> int:
        return len(raw[: base + byte_offset].decode("utf-8", "ignore"))

    return [(char_at(r.start), char_at(r.end)) for r in ranges]


@dataclass
class _Passage:
    start: int
    end: int
    matches: list[tuple[int, int]]


def _passages(text: str, matches: list[tuple[int, int]], fragment_size: int) -> list[_Passage]:
    """Lucene's passage loop over ES's ``BoundedBreakIteratorScanner``: a passage starts at the sentence of its
    first match and takes following sentences while it stays within ``fragment_size``."""
    breaks = _sentence_breaks(text)
    out: list[_Passage] = []
    for start, end in matches:
        if out and start < out[-1].end:
            out[-1].matches.append((start, end))
            out[-1].end = max(out[-1].end, end)
            continue
        sentence_start = max([0, *(b for b in breaks if b <= start)])
        sentence_start = max(sentence_start, out[-1].end if out else 0)
        following = [b for b in breaks if b > start]
        window_end = following[0] if following else len(text)
        for b in following[1:]:
            if b - sentence_start > fragment_size:
                break
            window_end = b
        p_start, p_end = sentence_start, window_end
        if p_end - p_start > fragment_size:
            p_start = max(p_start, start - fragment_size)
            p_end = min(p_end, p_start + fragment_size)
        out.append(_Passage(p_start, max(p_end, end), [(start, end)]))
    return out


def _format(text: str, passage: _Passage, pre: str, post: str) -> str:
    parts: list[str] = []
    last = passage.start
    for start, end in passage.matches:
        parts.append(text[last:start])
        parts.append(pre + text[start:end] + post)
        last = end
    parts.append(text[last : passage.end])
    return "".join(parts).strip()


class Highlighter:
    """Highlights many hits of one search on one shard (generators are built once per field)."""

    def __init__(
        self, searcher: tantivy.Searcher, query: tantivy.Query, compiled: CompiledMapping, specs: list[FieldHighlight]
    ) -> None:
        self.compiled = compiled
        self.fields: list[tuple[str, str, FieldHighlight, tantivy.SnippetGenerator]] = []
        seen: set[str] = set()
        for spec in specs:
            for info in compiled.expand(spec.pattern):
                if info.es_type not in ("text", "keyword") or info.path in seen:
                    continue
                seen.add(info.path)
                generator = tantivy.SnippetGenerator.create(searcher, query, compiled.schema, info.tantivy_name)
                self.fields.append((info.path, info.tantivy_name, spec, generator))

    def highlight(self, source: MappingABC[str, Any]) -> dict[str, list[str]]:
        if not self.fields:
            return {}
        flat = flatten_source(source)
        out: dict[str, list[str]] = {}
        for path, tname, spec, generator in self.fields:
            leaf = self.compiled.mapping.leaf(path)
            values = flat.get(leaf.source_path if leaf else path, [])
            scored: list[tuple[float, int, int, str]] = []  # (score, value index, offset, fragment)
            for value_index, value in enumerate(values):
                if not isinstance(value, str):
                    continue
                if len(value) > MAX_ANALYZED_OFFSET and spec.max_analyzed_offset is None:
                    raise IllegalArgument(
                        f"The length [{len(value)}] of field [{path}] exceeds the "
                        f"[index.highlight.max_analyzed_offset] limit [{MAX_ANALYZED_OFFSET}]. To avoid this error, "
                        "set the query parameter "
                        f"[max_analyzed_offset] to a value less than index setting [{MAX_ANALYZED_OFFSET}] and this "
                        "will tolerate long field values by truncating them."
                    )
                text = value[: min(MAX_ANALYZED_OFFSET, spec.max_analyzed_offset or MAX_ANALYZED_OFFSET)]
                matches = _match_ranges(generator, tname, text)
                if not matches:
                    continue
                if spec.number_of_fragments == 0:
                    whole = _Passage(0, len(text), matches)
                    scored.append((len(matches), value_index, 0, _format(text, whole, *spec.tags)))
                    continue
                for passage in _passages(text, matches, max(spec.fragment_size, 1)):
                    fragment = _format(text, passage, *spec.tags)
                    scored.append((len(passage.matches), value_index, passage.start, fragment))
            if not scored:
                continue
            if spec.number_of_fragments:
                # the best passages (Lucene scores by matches; earlier wins a tie), then in text order
                scored = sorted(scored, key=lambda p: (-p[0], p[1], p[2]))[: spec.number_of_fragments]
                if spec.order != "score":
                    scored.sort(key=lambda p: (p[1], p[2]))
            out[path] = [p[3] for p in scored]
        return out
