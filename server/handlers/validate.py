"""``GET|POST [/{index}]/_validate/query``: would this query parse and compile, without running it.

As in ES, an invalid query is not an error response: the body says ``valid: false`` (with the reason when
``explain=true``). Parsing uses the search's own parser (``Root.parse``, with the node's limits); each index
then compiles the query against its shard's mapping, which is where unknown fields of the wrong type,
bad numbers or dates and the like fail.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster import shard_reads
from cluster.embedded import EmbeddedCluster
from cluster.search_request import query_from_params
from native.errors import ParsingError, QuidditchError
from server.handlers.indices import resolve
from server.http import check_params, es_json, flag, json_body

PARAMS = {"explain", "rewrite", "all_shards", "q", "df", "default_operator", "analyzer", "analyze_wildcard",
          "lenient"}  # fmt: skip


_UNKNOWN_QUERY = re.compile(r"unknown query \[([^\]]*)\]")


def _parse_failure(exc: QuidditchError) -> str:
    """ES's detailed message of a parse failure (an unknown query name also shows ES's nested cause, the
    registry lookup that failed; its ``[line:column]`` position is not tracked here and left out)."""
    kind = "ParsingException" if isinstance(exc, ParsingError) else exc.es_type
    if kind != "ParsingException":
        return f"[{kind}] {exc.reason}"
    message = f"org.elasticsearch.common.{kind}: {exc.reason}"
    unknown = _UNKNOWN_QUERY.match(exc.reason)
    if unknown is not None:
        message += f"; nested: NamedObjectNotFoundException[unknown field [{unknown.group(1)}]];"
    return message


async def validate_query(request: Request) -> Response:
    params = check_params(request, PARAMS)
    explain = flag(params, "explain")
    cluster: EmbeddedCluster = request.app.state.cluster
    metas = resolve(request, request.path_params.get("index"), params)
    try:
        body = await json_body(request)
        if body is not None and not isinstance(body, dict):
            raise ParsingError("request body must be an object")
        for key in body or {}:
            if key != "query":
                raise ParsingError(f"request does not support [{key}]")
        query = query_from_params(params) if "q" in params else (body or {}).get("query")
        cluster.root.parse(query)
        (resolved,) = await cluster.root.resolve_lookups(query)
        if resolved != query:
            cluster.root.parse(resolved)
    except QuidditchError as exc:
        invalid: dict[str, Any] = {"valid": False}
        if explain:
            invalid["error"] = _parse_failure(exc)
        return es_json(request, invalid)
    now = int(time.time() * 1000)
    all_shards = flag(params, "all_shards")
    explanations: list[dict[str, Any]] = []
    valid = True
    for meta in metas:
        shards = range(meta.number_of_shards) if all_shards else range(1)
        answers = [shard for client, group in cluster.writes.shard_clients(meta, shards)
                   for shard in await shard_reads.validate(client, meta, group, resolved, now_millis=now)]  # fmt: skip
        for shard in sorted(answers, key=lambda answer: answer.shard):
            entry: dict[str, Any] = {"index": meta.name}
            if all_shards:
                entry["shard"] = shard.shard
            if shard.error is None:
                entry |= {"valid": True, "explanation": shard.explanation}
            else:
                valid = False
                reason = shard.error.reason.removeprefix("failed to create query: ")
                entry |= {"valid": False,
                          "error": f"[{meta.name}/{meta.uuid}] QueryShardException[failed to create query: "
                                   f"{reason}]"}  # fmt: skip
            explanations.append(entry)
    count = len(explanations)
    out: dict[str, Any] = {"_shards": {"total": count, "successful": count, "failed": 0}, "valid": valid}
    if explain or flag(params, "rewrite"):
        out["explanations"] = explanations
    return es_json(request, out)


routes = [
    Route("/_validate/query", validate_query, methods=["GET", "POST"]),
    Route("/{index}/_validate/query", validate_query, methods=["GET", "POST"]),
]
