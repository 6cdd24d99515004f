"""How an ES field path maps onto the tantivy schema of a shard.

Every leaf field of the ES mapping (``title``, ``title.keyword``, ``user.name``) becomes one typed
tantivy field whose name is ``FieldInfo.tantivy_name``. Query compilers and aggregation executors
never build tantivy field names themselves: they ask a ``FieldResolver``.

Storage per ES type (the contract other modules rely on):

==================  ==========================================================================
ES type             tantivy field
==================  ==========================================================================
text                text, tokenizer = the field's index analyzer, positions, not fast
keyword             text, tokenizer = the keyword normalizer (``raw`` when none), fast
long/integer/short  i64, indexed + fast
/byte
double/float/       f64, indexed + fast (scaled_float is rounded to its scaling factor first)
half_float/
scaled_float
date                i64 **epoch milliseconds**, indexed + fast
date_nanos          i64 epoch milliseconds (as ``date``) + hidden i64 ``<name>_ns`` **epoch nanoseconds**
                    (``extra["nanos"]``; queries and sort read it, see ``native.date_nanos``)
boolean             bool, indexed + fast
ip                  ip address, indexed + fast (IPv4 stored as IPv4-mapped IPv6)
==================  ==========================================================================

Metadata fields always present: ``_id`` (raw text, fast), ``_source`` (stored bytes), ``_seq_no``,
``_version``, ``_primary_term`` (i64 stored + fast) and ``_field_names`` (raw text listing each
leaf path present in the document, which is how ``exists`` works on non-fast fields).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import tantivy

NUMERIC_INT_TYPES = frozenset({"long", "integer", "short", "byte", "unsigned_long"})
NUMERIC_FLOAT_TYPES = frozenset({"double", "float", "half_float", "scaled_float"})
NUMERIC_TYPES = NUMERIC_INT_TYPES | NUMERIC_FLOAT_TYPES
# tantivy column types holding whole numbers (i64 columns, and u64 ones for ``unsigned_long``)
INTEGRAL_COLUMNS = (tantivy.FieldType.Integer, tantivy.FieldType.Unsigned)
NUMERIC_COLUMNS = (tantivy.FieldType.Integer, tantivy.FieldType.Unsigned, tantivy.FieldType.Float)
# Types whose values live in a numeric fast column (fast_field_values works on them).
COLUMNAR_NUMERIC_TYPES = NUMERIC_TYPES | {"date", "boolean"}

ID_FIELD = "_id"
SOURCE_FIELD = "_source"
SEQ_NO_FIELD = "_seq_no"
VERSION_FIELD = "_version"
PRIMARY_TERM_FIELD = "_primary_term"
FIELD_NAMES_FIELD = "_field_names"
# ``_ignored`` (native.ignored) is indexed as ``IGNORED_PREFIX + path`` terms of ``_field_names``
IGNORED_FIELD = "_ignored"
IGNORED_PREFIX = "\x00ignored:"
ROUTING_FIELD = "_routing"  # the custom routing value a document was written with (stored, raw)


@dataclass(frozen=True)
class FieldInfo:
    """One mapped leaf field as the query and aggregation layers see it."""

    path: str
    es_type: str
    tantivy_name: str
    # Tokenizes query text the way the field's search analyzer does (text and keyword fields).
    analyze: Callable[[str], list[str]] | None = None
    date_formats: tuple[str, ...] = ("strict_date_optional_time", "epoch_millis")
    scaling_factor: float | None = None
    ignore_above: int | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_numeric(self) -> bool:
        return self.es_type in NUMERIC_TYPES

    @property
    def tantivy_type(self) -> tantivy.FieldType:
        if self.es_type == "unsigned_long":
            return tantivy.FieldType.Unsigned
        if self.es_type in NUMERIC_INT_TYPES or self.es_type == "date":
            return tantivy.FieldType.Integer
        if self.es_type in NUMERIC_FLOAT_TYPES:
            return tantivy.FieldType.Float
        if self.es_type == "boolean":
            return tantivy.FieldType.Boolean
        if self.es_type == "ip":
            return tantivy.FieldType.IpAddr
        return tantivy.FieldType.Text


class FieldResolver(Protocol):
    """The mapping of one index, as compiled against one tantivy schema."""

    @property
    def schema(self) -> tantivy.Schema: ...

    def field(self, path: str) -> FieldInfo | None:
        """The leaf field at ``path`` or None when unmapped."""

    def expand(self, pattern: str) -> Sequence[FieldInfo]:
        """Leaf fields matching an ES field pattern (``*``, ``title*``, ``user.*``), in mapping order."""

    def default_fields(self) -> Sequence[FieldInfo]:
        """Fields searched when a query names none (``index.query.default_field``, ``*``)."""
