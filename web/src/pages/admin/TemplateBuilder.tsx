// The cluster template builder: tabs for general, compatibility, defaults, constraints and
// lease, checked live as the admin types; the server's field errors land on their tab.
import { useEffect, useMemo, useState } from "react";
import { api, ok, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { TEMPLATE_TABS, checkTemplate, serviceName, tabOf, type TemplateTab } from "../../lib/template";
import { CheckList, FormErrors, ListField, Select, Tabs, TextArea, TextField } from "../../components/ui";
import { BASE_PATHS, BaseFields, SaveBar, type Entity, type FormProps } from "./Catalog";

type Template = Partial<Schemas["ClusterTemplate"]> & Entity;

const num = (v: string): number | null => (v.trim() === "" ? null : Number(v));
const HOUR = 3600_000;

export function TemplateBuilder({ entity, isNew, errors, onSave }: FormProps) {
  const [t, setT] = useState<Template>(entity as Template);
  const [tab, setTab] = useState<TemplateTab>("General");
  const [config, setConfig] = useState(JSON.stringify(t.defaults?.config ?? {}, null, 2));
  const [touched, setTouched] = useState(false);
  const services = useLoad(() => ok(api.GET("/v2/services")));
  const hardware = useLoad(() => ok(api.GET("/v2/hardwaretypes")));
  const images = useLoad(() => ok(api.GET("/v2/imagetypes")));
  const providers = useLoad(() => ok(api.GET("/v2/providers")));

  // a server error on another tab brings that tab forward
  useEffect(() => {
    const first = Object.keys(errors.fields)[0];
    if (first) setTab(tabOf(first));
  }, [errors]);

  const live = useMemo(() => checkTemplate(t, config), [t, config]);
  const e: Record<string, string> = { ...errors.fields, ...(touched ? live : {}) };
  const flagged = [...new Set(Object.keys(e).map(tabOf))];

  const compat = t.compatibility ?? { services: [], hardwaretypes: [], imagetypes: [] };
  const defaults = t.defaults ?? { services: [] };
  const constraints = t.constraints ?? {};
  const lease = { initial: 0, max: 0, step: 0, ...t.administration?.leaseduration };
  const update = (patch: Partial<Template>) => {
    setTouched(true);
    setT({ ...t, ...patch });
  };
  const setCompat = (c: Partial<Schemas["Compatibility"]>) =>
    update({ compatibility: { services: [], hardwaretypes: [], imagetypes: [], ...compat, ...c } });
  const setDefaults = (d: Partial<Schemas["TemplateDefaults"]>) => update({ defaults: { ...defaults, ...d } as Schemas["TemplateDefaults"] });
  const setLease = (k: "initial" | "max" | "step", hours: string) =>
    update({ administration: { leaseduration: { ...lease, [k]: Math.round((Number(hours) || 0) * HOUR) } } });
  const quantity = (service: string, k: "min" | "max", v: string) => {
    const current = constraints.services?.[service] ?? {};
    const q = { ...(current.quantities ?? {}), [k]: num(v) };
    update({ constraints: { ...constraints, services: { ...(constraints.services ?? {}), [service]: { ...current, quantities: q } } } });
  };
  const shownPaths = [
    ...BASE_PATHS,
    "compatibility.services",
    "compatibility.hardwaretypes",
    "compatibility.imagetypes",
    "defaults.services",
    "defaults.provider",
    "defaults.hardwaretype",
    "defaults.imagetype",
    "defaults.config",
    "defaults.dnsSuffix",
    "constraints.size.min",
    "constraints.size.max",
    "constraints.layout.mustcoexist",
    "constraints.layout.cantcoexist",
    "constraints.services",
    "administration.leaseduration.initial",
    "administration.leaseduration.max",
    "administration.leaseduration.step",
    "compatibility",
    "defaults",
    "constraints",
    "administration",
  ];
  const defaultNames = (defaults.services ?? []).map(serviceName);

  return (
    <form
      className="form"
      onSubmit={async (ev) => {
        ev.preventDefault();
        setTouched(true);
        const problems = checkTemplate(t, config);
        if (Object.keys(problems).length) {
          setTab(tabOf(Object.keys(problems)[0]));
          return;
        }
        const body = { ...t, defaults: { ...defaults, config: config.trim() ? JSON.parse(config) : {} } };
        await onSave(body, shownPaths);
      }}
    >
      <Tabs tabs={[...TEMPLATE_TABS]} current={tab} onChange={(x) => setTab(x as TemplateTab)} flagged={flagged} />
      <div role="tabpanel" aria-label={tab}>
        {tab === "General" ? (
          <BaseFields value={t} onChange={(v) => update(v as Template)} errors={new FormErrors(e, errors.general)} isNew={isNew} />
        ) : null}
        {tab === "Compatibility" ? (
          <>
            <CheckList
              legend="Services a cluster may have"
              options={(services.data ?? []).map((s) => s.name)}
              chosen={compat.services ?? []}
              onChange={(v) => setCompat({ services: v })}
              error={e["compatibility.services"]}
              path="compatibility.services"
            />
            <CheckList
              legend="Hardware types (none checked: any)"
              options={(hardware.data ?? []).map((h) => h.name)}
              chosen={compat.hardwaretypes ?? []}
              onChange={(v) => setCompat({ hardwaretypes: v })}
              error={e["compatibility.hardwaretypes"]}
              path="compatibility.hardwaretypes"
            />
            <CheckList
              legend="Image types (none checked: any)"
              options={(images.data ?? []).map((i) => i.name)}
              chosen={compat.imagetypes ?? []}
              onChange={(v) => setCompat({ imagetypes: v })}
              error={e["compatibility.imagetypes"]}
              path="compatibility.imagetypes"
            />
          </>
        ) : null}
        {tab === "Defaults" ? (
          <>
            <CheckList
              legend="Default services"
              options={compat.services?.length ? compat.services : (services.data ?? []).map((s) => s.name)}
              chosen={defaultNames}
              onChange={(v) => setDefaults({ services: v })}
              error={e["defaults.services"]}
              path="defaults.services"
            />
            <div className="grid">
              <Select
                label="Provider"
                value={defaults.provider ?? ""}
                options={(providers.data ?? []).map((p) => p.name)}
                onChange={(v) => setDefaults({ provider: v || null })}
                empty="none"
                error={e["defaults.provider"]}
                path="defaults.provider"
              />
              <Select
                label="Hardware type (forced cluster-wide)"
                value={defaults.hardwaretype ?? ""}
                options={(hardware.data ?? []).map((h) => h.name)}
                onChange={(v) => setDefaults({ hardwaretype: v || null })}
                empty="solver's choice"
                error={e["defaults.hardwaretype"]}
                path="defaults.hardwaretype"
              />
              <Select
                label="Image type (forced cluster-wide)"
                value={defaults.imagetype ?? ""}
                options={(images.data ?? []).map((i) => i.name)}
                onChange={(v) => setDefaults({ imagetype: v || null })}
                empty="solver's choice"
                error={e["defaults.imagetype"]}
                path="defaults.imagetype"
              />
              <TextField
                label="DNS suffix"
                value={defaults.dnsSuffix ?? ""}
                onChange={(v) => setDefaults({ dnsSuffix: v || null })}
                error={e["defaults.dnsSuffix"]}
                path="defaults.dnsSuffix"
              />
            </div>
            <TextArea
              label="Config (JSON; may use macros such as %ip.service.redis-primary%)"
              value={config}
              onChange={(v) => {
                setTouched(true);
                setConfig(v);
              }}
              error={e["defaults.config"]}
              path="defaults.config"
              rows={8}
            />
          </>
        ) : null}
        {tab === "Constraints" ? (
          <>
            <div className="grid">
              <TextField
                label="Minimum nodes"
                type="number"
                value={constraints.size?.min?.toString() ?? ""}
                onChange={(v) => update({ constraints: { ...constraints, size: { ...constraints.size, min: num(v) } } })}
                error={e["constraints.size.min"]}
                path="constraints.size.min"
              />
              <TextField
                label="Maximum nodes"
                type="number"
                value={constraints.size?.max?.toString() ?? ""}
                onChange={(v) => update({ constraints: { ...constraints, size: { ...constraints.size, max: num(v) } } })}
                error={e["constraints.size.max"]}
                path="constraints.size.max"
              />
            </div>
            <div className="grid">
              <ListField
                nested
                label="Must coexist (one set per line, comma-separated)"
                value={constraints.layout?.mustcoexist ?? []}
                onChange={(v) =>
                  update({ constraints: { ...constraints, layout: { cantcoexist: [], ...constraints.layout, mustcoexist: v } } })
                }
                error={e["constraints.layout.mustcoexist"]}
                path="constraints.layout.mustcoexist"
              />
              <ListField
                nested
                label="Can't coexist (one set per line, comma-separated)"
                value={constraints.layout?.cantcoexist ?? []}
                onChange={(v) =>
                  update({ constraints: { ...constraints, layout: { mustcoexist: [], ...constraints.layout, cantcoexist: v } } })
                }
                error={e["constraints.layout.cantcoexist"]}
                path="constraints.layout.cantcoexist"
              />
            </div>
            <table className="table compact">
              <thead>
                <tr>
                  <th>Service</th>
                  <th>Min nodes</th>
                  <th>Max nodes</th>
                </tr>
              </thead>
              <tbody>
                {(compat.services ?? []).map((s) => (
                  <tr key={s}>
                    <td>{s}</td>
                    {(["min", "max"] as const).map((k) => (
                      <td key={k}>
                        <input
                          type="number"
                          aria-label={`${s} ${k}`}
                          value={constraints.services?.[s]?.quantities?.[k]?.toString() ?? ""}
                          onChange={(ev) => quantity(s, k, ev.target.value)}
                        />
                        {e[`constraints.services.${s}.quantities.${k}`] ? (
                          <div className="field-error">{e[`constraints.services.${s}.quantities.${k}`]}</div>
                        ) : null}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : null}
        {tab === "Lease" ? (
          <div className="grid">
            {(["initial", "max", "step"] as const).map((k) => (
              <TextField
                key={k}
                label={`${k === "initial" ? "Initial lease" : k === "max" ? "Maximum lease" : "Extension step"} (hours, 0: unlimited)`}
                type="number"
                value={String(lease[k] / HOUR)}
                onChange={(v) => setLease(k, v)}
                error={e[`administration.leaseduration.${k}`]}
                path={`administration.leaseduration.${k}`}
              />
            ))}
          </div>
        ) : null}
      </div>
      <SaveBar />
    </form>
  );
}
