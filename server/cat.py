"""The ``_cat`` table renderer (Elasticsearch's ``RestTable``), independent of what is being listed.

A handler builds rows (one dict per line, raw values: ints for counts and byte sizes, milliseconds for
times, ``None`` for blanks) and declares its columns; :func:`render_cat` applies the common parameters:

- ``v``: header row; ``help``: the column list instead of the table; ``ts=false``: no ``epoch`` and
  ``timestamp`` columns (without ``h``);
- ``h=name,alias,pat*``: which columns, in that order (names, aliases or ``*`` globs; unknown names are
  ignored, as in ES); a column picked by alias is headed by the alias;
- ``s=col,col:desc``: sort on raw values (numbers numerically), blanks last, stable;
- ``format=text|json|yaml|cbor``: json/yaml/cbor give a list of objects whose values are strings (or null);
- ``bytes=b|kb|mb|gb|tb|pb`` and ``time=d|h|m|s|ms|micros|nanos``: integer units for byte and time
  columns instead of the human form (``1.2kb``, ``350ms``);
- ``pretty`` (json) and ``filter_path`` (json/yaml).

Text is aligned as ES's ``RestTable`` does it: every cell is padded to its column width (numbers to the
right), except that a left-aligned cell of the last column is not padded (no trailing spaces); cells are
separated by one space, and each row ends with a newline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from native.errors import IllegalArgument
from server import cbor, jsonio
from server.filter_path import apply_filter_path, glob_matcher

__all__ = ["CatColumn", "format_byte_size", "format_time_millis", "render_cat"]

Kind = Literal["str", "int", "float", "bytes", "time", "bool"]
CellValue = str | int | float | None

TEXT_CONTENT_TYPE = "text/plain; charset=UTF-8"
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
YAML_CONTENT_TYPE = "application/yaml"

_BYTE_UNITS = {"b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30,
               "t": 1 << 40, "tb": 1 << 40, "p": 1 << 50, "pb": 1 << 50}  # fmt: skip
_HUMAN_BYTES = (("pb", 1 << 50), ("tb", 1 << 40), ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10))
# milliseconds per unit
_TIME_UNITS = {"d": 86_400_000.0, "h": 3_600_000.0, "m": 60_000.0, "s": 1000.0, "ms": 1.0,
               "micros": 1e-3, "nanos": 1e-6}  # fmt: skip
_NUMERIC: frozenset[str] = frozenset({"int", "float", "bytes", "time"})


@dataclass(frozen=True)
class CatColumn:
    """One ``_cat`` column. ``kind`` decides rendering and alignment; ``align`` overrides the latter."""

    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    default: bool = True
    kind: Kind = "str"
    align: Literal["left", "right"] | None = None

    @property
    def right_aligned(self) -> bool:
        return self.align == "right" if self.align else self.kind in _NUMERIC


@dataclass(frozen=True)
class _Display:
    column: CatColumn
    header: str


def _one_decimal(value: float, suffix: str) -> str:
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return text + suffix


def format_byte_size(size: int) -> str:
    """ES ``ByteSizeValue.toString``: ``225b``, ``4.5kb``, ``1gb``."""
    for suffix, unit in _HUMAN_BYTES:
        if abs(size) >= unit:
            return _one_decimal(size / unit, suffix)
    return f"{size}b"


def format_time_millis(millis: float) -> str:
    """ES ``TimeValue.toString`` for a duration in milliseconds: ``350ms``, ``1.2s``, ``3d``."""
    for suffix in ("d", "h", "m", "s", "ms", "micros"):
        unit = _TIME_UNITS[suffix]
        if abs(millis) >= unit:
            return _one_decimal(millis / unit, suffix)
    return _one_decimal(millis / _TIME_UNITS["nanos"], "nanos") if millis else "0s"


def _flag(params: Mapping[str, str], name: str) -> bool:
    if name not in params:
        return False
    return params[name].strip().lower() not in ("false", "0", "no", "off")


def _render(value: CellValue, column: CatColumn, params: Mapping[str, str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if column.kind == "bytes" and isinstance(value, (int, float)):
        unit = params.get("bytes")
        if unit:
            if unit not in _BYTE_UNITS:
                raise IllegalArgument(f"failed to parse setting [bytes] with value [{unit}] as a size in bytes")
            return str(int(value) // _BYTE_UNITS[unit])
        return format_byte_size(int(value))
    if column.kind == "time" and isinstance(value, (int, float)):
        unit = params.get("time")
        if unit:
            if unit not in _TIME_UNITS:
                raise IllegalArgument(f"failed to parse setting [time] with value [{unit}] as a time value")
            return str(int(value / _TIME_UNITS[unit]))
        return format_time_millis(value)
    return str(value)


def _lookup(columns: Sequence[CatColumn], name: str) -> CatColumn | None:
    for column in columns:
        if column.name == name:
            return column
    for column in columns:
        if name in column.aliases:
            return column
    return None


_TIMESTAMP_COLUMNS = ("epoch", "timestamp")


def _display_columns(columns: Sequence[CatColumn], h: str | None, timestamps: bool = True) -> list[_Display]:
    if not h:  # ``ts=false`` drops the default timestamp columns (ES ``RestTable.checkOutputTimestamp``)
        return [_Display(c, c.name) for c in columns if c.default and (timestamps or c.name not in _TIMESTAMP_COLUMNS)]
    shown: list[_Display] = []
    for wanted in (part.strip() for part in h.split(",")):
        if not wanted:
            continue
        if "*" in wanted:
            for column in columns:
                matches = glob_matcher(wanted)
                if any(matches(n) for n in (column.name, *column.aliases)):
                    shown.append(_Display(column, column.name))
        else:
            found = _lookup(columns, wanted)
            if found is not None:
                shown.append(_Display(found, wanted))
    return shown


def _sort_rows(
    rows: list[dict[str, CellValue]], columns: Sequence[CatColumn], s: str | None
) -> list[dict[str, CellValue]]:
    if not s:
        return rows
    keys: list[tuple[str, bool]] = []
    for part in (p.strip() for p in s.split(",")):
        if not part:
            continue
        name, _, order = part.partition(":")
        column = _lookup(columns, name)
        if column is None:
            raise IllegalArgument(f"Unable to sort by unknown sort key `{name}`")
        if order not in ("", "asc", "desc"):
            raise IllegalArgument(f"invalid sort order [{order}] for column [{name}]")
        keys.append((column.name, order == "desc"))
    ordered = list(rows)
    # Stable sorts from the least significant key; blanks sort last in either direction.
    for name, descending in reversed(keys):
        present = [r for r in ordered if r.get(name) is not None]
        blank = [r for r in ordered if r.get(name) is None]
        present.sort(key=lambda r: _sort_key(r[name]), reverse=descending)
        ordered = present + blank
    return ordered


def _sort_key(value: CellValue) -> tuple[int, Any]:
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))


def _help(columns: Sequence[CatColumn]) -> bytes:
    names = [c.name for c in columns]
    aliases = [",".join(c.aliases) for c in columns]
    name_w = max((len(n) for n in names), default=0)
    alias_w = max((len(a) for a in aliases), default=0)
    lines = [
        f"{n.ljust(name_w)} | {a.ljust(alias_w)} | {c.description}\n"
        for n, a, c in zip(names, aliases, columns, strict=True)
    ]
    return "".join(lines).encode()


def _text(table: list[list[str | None]], shown: list[_Display], header: bool) -> bytes:
    cells = [["" if v is None else v for v in row] for row in table]
    widths = [len(d.header) if header else 0 for d in shown]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = [[d.header for d in shown]] if header else []
    lines.extend(cells)
    out = []
    for line in lines:
        last = len(line) - 1
        padded = [
            cell.rjust(widths[i]) if shown[i].column.right_aligned else cell if i == last else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        out.append(" ".join(padded) + "\n")
    return "".join(out).encode()


def render_cat(
    rows: Sequence[Mapping[str, CellValue]], columns: Sequence[CatColumn], params: Mapping[str, str]
) -> tuple[bytes, str]:
    """Render a ``_cat`` response: ``(body, content_type)``. Rows are keyed by column name."""
    if _flag(params, "help"):
        return _help(columns), TEXT_CONTENT_TYPE
    fmt = (params.get("format") or "text").lower()
    if fmt not in ("text", "txt", "json", "yaml", "cbor"):
        raise IllegalArgument(f"Unsupported format [{fmt}]")
    shown = _display_columns(columns, params.get("h"), params.get("ts", "true").strip().lower() != "false")
    ordered = _sort_rows([dict(r) for r in rows], columns, params.get("s"))
    table = [[_render(row.get(d.column.name), d.column, params) for d in shown] for row in ordered]
    if fmt in ("text", "txt"):
        return _text(table, shown, _flag(params, "v")), TEXT_CONTENT_TYPE
    objects: Any = [{d.header: cell for d, cell in zip(shown, row, strict=True)} for row in table]
    if params.get("filter_path"):
        objects = apply_filter_path(objects, params["filter_path"])
    if fmt == "json":
        return jsonio.dumps(objects, pretty=_flag(params, "pretty")), JSON_CONTENT_TYPE
    if fmt == "cbor":
        return cbor.dumps(objects), cbor.CBOR_CONTENT_TYPE
    text = yaml.safe_dump(objects, explicit_start=True, sort_keys=False, default_flow_style=False)
    return text.encode(), YAML_CONTENT_TYPE
