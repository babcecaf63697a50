#!/usr/bin/env node
// Builds a Weft plugin from JavaScript: bundles the module with its imports (so helpers such as
// weft-plugin.js can live anywhere), then makes a component of the chosen world.
//
//   node WEFT/sdk/js/build.mjs --world provider app.js -o my_plugin.wasm

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { componentize } from "@bytecodealliance/componentize-js";
import { rolldown } from "rolldown";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    world: { type: "string", short: "w" },
    out: { type: "string", short: "o" },
    wit: { type: "string" },
  },
});
if (positionals.length !== 1 || !values.world || !values.out) {
  console.error("usage: build.mjs --world provider|automator SOURCE.js -o OUT.wasm [--wit DIR]");
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const wit = resolve(values.wit ?? join(here, "../../wit/weft-plugin"));

const bundle = await rolldown({
  input: resolve(positionals[0]),
  // the host's interfaces are imports of the component, not modules to bundle
  external: /^(weft|wasi):/,
});
const staging = await mkdtemp(join(tmpdir(), "weft-js-"));
try {
  const bundled = join(staging, "plugin.js");
  await bundle.write({ file: bundled, format: "esm" });
  const { component } = await componentize({
    sourcePath: bundled,
    witPath: wit,
    worldName: values.world,
  });
  await writeFile(values.out, component);
  console.log(`${values.out}: ${component.length} bytes`);
} finally {
  await rm(staging, { recursive: true, force: true });
}
