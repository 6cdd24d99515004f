"""``/_security``: ``_authenticate`` and the API key APIs (create, get, invalidate).

While security is off every one of them answers ES's 500 "Security must be explicitly enabled …".
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from native.errors import ActionRequestValidation, IllegalArgument, XContentParseError
from server.http import check_params, es_json, flag, json_body
from server.security.api_keys import ApiKey
from server.security.errors import ParseException, SecurityDisabled
from server.security.middleware import authentication_of
from server.security.service import Authentication, Security
from server.settings import parse_time_value

__all__ = ["routes"]

_CREATE_FIELDS = frozenset({"name", "expiration", "role_descriptors", "metadata"})
_INVALIDATE_FIELDS = frozenset({"id", "ids", "name", "owner", "username", "realm_name"})
_MAX_NAME = 1024


def _identity(request: Request) -> tuple[Security, Authentication]:
    security: Security = request.app.state.security
    who = authentication_of(request)
    if not security.enabled or who is None:
        raise SecurityDisabled()
    return security, who


async def authenticate(request: Request) -> Response:
    check_params(request)
    _, who = _identity(request)
    return es_json(request, who.body())


def _validation(*problems: str) -> ActionRequestValidation:
    listed = "".join(f"{i}: {p};" for i, p in enumerate(problems, 1))
    return ActionRequestValidation(f"Validation Failed: {listed}")


def _object(body: Any, parser: str, fields: frozenset[str]) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise XContentParseError(f"[{parser}] expected an object, found [{type(body).__name__}]")
    for key in body:
        if key not in fields:
            raise XContentParseError(f"[{parser}] unknown field [{key}]")
    return body


def _typed(body: dict[str, Any], key: str, kind: type | tuple[type, ...], parser: str) -> Any:
    value = body.get(key)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool)):
        raise XContentParseError(f"[{parser}] failed to parse field [{key}]")
    return value


async def create_api_key(request: Request) -> Response:
    check_params(request, {"refresh"})
    security, who = _identity(request)
    body = _object(await json_body(request, required=True), "api_key_request", _CREATE_FIELDS)
    name = _typed(body, "name", str, "api_key_request")
    expiration = _typed(body, "expiration", str, "api_key_request")
    roles = _typed(body, "role_descriptors", dict, "api_key_request") or {}
    metadata = _typed(body, "metadata", dict, "api_key_request") or {}
    problems = []
    if not name:
        problems.append("api key name is required")
    elif len(name) > _MAX_NAME:
        problems.append(f"api key name may not be more than [{_MAX_NAME}] characters long")
    elif name != name.strip():
        problems.append("api key name may not begin or end with whitespace")
    elif name.startswith("_"):
        problems.append("api key name may not begin with an underscore")
    if any(k.startswith("_") for k in metadata):
        problems.append("API key metadata keys may not start with [_]")
    for role, descriptor in roles.items():
        if not isinstance(descriptor, dict):
            raise XContentParseError(f"[api_key_request] failed to parse role descriptor [{role}]")
    if problems:
        raise _validation(*problems)
    expiration_ms: int | None = None
    if expiration is not None:
        try:
            seconds = parse_time_value(expiration, "expiration")
        except ValueError as exc:
            raise ParseException(str(exc)) from None
        if seconds <= 0:
            raise _validation("api key expiration must be a positive time value")
        expiration_ms = int(seconds * 1000)
    owner = who.api_key.username if who.api_key is not None else who.username
    realm, realm_type = who.owner_realm
    key, secret = await asyncio.to_thread(
        security.api_keys.create,
        name=name,
        username=owner,
        realm=realm,
        realm_type=realm_type,
        expiration_ms=expiration_ms,
        metadata=metadata,
        role_descriptors=roles,
    )
    answer: dict[str, Any] = {"id": key.id, "name": key.name}
    if key.expiration is not None:
        answer["expiration"] = key.expiration
    answer["api_key"] = secret
    answer["encoded"] = _encoded(key.id, secret)
    return es_json(request, answer)


def _encoded(key_id: str, secret: str) -> str:
    return base64.b64encode(f"{key_id}:{secret}".encode()).decode()


def _name_matches(pattern: str, name: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return name == pattern


def _owned_by(who: Authentication, key: ApiKey) -> bool:
    owner = who.api_key.username if who.api_key is not None else who.username
    return key.username == owner and (key.realm, key.realm_type) == who.owner_realm


async def get_api_keys(request: Request) -> Response:
    params = check_params(
        request, {"id", "name", "username", "realm_name", "owner", "with_limited_by", "active_only", "with_profile_uid"}
    )
    security, who = _identity(request)
    owner = flag(params, "owner")
    active_only = flag(params, "active_only")
    if flag(params, "with_limited_by"):  # the owner's role descriptors: not kept here
        raise IllegalArgument("parameter [with_limited_by] is not supported by this server")
    flag(params, "with_profile_uid")  # no user profiles here, so no key has a profile_uid to add
    key_id, name = params.get("id"), params.get("name")
    username, realm = params.get("username"), params.get("realm_name")
    if owner and (username or realm):
        raise _validation("username or realm name must not be specified when the current user's API keys are requested")
    if key_id and name:
        raise _validation("only one of [api key id, api key name] can be specified")
    now = _now_ms()

    def keep(key: ApiKey) -> bool:
        return (
            (not key_id or key.id == key_id)
            and (not name or _name_matches(name, key.name))
            and (not username or key.username == username)
            and (not realm or key.realm == realm)
            and (not owner or _owned_by(who, key))
            and (not active_only or not (key.invalidated or key.expired(now)))
        )

    return es_json(request, {"api_keys": [k.info() for k in security.api_keys.find(keep)]})


def _now_ms() -> int:
    return int(time.time() * 1000)


async def invalidate_api_keys(request: Request) -> Response:
    check_params(request)
    security, who = _identity(request)
    body = _object(await json_body(request, required=True), "invalidate_api_key_request", _INVALIDATE_FIELDS)
    parser = "invalidate_api_key_request"
    one_id = _typed(body, "id", str, parser)
    ids = _typed(body, "ids", list, parser)
    name = _typed(body, "name", str, parser)
    owner = _typed(body, "owner", bool, parser) or False
    username = _typed(body, "username", str, parser)
    realm = _typed(body, "realm_name", str, parser)
    if one_id is not None and ids is not None:
        raise _validation("Must use either [id] or [ids], not both at the same time")
    if one_id is not None:
        ids = [one_id]
    problems = []
    if not (realm or username or ids is not None or name or owner):
        problems.append(
            "One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false"
        )
    if ids is not None:
        if not ids:
            problems.append("Field [ids] cannot be an empty array")
        for i, value in enumerate(ids):
            if not isinstance(value, str) or not value.strip():
                problems.append(f"Field [ids] must not contain blank id, but got blank id at index position: [{i}]")
                break
    if ids is not None and name:
        problems.append("only one of [api key id(s), api key name] can be specified")
    if owner and (username or realm):
        problems.append("username or realm name must not be specified when the current user's API keys are requested")
    if problems:
        raise _validation(*problems)
    wanted = set(ids or ())
    matched = security.api_keys.find(
        lambda key: (
            (not wanted or key.id in wanted)
            and (not name or _name_matches(name, key.name))
            and (not username or key.username == username)
            and (not realm or key.realm == realm)
            and (not owner or _owned_by(who, key))
        )
    )
    fresh, already = await asyncio.to_thread(security.api_keys.invalidate, [k.id for k in matched])
    return es_json(
        request, {"invalidated_api_keys": fresh, "previously_invalidated_api_keys": already, "error_count": 0}
    )


routes = [
    Route("/_security/_authenticate", authenticate, methods=["GET"]),
    Route("/_security/api_key", create_api_key, methods=["POST", "PUT"]),
    Route("/_security/api_key", get_api_keys, methods=["GET"]),
    Route("/_security/api_key", invalidate_api_keys, methods=["DELETE"]),
]
