// The tenant's catalog: a list per entity type, and forms for each (with a JSON editor for
// anything the forms do not cover). Saves go through the public API; its field errors are
// shown beside the field they name.
import { useEffect, useState, type ReactNode } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { json } from "../../api/client";
import { useLoad } from "../../hooks";
import { ActionButton, Empty, ErrorBanner, FormErrors, TextArea, TextField, errorText } from "../../components/ui";
import { HardwareTypeForm, ImageTypeForm, ProviderForm } from "./ProviderForms";
import { ServiceForm } from "./ServiceForm";
import { TemplateBuilder } from "./TemplateBuilder";

export const CATALOG_KINDS = [
  { kind: "providers", singular: "provider", plural: "Providers" },
  { kind: "hardwaretypes", singular: "hardware type", plural: "Hardware types" },
  { kind: "imagetypes", singular: "image type", plural: "Image types" },
  { kind: "services", singular: "service", plural: "Services" },
  { kind: "clustertemplates", singular: "cluster template", plural: "Cluster templates" },
  { kind: "partialtemplates", singular: "partial template", plural: "Partial templates" },
] as const;

export type Entity = Record<string, unknown> & { name?: string; description?: string | null; version?: number | null };

function kindInfo(kind: string | undefined) {
  return CATALOG_KINDS.find((k) => k.kind === kind);
}

