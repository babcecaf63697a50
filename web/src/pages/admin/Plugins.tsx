// Plugins: what each may reach (in plain words), its versions and whether it runs tasks.
import { useState } from "react";
import { api, ok, raw, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { useMe } from "../../session";
import { ActionButton, ErrorBanner, Notice, StatusBadge, time } from "../../components/ui";

type Grants = Schemas["PluginGrants"];

/** A plugin's grants as sentences an admin can approve. */
export function grantWords(g: Grants | undefined): string[] {
  if (!g) return [];
  const out: string[] = [];
  for (const h of g.http ?? []) out.push(`call the HTTP API at ${h}`);
  for (const s of g.unixSockets ?? []) out.push(`speak HTTP over the local socket ${s}${s.includes("docker") ? " (the Docker engine)" : ""}`);
  if (g.ssh) out.push("open SSH sessions to the nodes of the cluster its task belongs to (the host holds the key)");
  if (out.length === 0) out.push("nothing outside its sandbox");
  return out;
}

export function Plugins() {
  const me = useMe();
  const plugins = useLoad(() => ok(api.GET("/v2/plugins")));
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <section>
      <h1>Plugins</h1>
      <p className="muted">
        Every provider and automator is a WebAssembly component that reaches only what an admin approved.
      </p>
      <ErrorBanner error={plugins.error ?? error} />
      {notice ? <Notice>{notice}</Notice> : null}
      <div className="card">
        <label>
          Upload a component (.wasm){" "}
          <input
            type="file"
            accept=".wasm,application/wasm"
            onChange={async (e) => {
              const file = e.target.files?.[0];
              if (!file) return;
              setError(null);
              try {
                const response = await raw("POST", "/v2/plugins", await file.arrayBuffer(), "application/wasm");
                const v = (await response.json()) as Schemas["PluginVersion"];
                setNotice(`Registered ${v.name} version ${v.version}: approve its grants below before it runs.`);
                await plugins.reload();
              } catch (err) {
                setError(err);
              }
            }}
          />
        </label>
      </div>
      {(plugins.data ?? []).map((p) => (
        <article key={`${p.scope}/${p.name}`} className="card plugin" data-plugin={p.name}>
          <div className="heading">
            <h2>
              {p.name} <span className="muted">v{p.version}</span> <StatusBadge status={p.status} />
            </h2>
            <span className="muted">
              {p.kind} · {p.scope} · {(p.sizeBytes / 1024).toFixed(0)} KiB · WIT {p.witVersion}
            </span>
          </div>
          {p.description ? <p>{p.description}</p> : null}
          <h3>May</h3>
          <ul>
            {grantWords(p.approved).map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
          {JSON.stringify(p.approved) !== JSON.stringify(p.requested) ? (
            <>
              <h3>Asks for</h3>
              <ul>
                {grantWords(p.requested).map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            </>
          ) : null}
          {p.scope === "tenant" || me.superadmin ? (
            <div className="actions">
              {JSON.stringify(p.approved) !== JSON.stringify(p.requested) ? (
                <ActionButton
                  onError={setError}
                  onRun={async () => {
                    await ok(
                      api.PUT("/v2/plugins/components/{name}/{version}/grants", {
                        params: { path: { name: p.name, version: String(p.version) } },
                        body: p.requested,
                      }),
                    );
                    await plugins.reload();
                  }}
                >
                  approve what it asks for
                </ActionButton>
              ) : null}
              <ActionButton
                onError={setError}
                onRun={async () => {
                  await ok(
                    api.PUT("/v2/plugins/components/{name}/{version}/status", {
                      params: { path: { name: p.name, version: String(p.version) } },
                      body: { status: p.status === "active" ? "disabled" : "active" },
                    }),
                  );
                  await plugins.reload();
                }}
              >
                {p.status === "active" ? "disable" : p.status === "quarantined" ? "release from quarantine" : "enable"}
              </ActionButton>
            </div>
          ) : null}
          <button type="button" className="link" onClick={() => setOpen(open === p.name ? null : p.name)}>
            {open === p.name ? "hide versions" : "versions"}
          </button>
          {open === p.name ? <Versions name={p.name} /> : null}
        </article>
      ))}
    </section>
  );
}

function Versions({ name }: { name: string }) {
  const versions = useLoad(() => ok(api.GET("/v2/plugins/components/{name}", { params: { path: { name } } })), [name]);
  return (
    <table className="table compact">
      <thead>
        <tr>
          <th>Version</th>
          <th>Status</th>
          <th>Digest</th>
          <th>By</th>
          <th>At</th>
        </tr>
      </thead>
      <tbody>
        {(versions.data ?? []).map((v) => (
          <tr key={v.version}>
            <td>{v.version}</td>
            <td>
              <StatusBadge status={v.status} />
            </td>
            <td>
              <code>{v.digest.slice(0, 16)}…</code>
            </td>
            <td>{v.createdBy}</td>
            <td>{time(v.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
