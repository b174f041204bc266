#!/usr/bin/env bash
# README command (b): install and start the services the tests need (PostgreSQL, Redis, etcd on
# loopback), then run every test of the workspace. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || {
    echo "cargo is missing: install the Rust toolchain (https://rustup.rs) first" >&2
    exit 1
}
scripts/services.sh

export BAI_TEST_PG_URL=${BAI_TEST_PG_URL:-postgres://bai:bai@127.0.0.1:5432}
export BAI_TEST_ETCD_ADDR=${BAI_TEST_ETCD_ADDR:-127.0.0.1:2379}
export BAI_TEST_REDIS_ADDR=${BAI_TEST_REDIS_ADDR:-127.0.0.1:6379}
cargo test --workspace --all-targets "$@"
