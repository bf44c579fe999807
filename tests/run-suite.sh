#!/usr/bin/env bash
# Run by `make test`: check the lock files, lint, install the system tools the tests drive,
# then the suite on SQLite and (when it answers) PostgreSQL. Prints which backends ran; exits
# non-zero when anything failed, when a run collected no test at all, or when a run overran its
# time cap.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

# CI gives one run 90 minutes on 2 cores: each backend gets a hard cap well inside that
# (override with LMS_SUITE_TIMEOUT, in seconds), so a hung test fails loudly instead of
# eating the whole budget.
suite_timeout="${LMS_SUITE_TIMEOUT:-1800}"

# The lock files the install used must be the ones `make lock` makes from pyproject.toml as it
# is now (no network: a digest of pyproject.toml's lists, every requirement pinned in range,
# every pin hashed). Checked first: a stale lock means the suite would test other packages.
echo "== lock files"
if ! $BIN/python tests/lockfiles.py check; then
  echo "== FAILED: requirements.lock / requirements-test.lock do not match pyproject.toml" \
    "(above); run \`make lock\` and commit them" >&2
  exit 1
fi

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v zbarimg >/dev/null 2>&1 || need_apt+=(zbar-tools)
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)  # runs the Nu Html Checker
# WeasyPrint subsets fonts with it (without it, fontTools: four times slower, and a
# DeprecationWarning at import that the suite's warnings-as-errors refuses).
ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so' || need_apt+=(libharfbuzz-subset0)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing ${need_apt[*]} (Debian packages the tests drive)..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null; }; then
    echo "FAILED to install ${need_apt[*]}: the browser, QR and PDF tests need them." >&2
    exit 1
  fi
fi

# axe-core and the Nu Html Checker (npm registry, pinned) for the accessibility browser test;
# once in .tools/ this touches no network.
if ! bash tests/install-page-checkers.sh; then
  echo "FAILED to install axe-core and vnu-jar into .tools/: the page checks need them." >&2
  exit 1
fi

echo "== ruff"
$BIN/ruff check . || exit 1
$BIN/ruff format --check . || exit 1

workers=$(nproc 2>/dev/null || echo 2)
status=0
ran=()

# run_pytest LABEL ARGS...: one pytest run under the time cap; any non-zero exit fails the
# suite. Exit 5 ("no tests collected") is named, because a suite that silently ran nothing
# must never pass.
run_pytest() {
  local label="$1"; shift
  timeout --kill-after=60 "$suite_timeout" \
    $BIN/pytest -n "$workers" -p no:cacheprovider --durations=15 "$@"
  local rc=$?
  case $rc in
    0) ;;
    5) echo "== FAILED on $label: pytest collected no test" >&2; status=1 ;;
    124|137) echo "== FAILED on $label: over the ${suite_timeout}s time cap" >&2; status=1 ;;
    *) echo "== FAILED on $label: pytest exited with $rc" >&2; status=1 ;;
  esac
}

echo "== pytest on SQLite"
LMS_TEST_BACKEND=sqlite run_pytest SQLite
ran+=("SQLite")

pg_url="${LMS_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
pg_answers() {
  $BIN/python - "$pg_url" <<'PY' 2>/dev/null
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1], connect_args={"connect_timeout": 3})
with engine.connect() as conn:
    conn.execute(text("SELECT 1"))
PY
}
# The machine's local cluster may have stopped since boot; starting it is harmless if it runs.
if ! pg_answers && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  done
fi
if pg_answers; then
  echo "== pytest on PostgreSQL ($pg_url; browser tests ran on SQLite)"
  LMS_TEST_BACKEND=postgresql run_pytest PostgreSQL -m "not browser"
  ran+=("PostgreSQL")
else
  echo "== PostgreSQL SKIPPED: nothing answers at $pg_url (set LMS_TEST_DATABASE_URL)"
fi

# The suite leaves no process behind: no job consumer or render process started from this
# checkout or a test's folder may outlive it (they die with their parent; this proves it).
leftovers() {
  local pid command
  for pid in $(pgrep -f "lms jobs worker|multiprocessing.spawn|gunicorn" 2>/dev/null); do
    command=$({ tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null) || continue
    case "$command" in "$PWD/.venv/"*) echo "$pid $command" ;; esac
  done
}
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -z "$(leftovers)" ] && break; sleep 1; done
if [ -n "$(leftovers)" ]; then
  echo "== FAILED: processes the suite started are still running (now stopped):" >&2
  leftovers >&2
  leftovers | while read -r pid _; do kill -9 "$pid" 2>/dev/null; done
  status=1
fi

echo "== backends that ran: ${ran[*]}"
if [ $status -ne 0 ]; then
  echo "== test suite FAILED" >&2
fi
exit $status
