"""HTTP transport (httpx, sync) and the response model the assertions read.

A response body is parsed as JSON when the content type says JSON (or YAML when it says YAML);
anything else (``_cat`` text, empty bodies) stays a string.  ``Warning`` headers are split into
their quoted warning texts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import yaml

from .api import HttpRequest

__all__ = ["HttpClient", "Response", "TransportFailure", "parse_warning"]

_WARNING = re.compile(r'^\d{3} \S+ "((?:\\.|[^"\\])*)"(?: "[^"]*")?\s*$')


class TransportFailure(Exception):
    """The request could not be completed (connection refused, timeout, ...)."""


def parse_warning(header: str) -> str:
    """Text of one ``Warning`` header (``299 Elasticsearch-x "text" "date"``), unescaped."""
    match = _WARNING.match(header.strip())
    if match is None:
        return header
    return match.group(1).replace('\\"', '"').replace("\\\\", "\\")


@dataclass
class Response:
    status: int
    method: str
    text: str
    content_type: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None
    parsed: bool = False  # whether ``body`` came from JSON/YAML rather than being the raw text

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    @property
    def warnings(self) -> list[str]:
        return [parse_warning(h) for h in self.headers.get("warning", [])]

    def header(self, name: str) -> list[str]:
        return self.headers.get(name.lower(), [])

    def root_value(self) -> Any:
        """What the empty path means: the parsed body, or for a body-less HEAD the success flag."""
        if self.method == "HEAD" and not self.text:
            return not self.is_error
        return self.body


def _parse_body(content_type: str, text: str) -> tuple[Any, bool]:
    if not text:
        return text, False
    lowered = content_type.lower()
    try:
        if "json" in lowered:
            return json.loads(text), True
        if "yaml" in lowered:
            return yaml.safe_load(text), True
    except (ValueError, yaml.YAMLError):
        return text, False
    return text, False


class HttpClient:
    """Thin sync wrapper: one :class:`HttpRequest` in, one :class:`Response` out."""

    def __init__(self, base_url: str, timeout: float = 30.0, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self.server_errors: list[str] = []  # every answer >= 500, as "METHOD /path -> status"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, request: HttpRequest) -> Response:
        try:
            raw = self._client.request(
                request.method,
                request.path,
                params=list(request.params),
                content=request.body,
                headers=dict(request.headers),
            )
        except httpx.TimeoutException as exc:
            raise TransportFailure(
                f"{request.describe()}: timed out after {self.timeout:g}s ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise TransportFailure(f"{request.describe()}: {type(exc).__name__}: {exc}") from exc
        if raw.status_code >= 500:
            self.server_errors.append(f"{request.describe()} -> {raw.status_code}")
        headers: dict[str, list[str]] = {}
        for name, value in raw.headers.multi_items():
            headers.setdefault(name.lower(), []).append(value)
        content_type = raw.headers.get("content-type", "")
        text = raw.content.decode("utf-8", errors="replace")
        body, parsed = _parse_body(content_type, text)
        return Response(
            status=raw.status_code,
            method=request.method,
            text=text,
            content_type=content_type,
            headers=headers,
            body=body,
            parsed=parsed,
        )

    def simple(self, method: str, path: str, params: dict[str, str] | None = None) -> Response:
        """A bare request (server discovery, cleanup)."""
        return self.send(HttpRequest(method=method, path=path, params=tuple((params or {}).items())))
