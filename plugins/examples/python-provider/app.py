"""The test provider in Python: the same answers as plugins/test-plugins/test-provider, so the
host's happy-path test runs against it unchanged."""

import weft_plugin
from weft_plugin import failed, fields, log, result


# the machines this provider holds, for the host's reconciler: none it can name
Inventory = weft_plugin.Inventory


class ProviderApi(weft_plugin.Provider):
    def describe(self):
        return weft_plugin.spec("python-provider", "creates nothing; echoes its task")

    def create(self, task):
        log("info", "creating", node=task.node.id)
        results = {"providerid": f"test-{task.node.nodenum}", "task": task.id}
        # with an `endpoint` provider field, register the node there (exercises wasi:http)
        endpoint = fields(task.provider_fields).get("endpoint")
        if endpoint is not None:
            try:
                status, _, body = weft_plugin.http("POST", endpoint, body=task.node.id.encode())
            except weft_plugin.HttpError as error:
                raise failed(str(error))
            results["registered"] = f"{status} {body.decode()}"
        return result(results, hostname=f"node-{task.node.nodenum}.test")

    def confirm(self, task):
        provider_id = fields(task.prior_results).get("providerid")
        if provider_id is None:
            raise failed("confirm needs the providerid that create returned")
        return result({"confirmed": provider_id},
                      ip_addresses={"bind_v4": f"10.0.0.{task.node.nodenum % 250}"})

    def delete(self, task):
        return result()
