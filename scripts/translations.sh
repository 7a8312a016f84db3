#!/usr/bin/env bash
# Refresh the message catalog after adding or changing user-visible strings:
#   bash scripts/translations.sh
# Messages are sorted and carry no file:line comments, so two branches that add strings rarely
# touch the same lines, and a moved line of code does not rewrite the catalog. New messages
# come without a guess (no fuzzy matching): write their Chinese in messages.po;
# tests/unit/test_translations.py fails while one is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
$BIN/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
  --omit-header -o app/translations/messages.pot . 2>&1 | grep -v '^extracting messages' || true
$BIN/pybabel update -i app/translations/messages.pot -d app/translations -l zh_Hans_CN \
  --no-fuzzy-matching --ignore-obsolete >/dev/null
# Dates in the header would make every run, on every branch, rewrite the same lines.
sed -i '/^"POT-Creation-Date: /d; /^"PO-Revision-Date: /d; /^"Generated-By: /d' \
  app/translations/zh_Hans_CN/LC_MESSAGES/messages.po
$BIN/pybabel compile -d app/translations >/dev/null
echo "catalog updated: app/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
