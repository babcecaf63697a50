import { useState } from "react";
import { api, ok } from "../../api/client";
import { useLoad } from "../../hooks";
import { ActionButton, ErrorBanner, TextField, time } from "../../components/ui";

/** Seconds without a heartbeat after which a worker is shown as silent. */
const SILENT_AFTER_MS = 30_000;

export function Workers() {
  const workers = useLoad(() => ok(api.GET("/v2/provisioners")));
  const tokens = useLoad(() => ok(api.GET("/v2/workers/tokens")));
  const [name, setName] = useState("");
  const [issued, setIssued] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const now = Date.now();
  return (
    <section>
      <h1>Workers</h1>
      <ErrorBanner error={workers.error ?? tokens.error ?? error} />
      <table className="table" data-testid="workers">
        <thead>
          <tr>
            <th>Worker</th>
            <th>Host</th>
            <th>Slots in use</th>
            <th>Last heartbeat</th>
            <th>Health</th>
          </tr>
        </thead>
        <tbody>
          {(workers.data ?? []).map((w) => (
            <tr key={w.id}>
              <td>{w.id}</td>
              <td>{w.host}</td>
              <td>
                {w.usage}/{w.capacityTotal}
              </td>
              <td>{time(w.heartbeatAt)}</td>
              <td>{now - w.heartbeatAt > SILENT_AFTER_MS ? <span className="badge status-failed">silent</span> : <span className="badge status-active">healthy</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Worker tokens</h2>
      {issued ? (
        <div className="banner notice" role="status">
          New worker token (shown once): <code>{issued}</code>
        </div>
      ) : null}
      <ul className="rows">
        {(tokens.data ?? []).map((t) => (
          <li key={t.name}>
            {t.name} <span className="muted">{t.shared ? "shared" : "tenant"} · {time(t.createdAt)}</span>{" "}
            <ActionButton
              className="danger-text"
              confirm={`Revoke ${t.name}?`}
              onError={setError}
              onRun={async () => {
                await ok(api.DELETE("/v2/workers/tokens/{name}", { params: { path: { name: t.name } } }));
                await tokens.reload();
              }}
            >
              revoke
            </ActionButton>
          </li>
        ))}
      </ul>
      <form
        className="form"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            const created = await ok(api.POST("/v2/workers/tokens", { body: { name } }));
            setIssued((created as { token?: string }).token ?? "");
            setName("");
            await tokens.reload();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <div className="grid">
          <TextField label="Token name" value={name} onChange={setName} required />
        </div>
        <button type="submit">Issue a worker token</button>
      </form>
    </section>
  );
}
