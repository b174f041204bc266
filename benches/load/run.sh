#!/usr/bin/env bash
# Load benchmark of the requests that ../shared/bench measured on the Python 21.03 manager:
# `GET /auth/test`, compute_session_list, user_list and agent_list (GraphQL, the superadmin
# keypair), and two REST routes (check-presets, manager status), at 1 and 32 concurrent
# clients, with wrk on this machine (the load tool, the services and the manager share the cores,
# as in the 21.03 figures).
#
# Seeds a fresh database `bai_bench` with the 21.03 example fixtures and bench-seed.sql, and
# Redis with bench_seed_redis.py's live statistics; starts a release build on port 8091 and
# reports req/s, p99 latency and the manager's resident memory.
#
# Besides req/s and p99, each line gives the CPU time per request spent in the manager, in
# PostgreSQL and in Redis (from /proc), which varies far less between runs than throughput on
# a shared 2-core VM.
#
# Usage: benches/load/run.sh [DURATION_SECONDS]
#   BENCH_DATA: the bench data directory; BENCH_ONLY: names of the requests to run
#   (e.g. "auth_test user_list"); BENCH_CLIENTS: client counts (default "1 32").
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
# CPU ticks (user + system) used so far by the processes of a command name, with their exited
# children's (PostgreSQL backends that closed are counted in the postmaster's).
cpu_ticks() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
        awk -v n="($1)" '$2 == n {t += $14 + $15 + $16 + $17} END {print t + 0}'
}
TICKS_PER_S=$(getconf CLK_TCK)
log "manager up, RSS $(rss) MiB"

graphql_body() { python3 -c 'import json,sys; print(json.dumps({"query": open(sys.argv[1]).read()}))' "$1"; }

run() { # name method path body-file
    local name=$1 method=$2 path=$3 body=${4:-} content_type=application/octet-stream
    case " ${BENCH_ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    [ -n "$body" ] && content_type=application/json
    export BENCH_METHOD=$method BENCH_BODY_FILE=$body
    BENCH_HEADERS=$(python3 benches/load/sign.py "$method" "$path" "$HOST" $AK $SK $content_type)
    export BENCH_HEADERS
    local curl_args=(-s -o /dev/null -w '%{size_download}' -X "$method") size
    while IFS= read -r header; do curl_args+=(-H "$header"); done <<< "$BENCH_HEADERS"
    [ -n "$body" ] && curl_args+=(--data-binary "@$body")
    size=$(curl "${curl_args[@]}" "http://$HOST$path")
    for clients in ${BENCH_CLIENTS:-1 32}; do
        local threads=$((clients < 2 ? 1 : 2)) before after
        # Warm-up at the same concurrency (not measured): the pool opens its connections and
        # PostgreSQL caches its plans, as on a manager that has been serving for a while.
        wrk -t$threads -c$clients -d2s -s benches/load/request.lua "http://$HOST$path" >/dev/null
        before="$(cpu_ticks bai-manager) $(cpu_ticks postgres) $(cpu_ticks redis-server)"
        wrk -t$threads -c$clients -d"${DURATION}s" -s benches/load/request.lua "http://$HOST$path" \
            > "$WORK/wrk.out"
        after="$(cpu_ticks bai-manager) $(cpu_ticks postgres) $(cpu_ticks redis-server)"
        awk -v n="$name" -v c="$clients" -v hz="$TICKS_PER_S" -v b="$before" -v a="$after" -v size="$size" '
            /^RESULT/ {
                split(b, x); split(a, y); sub(/^RESULT /, "")
                match($0, /requests=[0-9]+/); r = substr($0, RSTART + 9, RLENGTH - 9)
                ms = 1000 / hz / (r > 0 ? r : 1)
                printf "%s clients=%s %s response_bytes=%s cpu_ms_per_req: manager=%.3f postgres=%.3f redis=%.3f\n",
                    n, c, $0, size, (y[1] - x[1]) * ms, (y[2] - x[2]) * ms, (y[3] - x[3]) * ms
            }' "$WORK/wrk.out"
    done
}

for doc in compute_session_list user_list agent_list; do
    graphql_body "$BENCH_DATA/$doc.graphql" > "$WORK/$doc.json"
done
run "auth_test" GET "/auth/test?echo=x"
run "compute_session_list" POST /admin/gql "$WORK/compute_session_list.json"
run "user_list" POST /admin/gql "$WORK/user_list.json"
run "agent_list" POST /admin/gql "$WORK/agent_list.json"
# REST: what a keypair may still allocate (its kernels, its group's, its domain's, 50 agents),
# and the manager status (counts the active sessions among 20,000 kernels).
run "check_presets" POST /resource/check-presets
run "manager_status" GET /manager/status
log "manager RSS after the runs: $(rss) MiB"
