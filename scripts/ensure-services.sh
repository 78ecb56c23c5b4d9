#!/usr/bin/env bash
# Make sure the services the tests need answer on 127.0.0.1:
#   PostgreSQL on 5432, with a database "pytake_test" that user postgres reaches without a
#   password, and Redis on 6379.
# Installed but stopped: starts them. Absent: installs them with apt-get (Debian/Ubuntu; sudo
# only when not root) and, on a fresh PostgreSQL, trusts local connections (a test machine).
# Idempotent, and quick when everything is already up: it only checks, then.
# ENSURE_SERVICES_TIMEOUT (seconds, default 60) bounds each wait.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
TEST_DB=pytake_test
REDIS_LOG=/var/log/redis/ci.log
TIMEOUT=${ENSURE_SERVICES_TIMEOUT:-60}

say() { echo "ensure-services: $*"; }
die() { echo "ensure-services: error: $*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
# Run a command that changes the machine, as root, showing it first.
as_root() { say "+ $*"; "${SUDO[@]}" "$@"; }

APT_UPDATED=no
apt_install() {
    command -v apt-get >/dev/null || die "$* is missing and there is no apt-get: install it by hand"
    if [ "$APT_UPDATED" = no ]; then
        as_root apt-get update -qq
        APT_UPDATED=yes
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# wait_until DESCRIPTION COMMAND... : poll COMMAND until it succeeds or TIMEOUT passes.
wait_until() {
    local what=$1
    shift
    local deadline=$((SECONDS + TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.5
    done
    say "$what is up"
}

# --- PostgreSQL -------------------------------------------------------------------------------

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
psql_postgres() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -X -A -t "$@"; }
pg_version() { find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1; }

trust_local_connections() {
    local hba="/etc/postgresql/$1/main/pg_hba.conf"
    if "${SUDO[@]}" grep -q "added by pytake" "$hba"; then
        return
    fi
    say "fresh PostgreSQL: trusting local connections in $hba"
    local tmp
    tmp=$(mktemp)
    # First matching line wins, so these go on top.
    {
        echo "# added by pytake scripts/ensure-services.sh: trust local connections (test machine)"
        echo "local all all trust"
        echo "host all all 127.0.0.1/32 trust"
        echo "host all all ::1/128 trust"
        "${SUDO[@]}" cat "$hba"
    } >"$tmp"
    as_root install -m 640 -o postgres -g postgres "$tmp" "$hba"
    rm -f "$tmp"
    if pg_ready; then
        as_root pg_ctlcluster --skip-systemctl-redirect "$1" main reload
    fi
}

ensure_postgres() {
    if command -v pg_isready >/dev/null && pg_ready; then
        say "PostgreSQL answers on $PG_HOST:$PG_PORT"
    else
        local fresh=no version status=0
        if ! command -v pg_ctlcluster >/dev/null || [ -z "$(pg_version)" ]; then
            say "PostgreSQL is not installed"
            apt_install postgresql
            fresh=yes
        fi
        version=$(pg_version)
        [ -n "$version" ] || die "no PostgreSQL cluster under /etc/postgresql"
        if [ "$fresh" = yes ]; then
            trust_local_connections "$version"
        fi
        # pg_isready: 1 = starting up (just wait), 2 = no answer (start it).
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || status=$?
        if [ "$status" -eq 2 ]; then
            say "starting PostgreSQL $version"
            as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
        fi
        wait_until "PostgreSQL on $PG_HOST:$PG_PORT" pg_ready ||
            die "PostgreSQL did not answer on $PG_HOST:$PG_PORT within ${TIMEOUT}s" \
                "(see /var/log/postgresql/postgresql-$version-main.log)"
    fi

    if ! psql_postgres -c "select 1" >/dev/null 2>&1; then
        die "PostgreSQL answers, but user postgres cannot log in over $PG_HOST without a" \
            "password. Allow it in pg_hba.conf (host all postgres 127.0.0.1/32 trust)" \
            "and reload, or export PGPASSWORD."
    fi

    if [ "$(psql_postgres -c "select 1 from pg_database where datname = '$TEST_DB'")" = 1 ]; then
        say "database $TEST_DB exists"
    else
        say "creating database $TEST_DB"
        psql_postgres -q -c "create database $TEST_DB" >/dev/null
    fi
}

# --- Redis ----------------------------------------------------------------------------------

redis_ready() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

ensure_redis() {
    if command -v redis-cli >/dev/null && redis_ready; then
        say "Redis answers on $REDIS_HOST:$REDIS_PORT"
        return
    fi
    if ! command -v redis-server >/dev/null; then
        say "Redis is not installed"
        apt_install redis-server
    fi
    # The package may have started it already.
    if ! redis_ready; then
        say "starting Redis"
        as_root mkdir -p /var/lib/redis "$(dirname "$REDIS_LOG")"
        # No persistence: test data need not survive, and writing it would only slow tests.
        as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
            --save "" --appendonly no --dir /var/lib/redis --logfile "$REDIS_LOG"
    fi
    wait_until "Redis on $REDIS_HOST:$REDIS_PORT" redis_ready ||
        die "Redis did not answer on $REDIS_HOST:$REDIS_PORT within ${TIMEOUT}s (see $REDIS_LOG)"
}

ensure_postgres
ensure_redis
