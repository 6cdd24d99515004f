"""Highlighting for the fetch phase, on tantivy's snippet generator.

Text is not stored in tantivy (``_source`` is), so each hit's field values are read from its source and
handed to the generator as a transient document. ES semantics kept: ``pre_tags``/``post_tags``,
``fragment_size`` (default 100), ``number_of_fragments`` (default 5; 0 = whole value), field patterns,
``require_field_match`` (a field is highlighted only when the query has terms for it).
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any

import tantivy

from native.errors import IllegalArgument
from native.schema import CompiledMapping, flatten_source

MAX_ANALYZED_OFFSET = 1_000_000


@dataclass(frozen=True)
class FieldHighlight:
    pattern: str
    pre_tags: tuple[str, ...]
    post_tags: tuple[str, ...]
    fragment_size: int
    number_of_fragments: int


def parse_highlight(body: MappingABC[str, Any]) -> list[FieldHighlight]:
    if not isinstance(body, dict):
        raise IllegalArgument("[highlight] must be an object")
    fields = body.get("fields") or {}
    if isinstance(fields, list):
        merged: dict[str, Any] = {}
        for item in fields:
            merged.update(item)
        fields = merged
    out = []
    for pattern, opts in fields.items():
        opts = {**{k: v for k, v in body.items() if k != "fields"}, **(opts or {})}
        pre = opts.get("pre_tags", ["<em>"])
        post = opts.get("post_tags", ["</em>"])
        out.append(
            FieldHighlight(
                pattern=pattern,
                pre_tags=tuple(pre if isinstance(pre, list) else [pre]),
                post_tags=tuple(post if isinstance(post, list) else [post]),
                fragment_size=int(opts.get("fragment_size", 100)),
                number_of_fragments=int(opts.get("number_of_fragments", 5)),
            )
        )
    return out


def _render(snippet: tantivy.Snippet, pre: str, post: str) -> str | None:
    ranges = snippet.highlighted()
    if not ranges:
        return None
    text = snippet.fragment()
    parts: list[str] = []
    last = 0
    for r in ranges:
        parts.append(text[last : r.start])
        parts.append(pre + text[r.start : r.end] + post)
        last = r.end
    parts.append(text[last:])
    return "".join(parts)


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
            fragments: list[str] = []
            for value in values:
                if not isinstance(value, str):
                    continue
                text = value[:MAX_ANALYZED_OFFSET]
                size = len(text) if spec.number_of_fragments == 0 else max(spec.fragment_size, 1)
                generator.set_max_num_chars(min(max(size, 1), len(text) or 1))
                doc = tantivy.Document()
                doc.add_text(tname, text)
                rendered = _render(generator.snippet_from_doc(doc), spec.pre_tags[0], spec.post_tags[0])
                if rendered is not None:
                    fragments.append(rendered)
            if fragments:
                limit = spec.number_of_fragments or len(fragments)
                out[path] = fragments[:limit]
        return out
