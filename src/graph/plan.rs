//! The public questions and plans: structure accessors, `resolve`,
//! `upgrade`, `downgrade`, `stamp`, `history`, and the parents of new
//! revisions. Plans work on the applied set (one row per applied revision)
//! where Alembic works on head rows; the current heads are the tips of the
//! applied set.

use super::target::{parse_relative, Pos};
use super::{Applied, Error, Graph, Range, StampPlan, StampStep, Unlocated};
use crate::revision::Revision;

/// One end of a history range after `current` is replaced.
enum End<'a> {
    Spec(&'a str),
    Revs(Vec<usize>),
}

impl Graph {
    /// Every revision, in load order.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// The configured lanes, in config order (plus lanes only revisions
    /// named, at the end).
    pub fn lanes(&self) -> &[String] {
        &self.lanes
    }

    /// The revision with exactly this id.
    pub fn get(&self, id: &str) -> Option<&Revision> {
        self.by_id.get(id).map(|&i| &self.revisions[i])
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    fn revs(&self, list: impl IntoIterator<Item = usize>) -> Vec<&Revision> {
        list.into_iter().map(|i| &self.revisions[i]).collect()
    }

    /// Versioned heads (no `down_revision` child), all lanes, load order.
    pub fn heads(&self) -> Vec<&Revision> {
        self.revs(self.heads.iter().copied())
    }

    /// Real heads (no child through `down_revision` or `depends_on`).
    pub fn real_heads(&self) -> Vec<&Revision> {
        self.revs(self.real_heads.iter().copied())
    }

    /// Versioned heads of one lane, load order (empty for an unknown lane).
    pub fn lane_heads(&self, lane: &str) -> Vec<&Revision> {
        let Some(&l) = self.lane_index.get(lane) else {
            return Vec::new();
        };
        self.revs(
            self.heads
                .iter()
                .copied()
                .filter(|&h| self.nodes[h].lane == l),
        )
    }

    /// Bases (no `down_revision`), all lanes, load order.
    pub fn bases(&self) -> Vec<&Revision> {
        self.revs(self.bases.iter().copied())
    }

    /// Whether `id` is a versioned head.
    pub fn is_head(&self, id: &str) -> bool {
        self.index(id)
            .is_some_and(|i| self.nodes[i].next.is_empty())
    }

    /// Whether `id` is a real head (nothing follows it, not even through
    /// `depends_on`).
    pub fn is_real_head(&self, id: &str) -> bool {
        self.index(id)
            .is_some_and(|i| self.nodes[i].all_next.is_empty())
    }

    /// Whether `id` is a versioned head that another revision depends on.
    pub fn is_effective_head(&self, id: &str) -> bool {
        self.index(id)
            .is_some_and(|i| self.nodes[i].next.is_empty() && !self.nodes[i].all_next.is_empty())
    }

    /// Whether `id` has more than one versioned child.
    pub fn is_branch_point(&self, id: &str) -> bool {
        self.index(id).is_some_and(|i| self.nodes[i].next.len() > 1)
    }

    /// Whether `id` has more than one `down_revision`.
    pub fn is_merge_point(&self, id: &str) -> bool {
        self.index(id).is_some_and(|i| self.nodes[i].down.len() > 1)
    }

    /// The branch labels of `id` after propagation (sorted: label indices
    /// are assigned in name order, and a node's indices are sorted).
    pub fn labels(&self, id: &str) -> Vec<String> {
        self.label_names(id).map(str::to_string).collect()
    }

    /// The branch labels of `id` after propagation, borrowed (same order as
    /// [`Graph::labels`]).
    pub fn label_names(&self, id: &str) -> impl Iterator<Item = &str> + '_ {
        let labels = self
            .index(id)
            .map_or(&[][..], |i| &self.nodes[i].labels[..]);
        labels
            .iter()
            .filter_map(|&l| self.label_names.get(l).map(String::as_str))
    }

    /// Versioned children of `id`, load order.
    pub fn children(&self, id: &str) -> Vec<&Revision> {
        self.index(id)
            .map(|i| self.revs(self.nodes[i].next.iter().copied()))
            .unwrap_or_default()
    }

    /// Revisions that list `id` in `depends_on` (directly, or through a
    /// label or lane), load order.
    pub fn dependents(&self, id: &str) -> Vec<&Revision> {
        let Some(i) = self.index(id) else {
            return Vec::new();
        };
        let node = &self.nodes[i];
        self.revs(
            node.all_next
                .iter()
                .copied()
                .filter(|c| !node.next.contains(c)),
        )
    }

