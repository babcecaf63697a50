import { describe, expect, it } from "vitest";
import { MAX_NODES_DRAWN, dagPicture, layoutPicture, taskState } from "./pictures";

describe("layoutPicture", () => {
  const groups = [
    { hardwaretype: "small", imagetype: "debian", services: ["redis-primary"], count: 1 },
    { hardwaretype: "small", imagetype: "debian", services: ["redis-replica", "motd"], count: 3 },
  ];

  it("draws one box per group and one square per node", () => {
    const p = layoutPicture(groups);
    expect(p.groups).toHaveLength(2);
    expect(p.groups.map((g) => g.nodes.length)).toEqual([1, 3]);
    expect(p.total).toBe(4);
    expect(p.groups[1].title).toBe("3 × small · debian");
    expect(p.groups[1].services).toEqual(["redis-replica", "motd"]);
  });

  it("stacks boxes without overlap, inside the picture", () => {
    const p = layoutPicture(groups);
    const [a, b] = p.groups;
    expect(b.y).toBeGreaterThanOrEqual(a.y + a.height);
    expect(b.y + b.height).toBeLessThanOrEqual(p.height);
    for (const g of p.groups) {
      for (const n of g.nodes) {
        expect(n.x).toBeGreaterThanOrEqual(g.x);
        expect(n.x + n.size).toBeLessThanOrEqual(g.x + g.width);
        expect(n.y + n.size).toBeLessThanOrEqual(g.y + g.height);
      }
    }
  });

  it("sums up big groups instead of drawing every node", () => {
    const p = layoutPicture([{ hardwaretype: "h", imagetype: "i", services: [], count: 500 }]);
    expect(p.groups[0].nodes).toHaveLength(MAX_NODES_DRAWN);
    expect(p.groups[0].more).toBe(500 - MAX_NODES_DRAWN);
  });

  it("wraps node squares on a narrow picture", () => {
    const p = layoutPicture([{ hardwaretype: "h", imagetype: "i", services: ["s"], count: 10 }], 200);
    const rows = new Set(p.groups[0].nodes.map((n) => n.y));
    expect(rows.size).toBeGreaterThan(1);
  });

  it("is empty but valid for no groups", () => {
    const p = layoutPicture([]);
    expect(p.groups).toEqual([]);
    expect(p.height).toBeGreaterThan(0);
  });
});

describe("dagPicture", () => {
  const stages = [
    [
      { taskName: "CREATE", service: "", nodeId: "1" },
      { taskName: "CREATE", service: "", nodeId: "2" },
    ],
    [
      { taskName: "CONFIRM", service: "", nodeId: "1" },
      { taskName: "CONFIRM", service: "", nodeId: "2" },
    ],
    [
      { taskName: "INSTALL", service: "redis-primary", nodeId: "1" },
      { taskName: "INSTALL", service: "redis-replica", nodeId: "2" },
    ],
  ];

  it("makes one column per stage and groups tasks by kind and service", () => {
    const p = dagPicture(stages);
    expect(p.columns.map((c) => c.title)).toEqual(["Stage 1", "Stage 2", "Stage 3"]);
    expect(p.columns[0].items.map((i) => [i.label, i.count])).toEqual([["CREATE", 2]]);
    expect(p.columns[2].items.map((i) => i.label)).toEqual(["INSTALL redis-primary", "INSTALL redis-replica"]);
    expect(p.edges).toEqual([
      { from: 0, to: 1 },
      { from: 1, to: 2 },
    ]);
  });

  it("places columns left to right inside the picture", () => {
    const p = dagPicture(stages);
    for (let i = 1; i < p.columns.length; i++) {
      expect(p.columns[i].x).toBeGreaterThan(p.columns[i - 1].x + p.columns[i - 1].width);
    }
    const last = p.columns[p.columns.length - 1];
    expect(last.x + last.width).toBeLessThanOrEqual(p.width);
    const tallest = Math.max(...p.columns.flatMap((c) => c.items.map((i) => i.y)));
    expect(tallest).toBeLessThan(p.height);
  });

  it("colours stages by their tasks' states", () => {
    const live = [
      stages[0].map((t) => ({ ...t, status: "complete" })),
      [
        { ...stages[1][0], status: "complete" },
        { ...stages[1][1], status: "in_progress" },
      ],
      [
        { ...stages[2][0], status: "failed" },
        { ...stages[2][1], status: "not_submitted" },
      ],
      [{ taskName: "DELETE", service: "", nodeId: "1", status: "dropped" }],
    ];
    const p = dagPicture(live);
    expect(p.columns.map((c) => c.state)).toEqual(["done", "running", "failed", "dropped"]);
    expect(p.columns[1].items[0].states).toMatchObject({ done: 1, running: 1 });
  });

  it("maps task statuses", () => {
    expect(taskState("complete")).toBe("done");
    expect(taskState("replaced")).toBe("dropped");
    expect(taskState(undefined)).toBe("pending");
  });
});
