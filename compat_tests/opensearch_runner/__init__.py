"""A runner for OpenSearch's API-specification "test stories" (opensearch-api-specification
``tests/``), for any server that speaks the REST API; it knows nothing about the server under test.

A story is a YAML file of ``prologues``, ``chapters`` and ``epilogues``: HTTP requests (``path``
with ``{param}`` parts, ``method``, ``parameters``, ``request`` payload/content type/headers) and
expected answers (``response`` status, content type, partial ``payload``), with ``output`` values
captured for later ``${chapter_id.name}`` references, ``version``/``distributions`` gates,
``pending`` and ``retry``.  See :mod:`.runner` for the exact semantics.

Python API::

    from compat_tests.opensearch_runner import run_paths
    report = run_paths("http://127.0.0.1:9200", [".../tests/default/_core"], skips="compat_tests/opensearch_skips.yaml")

Command line: ``python -m compat_tests.opensearch_runner --help``.
"""

from __future__ import annotations

from .baseline import BaselineCheck, check_baseline, load_baseline, write_baseline
from .runner import (
    DEFAULT_DISTRIBUTION,
    EMULATED_VERSION,
    StoryClient,
    StoryOutcome,
    discover_stories,
    evaluate_story,
    run_paths,
)
from .semver import satisfies
from .story import Chapter, Story, StoryLoadError, StoryOutputs, load_story, match_payload
from .suites import DEFAULT_FOLDERS, default_paths, stories_dir

__all__ = [
    "DEFAULT_DISTRIBUTION",
    "DEFAULT_FOLDERS",
    "EMULATED_VERSION",
    "BaselineCheck",
    "Chapter",
    "Story",
    "StoryClient",
    "StoryLoadError",
    "StoryOutcome",
    "StoryOutputs",
    "check_baseline",
    "default_paths",
    "discover_stories",
    "evaluate_story",
    "load_baseline",
    "load_story",
    "match_payload",
    "run_paths",
    "satisfies",
    "stories_dir",
    "write_baseline",
]
