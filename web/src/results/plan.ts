// PostgreSQL's EXPLAIN in its text format as a tree: each "->" line is a node under the nearest node indented
// less; other lines (Filter:, Sort Key:, Buffers: ...) belong to the node above them, and the lines after the plan
// (Planning Time:, Execution Time:) to the plan itself.

export interface PlanNode {
  /** What the node does, e.g. "Seq Scan on harbours". */
  label: string;
  /** The planner's estimate: startup and total cost, rows, row width. */
  cost?: { startup: number; total: number; rows: number; width: number };
  /** With EXPLAIN ANALYZE: time to the first and the last row (ms), rows, loops. */
  actual?: { first: number; last: number; rows: number; loops: number };
  /** "Filter: …", "Sort Key: …" and the like. */
  details: string[];
  children: PlanNode[];
}

export interface Plan {
  root: PlanNode;
  /** Lines after the plan: "Planning Time: 0.1 ms", "Execution Time: 0.2 ms". */
  summary: string[];
}

const COST = /\(cost=([\d.]+)\.\.([\d.]+) rows=(\d+) width=(\d+)\)/;
const ACTUAL = /\(actual time=([\d.]+)\.\.([\d.]+) rows=(\d+) loops=(\d+)\)/;
const NODE = /^(\s*)->\s+(.*)$/;

function node(text: string): PlanNode {
  const cost = COST.exec(text);
  const actual = ACTUAL.exec(text);
  const cut = [cost?.index, actual?.index, /\(actual rows=|\(never executed\)/.exec(text)?.index].filter((i): i is number => i !== undefined);
  return {
    label: (cut.length ? text.slice(0, Math.min(...cut)) : text).trim(),
    ...(cost ? { cost: { startup: Number(cost[1]), total: Number(cost[2]), rows: Number(cost[3]), width: Number(cost[4]) } } : {}),
    ...(actual ? { actual: { first: Number(actual[1]), last: Number(actual[2]), rows: Number(actual[3]), loops: Number(actual[4]) } } : {}),
    details: /\(never executed\)/.test(text) ? ['never executed'] : [],
    children: [],
  };
}

/** The plan these lines are, or null when they are not a text plan (the first line must carry a cost). */
export function parsePlan(lines: string[]): Plan | null {
  if (lines.length === 0 || !COST.test(lines[0]) || /^\s/.test(lines[0])) return null;
  const root = node(lines[0]);
  const summary: string[] = [];
  // Nodes by the column of their "->"; the root sits left of every child.
  const stack: { indent: number; node: PlanNode }[] = [{ indent: -1, node: root }];
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const m = NODE.exec(line);
    if (m) {
      const indent = m[1].length;
      while (stack.length > 1 && stack[stack.length - 1].indent >= indent) stack.pop();
      const child = node(m[2]);
      stack[stack.length - 1].node.children.push(child);
      stack.push({ indent, node: child });
      continue;
    }
    const indent = line.length - line.trimStart().length;
    if (indent === 0) {
      summary.push(line.trim());
      continue;
    }
    // A detail line is indented past its node's "->" (or past column 0 for the root).
    while (stack.length > 1 && stack[stack.length - 1].indent >= indent) stack.pop();
    stack[stack.length - 1].node.details.push(line.trim());
  }
  return { root, summary };
}

/** The plan of a result set that is EXPLAIN's text output: one column "QUERY PLAN" of text rows. */
export function planOf(set: { columns: { name: string }[]; rows: unknown[][] }): Plan | null {
  if (set.columns.length !== 1 || set.columns[0].name !== 'QUERY PLAN') return null;
  if (!set.rows.every((r) => typeof r[0] === 'string')) return null;
  return parsePlan(set.rows.map((r) => r[0] as string));
}
