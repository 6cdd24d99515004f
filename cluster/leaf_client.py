"""How the root talks to leaves: one protocol, two transports.

``LocalLeafClient`` hands the protobuf messages to an in-process ``LeafService`` on worker threads (the
embedded server); a gRPC transport sends the same messages over the wire. Root code cannot tell them
apart.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from cluster.leaf import LeafService
from cluster.protos import leaf_pb2 as pb


class LeafClient(Protocol):
    async def search(self, request: pb.SearchRequest) -> pb.SearchResponse: ...
    async def fetch(self, request: pb.FetchRequest) -> pb.FetchResponse: ...
    async def bulk(self, request: pb.BulkRequest) -> pb.BulkResponse: ...
    async def get(self, request: pb.GetRequest) -> pb.StoredDoc: ...
    async def refresh(self, request: pb.RefreshRequest) -> pb.RefreshResponse: ...
    async def stats(self, request: pb.StatsRequest) -> pb.StatsResponse: ...


class LocalLeafClient:
    """In-process transport: same messages, no sockets; tantivy work runs in worker threads."""

    def __init__(self, service: LeafService) -> None:
        self.service = service

    async def search(self, request: pb.SearchRequest) -> pb.SearchResponse:
        return await asyncio.to_thread(self.service.search, request)

    async def fetch(self, request: pb.FetchRequest) -> pb.FetchResponse:
        return await asyncio.to_thread(self.service.fetch, request)

    async def bulk(self, request: pb.BulkRequest) -> pb.BulkResponse:
        return await asyncio.to_thread(self.service.bulk, request)

    async def get(self, request: pb.GetRequest) -> pb.StoredDoc:
        return await asyncio.to_thread(self.service.get, request)

    async def refresh(self, request: pb.RefreshRequest) -> pb.RefreshResponse:
        return await asyncio.to_thread(self.service.refresh, request)

    async def stats(self, request: pb.StatsRequest) -> pb.StatsResponse:
        return await asyncio.to_thread(self.service.stats, request)
