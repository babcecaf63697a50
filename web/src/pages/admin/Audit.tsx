import { api, ok } from "../../api/client";
import { useLoad } from "../../hooks";
import { ErrorBanner, time } from "../../components/ui";

export function Audit() {
  const entries = useLoad(() => ok(api.GET("/v2/audit", { params: { query: { limit: 200 } } })));
  return (
    <section>
      <h1>Audit log</h1>
      <p className="muted">Every request that changed something: who, what and when.</p>
      <ErrorBanner error={entries.error} />
      <table className="table compact" data-testid="audit">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>Request</th>
            <th>Answer</th>
          </tr>
        </thead>
        <tbody>
          {(entries.data ?? []).map((a) => (
            <tr key={a.id}>
              <td>{time(a.at)}</td>
              <td>{a.actor}</td>
              <td>
                <code>
                  {a.method} {a.path}
                </code>
              </td>
              <td>{a.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
