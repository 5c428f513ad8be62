#!/usr/bin/env bash
# Runs Parley's whole test suite on SQLite and on PostgreSQL.
#
# PostgreSQL: PARLEY_TEST_PG if set; otherwise the local server on
# 127.0.0.1:5432 (started if it is installed but stopped), with a fresh
# database for this run that is dropped afterwards. If PostgreSQL cannot be
# reached this script fails: the PostgreSQL half of the suite is never
# skipped silently.
set -euo pipefail
cd "$(dirname "$0")/.."

PGHOST_ADDR=${PGHOST_ADDR:-127.0.0.1}
PGPORT_NUM=${PGPORT_NUM:-5432}
PGUSER_NAME=${PGUSER_NAME:-postgres}
export PGPASSWORD=${PGPASSWORD:-postgres}

pg() { psql -h "$PGHOST_ADDR" -p "$PGPORT_NUM" -U "$PGUSER_NAME" -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

start_local_pg() {
  command -v pg_ctlcluster >/dev/null || return 1
  local v
  for v in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
  done
  for _ in $(seq 1 30); do
    pg_isready -h "$PGHOST_ADDR" -p "$PGPORT_NUM" -q && return 0
    sleep 1
  done
  return 1
}

if [ -z "${PARLEY_TEST_PG:-}" ]; then
  if ! pg_isready -h "$PGHOST_ADDR" -p "$PGPORT_NUM" -q 2>/dev/null; then
    echo "test.sh: PostgreSQL is not answering on $PGHOST_ADDR:$PGPORT_NUM; starting it" >&2
    start_local_pg || { echo "test.sh: FAIL: cannot start PostgreSQL (install it: apt-get install postgresql)" >&2; exit 1; }
  fi
  if ! pg -c 'SELECT 1' >/dev/null 2>&1; then
    # A fresh Debian install asks for a password on TCP; give the postgres
    # role the one this script uses, through the local socket as root.
    if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
      runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD '$PGPASSWORD'" >/dev/null || true
    fi
    pg -c 'SELECT 1' >/dev/null || { echo "test.sh: FAIL: cannot log in to PostgreSQL as $PGUSER_NAME" >&2; exit 1; }
  fi
  TESTDB="parley_test_$(date +%s)_$$"
  pg -c "CREATE DATABASE $TESTDB" >/dev/null
  trap 'pg -c "DROP DATABASE IF EXISTS $TESTDB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
  export PARLEY_TEST_PG="postgres://$PGUSER_NAME:$PGPASSWORD@$PGHOST_ADDR:$PGPORT_NUM/$TESTDB?sslmode=disable"
  echo "test.sh: PostgreSQL test database $TESTDB" >&2
fi
unset PARLEY_TEST_SKIP_PG

go vet ./...
go test -count=1 -timeout 20m "$@" ./...
# The packages whose correctness is about concurrency, again under the race
# detector (the whole suite under it would take minutes on SQLite).
go test -race -count=1 -timeout 10m ./internal/dialer ./internal/outbound ./internal/chat ./internal/realtime ./internal/auth/ ./internal/store/ ./internal/api/ ./internal/events/ ./internal/script/
