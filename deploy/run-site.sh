#!/usr/bin/env bash
# The processes of docker-compose.yml, without containers: Mosquitto (configured by
# `dho broker config`), the API, ingest workers on a shared subscription, the jobs and the
# dashboard. Each part is started only when the one before it answers; progress goes to
# standard output, each process's own output to <site dir>/logs/<part>.log.
#
#   DHO_DATABASE_URL=postgresql+psycopg://dho:…@db.example/dho DHO_SECRET_KEY=… \
#       deploy/run-site.sh
#
# Signals: SIGINT (Ctrl-C) or SIGTERM stop every part in order (dashboard, jobs, ingest, API,
# then Mosquitto, which saves its queue) and exit 0. SIGHUP re-runs `dho broker config` (after
# registering or revoking gateways) and has Mosquitto reload its logins.
# If a part does not come up, or dies later, the others are stopped and the exit status is 1.
#
# Settings (environment):
#   DHO_DATABASE_URL      required: the PostgreSQL database (postgresql+psycopg://…)
#   DHO_SECRET_KEY        required: 32+ random bytes (openssl rand -hex 32)
#   DHO_BROKER_SERVICE_PASSWORD  the service's broker password; default: generated once and
#                         kept in <site dir>/mosquitto/service-password
#   DHO_SITE_DIR          folder for Mosquitto's files, its queue and the logs (./dho-site)
#   DHO_SITE_HOST         address the API, the dashboard and Mosquitto listen on (127.0.0.1)
#   DHO_SITE_MQTT_PORT    Mosquitto's plain listener (1883)
#   DHO_SITE_API_PORT     the API (8000)
#   DHO_SITE_DASHBOARD_PORT  the dashboard (8501)
#   DHO_SITE_INGEST_WORKERS  how many ingest workers (2); broker logins and client ids
#                         dho-ingest-1, -2, … (Mosquitto uses the login as the client id)
#   DHO_SITE_INGEST_METRICS_PORT  if set, worker N serves GET /metrics on this port + N - 1
#   DHO_SITE_TLS_CERTFILE, DHO_SITE_TLS_KEYFILE, DHO_SITE_TLS_PORT (8883)
#                         a TLS listener for gateways (recommended; see docs/deployment.md)
#   DHO_SITE_START_TIMEOUT  seconds each part may take to come up (60)
#   DHO_BIN               the dho command (dho on PATH)
#   DHO_MOSQUITTO_PATH    the Mosquitto executable (mosquitto on PATH, or /usr/sbin/mosquitto)
# Other DHO_ settings (docs/operator.md) are passed through to every part.

set -euo pipefail
set -m  # each part in its own process group: Ctrl-C reaches this script only, which stops
        # the parts in order

say() { printf '%s run-site: %s\n' "$(date '+%H:%M:%S')" "$*"; }
fail_early() { say "cannot start: $*" >&2; exit 2; }

# ------------------------------------------------------------------ settings

[[ -n "${DHO_DATABASE_URL:-}" ]] \
    || fail_early "DHO_DATABASE_URL is not set: give the PostgreSQL URL (postgresql+psycopg://user:password@host/db)"
[[ -n "${DHO_SECRET_KEY:-}" ]] \
    || fail_early "DHO_SECRET_KEY is not set: give a random secret (openssl rand -hex 32)"

DHO_BIN=${DHO_BIN:-dho}
command -v "$DHO_BIN" >/dev/null \
    || fail_early "no dho command at '$DHO_BIN': install DHO (pip install .) or set DHO_BIN"
DHO_BIN=$(command -v "$DHO_BIN")

MOSQUITTO=${DHO_MOSQUITTO_PATH:-mosquitto}
if ! command -v "$MOSQUITTO" >/dev/null; then
    if [[ "$MOSQUITTO" == mosquitto && -x /usr/sbin/mosquitto ]]; then
        MOSQUITTO=/usr/sbin/mosquitto
    else
        fail_early "Mosquitto not found at '$MOSQUITTO': install it (apt-get install mosquitto) or set DHO_MOSQUITTO_PATH"
    fi
fi
MOSQUITTO=$(command -v "$MOSQUITTO")

