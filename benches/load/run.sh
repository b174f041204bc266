#!/usr/bin/env bash
# Load benchmark of the requests that ../shared/bench measured on the Python 21.03 manager:
# `GET /auth/test`, compute_session_list, user_list and agent_list (GraphQL, the superadmin
# keypair), at 1 and 32 concurrent clients, with wrk on this machine (the load tool, the
# services and the manager share the cores, as in the 21.03 figures).
#
# Seeds a fresh database `bai_bench` with the 21.03 example fixtures and bench-seed.sql, and
# Redis with bench_seed_redis.py's live statistics; starts a release build on port 8091 and
# reports req/s, p99 latency and the manager's resident memory.
#
# Usage: benches/load/run.sh [DURATION_SECONDS]   (BENCH_DATA: the bench data directory)
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${1:-20}
BENCH_DATA=${BENCH_DATA:-$(cd .. && pwd)/shared/bench}
[ -f "$BENCH_DATA/bench-seed.sql" ] || BENCH_DATA=/work/shared/bench
DB=bai_bench
PORT=8091
HOST=127.0.0.1:$PORT
AK=AKIAIOSFODNN7EXAMPLE
SK=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
WORK=$(mktemp -d)
# The runs fill the superadmin keypair's 15-minute rate-limit window; empty it afterwards.
trap 'kill "${MANAGER_PID:-}" 2>/dev/null || true; redis-cli -n 1 DEL "$AK" >/dev/null || true; rm -rf "$WORK"' EXIT
export PGPASSWORD=bai

log() { printf '[bench] %s\n' "$*" >&2; }

scripts/services.sh
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
VENV=/var/tmp/bai-bench-venv
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q msgpack; }

log "building (release)"
cargo build --release --quiet --bin bai-manager
BIN=${CARGO_TARGET_DIR:-target}/release/bai-manager

# The development config, quieter: per-request INFO logs are not what is measured.
sed -e 's/^level = "INFO"/level = "WARNING"/' configs/manager.dev.toml > "$WORK/manager.toml"
export BACKEND_DB_NAME=$DB BACKEND_SERVICE_PORT=$PORT BACKEND_NAMESPACE=bench BACKEND_PID_FILE=$WORK/manager.pid

log "seeding $DB"
psql -q -h 127.0.0.1 -U bai -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
"$BIN" -f "$WORK/manager.toml" schema oneshot >/dev/null
"$BIN" -f "$WORK/manager.toml" etcd put-json config configs/etcd.dev.json
"$BIN" -f "$WORK/manager.toml" fixture populate fixtures/example-keypairs.json >/dev/null
psql -q -h 127.0.0.1 -U bai -d $DB -f "$BENCH_DATA/bench-seed.sql" >/dev/null
# The fixture's 30,000 requests per 15 minutes would throttle a run of thousands per second.
psql -q -h 127.0.0.1 -U bai -d $DB -c "UPDATE keypairs SET rate_limit = 1000000000 WHERE access_key = '$AK'"
psql -q -h 127.0.0.1 -U bai -d $DB -c "VACUUM ANALYZE"
sed -e 's/"-U", "postgres", "-d", "backend"/"-U", "bai", "-d", "'$DB'"/' \
    "$BENCH_DATA/bench_seed_redis.py" > "$WORK/seed_redis.py"
"$VENV/bin/python" "$WORK/seed_redis.py" | tail -1 >&2

"$BIN" -f "$WORK/manager.toml" start-server &
MANAGER_PID=$!
for _ in $(seq 100); do curl -sf "http://$HOST/" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$MANAGER_PID/status"; }
log "manager up, RSS $(rss) MiB"

graphql_body() { python3 -c 'import json,sys; print(json.dumps({"query": open(sys.argv[1]).read()}))' "$1"; }

run() { # name method path body-file
    local name=$1 method=$2 path=$3 body=${4:-} content_type=application/octet-stream
    [ -n "$body" ] && content_type=application/json
    export BENCH_METHOD=$method BENCH_BODY_FILE=$body
    BENCH_HEADERS=$(python3 benches/load/sign.py "$method" "$path" "$HOST" $AK $SK $content_type)
    export BENCH_HEADERS
    for clients in 1 32; do
        local threads=$((clients < 2 ? 1 : 2))
        wrk -t$threads -c$clients -d"${DURATION}s" -s benches/load/request.lua "http://$HOST$path" \
            | awk -v n="$name" -v c="$clients" '/^RESULT/ {sub(/^RESULT /, ""); print n, "clients=" c, $0}'
    done
}

for doc in compute_session_list user_list agent_list; do
    graphql_body "$BENCH_DATA/$doc.graphql" > "$WORK/$doc.json"
done
run "auth_test" GET "/auth/test?echo=x"
run "compute_session_list" POST /admin/gql "$WORK/compute_session_list.json"
run "user_list" POST /admin/gql "$WORK/user_list.json"
run "agent_list" POST /admin/gql "$WORK/agent_list.json"
log "manager RSS after the runs: $(rss) MiB"
