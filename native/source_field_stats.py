"""Stats of the fields whose values live only in ``_source``: ``completion`` sizes and vector counts.

Completion: how many bytes each ``completion`` field's data takes on a shard.

ES reports the memory of the completion FSTs (the ``size_in_bytes`` of Lucene's suggest postings), in total
and, with ``fields`` / ``completion_fields``, per field. A Diagon shard has no FST: the completion suggester
(``native.suggest``) reads each document's inputs from ``_source`` and analyzes them with the field's
analyzer. What it works on is those analyzed inputs and their weights, so that is what is measured here: for
every live document of the searcher and every completion field, the UTF-8 bytes of each analyzed input plus 4
bytes for its weight (ES stores the weight as an int too). Fields with no input on the shard are left out,
as ES leaves out fields absent from a shard's segments.

Vectors (``_stats`` ``dense_vector`` / ``sparse_vector``, ``_cluster/stats``): ES counts the vectors indexed,
one per document and field (``dense_vector`` fields with ``index: true``, the default; every
``sparse_vector`` field). Diagon keeps vectors in ``_source`` only, so the same count is taken there: each live
document and vector field holding a value (a non-empty array, or a non-empty object for ``sparse_vector``).

All of it reads every document's ``_source`` in one pass: callers ask for it only when one of those metrics is
wanted and cache it per searcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import tantivy

from native.fields import SOURCE_FIELD
from native.schema import CompiledMapping
from native.suggest import _inputs, _values_at

__all__ = ["WEIGHT_BYTES", "SourceFieldStats", "source_field_stats"]

WEIGHT_BYTES = 4


@dataclass
class SourceFieldStats:
    completion: dict[str, int] = field(default_factory=dict)  # completion field path → bytes
    dense_vector_values: int = 0
    sparse_vector_values: int = 0


def _dense_indexed(params: Any) -> bool:
    return str((params or {}).get("index", True)).lower() != "false"


def source_field_stats(searcher: tantivy.Searcher, compiled: CompiledMapping) -> SourceFieldStats:
    """Completion sizes and vector counts over the searcher's live documents."""
    out = SourceFieldStats()
    all_leaves = list(compiled.mapping.iter_leaves())
    leaves = [leaf for leaf in all_leaves if leaf.type == "completion"]
    dense = [leaf for leaf in all_leaves if leaf.type == "dense_vector" and _dense_indexed(leaf.params)]
    sparse = [leaf for leaf in all_leaves if leaf.type == "sparse_vector"]
    if not (leaves or dense or sparse):
        return out
    analyzers: list[Any] = []
    for leaf in leaves:
        params = leaf.params or {}
        analyzers.append(compiled.analysis.analyzer(str(params.get("analyzer") or "simple")))
    separators = [" " if str((leaf.params or {}).get("preserve_separators", True)).lower() != "false" else ""
                  for leaf in leaves]  # fmt: skip
    sizes = out.completion
    num_docs = int(searcher.num_docs)
    if not num_docs:
        return out
    for _, addr in searcher.search(tantivy.Query.all_query(), num_docs, count=False).hits:
        stored = searcher.doc(addr).to_dict()
        if SOURCE_FIELD not in stored:
            continue
        source = orjson.loads(bytes(stored[SOURCE_FIELD][0]))
        for leaf, analyzer, separator in zip(leaves, analyzers, separators, strict=True):
            for value in _values_at(source, leaf.source_path):
                for text, _weight in _inputs(value):
                    analyzed = separator.join(analyzer.analyze(text))
                    sizes[leaf.path] = sizes.get(leaf.path, 0) + len(analyzed.encode()) + WEIGHT_BYTES
        out.dense_vector_values += sum(1 for leaf in dense for v in _values_at(source, leaf.source_path)
                                       if isinstance(v, list) and v)  # fmt: skip
        out.sparse_vector_values += sum(1 for leaf in sparse for v in _values_at(source, leaf.source_path)
                                        if isinstance(v, dict) and v)  # fmt: skip
    return out
