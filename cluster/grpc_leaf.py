"""The leaf contract over gRPC: ``GrpcLeafClient`` (the root's side) and the leaf servicer (a data node's side).

Both carry the protobuf messages of ``cluster/protos/leaf.proto`` unchanged, so a root cannot tell a remote leaf
from the in-process ``LocalLeafClient``. The servicer hands every call to a ``LocalLeafClient`` over the node's
``LeafService`` (its worker threads; never inline), so the server's event loop only moves bytes and a hung
shard call holds one worker, not the server.

Failures keep their meaning across the wire:

- a leaf's domain error travels inside the response (``pb.Error``); for the calls whose in-process form raises
  (get, search, refresh, forcemerge, stats) the servicer puts it in the response's ``error`` and the client
  raises it again (``cluster.errors.RemoteError``: same status, ES type and reason);
- the transport's own failures are raised by the client as ``NodeNotConnected`` (unreachable: refused, reset,
  unresolvable), ``ReceiveTimeout`` (the call's deadline passed) or ``TransportFailure`` (any other status).

Deadlines (the client's): a search carries its own (``timeout_seconds``, plus ``SEARCH_GRACE_S`` for the leaf
to answer its timed-out shards); a search without one has none, as the server setting
``search_default_search_timeout: -1`` asks. A bulk gets ``bulk_timeout_s`` (a 100 MB body is parsed and
indexed by the leaf before it answers: minutes on a busy 2-core machine, and the WAL has it once applied, so
giving up early only turns a success into an unknown). A refresh may wait for a mapping rebuild
(``cluster.leaf.REBUILD_WAIT_S``) and gets that plus ``default_timeout_s``. A forcemerge has no deadline: it
rewrites whole shards, and ES waits for it as long as it takes. Every other call gets ``default_timeout_s``.

QuidditchError
├── ReceiveTimeout (500, receive_timeout_transport_exception)
└── TransportFailure (500, transport_exception)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc
import grpc.aio

from cluster.errors import error_from_pb, error_to_pb, unexpected_to_pb
from cluster.leaf import REBUILD_WAIT_S, LeafService
from cluster.leaf_client import LocalLeafClient
from cluster.protos import leaf_pb2 as pb
from cluster.protos import leaf_pb2_grpc
from cluster.transport import NodeNotConnected
from native.errors import QuidditchError

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Resp = TypeVar("Resp")

# Bulk bodies reach 100 MB and a search may fetch large documents: both ends accept up to 1 GiB per message.
MAX_MESSAGE_BYTES = 1 << 30
SEARCH_GRACE_S = 0.5
DEFAULT_TIMEOUT_S = 30.0
BULK_TIMEOUT_S = 300.0
_CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # a restarted node is reachable again within a second (gRPC's default backoff grows to 120 s)
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    # a peer that vanished without a FIN (power loss, partition) is noticed by its missing pings
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
]
_SERVER_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # accept the clients' keepalive pings, also while a long call sends no data
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.keepalive_permit_without_calls", 1),
]


class ReceiveTimeout(QuidditchError):
    """A leaf call's deadline passed before its answer came (ES's ``ReceiveTimeoutTransportException``)."""

    es_type = "receive_timeout_transport_exception"

    def __init__(self, node: str, address: str, action: str, timeout_s: float) -> None:
        super().__init__(f"[{node}][{address}][{action}] timed out after [{int(timeout_s * 1000)}ms]")
        self.node_id = node


class TransportFailure(QuidditchError):
    """A leaf call that failed in the transport for another reason than reachability or its deadline."""

    es_type = "transport_exception"

    def __init__(self, node: str, address: str, action: str, code: str, details: str) -> None:
        super().__init__(f"[{node}][{address}][{action}] transport failure [{code}]: {details}")
        self.node_id = node


class GrpcLeafClient:
    """``LeafClient`` over a gRPC channel to one node's leaf servicer.

    The channel is opened on first use (on the running event loop) and reconnects by itself; ``close()``
    ends it. ``node_id`` names the node in errors (default: the address).
    """

    def __init__(self, address: str, *, default_timeout_s: float = DEFAULT_TIMEOUT_S,
                 bulk_timeout_s: float = BULK_TIMEOUT_S, node_id: str | None = None) -> None:  # fmt: skip
        self.address = address
        self.node_id = node_id or address
        self.default_timeout_s = default_timeout_s
        self.bulk_timeout_s = bulk_timeout_s
        self._channel: grpc.aio.Channel | None = None
        self._stub: leaf_pb2_grpc.LeafStub | None = None

    def _leaf(self) -> leaf_pb2_grpc.LeafStub:
        if self._stub is None:
            self._channel = grpc.aio.insecure_channel(self.address, options=_CHANNEL_OPTIONS)
            self._stub = leaf_pb2_grpc.LeafStub(self._channel)
        return self._stub

    async def _call(self, action: str, method: Callable[..., Awaitable[Resp]], request: Any,
                    timeout: float | None) -> Resp:  # fmt: skip
        try:
            return await method(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            if code == grpc.StatusCode.UNAVAILABLE:
                raise NodeNotConnected(self.node_id, f"[{self.address}] {exc.details()}") from None
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ReceiveTimeout(self.node_id, self.address, action, timeout or 0.0) from None
            raise TransportFailure(self.node_id, self.address, action, code.name, exc.details() or "") from None

    @staticmethod
    def _raised(response: Resp) -> Resp:
        """The response, or its whole-call error raised (the calls whose in-process form raises)."""
        if response.HasField("error"):  # type: ignore[attr-defined]
            raise error_from_pb(response.error)  # type: ignore[attr-defined]
        return response

    async def search(self, request: pb.SearchRequest) -> pb.SearchResponse:
        timeout = request.timeout_seconds + SEARCH_GRACE_S if request.HasField("timeout_seconds") else None
        return self._raised(await self._call("search", self._leaf().Search, request, timeout))

    async def fetch(self, request: pb.FetchRequest) -> pb.FetchResponse:
        return await self._call("fetch", self._leaf().Fetch, request, self.default_timeout_s)

    async def bulk(
        self, request: pb.BulkRequest, parsed: Sequence[dict[str, Any] | None] | None = None
    ) -> pb.BulkResponse:
        """``parsed`` is ignored: the leaf parses ``source`` in its own process."""
        return await self._call("bulk", self._leaf().Bulk, request, self.bulk_timeout_s)

    async def get(self, request: pb.GetRequest) -> pb.StoredDoc:
        return self._raised(await self._call("get", self._leaf().Get, request, self.default_timeout_s))

    async def refresh(self, request: pb.RefreshRequest) -> pb.RefreshResponse:
        timeout = REBUILD_WAIT_S + self.default_timeout_s
        return self._raised(await self._call("refresh", self._leaf().Refresh, request, timeout))

    async def stats(self, request: pb.StatsRequest) -> pb.StatsResponse:
        return self._raised(await self._call("stats", self._leaf().Stats, request, self.default_timeout_s))

    async def forcemerge(self, request: pb.ForcemergeRequest) -> pb.ForcemergeResponse:
        return self._raised(await self._call("forcemerge", self._leaf().Forcemerge, request, None))

    async def explain(self, request: pb.ExplainRequest) -> pb.ExplainResponse:
        return await self._call("explain", self._leaf().Explain, request, self.default_timeout_s)

    async def validate(self, request: pb.ValidateRequest) -> pb.ValidateResponse:
        return await self._call("validate", self._leaf().Validate, request, self.default_timeout_s)

    async def termvectors(self, request: pb.TermvectorsRequest) -> pb.TermvectorsResponse:
        return await self._call("termvectors", self._leaf().Termvectors, request, self.default_timeout_s)

    async def replicate(self, request: pb.ReplicateRequest) -> pb.ReplicateResponse:
        """The replica's own failure comes back in ``error``; a transport failure raises (either way the
        primary fails that copy: ``cluster.replication``)."""
        return await self._call("replicate", self._leaf().Replicate, request, self.bulk_timeout_s)

    async def recover(self, request: pb.RecoverRequest) -> pb.RecoverResponse:
        return await self._call("recover", self._leaf().Recover, request, self.bulk_timeout_s)

    async def close(self) -> None:
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close()


class LeafServicer(leaf_pb2_grpc.LeafServicer):
    """Serves one node's ``LeafService``: each call runs on the ``LocalLeafClient`` worker threads.

    A call that raises (a domain error of get/search/refresh/forcemerge/stats, or a bug) answers its
    response message with ``error`` set: the RPC itself always ends OK, so the client can tell a leaf's
    answer from a transport failure.
    """

    def __init__(self, service: LeafService) -> None:
        self.service = service
        self.local = LocalLeafClient(service, inline=False)

    async def _serve(self, name: str, call: Awaitable[Resp], empty: Callable[[], Resp]) -> Resp:
        try:
            return await call
        except QuidditchError as exc:
            response = empty()
            response.error.CopyFrom(error_to_pb(exc))  # type: ignore[attr-defined]
            return response
        except Exception as exc:
            log.exception("leaf %s failed", name)
            response = empty()
            response.error.CopyFrom(unexpected_to_pb(exc))  # type: ignore[attr-defined]
            return response

    async def Search(self, request: pb.SearchRequest, context: Any) -> pb.SearchResponse:
        return await self._serve("search", self.local.search(request), pb.SearchResponse)

    async def Fetch(self, request: pb.FetchRequest, context: Any) -> pb.FetchResponse:
        return await self._serve("fetch", self.local.fetch(request), pb.FetchResponse)

    async def Bulk(self, request: pb.BulkRequest, context: Any) -> pb.BulkResponse:
        return await self._serve("bulk", self.local.bulk(request), pb.BulkResponse)

    async def Get(self, request: pb.GetRequest, context: Any) -> pb.StoredDoc:
        return await self._serve("get", self.local.get(request), lambda: pb.StoredDoc(id=request.id))

    async def Refresh(self, request: pb.RefreshRequest, context: Any) -> pb.RefreshResponse:
        return await self._serve("refresh", self.local.refresh(request), pb.RefreshResponse)

    async def Forcemerge(self, request: pb.ForcemergeRequest, context: Any) -> pb.ForcemergeResponse:
        return await self._serve("forcemerge", self.local.forcemerge(request), pb.ForcemergeResponse)

    async def Stats(self, request: pb.StatsRequest, context: Any) -> pb.StatsResponse:
        return await self._serve("stats", self.local.stats(request), pb.StatsResponse)

    async def Explain(self, request: pb.ExplainRequest, context: Any) -> pb.ExplainResponse:
        return await self._serve("explain", self.local.explain(request), pb.ExplainResponse)

    async def Validate(self, request: pb.ValidateRequest, context: Any) -> pb.ValidateResponse:
        return await self._serve("validate", self.local.validate(request), pb.ValidateResponse)

    async def Termvectors(self, request: pb.TermvectorsRequest, context: Any) -> pb.TermvectorsResponse:
        return await self._serve("termvectors", self.local.termvectors(request), pb.TermvectorsResponse)

    async def Replicate(self, request: pb.ReplicateRequest, context: Any) -> pb.ReplicateResponse:
        return await self._serve("replicate", self.local.replicate(request), pb.ReplicateResponse)

    async def Recover(self, request: pb.RecoverRequest, context: Any) -> pb.RecoverResponse:
        return await self._serve("recover", self.local.recover(request), pb.RecoverResponse)


class LeafServer:
    """A running leaf servicer: ``port`` (the bound one, also when asked for 0), ``address``, ``stop()``."""

    def __init__(self, server: grpc.aio.Server, host: str, port: int) -> None:
        self.server = server
        self.host = host
        self.port = port

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def stop(self, grace: float | None = None) -> None:
        """Stop accepting calls; calls in flight get ``grace`` seconds (None: cancelled at once)."""
        await self.server.stop(grace)


async def start_leaf_server(service: LeafService, host: str, port: int) -> LeafServer:
    """Serve ``service`` on ``host:port`` (0: a free port) on the running event loop."""
    server = grpc.aio.server(options=_SERVER_OPTIONS)
    servicer = LeafServicer(service)
    leaf_pb2_grpc.add_LeafServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind the leaf transport to [{host}:{port}]")
    await server.start()
    return LeafServer(server, host, bound)
