#!/usr/bin/env bash
# Migrates, then starts the sandbox, the web server (gunicorn), a Celery worker and beat; Ctrl-C
# stops them all. `make demo` runs it on the PostgreSQL and Redis scripts/services.py chose.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
mkdir -p var/log
export SANDBOX_URL="${SANDBOX_URL:-http://127.0.0.1:8900}"
# The demo checks ERP deliveries and invoices every 30 s instead of every 5 minutes.
export HUB_SHIPMENT_POLL_SECONDS="${HUB_SHIPMENT_POLL_SECONDS:-30}"
export HUB_INVOICE_READ_SECONDS="${HUB_INVOICE_READ_SECONDS:-30}"
sandbox_port="${SANDBOX_URL##*:}"
web_port="${HUB_WEB_PORT:-8000}"

pids=()
stop_all() {
  trap - INT TERM HUP EXIT
  set +e  # a closed terminal (hang-up) fails the echo: stop everything all the same
  echo; echo "Stopping the hub..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM HUP EXIT

wait_for() {  # url, name
  for _ in $(seq 1 60); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "$2 did not start; see var/log/$2.log" >&2
  exit 1
}

$PY scripts/ensure_database.py
$PY manage.py setup_hub
# The web process serves the admin's CSS and scripts and the API docs from var/static/.
$PY manage.py collectstatic --noinput --verbosity 0
$PY -m sandbox serve --port "$sandbox_port" >var/log/sandbox.log 2>&1 &
pids+=($!)
wait_for "$SANDBOX_URL/_control/status" sandbox

$PY manage.py seed_demo | tail -n +2 >var/log/seed.txt

# The production web server and its configuration (deploy/gunicorn.conf.py): 2 processes x 4
# threads, one kept database connection per thread. One worker node consumes every queue.
HUB_WEB_BIND="0.0.0.0:$web_port" HUB_WEB_WORKERS="${HUB_WEB_WORKERS:-2}" \
  .venv/bin/gunicorn -c deploy/gunicorn.conf.py >var/log/web.log 2>&1 &
pids+=($!)
$PY -m celery -A integration_hub worker --hostname=demo@%h --loglevel=INFO --concurrency=4 \
  >var/log/worker.log 2>&1 &
pids+=($!)
$PY -m celery -A integration_hub beat --loglevel=INFO -s var/celerybeat-schedule >var/log/beat.log 2>&1 &
pids+=($!)
wait_for "http://localhost:$web_port/healthz" web

cat <<MSG

The integration hub is running (logs in var/log/, Ctrl-C stops everything).

  Portals (user / password):
$(sed 's/^/  /' var/log/seed.txt)

  Sandbox (fake API2Cart, ION/M3, ShipStation): $SANDBOX_URL
  Health:  http://localhost:$web_port/healthz
  Try:     .venv/bin/python -m sandbox place-orders --store northwind --count 5
           .venv/bin/python -m sandbox status

MSG
wait -n "${pids[@]}"
echo "A process stopped unexpectedly; see var/log/." >&2
