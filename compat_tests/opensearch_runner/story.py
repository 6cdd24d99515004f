"""Test stories: loading, output references (``${chapter.output}``), output extraction and the
partial payload match.

A story file is YAML: ``description``, ``prologues``/``epilogues`` (supplemental chapters whose
``status`` list defaults to ``[200, 201]``), ``chapters`` (``synopsis``, ``path``, ``method`` - one
or a list, expanded to one chapter per method with `` [METHOD]`` appended to the synopsis -
``parameters``, ``request`` {``headers``, ``content_type``, ``payload``}, ``response``
{``status``, ``content_type``, ``payload``}, ``output``, ``id``, ``version``, ``distributions``,
``retry``, ``pending``, ``warnings``), and story-level ``version``/``distributions``/``warnings``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "Chapter",
    "Story",
    "StoryLoadError",
    "StoryOutputs",
    "extract_outputs",
    "load_story",
    "match_payload",
    "references",
]

_REF = re.compile(r"\$\{([^}]+)\}")
_FULL_REF = re.compile(r"^\$\{([^}]+)\}$")
_HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"})


class StoryLoadError(Exception):
    """The story file cannot be read or does not have the story shape."""


@dataclass
class Chapter:
    """A chapter, prologue or epilogue step (``supplemental``: prologue/epilogue)."""

    method: str
    path: str
    synopsis: str = ""
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    version: str | None = None
    distributions: dict[str, list[str]] | None = None
    retry: dict[str, int] | None = None
    pending: str | None = None
    status: list[int] | None = None  # supplemental chapters: accepted statuses
    supplemental: bool = False

    @property
    def title(self) -> str:
        return self.synopsis or f"{self.method} {self.path}"


@dataclass
class Story:
    file: Path
    description: str
    chapters: list[Chapter]
    prologues: list[Chapter] = field(default_factory=list)
    epilogues: list[Chapter] = field(default_factory=list)
    version: str | None = None
    distributions: dict[str, list[str]] | None = None


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StoryLoadError(f"{what} must be a mapping")
    return value


def _parse_step(raw: Any, where: str, supplemental: bool) -> list[Chapter]:
    if not isinstance(raw, dict):
        raise StoryLoadError(f"{where}: must be a mapping")
    if "path" not in raw or "method" not in raw:
        raise StoryLoadError(f"{where}: needs path and method")
    methods = raw["method"] if isinstance(raw["method"], list) else [raw["method"]]
    methods = [str(m).upper() for m in methods]
    bad = [m for m in methods if m not in _HTTP_METHODS]
    if bad or not methods:
        raise StoryLoadError(f"{where}: invalid method {raw['method']!r}")
    synopsis = str(raw.get("synopsis") or "")
    if not supplemental and not synopsis:
        raise StoryLoadError(f"{where}: a chapter needs a synopsis")
    status = raw.get("status")
    if status is not None and not isinstance(status, list):
        status = [status]
    version = raw.get("version")
    out: list[Chapter] = []
    for method in methods:
        out.append(
            Chapter(
                method=method,
                path=str(raw["path"]),
                synopsis=f"{synopsis} [{method}]" if synopsis and isinstance(raw["method"], list) else synopsis,
                id=str(raw["id"]) if raw.get("id") is not None else None,
                parameters=_mapping(raw.get("parameters"), f"{where}: parameters"),
                request=_mapping(raw.get("request"), f"{where}: request"),
                response=_mapping(raw.get("response"), f"{where}: response") if "response" in raw else None,
                output=_mapping(raw.get("output"), f"{where}: output") or None,
                version=str(version) if version is not None else None,
                distributions=raw.get("distributions"),
                retry=raw.get("retry"),
                pending=str(raw["pending"]) if raw.get("pending") else None,
                status=[int(s) for s in status] if status is not None else None,
                supplemental=supplemental,
            )
        )
    return out


def load_story(file: str | Path) -> Story:
    path = Path(file)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise StoryLoadError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise StoryLoadError(f"{path}: a story must be a mapping")
    if not isinstance(data.get("chapters"), list):
        raise StoryLoadError(f"{path}: a story needs a list of chapters")
    try:
        steps: dict[str, list[Chapter]] = {}
        for section in ("prologues", "chapters", "epilogues"):
            raw_steps = data.get(section) or []
            if not isinstance(raw_steps, list):
                raise StoryLoadError(f"{section} must be a list")
            steps[section] = [
                chapter
                for position, raw in enumerate(raw_steps, start=1)
                for chapter in _parse_step(raw, f"{section}[{position}]", section != "chapters")
            ]
    except StoryLoadError as exc:
        raise StoryLoadError(f"{path}: {exc}") from exc
    version = data.get("version")
    return Story(
        file=path,
        description=str(data.get("description") or ""),
        chapters=steps["chapters"],
        prologues=steps["prologues"],
        epilogues=steps["epilogues"],
        version=str(version) if version is not None else None,
        distributions=data.get("distributions"),
    )


# output references ---------------------------------------------------------------------------


def _split_ref(ref: str) -> tuple[str, str]:
    chapter_id, _, name = ref.partition(".")
    return chapter_id, name


def references(value: Any) -> list[tuple[str, str]]:
    """Every ``(chapter_id, output_name)`` referenced by strings inside ``value``."""
    found: list[tuple[str, str]] = []
    if isinstance(value, str):
        found.extend(_split_ref(m.group(1)) for m in _REF.finditer(value))
    elif isinstance(value, list):
        for item in value:
            found.extend(references(item))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(references(key))
            found.extend(references(item))
    return found


class StoryOutputs:
    """Values captured by chapters with an ``id`` and ``output``."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}

    def set(self, chapter_id: str, outputs: dict[str, Any]) -> None:
        self.values[chapter_id] = outputs

    def has(self, chapter_id: str, name: str) -> bool:
        return self.values.get(chapter_id, {}).get(name) is not None

    def get(self, chapter_id: str, name: str) -> Any:
        return self.values.get(chapter_id, {}).get(name)

    def resolve(self, value: Any) -> Any:
        """Replace references; a string that is one whole reference keeps the value's type."""
        if isinstance(value, str):
            full = _FULL_REF.match(value)
            if full:
                return self.get(*_split_ref(full.group(1)))
            return _REF.sub(lambda m: _to_text(self.get(*_split_ref(m.group(1)))), value)
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, dict):
            return {self.resolve(k): self.resolve(v) for k, v in value.items()}
        return value


