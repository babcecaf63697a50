// Form fields generated from a plugin type's schema (Coopr's `parameters.admin|user.fields`).
import type { Schemas } from "../api/client";

export type InputKind = "text" | "password" | "checkbox" | "select" | "textarea";

export interface FormField {
  key: string;
  label: string;
  input: InputKind;
  tip?: string;
  options?: string[];
  default?: unknown;
  /** Part of every required set: the form cannot be sent without it. */
  required: boolean;
  /** Kept encrypted by the server, never shown again once saved. */
  sensitive: boolean;
  /** An admin field a user may override per cluster. */
  override: boolean;
}

const INPUTS: Record<string, InputKind> = {
  text: "text",
  password: "password",
  checkbox: "checkbox",
  select: "select",
  textarea: "textarea",
  file: "textarea",
};

/**
 * The fields of one role (`admin` or `user`) of a plugin type, in a stable order: required
 * fields first (in the order of the first required set), then the others by label. An
 * unknown input type becomes a text box.
 */
export function formFields(
  spec: Pick<Schemas["PluginTypeSpec"], "parameters"> | undefined,
  role: "admin" | "user",
): FormField[] {
  const set = spec?.parameters?.[role];
  if (!set) return [];
  const fields = set.fields ?? {};
  const required = set.required ?? [];
  const inEvery = (key: string) => required.length > 0 && required.every((s) => s.includes(key));
  const firstSet = required[0] ?? [];
  const out: FormField[] = Object.entries(fields).map(([key, f]) => {
    const input = INPUTS[f.type] ?? "text";
    const field: FormField = {
      key,
      label: f.label || key,
      input: input === "select" && !(f.options && f.options.length) ? "text" : input,
      required: inEvery(key),
      sensitive: Boolean(f.sensitive) || f.type === "password",
      override: Boolean(f.override),
    };
    if (f.tip) field.tip = f.tip;
    if (f.options && f.options.length) field.options = f.options;
    if (f.default !== undefined && f.default !== null) field.default = f.default;
    return field;
  });
  const rank = (f: FormField) => {
    const i = firstSet.indexOf(f.key);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return out.sort((a, b) => rank(a) - rank(b) || a.label.localeCompare(b.label));
}

export type FieldValues = Record<string, string | boolean>;

/** The starting values of a form: what is stored, else each field's default. */
export function initialValues(fields: FormField[], stored: Record<string, unknown> = {}): FieldValues {
  const values: FieldValues = {};
  for (const f of fields) {
    const v = stored[f.key] ?? f.default;
    if (f.input === "checkbox") values[f.key] = v === true || v === "true";
    else if (v !== undefined && v !== null) values[f.key] = String(v);
  }
  return values;
}

/**
 * Which fields are still missing, by Coopr's rule: the values must fill at least one required
 * set. Answers the missing fields of the set closest to complete (empty when one is full).
 */
export function missingFields(values: FieldValues, required: string[][] | undefined): string[] {
  const sets = (required ?? []).filter((s) => s.length > 0);
  if (sets.length === 0) return [];
  const filled = (k: string) => {
    const v = values[k];
    return v === true || (typeof v === "string" && v.trim() !== "");
  };
  let best: string[] | null = null;
  for (const set of sets) {
    const missing = set.filter((k) => !filled(k));
    if (missing.length === 0) return [];
    if (best === null || missing.length < best.length) best = missing;
  }
  return best ?? [];
}

/**
 * The values to send: empty text left out, checkboxes as booleans, or all as strings where
 * the API wants a string map (a service action's fields).
 */
export function fieldPayload(
  fields: FormField[],
  values: FieldValues,
  asStrings = false,
): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const f of fields) {
    const v = values[f.key];
    if (v === undefined) continue;
    if (f.input === "checkbox") {
      if (v === true) out[f.key] = asStrings ? "true" : true;
    } else if (typeof v === "string" && v.trim() !== "") {
      out[f.key] = v;
    }
  }
  return out;
}
