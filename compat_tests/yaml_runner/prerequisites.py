"""Evaluation of ``skip`` / ``requires`` sections (and the clients-tests file-level ``requires``).

What the server is, is discovered with generic Elasticsearch calls:

* ``GET /``: ``version.number`` (for ``version`` ranges and the synthetic ``gte_vX.Y.Z`` cluster
  features) and ``version.build_flavor`` (``serverless`` or not, for the clients-tests
  ``requires: {serverless, stack}`` document);
* ``GET /_cluster/state?filter_path=nodes_features`` for cluster features (optional);
* ``GET /_capabilities`` for ``capabilities`` checks; ``GET /_xpack`` for ``xpack``/``no_xpack``;
  ``GET /_nodes/os`` for ``os`` - each only when a test asks.

Cluster features: a *required* feature that is not synthetic is assumed present (servers do
not report historical features; a test that really needs it will simply fail).  A feature in
``skip.cluster_features`` / ``known_issues`` counts as present only if it is synthetic and
satisfied or the server reports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .client import HttpClient, TransportFailure
from .loader import Prerequisite

__all__ = [
    "SUPPORTED_FEATURES",
    "PrerequisiteChecker",
    "ServerInfo",
    "parse_version",
    "version_in_ranges",
]

#: Test runner features this runner implements (``skip.features`` / ``requires.test_runner_features``).
SUPPORTED_FEATURES = frozenset(
    {
        "allowed_warnings",
        "allowed_warnings_regex",
        "arbitrary_key",
        "capabilities",
        "catch_unauthorized",
        "close_to",
        "contains",
        "default_shards",
        "embedded_stash_key",
        "fips_140",
        "headers",
        "is_after",
        "node_selector",  # parsed and ignored: there is a single node to send to
        "skip_os",
        "stash_in_key",
        "stash_in_path",
        "stash_path_replace",
        "transform_and_set",
        "warnings",
        "warnings_regex",
        "yaml",
    }
)

Version = tuple[int, int, int]
_MAX_VERSION: Version = (10**6, 0, 0)
_VERSION = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_SYNTHETIC = re.compile(r"^gte_v(\d+\.\d+\.\d+)$")


def parse_version(text: str) -> Version:
    match = _VERSION.search(text)
    if match is None:
        raise ValueError(f"not a version: {text!r}")
    major, minor, patch = (int(g) if g else 0 for g in match.groups())
    return major, minor, patch


def _parse_range(text: str) -> tuple[Version, Version]:
    text = text.strip()
    if text == "all":
        return (0, 0, 0), _MAX_VERSION
    if " - " in f" {text} ":
        low, _, high = f" {text} ".partition(" - ")
    else:
        low, _, high = text.partition("-")
    lower = parse_version(low) if low.strip() else (0, 0, 0)
    upper = parse_version(high) if high.strip() else _MAX_VERSION
    return lower, upper


def version_in_ranges(version: Version, ranges: str) -> bool:
    """Whether ``version`` is in any of the comma-separated ``min - max`` ranges (or ``all``)."""
    return any(low <= version <= high for low, high in (_parse_range(r) for r in ranges.split(",") if r.strip()))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass
class ServerInfo:
    """What the server under test says about itself (filled lazily where costly)."""

    version: Version | None = None
    version_string: str = ""
    flavor: str = "default"
    reported_features: frozenset[str] | None = None
    _xpack: bool | None = None
    _os: frozenset[str] | None = None
    _capabilities: dict[tuple[str, ...], bool] = field(default_factory=dict)

    @classmethod
    def discover(cls, client: HttpClient) -> ServerInfo:
        info = cls()
        try:
            root = client.simple("GET", "/")
            if not root.is_error and isinstance(root.body, dict):
                version = root.body.get("version") or {}
                info.version_string = str(version.get("number") or "")
                info.flavor = str(version.get("build_flavor") or "default")
                if info.version_string:
                    info.version = parse_version(info.version_string)
            state = client.simple("GET", "/_cluster/state", {"filter_path": "nodes_features"})
            if not state.is_error and isinstance(state.body, dict) and state.body.get("nodes_features"):
                per_node = [set(n.get("features") or []) for n in state.body["nodes_features"]]
                info.reported_features = frozenset(set.intersection(*per_node)) if per_node else frozenset()
        except (TransportFailure, ValueError):
            pass
        return info

    @property
    def serverless(self) -> bool:
        return self.flavor == "serverless"

    def has_feature(self, name: str) -> bool:
        synthetic = _SYNTHETIC.match(name)
        if synthetic:
            return self.version is not None and self.version >= parse_version(synthetic.group(1))
        return self.reported_features is not None and name in self.reported_features

    def has_xpack(self, client: HttpClient) -> bool:
        if self._xpack is None:
            try:
                self._xpack = not client.simple("GET", "/_xpack").is_error
            except TransportFailure:
                self._xpack = False
        return self._xpack

    def os_names(self, client: HttpClient) -> frozenset[str]:
        if self._os is None:
            names: set[str] = set()
            try:
                nodes = client.simple("GET", "/_nodes/os").body
                if isinstance(nodes, dict):
                    for node in (nodes.get("nodes") or {}).values():
                        os_info = node.get("os") or {}
                        names.update(str(os_info[k]) for k in ("pretty_name", "name") if os_info.get(k))
            except TransportFailure:
                pass
            self._os = frozenset(names)
        return self._os

    def capability(self, client: HttpClient, check: dict[str, Any]) -> bool:
        params = {
            "method": str(check.get("method", "GET")),
            "path": str(check.get("path", "")),
        }
        for key in ("parameters", "capabilities"):
            if check.get(key) is not None:
                params[key] = ",".join(str(v) for v in _as_list(check[key]))
        cache_key = tuple(sorted(params.items()))
        flat = tuple(f"{k}={v}" for k, v in cache_key)
        if flat not in self._capabilities:
            try:
                response = client.simple("GET", "/_capabilities", params)
                supported = isinstance(response.body, dict) and response.body.get("supported") is True
                self._capabilities[flat] = (not response.is_error) and supported
            except TransportFailure:
                self._capabilities[flat] = False
        return self._capabilities[flat]


class PrerequisiteChecker:
    """Decides whether a suite/test must be skipped; returns the reason or ``None``."""

    def __init__(self, server: ServerInfo, client: HttpClient) -> None:
        self.server = server
        self.client = client

    def file_requires_reason(self, file_requires: dict[str, Any]) -> str | None:
        """The clients-tests ``requires: {serverless: bool, stack: bool}`` document."""
        key = "serverless" if self.server.serverless else "stack"
        if key in file_requires and not file_requires[key]:
            return f"file requires {key}: false"
        return None

    def skip_reason(self, prerequisites: Iterable[Prerequisite]) -> str | None:
        items = list(prerequisites)
        for item in items:
            reason = self._unsupported_features(item)
            if reason:
                return reason
        for item in (p for p in items if p.kind == "requires"):
            reason = self._requires_unmet(item)
            if reason:
                return reason
        for item in (p for p in items if p.kind == "skip"):
            reason = self._skip_met(item)
            if reason:
                return reason
        return None

    def _unsupported_features(self, item: Prerequisite) -> str | None:
        key = "features" if item.kind == "skip" else "test_runner_features"
        for feature in (str(f) for f in _as_list(item.args.get(key))):
            if feature == "xpack":
                if not self.server.has_xpack(self.client):
                    return "requires xpack"
            elif feature == "no_xpack":
                if self.server.has_xpack(self.client):
                    return "requires no xpack"
            elif feature not in SUPPORTED_FEATURES:
                return f"unsupported feature {feature}"
        return None

    def _requires_unmet(self, item: Prerequisite) -> str | None:
        reason = item.reason or "requirement not met"
        for feature in (str(f) for f in _as_list(item.args.get("cluster_features"))):
            if _SYNTHETIC.match(feature) and not self.server.has_feature(feature):
                return f"requires cluster feature {feature}: {reason}"
        for check in _as_list(item.args.get("capabilities")):
            if not self.server.capability(self.client, dict(check)):
                return f"requires capabilities {check.get('capabilities')}: {reason}"
        return None

    def _skip_met(self, item: Prerequisite) -> str | None:
        args = item.args
        reason = item.reason or "skipped"
        if args.get("awaits_fix"):
            return f"awaits fix {args['awaits_fix']}: {reason}"
        version = args.get("version")
        if version is not None:
            if str(version).strip() == "all":
                return f"version all: {reason}"
            if self.server.version is not None and version_in_ranges(self.server.version, str(version)):
                return f"version {str(version).strip()}: {reason}"
        for feature in (str(f) for f in _as_list(args.get("cluster_features"))):
            if self.server.has_feature(feature):
                return f"cluster feature {feature} present: {reason}"
        for issue in _as_list(args.get("known_issues")):
            if self.server.has_feature(str(issue.get("cluster_feature"))) and not self.server.has_feature(
                str(issue.get("fixed_by"))
            ):
                return f"known issue {issue.get('cluster_feature')}: {reason}"
        for check in _as_list(args.get("capabilities")):
            if self.server.capability(self.client, dict(check)):
                return f"capabilities {check.get('capabilities')} present: {reason}"
        operating_systems = {str(o) for o in _as_list(args.get("os"))}
        if operating_systems and operating_systems & self.server.os_names(self.client):
            return f"os {sorted(operating_systems)}: {reason}"
        return None
