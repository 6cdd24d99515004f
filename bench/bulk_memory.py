"""Peak memory of one ``_bulk``: the server's peak RSS growth (``VmHWM``) over the body size.

    python -m bench.bulk_memory [--mb 99] [--shapes small,large]

A fresh ``quidditch serve`` (``tests.conftest.ServerProcess``) per shape, one 1-shard index, one warm-up
document, then one ``_bulk`` of ``--mb`` MB: ``small`` is ~215-byte log lines (~460k of them in 99 MB),
``large`` ~200 kB documents of analyzed text. Prints the ratio (peak growth / body), the time and the
RSS left after the request. Measured on the 2-core box (December 2026, 99 MB): small 20x before the
segmented ``_bulk`` path and 5.4x after, large 12.8x and 4.1x.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import httpx
import orjson

from tests.conftest import ServerProcess

NDJSON = {"content-type": "application/x-ndjson"}


def _status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def body_of(shape: str, target: int) -> tuple[bytes, int]:
    parts: list[bytes] = []
    size = i = 0
    while size < target:
        if shape == "small":
            doc = {"title": f"doc number {i}", "n": i, "tag": f"t{i % 97}", "ts": 1700000000000 + i,
                   "message": f"GET /api/v1/items/{i} HTTP/1.1 200 user-agent Mozilla/5.0 (X11; Linux x86_64) "
                              f"client 10.0.{i % 250}.{i % 7} took {i % 1000} ms"}  # fmt: skip
        else:
            doc = {"title": f"doc {i}", "body": f"lorem ipsum dolor sit amet {i} " * 6666}
        parts.append(b'{"index":{}}\n' + orjson.dumps(doc) + b"\n")
        size += len(parts[-1])
        i += 1
    return b"".join(parts), i


def measure(shape: str, mb: int) -> dict[str, float]:
    body, docs = body_of(shape, mb * 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(os.path.join(tmp, "data")).start()
        try:
            client = httpx.Client(base_url=server.url, timeout=1200)
            client.put("/i", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
            client.post("/i/_bulk", content=b'{"index":{}}\n{"title":"w","n":1}\n', headers=NDJSON)
            assert server.proc is not None
            pid = server.proc.pid
            before = _status(pid, "VmRSS")
            started = time.monotonic()
            response = client.post("/i/_bulk", content=body, headers=NDJSON)
            seconds = time.monotonic() - started
            peak, after = _status(pid, "VmHWM"), _status(pid, "VmRSS")
            result = response.json()
            assert response.status_code == 200 and not result["errors"] and len(result["items"]) == docs
        finally:
            server.stop()
    return {"docs": docs, "body_mb": len(body) / 1e6, "seconds": seconds, "ratio": (peak - before) / len(body),
            "peak_growth_mb": (peak - before) / 1e6, "left_mb": (after - before) / 1e6}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=99)
    parser.add_argument("--shapes", default="small,large")
    args = parser.parse_args()
    for shape in args.shapes.split(","):
        r = measure(shape, args.mb)
        print(f"{shape}: {r['docs']:.0f} docs, {r['body_mb']:.1f} MB body, {r['seconds']:.1f} s, peak RSS growth "
              f"{r['peak_growth_mb']:.0f} MB = {r['ratio']:.2f}x the body, {r['left_mb']:.0f} MB left")  # fmt: skip


if __name__ == "__main__":
    main()
