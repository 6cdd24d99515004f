"""Server settings: one declarative table feeds environment variables, CLI flags and the docs.

Precedence, lowest first: the table's default, the environment (``QUIDDITCH_<NAME>``), then explicit
overrides (CLI flags, tests). Values are parsed by the setting's ``type``:

- ``str``, ``int``, ``float``, ``bool`` (``true/false/1/0/yes/no/on/off``);
- ``bytes``: an ES byte size (``100mb``, ``1.5gb``, ``512kb``, ``1024``), stored as an int of bytes;
- ``time``: an ES time value (``1s``, ``500ms``, ``2m``; ``-1`` disables), kept as the string; use
  :func:`parse_time_value` for seconds.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cluster.indexing_pressure import default_limit

__all__ = [
    "SETTINGS",
    "Setting",
    "Settings",
    "load_settings",
    "parse_byte_size",
    "parse_time_value",
    "settings_markdown_table",
]

SettingType = Literal["str", "int", "float", "bool", "bytes", "time"]

_BYTE_UNITS = {
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "t": 1 << 40,
    "tb": 1 << 40,
    "p": 1 << 50,
    "pb": 1 << 50,
}
_TIME_UNITS = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


@dataclass(frozen=True)
class Setting:
    """One row of the table. ``env`` defaults to ``QUIDDITCH_<NAME>``; a ``None`` default is computed."""

    name: str
    default: Any
    help: str
    type: SettingType = "str"
    env: str = ""

    @property
    def env_var(self) -> str:
        return self.env or f"QUIDDITCH_{self.name.upper()}"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "127.0.0.1", "Address the HTTP server binds to"),
    Setting("port", 9200, "HTTP port", "int"),
    Setting(
        "security_enabled",
        "auto",
        "Authentication: `auto` (on when the data dir has users at start: `quidditch users add`), `true` or `false`",
    ),
    Setting("insecure", False, "Allow binding a non-loopback address with authentication off", "bool"),
    Setting("tls_cert", "", "PEM certificate (chain) file: serve HTTPS (with `tls_key`)"),
    Setting("tls_key", "", "PEM private key file of `tls_cert`"),
    Setting("data_dir", "./data", "Directory holding indices, write-ahead logs and cluster state"),
    Setting("version_number", "8.19.0", "Elasticsearch version reported by `GET /` (clients check the major)"),
    Setting("cluster_name", "quidditch", "Cluster name reported by `GET /` and `_cluster/health`"),
    Setting("node_name", None, "This node's name (defaults to the host name)"),
    Setting(
        "http_max_content_length",
        "100mb",
        "Largest request body accepted, also after decompression; larger bodies get an empty 413",
        "bytes",
    ),
    Setting("index_max_result_window", 10000, "Default largest `from + size` a search may ask for", "int"),
    Setting("indices_query_bool_max_nested_depth", 30, "Deepest nesting of compound queries", "int"),
    Setting("indices_query_max_clause_count", 4096, "Most leaf clauses (after expansion) in one query", "int"),
    Setting("search_queue_size", 1000, "Searches that may wait for a worker before a 429", "int"),
    Setting(
        "search_default_search_timeout",
        "5m",
        "Deadline of a search without `timeout` (ES's `search.default_search_timeout`, whose default `-1` is none):"
        " shards that have not answered by then leave partial results and `timed_out: true`; `-1` lets a search"
        " wait forever",
        "time",
    ),
    Setting(
        "leaf_transport",
        "local",
        "How this server reaches its own shards: `local` (in process) or `grpc` (through its leaf servicer on a"
        " loopback port, every shard call crossing the wire as between cluster nodes: for testing the transport)",
    ),
    Setting(
        "transport_timeout",
        "1m",
        "How long a shard call to another node that has no deadline of its own (a search without `timeout` when"
        " `search_default_search_timeout` is `-1`, a GET, a refresh, stats, a shard bulk) waits before that node"
        " counts as failed (its shards are retried on other copies or reported failed); `-1` waits forever",
        "time",
    ),
    Setting("write_queue_size", 10000, "Bulk shard writes that may wait before a 429", "int"),
    Setting(
        "indexing_pressure_memory_limit",
        None,
        "Bytes of `_bulk` bodies in flight before new ones get a 429 (ES `indexing_pressure.memory.limit`; "
        "default 10% of physical memory, at least 64mb)",
        "bytes",
    ),
    Setting("refresh_interval", "1s", "Default `index.refresh_interval` (`-1` disables periodic refresh)", "time"),
    Setting("log_level", "info", "Logging level: debug, info, warning or error"),
    # the cluster: with none of these set, one process holds every role (the embedded server)
    Setting("roles", "", "This node's roles, a comma list of `master` and `data` (empty: both, embedded)"),
    Setting("transport_port", 0, "gRPC port of a cluster node (`0`: none, the embedded server)", "int"),
    Setting("transport_host", "127.0.0.1", "Address the gRPC transport binds to and other nodes reach"),
    Setting("seed_hosts", "", "Where a node finds the master's transport port: `host:port[,...]`"),
    Setting("state_store", "", "Cluster state store: `local` or `etcd://host:port[,...]` (empty: embedded)"),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings; field names match ``SETTINGS`` one to one (a test checks)."""

    host: str
    port: int
    security_enabled: str
    insecure: bool
    tls_cert: str
    tls_key: str
    data_dir: str
    version_number: str
    cluster_name: str
    node_name: str
    http_max_content_length: int
    index_max_result_window: int
    indices_query_bool_max_nested_depth: int
    indices_query_max_clause_count: int
    search_queue_size: int
    search_default_search_timeout: str
    leaf_transport: str
    transport_timeout: str
    write_queue_size: int
    indexing_pressure_memory_limit: int
    refresh_interval: str
    log_level: str
    roles: str
    transport_port: int
    transport_host: str
    seed_hosts: str
    state_store: str


