import { Link, useSearchParams } from "react-router";
import { api, ok } from "../../api/client";
import { useLoad } from "../../hooks";
import { Empty, ErrorBanner, StatusBadge, time } from "../../components/ui";

const STATUSES = ["pending", "active", "incomplete", "inconsistent", "terminated"];

export function Clusters() {
  const [params, setParams] = useSearchParams();
  const status = params.get("status") ?? "";
  const clusters = useLoad(
    () => ok(api.GET("/v2/clusters", { params: { query: status ? { status } : {} } })),
    [status],
  );
  return (
    <section>
      <div className="heading">
        <h1>Clusters</h1>
        <Link className="button primary" to="/clusters/new">
          Create a cluster
        </Link>
      </div>
      <label className="inline">
        Status{" "}
        <select
          value={status}
          aria-label="Status filter"
          onChange={(e) => setParams(e.target.value ? { status: e.target.value } : {})}
        >
          <option value="">all</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
          {status && !STATUSES.includes(status) ? <option value={status}>{status}</option> : null}
        </select>
      </label>
      <ErrorBanner error={clusters.error} />
      {clusters.data && clusters.data.length === 0 ? <Empty>No clusters.</Empty> : null}
      {clusters.data && clusters.data.length > 0 ? (
        <table className="table" data-testid="cluster-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Template</th>
              <th>Nodes</th>
              <th>Progress</th>
              <th>Created</th>
              <th>Owner</th>
            </tr>
          </thead>
          <tbody>
            {clusters.data.map((c) => (
              <tr key={c.id}>
                <td>
                  <Link to={`/clusters/${c.id}`}>{c.name}</Link>
                </td>
                <td>
                  <StatusBadge status={c.status} />
                </td>
                <td>{String((c.clusterTemplate as { name?: string }).name ?? "")}</td>
                <td>{c.numNodes}</td>
                <td>
                  {c.progress
                    ? `${c.progress.action} ${c.progress.actionstatus} ${c.progress.stepscompleted}/${c.progress.stepstotal}`
                    : "—"}
                </td>
                <td>{time(c.createTime)}</td>
                <td>{c.ownerId}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
