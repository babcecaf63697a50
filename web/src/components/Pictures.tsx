// The layout of a cluster (nodes grouped by service set) and its plan (task stages) as SVG.
import type { Schemas } from "../api/client";
import { dagPicture, layoutPicture, type DagTask } from "../lib/pictures";

export function LayoutView({ groups }: { groups: Schemas["LayoutGroup"][] }) {
  const p = layoutPicture(groups);
  return (
    <figure className="picture" data-testid="layout-picture">
      <svg
        viewBox={`0 0 ${p.width} ${p.height}`}
        width={p.width}
        height={p.height}
        role="img"
        aria-label={`Layout: ${p.total} nodes in ${p.groups.length} groups`}
      >
        {p.groups.map((g, i) => (
          <g key={i} className="layout-group">
            <rect x={g.x} y={g.y} width={g.width} height={g.height} rx={8} className="group-box" />
            <text x={g.x + 12} y={g.y + 18} className="group-title">
              {g.title}
            </text>
            <text x={g.x + 12} y={g.y + 36} className="group-services">
              {g.services.join(", ") || "no services"}
            </text>
            {g.nodes.map((n, j) => (
              <rect key={j} x={n.x} y={n.y} width={n.size} height={n.size} rx={4} className="node-box">
                <title>{`node in group ${i + 1}`}</title>
              </rect>
            ))}
            {g.more > 0 ? (
              <text
                x={(g.nodes.at(-1)?.x ?? g.x) + 34}
                y={(g.nodes.at(-1)?.y ?? g.y) + 18}
                className="group-more"
              >
                +{g.more}
              </text>
            ) : null}
          </g>
        ))}
      </svg>
      <figcaption>
        {p.total} node{p.total === 1 ? "" : "s"} in {p.groups.length} group{p.groups.length === 1 ? "" : "s"} of
        identical nodes
      </figcaption>
    </figure>
  );
}

export function PlanView({ stages, current }: { stages: DagTask[][]; current?: number }) {
  const p = dagPicture(stages);
  return (
    <figure className="picture plan" data-testid="plan-picture">
      <div className="scroll-x">
        <svg
          viewBox={`0 0 ${p.width} ${p.height}`}
          width={p.width}
          height={p.height}
          role="img"
          aria-label={`Plan: ${p.columns.length} stages`}
        >
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">
              <path d="M0,0 L10,5 L0,10 z" className="arrow-head" />
            </marker>
          </defs>
          {p.edges.map((e) => {
            const a = p.columns[e.from];
            const b = p.columns[e.to];
            return (
              <line
                key={`${e.from}-${e.to}`}
                x1={a.x + a.width + 2}
                y1={40}
                x2={b.x - 4}
                y2={40}
                className="edge"
                markerEnd="url(#arrow)"
              />
            );
          })}
          {p.columns.map((c) => (
            <g
              key={c.stage}
              className={`stage state-${c.state}${current === c.stage ? " current" : ""}`}
              data-stage={c.stage + 1}
              data-state={c.state}
            >
              <text x={c.x} y={14} className="stage-title">
                {c.title}
              </text>
              {c.items.map((item) => {
                const done = item.states.done;
                return (
                  <g key={item.label}>
                    <rect x={c.x} y={item.y} width={c.width} height={28} rx={5} className="task-box" />
                    <rect
                      x={c.x}
                      y={item.y + 24}
                      width={(c.width * done) / Math.max(1, item.count)}
                      height={4}
                      className="task-progress"
                    />
                    <text x={c.x + 8} y={item.y + 18} className="task-label">
                      {item.label.length > 22 ? `${item.label.slice(0, 21)}…` : item.label}
                      <title>{item.label}</title>
                    </text>
                    <text x={c.x + c.width - 8} y={item.y + 18} textAnchor="end" className="task-count">
                      {stages.some((s) => s.some((t) => t.status)) ? `${done}/${item.count}` : `×${item.count}`}
                    </text>
                  </g>
                );
              })}
            </g>
          ))}
        </svg>
      </div>
      <figcaption>
        {p.columns.length} stages; each starts when the one before it is done
      </figcaption>
    </figure>
  );
}
