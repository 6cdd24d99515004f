"""Executes the steps of one test: ``do`` (with ``catch``, headers and warning checks), the
assertions, ``set`` and ``transform_and_set``.

A failing step raises :class:`StepFailure`; :class:`TestContext` holds what one test sees (the
stash and the last response) and is thrown away after the test.

``catch`` values: ``bad_request`` 400, ``unauthorized`` 401, ``forbidden`` 403, ``missing`` 404,
``request_timeout`` 408, ``conflict`` 409, ``gone`` 410, ``unavailable`` 503; ``request`` any
other status >= 400; ``param`` sends nothing (a client-side validation error in other runners);
``/regex/`` any status >= 400 whose error text matches.  A bare word that is none of these is
searched for in the error body (the clients-tests use e.g. ``resource_not_found_exception``).
A HEAD answered 404, or a status listed in the ``ignore`` parameter, is not an error.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from . import matching
from .api import ApiResolver, RequestBuildError
from .client import HttpClient, Response, TransportFailure
from .loader import Step
from .stash import Stash, StashError, evaluate_path, java_str

__all__ = ["CATCH_STATUS", "StepFailure", "TestContext"]

CATCH_STATUS: dict[str, int] = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "missing": 404,
    "request_timeout": 408,
    "conflict": 409,
    "gone": 410,
    "unavailable": 503,
}
_DO_OPTIONS = frozenset(
    {
        "catch",
        "headers",
        "warnings",
        "warnings_regex",
        "allowed_warnings",
        "allowed_warnings_regex",
        "node_selector",
    }
)
# Emitted for every legacy template call; the reference runner drops it too.
_LEGACY_TEMPLATE_WARNING = "Legacy index templates are deprecated in favor of composable templates."
_BASE64_CREDENTIALS = re.compile(r"^#base64EncodeCredentials\(([^,]+),([^)]+)\)$")
_BODY_EXCERPT = 800


class StepFailure(Exception):
    """A step did not hold; ``detail`` says which step and why."""

    def __init__(self, step: Step | None, message: str) -> None:
        self.step = step
        self.message = message
        where = step.describe() if step is not None else "step"
        super().__init__(f"{where}: {message}")


def _excerpt(response: Response) -> str:
    text = response.text
    return text if len(text) <= _BODY_EXCERPT else text[:_BODY_EXCERPT] + "..."


def _java_map_str(value: Any) -> str:
    """``Map.toString()``-like rendering, which the reference runner matches catch regexes against."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_map_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_java_map_str(v) for v in value) + "]"
    return java_str(value)


