// A service: its dependencies, and per action the automator type and the fields its schema
// asks for.
import { useState } from "react";
import { api, ok, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { fieldPayload, formFields, initialValues, missingFields } from "../../lib/schemaForm";
import { SchemaFields } from "../../components/SchemaFields";
import { CheckList, FormErrors, ListField, Select } from "../../components/ui";
import { BASE_PATHS, BaseFields, SaveBar, type Entity, type FormProps } from "./Catalog";

export const SERVICE_ACTIONS = ["install", "configure", "initialize", "start", "stop", "remove"];

type Action = { type: string; fields: Record<string, string> };

export function ServiceForm({ entity, isNew, errors, onSave }: FormProps) {
  const [value, setValue] = useState<Entity>(entity);
  const services = useLoad(() => ok(api.GET("/v2/services")));
  const automators = useLoad(() => ok(api.GET("/v2/plugins/automatortypes")));
  const deps = (value.dependencies as Schemas["ServiceDependencies"] | undefined) ?? {};
  const actions = ((value.provisioner as { actions?: Record<string, Action> } | undefined)?.actions ?? {}) as Record<
    string,
    Action
  >;
  const [local, setLocal] = useState<FormErrors | null>(null);
  const shownErrors = local ?? errors;
  const others = (services.data ?? []).map((s) => s.name).filter((n) => n !== value.name);

  const setDeps = (d: Schemas["ServiceDependencies"]) => setValue({ ...value, dependencies: d });
  const setAction = (name: string, action: Action | null) => {
    const next = { ...actions };
    if (action) next[name] = action;
    else delete next[name];
    setValue({ ...value, provisioner: { actions: next } });
  };
  const specOf = (type: string) => (automators.data ?? []).find((a) => a.name === type);
  const shown = [
    ...BASE_PATHS,
    "dependencies",
    "dependencies.runtime.requires",
    "dependencies.runtime.uses",
    "dependencies.install.requires",
    "dependencies.provides",
    "dependencies.conflicts",
    ...SERVICE_ACTIONS.flatMap((a) => [
      `provisioner.actions.${a}`,
      `provisioner.actions.${a}.type`,
      ...formFields(specOf(actions[a]?.type ?? ""), "admin").map((f) => `provisioner.actions.${a}.fields.${f.key}`),
    ]),
  ];
  const e = shownErrors.fields;

  return (
    <form
      className="form"
      onSubmit={async (ev) => {
        ev.preventDefault();
        const missing: Record<string, string> = {};
        for (const [name, action] of Object.entries(actions)) {
          const spec = specOf(action.type);
          for (const k of missingFields(action.fields, spec?.parameters?.admin?.required)) {
            missing[`provisioner.actions.${name}.fields.${k}`] = "required by the automator type";
          }
        }
        if (Object.keys(missing).length) {
          setLocal(FormErrors.local(missing));
          return;
        }
        setLocal(null);
        await onSave(value, shown);
      }}
    >
      <BaseFields value={value} onChange={setValue} errors={shownErrors} isNew={isNew} />
      <h3>Dependencies</h3>
      <CheckList
        legend="Requires at runtime (started after these)"
        options={others}
        chosen={deps.runtime?.requires ?? []}
        onChange={(v) => setDeps({ ...deps, runtime: { ...deps.runtime, requires: v } })}
        error={e["dependencies.runtime.requires"]}
        path="dependencies.runtime.requires"
      />
      <div className="grid">
        <ListField
          label="Uses at runtime (order only if present)"
          value={deps.runtime?.uses ?? []}
          onChange={(v) => setDeps({ ...deps, runtime: { ...deps.runtime, uses: v } })}
          error={e["dependencies.runtime.uses"]}
          path="dependencies.runtime.uses"
        />
        <ListField
          label="Requires at install"
          value={deps.install?.requires ?? []}
          onChange={(v) => setDeps({ ...deps, install: { ...deps.install, requires: v } })}
          error={e["dependencies.install.requires"]}
          path="dependencies.install.requires"
        />
        <ListField
          label="Provides"
          value={deps.provides ?? []}
          onChange={(v) => setDeps({ ...deps, provides: v })}
          error={e["dependencies.provides"]}
          path="dependencies.provides"
        />
        <ListField
          label="Conflicts with"
          value={deps.conflicts ?? []}
          onChange={(v) => setDeps({ ...deps, conflicts: v })}
          error={e["dependencies.conflicts"]}
          path="dependencies.conflicts"
        />
      </div>
      <h3>Actions</h3>
      {e.provisioner ? <div className="field-error">{e.provisioner}</div> : null}
      {SERVICE_ACTIONS.map((name) => {
        const action = actions[name];
        const spec = specOf(action?.type ?? "");
        const fields = formFields(spec, "admin");
        return (
          <fieldset key={name} className="action-spec" data-action={name}>
            <legend>{name}</legend>
            <Select
              label="Automator type"
              value={action?.type ?? ""}
              options={(automators.data ?? []).map((a) => a.name)}
              onChange={(t) => setAction(name, t ? { type: t, fields: action?.type === t ? action.fields : {} } : null)}
              empty="not done by this service"
              error={e[`provisioner.actions.${name}`] ?? e[`provisioner.actions.${name}.type`]}
              path={`provisioner.actions.${name}.type`}
            />
            {action && spec ? (
              <SchemaFields
                fields={fields}
                values={initialValues(fields, action.fields)}
                onChange={(v) => setAction(name, { type: action.type, fields: fieldPayload(fields, v, true) as Record<string, string> })}
                errors={e}
                prefix={`provisioner.actions.${name}.fields`}
              />
            ) : null}
          </fieldset>
        );
      })}
      <SaveBar />
    </form>
  );
}
