"""Highlighting for the fetch phase, on tantivy's snippet generator plus the query's own matchers.

Text is not stored in tantivy (``_source`` is), so each hit's field values are read from its source and
handed to the generator as a transient document. Tantivy finds the query's plain terms on the field; the
query tree (``native.highlight_terms``) adds what it misses: prefix / wildcard / regexp / fuzzy clauses, and
with ``require_field_match: false`` the terms of clauses on other fields. Fragments are cut as ES's unified
highlighter cuts them: whole sentences (punctuation kept), grouped up to ``fragment_size``, the best
``number_of_fragments`` returned in text order (``order: score``: best first; 0 = the whole value).

Options as ES: ``pre_tags``/``post_tags`` (``tags_schema: styled``), ``encoder: html``, ``highlight_query``,
``no_match_size`` (the start of the value up to the last whole token that fits), ``matched_fields`` (the
matches of sibling fields over the same value), ``max_analyzed_offset`` (and the index's
``index.highlight.max_analyzed_offset``: a longer value is an error unless the field has indexed offsets and
the highlighter can use them, or the request sets the parameter; -1 = the index limit), the index's
``index.highlight.max_number_of_fragments``. ``type`` ``unified``, ``plain`` and ``fvh`` share this one
fragmenter; the boundary options (``boundary_scanner``, ``boundary_chars``, ``boundary_max_scan``),
``fragmenter``, ``phrase_limit``, ``fragment_offset`` and ``highlight_filter`` are validated and otherwise
left to it. An unknown option is a 400.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import tantivy

from native.errors import IllegalArgument, XContentParseError
from native.fields import FieldInfo
from native.highlight_terms import TokenMatcher, matchers_for
from native.query.ast import QueryAst
from native.schema import CompiledMapping, flatten_source

MAX_ANALYZED_OFFSET = 1_000_000  # index.highlight.max_analyzed_offset
MAX_NUMBER_OF_FRAGMENTS = 10_000  # index.highlight.max_number_of_fragments
TYPES = ("unified", "plain", "fvh")
TEXTUAL = ("text", "keyword", "match_only_text")
STYLED_PRE_TAGS = tuple(f'<em class="hlt{i}">' for i in range(1, 11))

# options valid at the top of ``highlight`` and per field (ES's AbstractHighlighterBuilder)
_COMMON_KEYS = frozenset({
    "pre_tags", "post_tags", "fragment_size", "number_of_fragments", "highlight_query", "order", "highlight_filter",
    "force_source", "fragmenter", "boundary_scanner", "boundary_max_scan", "boundary_chars",
    "boundary_scanner_locale", "type", "no_match_size", "phrase_limit", "options", "require_field_match",
    "max_analyzed_offset",
})  # fmt: skip
_TOP_KEYS = _COMMON_KEYS | {"fields", "encoder", "tags_schema"}
_FIELD_KEYS = _COMMON_KEYS | {"matched_fields", "fragment_offset"}
_CHOICES = {
    "boundary_scanner": ("chars", "word", "sentence"),
    "fragmenter": ("simple", "span"),
    "encoder": ("default", "html"),
    "tags_schema": ("styled",),
}


@dataclass(frozen=True)
class FieldHighlight:
    pattern: str
    pre_tags: tuple[str, ...]
    post_tags: tuple[str, ...]
    fragment_size: int
    number_of_fragments: int
    order: str = "none"
    # the request's ``max_analyzed_offset``: values are analyzed up to there (-1: up to the index limit); None:
    # a value past the index limit is an error, as in ES
    max_analyzed_offset: int | None = None
    type: str = "unified"
    no_match_size: int = 0
    require_field_match: bool = True
    highlight_query: dict[str, Any] | None = None
    encoder: str = "default"
    # fields (sub-fields of the same value) whose matches are marked on this one too
    matched_fields: tuple[str, ...] = ()

    @property
    def tags(self) -> tuple[str, str]:
        return self.pre_tags[0], self.post_tags[0]


def _tags(opts: MappingABC[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = opts.get(key, list(default))
    tags = value if isinstance(value, list) else [value]
    if not all(isinstance(t, str) for t in tags):
        raise XContentParseError(f"[highlight] failed to parse field [{key}]")
    if not tags:
        raise IllegalArgument("pre_tags or post_tags must not be empty")
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


def _flag(opts: MappingABC[str, Any], key: str, default: bool) -> bool:
    value = opts.get(key, default)
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    if not isinstance(value, bool):
        raise XContentParseError(f"[highlight] failed to parse field [{key}]")
    return value


def _choice(opts: MappingABC[str, Any], key: str) -> str | None:
    value = opts.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in _CHOICES[key]:
        raise IllegalArgument(f"Unknown {key} [{value}]")
    return value.lower()


def _invalid(key: str, message: str) -> XContentParseError:
    return XContentParseError(f"[highlight] failed to parse field [{key}]", caused_by=IllegalArgument(message))


def parse_highlight(body: MappingABC[str, Any]) -> list[FieldHighlight]:
    """The ``highlight`` section, its types checked as ES's parser does (a wrong type or an unknown key is a 400)."""
    if not isinstance(body, dict):
        raise IllegalArgument("[highlight] must be an object")
    for key in body:
        if key not in _TOP_KEYS:
            raise XContentParseError(f"[highlight] unknown field [{key}]")
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
    encoder = _choice(body, "encoder") or "default"
    default_pre: tuple[str, ...] = ("<em>",)
    if _choice(body, "tags_schema") == "styled":
        default_pre = STYLED_PRE_TAGS
    out = []
    for pattern, field_opts in fields.items():
        if field_opts is not None and not isinstance(field_opts, dict):
            raise XContentParseError(f"[highlight_field] failed to parse field [{pattern}]")
        for key in field_opts or {}:
            if key not in _FIELD_KEYS:
                raise XContentParseError(f"[highlight_field] unknown field [{key}]")
        opts = {
            **{k: v for k, v in body.items() if k not in ("fields", "encoder", "tags_schema")},
            **(field_opts or {}),
        }
        pre_tags, post_tags = _tags(opts, "pre_tags", default_pre), _tags(opts, "post_tags", ("</em>",))
        if "pre_tags" in opts and "post_tags" not in opts:
            raise IllegalArgument("pre_tags are set but post_tags are not set")
        order = opts.get("order", "none")
        if not isinstance(order, str):
            raise XContentParseError("[highlight] failed to parse field [order]")
        if order.lower() not in ("none", "score"):
            raise IllegalArgument(f"Unknown order [{order}]")
        max_offset: int | None = None
        if opts.get("max_analyzed_offset") is not None:
            max_offset = _count(opts, "max_analyzed_offset", -1)
            if max_offset < -1 or max_offset == 0:
                raise _invalid("max_analyzed_offset", "[max_analyzed_offset] must be a positive integer, or -1")
        kind = opts.get("type", "unified")
        if not isinstance(kind, str):
            raise XContentParseError("[highlight] failed to parse field [type]")
        if kind not in TYPES:
            raise IllegalArgument(f"unknown highlighter type [{kind}] for the field [{pattern}]")
        for key in ("boundary_scanner", "fragmenter"):
            _choice(opts, key)
        for key in ("boundary_max_scan", "phrase_limit", "fragment_offset"):
            if key in opts:
                _count(opts, key, 0)
        query = opts.get("highlight_query")
        if query is not None and not isinstance(query, dict):
            raise XContentParseError("[highlight] failed to parse field [highlight_query]")
        fragments = _count(opts, "number_of_fragments", 5)
        if fragments < 0:
            raise _invalid("number_of_fragments", "[number_of_fragments] must not be negative")
        matched = opts.get("matched_fields") or []
        matched = [matched] if isinstance(matched, str) else matched
        if not isinstance(matched, list) or not all(isinstance(m, str) for m in matched):
            raise XContentParseError("[highlight_field] failed to parse field [matched_fields]")
        require_field_match = _flag(opts, "require_field_match", True)
        if matched and not require_field_match:
            raise IllegalArgument("Matched fields are not supported when [require_field_match] is set to [false]")
        no_match_size = _count(opts, "no_match_size", 0)
        if no_match_size < 0:
            raise _invalid("no_match_size", "[no_match_size] must not be negative")
        out.append(
            FieldHighlight(
                pattern=pattern,
                pre_tags=pre_tags,
                post_tags=post_tags,
                fragment_size=_count(opts, "fragment_size", 100),
                number_of_fragments=fragments,
                order=order.lower(),
                max_analyzed_offset=max_offset,
                type=kind,
                no_match_size=no_match_size,
                require_field_match=require_field_match,
                matched_fields=tuple(matched),
                highlight_query=query,
                encoder=encoder,
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


def _format(
    text: str, passage: _Passage, pre: str, post: str, encode: Callable[[str], str] = str, trim: bool = True
) -> str:
    parts: list[str] = []
    last = passage.start
    for start, end in passage.matches:
        parts.append(encode(text[last:start]))
        parts.append(pre + encode(text[start:end]) + post)
        last = end
    parts.append(encode(text[last : passage.end]))
    joined = "".join(parts)
    return joined.strip() if trim else joined  # the whole value (number_of_fragments 0) is not trimmed


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(set(ranges)):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _has_offsets(leaf: Any, kind: str) -> bool:
    """Whether ES would highlight this field from indexed offsets (no re-analysis, no length limit)."""
    params = getattr(leaf, "params", None) or {}
    if kind == "unified":
        return params.get("index_options") == "offsets" or "offsets" in str(params.get("term_vector", ""))
    if kind == "fvh":
        return "offsets" in str(params.get("term_vector", ""))
    return False


@dataclass
class _Field:
    path: str
    tname: str
    info: FieldInfo
    spec: FieldHighlight
    generator: tantivy.SnippetGenerator
    # matchers tantivy's generator cannot apply (multi-term queries, other fields' terms)
    matchers: list[TokenMatcher]
    # ``matched_fields``: the same value as another field analyzes it, with that field's matches
    also: list[_Field] = dc_field(default_factory=list)


QueryCompiler = Callable[[dict[str, Any]], tuple[QueryAst, tantivy.Query]]


class Highlighter:
    """Highlights many hits of one search on one shard (generators are built once per field).

    ``ast`` (the query's tree) adds the matches tantivy's generator misses (``native.highlight_terms``);
    ``compile_json`` compiles a field's ``highlight_query``; ``settings`` are the index's settings
    (``index.highlight.max_analyzed_offset``, ``index.highlight.max_number_of_fragments``).
    """

    def __init__(
        self,
        searcher: tantivy.Searcher,
        query: tantivy.Query,
        compiled: CompiledMapping,
        specs: list[FieldHighlight],
        *,
        ast: QueryAst | None = None,
        compile_json: QueryCompiler | None = None,
        settings: MappingABC[str, Any] | None = None,
    ) -> None:
        self.compiled = compiled
        self.searcher = searcher
        settings = settings or {}
        self.max_offset = int(settings.get("index.highlight.max_analyzed_offset") or MAX_ANALYZED_OFFSET)
        max_fragments = int(settings.get("index.highlight.max_number_of_fragments") or MAX_NUMBER_OF_FRAGMENTS)
        self.fields: list[_Field] = []
        seen: set[str] = set()
        for spec in specs:
            field_ast, field_query = ast, query
            if spec.highlight_query is not None and compile_json is not None:
                field_ast, field_query = compile_json(spec.highlight_query)
            for info in compiled.expand(spec.pattern):
                if info.es_type not in TEXTUAL or info.path in seen:
                    continue
                if spec.number_of_fragments > max_fragments:
                    raise IllegalArgument(
                        f"The number of fragments requested for highlighting field [{info.path}] is "
                        f"[{spec.number_of_fragments}] but the maximum allowed is [{max_fragments}]. This maximum can "
                        "be set by changing the [index.highlight.max_number_of_fragments] index level setting."
                    )
                seen.add(info.path)
                main = self._field(info, spec, field_query, field_ast)
                for other in spec.matched_fields:
                    other_info = compiled.field(other)
                    if other_info is not None and other_info.path != info.path and other_info.es_type in TEXTUAL:
                        main.also.append(self._field(other_info, spec, field_query, field_ast))
                self.fields.append(main)

    def _field(self, info: FieldInfo, spec: FieldHighlight, query: tantivy.Query, ast: QueryAst | None) -> _Field:
        generator = tantivy.SnippetGenerator.create(self.searcher, query, self.compiled.schema, info.tantivy_name)
        matchers: list[TokenMatcher] = []
        if ast is not None:
            matchers = matchers_for(ast, info.path, self.compiled, require_field_match=spec.require_field_match)
            if spec.require_field_match:
                matchers = [m for m in matchers if m.kind != "exact"]
        return _Field(info.path, info.tantivy_name, info, spec, generator, matchers)

    def _token_spans(self, info: FieldInfo, text: str) -> list[tuple[int, int, str]]:
        """(start, end, token) of each token of ``text`` as the field's analyzer cuts it."""
        if info.es_type != "text":
            tokens = list(info.analyze(text)) if info.analyze is not None else [text]
            return [(0, len(text), tokens[0] if tokens else text)]
        tokens = list(dict.fromkeys(info.analyze(text) if info.analyze is not None else text.split()))
        if not tokens:
            return []
        schema = self.compiled.schema
        every = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema, info.tantivy_name, t)) for t in tokens[:4096]]
        )
        generator = tantivy.SnippetGenerator.create(self.searcher, every, schema, info.tantivy_name)
        spans = []
        for start, end in _match_ranges(generator, info.tantivy_name, text):
            analyzed = list(info.analyze(text[start:end])) if info.analyze is not None else []
            spans.append((start, end, analyzed[0] if analyzed else text[start:end]))
        return spans

    def _matches(self, hl: _Field, text: str) -> list[tuple[int, int]]:
        ranges: list[tuple[int, int]] = []
        for one in (hl, *hl.also):
            ranges += _match_ranges(one.generator, one.tname, text)
            if one.matchers:
                spans = self._token_spans(one.info, text)
                ranges += [(s, e) for s, e, token in spans if any(m(token) for m in one.matchers)]
        return _merge(ranges)

    def _limit(self, field: _Field, value: str) -> int:
        """How much of ``value`` is analyzed for matches (ES's ``max_analyzed_offset``)."""
        spec = field.spec
        if spec.max_analyzed_offset is None:
            if len(value) > self.max_offset and not _has_offsets(self.compiled.mapping.leaf(field.path), spec.type):
                raise IllegalArgument(
                    f"The length [{len(value)}] of field [{field.path}] exceeds the "
                    f"[index.highlight.max_analyzed_offset] limit [{self.max_offset}]. To avoid this error, set the "
                    f"query parameter [max_analyzed_offset] to a value less than index setting [{self.max_offset}] "
                    "and this will tolerate long field values by truncating them."
                )
            return len(value)
        if spec.max_analyzed_offset == -1:
            return self.max_offset
        return min(spec.max_analyzed_offset, self.max_offset)

    def highlight(self, source: MappingABC[str, Any]) -> dict[str, list[str]]:
        if not self.fields:
            return {}
        flat = flatten_source(source)
        out: dict[str, list[str]] = {}
        for field in self.fields:
            spec = field.spec
            encode = html.escape if spec.encoder == "html" else str
            leaf = self.compiled.mapping.leaf(field.path)
            values = [v for v in flat.get(leaf.source_path if leaf else field.path, []) if isinstance(v, str)]
            if field.info.ignore_above is not None:  # values past ignore_above are not indexed: nothing to mark
                values = [v for v in values if len(v) <= field.info.ignore_above]
            scored: list[tuple[float, int, int, str]] = []  # (score, value index, offset, fragment)
            for value_index, value in enumerate(values):
                limit = self._limit(field, value)
                matches = self._matches(field, value[:limit])
                if not matches:
                    continue
                if spec.number_of_fragments == 0:
                    whole = _Passage(0, len(value), matches)
                    scored.append((len(matches), value_index, 0, _format(value, whole, *spec.tags, encode, False)))
                    continue
                for passage in _passages(value, matches, max(spec.fragment_size, 1)):
                    fragment = _format(value, passage, *spec.tags, encode)
                    scored.append((len(passage.matches), value_index, passage.start, fragment))
            if not scored:
                if spec.no_match_size > 0 and values:
                    out[field.path] = [encode(self._no_match(field.info, values[0], spec.no_match_size))]
                continue
            if spec.number_of_fragments:
                # the best passages (Lucene scores by matches; earlier wins a tie), then in text order
                scored = sorted(scored, key=lambda p: (-p[0], p[1], p[2]))[: spec.number_of_fragments]
                if spec.order != "score":
                    scored.sort(key=lambda p: (p[1], p[2]))
            out[field.path] = [p[3] for p in scored]
        return out

    def _no_match(self, info: FieldInfo, value: str, size: int) -> str:
        """``no_match_size``: the start of the value, up to the end of the last token that fits in ``size``."""
        if len(value) <= size:
            return value
        ends = [end for _, end, _ in self._token_spans(info, value[: size + 1]) if end <= size]
        return value[: max(ends)] if ends else value[:size]
