"""Aggregations on ``ip`` fields: ``ip_range`` (ranges by from/to or CIDR mask) and ``ip_prefix`` (one bucket
per network prefix).

Addresses are handled as ES does, as 16-byte values (IPv4 as ``::ffff:a.b.c.d``), ordered by those bytes.
Per shard every address of every matching document is read with its ``_seq_no`` (``docvalues``); a
document counts once in a bucket however many of its addresses fall in it, and the sub-aggregations of a
bucket run on exactly its documents (a ``term_set`` on ``_seq_no``).

``ip_prefix`` with ``is_ipv6: false`` masks the low 32 bits of the 16 bytes (an IPv6 address yields the
IPv4 address of its last four bytes, as in ES); with ``is_ipv6: true`` all 128 bits.

Partials — ip_range: ``{"b": [[doc_count, subs], ...]}`` per range in (from, to) order; ip_prefix:
``{"b": [[key hex, doc_count, subs], ...]}`` sorted by key.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import tantivy

from native.aggs.docvalues import doc_values
from native.aggs.execute import ShardContext
from native.aggs.partials import Partial, finalize_level, merge_level
from native.aggs.readers import _check_keys, _field, _int, _missing_value
from native.aggs.spec import AggNode
from native.errors import IllegalArgument, ParsingError, XContentParseError
from native.fields import SEQ_NO_FIELD, FieldInfo

_MAX = (1 << 128) - 1
_V4_MAPPED = 0xFFFF << 32


@dataclass(frozen=True)
class IpRangeItem:
    key: str | None
    lo: int | None  # 128-bit, inclusive
    hi: int | None  # 128-bit, exclusive
    mask: str | None = None


@dataclass(frozen=True)
class IpRangeSpec:
    field: str
    ranges: tuple[IpRangeItem, ...]  # sorted by (from, to), as ES orders them
    keyed: bool = False
    missing: Any = None


@dataclass(frozen=True)
class IpPrefixSpec:
    field: str
    prefix_length: int
    is_ipv6: bool = False
    append_prefix_length: bool = False
    keyed: bool = False
    min_doc_count: int = 1


def to_int(text: str) -> int:
    """An address as its 128-bit ES value (IPv4 mapped into IPv6)."""
    addr = ipaddress.ip_address(text.strip())
    if isinstance(addr, ipaddress.IPv4Address):
        return _V4_MAPPED | int(addr)
    return int(addr)


def render(value: int) -> str:
    """ES's ``DocValueFormat.IP``: an IPv4-mapped value prints as IPv4."""
    if value >> 32 == 0xFFFF:
        return str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return str(ipaddress.IPv6Address(value))


def _ip_text(kind: str, key: str, value: Any) -> int:
    if not isinstance(value, str):
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]")
    try:
        return to_int(value)
    except ValueError:
        raise IllegalArgument(f"'{value}' is not an IP string literal.") from None


def _mask(kind: str, value: Any) -> tuple[int, int]:
    """A CIDR mask → (first address, first address past the network) as 128-bit values."""
    if not isinstance(value, str) or "/" not in value:
        raise IllegalArgument(f"Expected [ip/prefix] but was [{value}]")
    address, _, length_text = value.partition("/")
    try:
        addr = ipaddress.ip_address(address)
        length = int(length_text)
    except ValueError:
        raise IllegalArgument(f"Expected [ip/prefix] but was [{value}]") from None
    bits = 32 if isinstance(addr, ipaddress.IPv4Address) else 128
    if not 0 <= length <= bits:
        raise IllegalArgument(
            f"Illegal prefix length [{length}] in [{value}]. Must be 0-32 for IPv4 ranges, 0-128 for IPv6 ranges"
        )
    host = bits - length
    start = (int(addr) >> host) << host
    end = start + (1 << host)
    if bits == 32:
        start |= _V4_MAPPED
        end = end + _V4_MAPPED if end < (1 << 32) else _V4_MAPPED + (1 << 32)
    return start, end


