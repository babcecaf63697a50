"""An automator in Python: its configure action leaves a note on the node over the host's SSH,
so a Python plugin is seen at work on a real machine."""

import weft_plugin
from weft_plugin import failed, log, result, ssh_exec


class AutomatorApi(weft_plugin.Automator):
    def describe(self):
        return weft_plugin.spec("python-probe", "leaves a note on the node over SSH", ssh=True)

    def configure(self, task):
        if task.ssh_target is None:
            raise failed("the host granted no SSH target")
        code, out, err = ssh_exec(
            task.ssh_target,
            'echo "python was here on $(hostname)" > /etc/weft-python && cat /etc/weft-python')
        if code != 0:
            raise failed(f"the note was not written (exit {code}): {err}")
        log("info", out.strip())
        return result({"python-note": out.strip()})
