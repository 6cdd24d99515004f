"""The ``completion`` section of ``_stats``: how many bytes each ``completion`` field's data takes on a shard.

ES reports the memory of the completion FSTs (the ``size_in_bytes`` of Lucene's suggest postings), in total
and, with ``fields`` / ``completion_fields``, per field. A Diagon shard has no FST: the completion suggester
(``native.suggest``) reads each document's inputs from ``_source`` and analyzes them with the field's
analyzer. What it works on is those analyzed inputs and their weights, so that is what is measured here: for
every live document of the searcher and every completion field, the UTF-8 bytes of each analyzed input plus 4
bytes for its weight (ES stores the weight as an int too). Fields with no input on the shard are left out,
as ES leaves out fields absent from a shard's segments. It reads every document's ``_source``: callers ask
for it only when the ``completion`` metric is wanted and cache it per searcher.
"""

from __future__ import annotations

from typing import Any

import orjson
import tantivy

from native.fields import SOURCE_FIELD
from native.schema import CompiledMapping
from native.suggest import _inputs, _values_at

__all__ = ["WEIGHT_BYTES", "completion_sizes"]

WEIGHT_BYTES = 4


def completion_sizes(searcher: tantivy.Searcher, compiled: CompiledMapping) -> dict[str, int]:
    """Completion field path → bytes of its analyzed inputs and weights over the searcher's live documents."""
    leaves = [leaf for leaf in compiled.mapping.iter_leaves() if leaf.type == "completion"]
    if not leaves:
        return {}
    analyzers: list[Any] = []
    for leaf in leaves:
        params = leaf.params or {}
        analyzers.append(compiled.analysis.analyzer(str(params.get("analyzer") or "simple")))
    separators = [" " if str((leaf.params or {}).get("preserve_separators", True)).lower() != "false" else ""
                  for leaf in leaves]  # fmt: skip
    sizes: dict[str, int] = {}
    num_docs = int(searcher.num_docs)
    if not num_docs:
        return sizes
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
    return sizes