class TestContext:
    """State of one running test: stash and last response."""

    def __init__(self, client: HttpClient, api: ApiResolver) -> None:
        self.client = client
        self.api = api
        self.stash = Stash()
        self.response: Response | None = None

    # -- value lookup -----------------------------------------------------------------------
    def actual(self, path: str) -> Any:
        try:
            if path.startswith("$") and not path.startswith("${"):
                return self.stash.get(path)
        except StashError:
            return None
        if self.response is None:
            return None
        if path == "":
            return self.response.root_value()
        if not self.response.parsed:
            return None
        return evaluate_path(self.response.body, path, self.stash)

    def expected(self, value: Any) -> Any:
        return self.stash.resolve(value)

    # -- dispatch ---------------------------------------------------------------------------
    def run(self, step: Step) -> None:
        try:
            if step.kind == "do":
                self._do(step)
            elif step.kind == "set":
                self._set(step)
            elif step.kind == "transform_and_set":
                self._transform_and_set(step)
            else:
                self._assert(step)
        except StashError as exc:
            raise StepFailure(step, str(exc)) from exc

    # -- do ---------------------------------------------------------------------------------
    def _resolve_body(self, body: Any) -> Any:
        if not isinstance(body, str):
            return self.stash.resolve(body)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return self.stash.resolve(parsed)
        lines = [line for line in body.splitlines() if line.strip()]
        if len(lines) > 1:
            try:
                docs = [json.loads(line) for line in lines]
            except ValueError:
                docs = []
            if docs and all(isinstance(d, dict) for d in docs):
                return [self.stash.resolve(d) for d in docs]
        return self.stash.resolve(body)

    def _do(self, step: Step) -> None:
        args: dict[str, Any] = dict(step.args)
        catch = args.get("catch")
        headers = {str(k): java_str(self.stash.resolve(v)) for k, v in (args.get("headers") or {}).items()}
        calls = {k: v for k, v in args.items() if k not in _DO_OPTIONS}
        if len(calls) != 1:
            raise StepFailure(step, f"a do section needs exactly one api call, got {sorted(calls)}")
        ((api_name, raw_params),) = calls.items()
        if catch == "param":
            return
        params: dict[str, Any] = {}
        for key, value in (raw_params or {}).items():
            params[key] = self._resolve_body(value) if key == "body" else self.stash.resolve(value)
        try:
            request = self.api.build(api_name, params, headers)
        except RequestBuildError as exc:
            raise StepFailure(step, str(exc)) from exc
        try:
            response = self.client.send(request)
        except TransportFailure as exc:
            self.response = None
            raise StepFailure(step, f"api [{api_name}] {exc}") from exc
        self.response = response
        self.stash.set("body", response.body)
        if headers:
            self.stash.set("request_headers", headers)
        is_error = response.is_error and response.status not in request.ignore
        if request.method == "HEAD" and response.status == 404 and not catch:
            is_error = False
        summary = f"api [{api_name}] {request.describe()} returned [{response.status}]"
        if not catch:
            if is_error:
                raise StepFailure(step, f"expected 2xx but {summary}: {_excerpt(response)}")
            self._check_warnings(step, args, response)
            return
        self._check_catch(step, str(catch), response, summary)

    def _check_catch(self, step: Step, catch: str, response: Response, summary: str) -> None:
        status = response.status
        if catch in CATCH_STATUS:
            if status != CATCH_STATUS[catch]:
                raise StepFailure(
                    step, f"expected [{catch}] ({CATCH_STATUS[catch]}) but {summary}: {_excerpt(response)}"
                )
            return
        if status < 400:
            raise StepFailure(step, f"expected an error [{catch}] but {summary}: {_excerpt(response)}")
        if catch == "request":
            if status in CATCH_STATUS.values() and status != 503:
                raise StepFailure(step, f"expected [request] (4xx/5xx other than the named ones) but {summary}")
            return
        error_texts = [response.text]
        if isinstance(response.body, dict) and "error" in response.body:
            error_texts.append(_java_map_str(response.body["error"]))
        if matching.is_regex(catch):
            pattern = catch.strip()[1:-1]
            try:
                found = any(re.search(pattern, text) for text in error_texts)
            except re.error as exc:
                raise StepFailure(step, f"invalid catch regex {catch}: {exc}") from exc
            if not found:
                raise StepFailure(step, f"error does not match {catch}: {summary}: {_excerpt(response)}")
            return
        if not any(catch in text for text in error_texts):
            raise StepFailure(step, f"error does not mention [{catch}]: {summary}: {_excerpt(response)}")

    def _check_warnings(self, step: Step, args: dict[str, Any], response: Response) -> None:
        expected = [str(w) for w in args.get("warnings") or []]
        expected_regex = [re.compile(str(w)) for w in args.get("warnings_regex") or []]
        allowed = {str(w) for w in args.get("allowed_warnings") or []}
        allowed_regex = [re.compile(str(w)) for w in args.get("allowed_warnings_regex") or []]
        raw_headers = response.header("warning")
        unexpected: list[str] = []
        for raw, text in zip(raw_headers, response.warnings, strict=True):
            if text in allowed:
                continue
            if text in expected:
                expected.remove(text)
                continue
            hit = next((p for p in expected_regex if p.fullmatch(text) or p.fullmatch(raw)), None)
            if hit is not None:
                expected_regex.remove(hit)
                continue
            if any(p.fullmatch(text) or p.fullmatch(raw) for p in allowed_regex):
                continue
            if text.endswith(_LEGACY_TEMPLATE_WARNING):
                continue
            unexpected.append(text)
        problems = []
        if unexpected:
            problems.append(f"unexpected warning header(s) {unexpected}")
        if expected:
            problems.append(f"did not get expected warning header(s) {expected}")
        if expected_regex:
            problems.append(f"no warning header matched {[p.pattern for p in expected_regex]}")
        if problems:
            raise StepFailure(step, "; ".join(problems))

    # -- set --------------------------------------------------------------------------------
    def _set(self, step: Step) -> None:
        if not isinstance(step.args, dict):
            raise StepFailure(step, "set expects a mapping {path: name}")
        for path, name in step.args.items():
            self.stash.set(str(name), self.actual(str(path)))

    def _transform_and_set(self, step: Step) -> None:
        if not isinstance(step.args, dict):
            raise StepFailure(step, "transform_and_set expects a mapping {name: transformation}")
        for name, transformation in step.args.items():
            text = str(transformation).strip()
            creds = _BASE64_CREDENTIALS.match(text)
            if creds:
                user = self.actual(creds.group(1).strip())
                password = self.actual(creds.group(2).strip())
                if user is None or password is None:
                    raise StepFailure(step, f"cannot transform {text}: missing {creds.groups()} in response")
                token = f"{java_str(user)}:{java_str(password)}".encode()
                self.stash.set(str(name), base64.b64encode(token).decode("ascii"))
            else:
                self.stash.set(str(name), self.actual(text))

    # -- assertions -------------------------------------------------------------------------
    def _assert(self, step: Step) -> None:
        kind = step.kind
        if kind in ("is_true", "is_false", "exists", "not_exists"):
            path = "" if step.args is None else str(step.args)
            value = self.actual(path)
            shown = path or "$body"
            if kind == "is_true" and not matching.is_truthy(value):
                raise StepFailure(step, f"[{shown}] expected to be true but was {java_str(value)!r}")
            if kind == "is_false" and matching.is_truthy(value):
                raise StepFailure(step, f"[{shown}] expected to be false but was {java_str(value)!r}")
            if kind == "exists" and value is None:
                raise StepFailure(step, f"[{shown}] expected to exist")
            if kind == "not_exists" and value is not None:
                raise StepFailure(step, f"[{shown}] expected not to exist but was {java_str(value)!r}")
            return
        for path, raw_expected in step.args.items():
            actual = self.actual(str(path))
            expected = self.expected(raw_expected)
            problem: str | None
            if kind == "match":
                problem = matching.check_match(actual, expected, str(path))
            elif kind == "length":
                problem = matching.check_length(actual, expected, str(path))
            elif kind in ("gt", "gte", "lt", "lte"):
                problem = matching.check_compare(kind, actual, expected, str(path))
            elif kind == "contains":
                problem = matching.check_contains(actual, expected, str(path))
            elif kind == "close_to":
                problem = matching.check_close_to(actual, expected, str(path))
            elif kind == "is_after":
                problem = matching.check_is_after(actual, expected, str(path))
            else:
                problem = f"unknown assertion [{kind}]"
            if problem:
                raise StepFailure(step, problem)
