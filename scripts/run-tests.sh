#!/usr/bin/env bash
# The whole suite on SQLite, then on PostgreSQL when it is reachable.
set -uo pipefail
BIN=.venv/bin
TEST_DATABASE_URL=${TEST_DATABASE_URL-postgresql+psycopg://postgres@127.0.0.1:5432/test}
export TEST_DATABASE_URL
status=0

echo "== Tests on SQLite"
TEST_DATABASE_URL= COURTYARD_TEST_DB=sqlite $BIN/python -m pytest "$@" || status=$?

if $BIN/python scripts/pg_reachable.py "$TEST_DATABASE_URL"; then
  echo "== Tests on PostgreSQL ($TEST_DATABASE_URL)"
  # The pure packages and the browser tests do not touch the database: run them once.
  COURTYARD_TEST_DB=postgresql $BIN/python -m pytest tests/web "$@" || status=$?
else
  echo "== PostgreSQL not reachable at $TEST_DATABASE_URL: skipped"
fi
exit $status