SITE_DIR=${DHO_SITE_DIR:-./dho-site}
HOST=${DHO_SITE_HOST:-127.0.0.1}
MQTT_PORT=${DHO_SITE_MQTT_PORT:-1883}
API_PORT=${DHO_SITE_API_PORT:-8000}
DASHBOARD_PORT=${DHO_SITE_DASHBOARD_PORT:-8501}
INGEST_WORKERS=${DHO_SITE_INGEST_WORKERS:-2}
INGEST_METRICS_PORT=${DHO_SITE_INGEST_METRICS_PORT:-0}
START_TIMEOUT=${DHO_SITE_START_TIMEOUT:-60}
for number in MQTT_PORT API_PORT DASHBOARD_PORT INGEST_WORKERS START_TIMEOUT; do
    [[ "${!number}" =~ ^[0-9]+$ && "${!number}" -gt 0 ]] \
        || fail_early "$number must be a positive whole number, not '${!number}'"
done

mkdir -p "$SITE_DIR"
SITE_DIR=$(cd "$SITE_DIR" && pwd)
BROKER_DIR="$SITE_DIR/mosquitto"
LOG_DIR="$SITE_DIR/logs"
mkdir -p "$BROKER_DIR/data" "$LOG_DIR"
export DHO_DATA_DIR=${DHO_DATA_DIR:-$SITE_DIR/data}

broker_config_args=(
    broker config --out "$BROKER_DIR" --bind "$HOST" --port "$MQTT_PORT"
    --persistence-dir "$BROKER_DIR/data"
    --user "$(id -un)"  # Mosquitto keeps this script's user (it reads its files after any switch)
)
for ((n = 1; n <= INGEST_WORKERS; n++)); do
    broker_config_args+=(--worker-login "dho-ingest-$n")  # a login (= client id) per worker
done
if [[ -n "${DHO_SITE_TLS_CERTFILE:-}${DHO_SITE_TLS_KEYFILE:-}" ]]; then
    broker_config_args+=(
        --tls-port "${DHO_SITE_TLS_PORT:-8883}"
        --tls-certfile "${DHO_SITE_TLS_CERTFILE:-}" --tls-keyfile "${DHO_SITE_TLS_KEYFILE:-}"
    )
fi

# ------------------------------------------------------------------ the parts

declare -a NAMES=() PIDS=()
STOPPING=""
RELOAD=""
trap 'STOPPING=SIGTERM' TERM
trap 'STOPPING=SIGINT' INT
trap 'RELOAD=1' HUP

log_tail() {  # the last lines a part wrote, indented
    tail -n "${2:-20}" "$LOG_DIR/$1.log" 2>/dev/null | sed 's/^/    | /' >&2 || true
}

start_part() {  # name command…: start in the background, output to its log
    local name=$1
    shift
    "$@" >>"$LOG_DIR/$name.log" 2>&1 &
    NAMES+=("$name")
    PIDS+=("$!")
    say "started $name (pid $!, log $LOG_DIR/$name.log)"
}

pid_of() {
    local i
    for i in "${!NAMES[@]}"; do
        [[ "${NAMES[$i]}" == "$1" ]] && { echo "${PIDS[$i]}"; return; }
    done
}

alive() {  # a zombie (exited, not yet reaped) counts as stopped
    kill -0 "$1" 2>/dev/null && [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]
}

stop_all() {  # newest first; each gets SIGTERM and a deadline, then SIGKILL
    local i pid name waited
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[$i]} name=${NAMES[$i]}
        alive "$pid" || continue
        say "stopping $name"
        kill -TERM "$pid" 2>/dev/null || true
        waited=0
        while alive "$pid"; do
            if ((waited >= 450)); then  # 45 s: ingest may be committing a batch
                say "$name did not stop within 45 s: killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
        wait "$pid" 2>/dev/null || true
    done
}

give_up() {  # a part did not come up or died: say which, show its log, stop the rest
    say "$1" >&2
    [[ -n "${2:-}" ]] && log_tail "$2"
    stop_all
    say "stopped (failed)" >&2
    exit 1
}

wait_until() {  # name description check…: poll check until it succeeds
    local name=$1 what=$2
    shift 2
    local pid deadline=$((SECONDS + START_TIMEOUT))
    pid=$(pid_of "$name")
    say "waiting for $name: $what"
    until "$@" >/dev/null 2>&1; do
        if [[ -n "$STOPPING" ]]; then
            say "$STOPPING received while starting: stopping"
            stop_all
            exit 0
        fi
        if ! alive "$pid"; then
            wait "$pid" 2>/dev/null && rc=0 || rc=$?
            give_up "$name exited (status $rc) before it was ready; its log ends:" "$name"
        fi
        if ((SECONDS >= deadline)); then
            give_up "$name was not ready within $START_TIMEOUT s ($what); its log ends:" "$name"
        fi
        sleep 0.3
    done
    say "$name is ready"
}