def _to_text(value: Any) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_PATH_TOKEN = re.compile(r"[^.\[\]]+|\[(\d+)\]")


def get_path(data: Any, path: str) -> Any:
    """lodash ``_.get``: ``a.b[0].c`` (also ``a.0.c``); ``None`` when absent."""
    current = data
    for match in _PATH_TOKEN.finditer(path):
        key = match.group(1) if match.group(1) is not None else match.group(0)
        if isinstance(current, dict):
            if key not in current:
                return None
            current = current[key]
        elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            return None
    return current


def extract_outputs(output: dict[str, Any], payload: Any, headers: dict[str, str]) -> tuple[dict[str, Any], str]:
    """The chapter's output values, or an error message (second item, '' when fine)."""
    values: dict[str, Any] = {}
    for name, spec in output.items():
        if isinstance(spec, dict):
            path, default = str(spec.get("path", "")), spec.get("default")
        else:
            path, default = str(spec), None
        if path == "payload" or path.startswith("payload.") or re.match(r"^payload\[\d*\]", path):
            if payload is None:
                return values, f"no payload in the response, but expected output: {path}"
            value = get_path({"payload": payload}, path)
        elif path.startswith("headers."):
            value = headers.get(path[len("headers.") :].lower())
        else:
            return values, f"unknown output source: {path.split('.')[0]}"
        if value is None:
            value = default
        if value is None:
            return values, f"expected a value at `{path}`"
        values[name] = value
    return values, ""


# payload match ---------------------------------------------------------------------------------


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _same_scalar(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def match_payload(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Partial match (the reference runner's json diff, ignoring additions): every key of an
    expected object must be present and match; arrays match item by item as a prefix; scalars
    must be equal (type included, numbers compare by value).  Returns the mismatch messages."""
    where = path or "payload"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"expected {where} to be an object, got {_short(actual)}"]
        out: list[str] = []
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(f"missing {sub}={_short(value)}")
            else:
                out.extend(match_payload(value, actual[key], sub))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"expected {where} to be an array, got {_short(actual)}"]
        out = []
        for index, value in enumerate(expected):
            sub = f"{path}[{index}]"
            if index >= len(actual):
                out.append(f"missing {sub}={_short(value)}")
            else:
                out.extend(match_payload(value, actual[index], sub))
        return out
    if not _same_scalar(expected, actual):
        return [f"expected {where}={_short(expected)}, got {_short(actual)}"]
    return []
