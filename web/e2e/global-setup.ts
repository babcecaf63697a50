// Starts a real `weft server --bundled` (SQLite in a fresh data dir, embedded workers, the
// bundled docker provider and shell automator) and makes two tenants through the API:
// `acme` (an admin and a user, worker capacity 2) and `globex` (one user).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PORT } from "../playwright.config";

export const SUPERADMIN_TOKEN = "e2e-superadmin-token-0123456789";

async function call(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`http://127.0.0.1:${PORT}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export default async function globalSetup() {
  const binary = resolve(process.env.WEFT_BIN ?? join(import.meta.dirname, "..", "..", "target", "debug", "weft"));
  if (!existsSync(binary)) throw new Error(`no weft binary at ${binary}: run \`cargo build -p weft\` first`);
  const dataDir = mkdtempSync(join(tmpdir(), "weft-e2e-"));
  const log = join(dataDir, "server.log");
  const out = openSync(log, "a");
  const server = spawn(
    binary,
    ["server", "--bundled", "--data-dir", dataDir, "--listen", `127.0.0.1:${PORT}`, "--workers", "4", "--retry-backoff-ms", "500"],
    { env: { ...process.env, WEFT_BOOTSTRAP_TOKEN: SUPERADMIN_TOKEN, RUST_LOG: "info" }, stdio: ["ignore", out, out] },
  );
  let exited: number | null = null;
  server.on("exit", (code) => (exited = code ?? -1));
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (exited !== null) throw new Error(`weft server exited (${exited}):\n${readFileSync(log, "utf8").slice(-4000)}`);
    try {
      const r = await fetch(`http://127.0.0.1:${PORT}/status`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`weft server did not start:\n${readFileSync(log, "utf8").slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }

  const su = SUPERADMIN_TOKEN;
  await call("POST", "/v2/tenants", su, { tenant: { name: "acme", workers: 2 }, bootstrap: true });
  await call("POST", "/v2/tenants", su, { tenant: { name: "globex", workers: 1 }, bootstrap: true });
  const ada = await call("POST", "/v2/tenants/acme/users", su, { name: "ada", role: "admin" });
  const uma = await call("POST", "/v2/tenants/acme/users", su, { name: "uma", role: "user" });
  const gus = await call("POST", "/v2/tenants/globex/users", su, { name: "gus", role: "user" });
  const tokens = { superadmin: su, admin: ada.token, user: uma.token, other: gus.token, dataDir, log };
  process.env.WEFT_E2E_TOKENS = JSON.stringify(tokens);

  return async () => {
    // a failed test may leave a cluster behind: delete what is left, so no container outlives the run
    try {
      for (const token of [tokens.admin, gus.token]) {
        const clusters: { id: string; status: string }[] = await call("GET", "/v2/clusters", token);
        const live = clusters.filter((c) => c.status !== "terminated");
        for (const c of live) await call("DELETE", `/v2/clusters/${c.id}`, token).catch(() => undefined);
        const until = Date.now() + 120_000;
        while (live.length && Date.now() < until) {
          const now: { id: string; status: string }[] = await call("GET", "/v2/clusters", token);
          if (now.every((c) => c.status === "terminated" || c.status === "inconsistent")) break;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    } catch (e) {
      console.error(`cleaning up clusters failed: ${e}`);
    }
    server.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 1000));
    if (exited === null) server.kill("SIGKILL");
  };
}
