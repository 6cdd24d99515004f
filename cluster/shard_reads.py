"""The coordinator side of ``_explain``, ``_validate/query`` and ``_termvectors``: pick the shard, call the leaf.

The server handlers parse and validate the request, then call these with the ``LeafClient`` that reaches the
shard (the embedded server's ``cluster.leaf``; in a cluster, the client of the node holding a copy). What comes
back is typed (``Explained``, ``ShardValidity``, ``TermVectorsRead``); the ES JSON shape is the handler's
business. A failure of the leaf call is raised as the leaf's error (``cluster.errors.RemoteError``: same
status, ES type and reason), a compile failure of ``validate`` is part of the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from cluster.errors import RemoteError, error_from_pb
from cluster.explain import ExplainResult
from cluster.leaf_client import LeafClient
from cluster.protos import leaf_pb2 as pb
from cluster.routing import shard_for
from cluster.state import IndexMeta
from cluster.termvectors import TermVectorOptions

Explained = ExplainResult  # what a leaf's explain found (the same result on both sides of the wire)


@dataclass(frozen=True)
class ShardValidity:
    shard: int
    explanation: str = ""  # the compiled query's rendering, when valid
    error: RemoteError | None = None  # why the query does not compile on this shard

    @property
    def valid(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class TermVectorsRead:
    found: bool
    version: int = 0
    term_vectors: dict[str, Any] | None = None


def _ref(meta: IndexMeta, shard: int) -> pb.ShardRef:
    return pb.ShardRef(index=meta.name, uuid=meta.uuid, shard=shard)


def _query_json(query: dict[str, Any] | None) -> bytes:
    return orjson.dumps(query) if query is not None else b""


def doc_shard(meta: IndexMeta, doc_id: str | None, routing: str | None) -> int:
    """The shard a single-document read goes to: its routing, else its id (``cluster.routing``)."""
    return shard_for(str(routing or doc_id or ""), meta.number_of_shards)


async def explain(client: LeafClient, meta: IndexMeta, doc_id: str, routing: str | None,
                  query: dict[str, Any] | None, *, now_millis: int) -> Explained:  # fmt: skip
    """``query`` already parsed once by the coordinator (its 400s) and with its lookups resolved."""
    request = pb.ExplainRequest(shard=_ref(meta, doc_shard(meta, doc_id, routing)), id=doc_id,
                                query_json=_query_json(query), now_millis=now_millis)  # fmt: skip
    response = await client.explain(request)
    if response.HasField("error"):
        raise error_from_pb(response.error)
    if not response.found:
        return Explained(found=False)
    return Explained(True, response.matched, orjson.loads(response.explanation_json), response.version,
                     response.seq_no, response.primary_term, response.source)  # fmt: skip


async def validate(client: LeafClient, meta: IndexMeta, shards: Sequence[int], query: dict[str, Any] | None, *,
                   now_millis: int) -> list[ShardValidity]:  # fmt: skip
    """Per shard of ``shards`` (in order): the rendering of the compiled query or why it does not compile."""
    request = pb.ValidateRequest(shards=[_ref(meta, s) for s in shards], query_json=_query_json(query),
                                 now_millis=now_millis)  # fmt: skip
    response = await client.validate(request)
    if response.HasField("error"):
        raise error_from_pb(response.error)
    return [
        ShardValidity(r.shard.shard, r.explanation, error_from_pb(r.error) if r.HasField("error") else None)
        for r in response.results
    ]


async def termvectors(
    client: LeafClient, meta: IndexMeta, *, doc_id: str | None, routing: str | None, doc: dict[str, Any] | None,
    opts: TermVectorOptions, realtime: bool = True,
) -> TermVectorsRead:
    """Term vectors of the stored ``doc_id`` or of the artificial ``doc`` (one of them is given)."""
    request = pb.TermvectorsRequest(shard=_ref(meta, doc_shard(meta, doc_id, routing)), id=doc_id or "",
                                    not_realtime=not realtime, options_json=opts.to_json())  # fmt: skip
    if doc is not None:
        request.doc_json = orjson.dumps(doc)
    response = await client.termvectors(request)
    if response.HasField("error"):
        raise error_from_pb(response.error)
    if not response.found:
        return TermVectorsRead(found=False)
    return TermVectorsRead(True, response.version, orjson.loads(response.term_vectors_json))
