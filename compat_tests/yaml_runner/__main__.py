"""Command line: ``python -m compat_tests.yaml_runner --url URL PATH [PATH ...]``.

Prints ``PASS|FAIL|SKIP  file::test  [reason]`` per test and ends with the line
``N passed, M failed, K skipped``.  Exit code 0 unless the runner itself fails (2) or
``--strict`` is given and a test failed (1).  ``--collect-only`` only parses the files and
prints counts per path (exit 1 on any load error).

``--default-suites`` runs the project's suite set (see :mod:`.suites`) instead of PATHs.
The ratchet: ``--baseline FILE`` compares the run with the committed passing list (exit 1 on a
regression; a ``--filter`` run only checks the tests it ran); ``--update-baseline`` rewrites
that file from the run's passes; ``--results-md FILE`` writes the per-folder summary table.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .api import SPEC_ENV
from .baseline import check_baseline, load_baseline, results_markdown, update_readme_block, write_baseline
from .loader import SuiteLoadError, discover_files, load_suite
from .runner import resolve_api, run_paths
from .skips import SkipsFileError, load_skips
from .suites import REPO_ROOT, default_suites, run_suites

BASELINE = REPO_ROOT / "compat_tests" / "baseline.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m compat_tests.yaml_runner",
        description="Run Elasticsearch YAML REST test suites against a server.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="YAML files or folders (searched recursively)")
    parser.add_argument(
        "--default-suites",
        action="store_true",
        help="run the project's suite set under ../shared/compat_cases (instead of PATHs)",
    )
    parser.add_argument(
        "--include",
        action="append",
        metavar="GLOB",
        help="only files (relative to their PATH) matching GLOB or under a folder so named (repeatable)",
    )
    parser.add_argument(
        "--readme",
        metavar="FILE.md",
        help="replace the block between <!-- compat:start --> and <!-- compat:end --> in FILE.md with the table",
    )
    parser.add_argument("--url", default="http://127.0.0.1:9200", help="server base URL (default %(default)s)")
    parser.add_argument("--report", metavar="FILE.json", help="write the JSON report here")
    parser.add_argument("--skips", metavar="FILE.yaml", help="skips file: list of {path, reason} entries")
    parser.add_argument("--filter", metavar="SUBSTRING", help="only run tests whose id contains SUBSTRING")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per-request timeout")
    parser.add_argument(
        "--api-spec",
        action="append",
        metavar="DIR",
        help=f"folder of REST API spec *.json files (repeatable; default ${SPEC_ENV} if set, "
        "else API names are resolved by the elasticsearch Python client)",
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE.json",
        help=f"check the run against this list of passing tests (default with --update-baseline: {BASELINE})",
    )
    parser.add_argument(
        "--update-baseline", action="store_true", help="write the run's passing tests to the baseline file"
    )
    parser.add_argument("--results-md", metavar="FILE.md", help="write the pass-rate table (markdown) here")
    parser.add_argument("--time-budget", type=float, metavar="SECONDS", help="tests not started within this are failed")
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.default_suites == bool(args.paths):
        parser.error("give PATHs or --default-suites (not both)")
    roots = default_suites() if args.default_suites else None
    if args.collect_only:
        if roots is None:
            return collect(args.paths)
        return collect([str(root.path / inc) for root in roots for inc in root.include or ("",)])
    try:
        skips = load_skips(args.skips) if args.skips else None
    except (OSError, SkipsFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    printer = lambda line: print(line, flush=True)  # noqa: E731
    try:
        api = resolve_api(args.api_spec)
        if roots is not None:
            report = run_suites(
                args.url,
                roots,
                skips,
                timeout=args.timeout,
                time_budget=args.time_budget,
                api_spec=api,
                on_result=printer,
                name_filter=args.filter,
                wipe=not args.no_wipe,
            )
        else:
            deadline = time.monotonic() + args.time_budget if args.time_budget is not None else None
            report = run_paths(
                args.url,
                args.paths,
                skips,
                name_filter=args.filter,
                timeout=args.timeout,
                api_spec=api,
                on_result=printer,
                wipe=not args.no_wipe,
                include=args.include,
                deadline=deadline,
            )
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.report:
        report.write_json(args.report)
    if args.results_md:
        Path(args.results_md).write_text(results_markdown(report), encoding="utf-8")
    if args.readme:
        update_readme_block(Path(args.readme), report)
    print(report.final_line(), flush=True)
    status = 1 if args.strict and report.failed else 0
    baseline_file = args.baseline or (BASELINE if args.update_baseline else None)
    if baseline_file and args.update_baseline:
        if args.filter:
            print("error: --update-baseline needs a full run (no --filter)", file=sys.stderr)
            return 2
        count = write_baseline(baseline_file, report)
        print(f"baseline: wrote {count} passing test ids to {baseline_file}")
    elif baseline_file:
        check = check_baseline(report, load_baseline(baseline_file), partial=bool(args.filter))
        for line in check.lines():
            print(line)
        if not check.ok:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
