// A Weft provider in JavaScript: copy this folder, rename the plugin, fill in the operations.
import { failed, fields, inventory as inventoryOf, log, provider, result, spec } from "../weft-plugin.js";

export const providerApi = provider({
  describe() {
    // needs: { httpHosts: ["https://api.example.com"] } for the endpoints an admin must grant
    return spec("my-provider", "machines from my cloud");
  },
  create(task) {
    log("info", "creating", { node: task.node.id });
    return result({ providerid: `my-${task.node.nodenum}` });
  },
  confirm(task) {
    const id = fields(task.priorResults).providerid;
    if (id === undefined) throw failed("confirm needs the providerid that create returned");
    return result({ confirmed: id }, { ipAddresses: { access_v4: "192.0.2.10" } });
  },
  delete() {
    return result();
  },
});

// the machines this provider holds, for the host's reconciler: none it can name
export const inventory = inventoryOf();
