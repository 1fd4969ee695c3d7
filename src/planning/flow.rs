//! Maximum flow on real capacities: Dinic's algorithm (Dinic 1970) on `f64`.
//!
//! Each phase builds BFS levels on the residual graph from the source, then sends a blocking
//! flow along shortest paths with a non-recursive depth-first search that keeps a current arc
//! per node (so a long alternating path cannot overflow the stack). A residual capacity of
//! at most `epsilon` counts as zero: every augmentation then moves more than `epsilon` and
//! saturates at least one arc, which bounds the work exactly as for integers, O(V² E), and
//! keeps rounding dust from starting endless tiny augmentations. On integer capacities below
//! 2^53 with `epsilon < 1` every operation is exact, and so is the result. In general the
//! flow found is maximal up to `epsilon` per arc of a minimum cut.

/// A directed network with real capacities, arcs stored in pairs (arc `e` and its reverse
/// `e ^ 1`), adjacency in insertion order so that searches are reproducible.
pub(super) struct FlowNetwork {
    adjacency: Vec<Vec<usize>>,
    head: Vec<usize>,
    capacity: Vec<f64>,
    residual: Vec<f64>,
}

impl FlowNetwork {
    /// A network of `n_nodes` nodes and no arcs.
    pub(super) fn new(n_nodes: usize) -> FlowNetwork {
        FlowNetwork {
            adjacency: vec![Vec::new(); n_nodes],
            head: Vec::new(),
            capacity: Vec::new(),
            residual: Vec::new(),
        }
    }

    /// Adds an arc `from -> to` of the given capacity (finite, >= 0) and returns its id.
    pub(super) fn add_arc(&mut self, from: usize, to: usize, capacity: f64) -> usize {
        let arc = self.head.len();
        self.adjacency[from].push(arc);
        self.head.push(to);
        self.capacity.push(capacity);
        self.residual.push(capacity);
        self.adjacency[to].push(arc + 1);
        self.head.push(from);
        self.capacity.push(0.0);
        self.residual.push(0.0);
        arc
    }

    /// Flow on an arc added by `add_arc`, within [0, capacity].
    pub(super) fn flow(&self, arc: usize) -> f64 {
        (self.capacity[arc] - self.residual[arc]).clamp(0.0, self.capacity[arc])
    }

    /// Raises the flow from `source` to `sink` to a maximum (see the module docs for the
    /// meaning of `epsilon`) and returns its value.
    pub(super) fn max_flow(&mut self, source: usize, sink: usize, epsilon: f64) -> f64 {
        let n_nodes = self.adjacency.len();
        let mut level = vec![usize::MAX; n_nodes];
        let mut next_arc = vec![0; n_nodes];
        let mut queue = Vec::with_capacity(n_nodes);
        let mut path: Vec<usize> = Vec::new();
        let mut total = 0.0;
        if source == sink {
            return total;
        }
        while self.levels(source, sink, epsilon, &mut level, &mut queue) {
            next_arc.fill(0);
            while self.find_path(source, sink, epsilon, &level, &mut next_arc, &mut path) {
                let bottleneck = path
                    .iter()
                    .map(|&arc| self.residual[arc])
                    .fold(f64::INFINITY, f64::min);
                for &arc in &path {
                    self.residual[arc] -= bottleneck;
                    self.residual[arc ^ 1] += bottleneck;
                }
                total += bottleneck;
            }
        }
        total
    }

    /// BFS distances from `source` over arcs with residual above `epsilon`; true if `sink`
    /// is reachable.
    fn levels(
        &self,
        source: usize,
        sink: usize,
        epsilon: f64,
        level: &mut [usize],
        queue: &mut Vec<usize>,
    ) -> bool {
        level.fill(usize::MAX);
        queue.clear();
        level[source] = 0;
        queue.push(source);
        let mut front = 0;
        while let Some(&node) = queue.get(front) {
            front += 1;
            for &arc in &self.adjacency[node] {
                let next = self.head[arc];
                if self.residual[arc] > epsilon && level[next] == usize::MAX {
                    level[next] = level[node] + 1;
                    queue.push(next);
                }
            }
        }
        level[sink] != usize::MAX
    }

    /// Depth-first search in the level graph for a `source -> sink` path, left in `path` as
    /// arcs. Arcs that lead nowhere are skipped for the rest of the phase via `next_arc`.
    fn find_path(
        &self,
        source: usize,
        sink: usize,
        epsilon: f64,
        level: &[usize],
        next_arc: &mut [usize],
        path: &mut Vec<usize>,
    ) -> bool {
        path.clear();
        let mut node = source;
        while node != sink {
            let mut advanced = false;
            while let Some(&arc) = self.adjacency[node].get(next_arc[node]) {
                let next = self.head[arc];
                if self.residual[arc] > epsilon && level[next] == level[node] + 1 {
                    path.push(arc);
                    node = next;
                    advanced = true;
                    break;
                }
                next_arc[node] += 1;
            }
            if !advanced {
                // Dead end: retreat one arc and never try that arc again in this phase.
                let Some(arc) = path.pop() else {
                    return false;
                };
                node = self.head[arc ^ 1];
                next_arc[node] += 1;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_network_has_its_known_maximum() {
        // Cormen et al., Introduction to Algorithms, figure 26.1: maximum flow 23.
        let arcs = [
            (0, 1, 16.0),
            (0, 2, 13.0),
            (2, 1, 4.0),
            (1, 3, 12.0),
            (3, 2, 9.0),
            (2, 4, 14.0),
            (4, 3, 7.0),
            (3, 5, 20.0),
            (4, 5, 4.0),
        ];
        let mut network = FlowNetwork::new(6);
        let ids: Vec<usize> = arcs
            .iter()
            .map(|&(from, to, capacity)| network.add_arc(from, to, capacity))
            .collect();
        assert_eq!(network.max_flow(0, 5, 1e-9), 23.0);
        // Conservation at every inner node.
        for node in 1..5 {
            let net: f64 = arcs
                .iter()
                .zip(&ids)
                .map(|(&(from, to, _), &id)| {
                    let flow = network.flow(id);
                    if to == node {
                        flow
                    } else if from == node {
                        -flow
                    } else {
                        0.0
                    }
                })
                .sum();
            assert_eq!(net, 0.0, "node {node}");
        }
    }

    #[test]
    fn later_phases_use_longer_paths() {
        // Phase one saturates 0-1-3 (0.5) and 0-2-3 (0.25); phase two adds 0.75 on 0-1-2-3.
        let mut network = FlowNetwork::new(4);
        network.add_arc(0, 1, 1.5);
        network.add_arc(0, 2, 0.25);
        network.add_arc(1, 2, 1.5);
        network.add_arc(1, 3, 0.5);
        network.add_arc(2, 3, 1.0);
        assert!((network.max_flow(0, 3, 1e-12) - 1.5).abs() < 1e-12);
        assert_eq!(network.max_flow(0, 3, 1e-12), 0.0);
    }
}
