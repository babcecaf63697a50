// The test provider in JavaScript: the same answers as plugins/test-plugins/test-provider, so
// the host's happy-path test runs against it unchanged.
import { failed, fields, inventory as inventoryOf, log, provider, result, spec } from "../../../sdk/js/weft-plugin.js";

export const providerApi = provider({
  describe() {
    return spec("js-provider", "creates nothing; echoes its task");
  },
  create(task) {
    log("info", "creating", { node: task.node.id });
    return result(
      { providerid: `test-${task.node.nodenum}`, task: task.id },
      { hostname: `node-${task.node.nodenum}.test` },
    );
  },
  confirm(task) {
    const id = fields(task.priorResults).providerid;
    if (id === undefined) throw failed("confirm needs the providerid that create returned");
    return result({ confirmed: id }, { ipAddresses: { bind_v4: `10.0.0.${task.node.nodenum % 250}` } });
  },
  delete() {
    return result();
  },
});

// the machines this provider holds, for the host's reconciler: none it can name
export const inventory = inventoryOf();
