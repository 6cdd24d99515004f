"""Domain errors shared by every layer.

Each error carries the HTTP ``status`` and the Elasticsearch ``es_type`` it renders as; the one
renderer lives in ``server``. Nothing here knows HTTP.

QuidditchError (500, exception)
├── BadRequest (400)
│   ├── ParsingError (parsing_exception)
│   ├── XContentParseError (x_content_parse_exception)
│   ├── ElasticsearchParseError (parse_exception)
│   ├── IllegalArgument (illegal_argument_exception)
│   ├── ActionRequestValidation (action_request_validation_exception)
│   ├── MapperParsingError (mapper_parsing_exception)
│   │   └── FieldValueError (document_parsing_exception: a value its field cannot take)
│   ├── StrictDynamicMappingError (strict_dynamic_mapping_exception)
│   ├── InvalidIndexName (invalid_index_name_exception)
│   ├── ResourceAlreadyExists (resource_already_exists_exception)
│   ├── TooComplexToDeterminize (too_complex_to_determinize_exception)
│   ├── AggregationExecution (aggregation_execution_exception: ES answers some of these 500; a bad request here)
│   └── SearchPhaseError (search_phase_execution_exception, wraps a cause)
├── IndexNotFound (404, index_not_found_exception)
├── DocumentMissing (404, document_missing_exception)
├── ResourceNotFound (404, resource_not_found_exception)
├── VersionConflict (409, version_conflict_engine_exception)
├── RequestTimeout (408)
├── SearchTimeout (504, search_timeout_exception)
├── ContentTooLarge (413)
├── RejectedExecution (429, es_rejected_execution_exception)
├── ExpensiveQueryDisallowed (400, exception: ``search.allow_expensive_queries`` is false)
├── ClusterBlocked (403 or 429, cluster_block_exception)
│   └── DiskFull (429: the shard's disk refused a write, as past the flood-stage watermark)
└── ScriptingDisabled (400, illegal_argument_exception)
"""

from __future__ import annotations

from typing import Any


