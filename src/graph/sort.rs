//! Alembic's head-following topological sort (alembic-semantics §5): the
//! order in which the revisions of a plan run. It is top-down (downgrade
//! order); upgrades reverse it.
//!
//! Alembic keeps an ancestor set per open head and asks, for every
//! candidate, whether another open head has it among its ancestors. Doing
//! that literally costs O(n) per merge or dependency. When the set to sort
//! is *convex* (nothing outside it lies between two of its members) and
//! every member lies below one of the given heads, which holds for every
//! upgrade and downgrade plan over a consistent applied set, the question
//! is equivalent to "does the candidate still have an unemitted child in
//! the set", answered by a counter, and the head to follow next is found by
//! a walk over the unemitted part only. [`Graph::sort_exact`] is the literal
//! algorithm, used otherwise (and as the reference in tests).

use super::Graph;

impl Graph {
    /// Sorts `set` top-down following `heads` exactly as Alembic does.
    pub(super) fn sort_top_down(&self, set: &[usize], heads: &[usize]) -> Vec<usize> {
        let n = self.nodes.len();
        let mut in_set = vec![false; n];
        let mut members = Vec::with_capacity(set.len());
        for &x in set {
            if !std::mem::replace(&mut in_set[x], true) {
                members.push(x);
            }
        }
        let mut open: Vec<usize> = heads.iter().copied().filter(|&h| in_set[h]).collect();
        open.sort_unstable();
        open.dedup();
        if self.fast_sort_applies(&in_set, &members, &open) {
            self.sort_fast(&in_set, members.len(), open)
        } else {
            self.sort_exact(&in_set, members.len(), open)
        }
    }

