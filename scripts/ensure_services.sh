#!/usr/bin/env bash
# shellcheck disable=SC2317  # the start_* functions are called indirectly, through `ensure`
# Make sure the local test services answer, starting them when they do not:
#   PostgreSQL  127.0.0.1:5432  (trust auth, database `test`)
#   Mosquitto   127.0.0.1:1883
# Best effort: always exits 0 and says what it saw. The tests decide what a missing service means
# (tests/services.py: a failure under CI=true, a skip elsewhere).
# Usage: bash scripts/ensure_services.sh   (DHO_SERVICE_WAIT_SECONDS, default 30, bounds the wait)
set -uo pipefail

WAIT_SECONDS="${DHO_SERVICE_WAIT_SECONDS:-30}"

port_open() { # host port
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

wait_for() { # name host port
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        if port_open "$2" "$3"; then
            echo "services: $1 answers on $2:$3"
            return 0
        fi
        sleep 1
    done
    echo "services: WARNING: $1 still not answering on $2:$3 after ${WAIT_SECONDS}s" >&2
    return 1
}

start_postgres() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d /etc/postgresql ]; then
        echo "services: WARNING: PostgreSQL is not installed here (no pg_ctlcluster)" >&2
        return 1
    fi
    local dir version
    for dir in /etc/postgresql/*/; do
        version="$(basename "$dir")"
        echo "services: + pg_ctlcluster --skip-systemctl-redirect $version main start"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
            echo "services: WARNING: pg_ctlcluster $version main start failed" >&2
    done
}

start_mosquitto() {
    if ! command -v mosquitto >/dev/null 2>&1; then
        echo "services: WARNING: Mosquitto is not installed here" >&2
        return 1
    fi
    echo "services: + mosquitto -d -c /etc/mosquitto/mosquitto.conf"
    mosquitto -d -c /etc/mosquitto/mosquitto.conf ||
        echo "services: WARNING: mosquitto failed to start" >&2
}

ensure() { # name host port start-function
    if port_open "$2" "$3"; then
        echo "services: $1 answers on $2:$3"
        return 0
    fi
    echo "services: $1 not answering on $2:$3; starting it"
    "$4" && wait_for "$1" "$2" "$3"
}

ensure PostgreSQL 127.0.0.1 5432 start_postgres
ensure Mosquitto 127.0.0.1 1883 start_mosquitto
exit 0
