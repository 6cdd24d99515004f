"""Shared assertions for server tests."""

from __future__ import annotations

from typing import Any


def assert_canonical_error(body: Any, status: int, es_type: str, *, root_type: str | None = None) -> None:
    """Assert the ES error shape: ``{"error":{"root_cause":[{type,reason}],type,reason},"status":N}``.

    ``body`` may be a decoded dict or an ``httpx.Response`` (then the HTTP status, the JSON content type and
    ``X-Elastic-Product`` are checked too). ``root_type`` is the expected ``root_cause[0].type``; it
    defaults to ``es_type`` except for ``search_phase_execution_exception``, whose root cause is the cause.
    """
    if hasattr(body, "status_code"):
        response = body
        assert response.status_code == status, (response.status_code, response.text)
        assert response.headers.get("x-elastic-product") == "Elasticsearch"
        assert response.headers.get("content-type", "").startswith("application/json")
        body = response.json()
    assert isinstance(body, dict), body
    assert set(body) == {"error", "status"}, body
    assert body["status"] == status, body
    error = body["error"]
    assert isinstance(error, dict), body
    assert error["type"] == es_type, error
    assert isinstance(error["reason"], str) and error["reason"], error
    roots = error["root_cause"]
    assert isinstance(roots, list) and roots, "root_cause[0] must be filled"
    root = roots[0]
    assert isinstance(root.get("type"), str) and root["type"], root
    assert isinstance(root.get("reason"), str) and root["reason"], root
    assert "caused_by" not in root, root
    if root_type is None and es_type != "search_phase_execution_exception":
        root_type = es_type
    if root_type is not None:
        assert root["type"] == root_type, root
    cause = error.get("caused_by")
    while cause is not None:
        assert isinstance(cause.get("type"), str) and isinstance(cause.get("reason"), str), cause
        cause = cause.get("caused_by")


def assert_flat_error(body: Any, status: int, reason: str | None = None) -> None:
    """Assert the flat shape ``{"error": "<reason>", "status": N}`` (406, unknown endpoint, 405)."""
    if hasattr(body, "status_code"):
        assert body.status_code == status, (body.status_code, body.text)
        body = body.json()
    assert set(body) == {"error", "status"}, body
    assert isinstance(body["error"], str), body
    assert body["status"] == status
    if reason is not None:
        assert body["error"] == reason
