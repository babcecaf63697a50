import { useState } from "react";
import { api, ok, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { ActionButton, ErrorBanner, FormErrors, TextField } from "../../components/ui";

type Tenant = Schemas["TenantSpec"];

const optNum = (v: string) => (v.trim() === "" ? null : Number(v));

function TenantForm({
  initial,
  isNew,
  onSaved,
}: {
  initial: Tenant;
  isNew: boolean;
  onSaved: (t: Tenant) => Promise<void>;
}) {
  const [t, setT] = useState(initial);
  const [bootstrap, setBootstrap] = useState(true);
  const [errors, setErrors] = useState(new FormErrors());
  const shown = [
    "tenant.name",
    "tenant.workers",
    "tenant.maxClusters",
    "tenant.maxNodes",
    "tenant.inactivityLease",
    "tenant.description",
  ];
  const e = errors.fields;
  return (
    <form
      className="form"
      data-tenant={t.name || "new"}
      onSubmit={async (ev) => {
        ev.preventDefault();
        try {
          const saved = isNew
            ? await ok(api.POST("/v2/tenants", { body: { tenant: t, bootstrap } }))
            : await ok(api.PUT("/v2/tenants/{name}", { params: { path: { name: initial.name } }, body: { tenant: t } }));
          setErrors(new FormErrors());
          await onSaved(saved);
        } catch (err) {
          setErrors(FormErrors.from(err, shown));
        }
      }}
    >
      <ErrorBanner error={errors.general} />
      <div className="grid">
        <TextField label="Name" value={t.name} onChange={(v) => setT({ ...t, name: v })} disabled={!isNew} error={e["tenant.name"]} path="tenant.name" required />
        <TextField
          label="Workers"
          type="number"
          value={String(t.workers ?? 0)}
          onChange={(v) => setT({ ...t, workers: Number(v) })}
          error={e["tenant.workers"]}
          path="tenant.workers"
          tip="task slots reserved for this tenant"
        />
        <TextField
          label="Max clusters"
          type="number"
          value={t.maxClusters?.toString() ?? ""}
          onChange={(v) => setT({ ...t, maxClusters: optNum(v) })}
          error={e["tenant.maxClusters"]}
          path="tenant.maxClusters"
          tip="empty: unlimited"
        />
        <TextField
          label="Max nodes"
          type="number"
          value={t.maxNodes?.toString() ?? ""}
          onChange={(v) => setT({ ...t, maxNodes: optNum(v) })}
          error={e["tenant.maxNodes"]}
          path="tenant.maxNodes"
          tip="empty: unlimited"
        />
        <TextField
          label="Inactivity lease (hours)"
          type="number"
          value={t.inactivityLease ? String(t.inactivityLease / 3600_000) : ""}
          onChange={(v) => setT({ ...t, inactivityLease: v.trim() ? Math.round(Number(v) * 3600_000) : null })}
          error={e["tenant.inactivityLease"]}
          path="tenant.inactivityLease"
          tip="a cluster with no job for this long is deleted; empty: never"
        />
      </div>
      {isNew ? (
        <label className="check">
          <input type="checkbox" checked={bootstrap} onChange={(ev) => setBootstrap(ev.target.checked)} /> start with the
          bundled catalog
        </label>
      ) : null}
      <div className="actions">
        <button type="submit" className="primary">
          {isNew ? "Create tenant" : "Save"}
        </button>
      </div>
    </form>
  );
}

export function Tenants() {
  const tenants = useLoad(() => ok(api.GET("/v2/tenants")));
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <section>
      <h1>Tenants</h1>
      <ErrorBanner error={tenants.error ?? error} />
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Workers</th>
            <th>Max clusters</th>
            <th>Max nodes</th>
            <th>Inactivity lease</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(tenants.data ?? []).map((t) => (
            <tr key={t.name}>
              <td>{t.name}</td>
              <td>{t.workers}</td>
              <td>{t.maxClusters ?? "∞"}</td>
              <td>{t.maxNodes ?? "∞"}</td>
              <td>{t.inactivityLease ? `${t.inactivityLease / 3600_000} h` : "none"}</td>
              <td>
                <button type="button" className="link" onClick={() => setEditing(editing === t.name ? null : t.name)}>
                  edit
                </button>{" "}
                {t.name !== "superadmin" ? (
                  <ActionButton
                    className="danger-text"
                    confirm={`Delete the tenant ${t.name}?`}
                    onError={setError}
                    onRun={async () => {
                      await ok(api.DELETE("/v2/tenants/{name}", { params: { path: { name: t.name } } }));
                      await tenants.reload();
                    }}
                  >
                    delete
                  </ActionButton>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {editing ? (
        <div className="card">
          <h2>Edit {editing}</h2>
          <TenantForm
            key={editing}
            initial={(tenants.data ?? []).find((t) => t.name === editing) ?? { name: editing, workers: 0 }}
            isNew={false}
            onSaved={async () => {
              setEditing(null);
              await tenants.reload();
            }}
          />
        </div>
      ) : null}
      <div className="card">
        <h2>New tenant</h2>
        <TenantForm initial={{ name: "", workers: 2 }} isNew onSaved={() => tenants.reload()} />
      </div>
    </section>
  );
}