def parse_ip_range(name: str, kind: str, body: dict[str, Any]) -> IpRangeSpec:
    _check_keys(kind, body, {"field", "ranges", "keyed", "missing"})
    ranges = body.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise IllegalArgument(f"No [ranges] specified for the [{name}] aggregation")
    items: list[IpRangeItem] = []
    for item in ranges:
        if not isinstance(item, dict):
            raise ParsingError(f"[ranges] items must be objects in [{name}]")
        for k in item:
            if k not in ("from", "to", "key", "mask"):
                raise XContentParseError(f"[range] unknown field [{k}]")
        key = item.get("key")
        if key is not None and not isinstance(key, str):
            key = str(key)
        if item.get("mask") is not None:
            if item.get("from") is not None or item.get("to") is not None:
                raise IllegalArgument("Cannot use [mask] with [from] or [to]")
            start, end = _mask(kind, item["mask"])
            items.append(IpRangeItem(key, start, end if end <= _MAX else None, str(item["mask"])))
            continue
        lo = None if item.get("from") is None else _ip_text(kind, "from", item["from"])
        hi = None if item.get("to") is None else _ip_text(kind, "to", item["to"])
        items.append(IpRangeItem(key, lo, hi))
    ordered = sorted(items, key=lambda r: (-1 if r.lo is None else r.lo, _MAX + 1 if r.hi is None else r.hi))
    return IpRangeSpec(
        _field(kind, body), tuple(ordered), bool(body.get("keyed", False)), _missing_value(kind, body.get("missing"))
    )


def parse_ip_prefix(name: str, kind: str, body: dict[str, Any]) -> IpPrefixSpec:
    _check_keys(kind, body, {"field", "prefix_length", "is_ipv6", "append_prefix_length", "keyed", "min_doc_count"})
    if body.get("prefix_length") is None:
        raise IllegalArgument(f"[prefix_length] is required for aggregation [{name}]")
    length = _int(kind, "prefix_length", body["prefix_length"])
    is_ipv6 = _bool(kind, "is_ipv6", body.get("is_ipv6", False))
    top = 128 if is_ipv6 else 32
    if not 0 <= length <= top:
        raise IllegalArgument(f"[prefix_length] must be in range [0, {top}] while value is [{length}]")
    min_doc_count = _int(kind, "min_doc_count", body.get("min_doc_count", 1), long=True)
    if min_doc_count < 0:
        raise IllegalArgument(
            f"[min_doc_count] must be greater than or equal to 0. Found [{min_doc_count}] in [{name}]"
        )
    return IpPrefixSpec(
        _field(kind, body),
        length,
        is_ipv6,
        _bool(kind, "append_prefix_length", body.get("append_prefix_length", False)),
        _bool(kind, "keyed", body.get("keyed", False)),
        min_doc_count,
    )


