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

# build_python WORLD: plugins/examples/python-WORLD (componentize-py)
build_python() {
    local world=$1 target="$out/python_$1.wasm"
    if stale "$target" "plugins/examples/python-$world" sdk/python wit; then
        componentize-py -d wit/weft-plugin -w "$world" componentize \
            -p sdk/python -p "plugins/examples/python-$world" app -o "$target"
    fi
}
# build_javascript WORLD: plugins/examples/js-WORLD (componentize-js through sdk/js/build.mjs)
build_javascript() {
    local world=$1 target="$out/js_$1.wasm"
    if stale "$target" "plugins/examples/js-$world" sdk/js/weft-plugin.js sdk/js/build.mjs wit; then
        node sdk/js/build.mjs --world "$world" "plugins/examples/js-$world/app.js" -o "$target"
    fi
}
for world in provider automator; do
    build_python "$world"
    build_javascript "$world"
done
ls -l "$out"
