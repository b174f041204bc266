#!/usr/bin/env bash
# README command (a): on a fresh Debian machine (as root), install and start PostgreSQL, Redis
# and etcd on loopback, build bai-manager, create the database and its schema, write the etcd
# defaults, load the example fixtures, and start the manager in the foreground.
# Idempotent: what exists is kept (existing rows, existing etcd configuration).
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG=${BAI_CONFIG:-configs/manager.dev.toml}
DB_NAME=${BAI_DB_NAME:-backend}

command -v cargo >/dev/null || {
    echo "cargo is missing: install the Rust toolchain (https://rustup.rs) first" >&2
    exit 1
}
scripts/services.sh

echo "[dev-up] building bai-manager (release)" >&2
cargo build --release --quiet --bin bai-manager
BIN=${CARGO_TARGET_DIR:-target}/release/bai-manager

if ! PGPASSWORD=${BAI_PG_PASSWORD:-bai} psql -h 127.0.0.1 -U "${BAI_PG_USER:-bai}" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
    PGPASSWORD=${BAI_PG_PASSWORD:-bai} psql -q -h 127.0.0.1 -U "${BAI_PG_USER:-bai}" -d postgres \
        -c "CREATE DATABASE \"$DB_NAME\""
fi
export BACKEND_DB_NAME=$DB_NAME

"$BIN" -f "$CONFIG" schema migrate
if [ "$("$BIN" -f "$CONFIG" etcd get --prefix config/)" = "{}" ]; then
    "$BIN" -f "$CONFIG" etcd put-json config configs/etcd.dev.json
fi
"$BIN" -f "$CONFIG" fixture populate fixtures/example-keypairs.json
"$BIN" -f "$CONFIG" fixture populate fixtures/example-resource-presets.json

cat <<INFO
==========================================================================
 bai-manager is starting on http://127.0.0.1:8081 (API v6.20210815)
 Example superadmin keypair (from fixtures/example-keypairs.json):
   BACKEND_ACCESS_KEY=AKIAIOSFODNN7EXAMPLE
   BACKEND_SECRET_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
 Example superadmin login: admin@lablup.com / wJalrXUt (domain "default")
==========================================================================
INFO
exec "$BIN" -f "$CONFIG" start-server
