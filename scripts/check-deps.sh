#!/usr/bin/env bash
# Checks the dependency rules written in ARCHITECTURE.md: a crate's normal dependency tree must
# not contain the packages forbidden to it.
set -euo pipefail
cd "$(dirname "$0")/.."
failed=0
forbid() {
    local crate=$1; shift
    local tree
    tree=$(cargo tree -e normal -p "$crate" --prefix none --format '{p}' --quiet | awk '{print $1}' | sort -u)
    for dep in "$@"; do
        if grep -qx "$dep" <<<"$tree"; then
            echo "forbidden dependency: $crate depends on $dep" >&2
            failed=1
        fi
    done
}
# pure crates: no async runtime, database, HTTP server or client
for pure in weft-model weft-catalog weft-auth weft-solver weft-planner weft-expand weft-grants weft-vault; do
    forbid "$pure" tokio sqlx axum reqwest
done
# the store knows nothing about HTTP
forbid weft-store axum reqwest
# the API serves HTTP but is no HTTP client, and runs no wasm
forbid weft-api reqwest wasmtime
# the plugin runtime knows nothing about the database or the HTTP API
forbid weft-runtime sqlx axum weft-store weft-api
# registration inspects components; it stores nothing and serves nothing
forbid weft-registry sqlx axum weft-store weft-api
# SSH is a client library: no database, no HTTP, no wasm
forbid weft-ssh sqlx axum reqwest wasmtime
# the engine works on the store; it serves no HTTP and runs no wasm
forbid weft-engine axum reqwest wasmtime
# webhooks are an HTTP client of the store's outbox: no server, no wasm
forbid weft-webhooks axum wasmtime
# the UI's files: served over HTTP, nothing else
forbid weft-web sqlx reqwest wasmtime weft-store weft-engine
# a worker runs plugins; it serves no HTTP
forbid weft-worker axum
if [ "$failed" = 0 ]; then echo "dependency rules hold"; fi
exit "$failed"
