"""A runner for the Elasticsearch YAML REST test format.

It knows nothing about the server under test: pointed at a real Elasticsearch 8 it runs the
suites unchanged.  API names (``indices.create``, ``search``, ``bulk``...) are resolved to HTTP
requests by the official ``elasticsearch`` Python client (``client_api``), or with the REST API
spec JSON files when given (``--api-spec DIR`` / ``$ES_REST_API_SPEC``).

Python API::

    from compat_tests.yaml_runner import run_paths
    report = run_paths("http://127.0.0.1:9200", ["path/to/suites"], skips="compat_tests/skips.yaml")
    report.write_json("report.json")

Command line: ``python -m compat_tests.yaml_runner --help``.

Modules: ``loader`` (files -> suites/tests/steps), ``api`` (resolver interface, spec table,
request building), ``client_api`` (resolution through the ``elasticsearch`` client),
``client`` (HTTP), ``stash`` (stash and paths), ``matching`` (assertion semantics),
``executor`` (steps), ``prerequisites`` (skip/requires), ``cleanup`` (state wipe),
``skips`` (skips file), ``report`` (results), ``runner`` (orchestration).
"""

from __future__ import annotations

from .api import ApiResolver, ApiSpec, ApiTable, HttpRequest, RequestBuildError, build_request
from .client import HttpClient, Response
from .client_api import ClientApi
from .executor import StepFailure, TestContext
from .loader import Prerequisite, Section, Step, Suite, SuiteLoadError, TestCase, discover_files, load_suite
from .prerequisites import SUPPORTED_FEATURES, ServerInfo
from .report import Report, TestResult
from .runner import Runner, resolve_api, run_paths
from .skips import SkipEntry, SkipList, SkipsFileError, load_skips
from .stash import Stash, StashError

__all__ = [
    "SUPPORTED_FEATURES",
    "ApiResolver",
    "ApiSpec",
    "ApiTable",
    "ClientApi",
    "HttpClient",
    "HttpRequest",
    "Prerequisite",
    "Report",
    "RequestBuildError",
    "Response",
    "Runner",
    "Section",
    "ServerInfo",
    "SkipEntry",
    "SkipList",
    "SkipsFileError",
    "Stash",
    "StashError",
    "Step",
    "StepFailure",
    "Suite",
    "SuiteLoadError",
    "TestCase",
    "TestContext",
    "TestResult",
    "build_request",
    "discover_files",
    "load_skips",
    "load_suite",
    "resolve_api",
    "run_paths",
]
