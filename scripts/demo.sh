#!/usr/bin/env bash
# From a fresh clone to a running 3-node redis cluster on local Docker:
#   1. start Docker (installed if missing) and build Weft's node image (cached),
#   2. build weft and start `weft server --bundled` (docker provider, shell automator and the
#      bundled catalog loaded; SQLite in ./weft-data) unless a server already answers,
#   3. make a tenant `demo` with the bundled catalog, 4 workers and an admin `dev`,
#   4. create `redis-replicated` with 3 nodes and follow it with a progress bar per stage.
# The server keeps running (log: weft-server.log); the web UI and API are on 127.0.0.1:55054.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${WEFT_DATA_DIR:-./weft-data}
SERVER=${WEFT_SERVER:-http://127.0.0.1:55054}
WEFT=./target/release/weft

scripts/start-docker.sh
scripts/build-node-image.sh
just web
cargo build --release -q -p weft

if ! curl -sf "$SERVER/status" >/dev/null; then
    echo "starting weft server --bundled (log: weft-server.log)" >&2
    nohup "$WEFT" server --bundled --data-dir "$DATA" >weft-server.log 2>&1 &
    for _ in $(seq 1 60); do
        curl -sf "$SERVER/status" >/dev/null && break
        sleep 0.5
    done
fi
curl -sf "$SERVER/status" >/dev/null || { echo "the server did not start; see weft-server.log" >&2; exit 1; }

SUPER=$(cat "$DATA/superadmin.token")
call() { curl -sS -H "Authorization: Bearer $SUPER" -H 'content-type: application/json' "$@"; }
if [ ! -s "$DATA/demo.token" ]; then
    call -X POST -d '{"tenant": {"name": "demo", "workers": 4}, "bootstrap": true}' "$SERVER/v2/tenants" >/dev/null
    call -X POST -d '{"name": "dev", "role": "admin"}' "$SERVER/v2/tenants/demo/users" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' >"$DATA/demo.token"
    chmod 600 "$DATA/demo.token"
fi
echo "tenant demo, user dev: token in $DATA/demo.token" >&2
"$WEFT" cluster create --server "$SERVER" --token-file "$DATA/demo.token" \
    --template redis-replicated --size 3 --name demo-redis --wait
"$WEFT" cluster list --server "$SERVER" --token-file "$DATA/demo.token"
