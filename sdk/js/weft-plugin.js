// Helpers for Weft plugins written in JavaScript (componentize-js). A provider module exports
// `providerApi` and `inventory` (the machines it holds, for the host's reconciler); an
// automator module `automatorApi`:
//
//   import { provider, inventory as inventoryOf, result, failed, log } from "./weft-plugin.js";
//   export const providerApi = provider({ describe() {...}, create(task) {...} });
//   export const inventory = inventoryOf({ list(task) { return [machine(id, tags)]; } });
//
// Build: componentize-js --wit WEFT/wit/weft-plugin --world-name provider -o plugin.wasm app.js
// (JavaScript's `fetch` goes through wasi:http: the host checks every request against the
// task's grant.)

import { log as hostLog } from "weft:plugin/log@0.1.0";

/** A plugin error: `throw failed("...")` fails the task without a retry. */
export const failed = (message) => ({ tag: "failed", val: message });
/** Worth retrying: a timeout, a machine not up yet. */
export const transient = (message) => ({ tag: "transient", val: message });
export const unsupported = (operation) => ({
  tag: "unsupported",
  val: `this plugin does not implement ${operation}`,
});

/** A type spec with no fields; `needs` lists what an admin must grant. */
export function spec(name, description, needs = {}) {
  const empty = () => ({ fields: [], required: [] });
  return {
    name,
    description,
    admin: empty(),
    user: empty(),
    resourceTypes: [],
    needs: {
      httpHosts: needs.httpHosts ?? [],
      unixSockets: needs.unixSockets ?? [],
      ssh: needs.ssh ?? false,
    },
  };
}

/** Key-value lists (prior results, provider and action fields) as an object. */
export const fields = (pairs) => Object.fromEntries(pairs.map(({ key, value }) => [key, value]));

const pairs = (object) => Object.entries(object ?? {}).map(([key, value]) => ({ key, value: String(value) }));

/** A task result: results for later tasks, and what a provider learns about the node. */
export function result(results = {}, { hostname, ipAddresses } = {}) {
  return { results: pairs(results), hostname, ipAddresses: pairs(ipAddresses) };
}

/** `log("info", "creating", { node: task.node.id })`: a line in the task's log. */
export function log(level, message, extra = {}) {
  hostLog(level, message, Object.entries(extra).map(([k, v]) => [k, String(v)]));
}

function withDefaults(operations, implementation) {
  const plugin = { validate() {} };
  for (const operation of operations) {
    plugin[operation] = () => {
      throw unsupported(operation);
    };
  }
  return Object.assign(plugin, implementation);
}

/** A provider: what it does not implement answers `unsupported`. */
export const provider = (implementation) =>
  withDefaults(["create", "confirm", "delete"], implementation);

/**
 * A provider's inventory: `list(task)` answers every machine the account holds for the task's
 * `weft-tenant` and `weft-cluster` tags, each `machine(id, tags)`. Without `list` it answers
 * `unsupported`, and the host's reconciler leaves the provider alone.
 */
export const inventory = (implementation = {}) => withDefaults(["list"], implementation);

/** A machine of an inventory: its provider id (CREATE's `providerid`) and Weft's tags. */
export const machine = (id, tags) => ({ id, tags: pairs(tags) });

/** An automator: what it does not implement answers `unsupported`. */
export const automator = (implementation) =>
  withDefaults(
    ["bootstrap", "install", "configure", "initialize", "start", "stop", "remove"],
    implementation,
  );
