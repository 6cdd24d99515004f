"""``inner_hits`` of ``nested`` queries: per fetched hit, the nested documents that matched, as ES returns them.

For each ``nested`` query of the search carrying ``inner_hits`` (not inside another ``nested`` query: those
are answered inside the inner hits of their enclosing one, as in ES), the inner query runs once per search
and shard on the shard's ``native.nested.NestedView``; each hit keeps the matches among its own nested
documents. Each inner hit has the
top-level ``_index``/``_id``, ``_nested`` (``{field, offset}``, a ``_nested`` per deeper level), ``_score``
and the nested object as ``_source``. Options: ``name`` (default: the path), ``from``, ``size`` (3),
``_source`` (bool, a pattern or a list of them, or ``{includes, excludes}``, by full path as in ES),
``highlight`` (``native.highlight`` on the object; stored fields only when ``_source`` is disabled), ``version``,
``seq_no_primary_term`` (the top-level document's, nested documents share them), ``sort`` on fields of the
nested documents, ``track_scores``, and ``fields``/``docvalue_fields`` (``_seq_no``, ``_version`` and
fields under the path, read from the object). Any other option is a 400 naming it.

Result per hit: ``{name: {"hits": {"total": {"value", "relation"}, "max_score", "hits": [...]}}}``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson
import tantivy
from tantivy import Query

from native.errors import IllegalArgument, ParsingError
from native.highlight import Highlighter, parse_highlight
from native.nested import VIEWS, NestedView, filter_nested_source, reroot
from native.query.ast import QueryAst
from native.query.nested import NestedQuery
from native.values import leaf_values_at

_KEYS = frozenset({"name", "from", "size", "_source", "version", "seq_no_primary_term", "sort", "track_scores",
                   "fields", "docvalue_fields", "highlight"})  # fmt: skip
DEFAULT_SIZE = 3


@dataclass(frozen=True)
class InnerHitsSpec:
    name: str
    from_: int = 0
    size: int = DEFAULT_SIZE
    source: bool = True
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    version: bool = False
    seq_no_primary_term: bool = False
    sort: tuple[tuple[str, bool], ...] = ()  # (field, ascending)
    track_scores: bool = False
    fields: tuple[str, ...] = ()
    highlight: str | None = None  # the ``highlight`` object as JSON (native.highlight)


def parse_inner_hits(raw: dict[str, Any], path: str) -> InnerHitsSpec:
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ParsingError(f"[inner_hits] unknown field [{unknown[0]}]")
    source: Any = raw.get("_source", True)
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    if isinstance(source, str):
        includes, source = (source,), True
    elif isinstance(source, list):
        includes, source = tuple(str(s) for s in source), True
    elif isinstance(source, dict):
        includes = _patterns(source.get("includes", source.get("include", ())))
        excludes = _patterns(source.get("excludes", source.get("exclude", ())))
        source = True
    elif not isinstance(source, bool):
        raise ParsingError("[inner_hits] _source must be a boolean, a string, an array or an object")
    sort = tuple(_sort_entry(entry) for entry in _as_list(raw.get("sort", ())))
    fields = tuple(
        _field_name(f) for f in [*_as_list(raw.get("fields", ())), *_as_list(raw.get("docvalue_fields", ()))]
    )
    highlight = raw.get("highlight")
    if highlight is not None:
        parse_highlight(highlight)
    size, from_ = raw.get("size", DEFAULT_SIZE), raw.get("from", 0)
    if not isinstance(size, int) or not isinstance(from_, int) or size < 0 or from_ < 0:
        raise IllegalArgument("[inner_hits] from and size must be non-negative integers")
    return InnerHitsSpec(
        name=str(raw.get("name", path)),
        from_=from_,
        size=size,
        source=bool(source),
        includes=includes,
        excludes=excludes,
        version=raw.get("version") is True,
        seq_no_primary_term=raw.get("seq_no_primary_term") is True,
        sort=sort,
        track_scores=raw.get("track_scores") is True,
        fields=fields,
        highlight=None if highlight is None else orjson.dumps(highlight).decode(),
    )


def _patterns(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value or ())


def _as_list(value: Any) -> list[Any]:
    if value is None or isinstance(value, tuple):
        return list(value or ())
    return value if isinstance(value, list) else [value]


def _field_name(entry: Any) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get("field"), str):
        return str(entry["field"])
    raise ParsingError("[inner_hits] fields must be strings or objects with a [field]")


def _sort_entry(entry: Any) -> tuple[str, bool]:
    if isinstance(entry, str):
        return entry, entry != "_score"
    if isinstance(entry, dict) and len(entry) == 1:
        name, spec = next(iter(entry.items()))
        order = spec if isinstance(spec, str) else (spec or {}).get("order", "asc" if name != "_score" else "desc")
        if isinstance(spec, dict) and set(spec) - {"order"}:
            raise ParsingError(f"[inner_hits] sort option [{sorted(set(spec) - {'order'})[0]}] is not supported")
        return str(name), str(order) == "asc"
    raise ParsingError("[inner_hits] malformed sort")


@dataclass(frozen=True)
class _Request:
    node: NestedQuery
    spec: InnerHitsSpec
    query: Query  # the inner query, compiled for the view (documents of node.path)
    children: tuple[_Request, ...]  # nested queries with inner hits inside node.query


def _outermost(ast: Any) -> list[NestedQuery]:
    """The ``nested`` queries of ``ast`` not inside another ``nested`` query."""
    found: list[NestedQuery] = []
    stack: list[Any] = [ast]
    while stack:
        node = stack.pop()
        if isinstance(node, NestedQuery):
            found.append(node)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node))
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return found


class InnerHits:
    """The inner hits of one search on one shard; ``render(seq_no, root_id, version)`` per fetched hit."""

    def __init__(self, requests: list[_Request], view: NestedView, index: str) -> None:
        self.requests = requests
        self.view = view
        self.index = index
        self._matches: dict[int, dict[int, float]] = {}

    def _scores(self, request: _Request) -> dict[int, float]:
        """Score per matching view document of a request's inner query (once per search and shard)."""
        cached = self._matches.get(id(request))
        if cached is None:
            cached = self._matches[id(request)] = {int(o): score for score, o in self.view.matches(request.query)}
        return cached

    def render(self, root_id: str, version: int, seq_no: int, primary_term: int) -> dict[str, Any]:
        parent = {"_version": version, "_seq_no": seq_no, "_primary_term": primary_term}
        return self._level(self.requests, "", root_id, parent)

    def _level(self, requests: list[_Request] | tuple[_Request, ...], level: str, key: str,
               parent: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        out: dict[str, Any] = {}
        for request in requests:
            view, spec = self.view, request.spec
            if request.node.path not in view.paths:
                out[spec.name] = {"hits": {"total": {"value": 0, "relation": "eq"}, "max_score": None, "hits": []}}
                continue
            scores = self._scores(request)
            rows = [(scores[o], o) for o in view.descendants_of(key, request.node.path) if o in scores]
            rows.sort(key=lambda r: (-r[0], r[1]))
            if spec.sort and spec.sort[0][0] != "_score":
                rows = _sorted(view, rows, spec.sort)
            max_score = max((score for score, _ in rows), default=None)
            scored = not spec.sort or spec.sort[0][0] == "_score" or spec.track_scores
            hits = []
            highlighter = None
            if spec.highlight is not None:
                specs = parse_highlight(orjson.loads(spec.highlight))
                highlighter = Highlighter(view.searcher, request.query, view.compiled, specs)
            for score, o in rows[spec.from_ : spec.from_ + spec.size]:
                hit = self._hit(view, o, spec, score if scored else None, parent, highlighter)
                if spec.sort:
                    hit["sort"] = [score if f == "_score" else _value(view.source[o], _relative(view, o, f))
                                   for f, _ in spec.sort]  # fmt: skip
                if request.children:
                    hit["inner_hits"] = self._level(request.children, request.node.path, view.key[o], parent)
                hits.append(hit)
            out[spec.name] = {"hits": {
                "total": {"value": len(rows), "relation": "eq"},
                "max_score": max_score if scored else None,
                "hits": hits,
            }}  # fmt: skip
        return out

    def _hit(
        self,
        view: NestedView,
        o: int,
        spec: InnerHitsSpec,
        score: float | None,
        parent: dict[str, Any],
        highlighter: Highlighter | None,
    ) -> dict[str, Any]:
        from native.aggs.nested import nested_identity

        hit: dict[str, Any] = {"_index": self.index, "_id": view.root_id[o], "_nested": nested_identity(view, o)}
        if spec.version:
            hit["_version"] = parent["_version"]
        if spec.seq_no_primary_term:
            hit["_seq_no"] = parent["_seq_no"]
            hit["_primary_term"] = parent["_primary_term"]
        hit["_score"] = score
        if spec.source and self.source_enabled:
            hit["_source"] = filter_nested_source(view.path[o], view.source[o], spec.includes, spec.excludes)
        fields: dict[str, Any] = {}
        for name in spec.fields:
            if name in ("_seq_no", "_version"):
                fields[name] = [parent[name]]
            else:
                values = leaf_values_at(view.source[o], _relative(view, o, name))
                if values:
                    fields[name] = values
        if fields:
            hit["fields"] = fields
        if highlighter is not None:
            obj = view.source[o] if self.source_enabled else _stored_only(view, o)
            marked = highlighter.highlight(reroot(view.path[o], obj))
            if marked:
                hit["highlight"] = marked
        return hit

    @property
    def source_enabled(self) -> bool:
        body = getattr(self.view.compiled.mapping, "body", None) or {}
        return str((body.get("_source") or {}).get("enabled", True)).lower() != "false"


def _stored_only(view: NestedView, o: int) -> dict[str, Any]:
    """The object's values of ``store: true`` fields only: all a highlighter can read without ``_source``."""
    prefix = view.path[o] + "."
    stored = {leaf.source_path[len(prefix) :] for leaf in view.compiled.leaves
              if leaf.source_path.startswith(prefix) and _flag(leaf.params.get("store"))}  # fmt: skip
    return _keep(view.source[o], stored, "")


def _keep(obj: Any, stored: set[str], prefix: str) -> Any:
    if isinstance(obj, list):
        return [_keep(item, stored, prefix) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = prefix + key
        if path in stored:
            out[key] = value
        elif isinstance(value, dict | list) and any(s.startswith(path + ".") for s in stored):
            out[key] = _keep(value, stored, path + ".")
    return out


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _relative(view: NestedView, o: int, field: str) -> str:
    path = view.path[o]
    return field[len(path) + 1 :] if field.startswith(path + ".") else "\x00"



def _value(obj: Any, path: str) -> Any:
    values = leaf_values_at(obj, path)
    return values[0] if values else None


def _sorted(
    view: NestedView, rows: list[tuple[float, int]], sort: tuple[tuple[str, bool], ...]
) -> list[tuple[float, int]]:
    def key(row: tuple[float, int]) -> tuple[Any, ...]:
        parts: list[Any] = []
        for field, asc in sort:
            value = row[0] if field == "_score" else _value(view.source[row[1]], _relative(view, row[1], field))
            parts.append(_Key(value, asc))
        parts.append(row[1])
        return tuple(parts)

    return sorted(rows, key=key)


class _Key:
    """One sort value: missing values last in either direction, as ES's default ``missing: _last``."""

    __slots__ = ("asc", "value")

    def __init__(self, value: Any, asc: bool) -> None:
        self.value, self.asc = value, asc

    def __lt__(self, other: _Key) -> bool:
        if self.value is None or other.value is None:
            return self.value is not None and other.value is None
        try:
            less = self.value < other.value if self.asc else self.value > other.value
        except TypeError:
            less = str(self.value) < str(other.value) if self.asc else str(self.value) > str(other.value)
        return bool(less)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self.value == other.value


def inner_hits_for(
    ast: QueryAst | None,
    searcher: tantivy.Searcher,
    compiled: Any,
    compile_for: Any,
    index: str,
) -> InnerHits | None:
    """The inner hits to render for a search whose query is ``ast`` (None when it asks for none).
    ``compile_for(ast, view_searcher, level)`` compiles a query for the documents of nested ``level``."""
    if ast is None:
        return None
    nodes = _outermost(ast)
    if not nodes or not any(_wants(n) for n in nodes):
        return None
    view = VIEWS.get(searcher, compiled)

    def build(node: NestedQuery) -> _Request | None:
        children = tuple(r for r in (build(n) for n in _outermost(node.query)) if r is not None)
        if node.inner_hits is None:
            if children:
                raise IllegalArgument(f"[inner_hits] of a nested query inside [nested] query [{node.path}] needs "
                                      "inner_hits on the enclosing nested query")  # fmt: skip
            return None
        spec = parse_inner_hits(orjson.loads(node.inner_hits), node.path)
        query = compile_for(node.query, view.searcher, node.path) if node.path in view.paths else Query.empty_query()
        return _Request(node, spec, query, children)

    requests = [r for r in (build(n) for n in nodes) if r is not None]
    names = [r.spec.name for r in requests]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise IllegalArgument(f"[inner_hits] already contains an entry for key [{duplicate}]")
    return InnerHits(requests, view, index) if requests else None


def _wants(node: NestedQuery) -> bool:
    return node.inner_hits is not None or any(_wants(n) for n in _outermost(node.query))


__all__ = ["InnerHits", "InnerHitsSpec", "inner_hits_for", "parse_inner_hits"]
