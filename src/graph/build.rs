//! Loading: validation (each error names the files) and the derived
//! structure of Alembic's `RevisionMap`: children, dependents, heads, real
//! heads, bases, normalized dependencies and branch-label propagation.

use std::collections::HashMap;
use std::path::PathBuf;

use super::{CrossLaneLink, Error, Graph, IdMap, LabelOwner, Node};
use crate::revision::{validate_id, Revision};

/// Pushes `value` unless it is already present (keeps first position).
fn push_unique(list: &mut Vec<usize>, value: usize) {
    if !list.contains(&value) {
        list.push(value);
    }
}

impl Graph {
    /// Builds and validates the graph. `revisions` must be in load order:
    /// lanes in config order, files in file-name order within a lane.
    /// A revision whose lane is not in `lanes` adds that lane at the end.
    ///
    /// # Errors
    /// Duplicate ids, missing `down_revision`/`depends_on` targets, self
    /// loops, cycles, `down_revision` across lanes, duplicate branch labels
    /// (including a label equal to a lane name or an id), bad id characters;
    /// each error names the files involved.
    pub fn build(revisions: Vec<Revision>, lanes: &[String]) -> Result<Graph, Error> {
        let mut lane_names: Vec<String> = Vec::new();
        for lane in lanes.iter().chain(revisions.iter().map(|r| &r.lane)) {
            if !lane_names.contains(lane) {
                lane_names.push(lane.clone());
            }
        }
        let lane_index: HashMap<String, usize> = lane_names
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), i))
            .collect();

        check_each(&revisions)?;
        let by_id = index_ids(&revisions, &lane_index)?;
        let label_owner = index_labels(&revisions, &by_id, &lane_index)?;

        let mut nodes: Vec<Node> = vec![Node::default(); revisions.len()];
        for (i, rev) in revisions.iter().enumerate() {
            let node = &mut nodes[i];
            node.lane = lane_index.get(&rev.lane).copied().unwrap_or(0);
            for down in &rev.down_revisions {
                let Some(&p) = by_id.get(down) else {
                    return Err(Error::MissingDownRevision {
                        id: rev.id.clone(),
                        missing: down.clone(),
                        path: rev.path.clone(),
                    });
                };
                push_unique(&mut node.down, p);
            }
            for dep in &rev.depends_on {
                let targets = resolve_dependency(&revisions, &by_id, &label_owner, dep, i);
                if targets.is_empty() {
                    return Err(Error::MissingDependency {
                        id: rev.id.clone(),
                        missing: dep.clone(),
                        path: rev.path.clone(),
                    });
                }
                if targets.contains(&i) {
                    return Err(Error::DependencySelfLoop {
                        id: rev.id.clone(),
                        path: rev.path.clone(),
                    });
                }
                for t in targets {
                    push_unique(&mut node.deps, t);
                }
            }
        }
        check_lanes(&revisions, &nodes)?;
        link_children(&mut nodes);
        detect_cycles(&revisions, &nodes)?;
        normalize_dependencies(&mut nodes);

        let n = nodes.len();
        let heads = (0..n).filter(|&i| nodes[i].next.is_empty()).collect();
        let real_heads = (0..n).filter(|&i| nodes[i].all_next.is_empty()).collect();
        let bases = (0..n).filter(|&i| nodes[i].down.is_empty()).collect();

        let mut graph = Graph {
            revisions,
            lanes: lane_names,
            nodes,
            by_id,
            lane_index,
            label_owner,
            label_index: HashMap::new(),
            label_names: Vec::new(),
            prefix_keys: Vec::new(),
            heads,
            real_heads,
            bases,
        };
        graph.propagate_labels();
        graph.prefix_keys = graph.collect_prefix_keys();
        Ok(graph)
    }

    /// Map keys longer than three characters, in Alembic's map order: ids in
    /// load order, then labels.
    fn collect_prefix_keys(&self) -> Vec<(String, usize)> {
        let mut keys: Vec<(String, usize)> = self
            .revisions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        for (i, rev) in self.revisions.iter().enumerate() {
            keys.extend(rev.branch_labels.iter().map(|l| (l.clone(), i)));
        }
        keys.retain(|(k, _)| k.chars().count() > 3);
        keys
    }

    /// Branch-label propagation (alembic-semantics §1): a label goes to the
    /// declaring revision and all its versioned descendants; when those
    /// descendants form a clean line (no real branch point, no merge point),
    /// it also spreads down to the ancestors up to the nearest real branch
    /// point or merge point, which is not labelled.
    fn propagate_labels(&mut self) {
        // Indices in name order, so that a node's sorted index set is also
        // its names in sorted order (`labels` then needs no string sort).
        let mut names: Vec<&String> = self
            .revisions
            .iter()
            .flat_map(|rev| rev.branch_labels.iter())
            .collect();
        names.sort_unstable();
        names.dedup();
        self.label_names = names.into_iter().cloned().collect();
        self.label_index = self
            .label_names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i))
            .collect();
        if self.label_names.is_empty() {
            return;
        }
        let order = self.topological_order();
        let n = self.nodes.len();
        let mut labels: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &i in &order {
            let mut set: Vec<usize> = self.revisions[i]
                .branch_labels
                .iter()
                .filter_map(|l| self.label_index.get(l).copied())
                .collect();
            for &p in &self.nodes[i].down {
                set.extend(labels[p].iter().copied());
            }
            set.sort_unstable();
            set.dedup();
            labels[i] = set;
        }
        // `clean[i]`: i and its single line of descendants have neither a
        // real branch point nor a merge point.
        let mut clean = vec![false; n];
        for &i in order.iter().rev() {
            let node = &self.nodes[i];
            clean[i] = node.all_next.len() <= 1
                && node.down.len() <= 1
                && node.next.first().is_none_or(|&c| clean[c]);
        }
        let mut spread_done = vec![false; n];
        for &r in order.iter().rev() {
            if self.revisions[r].branch_labels.is_empty() || !clean[r] {
                continue;
            }
            let carried = labels[r].clone();
            let mut cursor = self.nodes[r].down.first().copied();
            while let Some(q) = cursor {
                let node = &self.nodes[q];
                if node.all_next.len() > 1 || node.down.len() > 1 || spread_done[q] {
                    break;
                }
                spread_done[q] = true;
                labels[q].extend(carried.iter().copied());
                labels[q].sort_unstable();
                labels[q].dedup();
                cursor = node.down.first().copied();
            }
        }
        for (node, set) in self.nodes.iter_mut().zip(labels) {
            node.labels = set;
        }
    }

    /// Every revision, parents (through down_revision and depends_on)
    /// before children; ties in load order.
    pub(super) fn topological_order(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let mut pending: Vec<usize> = self
            .nodes
            .iter()
            .map(|node| {
                node.down.len() + node.deps.iter().filter(|d| !node.down.contains(d)).count()
            })
            .collect();
        let mut ready: std::collections::VecDeque<usize> =
            (0..n).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_front() {
            order.push(i);
            for &c in &self.nodes[i].all_next {
                pending[c] = pending[c].saturating_sub(1);
                if pending[c] == 0 {
                    ready.push_back(c);
                }
            }
        }
        order
    }
}

