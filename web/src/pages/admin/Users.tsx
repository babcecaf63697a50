import { useState } from "react";
import { api, ok } from "../../api/client";
import { useLoad } from "../../hooks";
import { useMe } from "../../session";
import { ActionButton, ErrorBanner, FormErrors, Select, TextField, time } from "../../components/ui";

export function Users() {
  const me = useMe();
  const path = { params: { path: { tenant: me.tenant } } };
  const users = useLoad(() => ok(api.GET("/v2/tenants/{tenant}/users", path)), [me.tenant]);
  const [name, setName] = useState("");
  const [role, setRole] = useState<"user" | "admin">("user");
  const [errors, setErrors] = useState(new FormErrors());
  const [issued, setIssued] = useState<{ name: string; token: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <section>
      <h1>Users and tokens</h1>
      <ErrorBanner error={users.error ?? error} />
      {issued ? (
        <div className="banner notice" role="status" data-testid="issued-token">
          Token for <strong>{issued.name}</strong> (shown once): <code>{issued.token}</code>
        </div>
      ) : null}
      <table className="table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Since</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(users.data ?? []).map((u) => (
            <tr key={u.name}>
              <td>{u.name}</td>
              <td>{u.role}</td>
              <td>{time(u.createTime)}</td>
              <td>
                <ActionButton
                  confirm={`Issue a new token for ${u.name}? The old one stops working.`}
                  onError={setError}
                  onRun={async () => {
                    const t = await ok(
                      api.POST("/v2/tenants/{tenant}/users/{name}/token", {
                        params: { path: { tenant: me.tenant, name: u.name } },
                      }),
                    );
                    setIssued({ name: u.name, token: t.token });
                  }}
                >
                  new token
                </ActionButton>{" "}
                {u.name !== me.user ? (
                  <ActionButton
                    className="danger-text"
                    confirm={`Delete ${u.name}?`}
                    onError={setError}
                    onRun={async () => {
                      await ok(api.DELETE("/v2/tenants/{tenant}/users/{name}", { params: { path: { tenant: me.tenant, name: u.name } } }));
                      await users.reload();
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
      <form
        className="form card"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            const created = await ok(api.POST("/v2/tenants/{tenant}/users", { ...path, body: { name, role } }));
            setIssued({ name: created.name, token: created.token });
            setName("");
            setErrors(new FormErrors());
            await users.reload();
          } catch (err) {
            setErrors(FormErrors.from(err, ["name", "role"]));
          }
        }}
      >
        <h2>Add a user</h2>
        <ErrorBanner error={errors.general} />
        <div className="grid">
          <TextField label="Name" value={name} onChange={setName} error={errors.fields.name} path="name" required />
          <Select label="Role" value={role} options={["user", "admin"]} onChange={(v) => setRole(v as "user" | "admin")} error={errors.fields.role} />
        </div>
        <div className="actions">
          <button type="submit" className="primary">
            Add and issue a token
          </button>
        </div>
      </form>
    </section>
  );
}
