#!/usr/bin/env bash
# Starts (installing if needed) a local Docker engine for the tests and the demo.
# Idempotent: does nothing when the engine already answers.
set -euo pipefail
if docker info >/dev/null 2>&1; then
    exit 0
fi
if ! command -v dockerd >/dev/null; then
    echo "installing docker.io" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
fi
if ! command -v docker >/dev/null; then
    echo "docker.io installed no docker client" >&2
    exit 1
fi
echo "starting dockerd (log: /tmp/weft-dockerd.log)" >&2
nohup dockerd >/tmp/weft-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && exit 0
    sleep 1
done
echo "dockerd did not start; its log:" >&2
tail -n 30 /tmp/weft-dockerd.log >&2
exit 1
