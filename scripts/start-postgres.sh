#!/usr/bin/env bash
# Starts (installing if needed) a local PostgreSQL for the tests and prints the URL to use.
# Idempotent: safe to run when the server is already up.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "installing postgresql" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
    pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | grep -q "^$version main .* online"; then
    pg_ctlcluster "$version" main start >&2
fi
for _ in $(seq 1 30); do
    su postgres -c "psql -qtAc 'SELECT 1'" >/dev/null 2>&1 && break
    sleep 1
done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'weft'\"" | grep -q 1 ||
    su postgres -c "psql -qc \"CREATE ROLE weft LOGIN PASSWORD 'weft'\"" >&2
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'weft_test'\"" | grep -q 1 ||
    su postgres -c "createdb -O weft weft_test" >&2
echo "postgres://weft:weft@127.0.0.1:5432/weft_test"