class QuidditchError(Exception):
    status: int = 500
    es_type: str = "exception"

    def __init__(self, reason: str, *, caused_by: QuidditchError | None = None, **extra: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.caused_by = caused_by
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        """The ES error object (without the outer ``{"error":…, "status":…}``)."""
        body: dict[str, Any] = {"type": self.es_type, "reason": self.reason, **self.extra}
        if self.caused_by is not None:
            body["caused_by"] = self.caused_by.to_dict()
        return body

    def root_cause(self) -> QuidditchError:
        err: QuidditchError = self
        # by type too: a shard's wrapper crosses the leaf contract as a plain error carrying that type
        while err.caused_by is not None and (
            isinstance(err, SearchPhaseError) or err.es_type == "search_phase_execution_exception"
        ):
            err = err.caused_by
        return err


class BadRequest(QuidditchError):
    status = 400
    es_type = "illegal_argument_exception"


class AggregationExecution(BadRequest):
    """An aggregation that cannot run on what it was given (a regex include on an ip field, several weights
    in one document). ES 8 answers some of these with 500; every one is the request's fault, so 400 here."""

    es_type = "aggregation_execution_exception"


class ParsingError(BadRequest):
    es_type = "parsing_exception"


class XContentParseError(BadRequest):
    es_type = "x_content_parse_exception"


class ElasticsearchParseError(BadRequest):
    es_type = "parse_exception"


class IllegalArgument(BadRequest):
    es_type = "illegal_argument_exception"


class ActionRequestValidation(BadRequest):
    es_type = "action_request_validation_exception"


class MapperParsingError(BadRequest):
    es_type = "mapper_parsing_exception"


class FieldValueError(MapperParsingError):
    """A source value its mapped field cannot take (ES 8.8+ reports these as ``document_parsing_exception``)."""

    es_type = "document_parsing_exception"


class DocumentParsingError(BadRequest):
    es_type = "document_parsing_exception"


class StrictDynamicMappingError(BadRequest):
    es_type = "strict_dynamic_mapping_exception"


class InvalidIndexName(BadRequest):
    es_type = "invalid_index_name_exception"


class ResourceAlreadyExists(BadRequest):
    es_type = "resource_already_exists_exception"


class TooComplexToDeterminize(BadRequest):
    es_type = "too_complex_to_determinize_exception"


class ScriptingDisabled(BadRequest):
    es_type = "illegal_argument_exception"


class SearchPhaseError(BadRequest):
    es_type = "search_phase_execution_exception"


class IndexNotFound(QuidditchError):
    status = 404
    es_type = "index_not_found_exception"

    def __init__(self, index: str, *, reason: str | None = None) -> None:
        super().__init__(reason or f"no such index [{index}]")
        self.extra.update(
            {"resource.type": "index_or_alias", "resource.id": index, "index_uuid": "_na_", "index": index}
        )


class DocumentMissing(QuidditchError):
    status = 404
    es_type = "document_missing_exception"


class RoutingMissing(BadRequest):
    """A document API without ``routing`` on an index whose mapping has ``_routing: {required: true}``."""

    es_type = "routing_missing_exception"

    def __init__(self, index: str, doc_id: str | None) -> None:
        super().__init__(f"routing is required for [{index}]/[{doc_id}]", index=index)


class ResourceNotFound(QuidditchError):
    status = 404
    es_type = "resource_not_found_exception"


class VersionConflict(QuidditchError):
    status = 409
    es_type = "version_conflict_engine_exception"


class RequestTimeout(QuidditchError):
    status = 408
    es_type = "timeout_exception"


class SearchTimeout(QuidditchError):
    """A shard past the search's ``timeout`` when partial results are not allowed."""

    status = 504
    es_type = "search_timeout_exception"


class ContentTooLarge(QuidditchError):
    status = 413
    es_type = "content_too_long_exception"


class RejectedExecution(QuidditchError):
    status = 429
    es_type = "es_rejected_execution_exception"


class ClusterBlocked(QuidditchError):
    """An index block refuses the operation; ``blocks`` are ES's ``(status, id, description)`` triples, and the
    status is the highest of theirs, as in ES's ``ClusterBlockException``."""

    es_type = "cluster_block_exception"

    def __init__(self, index: str | None, blocks: list[tuple[int, int, str]]) -> None:
        names = {403: "FORBIDDEN", 429: "TOO_MANY_REQUESTS"}
        described = ", ".join(f"{names.get(status, status)}/{bid}/{text}" for status, bid, text in blocks)
        # ES names the index of an index block; a cluster-wide block has no index
        super().__init__(f"index [{index}] blocked by: [{described}];" if index else f"blocked by: [{described}];")
        self.status = max(status for status, _, _ in blocks)


FLOOD_STAGE_BLOCK = (429, 12, "disk usage exceeded flood-stage watermark, index has read-only-allow-delete block")


class DiskFull(ClusterBlocked):
    """The disk had no room for a write (ENOSPC) of ``index``'s shard (or, with None, of the cluster state):
    nothing of it was acknowledged or kept, and it answers as a write past the flood-stage watermark does."""

    def __init__(self, index: str | None) -> None:
        super().__init__(index, [FLOOD_STAGE_BLOCK])


class ExpensiveQueryDisallowed(QuidditchError):
    """A query ES refuses while ``search.allow_expensive_queries`` is false (ES's plain ``exception``)."""

    status = 400
    es_type = "exception"

    def __init__(self, query: str) -> None:
        what = "[range] queries on [text] or [keyword] fields" if query == "range" else f"[{query}] queries"
        reason = f"{what} cannot be executed when 'search.allow_expensive_queries' is set to false."
        if query == "prefix":
            reason += " For optimised prefix queries on text fields please enable [index_prefixes]."
        super().__init__(reason)
