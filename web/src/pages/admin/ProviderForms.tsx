// Providers (admin fields generated from the provider type's schema), and hardware and image
// types (one row of values per provider).
import { useMemo, useState } from "react";
import { api, ok } from "../../api/client";
import { useLoad } from "../../hooks";
import { fieldPayload, formFields, initialValues, missingFields, type FieldValues } from "../../lib/schemaForm";
import { SchemaFields } from "../../components/SchemaFields";
import { FormErrors, Select, TextField } from "../../components/ui";
import { BASE_PATHS, BaseFields, SaveBar, type Entity, type FormProps } from "./Catalog";

export function ProviderForm({ entity, isNew, errors, onSave }: FormProps) {
  const [value, setValue] = useState<Entity>(entity);
  const types = useLoad(() => ok(api.GET("/v2/plugins/providertypes")));
  const typeName = String(value.providertype ?? "");
  const spec = (types.data ?? []).find((t) => t.name === typeName);
  const fields = useMemo(() => formFields(spec, "admin"), [spec]);
  const [values, setValues] = useState<FieldValues | null>(null);
  const [local, setLocal] = useState<FormErrors | null>(null);
  const current = values ?? initialValues(fields, (entity.provisioner as Record<string, unknown>) ?? {});
  const shown = [...BASE_PATHS, "providertype", ...fields.map((f) => `provisioner.${f.key}`)];
  const shownErrors = local ?? errors;
  return (
    <form
      className="form"
      onSubmit={async (e) => {
        e.preventDefault();
        const missing = missingFields(current, spec?.parameters?.admin?.required);
        if (missing.length) {
          setLocal(FormErrors.local(Object.fromEntries(missing.map((k) => [`provisioner.${k}`, "required by the provider type"]))));
          return;
        }
        setLocal(null);
        await onSave({ ...value, provisioner: fieldPayload(fields, current) }, shown);
      }}
    >
      <BaseFields value={value} onChange={setValue} errors={shownErrors} isNew={isNew} />
      <Select
        label="Provider type"
        value={typeName}
        options={(types.data ?? []).map((t) => t.name)}
        onChange={(v) => {
          setValue({ ...value, providertype: v });
          setValues(null);
        }}
        empty="choose…"
        error={shownErrors.fields.providertype}
        path="providertype"
      />
      {spec ? (
        <>
          <h3>{spec.label || spec.name} settings</h3>
          <SchemaFields fields={fields} values={current} onChange={setValues} errors={shownErrors.fields} prefix="provisioner" />
        </>
      ) : null}
      <SaveBar />
    </form>
  );
}

/** Hardware and image types: per provider, the values that provider needs. */
function ProviderMapForm({
  entity,
  isNew,
  errors,
  onSave,
  keys,
}: FormProps & { keys: { key: string; label: string; tip: string }[] }) {
  const [value, setValue] = useState<Entity>(entity);
  const providers = useLoad(() => ok(api.GET("/v2/providers")));
  const map = (value.providermap as Record<string, Record<string, string>>) ?? {};
  const names = [...new Set([...(providers.data ?? []).map((p) => p.name), ...Object.keys(map)])];
  const shown = [...BASE_PATHS, "providermap", ...names.flatMap((p) => [`providermap.${p}`, ...keys.map((k) => `providermap.${p}.${k.key}`)])];
  const set = (provider: string, key: string, v: string) => {
    const row = { ...(map[provider] ?? {}), [key]: v };
    if (!v) delete row[key];
    const next = { ...map, [provider]: row };
    if (Object.keys(row).length === 0) delete next[provider];
    setValue({ ...value, providermap: next });
  };
  return (
    <form
      className="form"
      onSubmit={async (e) => {
        e.preventDefault();
        await onSave(value, shown);
      }}
    >
      <BaseFields value={value} onChange={setValue} errors={errors} isNew={isNew} />
      <h3>Per provider</h3>
      {errors.fields.providermap ? (
        <div className="field-error" role="alert">
          {errors.fields.providermap}
        </div>
      ) : null}
      {names.length === 0 ? <p className="muted">Define a provider first.</p> : null}
      {names.map((p) => (
        <fieldset key={p} className="provider-row" data-provider={p}>
          <legend>{p}</legend>
          <div className="grid">
            {keys.map((k) => (
              <TextField
                key={k.key}
                label={k.label}
                tip={k.tip}
                value={map[p]?.[k.key] ?? ""}
                onChange={(v) => set(p, k.key, v)}
                error={errors.fields[`providermap.${p}.${k.key}`] ?? (k === keys[0] ? errors.fields[`providermap.${p}`] : undefined)}
                path={`providermap.${p}.${k.key}`}
              />
            ))}
          </div>
        </fieldset>
      ))}
      <SaveBar />
    </form>
  );
}

export function HardwareTypeForm(props: FormProps) {
  return (
    <ProviderMapForm
      {...props}
      keys={[{ key: "flavor", label: "Flavor", tip: "the provider's machine size (docker: cpus=N,memory=SIZE)" }]}
    />
  );
}

export function ImageTypeForm(props: FormProps) {
  return (
    <ProviderMapForm
      {...props}
      keys={[
        { key: "image", label: "Image", tip: "the provider's image id or name" },
        { key: "sshuser", label: "SSH user", tip: "the user to log in as (default root)" },
      ]}
    />
  );
}
