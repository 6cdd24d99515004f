"""Command line: ``python -m compat_tests.opensearch_runner --url URL PATH [PATH ...]``.

Prints ``PASS|FAIL|SKIP  <story>  [reason]`` per story and ends with ``N passed, M failed,
K skipped``.  Story ids are paths relative to the suite folder (the folder directly inside a
``tests`` folder, e.g. ``tests/default``; ``--root`` overrides).  Exit code 0 unless the runner
itself fails (2), ``--strict`` is given and a story failed (1), or ``--baseline`` finds a
regression (1).  ``--update-baseline`` rewrites the baseline file from the run's passes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from ..yaml_runner.skips import SkipsFileError, load_skips
from .baseline import check_baseline, load_baseline, write_baseline
from .runner import DEFAULT_DISTRIBUTION, EMULATED_VERSION, run_paths
from .suites import default_paths


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m compat_tests.opensearch_runner",
        description="Run OpenSearch API-specification test stories against a server.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="story files or folders (searched recursively)")
    parser.add_argument(
        "--default-suites", action="store_true", help="run the project's story folders (instead of PATHs)"
    )
    parser.add_argument("--url", default="http://127.0.0.1:9200", help="server base URL (default %(default)s)")
    parser.add_argument("--report", metavar="FILE.json", help="write the JSON report here")
    parser.add_argument("--skips", metavar="FILE.yaml", help="skips file: list of {path, reason} entries")
    parser.add_argument("--baseline", metavar="FILE.json", help="check the run against this list of passing stories")
    parser.add_argument(
        "--update-baseline", action="store_true", help="write the run's passing stories to the --baseline file"
    )
    parser.add_argument("--filter", metavar="SUBSTRING", help="only run stories whose id contains SUBSTRING")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per-request timeout")
    parser.add_argument("--time-budget", type=float, metavar="SECONDS", help="stories not started within this fail")
    parser.add_argument(
        "--opensearch-version",
        metavar="X.Y.Z",
        help="version for the stories' version gates (default: the server's if it is OpenSearch, "
        f"else {EMULATED_VERSION})",
    )
    parser.add_argument(
        "--distribution", default=DEFAULT_DISTRIBUTION, help="distribution for the gates (default %(default)s)"
    )
    parser.add_argument("--root", metavar="DIR", help="make story ids relative to DIR")
    parser.add_argument("--wipe", action="store_true", help="delete indices and templates after every story")
    parser.add_argument("--verbose", action="store_true", help="print every step of failing stories")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any story failed")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.default_suites == bool(args.paths):
        parser.error("give PATHs or --default-suites (not both)")
    if args.update_baseline and not args.baseline:
        parser.error("--update-baseline needs --baseline FILE.json")
    try:
        skips = load_skips(args.skips) if args.skips else None
    except (OSError, SkipsFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    paths = default_paths() if args.default_suites else args.paths
    deadline = time.monotonic() + args.time_budget if args.time_budget is not None else None

    def printer(line: str) -> None:
        print(line, flush=True)

    try:
        report = run_paths(
            args.url,
            paths,
            skips,
            timeout=args.timeout,
            version=args.opensearch_version,
            distribution=args.distribution or None,
            root=args.root,
            name_filter=args.filter,
            on_result=printer,
            deadline=deadline,
            wipe=args.wipe,
        )
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.verbose:
        for result in report:
            if result.status == "fail" and result.detail:
                print(f"--- {result.id}\n{result.detail}")
    if args.report:
        report.write_json(args.report)
    print(report.final_line(), flush=True)
    status = 1 if args.strict and report.failed else 0
    if args.baseline and args.update_baseline:
        if args.filter:
            print("error: --update-baseline needs a full run (no --filter)", file=sys.stderr)
            return 2
        count = write_baseline(args.baseline, report)
        print(f"baseline: wrote {count} passing story ids to {args.baseline}")
    elif args.baseline:
        check = check_baseline(report, load_baseline(args.baseline), partial=bool(args.filter))
        for line in check.lines():
            print(line)
        if not check.ok:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
