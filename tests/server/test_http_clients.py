"""HTTP client statistics: noted per connection, open/closed read from the kernel's socket table."""

from __future__ import annotations

import socket
import time

import httpx

from server.http_clients import HttpClients


def test_clients_counted_per_connection_and_closed_from_the_socket_table() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, peer = server.accept()
    clients = HttpClients()

    def scope(path: str, size: int) -> dict:
        return {"type": "http", "client": peer, "server": ("127.0.0.1", port), "path": path,
                "query_string": b"a=1", "headers": [(b"user-agent", b"tester/1"),
                                                     (b"content-length", str(size).encode())]}  # fmt: skip

    clients.note(scope("/x", 10))
    clients.note(scope("/y", 5))
    stats = clients.stats(port)
    assert stats["current_open"] == 1 and stats["total_opened"] == 1
    (entry,) = stats["clients"]
    assert entry["request_count"] == 2 and entry["request_size_bytes"] == 15 and entry["last_uri"] == "/y?a=1"
    assert entry["agent"] == "tester/1" and entry["remote_address"] == f"{peer[0]}:{peer[1]}"
    assert "closed_time_millis" not in entry
    client.close()
    accepted.close()
    server.close()
    time.sleep(0.05)
    closed = clients.stats(port)
    assert closed["current_open"] == 0 and closed["total_opened"] == 1
    assert closed["clients"][0]["closed_time_millis"] >= entry["opened_time_millis"]
    clients.note(scope("/z", 0))  # the same address again after the close: a new connection
    assert clients.stats(port)["total_opened"] == 2


async def test_nodes_stats_and_info_http(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.get("/")
    (node,) = (await asgi_client.get("/_nodes/stats/http")).json()["nodes"].values()
    assert node["http"]["total_opened"] >= 1 and node["http"]["clients"][0]["request_count"] >= 1
    info = (await asgi_client.get("/_info/http")).json()
    assert info["http"]["clients"][0]["last_uri"] == "/_info/http"
    bad = await asgi_client.get("/_info/_all,ingest")
    assert bad.status_code == 400
    assert bad.json()["error"]["reason"] == (
        "request [/_info/_all,ingest] contains _all and individual target [_all,ingest]"
    )
