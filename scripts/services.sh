#!/usr/bin/env bash
# Installs (from Debian packages) and starts the services bai-manager needs, bound to loopback:
# PostgreSQL, Redis and etcd. Idempotent: what is installed is not reinstalled, what runs keeps
# running. Run as root on Debian.
#
# Environment (defaults in brackets):
#   BAI_PG_USER [bai]  BAI_PG_PASSWORD [bai]  BAI_PG_PORT [5432]
#   BAI_REDIS_PORT [6379]  BAI_ETCD_PORT [2379]  BAI_STATE_DIR [/var/lib/bai-manager-dev]
set -euo pipefail

PG_USER=${BAI_PG_USER:-bai}
PG_PASSWORD=${BAI_PG_PASSWORD:-bai}
PG_PORT=${BAI_PG_PORT:-5432}
REDIS_PORT=${BAI_REDIS_PORT:-6379}
ETCD_PORT=${BAI_ETCD_PORT:-2379}
STATE_DIR=${BAI_STATE_DIR:-/var/lib/bai-manager-dev}

log() { printf '[services] %s\n' "$*" >&2; }

install_missing_packages() {
    local wanted=(postgresql postgresql-contrib redis-server redis-tools etcd-server etcd-client
        protobuf-compiler libprotobuf-dev pkg-config build-essential cmake curl ca-certificates python3-venv)
    local missing=()
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # The packages' own service start-up is not wanted: we start each server ourselves below.
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        rm -f /usr/sbin/policy-rc.d
    fi
}

start_postgres() {
    local version cluster=main
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version $cluster"; then
        pg_createcluster "$version" "$cluster" -p "$PG_PORT" >/dev/null
    fi
    local conf=/etc/postgresql/$version/$cluster/postgresql.conf
    # Loopback only, and enough connections for parallel test databases.
    sed -i -E "s/^#?listen_addresses\s*=.*/listen_addresses = 'localhost'/" "$conf"
    sed -i -E "s/^#?port\s*=.*/port = $PG_PORT/" "$conf"
    sed -i -E "s/^#?max_connections\s*=.*/max_connections = 300/" "$conf"
    if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
        log "starting PostgreSQL $version on 127.0.0.1:$PG_PORT"
        pg_ctlcluster "$version" "$cluster" start
    fi
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
        sleep 1
    done
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { log "PostgreSQL did not come up"; exit 1; }
    # A superuser role for the manager and the tests (the tests create and drop databases).
    su postgres -c "psql -q -p $PG_PORT -v ON_ERROR_STOP=1" <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
        CREATE ROLE "$PG_USER" LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
    ELSE
        ALTER ROLE "$PG_USER" LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
    END IF;
END
\$\$;
SQL
}

start_redis() {
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
        return
    fi
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    mkdir -p "$STATE_DIR/redis"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
        --dir "$STATE_DIR/redis" --logfile "$STATE_DIR/redis/redis.log" \
        --pidfile "$STATE_DIR/redis/redis.pid" --save '' --appendonly no
    for _ in $(seq 1 30); do
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return
        sleep 0.5
    done
    log "Redis did not come up"
    exit 1
}

etcd_healthy() {
    ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$ETCD_PORT" endpoint health >/dev/null 2>&1
}

start_etcd() {
    if etcd_healthy; then
        return
    fi
    log "starting etcd on 127.0.0.1:$ETCD_PORT"
    mkdir -p "$STATE_DIR/etcd"
    local peer_port=$((ETCD_PORT + 1))
    nohup etcd --name bai-dev --data-dir "$STATE_DIR/etcd/data" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-cluster "bai-dev=http://127.0.0.1:$peer_port" \
        >"$STATE_DIR/etcd/etcd.log" 2>&1 &
    for _ in $(seq 1 60); do
        etcd_healthy && return
        sleep 0.5
    done
    log "etcd did not come up; see $STATE_DIR/etcd/etcd.log"
    exit 1
}

install_missing_packages
start_postgres
start_redis
start_etcd
log "PostgreSQL 127.0.0.1:$PG_PORT (user $PG_USER), Redis 127.0.0.1:$REDIS_PORT, etcd 127.0.0.1:$ETCD_PORT: up"
