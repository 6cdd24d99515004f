from __future__ import annotations

import json

import pytest

from native import errors as ne
from server.errors import (
    MethodNotAllowed,
    NoHandlerFound,
    error_body,
    error_status,
    unexpected_error_body,
)
from server.negotiation import ContentTypeNotSupported
from tests.server.helpers import assert_canonical_error, assert_flat_error


@pytest.mark.parametrize(
    "exc",
    [
        ne.ParsingError("unknown query [matc]", line=1, col=20),
        ne.XContentParseError("[1:2] Unexpected character"),
        ne.IllegalArgument("request [/_search] contains unrecognized parameter: [foo]"),
        ne.ActionRequestValidation("Validation Failed: 1: no requests added;"),
        ne.InvalidIndexName("Invalid index name [FOO], must be lowercase", index="FOO", index_uuid="_na_"),
        ne.ResourceAlreadyExists("index [x/abc] already exists", index="x"),
        ne.IndexNotFound("logs-2024"),
        ne.VersionConflict("[1]: version conflict, document already exists (current version [1])"),
        ne.RejectedExecution("rejected execution of search"),
        ne.ContentTooLarge("too large"),
        ne.ScriptingDisabled("cannot execute [inline] scripts"),
        ne.QuidditchError("boom"),
    ],
)
def test_every_domain_error_has_the_canonical_shape(exc: ne.QuidditchError) -> None:
    body = error_body(exc)
    assert_canonical_error(body, exc.status, exc.es_type)
    assert body["error"]["root_cause"][0]["reason"] == exc.reason
    assert error_status(exc) == exc.status
    json.dumps(body)  # serialisable


def test_index_not_found_carries_resource_fields_in_root_cause() -> None:
    body = error_body(ne.IndexNotFound("x"))
    assert body == {
        "error": {
            "root_cause": [
                {
                    "type": "index_not_found_exception",
                    "reason": "no such index [x]",
                    "resource.type": "index_or_alias",
                    "resource.id": "x",
                    "index_uuid": "_na_",
                    "index": "x",
                }
            ],
            "type": "index_not_found_exception",
            "reason": "no such index [x]",
            "resource.type": "index_or_alias",
            "resource.id": "x",
            "index_uuid": "_na_",
            "index": "x",
        },
        "status": 404,
    }


def test_caused_by_chain_is_nested_and_root_cause_is_the_outer_error() -> None:
    inner = ne.IllegalArgument("field [x] of type [long] does not support prefix")
    exc = ne.XContentParseError("[1:22] [bool] failed to parse field [must]", caused_by=inner)
    body = error_body(exc)
    assert_canonical_error(body, 400, "x_content_parse_exception")
    assert body["error"]["caused_by"] == {"type": "illegal_argument_exception", "reason": inner.reason}
    assert body["error"]["root_cause"] == [{"type": "x_content_parse_exception", "reason": exc.reason}]


def test_search_phase_error_wraps_its_cause() -> None:
    cause = ne.IllegalArgument(
        "Result window is too large, from + size must be less than or equal to: [10000] but was [20000]."
    )
    exc = ne.SearchPhaseError("all shards failed", caused_by=cause, index="logs", node="node-1")
    body = error_body(exc)
    assert_canonical_error(
        body, 400, "search_phase_execution_exception", root_type="illegal_argument_exception"
    )
    assert body == {
        "error": {
            "root_cause": [{"type": "illegal_argument_exception", "reason": cause.reason}],
            "type": "search_phase_execution_exception",
            "reason": "all shards failed",
            "phase": "query",
            "grouped": True,
            "failed_shards": [
                {
                    "shard": 0,
                    "index": "logs",
                    "node": "node-1",
                    "reason": {"type": "illegal_argument_exception", "reason": cause.reason},
                }
            ],
            "caused_by": {"type": "illegal_argument_exception", "reason": cause.reason},
        },
        "status": 400,
    }


def test_search_phase_status_and_index_come_from_the_cause() -> None:
    err = ne.SearchPhaseError("all shards failed", caused_by=ne.RejectedExecution("queue full", index="i"))
    body = error_body(err)
    assert body["status"] == 429 and error_status(err) == 429
    assert body["error"]["failed_shards"][0]["index"] == "i"
    assert body["error"]["root_cause"][0]["type"] == "es_rejected_execution_exception"


def test_search_phase_without_cause_still_fills_root_cause() -> None:
    body = error_body(ne.SearchPhaseError(""))
    assert_canonical_error(
        body, 400, "search_phase_execution_exception", root_type="search_phase_execution_exception"
    )
    assert body["error"]["reason"] == "all shards failed"
    assert body["error"]["failed_shards"] == []


def test_flat_errors() -> None:
    assert error_body(ContentTypeNotSupported("text/plain")) == {
        "error": "Content-Type header [text/plain] is not supported",
        "status": 406,
    }
    assert_flat_error(
        error_body(NoHandlerFound("/x", "GET")), 400, "no handler found for uri [/x] and method [GET]"
    )
    exc = MethodNotAllowed("/_bulk", "GET", ["POST", "PUT"])
    assert_flat_error(
        error_body(exc), 405, "Incorrect HTTP method for uri [/_bulk] and method [GET], allowed: [POST, PUT]"
    )
    assert exc.allowed == ["POST", "PUT"]


def test_unexpected_error_is_a_500_exception() -> None:
    body = unexpected_error_body(KeyError("hits"))
    assert_canonical_error(body, 500, "exception")
    assert body["error"]["reason"] == "KeyError: 'hits'"
    assert unexpected_error_body(RuntimeError())["error"]["reason"] == "RuntimeError"
    assert error_status(RuntimeError()) == 500
    # domain errors pass straight through
    assert unexpected_error_body(ne.IndexNotFound("x")) == error_body(ne.IndexNotFound("x"))


def test_error_trace_adds_stack_trace() -> None:
    try:
        raise ne.IllegalArgument("bad")
    except ne.IllegalArgument as exc:
        body = error_body(exc, error_trace=True)
    assert "IllegalArgument: bad" in body["error"]["stack_trace"]
    assert "stack_trace" not in body["error"]["root_cause"][0]
    try:
        raise ValueError("oops")
    except ValueError as exc:
        assert "ValueError: oops" in unexpected_error_body(exc, error_trace=True)["error"]["stack_trace"]
