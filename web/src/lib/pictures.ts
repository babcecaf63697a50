// Geometry of the layout and plan pictures, kept apart from React so it can be tested.
import type { Schemas } from "../api/client";

/** Node squares drawn per group before the rest is summed up as "+N". */
export const MAX_NODES_DRAWN = 12;

const NODE = 26;
const GAP = 6;
const PAD = 12;
const HEADER = 22;
const LINE = 16;

export interface NodeBox {
  x: number;
  y: number;
  size: number;
}

export interface GroupBox {
  x: number;
  y: number;
  width: number;
  height: number;
  count: number;
  title: string;
  services: string[];
  nodes: NodeBox[];
  /** Nodes not drawn, shown as "+N". */
  more: number;
}

export interface LayoutPicture {
  width: number;
  height: number;
  groups: GroupBox[];
  total: number;
}

/**
 * The solved layout as one box per group of identical nodes: a title (count, hardware and
 * image type), the group's services, and one square per node (at most MAX_NODES_DRAWN).
 */
export function layoutPicture(groups: Schemas["LayoutGroup"][], width = 640): LayoutPicture {
  const inner = width - 2 * PAD;
  const perRow = Math.max(1, Math.floor((inner - 2 * PAD + GAP) / (NODE + GAP)));
  let y = PAD;
  const boxes: GroupBox[] = groups.map((g) => {
    const drawn = Math.min(g.count, MAX_NODES_DRAWN);
    const rows = Math.max(1, Math.ceil(drawn / perRow));
    const serviceLines = Math.max(1, Math.ceil(g.services.join(", ").length / 80));
    const nodesTop = y + HEADER + serviceLines * LINE + GAP;
    const nodes: NodeBox[] = Array.from({ length: drawn }, (_, i) => ({
      x: PAD + PAD + (i % perRow) * (NODE + GAP),
      y: nodesTop + Math.floor(i / perRow) * (NODE + GAP),
      size: NODE,
    }));
    const height = HEADER + serviceLines * LINE + GAP + rows * (NODE + GAP) + PAD;
    const box: GroupBox = {
      x: PAD,
      y,
      width: inner,
      height,
      count: g.count,
      title: `${g.count} × ${g.hardwaretype} · ${g.imagetype}`,
      services: g.services,
      nodes,
      more: g.count - drawn,
    };
    y += height + GAP;
    return box;
  });
  return {
    width,
    height: Math.max(y + PAD - GAP, 2 * PAD),
    groups: boxes,
    total: groups.reduce((n, g) => n + g.count, 0),
  };
}

export type TaskState = "pending" | "running" | "done" | "failed" | "dropped";

/** A planned or running task, as the DAG picture needs it. */
export interface DagTask {
  taskName: string;
  service: string;
  nodeId: string;
  status?: string;
}

export interface DagItem {
  /** `INSTALL redis` or `CREATE` for a node-level task. */
  label: string;
  count: number;
  states: Record<TaskState, number>;
  y: number;
}

export interface DagColumn {
  stage: number;
  x: number;
  width: number;
  title: string;
  items: DagItem[];
  state: TaskState;
}

export interface DagPicture {
  width: number;
  height: number;
  columns: DagColumn[];
  /** Each stage waits for the whole stage before it: one arrow per consecutive pair. */
  edges: { from: number; to: number }[];
}

const COLUMN = 176;
const COLUMN_GAP = 30;
const ITEM = 30;

export function taskState(status: string | undefined): TaskState {
  switch (status) {
    case "complete":
      return "done";
    case "in_progress":
      return "running";
    case "failed":
      return "failed";
    case "dropped":
    case "replaced":
      return "dropped";
    default:
      return "pending";
  }
}

function columnState(states: Record<TaskState, number>): TaskState {
  if (states.failed) return "failed";
  if (states.running) return "running";
  const live = states.done + states.pending;
  if (live > 0 && states.pending === 0) return "done";
  if (live === 0 && states.dropped > 0) return "dropped";
  return "pending";
}

/**
 * The plan as columns, one per stage, each listing its kinds of task (`CONFIGURE redis`)
 * with how many nodes run it and how many are done, running or failed.
 */
export function dagPicture(stages: DagTask[][]): DagPicture {
  let tallest = 0;
  const columns: DagColumn[] = stages.map((tasks, stage) => {
    const byLabel = new Map<string, DagItem>();
    const total: Record<TaskState, number> = { pending: 0, running: 0, done: 0, failed: 0, dropped: 0 };
    for (const t of tasks) {
      const label = t.service ? `${t.taskName} ${t.service}` : t.taskName;
      let item = byLabel.get(label);
      if (!item) {
        item = { label, count: 0, states: { pending: 0, running: 0, done: 0, failed: 0, dropped: 0 }, y: 0 };
        byLabel.set(label, item);
      }
      const state = taskState(t.status);
      item.count += 1;
      item.states[state] += 1;
      total[state] += 1;
    }
    const items = [...byLabel.values()];
    items.forEach((item, i) => (item.y = HEADER + PAD + i * (ITEM + GAP)));
    tallest = Math.max(tallest, items.length);
    return {
      stage,
      x: PAD + stage * (COLUMN + COLUMN_GAP),
      width: COLUMN,
      title: `Stage ${stage + 1}`,
      items,
      state: columnState(total),
    };
  });
  const edges = columns.slice(1).map((_, i) => ({ from: i, to: i + 1 }));
  return {
    width: Math.max(2 * PAD + columns.length * COLUMN + Math.max(0, columns.length - 1) * COLUMN_GAP, 2 * PAD),
    height: HEADER + 2 * PAD + tallest * (ITEM + GAP),
    columns,
    edges,
  };
}
