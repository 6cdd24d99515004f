"""Errors raised while turning a parsed query into a shard query.

BadRequest (native.errors)
└── QueryShardError (400, query_shard_exception): the query parsed, but cannot run against this
    index (ES's ``QueryShardException``, reason prefixed ``failed to create query: ``)
"""

from __future__ import annotations

from native.errors import BadRequest

__all__ = ["QueryShardError"]


class QueryShardError(BadRequest):
    es_type = "query_shard_exception"
