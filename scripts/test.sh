#!/usr/bin/env bash
# The whole check, phase by phase, with the time of each: chromium, ruff, mypy, migrations,
# pytest on SQLite, pytest on PostgreSQL. Where no PostgreSQL answers this says so loudly and
# runs SQLite only, unless REQUIRE_POSTGRES=1 (set by .ci/run), which makes that a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
export COACHLOOP_HOME=${COACHLOOP_TEST_HOME:-$PWD/var/test-home}
mkdir -p "$COACHLOOP_HOME"
unset DATABASE_URL
declare -a SUMMARY=()

phase() {
  local name=$1; shift
  local started=$SECONDS
  echo "=== $name"
  if "$@"; then
    SUMMARY+=("$(printf '%-22s %5ss  ok' "$name" $((SECONDS - started)))")
  else
    local status=$?
    SUMMARY+=("$(printf '%-22s %5ss  FAILED' "$name" $((SECONDS - started)))")
    report
    exit $status
  fi
}

report() {
  echo
  echo "=== time per phase"
  printf '%s\n' "${SUMMARY[@]}"
}

postgres_answers() {
  "$BIN/python" - "$POSTGRES_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"    ({exc.__class__.__name__}: {str(exc).strip().splitlines()[0]})")
    sys.exit(1)
PY
}

phase "chromium" bash scripts/ensure-chromium.sh
phase "ruff" "$BIN/ruff" check src bench
phase "ruff format" "$BIN/ruff" format --check --quiet src bench
phase "mypy" "$BIN/mypy" src
phase "migrations check" "$BIN/coachloop" makemigrations --check --dry-run
phase "pytest sqlite" "$BIN/pytest" -q -p no:cacheprovider "$@"

if postgres_answers; then
  phase "pytest postgresql" env DATABASE_URL="$POSTGRES_URL" "$BIN/pytest" -q -p no:cacheprovider "$@"
else
  echo
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!  No PostgreSQL answers at $POSTGRES_URL"
  echo "!!  The suite ran on SQLite ONLY. PostgreSQL is the production database."
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  if [ "${REQUIRE_POSTGRES:-0}" = 1 ]; then
    SUMMARY+=("$(printf '%-22s %5s   FAILED (no server)' "pytest postgresql" "-")")
    report
    exit 1
  fi
  SUMMARY+=("$(printf '%-22s %5s   SKIPPED (no server)' "pytest postgresql" "-")")
fi
report
