"""Command line: ``python -m compat_tests.yaml_runner --url URL PATH [PATH ...]``.

Prints ``PASS|FAIL|SKIP  file::test  [reason]`` per test and ends with the line
``N passed, M failed, K skipped``.  Exit code 0 unless the runner itself fails (2) or
``--strict`` is given and a test failed (1).  ``--collect-only`` only parses the files and
prints counts per path (exit 1 on any load error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .api import SPEC_ENV
from .loader import SuiteLoadError, discover_files, load_suite
from .runner import run_paths
from .skips import SkipsFileError, load_skips


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m compat_tests.yaml_runner",
        description="Run Elasticsearch YAML REST test suites against a server.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="YAML files or folders (searched recursively)")
    parser.add_argument("--url", default="http://127.0.0.1:9200", help="server base URL (default %(default)s)")
    parser.add_argument("--report", metavar="FILE.json", help="write the JSON report here")
    parser.add_argument("--skips", metavar="FILE.yaml", help="skips file: list of {path, reason} entries")
    parser.add_argument("--filter", metavar="SUBSTRING", help="only run tests whose id contains SUBSTRING")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="per-request timeout")
    parser.add_argument(
        "--api-spec",
        action="append",
        metavar="DIR",
        help=f"folder of REST API spec *.json files (repeatable; default ${SPEC_ENV} or the shared copy)",
    )
    parser.add_argument("--no-wipe", action="store_true", help="do not delete indices/templates between tests")
    parser.add_argument(
        "--collect-only", action="store_true", help="only parse the files and print counts (no server needed)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when any test failed")
    return parser


def collect(paths: Sequence[str]) -> int:
    """Parse every file under each path; print per-root counts and any load error."""
    failures = 0
    for path in paths:
        files = tests = errors = 0
        for root, file in discover_files([path]):
            files += 1
            try:
                tests += len(load_suite(file, root).tests)
            except SuiteLoadError as exc:
                errors += 1
                print(f"LOAD ERROR  {exc}")
        print(f"{path}: {files} files, {tests} tests, {errors} load errors")
        failures += errors
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.collect_only:
        return collect(args.paths)
    try:
        skips = load_skips(args.skips) if args.skips else None
    except (OSError, SkipsFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        report = run_paths(
            args.url,
            args.paths,
            skips,
            name_filter=args.filter,
            timeout=args.timeout,
            api_spec=args.api_spec,
            on_result=lambda line: print(line, flush=True),
            wipe=not args.no_wipe,
        )
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.report:
        report.write_json(args.report)
    print(report.final_line(), flush=True)
    if args.strict and report.failed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
