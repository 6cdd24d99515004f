"""API resolution (api name -> HTTP request): the resolver interface, and the optional REST API
spec table.

By default API names are resolved by the official ``elasticsearch`` Python client
(:class:`client_api.ClientApi`, no spec files needed).  When spec files are available they can be
used instead (``--api-spec DIR`` or ``$ES_REST_API_SPEC``): :class:`ApiTable`.

The table is read from the Elasticsearch ``rest-api-spec/api/*.json`` files: each file is
``{"<api name>": {"url": {"paths": [{"path", "methods", "parts"}]}, "params": {...},
"body": {...}, "headers": {...}}}``.

Building a request from ``do: {api: {args}}``:

* the path used is the one whose parts are all supplied, with the most parts; the method is
  the first the spec lists (with a body: the first POST/PUT);
* remaining arguments go to the query string (lists comma-joined, booleans ``true``/``false``);
  arguments the spec does not list are sent too (lenient: spec versions drift);
* ``ignore`` (client parameter) lists status codes that are not errors and is not sent;
* ``body``: a mapping is JSON; a string is sent as is; APIs whose spec says
  ``"serialize": "bulk"`` or ``application/x-ndjson``, and any list body, are NDJSON (one JSON
  line per item, strings kept verbatim, trailing newline).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import yaml

__all__ = [
    "ApiPath",
    "ApiResolver",
    "ApiSpec",
    "ApiTable",
    "HttpRequest",
    "RequestBuildError",
    "build_request",
    "default_spec_dirs",
    "param_str",
    "parse_ignore",
    "serialize_body",
]

SPEC_ENV = "ES_REST_API_SPEC"
GLOBAL_PARAMS = frozenset({"error_trace", "filter_path", "human", "pretty", "source", "source_content_type"})
_PATH_SAFE = "!$&'()*+,;=:@"
NDJSON = "application/x-ndjson"
JSON = "application/json"


class RequestBuildError(Exception):
    """The ``do`` section cannot be turned into an HTTP request (unknown api, missing parts)."""


def default_spec_dirs() -> list[Path]:
    """``$ES_REST_API_SPEC`` (os.pathsep-separated) if set, else none (the client resolves APIs)."""
    env = os.environ.get(SPEC_ENV)
    return [Path(p) for p in env.split(os.pathsep) if p] if env else []


class ApiResolver(Protocol):
    """Turns ``do: {<name>: {args}}`` into an :class:`HttpRequest` (raises :class:`RequestBuildError`)."""

    def __contains__(self, name: object) -> bool: ...

    def build(self, name: str, args: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> HttpRequest: ...


@dataclass(frozen=True)
class ApiPath:
    path: str
    methods: tuple[str, ...]
    parts: frozenset[str]


@dataclass(frozen=True)
class ApiSpec:
    name: str
    paths: tuple[ApiPath, ...]
    params: frozenset[str] = frozenset()
    body: str = "none"  # none | optional | required
    ndjson: bool = False

    @classmethod
    def from_json(cls, name: str, doc: Mapping[str, Any]) -> ApiSpec:
        paths = tuple(
            ApiPath(
                path=p["path"],
                methods=tuple(p.get("methods") or ("GET",)),
                parts=frozenset((p.get("parts") or {}).keys()),
            )
            for p in (doc.get("url") or {}).get("paths", [])
        )
        body_spec = doc.get("body")
        body = "none"
        ndjson = False
        if isinstance(body_spec, dict):
            body = "required" if body_spec.get("required") else "optional"
            ndjson = body_spec.get("serialize") == "bulk"
        content_types = (doc.get("headers") or {}).get("content_type") or []
        if content_types and content_types[0] == NDJSON:
            ndjson = True
        return cls(name=name, paths=paths, params=frozenset(doc.get("params") or {}), body=body, ndjson=ndjson)

    def best_path(self, supplied: Iterable[str]) -> ApiPath:
        names = set(supplied)
        candidates = [p for p in self.paths if p.parts <= names]
        if not candidates:
            wanted = sorted({part for p in self.paths for part in p.parts} - names)
            raise RequestBuildError(f"api [{self.name}]: no path matches the supplied parts (missing {wanted})")
        most = max(len(p.parts) for p in candidates)
        return next(p for p in candidates if len(p.parts) == most)


class ApiTable:
    """API name -> :class:`ApiSpec`."""

    def __init__(self, specs: Mapping[str, ApiSpec]) -> None:
        self._specs = dict(specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    @classmethod
    def from_documents(cls, documents: Iterable[Mapping[str, Any]]) -> ApiTable:
        """Build from parsed spec documents (``{"api.name": {...}}`` each); first one wins."""
        specs: dict[str, ApiSpec] = {}
        for doc in documents:
            for name, body in doc.items():
                if name.startswith("_") or not isinstance(body, dict) or "url" not in body:
                    continue
                specs.setdefault(name, ApiSpec.from_json(name, body))
        return cls(specs)

    @classmethod
    def load(cls, dirs: Iterable[str | Path] | None = None) -> ApiTable:
        """Read every ``*.json`` in the given folders (earlier folders win on duplicate names)."""
        folders = [Path(d) for d in dirs] if dirs is not None else default_spec_dirs()
        documents: list[Mapping[str, Any]] = []
        for folder in folders:
            if not folder.is_dir():
                continue
            for file in sorted(folder.glob("*.json")):
                documents.append(json.loads(file.read_text(encoding="utf-8")))
        table = cls.from_documents(documents)
        if not len(table):
            shown = ", ".join(str(f) for f in folders) or "(none)"
            raise FileNotFoundError(f"no REST API spec found in {shown}; pass --api-spec DIR or set ${SPEC_ENV}")
        return table

    def get(self, name: str) -> ApiSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise RequestBuildError(f"api [{name}] is not in the REST API spec") from None

    def build(self, name: str, args: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> HttpRequest:
        return build_request(self.get(name), args, headers)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    ignore: frozenset[int] = frozenset()

    def describe(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return f"{self.method} {self.path}{'?' + query if query else ''}"


def param_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(param_str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _choose_method(methods: tuple[str, ...], has_body: bool) -> str:
    if has_body:
        return next((m for m in methods if m in ("POST", "PUT")), methods[0])
    return methods[0]


def _ndjson_line(item: Any) -> str:
    if isinstance(item, str):
        return item.rstrip("\n")
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def serialize_body(body: Any, content_type: str | None, *, ndjson: bool = False) -> tuple[bytes, str]:
    """Body bytes and content type: JSON (YAML when asked), or NDJSON for bulk-style APIs and lists."""
    if ndjson or isinstance(body, list):
        if isinstance(body, list):
            text = "".join(_ndjson_line(item) + "\n" for item in body)
        elif isinstance(body, str):
            text = body if body.endswith("\n") else body + "\n"
        else:
            text = _ndjson_line(body) + "\n"
        return text.encode("utf-8"), content_type or NDJSON
    if isinstance(body, str):
        return body.encode("utf-8"), content_type or JSON
    if content_type and "yaml" in content_type:
        return yaml.safe_dump(body, allow_unicode=True, sort_keys=False).encode("utf-8"), content_type
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), content_type or JSON


def parse_ignore(value: Any) -> frozenset[int]:
    items = value if isinstance(value, list) else str(value).split(",")
    return frozenset(int(str(v).strip()) for v in items if str(v).strip())


def build_request(spec: ApiSpec, args: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> HttpRequest:
    """Turn resolved ``do`` arguments into an :class:`HttpRequest`."""
    out_headers = {str(k): str(v) for k, v in (headers or {}).items()}
    args = dict(args)
    body = args.pop("body", None)
    ignore = parse_ignore(args.pop("ignore")) if "ignore" in args else frozenset()
    path = spec.best_path(k for k, v in args.items() if v is not None)
    url = path.path
    for part in path.parts:
        encoded = quote(param_str(args.pop(part)), safe=_PATH_SAFE)
        url = url.replace("{" + part + "}", encoded)
    params = tuple((k, param_str(v)) for k, v in args.items() if v is not None)
    payload: bytes | None = None
    if body is not None:
        content_type = next((v for k, v in out_headers.items() if k.lower() == "content-type"), None)
        payload, content_type = serialize_body(body, content_type, ndjson=spec.ndjson)
        out_headers = {k: v for k, v in out_headers.items() if k.lower() != "content-type"}
        out_headers["Content-Type"] = content_type
    method = _choose_method(path.methods, payload is not None)
    return HttpRequest(method=method, path=url, params=params, body=payload, headers=out_headers, ignore=ignore)