log_says() { grep -qF -- "$2" "$LOG_DIR/$1.log"; }

write_broker_config() {
    "$DHO_BIN" "${broker_config_args[@]}" >>"$LOG_DIR/broker-config.log" 2>&1
}

# ------------------------------------------------------------------ start, in order

say "site folder $SITE_DIR; database ${DHO_DATABASE_URL%%://*}://…"
say "writing Mosquitto's configuration (and migrating the database)"
if ! write_broker_config; then
    say "dho broker config failed; its output ends:" >&2
    log_tail broker-config
    exit 1
fi

start_part mosquitto "$MOSQUITTO" -c "$BROKER_DIR/mosquitto.conf"
SERVICE_PASSWORD=$(tr -d '\n' <"$BROKER_DIR/service-password")
export DHO_MQTT_URL="mqtt://dho-service:${SERVICE_PASSWORD}@${HOST}:${MQTT_PORT}"
export DHO_MQTT_SHARED_GROUP=${DHO_MQTT_SHARED_GROUP:-triage}
unset DHO_BROKER_SERVICE_PASSWORD SERVICE_PASSWORD
# `dho probe mqtt` logs in as dho-probe (with this password): no worker's session is touched
wait_until mosquitto "the probe login on $HOST:$MQTT_PORT" "$DHO_BIN" probe mqtt --timeout 2

start_part api "$DHO_BIN" api --host "$HOST" --port "$API_PORT"
wait_until api "http://$HOST:$API_PORT/api/v1/ready" \
    "$DHO_BIN" probe http "http://$HOST:$API_PORT/api/v1/ready" --timeout 2

for ((n = 1; n <= INGEST_WORKERS; n++)); do
    # one port per worker (a DHO_INGEST_METRICS_PORT passed through would clash)
    metrics_port=0
    if ((INGEST_METRICS_PORT > 0)); then metrics_port=$((INGEST_METRICS_PORT + n - 1)); fi
    start_part "ingest-$n" env DHO_MQTT_CLIENT_ID="dho-ingest-$n" \
        DHO_MQTT_URL="${DHO_MQTT_URL/#mqtt:\/\/dho-service:/mqtt://dho-ingest-$n:}" \
        DHO_INGEST_METRICS_PORT="$metrics_port" "$DHO_BIN" ingest
done
for ((n = 1; n <= INGEST_WORKERS; n++)); do
    wait_until "ingest-$n" "subscribed to the broker as dho-ingest-$n" \
        log_says "ingest-$n" "subscribed as dho-ingest-$n: ingest is ready"
done

start_part jobs "$DHO_BIN" jobs
wait_until jobs "the scheduler" log_says jobs "scheduled jobs running"

start_part dashboard env DHO_DASHBOARD_API_URL="http://$HOST:$API_PORT" \
    "$DHO_BIN" dashboard --host "$HOST" --port "$DASHBOARD_PORT"
wait_until dashboard "http://$HOST:$DASHBOARD_PORT/_stcore/health" \
    "$DHO_BIN" probe http "http://$HOST:$DASHBOARD_PORT/_stcore/health" --timeout 2

say "site running: API http://$HOST:$API_PORT/api/v1, dashboard http://$HOST:$DASHBOARD_PORT," \
    "MQTT $HOST:$MQTT_PORT (pid $$: SIGTERM or Ctrl-C stops, SIGHUP reloads broker logins)"

# ------------------------------------------------------------------ supervise

while [[ -z "$STOPPING" ]]; do
    wait -n "${PIDS[@]}" 2>/dev/null && rc=0 || rc=$?
    if [[ -n "$STOPPING" ]]; then
        break
    fi
    if [[ -n "$RELOAD" ]]; then
        RELOAD=""
        say "SIGHUP: rewriting the broker logins"
        if write_broker_config; then
            kill -HUP "$(pid_of mosquitto)" && say "Mosquitto reloaded its logins"
        else
            say "dho broker config failed (the old logins stay); its output ends:" >&2
            log_tail broker-config
        fi
        continue
    fi
    for i in "${!PIDS[@]}"; do
        if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
            give_up "${NAMES[$i]} exited unexpectedly (status $rc); its log ends:" "${NAMES[$i]}"
        fi
    done
done

say "$STOPPING received: stopping in order"
stop_all
say "stopped"
