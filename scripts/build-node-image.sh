#!/usr/bin/env bash
# Builds Weft's node image `weft-node:bookworm` for the docker provider: Debian 12 (minbase,
# by debootstrap from Debian's archive, since no image registry is used) with sshd and what the
# bundled services run (redis, nginx). Cached: rebuilt only when this recipe changes.
set -euo pipefail
IMAGE=${WEFT_NODE_IMAGE:-weft-node:bookworm}
PACKAGES=openssh-server,redis-server,redis-tools,nginx-light,curl,ca-certificates
recipe=$( { cat "$0"; echo "$PACKAGES"; } | sha256sum | cut -c1-16)

if [ "$(docker image inspect -f '{{index .Config.Labels "io.weft.recipe"}}' "$IMAGE" 2>/dev/null || true)" = "$recipe" ]; then
    echo "$IMAGE is up to date (recipe $recipe)" >&2
    exit 0
fi
if ! command -v debootstrap >/dev/null; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
fi
root=$(mktemp -d /tmp/weft-node-image.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "building $IMAGE with debootstrap (about two minutes)" >&2
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$root" >/tmp/weft-node-image.log 2>&1 || {
    tail -n 30 /tmp/weft-node-image.log >&2
    exit 1
}
# every container makes host keys of its own on first start
rm -f "$root"/etc/ssh/ssh_host_*
# nothing of the build's apt caches in the image
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
    -c "LABEL io.weft.recipe=$recipe" \
    -c 'CMD ["/usr/sbin/sshd", "-D", "-e"]' \
    - "$IMAGE" >/dev/null
echo "built $IMAGE (recipe $recipe)" >&2