/// Per-file checks: self-loops and id characters (Alembic checks these when
/// it constructs each revision).
fn check_each(revisions: &[Revision]) -> Result<(), Error> {
    for rev in revisions {
        if rev.down_revisions.contains(&rev.id) {
            return Err(Error::SelfLoop {
                id: rev.id.clone(),
                path: rev.path.clone(),
            });
        }
        if rev.depends_on.contains(&rev.id) {
            return Err(Error::DependencySelfLoop {
                id: rev.id.clone(),
                path: rev.path.clone(),
            });
        }
        validate_id(&rev.id).map_err(|message| Error::InvalidId {
            id: rev.id.clone(),
            path: rev.path.clone(),
            message,
        })?;
    }
    Ok(())
}

fn index_ids(revisions: &[Revision], lane_index: &HashMap<String, usize>) -> Result<IdMap, Error> {
    let mut by_id = IdMap::with_capacity_and_hasher(revisions.len(), Default::default());
    for (i, rev) in revisions.iter().enumerate() {
        if lane_index.contains_key(&rev.id) {
            return Err(Error::IdIsLaneName {
                id: rev.id.clone(),
                path: rev.path.clone(),
            });
        }
        if let Some(&first) = by_id.get(&rev.id) {
            return Err(Error::DuplicateId {
                id: rev.id.clone(),
                first: revisions[first].path.clone(),
                second: rev.path.clone(),
            });
        }
        by_id.insert(rev.id.clone(), i);
    }
    Ok(by_id)
}

