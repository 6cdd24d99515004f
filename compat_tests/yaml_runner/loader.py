"""Parse Elasticsearch YAML REST test files into suites, tests and steps.

A file is a stream of YAML documents.  Each document is a mapping with one key (exceptionally
several): ``setup``, ``teardown`` or a test name, mapped to a list of steps; each step is a
one-key mapping such as ``{do: {...}}`` or ``{match: {...}}``.  The elasticsearch-clients-tests
suites add a document ``requires: {serverless: bool, stack: bool}`` whose value is a mapping.

``skip`` and ``requires`` steps are lifted out of the step list into :class:`Prerequisite`
objects; everything else stays a :class:`Step` in file order.

The YAML is read the way the Java runner (Jackson) reads it: timestamps stay strings, mapping
keys are strings.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ASSERTION_KINDS",
    "STEP_KINDS",
    "Prerequisite",
    "Section",
    "Step",
    "Suite",
    "SuiteLoadError",
    "TestCase",
    "discover_files",
    "load_suite",
    "parse_yaml_documents",
]

ASSERTION_KINDS = frozenset(
    {
        "match",
        "length",
        "is_true",
        "is_false",
        "gt",
        "gte",
        "lt",
        "lte",
        "contains",
        "close_to",
        "exists",
        "not_exists",
        "is_after",
    }
)
STEP_KINDS = ASSERTION_KINDS | {"do", "set", "transform_and_set"}
PREREQUISITE_KINDS = frozenset({"skip", "requires"})
_SKIP_KEYS = frozenset(
    {"reason", "version", "features", "os", "cluster_features", "known_issues", "awaits_fix", "capabilities"}
)
_REQUIRES_KEYS = frozenset({"reason", "test_runner_features", "cluster_features", "capabilities"})


class SuiteLoadError(Exception):
    """A file is not a well-formed YAML REST test suite."""


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver, so dates stay strings (as with Jackson)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _stringify_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key_str(k): _stringify_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_keys(v) for v in value]
    return value


def _key_str(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def parse_yaml_documents(text: str) -> list[Any]:
    """All documents of a YAML stream, with mapping keys turned into strings."""
    return [_stringify_keys(doc) for doc in yaml.load_all(text, Loader=_Loader)]


@dataclass(frozen=True)
class Step:
    """One executable step: ``kind`` is the operator (``do``, ``match``, ...), ``args`` its value."""

    kind: str
    args: Any
    index: int

    def describe(self) -> str:
        return f"step {self.index + 1} ({self.kind})"


@dataclass(frozen=True)
class Prerequisite:
    """A ``skip`` or ``requires`` block, kept raw; evaluation happens against a live server."""

    kind: str
    args: dict[str, Any]

    @property
    def reason(self) -> str:
        return str(self.args.get("reason") or "")


@dataclass(frozen=True)
class Section:
    """``setup``/``teardown`` or a test: prerequisites plus the steps to run."""

    name: str
    steps: tuple[Step, ...]
    prerequisites: tuple[Prerequisite, ...] = ()


@dataclass(frozen=True)
class TestCase(Section):
    pass


@dataclass(frozen=True)
class Suite:
    """One YAML file.  ``rel_path`` is relative to the root it was found under (posix separators)."""

    path: Path
    rel_path: str
    setup: Section | None = None
    teardown: Section | None = None
    tests: tuple[TestCase, ...] = ()
    file_requires: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        """The folder holding the file, relative to its root ("." for files directly in it)."""
        parent = Path(self.rel_path).parent.as_posix()
        return parent or "."

    def test_id(self, test: Section) -> str:
        return f"{self.rel_path}::{test.name}"

    @property
    def prerequisites(self) -> tuple[Prerequisite, ...]:
        """Suite-wide prerequisites: those declared in ``setup`` or ``teardown``."""
        out: list[Prerequisite] = []
        for section in (self.setup, self.teardown):
            if section is not None:
                out.extend(section.prerequisites)
        return tuple(out)


def _parse_prerequisite(kind: str, args: Any, where: str) -> Prerequisite:
    if not isinstance(args, dict):
        raise SuiteLoadError(f"{where}: [{kind}] must be a mapping, got {type(args).__name__}")
    allowed = _SKIP_KEYS if kind == "skip" else _REQUIRES_KEYS
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise SuiteLoadError(f"{where}: unsupported field(s) {unknown} in [{kind}]")
    return Prerequisite(kind=kind, args=args)


def _parse_section(name: str, body: Any, where: str) -> tuple[tuple[Step, ...], tuple[Prerequisite, ...]]:
    if body is None:
        return (), ()
    if not isinstance(body, list):
        raise SuiteLoadError(f"{where}: section [{name}] must be a list of steps")
    steps: list[Step] = []
    prereqs: list[Prerequisite] = []
    for position, raw in enumerate(body):
        if not isinstance(raw, dict) or len(raw) != 1:
            raise SuiteLoadError(f"{where}: [{name}] step {position + 1} must be a mapping with exactly one key")
        ((kind, args),) = raw.items()
        if kind in PREREQUISITE_KINDS:
            prereqs.append(_parse_prerequisite(kind, args, f"{where} [{name}]"))
        elif kind in STEP_KINDS:
            if kind == "do" and not isinstance(args, dict):
                raise SuiteLoadError(f"{where}: [{name}] step {position + 1}: [do] must be a mapping")
            if kind in ASSERTION_KINDS - {"is_true", "is_false", "exists", "not_exists"} and not isinstance(args, dict):
                raise SuiteLoadError(f"{where}: [{name}] step {position + 1}: [{kind}] must be a mapping")
            steps.append(Step(kind=kind, args=args, index=position))
        else:
            raise SuiteLoadError(f"{where}: [{name}] step {position + 1}: unknown operator [{kind}]")
    return tuple(steps), tuple(prereqs)


def load_suite(path: Path, root: Path | None = None) -> Suite:
    """Parse one file; ``root`` determines ``rel_path`` (defaults to the file's own folder)."""
    base = root if root is not None else path.parent
    if base.is_file():
        base = base.parent
    rel_path = Path(os.path.relpath(path, base)).as_posix()
    where = rel_path
    try:
        documents = parse_yaml_documents(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SuiteLoadError(f"{where}: invalid YAML: {exc}") from exc
    setup: Section | None = None
    teardown: Section | None = None
    tests: list[TestCase] = []
    file_requires: dict[str, Any] = {}
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, dict):
            raise SuiteLoadError(f"{where}: each YAML document must be a mapping")
        for name, body in document.items():
            if name == "requires" and isinstance(body, dict):
                file_requires.update(body)
                continue
            steps, prereqs = _parse_section(name, body, where)
            if name == "setup":
                if setup is not None:
                    raise SuiteLoadError(f"{where}: more than one setup section")
                setup = Section(name=name, steps=steps, prerequisites=prereqs)
            elif name == "teardown":
                if teardown is not None:
                    raise SuiteLoadError(f"{where}: more than one teardown section")
                teardown = Section(name=name, steps=steps, prerequisites=prereqs)
            else:
                tests.append(TestCase(name=name, steps=steps, prerequisites=prereqs))
    return Suite(
        path=path,
        rel_path=rel_path,
        setup=setup,
        teardown=teardown,
        tests=tuple(tests),
        file_requires=file_requires,
    )


def _is_suite_file(path: Path) -> bool:
    return path.is_file() and path.suffix in (".yml", ".yaml")


def discover_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Path]]:
    """Yield ``(root, file)`` for every .yml/.yaml file under the given paths, sorted per root."""
    for raw in paths:
        root = Path(raw)
        if root.is_file():
            if _is_suite_file(root):
                yield root.parent, root
            continue
        if not root.exists():
            raise FileNotFoundError(f"no such file or directory: {root}")
        for file in sorted(p for p in root.rglob("*") if _is_suite_file(p)):
            yield root, file