    /// Whether every member of `set` lies below (or is) one of `heads`
    /// inside the set, i.e. whether Alembic's sort, walking down from the
    /// heads through normalized down revisions that are still to do,
    /// reaches all of it. Alembic asserts this and crashes otherwise.
    pub(super) fn covers(&self, set: &[usize], heads: &[usize]) -> bool {
        let mut in_set = vec![false; self.nodes.len()];
        set.iter().for_each(|&i| in_set[i] = true);
        let mut reached = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = heads.iter().copied().filter(|&h| in_set[h]).collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut reached[i], true) {
                continue;
            }
            let parents = self.nodes[i].norm_down.iter().copied();
            stack.extend(parents.filter(|&p| in_set[p] && !reached[p]));
        }
        set.iter().all(|&i| reached[i])
    }

    /// Whether the set is convex and covered by the open heads.
    fn fast_sort_applies(&self, in_set: &[bool], members: &[usize], open: &[usize]) -> bool {
        let n = self.nodes.len();
        // Every member below (or equal to) an open head, inside the set.
        let mut covered = vec![false; n];
        let mut stack: Vec<usize> = open.to_vec();
        let mut count = 0;
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut covered[i], true) {
                continue;
            }
            count += 1;
            let parents = self.nodes[i].norm_down.iter();
            stack.extend(parents.copied().filter(|&p| in_set[p] && !covered[p]));
        }
        if count != members.len() {
            return false;
        }
        // Convex: no outsider is both above and below members.
        let above = self.reach_from(members, |i| &self.nodes[i].norm_next);
        let below = self.reach_from(members, |i| &self.nodes[i].norm_down);
        !(0..n).any(|i| !in_set[i] && above[i] && below[i])
    }

    fn reach_from<'a>(
        &'a self,
        starts: &[usize],
        edges: impl Fn(usize) -> &'a [usize],
    ) -> Vec<bool> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = starts.to_vec();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            stack.extend(edges(i).iter().copied().filter(|&j| !seen[j]));
        }
        seen
    }

    fn sort_fast(&self, in_set: &[bool], total: usize, mut open: Vec<usize>) -> Vec<usize> {
        let n = self.nodes.len();
        let mut waiting = vec![0usize; n];
        for x in (0..n).filter(|&x| in_set[x]) {
            for &p in &self.nodes[x].norm_down {
                if in_set[p] {
                    waiting[p] += 1;
                }
            }
        }
        let mut done = vec![false; n];
        let mut is_open = vec![false; n];
        open.iter().for_each(|&h| is_open[h] = true);
        let mut out = Vec::with_capacity(total);
        let mut idx = 0usize;
        loop {
            while !open.is_empty() {
                idx = idx.min(open.len() - 1);
                let c = open[idx];
                if waiting[c] > 0 {
                    match self.first_open_above(c, in_set, &done, &is_open, &open) {
                        Some(j) => idx = j,
                        None => {
                            // Cannot happen when the preconditions hold;
                            // dropping keeps the order valid regardless.
                            open.remove(idx);
                            is_open[c] = false;
                            idx = idx.saturating_sub(1);
                        }
                    }
                    continue;
                }
                if !done[c] {
                    done[c] = true;
                    out.push(c);
                    for &p in &self.nodes[c].norm_down {
                        if in_set[p] {
                            waiting[p] = waiting[p].saturating_sub(1);
                        }
                    }
                }
                let add: Vec<usize> = self.nodes[c]
                    .norm_down
                    .iter()
                    .copied()
                    .filter(|&p| in_set[p] && !done[p] && !is_open[p])
                    .collect();
                replace_head(&mut open, &mut is_open, &mut idx, c, &add);
            }
            if out.len() >= total {
                return out;
            }
            open = (0..n)
                .filter(|&x| in_set[x] && !done[x] && waiting[x] == 0)
                .collect();
            if open.is_empty() {
                return out;
            }
            open.iter().for_each(|&h| is_open[h] = true);
            idx = 0;
        }
    }

    /// The first position in `open` holding a head that has `c` among its
    /// ancestors, searching upward through unemitted members only.
    fn first_open_above(
        &self,
        c: usize,
        in_set: &[bool],
        done: &[bool],
        is_open: &[bool],
        open: &[usize],
    ) -> Option<usize> {
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<usize> = vec![c];
        let mut best: Option<usize> = None;
        while let Some(i) = stack.pop() {
            for &x in &self.nodes[i].norm_next {
                if in_set[x] && !done[x] && seen.insert(x) {
                    if is_open[x] {
                        let pos = open.iter().position(|&h| h == x);
                        best = match (best, pos) {
                            (Some(b), Some(p)) => Some(b.min(p)),
                            (b, p) => b.or(p),
                        };
                    }
                    stack.push(x);
                }
            }
        }
        best
    }

    /// The literal algorithm: ancestor sets (bitsets over the whole graph)
    /// per open head.
    pub(super) fn sort_exact(
        &self,
        in_set: &[bool],
        total: usize,
        mut open: Vec<usize>,
    ) -> Vec<usize> {
        let n = self.nodes.len();
        let mut todo: Vec<bool> = in_set.to_vec();
        let mut is_open = vec![false; n];
        open.iter().for_each(|&h| is_open[h] = true);
        let mut ancestors: Vec<Bits> = open.iter().map(|&h| self.ancestor_bits(h)).collect();
        let mut out = Vec::with_capacity(total);
        let mut idx = 0usize;
        loop {
            while !open.is_empty() {
                idx = idx.min(open.len() - 1);
                let c = open[idx];
                let above = (0..open.len()).find(|&j| j != idx && ancestors[j].get(c));
                if let Some(j) = above {
                    idx = j;
                    continue;
                }
                if todo[c] {
                    todo[c] = false;
                    out.push(c);
                }
                let node = &self.nodes[c];
                let add: Vec<usize> = node
                    .norm_down
                    .iter()
                    .copied()
                    .filter(|&p| todo[p] && !is_open[p])
                    .collect();
                match add.split_first() {
                    None => {
                        ancestors.remove(idx);
                    }
                    Some((&first, rest)) => {
                        if node.norm_deps.is_empty() && node.down.len() == 1 {
                            ancestors[idx].clear(c);
                        } else {
                            ancestors[idx] = self.ancestor_bits(first);
                            ancestors.extend(rest.iter().map(|&h| self.ancestor_bits(h)));
                        }
                    }
                }
                replace_head(&mut open, &mut is_open, &mut idx, c, &add);
            }
            if out.len() >= total {
                return out;
            }
            // Alembic asserts here; pick up what no head led to, tips first.
            let mut has_todo_child = vec![false; n];
            for x in (0..n).filter(|&x| todo[x]) {
                for &p in &self.nodes[x].norm_down {
                    has_todo_child[p] = true;
                }
            }
            open = (0..n).filter(|&x| todo[x] && !has_todo_child[x]).collect();
            if open.is_empty() {
                return out;
            }
            open.iter().for_each(|&h| is_open[h] = true);
            ancestors = open.iter().map(|&h| self.ancestor_bits(h)).collect();
            idx = 0;
        }
    }

    /// Ancestors of `h` (inclusive) through normalized edges.
    fn ancestor_bits(&self, h: usize) -> Bits {
        let mut bits = Bits::new(self.nodes.len());
        let mut stack = vec![h];
        while let Some(i) = stack.pop() {
            if bits.get(i) {
                continue;
            }
            bits.set(i);
            stack.extend(
                self.nodes[i]
                    .norm_down
                    .iter()
                    .copied()
                    .filter(|&p| !bits.get(p)),
            );
        }
        bits
    }
}

/// Replaces the open head `c` at `idx` by the parents to add (first in its
/// slot, the rest appended), or drops it and steps the index back.
fn replace_head(
    open: &mut Vec<usize>,
    is_open: &mut [bool],
    idx: &mut usize,
    c: usize,
    add: &[usize],
) {
    match add.split_first() {
        None => {
            open.remove(*idx);
            is_open[c] = false;
            *idx = idx.saturating_sub(1);
        }
        Some((&first, rest)) => {
            open[*idx] = first;
            is_open[c] = false;
            is_open[first] = true;
            for &h in rest {
                open.push(h);
                is_open[h] = true;
            }
        }
    }
}

/// A fixed-size bitset.
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn get(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    fn set(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
    fn clear(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w &= !(1 << (i % 64));
        }
    }
}
