"""``_field_caps?include_empty_fields=false``: only the fields some document of the index has a value for.

ES reads that from each shard's Lucene field infos; here each candidate field is asked with an ``exists``
count over the index (metadata fields are always kept, an object is kept while a field under it is).
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from typing import Any, Protocol

from cluster.state import IndexMeta


class _Counter(Protocol):
    async def count(self, metas: list[IndexMeta], query: Any) -> dict[str, Any]: ...


async def drop_empty_fields(root: _Counter, meta: IndexMeta, caps: MappingABC[str, Any]) -> dict[str, Any]:
    """``caps`` (one index's field → capability, each with ``type`` and ``metadata``) without the fields no
    document of ``meta`` has a value for."""
    kept: dict[str, Any] = {}
    objects: dict[str, Any] = {}
    for name, cap in caps.items():
        if cap.metadata:
            kept[name] = cap
        elif cap.type in ("object", "nested"):
            objects[name] = cap
        elif (await root.count([meta], {"exists": {"field": name}}))["count"] > 0:
            kept[name] = cap
    for name, cap in objects.items():
        if any(other.startswith(name + ".") for other in kept):
            kept[name] = cap
    return kept
