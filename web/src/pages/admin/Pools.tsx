// Pools of existing machines for the `hosts` provider. The login key is write-only: the API
// shows its public half, and an update without a key keeps the stored one.
import { useState } from "react";
import { api, ok, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { ActionButton, Empty, ErrorBanner, FormErrors, TextArea, TextField } from "../../components/ui";

type Pool = Schemas["PoolSpec"];
type Machine = Schemas["PoolMachine"];

function PoolForm({ initial, onSaved }: { initial: Pool | null; onSaved: () => Promise<void> }) {
  const isNew = initial === null;
  const [name, setName] = useState(initial?.name ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [user, setUser] = useState(initial?.user ?? "root");
  const [cleanup, setCleanup] = useState(initial?.cleanup ?? "");
  const [privateKey, setPrivateKey] = useState("");
  const [machines, setMachines] = useState<Machine[]>(initial?.machines ?? [{ name: "", address: "", hostKey: "" }]);
  const [errors, setErrors] = useState(new FormErrors());
  const shown = [
    "name",
    "description",
    "user",
    "privateKey",
    "cleanup",
    "machines",
    ...machines.flatMap((_, i) => [`machines[${i}]`, `machines[${i}].name`, `machines[${i}].address`, `machines[${i}].hostKey`]),
  ];
  const e = errors.fields;
  const setMachine = (i: number, patch: Partial<Machine>) =>
    setMachines(machines.map((m, j) => (j === i ? { ...m, ...patch } : m)));
  return (
    <form
      className="form"
      data-pool={initial?.name ?? "new"}
      onSubmit={async (ev) => {
        ev.preventDefault();
        const body: Schemas["PoolRequest"] = { name, description, user, machines, cleanup: cleanup || null };
        if (privateKey.trim()) body.privateKey = privateKey;
        try {
          if (isNew) await ok(api.POST("/v2/pools", { body }));
          else await ok(api.PUT("/v2/pools/{name}", { params: { path: { name } }, body }));
          setErrors(new FormErrors());
          setPrivateKey("");
          await onSaved();
        } catch (err) {
          setErrors(FormErrors.from(err, shown));
        }
      }}
    >
      <ErrorBanner error={errors.general} />
      <div className="grid">
        <TextField label="Name" value={name} onChange={setName} disabled={!isNew} error={e.name} path="name" required />
        <TextField label="Description" value={description} onChange={setDescription} error={e.description} path="description" />
        <TextField label="Login user" value={user} onChange={setUser} error={e.user} path="user" tip="image types used with the pool should name it as sshuser" />
      </div>
      <TextArea
        label="Login private key (OpenSSH)"
        value={privateKey}
        onChange={setPrivateKey}
        error={e.privateKey}
        path="privateKey"
        rows={4}
        tip={isNew ? "stored encrypted; never shown again" : "stored; leave empty to keep it"}
      />
      <TextField label="Cleanup command" value={cleanup} onChange={setCleanup} error={e.cleanup} path="cleanup" tip="run on a machine when its node is deleted" />
      <h3>Machines</h3>
      {e.machines ? <div className="field-error">{e.machines}</div> : null}
      {machines.map((m, i) => (
        <fieldset key={i} className="provider-row">
          <legend>machine {i + 1}</legend>
          <div className="grid">
            <TextField label="Name" value={m.name} onChange={(v) => setMachine(i, { name: v })} error={e[`machines[${i}].name`] ?? e[`machines[${i}]`]} path={`machines[${i}].name`} />
            <TextField label="Address (host:port)" value={m.address} onChange={(v) => setMachine(i, { address: v })} error={e[`machines[${i}].address`]} path={`machines[${i}].address`} />
            <TextField label="Host key" value={m.hostKey} onChange={(v) => setMachine(i, { hostKey: v })} error={e[`machines[${i}].hostKey`]} path={`machines[${i}].hostKey`} tip="ssh-ed25519 AAAA…, pinned on every connection" />
          </div>
          <button type="button" className="link" onClick={() => setMachines(machines.filter((_, j) => j !== i))}>
            remove this machine
          </button>
        </fieldset>
      ))}
      <button type="button" onClick={() => setMachines([...machines, { name: "", address: "", hostKey: "" }])}>
        add a machine
      </button>
      <div className="actions">
        <button type="submit" className="primary">
          {isNew ? "Create pool" : "Save"}
        </button>
      </div>
    </form>
  );
}

export function Pools() {
  const pools = useLoad(() => ok(api.GET("/v2/pools")));
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <section>
      <h1>Machine pools</h1>
      <p className="muted">
        Existing machines the <code>hosts</code> provider hands to clusters, one node per machine. A provider of type{" "}
        <code>hosts</code> names its pool in its <code>pool</code> field.
      </p>
      <ErrorBanner error={pools.error ?? error} />
      {pools.data && pools.data.length === 0 ? <Empty>No pools.</Empty> : null}
      {(pools.data ?? []).map((p) => (
        <article key={p.name} className="card">
          <div className="heading">
            <h2>
              {p.name} <span className="muted">{p.machines.length} machines · login {p.user}</span>
            </h2>
            <span>
              <button type="button" className="link" onClick={() => setEditing(editing === p.name ? null : p.name)}>
                {editing === p.name ? "close" : "edit"}
              </button>
              <ActionButton
                className="danger-text"
                confirm={`Delete the pool ${p.name}? Its machines are left as they are.`}
                onError={setError}
                onRun={async () => {
                  await ok(api.DELETE("/v2/pools/{name}", { params: { path: { name: p.name } } }));
                  await pools.reload();
                }}
              >
                delete
              </ActionButton>
            </span>
          </div>
          {p.description ? <p>{p.description}</p> : null}
          <p className="small">
            Authorise this public key for <code>{p.user}</code> on each machine: <code>{p.publicKey}</code>
          </p>
          <ul className="rows">
            {p.machines.map((m) => (
              <li key={m.name}>
                {m.name} <span className="muted">{m.address}</span>
              </li>
            ))}
          </ul>
          {editing === p.name ? (
            <PoolForm
              initial={p}
              onSaved={async () => {
                setEditing(null);
                await pools.reload();
              }}
            />
          ) : null}
        </article>
      ))}
      <div className="card">
        <h2>New pool</h2>
        <PoolForm key={pools.data?.length ?? 0} initial={null} onSaved={() => pools.reload()} />
      </div>
    </section>
  );
}