    /// Branch points in history order (as `branches` prints them).
    pub fn branch_points(&self) -> Vec<&Revision> {
        let all = self.history(None, None).unwrap_or_default();
        all.into_iter()
            .filter(|r| self.is_branch_point(&r.id))
            .collect()
    }

    /// Resolves target identifiers (`head`, `heads`, `base`, ids, prefixes,
    /// labels, `LABEL@head`, `-N` from the heads, and relative forms
    /// walking from a symbol such as `head-1` or `LABEL@base+2`) to
    /// revisions, as `show` does. `base` gives nothing.
    ///
    /// # Errors
    /// Alembic's messages (`Can't locate revision identified by 'x'`, the
    /// multiple-heads message, `Ambiguous walk`, `Walked too far`, …).
    pub fn resolve(&self, target: &str) -> Result<Vec<&Revision>, Error> {
        if let Some(rel) = parse_relative(target).filter(|r| r.symbol.is_some()) {
            let symbol = rel.symbol.unwrap_or_default();
            let pos = if rel.is_down() {
                let start = match rel.branch {
                    Some(b) => self.start_of(&format!("{b}@{symbol}"))?,
                    None => self.start_of(symbol)?,
                };
                self.walk(start, rel.count, false, None, true)?
            } else {
                let branch = rel.branch.map(|b| self.resolve_branch(b)).transpose()?;
                let start = self.start_of(symbol)?;
                self.walk(start, rel.count, true, branch, true)?
            };
            return match pos {
                Some(Pos::Rev(i)) => Ok(vec![&self.revisions[i]]),
                Some(Pos::Base) => Ok(Vec::new()),
                None => Err(Error::WalkedTooFar),
            };
        }
        let mut out = Vec::new();
        for pos in self.get_revisions(target)? {
            match pos {
                Some(Pos::Rev(i)) => out.push(&self.revisions[i]),
                Some(Pos::Base) => {}
                None => {
                    let rel = parse_relative(target);
                    return Err(Error::RelativeNotProduced {
                        relative: rel.map(|r| r.relative.to_string()).unwrap_or_default(),
                        count: rel.map(|r| r.count).unwrap_or_default(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The one revision an offline range starts from (`FROM` of
    /// `upgrade --sql FROM:TO` / `downgrade --sql FROM:TO`); `None` for
    /// `base`.
    ///
    /// # Errors
    /// The multiple-heads message for the argument when it names several
    /// revisions (e.g. `heads` with two heads); resolution errors.
    pub fn resolve_start(&self, from: &str) -> Result<Option<&Revision>, Error> {
        Ok(self.get_revision(from)?.map(|i| &self.revisions[i]))
    }

    /// The applied set an offline script starting at `from` assumes: the
    /// revision and its ancestors (empty for `base`).
    ///
    /// # Errors
    /// As [`Graph::resolve_start`].
    pub fn start_state(&self, from: &str) -> Result<Applied, Error> {
        match self.get_revision(from)? {
            // Alembic accepts only the literal `base` here; `LABEL@base`
            // (or an empty id) crashes it, and "the branch is not applied"
            // says nothing about the rest of the database.
            None if from != "base" => Err(Error::StartNotARevision {
                start: from.to_string(),
            }),
            None => Ok(Applied::default()),
            Some(i) => Ok(self.closure_of(&[i])),
        }
    }

    /// Marks of the applied revisions that exist in the graph.
    fn applied_mask(&self, applied: &Applied) -> Vec<bool> {
        let mut mask = vec![false; self.nodes.len()];
        for id in applied.ids() {
            if let Some(i) = self.index(id) {
                mask[i] = true;
            }
        }
        mask
    }

    /// Members of `mask` with no member among their descendants, load order.
    fn tips(&self, mask: &[bool]) -> Vec<usize> {
        let members: Vec<usize> = (0..self.nodes.len()).filter(|&i| mask[i]).collect();
        let parents: Vec<usize> = members
            .iter()
            .flat_map(|&i| self.nodes[i].norm_down.iter().copied())
            .collect();
        let below = self.ancestors_mask(&parents, true);
        members.into_iter().filter(|&i| !below[i]).collect()
    }

    /// Applied revisions none of whose descendants are applied (what
    /// `current` shows), load order. Ids unknown to the graph are ignored.
    pub fn current_heads(&self, applied: &Applied) -> Vec<&Revision> {
        let tips = self.tips(&self.applied_mask(applied));
        self.revs(tips)
    }

    /// `ids` plus every ancestor through `down_revision` and `depends_on`:
    /// the applied set implied by having `ids` applied, in upgrade order.
    ///
    /// # Errors
    /// An unknown id.
    pub fn closure(&self, ids: &[&str]) -> Result<Applied, Error> {
        let mut list = Vec::with_capacity(ids.len());
        for id in ids {
            list.push(self.index(id).ok_or_else(|| Error::CantLocate {
                argument: (*id).to_string(),
                reason: Unlocated::NoMatch,
            })?);
        }
        Ok(self.closure_of(&list))
    }

    fn closure_of(&self, list: &[usize]) -> Applied {
        let mask = self.ancestors_mask(list, true);
        let set: Vec<usize> = (0..self.nodes.len()).filter(|&i| mask[i]).collect();
        let mut order = self.sort_top_down(&set, list);
        order.reverse();
        Applied::from_ordered(self.ids_of(&order))
    }

    /// The error for targets of which one is an ancestor of another.
    fn check_overlap(&self, targets: &[usize]) -> Result<(), Error> {
        if targets.len() < 2 {
            return Ok(());
        }
        for &t in targets {
            let parents = self.nodes[t].norm_down.clone();
            let below = self.ancestors_mask(&parents, true);
            let others: Vec<usize> = targets
                .iter()
                .copied()
                .filter(|&o| o != t && below[o])
                .collect();
            if !others.is_empty() {
                return Err(Error::Overlap {
                    revision: self.id_of(t),
                    others: self.ids_of(&others),
                });
            }
        }
        Ok(())
    }

    /// The revisions `upgrade TARGET` runs from `applied`, in run order:
    /// what the targets need (ancestors through `down_revision` and
    /// `depends_on`) minus what is applied.
    ///
    /// # Errors
    /// Resolution and planning errors with Alembic's wording.
    pub fn plan_upgrade(&self, applied: &Applied, target: &str) -> Result<Vec<&Revision>, Error> {
        let mask = self.applied_mask(applied);
        let current = self.tips(&mask);
        let targets = self
            .upgrade_targets(&current, target, true)
            .map_err(|e| e.with_head_argument(target))?;
        self.check_overlap(&targets)?;
        let required = self.ancestors_mask(&targets, true);
        let set: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| required[i] && !mask[i])
            .collect();
        let mut order = self.sort_top_down(&set, &targets);
        order.reverse();
        Ok(self.revs(order))
    }

    /// The revisions `downgrade TARGET` reverts from `applied`, in run
    /// order: everything applied above the target, dependents included.
    /// `-1` with several current heads steps down from the most recently
    /// applied one.
    ///
    /// # Errors
    /// Resolution and planning errors with Alembic's wording.
    pub fn plan_downgrade(&self, applied: &Applied, target: &str) -> Result<Vec<&Revision>, Error> {
        let mask = self.applied_mask(applied);
        let current = self.tips(&mask);
        let rank = |i: usize| {
            let id = &self.revisions[i].id;
            applied.ids().iter().position(|a| a == id).unwrap_or(0)
        };
        let (branch, target_rev) = self
            .downgrade_target(&current, &rank, target)
            .map_err(|e| e.with_head_argument(target))?;
        let mut roots: Vec<usize> = match target_rev {
            None => self.bases.clone(),
            Some(t) => self.nodes[t].next.clone(),
        };
        if let Some(b) = branch.filter(|_| roots.len() > 1) {
            let within = match self.resolve_branch(&b)? {
                super::target::Branch::Rev(r) => self.ancestors_mask(&[r], false),
                lane => self.lineage(lane, false),
            };
            roots.retain(|&r| within[r]);
            if roots.is_empty() {
                return Err(Error::NotValidDowngradeTarget);
            }
        }
        let above = self.descendants_mask(&roots, true);
        let set: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| above[i] && mask[i])
            .collect();
        if let Some(t) = target_rev {
            if set.is_empty() && !current.contains(&t) {
                return Err(Error::NotBelowCurrent {
                    destination: target.to_string(),
                });
            }
        }
        Ok(self.revs(self.sort_top_down(&set, &current)))
    }

    /// What `stamp TARGETS…` changes in `applied`: per target, the current
    /// heads in its lineage are replaced by the target (or removed, for
    /// `base` / `LABEL@base`); a target in no current lineage is added as a
    /// new branch. The new applied set is what the remaining heads imply
    /// (kept as applied) plus the targets' closures. No targets means
    /// `base`.
    ///
    /// # Errors
    /// Resolution errors; `Multiple heads are present; please specify a
    /// single target revision`; targets of one lineage (`Requested revision
    /// X overlaps with other requested revisions Y`).
    pub fn plan_stamp(
        &self,
        applied: &Applied,
        targets: &[String],
    ) -> Result<StampPlan<'_>, Error> {
        let n = self.nodes.len();
        let mask = self.applied_mask(applied);
        let heads = self.tips(&mask);
        let mut removed = vec![false; n];
        let mut added: Vec<usize> = Vec::new();
        // Alembic's StampSteps: (heads replaced, destination).
        let mut moves: Vec<(Vec<usize>, Option<usize>)> = Vec::new();
        let base = ["base".to_string()];
        let targets = if targets.is_empty() {
            &base[..]
        } else {
            targets
        };
        for target in targets {
            let filtered = self.stamp_lineage_heads(&heads, target)?;
            let dests = self.stamp_dests(target)?;
            if dests.is_empty() {
                for &h in &filtered {
                    removed[h] = true;
                    moves.push((vec![h], None));
                }
                continue;
            }
            for d in dests {
                if added.contains(&d) {
                    continue;
                }
                added.push(d);
                if filtered.contains(&d) {
                    continue;
                }
                let below = self.ancestors_mask(&[d], true);
                let above = self.descendants_mask(&[d], true);
                if filtered.iter().any(|&h| below[h] || above[h]) {
                    filtered.iter().for_each(|&h| removed[h] = true);
                    moves.push((filtered.clone(), Some(d)));
                } else {
                    moves.push((Vec::new(), Some(d)));
                }
            }
        }
        self.check_overlap(&added)?;
        // The rows each step changes: the applied set after a step is what
        // the heads not yet replaced and the destinations so far imply.
        let mut rows = mask.clone();
        let mut gone = vec![false; n];
        let mut reached: Vec<usize> = Vec::new();
        let mut steps = Vec::with_capacity(moves.len());
        for (from, to) in moves {
            from.iter().for_each(|&h| gone[h] = true);
            reached.extend(to);
            let mut live: Vec<usize> = heads.iter().copied().filter(|&h| !gone[h]).collect();
            live.extend(reached.iter().copied());
            let next = self.ancestors_mask(&live, true);
            let remove: Vec<usize> = (0..n).filter(|&i| rows[i] && !next[i]).collect();
            let add: Vec<usize> = (0..n).filter(|&i| next[i] && !rows[i]).collect();
            let remove = self.sort_top_down(&remove, &heads);
            let mut add = self.sort_top_down(&add, &reached);
            add.reverse();
            steps.push(StampStep {
                from: self.ids_of(&from),
                to: to.map(|d| self.id_of(d)),
                remove: self.revs(remove),
                add: self.revs(add),
            });
            rows = next;
        }
        let kept: Vec<usize> = heads.iter().copied().filter(|&h| !removed[h]).collect();
        let keep = self.ancestors_mask(&kept, true);
        let new = self.ancestors_mask(&added, true);
        let remove: Vec<usize> = (0..n).filter(|&i| mask[i] && !keep[i] && !new[i]).collect();
        let add: Vec<usize> = (0..n).filter(|&i| new[i] && !mask[i]).collect();
        let remove = self.sort_top_down(&remove, &heads);
        let mut add = self.sort_top_down(&add, &added);
        add.reverse();
        Ok(StampPlan {
            remove: self.revs(remove),
            add: self.revs(add),
            steps,
        })
    }

    /// Alembic's `filter_for_lineage(heads, target, include_dependencies)`
    /// as `stamp` uses it: the heads related to the branch and revisions
    /// the target names (every head when it names none).
    fn stamp_lineage_heads(&self, heads: &[usize], target: &str) -> Result<Vec<usize>, Error> {
        let (symbolic, branch) = self.resolve_number(target).map_err(stamp_error)?;
        let mut shares = Vec::new();
        if let Some(b) = branch {
            shares.push(self.resolve_branch(b)?);
        }
        match symbolic {
            super::target::Symbolic::Revs(list) => {
                shares.extend(list.into_iter().map(super::target::Branch::Rev));
            }
            super::target::Symbolic::Ident(ident) => {
                shares.push(super::target::Branch::Rev(
                    self.revision_for_ident(ident, None)?,
                ));
            }
        }
        if shares.is_empty() {
            return Ok(heads.to_vec());
        }
        let mut mask = vec![false; self.nodes.len()];
        for share in shares {
            let lineage = self.lineage(share, true);
            mask.iter_mut().zip(lineage).for_each(|(m, l)| *m |= l);
        }
        Ok(heads.iter().copied().filter(|&h| mask[h]).collect())
    }

    fn stamp_dests(&self, target: &str) -> Result<Vec<usize>, Error> {
        let found = self.get_revisions(target).map_err(stamp_error)?;
        Ok(found
            .into_iter()
            .filter_map(|p| match p {
                Some(Pos::Rev(i)) => Some(i),
                _ => None,
            })
            .collect())
    }

    /// The revisions `history -r RANGE` lists, newest first. `applied` is
    /// needed only when an end of the range is `current`.
    ///
    /// # Errors
    /// Range errors with Alembic's wording; `current` without `applied`.
    pub fn history(
        &self,
        range: Option<&Range>,
        applied: Option<&Applied>,
    ) -> Result<Vec<&Revision>, Error> {
        let end = range.and_then(|r| r.end.as_deref());
        self.history_inner(range, applied)
            .map_err(|e| e.with_head_argument(end.unwrap_or("heads")))
    }

    fn history_inner<'a>(
        &self,
        range: Option<&'a Range>,
        applied: Option<&Applied>,
    ) -> Result<Vec<&Revision>, Error> {
        let start = range.and_then(|r| r.start.as_deref());
        let end = range.and_then(|r| r.end.as_deref());
        let current_tips = || -> Result<Vec<usize>, Error> {
            let applied = applied.ok_or(Error::CurrentNeedsDatabase)?;
            Ok(self.tips(&self.applied_mask(applied)))
        };
        let side = |value: Option<&'a str>, default: &'static str| -> Result<End<'a>, Error> {
            Ok(match value {
                Some("current") => match current_tips()? {
                    tips if tips.is_empty() => End::Spec(default),
                    tips => End::Revs(tips),
                },
                Some(text) => End::Spec(text),
                None => End::Spec(default),
            })
        };
        let lower = side(start, "base")?;
        let upper = side(end, "heads")?;
        let mut targets = match &upper {
            End::Revs(list) => list.clone(),
            End::Spec(text) => {
                let from = match &lower {
                    End::Revs(list) => list.clone(),
                    End::Spec(l) => self.plain_revs(l)?,
                };
                self.upgrade_targets(&from, text, false)?
            }
        };
        if let End::Spec(l) = &lower {
            if let Some((branch, _)) = l.split_once('@') {
                targets = self.filter_by_branch_name(targets, branch)?;
            }
        }
        self.check_overlap(&targets)?;
        let required = self.ancestors_mask(&targets, true);
        let not_ancestor = || Error::RangeNotAncestor {
            start: start.unwrap_or("base").to_string(),
            end: end.unwrap_or("heads").to_string(),
        };
        let current = match &lower {
            End::Revs(list) => list.clone(),
            End::Spec(l) => self.history_lower(l, &upper)?.ok_or_else(not_ancestor)?,
        };
        if current.iter().any(|&c| !required[c]) {
            return Err(not_ancestor());
        }
        // Alembic collects the lower end's ancestors with `check=True`, so
        // two lower revisions of one lineage (`-1:` walking down from
        // several heads) are refused like overlapping targets.
        self.check_overlap(&current)?;
        let below = self.ancestors_mask(&current, true);
        let mut needs: Vec<bool> = required.iter().zip(&below).map(|(r, b)| *r && !b).collect();
        current.iter().for_each(|&c| needs[c] = true);
        if !current.is_empty() {
            let above = self.descendants_mask(&current, false);
            needs.iter_mut().zip(above).for_each(|(n, a)| *n &= a);
        }
        let set: Vec<usize> = (0..self.nodes.len()).filter(|&i| needs[i]).collect();
        if !self.covers(&set, &targets) {
            // Some listed revisions are reachable from the upper end only
            // through `depends_on` of revisions the range leaves out
            // (`x1:` below a head that depends on x2). Alembic's sort
            // cannot reach them and fails with an AssertionError.
            return Err(Error::RangeThroughDependency {
                start: start.unwrap_or("base").to_string(),
                end: end.unwrap_or("heads").to_string(),
            });
        }
        Ok(self.revs(self.sort_top_down(&set, &targets)))
    }

    /// Revisions an identifier names, ignoring `base` and walk misses.
    fn plain_revs(&self, text: &str) -> Result<Vec<usize>, Error> {
        Ok(self
            .get_revisions(text)?
            .into_iter()
            .filter_map(|p| match p {
                Some(Pos::Rev(i)) => Some(i),
                _ => None,
            })
            .collect())
    }

    /// History's lower end: `get_revisions`, except that `-N` running off
    /// the graph counts down from the upper end and stops at base (Alembic's
    /// special case). `None` when a `-N` walk from a head reached base
    /// exactly: Alembic then finds `base` outside the required set and
    /// reports the range as not ancestor/descendant.
    fn history_lower(&self, lower: &str, upper: &End<'_>) -> Result<Option<Vec<usize>>, Error> {
        let found = self.get_revisions(lower)?;
        if found.first() != Some(&None) {
            if found.contains(&Some(Pos::Base)) {
                return Ok(None);
            }
            return Ok(Some(
                found
                    .into_iter()
                    .filter_map(|p| match p {
                        Some(Pos::Rev(i)) => Some(i),
                        _ => None,
                    })
                    .collect(),
            ));
        }
        let Some(rel) = parse_relative(lower) else {
            return Ok(Some(Vec::new()));
        };
        let start = match upper {
            End::Revs(list) => list.first().map(|&i| Pos::Rev(i)),
            End::Spec(text) => match rel.branch {
                Some(b) => self.start_of(&format!("{b}@{text}"))?,
                None => self.start_of(text)?,
            },
        };
        match self.walk(start, rel.count, false, None, false)? {
            Some(Pos::Rev(i)) => Ok(Some(vec![i])),
            _ => Ok(Some(Vec::new())),
        }
    }

    /// History's filter for a lower end `branch@…`: targets carrying the
    /// branch's name (a revision id stands for its one label).
    fn filter_by_branch_name(
        &self,
        targets: Vec<usize>,
        branch: &str,
    ) -> Result<Vec<usize>, Error> {
        if branch.is_empty() {
            return Ok(targets);
        }
        let mut names = vec![branch.to_string()];
        if !self.lane_index.contains_key(branch) {
            if let Some(i) = self.get_revision(branch)? {
                if self.revisions[i].id == branch {
                    names = self.labels(branch);
                }
            }
        }
        Ok(targets
            .into_iter()
            .filter(|&t| names.iter().any(|n| self.has_branch_name(t, n)))
            .collect())
    }

    /// Parents of a new revision in `lane` for `revision --head HEAD
    /// [--splice]`: `head` (default) is the lane's head, `base` a new root,
    /// `heads` a merge of the lane's heads, otherwise any target (`LABEL@head`,
    /// an id), which must be a head unless `splice`.
    ///
    /// # Errors
    /// Alembic's several-heads and not-a-head messages; a parent in another
    /// lane; an unknown lane.
    pub fn new_revision_parents(
        &self,
        lane: &str,
        head: &str,
        splice: bool,
    ) -> Result<Vec<String>, Error> {
        let Some(&l) = self.lane_index.get(lane) else {
            return Err(Error::UnknownLane {
                lane: lane.to_string(),
            });
        };
        let parents: Vec<usize> = match head {
            "head" => {
                let heads: Vec<usize> = self
                    .heads
                    .iter()
                    .copied()
                    .filter(|&h| self.nodes[h].lane == l)
                    .collect();
                if heads.len() > 1 {
                    return Err(Error::NewRevisionMultipleHeads {
                        heads: self.ids_of(&heads),
                    });
                }
                heads
            }
            "heads" => self.lane_real_heads(l),
            _ => match self.get_revisions(head) {
                Err(Error::MultipleHeads { heads, .. }) => {
                    return Err(Error::NewRevisionMultipleHeads { heads })
                }
                Err(e) => return Err(e),
                Ok(found) => found
                    .into_iter()
                    .filter_map(|p| match p {
                        Some(Pos::Rev(i)) => Some(i),
                        _ => None,
                    })
                    .collect(),
            },
        };
        for &p in &parents {
            if self.nodes[p].lane != l {
                return Err(Error::ParentInOtherLane {
                    parent: self.id_of(p),
                    parent_lane: self
                        .lanes
                        .get(self.nodes[p].lane)
                        .cloned()
                        .unwrap_or_default(),
                    lane: lane.to_string(),
                });
            }
        }
        self.check_parents(&parents, splice)?;
        Ok(self.ids_of(&parents))
    }

    /// Heads of a lane that nothing in the same lane follows (equal to
    /// Alembic's real heads in a one-lane project).
    fn lane_real_heads(&self, lane: usize) -> Vec<usize> {
        self.heads
            .iter()
            .copied()
            .filter(|&h| self.nodes[h].lane == lane)
            .filter(|&h| {
                self.nodes[h]
                    .all_next
                    .iter()
                    .all(|&c| self.nodes[c].lane != lane)
            })
            .collect()
    }

    fn check_parents(&self, parents: &[usize], splice: bool) -> Result<(), Error> {
        let mut seen = std::collections::HashSet::new();
        if !parents.iter().all(|p| seen.insert(*p)) {
            return Err(Error::DuplicateHeads);
        }
        if !splice {
            if let Some(&p) = parents.iter().find(|&&p| !self.nodes[p].next.is_empty()) {
                return Err(Error::NotAHead {
                    revision: self.id_of(p),
                });
            }
        }
        Ok(())
    }

    /// Parents of a merge revision for `merge REVS… [--splice]`, in
    /// argument order. `heads` expands to the real heads in load order
    /// (with several lanes: the heads of the one lane that has several).
    ///
    /// # Errors
    /// `Duplicate head revisions specified`, not-a-head without splice,
    /// resolution errors, parents in different lanes.
    pub fn merge_parents(&self, revs: &[String], splice: bool) -> Result<Vec<String>, Error> {
        let mut parents = Vec::new();
        for rev in revs {
            if rev == "heads" {
                parents.extend(self.merge_heads()?);
            } else {
                parents.extend(self.plain_revs(rev)?);
            }
        }
        self.check_parents(&parents, splice)?;
        let mut lanes: Vec<usize> = parents.iter().map(|&p| self.nodes[p].lane).collect();
        lanes.sort_unstable();
        lanes.dedup();
        if lanes.len() > 1 {
            return Err(Error::MergeAcrossLanes {
                lanes: lanes
                    .iter()
                    .filter_map(|&l| self.lanes.get(l).cloned())
                    .collect(),
            });
        }
        Ok(self.ids_of(&parents))
    }

    /// `merge heads`: the lane-real heads of the one lane with heads, or of
    /// the one lane with several.
    fn merge_heads(&self) -> Result<Vec<usize>, Error> {
        let per_lane: Vec<Vec<usize>> = (0..self.lanes.len())
            .map(|l| self.lane_real_heads(l))
            .filter(|h| !h.is_empty())
            .collect();
        if per_lane.len() <= 1 {
            return Ok(per_lane.into_iter().flatten().collect());
        }
        let several: Vec<&Vec<usize>> = per_lane.iter().filter(|h| h.len() > 1).collect();
        match several.as_slice() {
            [one] => Ok((*one).clone()),
            _ => {
                let lanes = per_lane
                    .iter()
                    .filter(|h| several.is_empty() || h.len() > 1)
                    .filter_map(|h| h.first())
                    .filter_map(|&i| self.lanes.get(self.nodes[i].lane).cloned())
                    .collect();
                Err(Error::MergeAcrossLanes { lanes })
            }
        }
    }

    /// Expands a `--depends-on` token: a unique id prefix becomes the full
    /// id, a branch label (or lane name) stays as written.
    ///
    /// # Errors
    /// `Can't locate revision identified by 'x'`.
    pub fn expand_dependency(&self, token: &str) -> Result<String, Error> {
        if self.lane_index.contains_key(token) {
            return Ok(token.to_string());
        }
        let Some(i) = self.get_revision(token)? else {
            return Err(Error::CantLocate {
                argument: token.to_string(),
                reason: Unlocated::NoMatch,
            });
        };
        if self.has_branch_name(i, token) {
            Ok(token.to_string())
        } else {
            Ok(self.id_of(i))
        }
    }
}

/// `stamp` words the multiple-heads error its own way.
fn stamp_error(error: Error) -> Error {
    match error {
        Error::MultipleHeads { heads, .. } => Error::StampMultipleHeads { heads },
        other => other,
    }
}
