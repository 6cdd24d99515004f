"""``include_defaults`` of ``GET _mapping/field``: a field's mapping with the parameters it leaves at their
defaults, as ES 8 lists them for the common field types (explicit values win). Types not listed here show
only their explicit parameters."""

from __future__ import annotations

from typing import Any

__all__ = ["with_defaults"]

_COMMON = {"index": True, "store": False, "meta": {}, "copy_to": [], "fields": {}}
_NUMERIC = {**_COMMON, "doc_values": True, "coerce": True, "ignore_malformed": False, "null_value": None,
            "time_series_dimension": False, "script": None, "on_script_error": "fail"}  # fmt: skip
DEFAULTS: dict[str, dict[str, Any]] = {
    "text": {**_COMMON, "analyzer": "default", "search_analyzer": "default", "search_quote_analyzer": "default",
             "norms": True, "index_options": "positions", "eager_global_ordinals": False, "fielddata": False,
             "position_increment_gap": 100, "similarity": "BM25", "term_vector": "no", "index_phrases": False},
    "keyword": {**_COMMON, "doc_values": True, "ignore_above": 2147483647, "null_value": None, "norms": False,
                "index_options": "docs", "eager_global_ordinals": False, "similarity": "BM25",
                "split_queries_on_whitespace": False, "normalizer": None, "time_series_dimension": False,
                "script": None, "on_script_error": "fail"},
    **{t: dict(_NUMERIC) for t in ("long", "integer", "short", "byte", "double", "float", "half_float",
                                   "unsigned_long")},
    "scaled_float": dict(_NUMERIC),
    "date": {**_COMMON, "doc_values": True, "format": "strict_date_optional_time||epoch_millis", "locale": "",
             "ignore_malformed": False, "null_value": None, "script": None, "on_script_error": "fail"},
    "boolean": {**_COMMON, "doc_values": True, "null_value": None, "script": None, "on_script_error": "fail"},
    "ip": {**_COMMON, "doc_values": True, "ignore_malformed": False, "null_value": None, "script": None,
           "on_script_error": "fail", "time_series_dimension": False},
}  # fmt: skip


def with_defaults(field: dict[str, Any]) -> dict[str, Any]:
    """``field`` (one mapped field's parameters) completed with its type's defaults."""
    defaults = DEFAULTS.get(str(field.get("type", "object")))
    if defaults is None:
        return dict(field)
    out = {**defaults, **field}
    if "analyzer" in field:  # the search analyzers default to the index analyzer, as in ES
        if "search_analyzer" not in field:
            out["search_analyzer"] = field["analyzer"]
        if "search_quote_analyzer" not in field:
            out["search_quote_analyzer"] = out["search_analyzer"]
    return out