export function CatalogList() {
  const { kind } = useParams();
  const info = kindInfo(kind);
  const list = useLoad(() => json<Entity[]>("GET", `/v2/${kind}`), [kind]);
  const [error, setError] = useState<unknown>(null);
  if (!info) return <p>No such catalog type.</p>;
  return (
    <section>
      <div className="heading">
        <h1>{info.plural}</h1>
        <Link className="button primary" to={`/admin/${kind}/new`}>
          New {info.singular}
        </Link>
      </div>
      <ErrorBanner error={list.error ?? error} />
      {list.data && list.data.length === 0 ? <Empty>None yet.</Empty> : null}
      {list.data && list.data.length > 0 ? (
        <table className="table" data-testid="catalog-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Description</th>
              <th>Version</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.map((e) => (
              <tr key={e.name}>
                <td>
                  <Link to={`/admin/${kind}/${encodeURIComponent(e.name ?? "")}`}>{e.name}</Link>
                </td>
                <td>{e.description}</td>
                <td>{e.version ?? ""}</td>
                <td>
                  <ActionButton
                    className="danger-text"
                    confirm={`Delete the ${info.singular} ${e.name}?`}
                    onError={setError}
                    onRun={async () => {
                      await json("DELETE", `/v2/${kind}/${encodeURIComponent(e.name ?? "")}`);
                      await list.reload();
                    }}
                  >
                    delete
                  </ActionButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** What every entity form gets: the stored entity (or a new one) and how to save it. */
export interface FormProps {
  entity: Entity;
  isNew: boolean;
  errors: FormErrors;
  onSave: (entity: Entity, shown: string[]) => Promise<void>;
}

export function CatalogEdit() {
  const { kind, name } = useParams();
  const info = kindInfo(kind);
  const navigate = useNavigate();
  const location = useLocation() as { state?: { saved?: string } };
  const isNew = !name;
  const stored = useLoad(
    async () => (name ? json<Entity>("GET", `/v2/${kind}/${encodeURIComponent(name)}`) : ({} as Entity)),
    [kind, name],
  );
  const [errors, setErrors] = useState(new FormErrors());
  const [asJson, setAsJson] = useState(false);
  // the name just saved: a create moves to the new entity's page and still says so
  const [savedName, setSavedName] = useState<string | null>(null);
  useEffect(() => {
    setErrors(new FormErrors());
  }, [kind, name]);
  if (!info) return <p>No such catalog type.</p>;
  if (stored.error) return <ErrorBanner error={stored.error} />;
  if (!stored.data) return <div className="loading">Loading…</div>;

  const onSave = async (entity: Entity, shown: string[]) => {
    setSavedName(null);
    try {
      const body = { ...entity };
      delete body.version;
      if (isNew) await json("POST", `/v2/${kind}`, body);
      else await json("PUT", `/v2/${kind}/${encodeURIComponent(name ?? "")}`, body);
      setErrors(new FormErrors());
      setSavedName(String(entity.name ?? ""));
      if (isNew) {
        navigate(`/admin/${kind}/${encodeURIComponent(String(entity.name ?? ""))}`, {
          state: { saved: String(entity.name ?? "") },
        });
      }
      else await stored.reload();
    } catch (e) {
      setErrors(FormErrors.from(e, shown));
    }
  };
  const props: FormProps = { entity: stored.data, isNew, errors, onSave };
  let form: ReactNode;
  if (asJson) form = <JsonForm {...props} />;
  else if (kind === "providers") form = <ProviderForm {...props} />;
  else if (kind === "hardwaretypes") form = <HardwareTypeForm {...props} />;
  else if (kind === "imagetypes") form = <ImageTypeForm {...props} />;
  else if (kind === "services") form = <ServiceForm {...props} />;
  else if (kind === "clustertemplates") form = <TemplateBuilder {...props} />;
  else form = <JsonForm {...props} />;
  return (
    <section>
      <div className="heading">
        <h1>
          {isNew ? `New ${info.singular}` : `${info.singular[0].toUpperCase()}${info.singular.slice(1)} ${name}`}
          {stored.data.version ? <span className="muted"> v{stored.data.version}</span> : null}
        </h1>
        {kind !== "partialtemplates" ? (
          <button type="button" className="link" onClick={() => setAsJson(!asJson)}>
            {asJson ? "edit with the form" : "edit as JSON"}
          </button>
        ) : null}
      </div>
      {errors.general ? (
        <div className="banner error" role="alert">
          {errorText(errors.general)}
        </div>
      ) : null}
      {name !== undefined && (savedName === name || location.state?.saved === name) ? <div className="banner notice" role="status">Saved.</div> : null}
      {form}
    </section>
  );
}

/** Any entity as its JSON (Coopr's shape). */
export function JsonForm({ entity, errors, onSave }: FormProps) {
  const [text, setText] = useState(JSON.stringify(entity, null, 2));
  const [local, setLocal] = useState<string | undefined>();
  return (
    <form
      className="form"
      onSubmit={async (e) => {
        e.preventDefault();
        let parsed: Entity;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          setLocal(`not JSON: ${err instanceof Error ? err.message : err}`);
          return;
        }
        setLocal(undefined);
        await onSave(parsed, []);
      }}
    >
      <TextArea label="JSON" value={text} onChange={setText} rows={24} error={local ?? Object.values(errors.fields)[0]} />
      <div className="actions">
        <button type="submit" className="primary">
          Save
        </button>
      </div>
    </form>
  );
}

/** Name, label and description: the fields every entity has. */
export function BaseFields({
  value,
  onChange,
  errors,
  isNew,
}: {
  value: Entity;
  onChange: (e: Entity) => void;
  errors: FormErrors;
  isNew: boolean;
}) {
  return (
    <div className="grid">
      <TextField
        label="Name"
        value={String(value.name ?? "")}
        onChange={(v) => onChange({ ...value, name: v })}
        error={errors.fields.name}
        required
        disabled={!isNew}
        path="name"
        tip={isNew ? "letters, digits, '_', '.' and '-'" : undefined}
      />
      <TextField
        label="Label"
        value={String(value.label ?? "")}
        onChange={(v) => onChange({ ...value, label: v || undefined })}
        error={errors.fields.label}
        path="label"
      />
      <TextField
        label="Description"
        value={String(value.description ?? "")}
        onChange={(v) => onChange({ ...value, description: v || undefined })}
        error={errors.fields.description}
        path="description"
      />
    </div>
  );
}

export const BASE_PATHS = ["name", "label", "description"];

export function SaveBar({ label = "Save" }: { label?: string }) {
  return (
    <div className="actions">
      <button type="submit" className="primary">
        {label}
      </button>
    </div>
  );
}
