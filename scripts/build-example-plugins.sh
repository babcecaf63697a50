#!/usr/bin/env bash
# Builds the Python and JavaScript example plugins (plugins/examples) into
# target/plugins/examples, where the runtime's tests load them. Needs componentize-py (PyPI) and
# the npm packages of sdk/js; a missing tool is an error, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/plugins/examples
mkdir -p "$out"

command -v componentize-py >/dev/null || {
    echo "componentize-py is missing: pip install componentize-py==0.25.1" >&2
    exit 1
}
[ -x sdk/js/node_modules/.bin/componentize-js ] || {
    echo "the JavaScript toolchain is missing: npm ci --prefix sdk/js" >&2
    exit 1
}

# rebuild only when a source (or the WIT, or a helper) is newer than the component
stale() {
    local target=$1; shift
    [ ! -e "$target" ] || [ -n "$(find "$@" -newer "$target" -type f | head -1)" ]
}

if stale "$out/python_provider.wasm" plugins/examples/python-provider sdk/python wit; then
    componentize-py -d wit/weft-plugin -w provider componentize \
        -p sdk/python -p plugins/examples/python-provider app -o "$out/python_provider.wasm"
fi
if stale "$out/js_provider.wasm" plugins/examples/js-provider sdk/js/weft-plugin.js sdk/js/build.mjs wit; then
    node sdk/js/build.mjs --world provider plugins/examples/js-provider/app.js \
        -o "$out/js_provider.wasm"
fi
if stale "$out/python_automator.wasm" plugins/examples/python-automator sdk/python wit; then
    componentize-py -d wit/weft-plugin -w automator componentize \
        -p sdk/python -p plugins/examples/python-automator app -o "$out/python_automator.wasm"
fi
if stale "$out/js_automator.wasm" plugins/examples/js-automator sdk/js/weft-plugin.js sdk/js/build.mjs wit; then
    node sdk/js/build.mjs --world automator plugins/examples/js-automator/app.js \
        -o "$out/js_automator.wasm"
fi
ls -l "$out"