fn index_labels(
    revisions: &[Revision],
    by_id: &IdMap,
    lane_index: &HashMap<String, usize>,
) -> Result<HashMap<String, usize>, Error> {
    let owner_of = |j: usize| LabelOwner::Revision {
        id: revisions[j].id.clone(),
        path: revisions[j].path.clone(),
    };
    let mut owners: HashMap<String, usize> = HashMap::new();
    for (i, rev) in revisions.iter().enumerate() {
        for label in &rev.branch_labels {
            let owner = if let Some(&j) = by_id.get(label) {
                Some(owner_of(j))
            } else if lane_index.contains_key(label) {
                Some(LabelOwner::Lane(label.clone()))
            } else {
                owners.get(label).map(|&j| owner_of(j))
            };
            if let Some(owner) = owner {
                return Err(Error::LabelClash {
                    label: label.clone(),
                    revision: rev.id.clone(),
                    path: rev.path.clone(),
                    owner,
                });
            }
            owners.insert(label.clone(), i);
        }
    }
    Ok(owners)
}

/// A `depends_on` entry: an exact id, a declared label, or a lane name (the
/// lane's bases, without the depending revision itself).
fn resolve_dependency(
    revisions: &[Revision],
    by_id: &IdMap,
    label_owner: &HashMap<String, usize>,
    dep: &str,
    from: usize,
) -> Vec<usize> {
    if let Some(&i) = by_id.get(dep).or_else(|| label_owner.get(dep)) {
        return vec![i];
    }
    revisions
        .iter()
        .enumerate()
        .filter(|(i, r)| *i != from && r.lane == dep && r.down_revisions.is_empty())
        .map(|(i, _)| i)
        .collect()
}

fn check_lanes(revisions: &[Revision], nodes: &[Node]) -> Result<(), Error> {
    for (i, node) in nodes.iter().enumerate() {
        for &p in &node.down {
            if nodes[p].lane != node.lane {
                let (rev, parent) = (&revisions[i], &revisions[p]);
                return Err(Error::CrossLaneDownRevision(Box::new(CrossLaneLink {
                    id: rev.id.clone(),
                    lane: rev.lane.clone(),
                    path: rev.path.clone(),
                    parent: parent.id.clone(),
                    parent_lane: parent.lane.clone(),
                    parent_path: parent.path.clone(),
                })));
            }
        }
    }
    Ok(())
}

/// Fills `next` and `all_next` (load order, since children are visited in
/// load order).
fn link_children(nodes: &mut [Node]) {
    for i in 0..nodes.len() {
        let down = nodes[i].down.clone();
        for &p in &down {
            push_unique(&mut nodes[p].next, i);
            push_unique(&mut nodes[p].all_next, i);
        }
        let deps = nodes[i].deps.clone();
        for &p in &deps {
            push_unique(&mut nodes[p].all_next, i);
        }
    }
}

