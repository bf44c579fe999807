#!/usr/bin/env bash
# Run by `make test`: lint, install the system tools the tests drive, then the suite on
# SQLite and (when it answers) PostgreSQL. Prints which backends ran.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v zbarimg >/dev/null 2>&1 || need_apt+=(zbar-tools)
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing ${need_apt[*]} (Debian packages the tests drive)..."
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "== ruff"
$BIN/ruff check . || exit 1
$BIN/ruff format --check . || exit 1

workers=$(nproc 2>/dev/null || echo 2)
status=0
ran=()

echo "== pytest on SQLite"
LMS_TEST_BACKEND=sqlite $BIN/pytest -n "$workers" -p no:cacheprovider || status=1
ran+=("SQLite")

pg_url="${LMS_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
if $BIN/python - "$pg_url" <<'PY' 2>/dev/null
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1], connect_args={"connect_timeout": 3})
with engine.connect() as conn:
    conn.execute(text("SELECT 1"))
PY
then
  echo "== pytest on PostgreSQL ($pg_url; browser tests ran on SQLite)"
  LMS_TEST_BACKEND=postgresql $BIN/pytest -n "$workers" -p no:cacheprovider -m "not browser" || status=1
  ran+=("PostgreSQL")
else
  echo "== PostgreSQL SKIPPED: nothing answers at $pg_url (set LMS_TEST_DATABASE_URL)"
fi

echo "== backends that ran: ${ran[*]}"
exit $status
