import { Link } from "react-router";
import { api, ok } from "../../api/client";
import { useLoad } from "../../hooks";
import { Empty, ErrorBanner } from "../../components/ui";
import { serviceName } from "../../lib/template";


export function Templates() {
  const templates = useLoad(() => ok(api.GET("/v2/clustertemplates")));
  return (
    <section>
      <h1>Templates</h1>
      <ErrorBanner error={templates.error} />
      {templates.data && templates.data.length === 0 ? (
        <Empty>No cluster templates yet: an admin of your tenant defines them.</Empty>
      ) : null}
      <div className="gallery">
        {(templates.data ?? []).map((t) => {
          const size = t.constraints?.size;
          return (
            <article className="card template-card" key={t.name} data-template={t.name}>
              <h2>{t.label || t.name}</h2>
              <p>{t.description || <span className="muted">No description.</span>}</p>
              <dl>
                <dt>Services</dt>
                <dd>{(t.defaults?.services ?? []).map(serviceName).join(", ") || "—"}</dd>
                <dt>Size</dt>
                <dd>
                  {size?.min ?? 1}
                  {size?.max ? `–${size.max}` : "+"} nodes
                </dd>
                {t.defaults?.provider ? (
                  <>
                    <dt>Provider</dt>
                    <dd>{t.defaults.provider}</dd>
                  </>
                ) : null}
              </dl>
              <Link className="button primary" to={`/clusters/new?template=${encodeURIComponent(t.name)}`}>
                Create a cluster
              </Link>
            </article>
          );
        })}
      </div>
    </section>
  );
}
