"""API names resolved to HTTP requests by the official ``elasticsearch`` Python client.

No REST API spec files are needed: the client's generated methods (``elasticsearch/_sync/client``)
know every API's URL templates and methods.  For ``do: {indices.create: {index: i, body: {...}}}``
the method ``Elasticsearch.indices.create`` is called with the *path parts* only (and a
placeholder body when the YAML has one); the client's ``perform_request`` is intercepted, so
nothing is sent by the client.  From the captured call the runner takes the HTTP method, the
path (parts already percent-encoded by the client) and whether the API is NDJSON
(``content-type: application/x-ndjson``).  Everything else is built from the YAML as written:

* every argument that is not a path part (and not ``body``/``ignore``) goes to the query string,
  including parameters the client does not know (tests of unknown-parameter errors need them);
* the body is the YAML body, serialized by :func:`api.serialize_body` (JSON, or NDJSON for
  bulk-style APIs and list bodies) - the client never rewrites or drops keys;
* headers are the ``do`` section's ``headers`` only (no client compatibility headers).

Path parts are the method parameters the client percent-encodes into the URL
(``_quote(<param>)`` in the method's source).  An API whose client method insists on a body
(or on a body field such as ``scroll_id`` that the YAML passes as a query parameter) while the
YAML sends none is resolved with a placeholder body that is not sent.

One 9.x client change is undone: APIs that gained a body only for the serverless
``project_routing`` field (``cat.count``, ``indices.resolve_index``) are sent by the 9.x client
as POST, but Elasticsearch 8 serves them with GET only; without a body they are sent as GET.
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .api import HttpRequest, RequestBuildError, param_str, parse_ignore, serialize_body

__all__ = ["ClientApi"]

_PART = re.compile(r'"(\w+)":\s*_quote\((\w+)\)')
_ROUTING_ONLY_BODY = re.compile(r'body_fields=\(\s*"project_routing",\s*\)')
_NDJSON_NAMES = frozenset({"bulk", "msearch", "msearch_template", "fleet.msearch", "monitoring.bulk"})


class _Captured(Exception):
    def __init__(self, method: str, path: str, headers: Mapping[str, str], parts: Mapping[str, Any]):
        super().__init__(method, path)
        self.method = method
        self.path = path
        self.headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        self.parts = dict(parts or {})


def _capturing_client_class() -> type:
    from elasticsearch import Elasticsearch

    class CapturingElasticsearch(Elasticsearch):  # type: ignore[misc]
        """Builds requests like the real client but raises :class:`_Captured` instead of sending."""

        def perform_request(  # type: ignore[override]
            self,
            method: str,
            path: str,
            *,
            params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None,
            body: Any = None,
            endpoint_id: str | None = None,
            path_parts: Mapping[str, Any] | None = None,
        ) -> Any:
            raise _Captured(method, path, headers or {}, path_parts or {})

    return CapturingElasticsearch


@dataclass(frozen=True)
class _Endpoint:
    name: str
    func: Callable[..., Any]
    parts: Mapping[str, frozenset[str]]  # method parameter -> the URL part key(s) it fills
    takes_body: bool
    routing_only_body: bool  # the only body field is the 9.x serverless ``project_routing``


class ClientApi:
    """API name -> :class:`HttpRequest`, through the installed ``elasticsearch`` client."""

    def __init__(self) -> None:
        try:
            cls = _capturing_client_class()
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise RuntimeError("the elasticsearch Python client is required (pip install elasticsearch)") from exc
        self._es = cls("http://capture.invalid:9200")
        self._endpoints: dict[str, _Endpoint | None] = {}

    @property
    def client_version(self) -> str:
        import elasticsearch

        return ".".join(str(p) for p in elasticsearch.__version__)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._endpoint(name) is not None

    def _endpoint(self, name: str) -> _Endpoint | None:
        if name in self._endpoints:
            return self._endpoints[name]
        endpoint: _Endpoint | None = None
        target: Any = self._es
        for piece in name.split("."):
            if not piece or piece.startswith("_"):
                target = None
                break
            target = getattr(target, piece, None)
            if target is None:
                break
        if target is not None and inspect.ismethod(target):
            try:
                source = inspect.getsource(inspect.unwrap(target))
            except (OSError, TypeError):
                source = ""
            if "perform_request(" in source:
                parameters = inspect.signature(target).parameters
                endpoint = _Endpoint(
                    name=name,
                    func=target,
                    parts=_parts(source),
                    takes_body="body" in parameters,
                    routing_only_body=_ROUTING_ONLY_BODY.search(source) is not None,
                )
        self._endpoints[name] = endpoint
        return endpoint

    def _capture(self, endpoint: _Endpoint, kwargs: dict[str, Any], placeholder: bool) -> _Captured:
        call = dict(kwargs)
        if placeholder and endpoint.takes_body:
            call["body"] = {}
        try:
            with warnings.catch_warnings():  # "technical preview" and deprecation notices
                warnings.simplefilter("ignore")
                endpoint.func(**call)
        except _Captured as captured:
            return captured
        raise RequestBuildError(f"api [{endpoint.name}]: the client did not build a request")

    def build(self, name: str, args: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> HttpRequest:
        endpoint = self._endpoint(name)
        if endpoint is None:
            raise RequestBuildError(f"api [{name}] is not known to the elasticsearch client")
        out_headers = {str(k): str(v) for k, v in (headers or {}).items()}
        args = dict(args)
        body = args.pop("body", None)
        ignore = parse_ignore(args.pop("ignore")) if "ignore" in args else frozenset()
        part_args = {k: _part_value(v) for k, v in args.items() if k in endpoint.parts and v is not None}
        # a query parameter the client method requires (``requests_per_second`` of the rethrottle APIs) is
        # given to it too, so it builds the request; it is sent from ``args`` like every other parameter
        required = {n for n, p in inspect.signature(endpoint.func).parameters.items()
                    if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty}  # fmt: skip
        part_args.update({k: args[k] for k in required - part_args.keys() if args.get(k) is not None})
        try:
            try:
                captured = self._capture(endpoint, part_args, placeholder=body is not None)
            except ValueError:
                if body is not None or not endpoint.takes_body:
                    raise
                # the client insists on a body (or a body field given in the YAML as a parameter,
                # e.g. ``scroll_id``): resolve with a placeholder body, which is not sent
                captured = self._capture(endpoint, part_args, placeholder=True)
        except (TypeError, ValueError) as exc:
            raise RequestBuildError(f"api [{name}]: {exc}") from None
        used = {k for k in part_args if endpoint.parts.get(k, frozenset()) & captured.parts.keys()}
        params = tuple((k, param_str(v)) for k, v in args.items() if k not in used and v is not None)
        payload: bytes | None = None
        if body is not None:
            ndjson = "ndjson" in captured.headers.get("content-type", "") or name in _NDJSON_NAMES
            content_type = next((v for k, v in out_headers.items() if k.lower() == "content-type"), None)
            payload, content_type = serialize_body(body, content_type, ndjson=ndjson)
            out_headers = {k: v for k, v in out_headers.items() if k.lower() != "content-type"}
            out_headers["Content-Type"] = content_type
        method = captured.method.upper()
        if method == "POST" and payload is None and endpoint.routing_only_body:
            method = "GET"  # cat.count, indices.resolve_index: GET-only in Elasticsearch 8
        return HttpRequest(
            method=method,
            path=captured.path,
            params=params,
            body=payload,
            headers=out_headers,
            ignore=ignore,
        )


def _parts(source: str) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for key, param in _PART.findall(source):
        found.setdefault(param, set()).add(key)
    return {param: frozenset(keys) for param, keys in found.items()}


def _part_value(value: Any) -> Any:
    """Path part values as the Java runner renders them (lists comma-joined, booleans lowercase)."""
    if isinstance(value, list | tuple | bool | int | float | dict):
        return param_str(value)
    return value
