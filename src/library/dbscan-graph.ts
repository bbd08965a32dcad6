// DBSCAN from npm `density-clustering` over a precomputed neighbour graph (cluster.ts's
// neighbourGraph): the library's own run (visiting order, expansion, noise) with its region
// query and merge replaced by look-ups in the graph, so that a run is linear in the graph's
// size instead of quadratic in the faces. Platform-neutral.
// density-clustering ships no type declarations (and @types/density-clustering is not a
// dependency): the part used is typed by `Dbscan` below.
// @ts-expect-error -- untyped CommonJS module
import densityClustering from 'density-clustering';

interface Dbscan {
  run(dataset: number[], epsilon: number, minPts: number, distance: (a: number, b: number) => number): number[][];
}
const DBSCAN = (densityClustering as { DBSCAN: new () => Dbscan }).DBSCAN;

/**
 * density-clustering's DBSCAN over a precomputed neighbour graph, through its protected hooks
 * (the library marks them `@access protected`): its own `_regionQuery` asks distance(p, q)
 * for every row q, O(n^2) for n faces (an hour at a few hundred thousand faces), and its
 * `_mergeArrays` looks each new neighbour up in the growing list, O(size^2) for a large
 * cluster. Here a region is the row itself and its graph neighbours, ascending (what the
 * original returns for the same graph), and the merge keeps a set beside each list, so a run
 * is O(n x maxNeighbours). The library's visiting order, expansion and noise are unchanged.
 */
function graphDbscan(graph: { rows: Int32Array[] }): new () => Dbscan {
  const region = (p: number): number[] => {
    const r = Array.from(graph.rows[p]);
    r.push(p);
    return r.sort((a, b) => a - b);
  };
  const members = new WeakMap<number[], Set<number>>();
  return class extends DBSCAN {
    _regionQuery(pointId: number): number[] {
      return region(pointId);
    }
    _mergeArrays(a: number[], b: number[]): number[] {
      let s = members.get(a);
      if (!s) members.set(a, (s = new Set(a)));
      for (const p of b) {
        if (!s.has(p)) {
          s.add(p);
          a.push(p);
        }
      }
      return a;
    }
  } as unknown as new () => Dbscan;
}

/** DBSCAN (density-clustering) over a neighbour graph: clusters of rows, in the library's order. */
export function dbscanOnGraph(graph: { rows: Int32Array[]; distances: Float32Array[] }, epsilon: number, minSamples: number): number[][] {
  const n = graph.rows.length;
  // The graph holds only neighbours closer than epsilon; the distance is never asked.
  const unused = (): number => {
    throw new Error('dbscanOnGraph: the neighbour graph answers every region query');
  };
  const Graph = graphDbscan(graph);
  return new Graph().run(Array.from({ length: n }, (_, i) => i), epsilon, minSamples, unused);
}

