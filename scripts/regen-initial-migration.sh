#!/usr/bin/env bash
# Until the first release, the schema lives in one initial migration: rewrite it from the models.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/0001_*.py
COURTYARD_INSTANCE=$tmp .venv/bin/flask --app app db revision -m "initial schema" >/dev/null
f=$(ls migrations/versions/*_initial_schema.py)
rev=$(basename "$f" | cut -d_ -f1)
sed -i "s/^revision = '$rev'/revision = '0001'/; s/Revision ID: $rev/Revision ID: 0001/" "$f"
mv "$f" migrations/versions/0001_initial_schema.py
rm -rf "$tmp"
echo "migrations/versions/0001_initial_schema.py rewritten"
