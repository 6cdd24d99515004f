"""Story evaluation and the run over story files.

Semantics follow OpenSearch's reference tester (``tools/src/tester`` of
opensearch-api-specification), minus the OpenAPI schema validation (this runner has no spec):

* a story is skipped when its ``distributions``/``version`` gate excludes the target; chapters
  are skipped the same way one by one, and ``pending`` chapters are ignored;
* references ``${id.name}`` must point at an earlier step with that ``id`` and ``output``
  (checked before anything is sent; otherwise the story fails);
* prologues run first; a prologue whose status is not in its ``status`` list (default
  ``[200, 201]``) is an error and every chapter is then skipped; epilogues always run, with the
  same status rule;
* a chapter's status must equal ``response.status`` (default 200; a list means any of them) -
  otherwise an error, and the following chapters are skipped; when it matches, the answer's
  content type must be ``response.content_type`` (default ``application/json``; not checked for
  body-less answers), ``response.payload`` must partially match (:func:`.story.match_payload`)
  and every ``output`` must be found; ``retry`` {count, wait ms} re-runs a failing step;
* the story passes when no step errs or fails.  Deviation: a story in which no chapter was
  evaluated (all skipped by gates or pending) is reported as skipped, not passed.

Request bodies: ``application/x-ndjson`` payloads (lists) are sent one JSON line per item, strings
as they are, anything else as JSON (or YAML for ``application/yaml``).  Answers are decoded by
content type: JSON, YAML, CBOR (built-in decoder), text; SMILE is not decoded.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml

from ..yaml_runner.report import Report, TestResult
from ..yaml_runner.skips import SkipList, load_skips
from . import cbor
from .semver import InvalidRange, satisfies
from .story import Chapter, Story, StoryLoadError, StoryOutputs, extract_outputs, load_story, match_payload, references

__all__ = [
    "DEFAULT_DISTRIBUTION",
    "EMULATED_VERSION",
    "Answer",
    "StoryClient",
    "StoryOutcome",
    "detect_version",
    "discover_stories",
    "evaluate_story",
    "run_paths",
]

#: ``--distribution`` default, as in the reference tester.
DEFAULT_DISTRIBUTION = "opensearch.org"
#: Version gates are evaluated against this when the server is not OpenSearch (its own version
#: number means nothing for OpenSearch gates): the last 2.x line, the API generation that an
#: Elasticsearch-7.10-derived, Elasticsearch-compatible server corresponds to.
EMULATED_VERSION = "2.19.0"

PASSED, FAILED, ERROR, SKIPPED, IGNORED = "PASSED", "FAILED", "ERROR", "SKIPPED", "IGNORED"
LineSink = Callable[[str], None]


@dataclass
class Answer:
    status: int | None = None
    content_type: str | None = None
    payload: Any = None
    has_body: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # transport failure
    message: str | None = None  # error reason of a non-2xx answer


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_param_text(v) for v in value)
    if value is None:
        return "undefined"
    return str(value)


def _encode_payload(payload: Any, content_type: str) -> bytes:
    if content_type == "application/x-ndjson" and isinstance(payload, list):
        return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in payload).encode("utf-8")
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if content_type == "application/yaml":
        return yaml.safe_dump(payload, sort_keys=False).encode("utf-8")
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _decode_payload(raw: bytes, content_type: str | None) -> Any:
    if content_type is None:
        return raw.decode("utf-8", errors="replace")
    if content_type == "application/json":
        return json.loads(raw) if raw else {}
    if content_type == "application/yaml":
        return yaml.safe_load(raw) if raw else {}
    if content_type == "application/cbor":
        return cbor.decode(raw) if raw else {}
    if content_type == "application/smile":
        raise ValueError("SMILE answers are not decoded by this runner")
    return raw.decode("utf-8", errors="replace")


class StoryClient:
    """Sends one chapter (parameters and payload already resolved) and decodes the answer."""

    def __init__(self, base_url: str, timeout: float = 10.0, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self.server_errors: list[str] = []  # every answer >= 500, as "METHOD /path -> status"

    def close(self) -> None:
        self._client.close()

    def send(self, chapter: Chapter, outputs: StoryOutputs) -> Answer:
        params = {name: outputs.resolve(value) for name, value in chapter.parameters.items()}
        path_params: set[str] = set()

        def fill(match: Any) -> str:
            path_params.add(match.group(1))
            return quote(_param_text(params.get(match.group(1))), safe=",*:@")

        url_path = re.sub(r"\{(\w+)\}", fill, chapter.path)
        query = [(k, _param_text(v)) for k, v in params.items() if k not in path_params]
        request = chapter.request or {}
        content_type = str(request.get("content_type") or "application/json")
        headers: dict[str, str] = {}
        for name, value in (request.get("headers") or {}).items():
            if str(name).lower() == "content-type":
                content_type = str(value)
            else:
                headers[str(name)] = _param_text(value)
        headers["Content-Type"] = content_type
        body = None
        if request.get("payload") is not None:
            body = _encode_payload(outputs.resolve(request["payload"]), content_type)
        answer = Answer()
        try:
            raw = self._client.request(chapter.method, url_path, params=query, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            answer.error = f"{chapter.method} {url_path}: timed out after {self.timeout:g}s ({type(exc).__name__})"
            return answer
        except httpx.HTTPError as exc:
            answer.error = f"{chapter.method} {url_path}: {type(exc).__name__}: {exc}"
            return answer
        answer.status = raw.status_code
        if raw.status_code >= 500:
            self.server_errors.append(f"{chapter.method} {url_path} -> {raw.status_code}")
        answer.headers = {k.lower(): v for k, v in raw.headers.items()}
        header = raw.headers.get("content-type")
        answer.content_type = header.split(";")[0].strip() if header else None
        answer.has_body = bool(raw.content)
        try:
            answer.payload = _decode_payload(raw.content, answer.content_type) if raw.content else None
        except ValueError as exc:
            answer.payload = None
            answer.message = f"cannot decode the {answer.content_type} answer: {exc}"
        if answer.status >= 400 and answer.message is None:
            error = answer.payload.get("error") if isinstance(answer.payload, dict) else None
            reason = error.get("reason") if isinstance(error, dict) else error
            answer.message = str(reason) if reason else raw.reason_phrase
        return answer


# evaluation ------------------------------------------------------------------------------------


@dataclass
class Step:
    kind: str  # prologue | chapter | epilogue
    title: str
    result: str
    message: str = ""

    def line(self) -> str:
        out = f"{self.result:<8} {self.kind:<8} {self.title}"
        return out + (f": {' '.join(self.message.split())}" if self.message else "")


@dataclass
class StoryOutcome:
    status: str  # pass | fail | skip
    reason: str = ""
    steps: list[Step] = field(default_factory=list)

    def detail(self) -> str:
        return "\n".join(step.line() for step in self.steps)


def _gate(gates: Any, version_range: str | None, version: str | None, distribution: str | None) -> str | None:
    """Why a story or chapter does not apply to (version, distribution), or None."""
    dists = gates if isinstance(gates, dict) else {}
    included = [str(d) for d in dists.get("included") or []]
    excluded = [str(d) for d in dists.get("excluded") or []]
    if distribution is not None and included and distribution not in included:
        return f"distribution {distribution} is not {', '.join(included)}"
    if distribution is not None and distribution in excluded:
        return f"distribution {distribution} is excluded ({', '.join(excluded)})"
    if version_range is not None:
        try:
            if not satisfies(version, version_range):
                return f"version {version} does not satisfy {version_range}"
        except InvalidRange as exc:
            return f"invalid version gate: {exc}"
    return None


def _check_variables(story: Story) -> str | None:
    """A reference to a chapter or output that no earlier step declares."""
    declared: dict[str, set[str]] = {}
    for step in story.prologues + story.chapters + story.epilogues:
        for chapter_id, name in references(step.parameters) + references(step.request.get("payload")):
            if chapter_id not in declared:
                return f"{step.method} {step.path} refers to non-existent chapter {chapter_id!r}"
            if name not in declared[chapter_id]:
                return f"{step.method} {step.path} refers to non-existent output {name!r} of chapter {chapter_id!r}"
        if step.output is not None:
            if step.id is None:
                return f"{step.method} {step.path}: a chapter must have an id to store its output"
            declared[step.id] = set(step.output)
    return None


def _attempt(client: StoryClient, chapter: Chapter, outputs: StoryOutputs) -> tuple[str, str, dict[str, Any] | None]:
    """One try of a step: (result, message, captured outputs)."""
    answer = client.send(chapter, outputs)
    if answer.error is not None:
        return ERROR, answer.error, None
    messages: list[str] = []
    if chapter.supplemental:
        accepted = chapter.status or [200, 201]
        if answer.status not in accepted:
            wanted = " or ".join(map(str, accepted))
            return ERROR, f"expected status {wanted}, got {answer.status}: {answer.message}", None
    else:
        expected = (chapter.response or {}).get("status", 200)
        accepted = expected if isinstance(expected, list) else [expected]
        if answer.status not in accepted:
            return (
                ERROR,
                f"expected status {' or '.join(map(str, accepted))}, got {answer.status} "
                f"({answer.content_type or 'no content type'}): {answer.message or ''}".rstrip(": "),
                None,
            )
        expected_type = (chapter.response or {}).get("content_type") or "application/json"
        if answer.has_body and chapter.method != "HEAD" and answer.content_type != expected_type:
            messages.append(f"expected content type {expected_type}, got {answer.content_type}")
    if answer.message and answer.status is not None and answer.status < 400:
        messages.append(answer.message)  # an undecodable body
    result = PASSED
    expected_payload = (chapter.response or {}).get("payload")
    if expected_payload is not None:
        mismatches = match_payload(outputs.resolve(expected_payload), answer.payload)
        if mismatches:
            more = f" (+{len(mismatches) - 5} more)" if len(mismatches) > 5 else ""
            messages.append("; ".join(mismatches[:5]) + more)
    if messages:
        result = FAILED
    captured = None
    if chapter.output:
        captured, error = extract_outputs(chapter.output, answer.payload, answer.headers)
        if error:
            return ERROR, "; ".join([*messages, error]), None
    return result, "; ".join(messages), captured


def _run_step(client: StoryClient, chapter: Chapter, outputs: StoryOutputs, deadline: float | None) -> tuple[str, str]:
    retry = chapter.retry or {}
    tries = int(retry.get("count", 0)) + 1 if int(retry.get("count", 0) or 0) > 0 else 1
    wait = float(retry.get("wait", 1000)) / 1000.0
    while True:
        result, message, captured = _attempt(client, chapter, outputs)
        if captured is not None and chapter.id is not None:
            outputs.set(chapter.id, captured)
        tries -= 1
        if result == PASSED or tries <= 0:
            return result, message
        if deadline is not None and time.monotonic() + wait > deadline:
            return result, message + " (no retry: time budget exhausted)"
        time.sleep(wait)


def evaluate_story(
    story: Story,
    client: StoryClient,
    version: str | None = None,
    distribution: str | None = DEFAULT_DISTRIBUTION,
    deadline: float | None = None,
    chapter_skip: Callable[[Chapter], str | None] | None = None,
) -> StoryOutcome:
    """Run one story; ``chapter_skip`` gives the reason a chapter must not run (skips file), or None."""
    why = _gate(story.distributions, story.version, version, distribution)
    if why is not None:
        return StoryOutcome("skip", f"skipped because {why}")
    bad = _check_variables(story)
    if bad is not None:
        return StoryOutcome("fail", f"the story uses incorrect variables: {bad}")
    outputs = StoryOutputs()
    steps: list[Step] = []
    prologue_failed = False
    for step in story.prologues:
        result, message = _run_step(client, step, outputs, deadline)
        steps.append(Step("prologue", step.title, result, message))
        prologue_failed = prologue_failed or result != PASSED
    has_errors = prologue_failed
    evaluated = 0
    for chapter in story.chapters:
        why = _gate(chapter.distributions, chapter.version, version, distribution)
        listed = chapter_skip(chapter) if chapter_skip is not None else None
        if listed is not None:
            steps.append(Step("chapter", chapter.title, SKIPPED, f"skips file: {listed}"))
        elif why is not None:
            steps.append(Step("chapter", chapter.title, SKIPPED, f"skipped because {why}"))
        elif chapter.pending:
            steps.append(Step("chapter", chapter.title, IGNORED, f"pending: {chapter.pending}"))
        elif has_errors:
            steps.append(Step("chapter", chapter.title, SKIPPED, "skipped after an earlier error"))
        else:
            result, message = _run_step(client, chapter, outputs, deadline)
            evaluated += 1
            has_errors = has_errors or result == ERROR
            steps.append(Step("chapter", chapter.title, result, message))
    for step in story.epilogues:
        result, message = _run_step(client, step, outputs, deadline)
        steps.append(Step("epilogue", step.title, result, message))
    bad_steps = [s for s in steps if s.result in (ERROR, FAILED)]
    if bad_steps:
        first = bad_steps[0]
        reason = f"{first.kind} {first.title!r}: {first.message}"
        if len(bad_steps) > 1:
            reason += f" (+{len(bad_steps) - 1} more failing step(s))"
        return StoryOutcome("fail", reason, steps)
    if evaluated == 0:
        reasons = sorted({s.message for s in steps if s.kind == "chapter"})
        return StoryOutcome("skip", "no chapter applies: " + "; ".join(reasons[:3]), steps)
    return StoryOutcome("pass", "", steps)


# discovery and the run -------------------------------------------------------------------------


def suite_root_of(path: Path) -> Path:
    """The folder story ids are relative to: the nearest ancestor (or ``path`` itself) directly
    inside a ``tests`` folder (``.../tests/default``), else the folder itself / the file's folder."""
    start = path if path.is_dir() else path.parent
    for candidate in (start, *start.parents):
        if candidate.parent.name == "tests":
            return candidate
    return start


