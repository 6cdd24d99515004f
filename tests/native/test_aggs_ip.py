"""ip_prefix and ip_range over a 3-shard index, against Python's ``ipaddress``."""

from __future__ import annotations

import ipaddress
import random
from collections import Counter, defaultdict
from typing import Any

import httpx

from tests.native.aggs2_helpers import aggs, bulk, make_index, search_error


def _docs() -> list[dict[str, Any]]:
    rng = random.Random(3)
    docs: list[dict[str, Any]] = []
    for i in range(150):
        doc: dict[str, Any] = {"n": i}
        if i % 9:
            if i % 4 == 0:
                doc["ip"] = f"2001:db8:{rng.randint(0, 3):x}:{rng.randint(0, 2):x}::{rng.randint(1, 999):x}"
            else:
                doc["ip"] = f"10.{rng.randint(0, 2)}.{rng.randint(0, 3)}.{rng.randint(0, 255)}"
        if i % 10 == 0:
            doc["ip"] = [f"10.0.0.{i % 200}", f"10.0.0.{(i + 1) % 200}", "192.168.0.1"]
        docs.append(doc)
    return docs


def _addresses(doc: dict[str, Any]) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    raw = doc.get("ip")
    items = raw if isinstance(raw, list) else ([] if raw is None else [raw])
    return [ipaddress.ip_address(a) for a in items]


def _as16(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    return (0xFFFF << 32) | int(addr) if addr.version == 4 else int(addr)


async def _setup(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    docs = _docs()
    await make_index(client, "ips", {"ip": {"type": "ip"}, "n": {"type": "long"}})
    await bulk(client, "ips", docs)
    return docs


async def test_ip_prefix_ipv4_and_ipv6(asgi_client: httpx.AsyncClient) -> None:
    docs = await _setup(asgi_client)
    body = {
        "v4": {"ip_prefix": {"field": "ip", "prefix_length": 16}, "aggs": {"s": {"sum": {"field": "n"}}}},
        "v6": {"ip_prefix": {"field": "ip", "prefix_length": 48, "is_ipv6": True, "append_prefix_length": True}},
        "keyed": {"ip_prefix": {"field": "ip", "prefix_length": 24, "keyed": True, "min_doc_count": 3}},
    }
    out = await aggs(asgi_client, "ips", body)

    counts: Counter[int] = Counter()
    sums: defaultdict[int, int] = defaultdict(int)
    for d in docs:
        for net in {_as16(a) & 0xFFFF0000 for a in _addresses(d)}:
            counts[net] += 1
            sums[net] += d["n"]
    expected = [(str(ipaddress.IPv4Address(k)), counts[k], sums[k]) for k in sorted(counts)]
    got = [(b["key"], b["doc_count"], int(b["s"]["value"])) for b in out["v4"]["buckets"]]
    assert got == expected
    assert all(b["netmask"] == "255.255.0.0" and b["is_ipv6"] is False for b in out["v4"]["buckets"])

    mask48 = ((1 << 128) - 1) ^ ((1 << 80) - 1)
    counts6: Counter[int] = Counter()
    for d in docs:
        for net in {_as16(a) & mask48 for a in _addresses(d)}:
            counts6[net] += 1
    expected6 = [(f"{ipaddress.IPv6Address(k)}/48", counts6[k]) for k in sorted(counts6)]
    assert [(b["key"], b["doc_count"]) for b in out["v6"]["buckets"]] == expected6
    assert all("netmask" not in b and b["is_ipv6"] is True for b in out["v6"]["buckets"])

    counts24: Counter[int] = Counter()
    for d in docs:
        for net in {_as16(a) & 0xFFFFFF00 for a in _addresses(d)}:
            counts24[net] += 1
    expected24 = {str(ipaddress.IPv4Address(k)): c for k, c in counts24.items() if c >= 3}
    assert {k: v["doc_count"] for k, v in out["keyed"]["buckets"].items()} == expected24


async def test_ip_prefix_validation(asgi_client: httpx.AsyncClient) -> None:
    await _setup(asgi_client)
    r = await search_error(asgi_client, "ips", {"p": {"ip_prefix": {"field": "ip", "prefix_length": 33}}})
    assert r.status_code == 400 and "[prefix_length] must be in range [0, 32] while value is [33]" in r.text
    r = await search_error(asgi_client, "ips", {"p": {"ip_prefix": {"field": "n", "prefix_length": 8}}})
    assert r.status_code == 400
    r = await search_error(asgi_client, "ips", {"p": {"ip_prefix": {"field": "ip", "prefix_length": 8, "bogus": 1}}})
    assert r.status_code == 400 and "bogus" in r.text


async def test_ip_range_from_to_and_mask(asgi_client: httpx.AsyncClient) -> None:
    docs = await _setup(asgi_client)
    ranges = [
        {"to": "10.1.0.0"},
        {"from": "10.1.0.0", "to": "10.2.0.0"},
        {"from": "10.2.0.0"},
        {"mask": "10.0.0.0/25"},
        {"mask": "2001:db8:1::/48", "key": "net1"},
    ]
    body = {"r": {"ip_range": {"field": "ip", "ranges": ranges}, "aggs": {"s": {"sum": {"field": "n"}}}}}
    out = (await aggs(asgi_client, "ips", body))["r"]["buckets"]

    def v(text: str) -> int:
        return _as16(ipaddress.ip_address(text))

    bounds = {
        "*-10.1.0.0": (None, v("10.1.0.0")),
        "10.1.0.0-10.2.0.0": (v("10.1.0.0"), v("10.2.0.0")),
        "10.2.0.0-*": (v("10.2.0.0"), None),
        "10.0.0.0/25": (v("10.0.0.0"), v("10.0.0.128")),
        "net1": (v("2001:db8:1::"), v("2001:db8:2::")),
    }
    got = {b["key"]: b for b in out}
    assert set(got) == set(bounds)
    for key, (lo, hi) in bounds.items():
        members = [
            d
            for d in docs
            if any((lo is None or x >= lo) and (hi is None or x < hi) for x in map(_as16, _addresses(d)))
        ]
        assert got[key]["doc_count"] == len(members), key
        assert int(got[key]["s"]["value"]) == sum(d["n"] for d in members), key
    assert got["10.0.0.0/25"]["from"] == "10.0.0.0" and got["10.0.0.0/25"]["to"] == "10.0.0.128"
    assert "from" not in got["*-10.1.0.0"]
    # ES orders ranges by (from, to), unbounded from first
    assert out[0]["key"] == "*-10.1.0.0"
