"""Generic Elasticsearch state wipe run before every test.

Deletes data streams, all indices (``DELETE /*?expand_wildcards=all``; if the server refuses
wildcard deletes - ``action.destructive_requires_name`` - the indices are listed with
``_cat/indices`` and deleted by name), and every non-managed, non-dot composable, component and
legacy index template.  Errors are ignored; a listing endpoint that answers 400/404/405/501 is
taken as unsupported and not called again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .client import HttpClient, Response, TransportFailure

__all__ = ["Cleaner"]

_UNSUPPORTED = frozenset({400, 404, 405, 501})
_CHUNK = 50


def _is_managed(template: Any) -> bool:
    if not isinstance(template, dict):
        return False
    meta = template.get("_meta") or {}
    return isinstance(meta, dict) and meta.get("managed") is True


class Cleaner:
    def __init__(self, client: HttpClient) -> None:
        self.client = client
        self._unsupported: set[str] = set()

    def _call(self, method: str, path: str, params: dict[str, str] | None = None) -> Response | None:
        try:
            return self.client.simple(method, path, params)
        except TransportFailure:
            return None

    def _list(self, path: str, params: dict[str, str] | None = None) -> Any:
        if path in self._unsupported:
            return None
        response = self._call("GET", path, params)
        if response is None:
            return None
        if response.status in _UNSUPPORTED:
            self._unsupported.add(path)
            return None
        return response.body if response.parsed and not response.is_error else None

    def wipe(self) -> None:
        self._call("DELETE", "/_data_stream/*", {"expand_wildcards": "all"})
        self._delete_indices()
        self._delete_templates()

    def _delete_indices(self) -> None:
        response = self._call("DELETE", "/*", {"expand_wildcards": "all"})
        if response is None or not response.is_error or response.status == 404:
            return
        listing = self._list("/_cat/indices", {"format": "json", "h": "index", "expand_wildcards": "all"})
        names = [row["index"] for row in listing or [] if isinstance(row, dict) and row.get("index")]
        names = [n for n in names if not n.startswith(".")]
        for start in range(0, len(names), _CHUNK):
            chunk = ",".join(names[start : start + _CHUNK])
            self._call("DELETE", f"/{chunk}", {"ignore_unavailable": "true"})

    def _delete_templates(self) -> None:
        composable = self._list("/_index_template")
        if isinstance(composable, dict):
            for item in composable.get("index_templates") or []:
                name = item.get("name", "")
                if name and not name.startswith(".") and not _is_managed(item.get("index_template")):
                    self._call("DELETE", f"/_index_template/{quote(name, safe='')}")
        components = self._list("/_component_template")
        if isinstance(components, dict):
            for item in components.get("component_templates") or []:
                name = item.get("name", "")
                if name and not name.startswith(".") and not _is_managed(item.get("component_template")):
                    self._call("DELETE", f"/_component_template/{quote(name, safe='')}")
        legacy = self._list("/_template")
        if isinstance(legacy, dict):
            for name in legacy:
                if not name.startswith("."):
                    self._call("DELETE", f"/_template/{quote(name, safe='')}")
