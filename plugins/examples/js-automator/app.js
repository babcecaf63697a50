// An automator in JavaScript: its configure action leaves a note on the node over the host's
// SSH, so a JavaScript plugin is seen at work on a real machine.
import { open } from "weft:plugin/ssh@0.1.0";
import { automator, failed, log, result, spec } from "../../../sdk/js/weft-plugin.js";

export const automatorApi = automator({
  describe() {
    return spec("js-probe", "leaves a note on the node over SSH", { ssh: true });
  },
  configure(task) {
    if (!task.sshTarget) throw failed("the host granted no SSH target");
    let out;
    try {
      const session = open(task.sshTarget);
      out = session.exec('echo "javascript was here on $(hostname)" > /etc/weft-js && cat /etc/weft-js');
    } catch (e) {
      throw failed(`ssh: ${JSON.stringify(e.payload ?? String(e))}`);
    }
    if (out.exitCode !== 0) throw failed(`the note was not written (exit ${out.exitCode}): ${out.stderr}`);
    log("info", out.stdout.trim());
    return result({ "js-note": out.stdout.trim() });
  },
});