def parse_byte_size(value: str | int, name: str = "value") -> int:
    """``"100mb"`` → 104857600 (1024-based units b, kb, mb, gb, tb, pb; also k, m, g, t, p)."""
    if isinstance(value, bool):
        raise ValueError(f"failed to parse setting [{name}] with value [{value}] as a size in bytes")
    if isinstance(value, int):
        return value
    match = _SIZE.fullmatch(value)
    unit = match.group(2).lower() if match else ""
    if match is None or (unit not in _BYTE_UNITS and unit != ""):
        raise ValueError(
            f"failed to parse setting [{name}] with value [{value}] as a size in bytes: unit is missing or unrecognized"
        )
    number = float(match.group(1))
    if number < 0 and number != -1:
        raise ValueError(f"failed to parse setting [{name}] with value [{value}]: negative size")
    return int(number * _BYTE_UNITS[unit or "b"])


def parse_time_value(value: str, name: str = "value") -> float:
    """``"1s"`` → 1.0, ``"500ms"`` → 0.5; ``"-1"`` → -1.0 (disabled). Units: nanos … d."""
    text = str(value).strip()
    if text in ("-1", "0"):
        return float(text)
    match = _SIZE.fullmatch(text)
    if match is None or match.group(2).lower() not in _TIME_UNITS:
        raise ValueError(
            f"failed to parse setting [{name}] with value [{value}] as a time value: unit is missing or unrecognized"
        )
    return float(match.group(1)) * _TIME_UNITS[match.group(2).lower()]


def _parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"failed to parse value [{value}] as only [true] or [false] are allowed for [{name}]")


def _coerce(setting: Setting, value: Any) -> Any:
    kind = setting.type
    try:
        if kind == "bytes":
            return parse_byte_size(value, setting.name)
        if kind == "bool":
            return _parse_bool(value, setting.name)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "time":
            parse_time_value(value, setting.name)
            return str(value).strip()
    except ValueError as exc:
        if str(exc).startswith("failed to parse"):
            raise
        raise ValueError(f"failed to parse setting [{setting.name}] with value [{value}] as {kind}") from None
    return str(value)


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] = os.environ) -> Settings:
    """Resolve every setting from defaults, ``QUIDDITCH_*`` variables and ``overrides`` (in that order).

    ``None`` in ``overrides`` means "not given" (handy for unset CLI flags); unknown names are an error.
    """
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    known = {s.name for s in SETTINGS}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in given:
            raw = given[setting.name]
        elif setting.env_var in environ:
            raw = environ[setting.env_var]
        else:
            raw = setting.default
        values[setting.name] = None if raw is None else _coerce(setting, raw)
    if values["node_name"] is None:
        values["node_name"] = socket.gethostname() or "quidditch-node"
    if values["indexing_pressure_memory_limit"] is None:
        values["indexing_pressure_memory_limit"] = default_limit()
    return Settings(**values)


_COMPUTED = {"node_name": "(host name)", "indexing_pressure_memory_limit": "(10% of memory, >= 64mb)"}


def settings_markdown_table() -> str:
    """The settings as a Markdown table (name, environment variable, default, description)."""
    lines = ["| Setting | Environment variable | Default | Description |", "|---|---|---|---|"]
    for s in SETTINGS:
        shown = str(s.default).lower() if s.type == "bool" else s.default
        default = (f"`{shown}`" if s.default is not None and s.default != "" else "(none)" if s.default == ""
                   else _COMPUTED.get(s.name, "(computed)"))
        lines.append(f"| `{s.name}` | `{s.env_var}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"
