// Create a cluster: name, template, size and advanced options, with a preview of the solved
// layout and the task plan before anything is created.
import { useEffect, useMemo, useState } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { ApiError, api, ok, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { fieldPayload, formFields, type FieldValues } from "../../lib/schemaForm";
import { SchemaFields } from "../../components/SchemaFields";
import { LayoutView, PlanView } from "../../components/Pictures";
import { CheckList, FormErrors, Select, TextArea, TextField, errorText } from "../../components/ui";
import { serviceName } from "../../lib/template";

type Request = Schemas["ClusterCreateRequest"];

const SHOWN = [
  "name",
  "clusterTemplate",
  "numMachines",
  "provider",
  "hardwaretype",
  "imagetype",
  "services",
  "config",
  "initialLeaseDuration",
  "providerFields",
];

export function CreateCluster() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const templates = useLoad(() => ok(api.GET("/v2/clustertemplates")));
  const providers = useLoad(() => ok(api.GET("/v2/providers")));
  const hardware = useLoad(() => ok(api.GET("/v2/hardwaretypes")));
  const images = useLoad(() => ok(api.GET("/v2/imagetypes")));

  const [name, setName] = useState("");
  const [template, setTemplate] = useState(params.get("template") ?? "");
  const [size, setSize] = useState("3");
  const [provider, setProvider] = useState("");
  const [hardwaretype, setHardwaretype] = useState("");
  const [imagetype, setImagetype] = useState("");
  const [services, setServices] = useState<string[] | null>(null);
  const [config, setConfig] = useState("");
  const [leaseHours, setLeaseHours] = useState("");
  const [fieldValues, setFieldValues] = useState<FieldValues>({});
  const [errors, setErrors] = useState(new FormErrors());
  const [preview, setPreview] = useState<Schemas["Preview"] | null>(null);
  const [unsatisfiable, setUnsatisfiable] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const chosen = templates.data?.find((t) => t.name === template);
  useEffect(() => {
    if (!template && templates.data?.length) setTemplate(templates.data[0].name);
  }, [templates.data, template]);
  useEffect(() => {
    setServices(null);
    const min = chosen?.constraints?.size?.min;
    if (min && Number(size) < min) setSize(String(min));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [template]);

  const providerName = provider || chosen?.defaults?.provider || "";
  const providerType = useLoad(async () => {
    if (!providerName) return undefined;
    const p = await ok(api.GET("/v2/providers/{name}", { params: { path: { name: providerName } } }));
    return ok(api.GET("/v2/plugins/providertypes/{name}", { params: { path: { name: p.providertype } } }));
  }, [providerName]);
  const userFields = useMemo(
    () => [
      ...formFields(providerType.data, "user"),
      ...formFields(providerType.data, "admin").filter((f) => f.override),
    ],
    [providerType.data],
  );

  const defaultServices = (chosen?.defaults?.services ?? []).map(serviceName);
  const serviceChoice = services ?? defaultServices;

  // any change makes the preview stale
  useEffect(() => {
    setPreview(null);
    setUnsatisfiable(null);
  }, [name, template, size, provider, hardwaretype, imagetype, services, config, leaseHours, fieldValues]);

  function request(): Request | null {
    const local: Record<string, string> = {};
    if (!name.trim()) local.name = "a cluster needs a name";
    const n = Number(size);
    if (!Number.isInteger(n) || n < 1) local.numMachines = "a whole number of nodes, at least 1";
    let parsedConfig: Record<string, unknown> | undefined;
    if (config.trim()) {
      try {
        const value = JSON.parse(config);
        if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
        parsedConfig = value;
      } catch (e) {
        local.config = `must be a JSON object (${e instanceof Error ? e.message : e})`;
      }
    }
    if (leaseHours.trim() && !(Number(leaseHours) >= 0)) local.initialLeaseDuration = "hours, 0 for no lease";
    if (Object.keys(local).length) {
      setErrors(FormErrors.local(local));
      return null;
    }
    const body: Request = { name: name.trim(), clusterTemplate: template, numMachines: n };
    if (provider) body.provider = provider;
    if (hardwaretype) body.hardwaretype = hardwaretype;
    if (imagetype) body.imagetype = imagetype;
    if (services) body.services = services;
    if (parsedConfig) body.config = parsedConfig;
    if (leaseHours.trim()) body.initialLeaseDuration = Math.round(Number(leaseHours) * 3600_000);
    const fields = fieldPayload(userFields, fieldValues);
    if (Object.keys(fields).length) body.providerFields = fields;
    return body;
  }

  function fail(e: unknown) {
    if (e instanceof ApiError && e.status === 422) {
      setUnsatisfiable(e);
      setErrors(new FormErrors());
    } else if (e instanceof ApiError && e.missingFields) {
      const missing = e.missingFields[0] ?? [];
      setErrors(
        FormErrors.local(Object.fromEntries(missing.map((k) => [`providerFields.${k}`, "required by the provider"]))),
      );
    } else {
      setErrors(FormErrors.from(e, [...SHOWN, ...userFields.map((f) => `providerFields.${f.key}`)]));
    }
  }

  async function runPreview() {
    const body = request();
    if (!body) return;
    setBusy(true);
    try {
      setPreview(await ok(api.POST("/v2/clusters/preview", { body })));
      setUnsatisfiable(null);
      setErrors(new FormErrors());
    } catch (e) {
      fail(e);
    } finally {
      setBusy(false);
    }
  }

  async function create() {
    const body = request();
    if (!body) return;
    if (preview) body.token = preview.token;
    setBusy(true);
    try {
      const created = await ok(api.POST("/v2/clusters", { body }));
      navigate(`/clusters/${created.id}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && preview) {
        setPreview(null);
        setErrors(new FormErrors({}, new Error("The catalog changed since this preview: preview again.")));
      } else fail(e);
    } finally {
      setBusy(false);
    }
  }

  const e = errors.fields;
  const compat = chosen?.compatibility;
  return (
    <section>
      <h1>Create a cluster</h1>
      {errors.general ? (
        <div className="banner error" role="alert">
          {errorText(errors.general)}
        </div>
      ) : null}
      <form
        className="form"
        onSubmit={(ev) => {
          ev.preventDefault();
          void runPreview();
        }}
      >
        <div className="grid">
          <TextField label="Name" value={name} onChange={setName} error={e.name} required path="name" />
          <Select
            label="Template"
            value={template}
            options={(templates.data ?? []).map((t) => t.name)}
            onChange={setTemplate}
            error={e.clusterTemplate}
            path="clusterTemplate"
          />
          <TextField
            label="Nodes"
            type="number"
            value={size}
            onChange={setSize}
            error={e.numMachines}
            path="numMachines"
            tip={
              chosen?.constraints?.size
                ? `between ${chosen.constraints.size.min ?? 1} and ${chosen.constraints.size.max ?? "any"}`
                : undefined
            }
          />
        </div>
        {chosen?.description ? <p className="muted">{chosen.description}</p> : null}
        <details className="advanced">
          <summary>Advanced options</summary>
          <div className="grid">
            <Select
              label="Provider"
              value={provider}
              options={(providers.data ?? []).map((p) => p.name)}
              onChange={setProvider}
              empty={`template default (${chosen?.defaults?.provider ?? "none"})`}
              error={e.provider}
              path="provider"
            />
            <Select
              label="Hardware type"
              value={hardwaretype}
              options={(hardware.data ?? [])
                .map((h) => h.name)
                .filter((h) => !compat?.hardwaretypes?.length || compat.hardwaretypes.includes(h))}
              onChange={setHardwaretype}
              empty="solver's choice"
              error={e.hardwaretype}
              path="hardwaretype"
            />
            <Select
              label="Image type"
              value={imagetype}
              options={(images.data ?? [])
                .map((i) => i.name)
                .filter((i) => !compat?.imagetypes?.length || compat.imagetypes.includes(i))}
              onChange={setImagetype}
              empty="solver's choice"
              error={e.imagetype}
              path="imagetype"
            />
            <TextField
              label="Lease (hours)"
              value={leaseHours}
              onChange={setLeaseHours}
              error={e.initialLeaseDuration}
              path="initialLeaseDuration"
              tip="empty: the template's initial lease; 0: no lease"
            />
          </div>
          <CheckList
            legend="Services"
            options={[...new Set([...(compat?.services ?? []), ...defaultServices])]}
            chosen={serviceChoice}
            onChange={setServices}
            error={e.services}
            path="services"
          />
          <TextArea
            label="Config (JSON, merged over the template's)"
            value={config}
            onChange={setConfig}
            error={e.config}
            path="config"
            rows={4}
          />
          <h3>Provider fields{providerName ? ` (${providerName})` : ""}</h3>
          <SchemaFields fields={userFields} values={fieldValues} onChange={setFieldValues} errors={e} prefix="providerFields" />
        </details>
        <div className="actions">
          <button type="submit" disabled={busy || !template}>
            Preview
          </button>
          <button type="button" className="primary" disabled={busy || !template} onClick={() => void create()}>
            {preview ? "Create this cluster" : "Create without preview"}
          </button>
        </div>
      </form>
      {unsatisfiable ? (
        <div className="card unsatisfiable" role="alert" data-testid="unsatisfiable">
          <h2>{unsatisfiable.message}</h2>
          <pre>{unsatisfiable.explanation}</pre>
        </div>
      ) : null}
      {preview ? (
        <div className="preview" data-testid="preview">
          <h2>Layout</h2>
          <LayoutView groups={preview.layout} />
          <h2>Plan</h2>
          <PlanView stages={preview.stages} />
        </div>
      ) : null}
    </section>
  );
}
