"""``_explain`` and ``_validate/query`` on the shards of this node.

Both compile the ES query with the code the search uses (``native.query``) against one shard's compiled
mapping. ``explain`` asks tantivy (``Query.explain``) why one document scores what it does and rewrites
tantivy's explanation tree into Lucene's vocabulary, which is what ES clients and people expect to read:

    tantivy                                    ES / Lucene
    TermQuery, product of... (context Term=…)  weight(field:term in doc) [PerFieldSimilarity], result of:
                                                 score(freq=f), computed as boost * idf * tf from:
    (K1+1)                                     boost
    idf, computed as …                         idf, computed as log(1 + (N - n + 0.5) / (n + 0.5)) from:
    freq / (freq + k1 * …)                     tf, computed as freq / (freq + k1 * (1 - b + b * dl / avgdl)) from:
    BooleanClause. sum of ...                  sum of: (or "max of:" / "max plus t times others of:" for dis_max)
    Boost xB of ...                            product of: [inner, boost]
    Const / AllQuery / ExistsQuery / …         kept, with the field name where tantivy gives one

Tantivy's explanations name fields by schema ordinal; the names come from the shard's ``meta.json``.
The searcher is the shard's latest refreshed one, as in ES (explain is not realtime).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

import orjson
import tantivy

from native.fields import ID_FIELD, PRIMARY_TERM_FIELD, SEQ_NO_FIELD, SOURCE_FIELD, VERSION_FIELD
from native.query import QueryAst, compile_query
from native.schema import CompiledMapping
from native.shard import Shard

_TERM = re.compile(r"Term\(field=(\d+), type=(\w+), (.*)\)$", re.S)
_DEBUG_TERM = re.compile(r'Term\(field=(\d+), type=(\w+), ("(?:[^"\\]|\\.)*"|[^)]*)\)')


def decode_tantivy_name(name: str) -> str:
    """The inverse of ``native.schema.tantivy_name`` (metadata fields are not encoded)."""
    if not name.startswith("f_"):
        return name
    out: list[str] = []
    i, text = 0, name[2:]
    while i < len(text):
        ch = text[i]
        if ch != "_":
            out.append(ch)
            i += 1
        elif text[i + 1 : i + 2] == "_":
            out.append("_")
            i += 2
        else:
            end = text.find("_", i + 1)
            if end < 0:  # a hidden column's raw suffix (``_lat``, ``_gte``…), kept as it is
                out.append(text[i:])
                break
            out.append(chr(int(text[i + 1 : end], 16)))
            i = end + 1
    return "".join(out)


def field_names(shard: Shard) -> list[str]:
    """ES field paths by tantivy field ordinal (hidden two-field types keep their suffix)."""
    path = os.path.join(shard.path, f"index.{shard.generation}", "meta.json")
    try:
        with open(path, "rb") as fh:
            schema = orjson.loads(fh.read())["schema"]
    except (OSError, KeyError, ValueError):
        return []
    return [decode_tantivy_name(str(f["name"])) for f in schema]


def _term_text(kind: str, raw: str) -> str:
    raw = raw.strip()
    if kind == "Str" and raw.startswith('"'):
        try:
            return str(json.loads(raw))
        except ValueError:
            return raw.strip('"')
    return raw


def _field(names: list[str], ordinal: str) -> str:
    i = int(ordinal)
    return names[i] if i < len(names) else f"field#{i}"


def query_string(query: tantivy.Query, names: list[str]) -> str:
    """A readable rendering of a compiled query: tantivy's debug form with field names and terms inlined."""
    text = repr(query)
    if text.startswith("Query(") and text.endswith(")"):
        text = text[6:-1]
    if text == "AllQuery":
        return "*:*"
    match_all = re.fullmatch(r"Const\(score=([0-9.eE+-]+), query=AllQuery\)", text)
    if match_all:  # match_all compiles to a constant score (see native.query.compile.match_all)
        score = float(match_all.group(1))
        return "*:*" if score == 1.0 else f"(*:*)^{score}"
    return _DEBUG_TERM.sub(lambda m: f"{_field(names, m.group(1))}:{_term_text(m.group(2), m.group(3))}", text)


def _node(value: float, description: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"value": value, "description": description, "details": details or []}