/// Alembic's cycle detection: every revision must lie between a base and a
/// head, first through down_revision only, then through dependencies too.
fn detect_cycles(revisions: &[Revision], nodes: &[Node]) -> Result<(), Error> {
    let n = nodes.len();
    if n == 0 {
        return Ok(());
    }
    let as_error = |mut ids: Vec<usize>, all: bool| -> (Vec<String>, Vec<PathBuf>) {
        if !all {
            ids.sort_by(|&a, &b| revisions[a].id.cmp(&revisions[b].id));
        }
        (
            ids.iter().map(|&i| revisions[i].id.clone()).collect(),
            ids.iter().map(|&i| revisions[i].path.clone()).collect(),
        )
    };
    let down: Vec<Vec<usize>> = nodes.iter().map(|node| node.down.clone()).collect();
    let next: Vec<Vec<usize>> = nodes.iter().map(|node| node.next.clone()).collect();
    let heads: Vec<usize> = (0..n).filter(|&i| next[i].is_empty()).collect();
    let bases: Vec<usize> = (0..n).filter(|&i| down[i].is_empty()).collect();
    let all = heads.is_empty() || bases.is_empty();
    let bad = stuck(heads, bases, &down, &next);
    if !bad.is_empty() {
        let (ids, paths) = as_error(bad, all);
        return Err(Error::Cycle { ids, paths });
    }
    let all_down: Vec<Vec<usize>> = nodes
        .iter()
        .map(|node| {
            let mut v = node.down.clone();
            node.deps.iter().for_each(|&d| push_unique(&mut v, d));
            v
        })
        .collect();
    let all_next: Vec<Vec<usize>> = nodes.iter().map(|node| node.all_next.clone()).collect();
    let real_heads: Vec<usize> = (0..n).filter(|&i| all_next[i].is_empty()).collect();
    let real_bases: Vec<usize> = (0..n)
        .filter(|&i| down[i].is_empty() && revisions[i].depends_on.is_empty())
        .collect();
    let all = real_heads.is_empty() || real_bases.is_empty();
    let bad = stuck(real_heads, real_bases, &all_down, &all_next);
    if !bad.is_empty() {
        let (ids, paths) = as_error(bad, all);
        return Err(Error::DependencyCycle { ids, paths });
    }
    Ok(())
}

/// Revisions not both below a head and above a base (all of them when
/// there is no head or no base).
fn stuck(
    heads: Vec<usize>,
    bases: Vec<usize>,
    down: &[Vec<usize>],
    up: &[Vec<usize>],
) -> Vec<usize> {
    let n = down.len();
    if heads.is_empty() || bases.is_empty() {
        return (0..n).collect();
    }
    let below = reach(heads, down);
    let above = reach(bases, up);
    (0..n).filter(|&i| !(below[i] && above[i])).collect()
}

/// Nodes reachable from `starts` (inclusive) through `edges`.
fn reach(starts: Vec<usize>, edges: &[Vec<usize>]) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut stack = starts;
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        stack.extend(edges[i].iter().copied().filter(|&j| !seen[j]));
    }
    seen
}

/// Normalized dependencies: drop a dependency when a versioned ancestor
/// already depends on it. Only revisions whose dependency has another
/// dependent need an ancestor walk, so long chains stay linear.
fn normalize_dependencies(nodes: &mut [Node]) {
    let n = nodes.len();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in nodes.iter().enumerate() {
        for &d in &node.deps {
            dependents[d].push(i);
        }
    }
    let mut mark = vec![usize::MAX; n];
    for r in 0..n {
        let deps = nodes[r].deps.clone();
        let shared = deps.iter().any(|&t| dependents[t].iter().any(|&a| a != r));
        let norm: Vec<usize> = if shared {
            // Strict versioned ancestors of r, marked with r.
            let mut stack: Vec<usize> = nodes[r].down.clone();
            while let Some(a) = stack.pop() {
                if mark[a] == r {
                    continue;
                }
                mark[a] = r;
                stack.extend(nodes[a].down.iter().copied().filter(|&p| mark[p] != r));
            }
            deps.iter()
                .copied()
                .filter(|&t| !dependents[t].iter().any(|&a| a != r && mark[a] == r))
                .collect()
        } else {
            deps
        };
        let mut norm_down = nodes[r].down.clone();
        norm.iter().for_each(|&d| push_unique(&mut norm_down, d));
        nodes[r].norm_deps = norm;
        nodes[r].norm_down = norm_down;
    }
    for i in 0..n {
        let down = nodes[i].norm_down.clone();
        for p in down {
            nodes[p].norm_next.push(i);
        }
    }
}
