"""The leaf side of the per-document and per-shard reads: ``_explain``, ``_validate/query``, ``_termvectors``.

These used to run in ``server/`` against the node's shards directly; as leaf calls they cross a transport like
search and fetch do, so the coordinator never needs the shard in its own process. Each function takes the
request message and answers the response message; a domain failure travels inside it as ``pb.Error`` (never
raised), so a remote servicer and the in-process client report it alike. ``LeafService`` holds the state
(node, query parser) and delegates here to keep ``cluster/leaf.py`` about searching.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson

from cluster.errors import error_to_pb, unexpected_to_pb
from cluster.explain import explain_doc, field_names, validate_on
from cluster.node import DataNode
from cluster.protos import leaf_pb2 as pb
from cluster.termvectors import TermVectorOptions, term_vectors
from native.errors import QuidditchError
from native.query import QueryAst

log = logging.getLogger(__name__)
ParseQuery = Callable[[bytes], QueryAst]


def explain(node: DataNode, parse: ParseQuery, max_clause_count: int, request: pb.ExplainRequest) -> pb.ExplainResponse:
    """Why (and how much) ``request.id`` matches the query on its shard (``cluster.explain.explain_doc``)."""
    response = pb.ExplainResponse()
    try:
        shard = node.shard(request.shard.uuid, request.shard.shard)
        result = explain_doc(shard, request.id, parse(request.query_json), now_millis=request.now_millis,
                             max_clause_count=max_clause_count)  # fmt: skip
    except QuidditchError as exc:
        response.error.CopyFrom(error_to_pb(exc))
        return response
    except Exception as exc:  # a bug or a tantivy error: this call fails, not the node
        log.exception("leaf explain failed", extra={"index": request.shard.index, "shard": request.shard.shard})
        response.error.CopyFrom(unexpected_to_pb(exc))
        return response
    response.found, response.matched = result.found, result.matched
    if result.found:
        response.explanation_json = orjson.dumps(result.explanation)
        response.version, response.seq_no, response.primary_term = result.version, result.seq_no, result.primary_term
        response.source = result.source
    return response


def validate(
    node: DataNode, parse: ParseQuery, max_clause_count: int, request: pb.ValidateRequest
) -> pb.ValidateResponse:
    """Compile the query against each shard's mapping. A compile failure is the answer (``error``: the query is
    invalid there); a shard that cannot be read is a failure of the call (``ShardValidation`` has no room for
    it, and the coordinator reports it as the request's error, as before the seam)."""
    response = pb.ValidateResponse()
    try:
        ast = parse(request.query_json)
        shards = [node.shard(ref.uuid, ref.shard) for ref in request.shards]
    except QuidditchError as exc:
        response.error.CopyFrom(error_to_pb(exc))
        return response
    for ref, shard in zip(request.shards, shards, strict=True):
        result = response.results.add(shard=ref)
        try:
            names = field_names(shard)
            result.explanation = validate_on(shard.compiled, ast, names, now_millis=request.now_millis,
                                             max_clause_count=max_clause_count)  # fmt: skip
        except QuidditchError as exc:
            result.error.CopyFrom(error_to_pb(exc))
        except ValueError as exc:  # tantivy reports bad terms as ValueError
            result.error.CopyFrom(pb.Error(status=400, es_type="query_shard_exception", reason=str(exc)))
    return response


def termvectors(node: DataNode, request: pb.TermvectorsRequest) -> pb.TermvectorsResponse:
    """Term vectors of a stored document (``id``) or an artificial one (``doc_json``) on this shard."""
    response = pb.TermvectorsResponse()
    try:
        shard = node.shard(request.shard.uuid, request.shard.shard)
        artificial = bool(request.doc_json)
        if artificial:
            source = orjson.loads(request.doc_json)
        else:
            stored = shard.get(request.id, realtime=not request.not_realtime)
            if stored is None or stored.source is None:
                return response  # found: false
            source = orjson.loads(stored.source)
            response.version = stored.version
        opts = TermVectorOptions.from_json(request.options_json)
        _, searcher, compiled = shard.view()
        vectors = term_vectors(searcher, compiled, source, opts, artificial=artificial)
    except QuidditchError as exc:
        response.error.CopyFrom(error_to_pb(exc))
        return response
    except Exception as exc:
        log.exception("leaf termvectors failed", extra={"index": request.shard.index, "shard": request.shard.shard})
        response.error.CopyFrom(unexpected_to_pb(exc))
        return response
    response.found = True
    response.term_vectors_json = orjson.dumps(vectors)
    return response
