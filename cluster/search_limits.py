"""Per-index limits a search request is checked against before fan-out (ES checks them on each shard).

``ids`` count, the result window (``index.max_result_window``; a scroll's batch size), the rescore window
(``index.max_rescore_window``), ``index.max_script_fields`` and ``index.max_docvalue_fields_search``; scripts
themselves are refused after their count is checked, as ES orders it.
"""

from __future__ import annotations

from collections.abc import Sequence

from cluster.search_request import SearchSpec
from cluster.state import IndexMeta
from native.errors import IllegalArgument, QuidditchError, ScriptingDisabled, SearchPhaseError
from native.query import QueryAst
from native.query.limits import check_ids_window

__all__ = ["validate_window"]


def validate_window(
    spec: SearchSpec, indices: Sequence[IndexMeta], scroll: bool = False, default_window: int = 10_000,
    query: QueryAst | None = None,
) -> None:  # fmt: skip
    """Per-index limits that ES checks on the shard: ``ids`` count (while creating the query), then the window."""
    for meta in indices:
        window = int(meta.setting("index.max_result_window") or default_window)
        if query is not None:
            try:
                check_ids_window(query, window, meta.name)
            except QuidditchError as exc:
                raise SearchPhaseError("all shards failed", caused_by=exc) from None
        if scroll and spec.size > window:
            raise SearchPhaseError(
                "all shards failed",
                caused_by=IllegalArgument(
                    f"Batch size is too large, size must be less than or equal to: [{window}] but was [{spec.size}]. "
                    "Scroll batch sizes cost as much memory as result windows so they are controlled by the "
                    "[index.max_result_window] index level setting."
                ),
            )
        max_script_fields = int(meta.setting("index.max_script_fields") or 32)
        if spec.script_fields > max_script_fields:
            raise SearchPhaseError(
                "all shards failed",
                caused_by=IllegalArgument(
                    f"Trying to retrieve too many script_fields. Must be less than or equal to: [{max_script_fields}] "
                    f"but was [{spec.script_fields}]. This limit can be set by changing the [index.max_script_fields] "
                    "index level setting."
                ),
            )
        max_docvalue_fields = int(meta.setting("index.max_docvalue_fields_search") or 100)
        if len(spec.docvalue_fields) > max_docvalue_fields:
            raise SearchPhaseError(
                "all shards failed",
                caused_by=IllegalArgument(
                    f"Trying to retrieve too many docvalue_fields. Must be less than or equal to: "
                    f"[{max_docvalue_fields}] but was [{len(spec.docvalue_fields)}]. This limit can be set by "
                    "changing the [index.max_docvalue_fields_search] index level setting."
                ),
            )
        rescore_window = int(meta.setting("index.max_rescore_window") or window)
        for rescorer in spec.rescore:
            if rescorer.window_size > rescore_window:
                raise SearchPhaseError(
                    "all shards failed",
                    caused_by=IllegalArgument(
                        f"Rescore window [{rescorer.window_size}] is too large. It must be less than "
                        f"[{rescore_window}]. This prevents allocating massive heaps for storing the results to be "
                        "rescored. This limit can be set by changing the [index.max_rescore_window] index level "
                        "setting."
                    ),
                )
        if spec.from_ + spec.size > window and not scroll:
            raise SearchPhaseError(
                "all shards failed",
                caused_by=IllegalArgument(
                    f"Result window is too large, from + size must be less than or equal to: [{window}] but was "
                    f"[{spec.from_ + spec.size}]. See the scroll api for a more efficient way to request large "
                    "data sets. This limit can be set by changing the [index.max_result_window] index level "
                    "setting."
                ),
            )
    if spec.script_fields:
        raise ScriptingDisabled("cannot execute [inline] scripts")
