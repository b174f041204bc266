#!/usr/bin/env bash
# Regenerates schema.graphql from the Rust schema (the test `gql_schema::committed_sdl_is_current`
# fails when the two differ).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet -- gql show > schema.graphql
echo "schema.graphql regenerated"
