// Inputs generated from a plugin type's field schema (see lib/schemaForm.ts).
import type { FieldValues, FormField } from "../lib/schemaForm";
import { Field } from "./ui";

export function SchemaFields({
  fields,
  values,
  onChange,
  errors = {},
  prefix,
  sensitiveStored = [],
}: {
  fields: FormField[];
  values: FieldValues;
  onChange: (v: FieldValues) => void;
  /** Errors by JSON path (`${prefix}.${key}`). */
  errors?: Record<string, string>;
  /** The JSON path of the object the fields live in (`provisioner`, `providerFields`). */
  prefix: string;
  /** Sensitive fields that already have a stored value (never shown). */
  sensitiveStored?: string[];
}) {
  if (fields.length === 0) return <p className="muted">This plugin type asks for no fields here.</p>;
  return (
    <div className="schema-fields">
      {fields.map((f) => {
        const path = `${prefix}.${f.key}`;
        const value = values[f.key];
        const set = (v: string | boolean) => onChange({ ...values, [f.key]: v });
        const tip = [f.tip, f.sensitive && sensitiveStored.includes(f.key) ? "stored; leave empty to keep it" : null]
          .filter(Boolean)
          .join(" · ");
        return (
          <Field key={f.key} label={f.label} tip={tip || undefined} error={errors[path]} required={f.required} path={path}>
            {(id, describedBy) => {
              const common = {
                id,
                "aria-describedby": describedBy,
                "aria-invalid": errors[path] ? true : undefined,
                name: f.key,
              };
              switch (f.input) {
                case "checkbox":
                  return <input {...common} type="checkbox" checked={value === true} onChange={(e) => set(e.target.checked)} />;
                case "select":
                  return (
                    <select {...common} value={typeof value === "string" ? value : ""} onChange={(e) => set(e.target.value)}>
                      <option value="">—</option>
                      {(f.options ?? []).map((o) => (
                        <option key={o} value={o}>
                          {o}
                        </option>
                      ))}
                    </select>
                  );
                case "textarea":
                  return (
                    <textarea
                      {...common}
                      rows={4}
                      value={typeof value === "string" ? value : ""}
                      onChange={(e) => set(e.target.value)}
                    />
                  );
                default:
                  return (
                    <input
                      {...common}
                      type={f.input === "password" ? "password" : "text"}
                      autoComplete={f.input === "password" ? "new-password" : "off"}
                      value={typeof value === "string" ? value : ""}
                      onChange={(e) => set(e.target.value)}
                    />
                  );
              }
            }}
          </Field>
        );
      })}
    </div>
  );
}
