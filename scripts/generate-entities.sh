#!/usr/bin/env bash
# Regenerates the SeaORM entities from a freshly migrated database and shows how they differ from
# the curated ones in entities/src/tables. Generation cannot express our curation (Rust enum
# names, ResourceSlot columns, logical keys of the key-less association tables; see
# entities/src/lib.rs), so merge the diff by hand rather than overwriting.
#
# Needs: the services of scripts/services.sh, and sea-orm-cli 2.x (`cargo install sea-orm-cli`).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL_BASE=${BAI_PG_URL_BASE:-postgres://bai:bai@127.0.0.1:5432}
db=bai_entities_codegen
out=target/entities-generated

command -v sea-orm-cli >/dev/null || cargo install sea-orm-cli --version '^2.0' --locked
psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
trap 'psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS $db"' EXIT

BACKEND_DB_ADDR=127.0.0.1:5432 BACKEND_DB_NAME=$db BACKEND_DB_USER=bai BACKEND_DB_PASSWORD=bai \
    cargo run -q -- -f configs/manager.dev.toml schema oneshot

rm -rf "$out" && mkdir -p "$out"
sea-orm-cli generate entity -u "$PG_URL_BASE/$db" -o "$out" --compact-format \
    --with-serde both --with-copy-enums --date-time-crate chrono \
    --ignore-tables seaql_migrations,alembic_version
echo "generated into $out; differences from entities/src/tables:"
diff -ru "$out" entities/src/tables || true
