#!/usr/bin/env bash
# CI's demo check: `make demo` on private PostgreSQL and Redis (HUB_EMBEDDED=1, ports 55432 and
# 56379; the machine's own servers are left alone), /healthz, then one order from the sandbox's
# store that must reach its ShipStation fake. Bounded in time; the demo is always stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
LOG=var/log/demo-smoke.log
HEALTH_SECONDS=300   # a fresh clone: initdb, migrations, seeding
ORDER_SECONDS=180

for port in 8000 8900; do  # the demo's web and sandbox
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo smoke: port $port is taken; the demo needs it" >&2
    exit 1
  fi
done
make venv  # outside the timed part: on a fresh clone this installs the requirements
mkdir -p var/log
# The private servers only: a DATABASE_URL / REDIS_URL meant for the suite is not the demo's.
env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL HUB_EMBEDDED=1 setsid make demo >"$LOG" 2>&1 &
demo=$!  # setsid made it the leader of its own process group

finish() {
  local status=$?
  kill -TERM -- "-$demo" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 -- "-$demo" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$demo" 2>/dev/null || true
  $PY scripts/services.py stop >/dev/null || true  # in case the demo could not stop them
  if [ "$status" -ne 0 ]; then tail -n 40 "$LOG" var/log/web.log var/log/worker.log >&2 || true; fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

wait_until() {  # seconds, what, command...
  local seconds=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  while [ "$SECONDS" -lt "$deadline" ]; do
    if "$@"; then return 0; fi
    if ! kill -0 "$demo" 2>/dev/null; then
      echo "demo smoke: make demo stopped before $what (see $LOG)" >&2
      return 1
    fi
    sleep 1
  done
  echo "demo smoke: no $what within $seconds s" >&2
  return 1
}
healthy() { curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:8000/healthz 2>/dev/null; }
shipstation_orders() {
  timeout 20 $PY -m sandbox status --json | $PY -c 'import json, sys
print(json.load(sys.stdin)["shipstation"]["shipstation_orders"])'
}
order_arrived() { [ "$(shipstation_orders)" -gt "$before" ]; }

wait_until "$HEALTH_SECONDS" "healthy hub at /healthz" healthy
if ! grep -q "^PostgreSQL: private" "$LOG" || ! grep -q "^Redis: private" "$LOG"; then
  echo "demo smoke: the demo did not run on the private servers (see $LOG)" >&2
  exit 1
fi
before=$(shipstation_orders)
timeout 20 $PY -m sandbox place-orders --store acme-outlet --count 1 >/dev/null
wait_until "$ORDER_SECONDS" "order in the ShipStation fake" order_arrived
echo "demo smoke: the hub ran on private PostgreSQL and Redis; a store order reached ShipStation"
