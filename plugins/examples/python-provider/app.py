"""The test provider in Python: the same answers as plugins/test-plugins/test-provider, so the
host's happy-path test runs against it unchanged."""

import weft_plugin
from weft_plugin import failed, fields, log, result


class ProviderApi(weft_plugin.Provider):
    def describe(self):
        return weft_plugin.spec("python-provider", "creates nothing; echoes its task")

    def create(self, task):
        log("info", "creating", node=task.node.id)
        return result(
            {"providerid": f"test-{task.node.nodenum}", "task": task.id},
            hostname=f"node-{task.node.nodenum}.test",
        )

    def confirm(self, task):
        provider_id = fields(task.prior_results).get("providerid")
        if provider_id is None:
            raise failed("confirm needs the providerid that create returned")
        return result({"confirmed": provider_id},
                      ip_addresses={"bind_v4": f"10.0.0.{task.node.nodenum % 250}"})

    def delete(self, task):
        return result()
