# Weft's recipes: the README and CI use these and nothing else.

set shell := ["bash", "-euo", "pipefail", "-c"]

# list the recipes
default:
    @just --list

# build and run the server (SQLite in ./weft-data, embedded workers, the bundled plugins and catalog) on 127.0.0.1:55054
[group('run')]
run *ARGS: web
    cargo build --release -p weft
    ./target/release/weft server --bundled {{ARGS}}

# from a fresh clone to a running 3-node redis cluster on local Docker (server left running)
[group('run')]
demo:
    scripts/demo.sh

# start a local Docker engine (installed if missing) and build the node image (cached)
[group('build')]
node-image:
    scripts/start-docker.sh
    scripts/build-node-image.sh

# build the web UI into web/dist (a release `weft` embeds it; a debug one reads it from disk)
[group('build')]
web:
    npm ci --prefix web --no-audit --no-fund --loglevel=error
    npm run build --prefix web

# run every test, on SQLite and on PostgreSQL (started here if needed), on Docker, and in a browser
[group('test')]
test *ARGS: web
    scripts/build-example-plugins.sh
    scripts/start-docker.sh
    scripts/build-node-image.sh
    export WEFT_TEST_DATABASE_URL="${WEFT_TEST_DATABASE_URL:-$(scripts/start-postgres.sh)}"; \
    cargo test --workspace {{ARGS}}
    cargo test --manifest-path sdk/Cargo.toml --features testing
    cargo test --manifest-path plugins/Cargo.toml --target-dir target/plugins-native -p docker-provider -p hosts-provider -p shell-automator
    just test-docker
    just test-web

# the web UI's tests: unit tests (Vitest), generated API types up to date, then Playwright on
# Debian's Chromium against a real `weft server --bundled` on Docker (needs `just node-image`)
[group('test')]
test-web: web
    npm test --prefix web
    npm run check-openapi --prefix web
    cargo build -q -p weft
    npm run e2e --prefix web

# the tests on real containers (needs `just node-image`); one at a time, they are heavy
[group('test')]
test-docker *ARGS:
    cargo test -p weft-tests --test it docker:: {{ARGS}} -- --ignored --test-threads=1

# run only the pure-library tests (no database needed)
[group('test')]
test-unit:
    cargo test -p weft-model -p weft-catalog -p weft-auth -p weft-solver -p weft-planner -p weft-expand

# build the test plugins (Rust, Python, JavaScript) and run the plugin runtime's tests
[group('test')]
test-runtime:
    scripts/build-example-plugins.sh
    cargo test -p weft-runtime -p weft-ssh -p weft-registry

# build the Python and JavaScript example plugins (needs componentize-py and `npm ci --prefix sdk/js`)
[group('build')]
examples:
    scripts/build-example-plugins.sh

# formatting and lints, warnings as errors
[group('check')]
lint:
    cargo fmt --all --check
    cargo fmt --check --manifest-path sdk/Cargo.toml
    cargo fmt --all --check --manifest-path plugins/Cargo.toml
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --manifest-path plugins/Cargo.toml --target wasm32-wasip2 --all-targets -- -D warnings
    cargo clippy --manifest-path sdk/Cargo.toml --target wasm32-wasip2 -- -D warnings
    cargo clippy --manifest-path sdk/Cargo.toml --features testing --all-targets -- -D warnings

# check the crate dependency rules of ARCHITECTURE.md
[group('check')]
check-deps:
    scripts/check-deps.sh

# exactly what CI runs
[group('check')]
ci: lint check-deps test

# format the code
[group('check')]
fmt:
    cargo fmt --all

# print the OpenAPI document
[group('build')]
openapi:
    cargo run -q -p weft -- openapi

# run the criterion benchmarks (solver, planner); copy the figures into docs/benchmarks.md
[group('bench')]
bench:
    cargo bench -p weft-solver -p weft-planner -p weft-runtime
