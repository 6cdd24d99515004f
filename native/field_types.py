"""ES field types as the mapping layer knows them, and ``Leaf``: one indexable field of a mapping.

Shared by ``native.mapping`` (the mapping model) and ``native.values`` (source value conversion).
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any

from native.fields import NUMERIC_FLOAT_TYPES, NUMERIC_INT_TYPES

RANGE_TYPES: dict[str, str] = {
    "integer_range": "integer", "long_range": "long", "float_range": "float", "double_range": "double",
    "date_range": "date", "ip_range": "ip",
}  # fmt: skip
GEO_POINT_TYPES = frozenset({"geo_point"})
# Accepted and kept in _source only: nothing is indexed for them.
SOURCE_ONLY_TYPES = frozenset(
    {"geo_shape", "shape", "point", "binary", "dense_vector", "sparse_vector", "rank_feature", "rank_features",
     "completion"}
)  # fmt: skip
LEAF_TYPES = frozenset(
    {"text", "keyword", "date", "boolean", "ip", "match_only_text", "constant_keyword", "wildcard", "date_nanos",
     "version", "search_as_you_type", "token_count", "flattened", "alias"}
    | NUMERIC_INT_TYPES
    | NUMERIC_FLOAT_TYPES
    | set(RANGE_TYPES)
    | GEO_POINT_TYPES
    | SOURCE_ONLY_TYPES
)  # fmt: skip
# ``passthrough`` (ES 8.13+): an object whose dotted sub-field names stay whole and whose fields are also
# reachable by their name without its prefix (``native.schema`` aliases them; the highest ``priority`` wins).
OBJECT_TYPES = frozenset({"object", "nested", "passthrough"})
METADATA_FIELDS = frozenset(
    {"_id", "_index", "_source", "_routing", "_seq_no", "_version", "_primary_term", "_field_names",
     "_ignored", "_doc_count", "_tier", "_data_stream_timestamp"}
)  # fmt: skip
INT_RANGES = {
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
    "unsigned_long": (0, 2**64 - 1),
    "token_count": (-(2**31), 2**31 - 1),
}

@dataclass(frozen=True)
class Leaf:
    """One indexable leaf: a mapped field or one of its multi-fields (``title.keyword``)."""

    path: str
    type: str
    params: MappingABC[str, Any]
    # Where the value comes from in ``_source``: the parent's path for a multi-field.
    source_path: str = ""

    @property
    def searchable(self) -> bool:
        """ES ``field_caps`` searchable: indexed, or numeric/keyword-like with doc values (ES 8.1+)."""
        if self.type == "binary":
            return False
        if self.params.get("index", True) is not False:
            return True
        if self.type in ("text", "match_only_text", "search_as_you_type"):
            return False
        return self.params.get("doc_values", True) is not False

    @property
    def aggregatable(self) -> bool:
        """ES ``field_caps`` aggregatable: doc values (text only with ``fielddata``)."""
        if self.type in ("text", "match_only_text", "search_as_you_type"):
            return bool(self.params.get("fielddata", False))
        if self.type in SOURCE_ONLY_TYPES or self.type == "alias":
            return False
        return self.params.get("doc_values", True) is not False
