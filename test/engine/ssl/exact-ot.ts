/**
 * Exact optimal transport for tiny problems (tests only), by enumerating the vertices of the
 * transportation polytope U(r, c).
 *
 * A vertex (basic feasible solution) of {π ≥ 0 : π1 = r, πᵀ1 = c} has its support on the edges of a
 * spanning tree of the complete bipartite graph rows × columns (n + m − 1 edges, no cycle), and the
 * tree fixes the flows: peel a leaf, its one edge must carry the leaf's remaining mass. The LP minimum
 * ⟨π, M⟩ is attained at a vertex, so the minimum over all spanning trees with non-negative flows is
 * the exact EMD. C(nm, n+m−1) subsets: 11,440 for 4×4, fine for n, m ≤ 4.
 */
export interface ExactOt {
  cost: number;
  plan: number[][];
}

function* combinations(size: number, k: number): Generator<number[]> {
  const idx = Array.from({ length: k }, (_, i) => i);
  while (true) {
    yield idx.slice();
    let i = k - 1;
    while (i >= 0 && idx[i] === size - k + i) i--;
    if (i < 0) return;
    idx[i]++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1] + 1;
  }
}

function isSpanningTree(edges: [number, number][], nodes: number): boolean {
  const parent = Array.from({ length: nodes }, (_, i) => i);
  const find = (a: number): number => (parent[a] === a ? a : (parent[a] = find(parent[a])));
  for (const [a, b] of edges) {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return false; // a cycle; with nodes − 1 edges and no cycle the graph is connected
    parent[ra] = rb;
  }
  return true;
}

/** Flows on the tree's edges that meet the marginals (unique); node i < n is row i, node n + j is column j. */
function treeFlows(edges: [number, number][], mass: number[]): number[] {
  const remaining = mass.slice();
  const flow = new Array<number>(edges.length).fill(NaN);
  const alive = new Set(edges.map((_, e) => e));
  const degree = new Array<number>(mass.length).fill(0);
  for (const [a, b] of edges) {
    degree[a]++;
    degree[b]++;
  }
  while (alive.size > 0) {
    let progressed = false;
    for (const e of alive) {
      const [a, b] = edges[e];
      const leaf = degree[a] === 1 ? a : degree[b] === 1 ? b : -1;
      if (leaf < 0) continue;
      const other = leaf === a ? b : a;
      flow[e] = remaining[leaf];
      remaining[leaf] = 0;
      remaining[other] -= flow[e];
      degree[a]--;
      degree[b]--;
      alive.delete(e);
      progressed = true;
      break;
    }
    if (!progressed) throw new Error('exact-ot: not a tree');
  }
  return flow;
}

export function exactOt(M: number[][], r: number[], c: number[]): ExactOt {
  const n = r.length;
  const m = c.length;
  if (M.length !== n || M.some((row) => row.length !== m)) throw new Error('exact-ot: M must be n × m');
  const sr = r.reduce((s, x) => s + x, 0);
  const sc = c.reduce((s, x) => s + x, 0);
  if (Math.abs(sr - sc) > 1e-12 * Math.max(1, sr)) throw new Error(`exact-ot: unequal masses ${sr} vs ${sc}`);
  if (n * m > 16) throw new Error('exact-ot: brute force is for n·m ≤ 16');
  const mass = [...r, ...c];
  let best: ExactOt = { cost: Infinity, plan: [] };
  for (const subset of combinations(n * m, n + m - 1)) {
    const edges = subset.map((k): [number, number] => [Math.floor(k / m), n + (k % m)]);
    if (!isSpanningTree(edges, n + m)) continue;
    const flow = treeFlows(edges, mass);
    if (flow.some((f) => f < -1e-12)) continue;
    let cost = 0;
    subset.forEach((k, e) => (cost += flow[e] * M[Math.floor(k / m)][k % m]));
    if (cost < best.cost) {
      const plan = Array.from({ length: n }, () => new Array<number>(m).fill(0));
      subset.forEach((k, e) => (plan[Math.floor(k / m)][k % m] = Math.max(0, flow[e])));
      best = { cost, plan };
    }
  }
  return best;
}