def discover_stories(paths: Iterable[str | Path], root: str | Path | None = None) -> list[tuple[Path, Path]]:
    """(root, file) for every ``*.yaml``/``*.yml`` story under the paths, sorted, deduplicated."""
    seen: set[Path] = set()
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        base = Path(root) if root is not None else suite_root_of(path)
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        for file in files:
            resolved = file.resolve()
            if resolved in seen or any(part.startswith(".") for part in file.relative_to(path.parent).parts):
                continue
            seen.add(resolved)
            found.append((base, file))
    return found


def detect_version(client: StoryClient) -> str:
    """The server's version if it is OpenSearch, else :data:`EMULATED_VERSION`."""
    try:
        answer = client.send(Chapter(method="GET", path="/"), StoryOutputs())
    except Exception:  # pragma: no cover - send() already turns transport errors into answers
        return EMULATED_VERSION
    info = answer.payload if isinstance(answer.payload, dict) else {}
    version = info.get("version") if isinstance(info.get("version"), dict) else {}
    if str(version.get("distribution", "")).lower() == "opensearch" and version.get("number"):
        return str(version["number"])
    return EMULATED_VERSION


def _story_id(root: Path, file: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        return file.name


def run_paths(
    url: str,
    paths: Sequence[str | Path],
    skips: SkipList | str | Path | None = None,
    *,
    timeout: float = 10.0,
    version: str | None = None,
    distribution: str | None = DEFAULT_DISTRIBUTION,
    root: str | Path | None = None,
    name_filter: str | None = None,
    on_result: LineSink | None = None,
    deadline: float | None = None,
    wipe: bool = False,
    transport: httpx.BaseTransport | None = None,
) -> Report:
    """Run every story under ``paths``; one :class:`TestResult` per story (id: file path relative
    to its suite root, e.g. ``_core/bulk.yaml``).

    Skips entries without ``::`` skip whole stories; ``<story glob>::<synopsis glob>`` or
    ``<story glob>::<METHOD> <path template>`` skip matching chapters only.  Stories not started
    before ``deadline`` (``time.monotonic()``) fail.  ``wipe`` deletes indices and templates after
    each story."""
    skip_list = load_skips(skips) if isinstance(skips, str | Path) else (skips or SkipList())
    report = Report()
    client = StoryClient(url, timeout=timeout, transport=transport)
    cleaner = None
    if wipe:
        from ..yaml_runner.cleanup import Cleaner
        from ..yaml_runner.client import HttpClient

        cleaner = Cleaner(HttpClient(url, timeout=timeout))
    try:
        target = version or detect_version(client)
        for base, file in discover_stories(paths, root):
            story_id = _story_id(base, file)
            if name_filter and name_filter not in story_id:
                continue
            folder = Path(story_id).parent.as_posix()
            common = {"suite": folder or ".", "root": str(base)}
            reason = skip_list.reason_for(story_id, str(base))
            if reason is not None:
                result = TestResult(story_id, "skip", f"skips file: {reason}", **common)
            elif deadline is not None and time.monotonic() > deadline:
                result = TestResult(story_id, "fail", "not run: time budget exhausted", **common)
            else:
                try:
                    story = load_story(file)
                except StoryLoadError as exc:
                    result = TestResult(story_id, "fail", f"load error: {exc}", **common)
                else:

                    def chapter_skip(chapter: Chapter, sid: str = story_id, base_text: str = str(base)) -> str | None:
                        by_title = skip_list.reason_for(f"{sid}::{chapter.title}", base_text)
                        return by_title or skip_list.reason_for(f"{sid}::{chapter.method} {chapter.path}", base_text)

                    outcome = evaluate_story(story, client, target, distribution, deadline, chapter_skip)
                    result = TestResult(story_id, outcome.status, outcome.reason, outcome.detail(), **common)  # type: ignore[arg-type]
                    if cleaner is not None:
                        cleaner.wipe()
            report.add(result)
            report.server_errors += [f"{story_id}: {e}" for e in client.server_errors]
            client.server_errors.clear()
            if on_result is not None:
                on_result(result.line())
    finally:
        client.close()
        if cleaner is not None:
            cleaner.client.close()
    return report