def _bm25(node: dict[str, Any], field: str, term: str, doc: int) -> dict[str, Any]:
    parts = node.get("details") or []
    boost = next((p for p in parts if p.get("description") == "(K1+1)"), None)
    idf = next((p for p in parts if str(p.get("description", "")).startswith("idf")), None)
    tf = next((p for p in parts if str(p.get("description", "")).startswith("freq /")), None)
    label = f"weight({field}:{term} in {doc}) [PerFieldSimilarity], result of:"
    if boost is None or idf is None or tf is None:
        return _node(node["value"], label, [convert(p, [], doc) for p in parts])
    tf_parts = {str(p["description"]).split(",")[0]: p["value"] for p in tf.get("details") or []}
    idf_parts = {str(p["description"]).split(",")[0]: p["value"] for p in idf.get("details") or []}
    freq = tf_parts.get("freq", 1.0)
    idf_details = [
        _node(idf_parts["n"], "n, number of documents containing term"),
        _node(idf_parts["N"], "N, total number of documents with field"),
    ] if "n" in idf_parts and "N" in idf_parts else []  # fmt: skip
    tf_details = [
        _node(tf_parts[k], desc)
        for k, desc in (
            ("freq", "freq, occurrences of term within document"),
            ("k1", "k1, term saturation parameter"),
            ("b", "b, length normalization parameter"),
            ("dl", "dl, length of field"),
            ("avgdl", "avgdl, average length of field"),
        )
        if k in tf_parts
    ]
    score = _node(node["value"], f"score(freq={float(freq)}), computed as boost * idf * tf from:", [
        _node(boost["value"], "boost"),
        _node(idf["value"], "idf, computed as log(1 + (N - n + 0.5) / (n + 0.5)) from:", idf_details),
        _node(tf["value"], "tf, computed as freq / (freq + k1 * (1 - b + b * dl / avgdl)) from:", tf_details),
    ])  # fmt: skip
    return _node(node["value"], label, [score])


def convert(node: dict[str, Any], names: list[str], doc: int) -> dict[str, Any]:
    """One tantivy explanation node (``Explanation.to_json``) → ES's ``{value, description, details}``."""
    value = float(node.get("value", 0.0))
    description = str(node.get("description", ""))
    children = node.get("details") or []
    for ctx in node.get("context") or []:
        match = _TERM.search(str(ctx))
        if match and description.startswith("TermQuery"):
            return _bm25(node, _field(names, match.group(1)), _term_text(match.group(2), match.group(3)), doc)
    details = [convert(c, names, doc) for c in children]
    if description.startswith("BooleanClause"):
        values = [d["value"] for d in details]
        if values and abs(sum(values) - value) > 1e-4 * max(1.0, abs(value)):
            top = max(values)
            rest = sum(values) - top
            if rest > 0 and abs(value - top) > 1e-6:
                tie = round((value - top) / rest, 4)
                return _node(value, f"max plus {tie} times others of:", details)
            return _node(value, "max of:", details)
        return _node(value, "sum of:", details)
    boost = re.match(r"Boost x([0-9.eE+-]+) of", description)
    if boost:
        return _node(value, "product of:", [*details, _node(float(boost.group(1)), "boost")])
    if description == "AllQuery":
        return _node(value, "*:*", details)
    if description == "Const":
        if len(details) == 1 and details[0]["description"] == "*:*":  # match_all's constant score
            return _node(value, "*:*")
        return _node(value, "ConstantScore", details)
    return _node(value, description, details)


@dataclass(frozen=True)
class ExplainResult:
    found: bool
    matched: bool = False
    explanation: dict[str, Any] | None = None
    version: int = 0
    seq_no: int = 0
    primary_term: int = 0
    source: bytes = b""


def explain_doc(shard: Shard, doc_id: str, ast: QueryAst, *, now_millis: int, max_clause_count: int) -> ExplainResult:
    """Why (and how much) ``doc_id`` matches ``ast`` on this shard's latest refreshed searcher."""
    _, searcher, compiled = shard.view()
    hits = searcher.search(tantivy.Query.term_query(compiled.schema, ID_FIELD, doc_id), 1, count=False).hits
    if not hits:
        return ExplainResult(found=False)
    address = hits[0][1]
    stored = searcher.doc(address).to_dict()
    meta: dict[str, Any] = {
        "version": int(stored[VERSION_FIELD][0]),
        "seq_no": int(stored[SEQ_NO_FIELD][0]),
        "primary_term": int(stored[PRIMARY_TERM_FIELD][0]),
        "source": bytes(stored[SOURCE_FIELD][0]),
    }
    query = compile_query(ast, compiled, now_millis=now_millis, max_clause_count=max_clause_count, searcher=searcher)
    try:
        raw = json.loads(query.explain(searcher, address).to_json())
    except ValueError:
        return ExplainResult(True, False, _node(0.0, "no matching term"), **meta)
    return ExplainResult(True, True, convert(raw, field_names(shard), address.doc), **meta)


def validate_on(
    compiled: CompiledMapping, ast: QueryAst, names: list[str], *, now_millis: int, max_clause_count: int
) -> str:
    """Compile ``ast`` against one index; the query's rendering, or the compile error (raised)."""
    query = compile_query(ast, compiled, now_millis=now_millis, max_clause_count=max_clause_count)
    return query_string(query, names)
