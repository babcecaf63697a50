"""A Weft provider in Python: copy this folder, rename the plugin, fill in the operations."""

import weft_plugin
from weft_plugin import failed, fields, log, result


# the machines this provider holds, for the host's reconciler: none it can name
Inventory = weft_plugin.Inventory


class ProviderApi(weft_plugin.Provider):
    def describe(self):
        # http_hosts: the endpoints an admin must grant, e.g. ["https://api.example.com"]
        return weft_plugin.spec("my-provider", "machines from my cloud")

    def create(self, task):
        log("info", "creating", node=task.node.id)
        return result({"providerid": f"my-{task.node.nodenum}"})

    def confirm(self, task):
        provider_id = fields(task.prior_results).get("providerid")
        if provider_id is None:
            raise failed("confirm needs the providerid that create returned")
        return result({"confirmed": provider_id}, ip_addresses={"access_v4": "192.0.2.10"})

    def delete(self, task):
        return result()
