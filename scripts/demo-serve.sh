#!/usr/bin/env bash
# Serve the demo (make demo). When an MQTT broker answers, the alarm ingester runs beside the
# site and stops with it, so events published by devices or `flask alarms simulate` show on
# the console. The ingester is another process: its news reaches the console's stream through
# Redis when Redis answers (a channel namespace of this demo's own), else through the stream's
# look at the database once a second.
set -euo pipefail
cd "$(dirname "$0")/.."
FLASK=(.venv/bin/flask --app app)
LOG="${COURTYARD_INSTANCE:-instance}/alarms-listen.log"
if [ -z "${ALARMS_REDIS_URL:-}${REDIS_URL:-}" ] && .venv/bin/python - <<'PY' 2>/dev/null
import socket

socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
PY
then
  export ALARMS_REDIS_URL=redis://127.0.0.1:6379/0
  export ALARMS_LIVE_NAMESPACE="${ALARMS_LIVE_NAMESPACE:-courtyard-demo-${PORT:-5000}}"
fi
if .venv/bin/python - <<'PY' 2>/dev/null
import os
import socket

host, port = os.environ.get("MQTT_HOST", "127.0.0.1"), int(os.environ.get("MQTT_PORT", 1883))
socket.create_connection((host, port), timeout=1).close()
PY
then
  mkdir -p "$(dirname "$LOG")"
  "${FLASK[@]}" alarms listen >"$LOG" 2>&1 &
  listener=$!
  trap 'kill "$listener" 2>/dev/null || true' EXIT
  echo "Alarm ingester listening (log: $LOG). Feed the demo's devices: .venv/bin/flask --app app alarms simulate"
else
  echo "No MQTT broker answers: the alarm console shows the demo's recorded alarms only."
fi
"${FLASK[@]}" run --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
