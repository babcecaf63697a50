// Plugin resources (Coopr's scripts, archives, keys...): upload, stage, recall, sync.
import { useState } from "react";
import { api, json, ok, raw, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { ActionButton, Empty, ErrorBanner, Notice, Select, StatusBadge, TextField } from "../../components/ui";

type Meta = Schemas["ResourceMeta"];

export function Resources() {
  const providers = useLoad(() => ok(api.GET("/v2/plugins/providertypes")));
  const automators = useLoad(() => ok(api.GET("/v2/plugins/automatortypes")));
  const [kind, setKind] = useState<"providertypes" | "automatortypes">("automatortypes");
  const [plugin, setPlugin] = useState("");
  const [type, setType] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const specs = (kind === "providertypes" ? providers.data : automators.data) ?? [];
  const spec = specs.find((s) => s.name === plugin);
  const types = Object.keys(spec?.resourceTypes ?? {});
  const base = plugin && type ? `/v2/plugins/${kind}/${encodeURIComponent(plugin)}/${encodeURIComponent(type)}` : "";
  const listed = useLoad(
    async (): Promise<Record<string, Meta[]>> => (base ? json<Record<string, Meta[]>>("GET", base) : {}),
    [base],
  );
  const [name, setName] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const act = async (what: string, call: () => Promise<unknown>) => {
    setError(null);
    try {
      await call();
      setNotice(what);
      await listed.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section>
      <h1>Plugin resources</h1>
      <p className="muted">
        Files a plugin type uses on nodes (scripts, archives, keys). An upload is inactive; stage it, then sync to make
        it live for new tasks. Recall takes a live version out at the next sync.
      </p>
      <ErrorBanner error={error ?? listed.error} />
      {notice ? <Notice>{notice}</Notice> : null}
      <div className="grid">
        <Select
          label="Plugin kind"
          value={kind}
          options={["automatortypes", "providertypes"]}
          onChange={(v) => {
            setKind(v as typeof kind);
            setPlugin("");
            setType("");
          }}
        />
        <Select label="Plugin type" value={plugin} options={specs.map((s) => s.name)} onChange={(v) => { setPlugin(v); setType(""); }} empty="choose…" />
        <Select label="Resource type" value={type} options={types} onChange={setType} empty={types.length ? "choose…" : "none declared"} />
      </div>
      <ActionButton onError={setError} onRun={() => act("Synced: live sets updated", () => json("POST", "/v2/plugins/sync"))}>
        Sync
      </ActionButton>
      {base ? (
        <>
          <form
            className="form card"
            onSubmit={async (e) => {
              e.preventDefault();
              if (!file) return;
              await act(`Uploaded ${name}`, async () =>
                raw("POST", `${base}/${encodeURIComponent(name)}`, await file.arrayBuffer(), "application/octet-stream"),
              );
            }}
          >
            <div className="grid">
              <TextField label="Resource name" value={name} onChange={setName} required />
              <label>
                File <input type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
              </label>
            </div>
            <div className="actions">
              <button type="submit" disabled={!name || !file}>
                Upload
              </button>
            </div>
          </form>
          {Object.keys(listed.data ?? {}).length === 0 ? <Empty>No resources of this type.</Empty> : null}
          <table className="table compact">
            <tbody>
              {Object.entries(listed.data ?? {}).flatMap(([rname, versions]) =>
                versions.map((v) => (
                  <tr key={`${rname}/${v.version}`}>
                    <td>{rname}</td>
                    <td>v{v.version}</td>
                    <td>
                      <StatusBadge status={v.status} />
                    </td>
                    <td>
                      {(["stage", "recall"] as const).map((a) => (
                        <ActionButton
                          key={a}
                          onError={setError}
                          onRun={() =>
                            act(`${a} ${rname} v${v.version}`, () =>
                              json("POST", `${base}/${encodeURIComponent(rname)}/versions/${v.version}/${a}`),
                            )
                          }
                        >
                          {a}
                        </ActionButton>
                      ))}
                    </td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
