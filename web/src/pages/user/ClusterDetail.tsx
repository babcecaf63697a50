// One cluster: live progress (server-sent events), nodes, task logs, links and every action.
import { useCallback, useEffect, useState } from "react";
import { useNavigate, useParams } from "react-router";
import { ApiError, api, follow, ok, type Schemas } from "../../api/client";
import { useLoad } from "../../hooks";
import { PlanView } from "../../components/Pictures";
import { ActionButton, CheckList, ErrorBanner, Notice, StatusBadge, TextArea, TextField, time } from "../../components/ui";

type ProgressEvent = Schemas["ProgressEvent"];
type PlanTask = Schemas["PlanTask"];

const SERVICE_ACTIONS = ["start", "stop", "restart"] as const;

export function ClusterDetail() {
  const { id = "" } = useParams();
  const navigate = useNavigate();
  const details = useLoad(() => ok(api.GET("/v2/clusters/{id}", { params: { path: { id } } })), [id]);
  const [live, setLive] = useState<ProgressEvent | null>(null);
  const [streamError, setStreamError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [task, setTask] = useState<PlanTask | null>(null);

  const reloadDetails = details.reload;
  useEffect(() => {
    let last = "";
    return follow(
      `/v2/clusters/${encodeURIComponent(id)}/events`,
      (event, data) => {
        if (event !== "progress") return;
        const parsed = JSON.parse(data) as ProgressEvent;
        setLive(parsed);
        setStreamError(null);
        // nodes and their properties change with the job: refresh them when a task finishes
        const key = `${parsed.cluster.status}/${parsed.plan?.status}/${parsed.cluster.progress?.stepscompleted}`;
        if (key !== last) {
          last = key;
          void reloadDetails();
        }
      },
      (e) => setStreamError(e instanceof ApiError ? e : null),
    );
  }, [id, reloadDetails]);

  const run = useCallback(
    async (what: string, call: () => Promise<unknown>) => {
      setActionError(null);
      setNotice(null);
      try {
        await call();
        setNotice(`${what}: started`);
      } catch (e) {
        setActionError(e);
      }
    },
    [],
  );

  if (details.error && !details.data) return <ErrorBanner error={details.error} />;
  const d = details.data;
  if (!d) return <div className="loading">Loading…</div>;
  const cluster = live?.cluster ?? d;
  const plan = live?.plan;
  const busy = plan?.status === "running" || plan?.status === "not_submitted";
  const path = { params: { path: { id } } };
  const template = String((d.clusterTemplate as { name?: string }).name ?? "");

  return (
    <section className="cluster">
      <div className="heading">
        <h1>
          {cluster.name} <StatusBadge status={cluster.status} />
        </h1>
        <span className="muted">
          {template} · {cluster.numNodes} nodes · owner {cluster.ownerId} · created {time(cluster.createTime)}
          {cluster.expireTime ? ` · lease ends ${time(cluster.expireTime)}` : ""}
        </span>
      </div>
      {cluster.message ? <div className="banner error">{cluster.message}</div> : null}
      <ErrorBanner error={streamError} />
      <ErrorBanner error={actionError} />
      {notice ? <Notice>{notice}</Notice> : null}

      <h2>Progress</h2>
      {plan ? (
        <div className="card" data-testid="progress">
          <p>
            <strong data-testid="job-action">{plan.action}</strong>{" "}
            <StatusBadge status={plan.status} /> ·{" "}
            <span data-testid="job-steps">
              {cluster.progress?.stepscompleted ?? 0}/{cluster.progress?.stepstotal ?? 0}
            </span>{" "}
            tasks done{plan.message ? ` · ${plan.message}` : ""}
          </p>
          <progress
            max={cluster.progress?.stepstotal || 1}
            value={cluster.progress?.stepscompleted ?? 0}
            aria-label="tasks done"
          />
          <PlanView stages={plan.stages} current={busy ? plan.currentStage : undefined} />
          <details>
            <summary>Tasks</summary>
            <table className="table compact">
              <thead>
                <tr>
                  <th>Stage</th>
                  <th>Task</th>
                  <th>Node</th>
                  <th>Service</th>
                  <th>Status</th>
                  <th>Log</th>
                </tr>
              </thead>
              <tbody>
                {plan.stages.flatMap((stage, i) =>
                  stage.map((t) => (
                    <tr key={t.id}>
                      <td>{i + 1}</td>
                      <td>{t.taskName}</td>
                      <td>{t.nodeId}</td>
                      <td>{t.service || "—"}</td>
                      <td>
                        <StatusBadge status={t.status} />
                        {t.failures ? <span className="muted"> ({t.failures} failed)</span> : null}
                        {t.waiting ? <div className="muted small">{t.waiting}</div> : null}
                      </td>
                      <td>
                        <button type="button" className="link" onClick={() => setTask(t)}>
                          log
                        </button>
                      </td>
                    </tr>
                  )),
                )}
              </tbody>
            </table>
          </details>
        </div>
      ) : (
        <p className="muted">No job yet.</p>
      )}
      {task ? <TaskLog clusterId={id} task={task} onClose={() => setTask(null)} /> : null}

      {d.links.length ? (
        <>
          <h2>Links</h2>
          <ul className="rows">
            {d.links.map((l) => (
              <li key={l.label}>
                {l.url.includes("%") ? (
                  <span>
                    {l.label}: <code>{l.url}</code> (not ready)
                  </span>
                ) : (
                  <a href={l.url} target="_blank" rel="noreferrer noopener">
                    {l.label}
                  </a>
                )}
              </li>
            ))}
          </ul>
        </>
      ) : null}

      <h2>Nodes</h2>
      <table className="table" data-testid="nodes">
        <thead>
          <tr>
            <th>#</th>
            <th>Hostname</th>
            <th>Addresses</th>
            <th>Services</th>
            <th>Hardware / image</th>
            <th>Last action</th>
          </tr>
        </thead>
        <tbody>
          {d.nodes.map((n) => {
            const last = n.actions.at(-1);
            return (
              <tr key={n.id}>
                <td>{n.properties.nodenum}</td>
                <td>{n.properties.hostname}</td>
                <td>
                  {Object.entries(n.properties.ipaddresses ?? {}).map(([k, v]) => (
                    <div key={k}>
                      <span className="muted">{k}</span> {v}
                    </div>
                  ))}
                </td>
                <td>{n.properties.services.join(", ")}</td>
                <td>
                  {n.properties.hardwaretype} / {n.properties.imagetype}
                </td>
                <td>{last ? `${last.action} ${last.service} ${last.status}` : "—"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>

      {cluster.status !== "terminated" ? (
        <>
          <h2>Actions</h2>
          <div className="card actions-card">
            <div className="action-row">
              <span className="action-label">All services</span>
              {SERVICE_ACTIONS.map((a) => (
                <ActionButton
                  key={a}
                  onRun={() =>
                    run(`${a} all services`, () =>
                      ok(api.POST("/v2/clusters/{id}/services/{service}", { params: { path: { id, service: a } } })),
                    )
                  }
                >
                  {a}
                </ActionButton>
              ))}
            </div>
            {cluster.services.map((s) => (
              <div className="action-row" key={s} data-service={s}>
                <span className="action-label">{s}</span>
                {SERVICE_ACTIONS.map((a) => (
                  <ActionButton
                    key={a}
                    onRun={() =>
                      run(`${a} ${s}`, () =>
                        ok(
                          api.POST("/v2/clusters/{id}/services/{service}/{action}", {
                            params: { path: { id, service: s, action: a } },
                          }),
                        ),
                      )
                    }
                  >
                    {a}
                  </ActionButton>
                ))}
                <ActionButton
                  className="danger-text"
                  confirm={`Remove ${s} from every node?`}
                  onRun={() =>
                    run(`remove ${s}`, () =>
                      ok(api.DELETE("/v2/clusters/{id}/services/{service}", { params: { path: { id, service: s } } })),
                    )
                  }
                >
                  remove
                </ActionButton>
              </div>
            ))}
            <div className="action-row">
              <span className="action-label">Job</span>
              <ActionButton onRun={() => run("pause", () => ok(api.POST("/v2/clusters/{id}/pause", path)))}>pause</ActionButton>
              <ActionButton onRun={() => run("resume", () => ok(api.POST("/v2/clusters/{id}/resume", path)))}>
                {plan?.status === "failed" ? "resume from the failed stage" : "resume"}
              </ActionButton>
              <ActionButton
                confirm="Abort the running job?"
                onRun={() => run("abort", () => ok(api.POST("/v2/clusters/{id}/abort", path)))}
              >
                abort
              </ActionButton>
            </div>
            <AddServices id={id} current={cluster.services} template={template} run={run} />
            <AddNodes id={id} run={run} />
            <Reconfigure id={id} run={run} />
            <Lease id={id} expireTime={cluster.expireTime} run={run} />
            <div className="action-row">
              <ActionButton
                className="danger"
                confirm={`Delete ${cluster.name} and all its nodes?`}
                onRun={async () => {
                  await run("delete", () => ok(api.DELETE("/v2/clusters/{id}", path)));
                }}
                onError={setActionError}
              >
                Delete cluster
              </ActionButton>
              <button type="button" className="link" onClick={() => navigate("/clusters")}>
                back to clusters
              </button>
            </div>
          </div>
        </>
      ) : null}
    </section>
  );
}

type Run = (what: string, call: () => Promise<unknown>) => Promise<void>;

function AddServices({ id, current, template, run }: { id: string; current: string[]; template: string; run: Run }) {
  const t = useLoad(
    () => ok(api.GET("/v2/clustertemplates/{name}", { params: { path: { name: template } } })),
    [template],
  );
  const [chosen, setChosen] = useState<string[]>([]);
  const candidates = (t.data?.compatibility?.services ?? []).filter((s) => !current.includes(s));
  if (candidates.length === 0) return null;
  return (
    <div className="action-row">
      <CheckList legend="Add services" options={candidates} chosen={chosen} onChange={setChosen} />
      <ActionButton
        onRun={() =>
          run(`add ${chosen.join(", ")}`, () =>
            ok(api.POST("/v2/clusters/{id}/services", { params: { path: { id } }, body: { services: chosen } })),
          )
        }
      >
        add
      </ActionButton>
    </div>
  );
}

function AddNodes({ id, run }: { id: string; run: Run }) {
  const [count, setCount] = useState("1");
  return (
    <div className="action-row">
      <TextField label="Add nodes" type="number" value={count} onChange={setCount} />
      <ActionButton
        onRun={() =>
          run(`add ${count} nodes`, () =>
            ok(api.POST("/v2/clusters/{id}/nodes", { params: { path: { id } }, body: { numMachines: Number(count) } })),
          )
        }
      >
        add
      </ActionButton>
    </div>
  );
}

function Reconfigure({ id, run }: { id: string; run: Run }) {
  const config = useLoad(() => ok(api.GET("/v2/clusters/{id}/config", { params: { path: { id } } })), [id]);
  const [text, setText] = useState<string | null>(null);
  const [restart, setRestart] = useState(true);
  const [error, setError] = useState<string | undefined>();
  const value = text ?? JSON.stringify(config.data ?? {}, null, 2);
  return (
    <details className="action-row block">
      <summary>Reconfigure</summary>
      <TextArea label="Config" value={value} onChange={setText} error={error} path="config" rows={8} />
      <label className="check">
        <input type="checkbox" checked={restart} onChange={(e) => setRestart(e.target.checked)} /> restart services
      </label>
      <ActionButton
        onRun={async () => {
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(value);
          } catch (e) {
            setError(`must be JSON: ${e instanceof Error ? e.message : e}`);
            return;
          }
          setError(undefined);
          await run("reconfigure", () =>
            ok(api.PUT("/v2/clusters/{id}/config", { params: { path: { id } }, body: { config: parsed, restart } })),
          );
        }}
      >
        apply
      </ActionButton>
    </details>
  );
}

function Lease({ id, expireTime, run }: { id: string; expireTime: number; run: Run }) {
  const [hours, setHours] = useState("24");
  return (
    <div className="action-row">
      <TextField
        label="Extend the lease to (hours from now)"
        type="number"
        value={hours}
        onChange={setHours}
        tip={expireTime ? `now ends ${time(expireTime)}` : "this cluster has no lease"}
      />
      <ActionButton
        onRun={() =>
          run("extend the lease", () =>
            ok(
              api.POST("/v2/clusters/{id}", {
                params: { path: { id } },
                body: { expireTime: Date.now() + Number(hours) * 3600_000 },
              }),
            ),
          )
        }
      >
        extend
      </ActionButton>
    </div>
  );
}

type LogLine = Schemas["LogLineView"];

function TaskLog({ clusterId, task, onClose }: { clusterId: string; task: PlanTask; onClose: () => void }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setLines([]);
    const base = `/v2/clusters/${encodeURIComponent(clusterId)}/tasks/${encodeURIComponent(task.id)}/log`;
    return follow(
      `${base}/stream`,
      (event, data) => {
        if (event !== "log") return;
        const batch = data
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as LogLine);
        setLines((old) => [...old, ...batch]);
      },
      setError,
    );
  }, [clusterId, task.id]);
  return (
    <div className="card log" role="region" aria-label="task log">
      <div className="heading">
        <h3>
          {task.taskName} {task.service} on {task.nodeId}
        </h3>
        <button type="button" className="link" onClick={onClose}>
          close
        </button>
      </div>
      <ErrorBanner error={error} />
      <pre data-testid="task-log">
        {lines.length === 0 ? "(no output yet)" : lines.map((l) => `[${l.attempt}] ${l.line}`).join("\n")}
      </pre>
    </div>
  );
}
