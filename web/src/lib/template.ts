// Client-side checks of a cluster template, run as the admin types (the server checks again).
import type { Schemas } from "../api/client";

type Template = Partial<Schemas["ClusterTemplate"]>;

export const TEMPLATE_TABS = ["General", "Compatibility", "Defaults", "Constraints", "Lease"] as const;
export type TemplateTab = (typeof TEMPLATE_TABS)[number];

/** The tab that shows a field (by JSON path). */
export function tabOf(path: string): TemplateTab {
  if (path.startsWith("compatibility")) return "Compatibility";
  if (path.startsWith("defaults")) return "Defaults";
  if (path.startsWith("constraints")) return "Constraints";
  if (path.startsWith("administration")) return "Lease";
  return "General";
}

/** A template's default service: a name, or `{name, config}`. */
export function serviceName(s: unknown): string {
  return typeof s === "string" ? s : ((s as { name?: string })?.name ?? "");
}

/** Problems of a template by JSON path; empty when it looks right. */
export function checkTemplate(t: Template, configText: string): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!t.name || !/^[\w.-]+$/.test(t.name)) errors.name = "letters, digits, '_', '.' and '-' only";
  const compat = t.compatibility ?? {};
  const defaults = t.defaults ?? {};
  const services = (defaults.services ?? []).map(serviceName);
  if (services.length === 0) errors["defaults.services"] = "a template needs at least one default service";
  const allowed = compat.services ?? [];
  const outside = services.filter((s) => allowed.length > 0 && !allowed.includes(s));
  if (outside.length) errors["defaults.services"] = `not in the compatible services: ${outside.join(", ")}`;
  if (defaults.hardwaretype && compat.hardwaretypes?.length && !compat.hardwaretypes.includes(defaults.hardwaretype)) {
    errors["defaults.hardwaretype"] = "not one of the compatible hardware types";
  }
  if (defaults.imagetype && compat.imagetypes?.length && !compat.imagetypes.includes(defaults.imagetype)) {
    errors["defaults.imagetype"] = "not one of the compatible image types";
  }
  if (configText.trim()) {
    try {
      const v = JSON.parse(configText);
      if (typeof v !== "object" || v === null || Array.isArray(v)) errors["defaults.config"] = "must be a JSON object";
    } catch (e) {
      errors["defaults.config"] = `not JSON: ${e instanceof Error ? e.message : e}`;
    }
  }
  const size = t.constraints?.size ?? {};
  if (size.min != null && size.min < 1) errors["constraints.size.min"] = "at least 1";
  if (size.min != null && size.max != null && size.max < size.min) errors["constraints.size.max"] = "must not be below the minimum";
  for (const [name, c] of Object.entries(t.constraints?.services ?? {})) {
    const q = c.quantities;
    if (q?.min != null && q?.max != null && q.max < q.min) {
      errors[`constraints.services.${name}.quantities.max`] = "must not be below the minimum";
    }
  }
  const given = t.administration?.leaseduration;
  if (given) {
    const lease = { initial: given.initial ?? 0, max: given.max ?? 0, step: given.step ?? 0 };
    for (const k of ["initial", "max", "step"] as const) {
      if (lease[k] < 0) errors[`administration.leaseduration.${k}`] = "must not be negative (0: unlimited)";
    }
    if (lease.max > 0 && lease.initial > lease.max) {
      errors["administration.leaseduration.initial"] = "must not exceed the maximum lease";
    }
  }
  return errors;
}
