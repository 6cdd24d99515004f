#!/usr/bin/env bash
# Run the Rally `logs` track against a running Quidditch (or Elasticsearch) node.
#
#   bench/rally/run.sh [HOST:PORT] [-- extra esrally options]
#
# Environment: RALLY_VENV (default /tmp/rally-venv), RALLY_DOCS (default 100000), PYTHON (default python3),
# RALLY_REPORT (default /tmp/rally-report.md), ESRALLY_VERSION (default 2.13.0).
set -euo pipefail

HOST="${1:-127.0.0.1:9200}"
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${RALLY_VENV:-/tmp/rally-venv}"
DOCS="${RALLY_DOCS:-100000}"
REPORT="${RALLY_REPORT:-/tmp/rally-report.md}"
ESRALLY_VERSION="${ESRALLY_VERSION:-2.13.0}"

# 1. Rally in its own virtualenv (it pins an older elasticsearch client than the project's).
if [ ! -x "$VENV/bin/esrally" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "esrally==$ESRALLY_VERSION"
fi

# 2. The corpus (deterministic; regenerated only when missing or of another size).
cd "$ROOT"
if [ ! -f bench/rally/logs/corpus.json ] || ! grep -q "\"document-count\": $DOCS," bench/rally/logs/corpus.json; then
    "$PYTHON" -m bench.rally.make_corpus --docs "$DOCS"
fi

# 3. The node must answer before Rally starts (benchmark-only: Rally provisions nothing).
if ! curl -sf "http://$HOST/" > /dev/null; then
    echo "no server answers at http://$HOST/ - start one first, e.g." >&2
    echo "  python -m server.cli serve --port ${HOST##*:} --data-dir /tmp/rally-data" >&2
    exit 2
fi

# 4. The race. --offline: Rally downloads nothing (the track and its corpus are local).
"$VENV/bin/esrally" race --pipeline=benchmark-only --target-hosts="$HOST" \
    --track-path="$ROOT/bench/rally/logs" --offline \
    --report-file="$REPORT" --on-error=abort "$@"
echo "report: $REPORT"
