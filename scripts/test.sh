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

# The Python side of 21.03 for the interoperability tests: msgpack, backend.ai-common and callosum from
# PyPI in a virtualenv kept between runs (rebuilt when its requirements change).
VENV=${BAI_TEST_VENV:-/var/tmp/bai-test-venv}
REQUIREMENTS="msgpack==1.0.8 backend.ai-common==21.3.14 callosum==0.9.10"
if [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$REQUIREMENTS" ]; then
    command -v python3 >/dev/null && python3 -c 'import venv' 2>/dev/null ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv >/dev/null
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install -q $REQUIREMENTS
    echo "$REQUIREMENTS" > "$VENV/.requirements"
fi
export BAI_TEST_PYTHON=$VENV/bin/python

# The 21.03 client SDK/CLI from PyPI, for the client-level tests (its own virtualenv: its pins
# clash with backend.ai-common's).
CLI_VENV=${BAI_CLI_VENV:-/var/tmp/bai-cli-venv}
CLI_CONSTRAINTS=tests/interop/client-constraints.txt
CLI_REQUIREMENTS="backend.ai-client==21.3.11 $(sha256sum "$CLI_CONSTRAINTS" | cut -c1-16)"
if [ "$(cat "$CLI_VENV/.requirements" 2>/dev/null)" != "$CLI_REQUIREMENTS" ]; then
    rm -rf "$CLI_VENV"
    python3 -m venv "$CLI_VENV"
    PIP_CONSTRAINT=$PWD/$CLI_CONSTRAINTS "$CLI_VENV/bin/pip" install -q \
        -c "$CLI_CONSTRAINTS" backend.ai-client==21.3.11
    echo "$CLI_REQUIREMENTS" > "$CLI_VENV/.requirements"
fi
export BAI_TEST_CLI_PYTHON=$CLI_VENV/bin/python

export BAI_TEST_PG_URL=${BAI_TEST_PG_URL:-postgres://bai:bai@127.0.0.1:5432}
export BAI_TEST_ETCD_ADDR=${BAI_TEST_ETCD_ADDR:-127.0.0.1:2379}
export BAI_TEST_REDIS_ADDR=${BAI_TEST_REDIS_ADDR:-127.0.0.1:6379}
cargo test --workspace --all-targets "$@"