def _bool(kind: str, key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise XContentParseError(f"[{kind}] failed to parse field [{key}]")


def _ip_info(ctx: ShardContext, path: str, kind: str) -> FieldInfo | None:
    info = ctx.field(path)
    if info is not None and info.tantivy_type != tantivy.FieldType.IpAddr:
        raise IllegalArgument(
            f"Field [{info.path}] of type [{info.extra.get('mapping_type', info.es_type)}] is not supported for "
            f"aggregation [{kind}]"
        )
    return info


def _doc_addresses(ctx: ShardContext, info: FieldInfo, query: tantivy.Query) -> list[tuple[int, list[int]]]:
    """(``_seq_no``, [128-bit addresses]) of every matching doc with an address."""
    out = []
    for row in doc_values(ctx, query, [info.tantivy_name, SEQ_NO_FIELD]):
        values = row.get(info.tantivy_name)
        seqs = row.get(SEQ_NO_FIELD)
        if values and seqs:
            out.append((int(seqs[0]), [to_int(str(v)) for v in values]))
    return out


def _subs(ctx: ShardContext, node: AggNode, query: tantivy.Query, seqs: list[int]) -> dict[str, Any]:
    if not node.children:
        return {}
    flt = tantivy.Query.term_set_query(ctx.schema, SEQ_NO_FIELD, seqs) if seqs else tantivy.Query.empty_query()
    return ctx.collect_subs(node, query, flt)


class IpRangeKind:
    def empty(self, node: AggNode) -> Partial:
        return {"b": [[0, {}] for _ in node.params.ranges]}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: IpRangeSpec = node.params
        info = _ip_info(ctx, spec.field, node.kind)
        docs = _doc_addresses(ctx, info, query) if info is not None else []
        missing = None if spec.missing is None else _ip_text(node.kind, "missing", spec.missing)
        missing_docs: list[int] = []
        if missing is not None:
            have = {seq for seq, _ in docs}
            missing_docs = [
                int(row[SEQ_NO_FIELD][0])
                for row in doc_values(ctx, query, [SEQ_NO_FIELD])
                if row.get(SEQ_NO_FIELD) and int(row[SEQ_NO_FIELD][0]) not in have
            ]
        out = []
        for r in spec.ranges:

            def inside(v: int, r: IpRangeItem = r) -> bool:
                return (r.lo is None or v >= r.lo) and (r.hi is None or v < r.hi)

            seqs = [seq for seq, values in docs if any(inside(v) for v in values)]
            if missing is not None and inside(missing):
                seqs += missing_docs
            out.append([ctx.seq_count(seqs), _subs(ctx, node, query, seqs)])
        return {"b": out}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return {
            "b": [[x[0] + y[0], merge_level(node.children, x[1], y[1])] for x, y in zip(a["b"], b["b"], strict=True)]
        }

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: IpRangeSpec = node.params
        buckets = []
        for r, (count, subs) in zip(spec.ranges, p["b"], strict=True):
            key = r.key or r.mask or f"{'*' if r.lo is None else render(r.lo)}-{'*' if r.hi is None else render(r.hi)}"
            bucket: dict[str, Any] = {"key": key}
            if r.lo is not None:
                bucket["from"] = render(r.lo)
            if r.hi is not None:
                bucket["to"] = render(r.hi)
            bucket["doc_count"] = count
            bucket.update(finalize_level(node.children, subs))
            buckets.append(bucket)
        if spec.keyed:
            return {"buckets": {b.pop("key"): b for b in buckets}}
        return {"buckets": buckets}


class IpPrefixKind:
    def empty(self, node: AggNode) -> Partial:
        return {"b": []}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: IpPrefixSpec = node.params
        info = _ip_info(ctx, spec.field, node.kind)
        if info is None:
            return self.empty(node)
        mask = _prefix_mask(spec)
        groups: dict[int, list[int]] = {}
        for seq, values in _doc_addresses(ctx, info, query):
            for subnet in {v & mask for v in values}:
                groups.setdefault(subnet, []).append(seq)
        rows = []
        for subnet in sorted(groups):
            seqs = groups[subnet]
            rows.append([f"{subnet:032x}", ctx.seq_count(seqs), _subs(ctx, node, query, seqs)])
        return {"b": rows}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        merged: dict[str, list[Any]] = {row[0]: list(row) for row in a["b"]}
        for key, count, subs in b["b"]:
            if key in merged:
                merged[key][1] += count
                merged[key][2] = merge_level(node.children, merged[key][2], subs)
            else:
                merged[key] = [key, count, subs]
        return {"b": [merged[k] for k in sorted(merged)]}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: IpPrefixSpec = node.params
        buckets = []
        for hex_key, count, subs in p["b"]:
            if count < max(spec.min_doc_count, 1):
                continue
            value = int(hex_key, 16)
            if spec.is_ipv6:
                key = render(value)
            else:
                key = str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
            if spec.append_prefix_length:
                key = f"{key}/{spec.prefix_length}"
            bucket: dict[str, Any] = {"key": key}  # ES's field order: key, netmask, doc_count, is_ipv6, prefix_length
            if not spec.is_ipv6:
                bucket["netmask"] = str(ipaddress.IPv4Address((0xFFFFFFFF << (32 - spec.prefix_length)) & 0xFFFFFFFF))
            bucket.update({"doc_count": count, "is_ipv6": spec.is_ipv6, "prefix_length": spec.prefix_length})
            bucket.update(finalize_level(node.children, subs))
            buckets.append(bucket)
        if spec.keyed:
            return {"buckets": {b.pop("key"): b for b in buckets}}
        return {"buckets": buckets}


def _prefix_mask(spec: IpPrefixSpec) -> int:
    if spec.is_ipv6:
        return (_MAX << (128 - spec.prefix_length)) & _MAX
    low = (0xFFFFFFFF << (32 - spec.prefix_length)) & 0xFFFFFFFF
    return low  # the high 96 bits are masked away: the key is the low 32 bits


KINDS = {"ip_range": IpRangeKind(), "ip_prefix": IpPrefixKind()}
