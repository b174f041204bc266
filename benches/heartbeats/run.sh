#!/usr/bin/env bash
# Heartbeat benchmark (issue 5): how many agent heartbeats per second the manager absorbs.
#
# Starts a release manager on a fresh database `bai_heartbeats`, then `agent-sim` with
# AGENTS simulated agents (default 500) beating every INTERVAL seconds (default 0.25, i.e.
# 2,000 heartbeats/s offered; a 21.03 agent beats every 3 s), and measures over DURATION
# seconds the heartbeats the manager's consumer group read and acknowledged, what is left
# unread, and the manager's CPU time per heartbeat. Everything shares this machine's cores.
#
# Usage: benches/heartbeats/run.sh [DURATION_SECONDS]   (AGENTS=…, INTERVAL=…)
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${1:-20}
AGENTS=${AGENTS:-500}
INTERVAL=${INTERVAL:-0.25}
DB=bai_heartbeats
WORK=$(mktemp -d)
trap 'kill "${SIM_PID:-}" "${MANAGER_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export PGPASSWORD=bai
log() { printf '[bench] %s\n' "$*" >&2; }

scripts/services.sh
log "building (release)"
cargo build --release --quiet --bin bai-manager && cargo build --release --quiet -p agent-sim
BIN=${CARGO_TARGET_DIR:-target}/release

sed -e 's/^level = "INFO"/level = "WARNING"/' configs/manager.dev.toml > "$WORK/manager.toml"
export BACKEND_DB_NAME=$DB BACKEND_SERVICE_PORT=8092 BACKEND_NAMESPACE=heartbeats \
    BACKEND_PID_FILE=$WORK/manager.pid
psql -q -h 127.0.0.1 -U bai -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
"$BIN/bai-manager" -f "$WORK/manager.toml" schema oneshot >/dev/null
"$BIN/bai-manager" -f "$WORK/manager.toml" etcd put-json config configs/etcd.dev.json
"$BIN/bai-manager" -f "$WORK/manager.toml" fixture populate fixtures/example-keypairs.json >/dev/null
# A fresh stream: what earlier runs left is not this run's work.
redis-cli -n 4 DEL events >/dev/null

"$BIN/bai-manager" -f "$WORK/manager.toml" start-server &
MANAGER_PID=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:8092/ >/dev/null && break; sleep 0.1; done

"$BIN/agent-sim" --count "$AGENTS" --heartbeat-interval "$INTERVAL" >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
# Registration settles first (each agent's first heartbeat inserts its row).
for _ in $(seq 300); do
    n=$(psql -At -h 127.0.0.1 -U bai -d $DB -c "SELECT count(*) FROM agents WHERE status = 'ALIVE'")
    [ "$n" -ge "$AGENTS" ] && break
    sleep 0.2
done
log "$n agents registered"

group() { # entries-read and lag of the consumer group
    redis-cli -n 4 XINFO GROUPS events | awk '
        prev == "entries-read" {read = $0} prev == "lag" {lag = $0} {prev = $0}
        END {print read + 0, lag + 0}'
}
ticks() { awk '{print $14 + $15}' "/proc/$MANAGER_PID/stat"; }
read -r read0 _ < <(group)
cpu0=$(ticks)
sleep "$DURATION"
read -r read1 lag1 < <(group)
cpu1=$(ticks)
pending=$(redis-cli -n 4 XPENDING events manager | head -1)
hz=$(getconf CLK_TCK)
awk -v a="$AGENTS" -v i="$INTERVAL" -v d="$DURATION" -v r0="$read0" -v r1="$read1" \
    -v lag="$lag1" -v p="$pending" -v c0="$cpu0" -v c1="$cpu1" -v hz="$hz" 'BEGIN {
    n = r1 - r0
    printf "heartbeats agents=%d offered_per_s=%.0f absorbed_per_s=%.0f unread_at_end=%d unacknowledged=%d manager_cpu_ms_per_heartbeat=%.3f\n",
        a, a / i, n / d, lag, p, (n > 0 ? (c1 - c0) * 1000 / hz / n : 0)
}'
