import { Link } from "react-router";
import { api, ok } from "../../api/client";
import { useLoad } from "../../hooks";
import { Empty, ErrorBanner, StatusBadge, time } from "../../components/ui";

export function Overview() {
  const clusters = useLoad(() => ok(api.GET("/v2/clusters")));
  const nodes = useLoad(() => ok(api.GET("/v2/nodes")));
  const all = clusters.data ?? [];
  const live = all.filter((c) => c.status === "active");
  const pending = all.filter((c) => c.status === "pending");
  const failures = all
    .filter((c) => c.status === "incomplete" || c.status === "inconsistent" || c.progress?.actionstatus === "failed")
    .slice(0, 5);
  const liveIds = new Set(all.filter((c) => c.status !== "terminated").map((c) => c.id));
  const liveNodes = (nodes.data ?? []).filter((n) => liveIds.has(n.clusterId));
  return (
    <section>
      <h1>Overview</h1>
      <ErrorBanner error={clusters.error ?? nodes.error} />
      <div className="stats">
        <Link className="stat" to="/clusters?status=active">
          <span className="stat-value" data-testid="live-count">
            {live.length}
          </span>
          <span className="stat-label">live clusters</span>
        </Link>
        <Link className="stat" to="/clusters?status=pending">
          <span className="stat-value">{pending.length}</span>
          <span className="stat-label">pending clusters</span>
        </Link>
        <div className="stat">
          <span className="stat-value">{liveNodes.length}</span>
          <span className="stat-label">nodes</span>
        </div>
        <Link className="stat" to="/clusters?status=incomplete,inconsistent">
          <span className="stat-value">{failures.length}</span>
          <span className="stat-label">recent failures</span>
        </Link>
      </div>
      <h2>Pending</h2>
      {pending.length === 0 ? <Empty>Nothing is being built or changed.</Empty> : null}
      <ul className="rows">
        {pending.map((c) => (
          <li key={c.id}>
            <Link to={`/clusters/${c.id}`}>{c.name}</Link> <StatusBadge status={c.status} />{" "}
            {c.progress ? (
              <span className="muted">
                {c.progress.action}: {c.progress.stepscompleted}/{c.progress.stepstotal} tasks
              </span>
            ) : null}
          </li>
        ))}
      </ul>
      <h2>Recent failures</h2>
      {failures.length === 0 ? <Empty>No failures.</Empty> : null}
      <ul className="rows">
        {failures.map((c) => (
          <li key={c.id}>
            <Link to={`/clusters/${c.id}`}>{c.name}</Link> <StatusBadge status={c.status} />{" "}
            <span className="muted">
              {c.message ?? c.progress?.action} · {time(c.createTime)}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
