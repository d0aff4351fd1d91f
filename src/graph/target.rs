//! The target grammar (alembic-semantics §2): symbols, ids, prefixes,
//! labels and lanes before `@`, relative walks. Each function mirrors one
//! of Alembic's `RevisionMap` methods so that corner cases (which `@` splits,
//! which heads a walk starts from, which message wins) match.

use super::{Error, Graph, Unlocated};

/// A position a walk can reach besides "nothing" (`None`): a revision or
/// the `base` below every root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pos {
    /// Below the roots.
    Base,
    /// A revision.
    Rev(usize),
}

/// What the part before `@` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Branch {
    /// A revision (the one declaring a label, or an id/prefix): lineage is
    /// its ancestors and descendants.
    Rev(usize),
    /// A lane: lineage is the lane's revisions.
    Lane(usize),
}

/// A relative target `[branch@][symbol](+|-)N`, matched at the start of
/// the text like Alembic's regex (trailing text is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Relative<'a> {
    pub branch: Option<&'a str>,
    pub symbol: Option<&'a str>,
    /// The signed part as written (`+2`, `-1`, `-0`).
    pub relative: &'a str,
    pub negative: bool,
    pub count: u64,
}

impl Relative<'_> {
    /// Whether Alembic's `int(relative)` is below zero.
    pub fn is_down(&self) -> bool {
        self.negative && self.count > 0
    }

    /// The relative part formatted as a Python int (`-1`, `0`, `2`).
    pub fn as_int(&self) -> String {
        if self.is_down() {
            format!("-{}", self.count)
        } else {
            self.count.to_string()
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `(\w+)?([+-]\d+)` at the start of `text`.
fn match_tail(text: &str) -> Option<(Option<&str>, &str, bool, u64)> {
    let word_end = text.find(|c: char| !is_word(c)).unwrap_or(text.len());
    let rest = text.get(word_end..)?;
    let negative = match rest.chars().next()? {
        '+' => false,
        '-' => true,
        _ => return None,
    };
    let digits = rest.get(1..)?;
    let len = digits.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 {
        return None;
    }
    let count = digits.get(..len)?.parse::<u64>().unwrap_or(u64::MAX);
    let relative = rest.get(..1 + len)?;
    let symbol = (word_end > 0).then(|| text.get(..word_end)).flatten();
    Some((symbol, relative, negative, count))
}

/// Matches Alembic's `(?:(.+?)@)?(\w+)?((?:\+|-)\d+)` at the start.
pub(super) fn parse_relative(text: &str) -> Option<Relative<'_>> {
    for (at, _) in text.match_indices('@').filter(|(at, _)| *at > 0) {
        if let Some((symbol, relative, negative, count)) = text.get(at + 1..).and_then(match_tail) {
            return Some(Relative {
                branch: text.get(..at),
                symbol,
                relative,
                negative,
                count,
            });
        }
    }
    let (symbol, relative, negative, count) = match_tail(text)?;
    Some(Relative {
        branch: None,
        symbol,
        relative,
        negative,
        count,
    })
}

/// Python's `int(text) < 0` for the `branch@-N` form of `get_revisions`.
fn negative_int(text: &str) -> Option<u64> {
    let digits = text.trim().strip_prefix('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = digits.parse::<u64>().unwrap_or(u64::MAX);
    (value > 0).then_some(value)
}

/// A symbolic identifier after `_resolve_revision_number`.
pub(super) enum Symbolic<'a> {
    /// `head`, `heads`, `base` resolved to revisions.
    Revs(Vec<usize>),
    /// Anything else, to look up.
    Ident(&'a str),
}

/// Splits at the first `@`; an empty branch counts as none.
pub(super) fn split_branch(id: &str) -> (Option<&str>, &str) {
    match id.split_once('@') {
        Some((branch, rest)) if !branch.is_empty() => (Some(branch), rest),
        Some((_, rest)) => (None, rest),
        None => (None, id),
    }
}

impl Graph {
    pub(super) fn id_of(&self, i: usize) -> String {
        self.revisions[i].id.clone()
    }

    pub(super) fn ids_of(&self, list: &[usize]) -> Vec<String> {
        list.iter().map(|&i| self.id_of(i)).collect()
    }

    /// Ancestors of `starts`, inclusive, through down_revision (and
    /// dependencies when `deps`).
    pub(super) fn ancestors_mask(&self, starts: &[usize], deps: bool) -> Vec<bool> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = starts.to_vec();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            let node = &self.nodes[i];
            let edges = if deps { &node.norm_down } else { &node.down };
            stack.extend(edges.iter().copied().filter(|&p| !seen[p]));
        }
        seen
    }

    /// Descendants of `starts`, inclusive, through down_revision (and
    /// dependents when `deps`).
    pub(super) fn descendants_mask(&self, starts: &[usize], deps: bool) -> Vec<bool> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = starts.to_vec();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            let node = &self.nodes[i];
            let edges = if deps { &node.all_next } else { &node.next };
            stack.extend(edges.iter().copied().filter(|&c| !seen[c]));
        }
        seen
    }

    /// The revisions sharing lineage with a branch.
    pub(super) fn lineage(&self, branch: Branch, deps: bool) -> Vec<bool> {
        match branch {
            Branch::Rev(r) => {
                let mut mask = self.ancestors_mask(&[r], deps);
                let below = self.descendants_mask(&[r], deps);
                mask.iter_mut().zip(below).for_each(|(m, b)| *m |= b);
                mask
            }
            Branch::Lane(l) => {
                let members: Vec<usize> = (0..self.nodes.len())
                    .filter(|&i| self.nodes[i].lane == l)
                    .collect();
                if deps {
                    self.descendants_mask(&members, true)
                } else {
                    let mut mask = vec![false; self.nodes.len()];
                    members.iter().for_each(|&i| mask[i] = true);
                    mask
                }
            }
        }
    }

    /// Whether revision `i` carries branch name `name` (a propagated label,
    /// or its lane's name).
    pub(super) fn has_branch_name(&self, i: usize, name: &str) -> bool {
        if let Some(&lane) = self.lane_index.get(name) {
            return self.nodes[i].lane == lane;
        }
        self.label_index
            .get(name)
            .is_some_and(|l| self.nodes[i].labels.binary_search(l).is_ok())
    }

    /// The part before `@`: a lane, a label, an id, or a unique prefix.
    pub(super) fn resolve_branch(&self, name: &str) -> Result<Branch, Error> {
        if let Some(&lane) = self.lane_index.get(name) {
            return Ok(Branch::Lane(lane));
        }
        if let Some(&i) = self.label_owner.get(name).or_else(|| self.by_id.get(name)) {
            return Ok(Branch::Rev(i));
        }
        self.revision_for_ident(name, None)
            .map(Branch::Rev)
            .map_err(|_| Error::CantLocate {
                argument: name.to_string(),
                reason: Unlocated::NoSuchBranch,
            })
    }

    /// `targets` that share lineage with `branch`.
    pub(super) fn filter_lineage(
        &self,
        targets: &[usize],
        branch: &str,
    ) -> Result<Vec<usize>, Error> {
        let mask = self.lineage(self.resolve_branch(branch)?, false);
        Ok(targets.iter().copied().filter(|&t| mask[t]).collect())
    }

    /// One identifier: exact id or label, else a unique prefix of a key
    /// longer than three characters; with a branch, the result must share
    /// its lineage.
    pub(super) fn revision_for_ident(
        &self,
        ident: &str,
        branch: Option<&str>,
    ) -> Result<usize, Error> {
        let lineage = match branch {
            Some(b) => Some(self.lineage(self.resolve_branch(b)?, false)),
            None => None,
        };
        let in_lineage = |i: usize| lineage.as_ref().is_none_or(|m| m[i]);
        let locate = |reason| Error::CantLocate {
            argument: ident.to_string(),
            reason,
        };
        let exact = self
            .by_id
            .get(ident)
            .or_else(|| self.label_owner.get(ident));
        let rev = match exact {
            Some(&i) => i,
            None => {
                let matches: Vec<&(String, usize)> = self
                    .prefix_keys
                    .iter()
                    .filter(|(key, i)| key.starts_with(ident) && in_lineage(*i))
                    .collect();
                match matches.as_slice() {
                    [] => return Err(locate(Unlocated::NoMatch)),
                    [(_, i)] => *i,
                    several => {
                        let candidates = several
                            .iter()
                            .take(3)
                            .map(|(k, _)| format!("'{k}'"))
                            .collect();
                        return Err(locate(Unlocated::Ambiguous { candidates }));
                    }
                }
            }
        };
        if let Some(b) = branch {
            if !in_lineage(rev) {
                return Err(locate(Unlocated::NotInBranch {
                    revision: self.id_of(rev),
                    branch: b.to_string(),
                }));
            }
        }
        Ok(rev)
    }

    /// `head` / `BRANCH@head`. Without a branch: the head of every lane
    /// (an error when one lane has several), minus heads that another of
    /// them depends on.
    pub(super) fn head_of(&self, branch: Option<&str>) -> Result<Vec<usize>, Error> {
        if let Some(b) = branch {
            let heads = self.filter_lineage(&self.heads, b)?;
            if heads.len() > 1 {
                return Err(Error::MultipleHeads {
                    argument: format!("{b}@head"),
                    heads: self.ids_of(&heads),
                });
            }
            return Ok(heads);
        }
        let mut per_lane = Vec::new();
        for lane in 0..self.lanes.len() {
            let heads: Vec<usize> = self
                .heads
                .iter()
                .copied()
                .filter(|&h| self.nodes[h].lane == lane)
                .collect();
            if heads.len() > 1 {
                return Err(Error::MultipleHeads {
                    argument: "head".to_string(),
                    heads: self.ids_of(&self.heads),
                });
            }
            per_lane.extend(heads);
        }
        Ok(self.drop_implied(per_lane))
    }

    /// Removes revisions that are ancestors of another in the list.
    pub(super) fn drop_implied(&self, list: Vec<usize>) -> Vec<usize> {
        if list.len() < 2 {
            return list;
        }
        let mut below = vec![false; self.nodes.len()];
        for &i in &list {
            let parents = self.nodes[i].norm_down.clone();
            let mask = self.ancestors_mask(&parents, true);
            below.iter_mut().zip(mask).for_each(|(b, m)| *b |= m);
        }
        list.into_iter().filter(|&i| !below[i]).collect()
    }

    /// Alembic's `_resolve_revision_number`.
    pub(super) fn resolve_number<'a>(
        &self,
        id: &'a str,
    ) -> Result<(Symbolic<'a>, Option<&'a str>), Error> {
        let (branch, rest) = split_branch(id);
        let symbolic = match rest {
            "heads" => Symbolic::Revs(match branch {
                Some(b) => self.filter_lineage(&self.heads, b)?,
                None => self.real_heads.clone(),
            }),
            "head" => Symbolic::Revs(self.head_of(branch)?),
            "base" | "" => Symbolic::Revs(Vec::new()),
            other => Symbolic::Ident(other),
        };
        Ok((symbolic, branch))
    }

    /// Alembic's `get_revisions` for one identifier: may give several
    /// revisions (`heads`), none (`base`), and for `[branch@]-N` the result
    /// of walking down from each real head (possibly `base`, or `None` when
    /// the walk ran off).
    pub(super) fn get_revisions(&self, id: &str) -> Result<Vec<Option<Pos>>, Error> {
        let (symbolic, branch) = self.resolve_number(id)?;
        match symbolic {
            Symbolic::Revs(list) => Ok(list.into_iter().map(|i| Some(Pos::Rev(i))).collect()),
            Symbolic::Ident(ident) => {
                if let Some(steps) = negative_int(ident) {
                    let heads = self
                        .real_heads
                        .iter()
                        .copied()
                        .filter(|&h| branch.is_none_or(|b| self.has_branch_name(h, b)));
                    return heads
                        .map(|h| self.walk(Some(Pos::Rev(h)), steps, false, None, true))
                        .collect();
                }
                Ok(vec![Some(Pos::Rev(
                    self.revision_for_ident(ident, branch)?,
                ))])
            }
        }
    }

    /// Alembic's `get_revision`: at most one revision (`None` for base).
    pub(super) fn get_revision(&self, id: &str) -> Result<Option<usize>, Error> {
        let (symbolic, branch) = self.resolve_number(id)?;
        match symbolic {
            Symbolic::Revs(list) if list.len() > 1 => Err(Error::MultipleHeads {
                argument: id.to_string(),
                heads: self.ids_of(&list),
            }),
            Symbolic::Revs(list) => Ok(list.first().copied()),
            Symbolic::Ident(ident) => self.revision_for_ident(ident, branch).map(Some),
        }
    }

    /// `get_revision`, as a walk start.
    pub(super) fn start_of(&self, id: &str) -> Result<Option<Pos>, Error> {
        Ok(self.get_revision(id)?.map(Pos::Rev))
    }

    /// Alembic's `_walk`: `steps` edges up (children, filtered to the
    /// branch) or down (parents; below a root is `base`). From nothing, up
    /// starts at the bases and down at the heads. Exactly one candidate is
    /// needed per step. Running off the end gives `None` when
    /// `no_overwalk`, else the last position.
    pub(super) fn walk(
        &self,
        start: Option<Pos>,
        steps: u64,
        up: bool,
        branch: Option<Branch>,
        no_overwalk: bool,
    ) -> Result<Option<Pos>, Error> {
        // Past n + 2 steps every walk has run off; the result is the same.
        let steps = steps.min(self.nodes.len() as u64 + 2);
        let lineage = branch.filter(|_| up).map(|b| self.lineage(b, false));
        let mut current = start;
        for _ in 0..steps {
            let candidates: Vec<Pos> = if up {
                let ups: &[usize] = match current {
                    None => &self.bases,
                    Some(Pos::Rev(i)) => &self.nodes[i].next,
                    Some(Pos::Base) => &[],
                };
                ups.iter()
                    .copied()
                    .filter(|&i| lineage.as_ref().is_none_or(|m| m[i]))
                    .map(Pos::Rev)
                    .collect()
            } else {
                match current {
                    Some(Pos::Base) => Vec::new(),
                    None => self.heads.iter().map(|&i| Pos::Rev(i)).collect(),
                    Some(Pos::Rev(i)) if self.nodes[i].down.is_empty() => vec![Pos::Base],
                    Some(Pos::Rev(i)) => self.nodes[i].down.iter().map(|&p| Pos::Rev(p)).collect(),
                }
            };
            match candidates.as_slice() {
                [] => return Ok(if no_overwalk { None } else { current }),
                [one] => current = Some(*one),
                _ => return Err(Error::AmbiguousWalk),
            }
        }
        Ok(current)
    }

    /// Alembic's `_parse_upgrade_target`, with clear errors where Alembic
    /// crashes. `current` are the current heads; `strict` is
    /// `assert_relative_length` (false for history).
    pub(super) fn upgrade_targets(
        &self,
        current: &[usize],
        target: &str,
        strict: bool,
    ) -> Result<Vec<usize>, Error> {
        let Some(rel) = parse_relative(target) else {
            let found = self.get_revisions(target)?;
            return Ok(found
                .into_iter()
                .filter_map(|p| match p {
                    Some(Pos::Rev(i)) => Some(i),
                    _ => None,
                })
                .collect());
        };
        let reached = if !rel.negative && rel.count > 0 {
            let branch = rel.branch.map(|b| self.resolve_branch(b)).transpose()?;
            match rel.symbol {
                None => {
                    let start = self.upgrade_start(current, branch)?;
                    match self.walk(start, rel.count, true, branch, strict)? {
                        Some(pos) => pos,
                        None => {
                            return Err(Error::RelativeNotProduced {
                                relative: rel.relative.to_string(),
                                count: rel.count,
                            })
                        }
                    }
                }
                Some(symbol) => {
                    let start = self.start_of(symbol)?;
                    match self.walk(start, rel.count, true, branch, strict)? {
                        Some(pos) => pos,
                        None => {
                            return Err(Error::WalkPastHead {
                                target: target.to_string(),
                            })
                        }
                    }
                }
            }
        } else {
            let Some(symbol) = rel.symbol else {
                return Err(Error::RelativeNotProduced {
                    relative: rel.as_int(),
                    count: rel.count,
                });
            };
            let start = match rel.branch {
                Some(b) => self.start_of(&format!("{b}@{symbol}"))?,
                None => self.start_of(symbol)?,
            };
            match self.walk(start, rel.count, false, None, strict)? {
                Some(Pos::Rev(i)) => Pos::Rev(i),
                Some(Pos::Base) if !strict => return Ok(Vec::new()),
                _ => {
                    return Err(Error::WalkToBase {
                        target: target.to_string(),
                    })
                }
            }
        };
        Ok(match reached {
            Pos::Rev(i) => vec![i],
            Pos::Base => Vec::new(),
        })
    }

    /// Members of the closure of `current` that have no versioned child in
    /// it, load order.
    fn versioned_tips_below(&self, current: &[usize]) -> Vec<usize> {
        let closure = self.ancestors_mask(current, true);
        (0..self.nodes.len())
            .filter(|&i| closure[i] && !self.nodes[i].next.iter().any(|&c| closure[c]))
            .collect()
    }

    /// Where `+N` starts: the one current head (in the branch's lineage,
    /// else the tip of what is applied on the branch), or nothing.
    fn upgrade_start(
        &self,
        current: &[usize],
        branch: Option<Branch>,
    ) -> Result<Option<Pos>, Error> {
        let mut starts: Vec<usize> = current.to_vec();
        if let Some(b) = branch {
            let mask = self.lineage(b, false);
            starts.retain(|&i| mask[i]);
            if starts.is_empty() {
                let active = self.ancestors_mask(current, true);
                let members: Vec<usize> = (0..self.nodes.len())
                    .filter(|&i| active[i] && mask[i])
                    .collect();
                let mut covered = vec![false; self.nodes.len()];
                for &i in &members {
                    self.nodes[i]
                        .norm_down
                        .iter()
                        .for_each(|&p| covered[p] = true);
                }
                starts = members.into_iter().filter(|&i| !covered[i]).collect();
            }
        }
        match starts.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(Pos::Rev(*one))),
            _ => Err(Error::AmbiguousUpgrade),
        }
    }

    /// Alembic's `_parse_downgrade_target`: the branch filter (as text) and
    /// the target (`None`: base). `current` are the current heads, in any
    /// order; `recency` ranks them by apply order (higher: more recent).
    pub(super) fn downgrade_target(
        &self,
        current: &[usize],
        recency: &dyn Fn(usize) -> usize,
        target: &str,
    ) -> Result<(Option<String>, Option<usize>), Error> {
        let Some(rel) = parse_relative(target) else {
            let (branch, symbol) = match target.rsplit_once('@') {
                Some((b, s)) if !b.is_empty() => (Some(b.to_string()), s),
                Some((_, s)) => (None, s),
                None => (None, target),
            };
            return Ok((branch, self.get_revision(symbol)?));
        };
        if !rel.is_down() {
            let Some(symbol) = rel.symbol else {
                return Err(Error::RelativeNotProduced {
                    relative: rel.relative.to_string(),
                    count: rel.count,
                });
            };
            let branch = rel.branch.map(|b| self.resolve_branch(b)).transpose()?;
            let start = self.start_of(symbol)?;
            return match self.walk(start, rel.count, true, branch, true)? {
                Some(Pos::Rev(i)) => Ok((rel.branch.map(str::to_string), Some(i))),
                _ => Err(Error::WalkedTooFar),
            };
        }
        let not_produced = || Error::RelativeNotProduced {
            relative: rel.relative.to_string(),
            count: rel.count,
        };
        let (branch, symbol, relative_to_current) = match (rel.symbol, rel.branch) {
            (Some(symbol), branch) => (branch.map(str::to_string), symbol.to_string(), false),
            (None, Some(b)) => {
                let mut on_branch = self.filter_lineage(current, b)?;
                if on_branch.is_empty() {
                    // The branch's tip may be implied by a head of another
                    // branch that depends on it (Alembic's `_get_all_current`).
                    on_branch = self.filter_lineage(&self.versioned_tips_below(current), b)?;
                }
                match on_branch.as_slice() {
                    [] => return Err(not_produced()),
                    [one] => (Some(b.to_string()), self.id_of(*one), true),
                    several => {
                        return Err(Error::AmbiguousBranchDowngrade {
                            branch: b.to_string(),
                            heads: self.ids_of(several),
                        })
                    }
                }
            }
            (None, None) => {
                let Some(&latest) = current.iter().max_by_key(|&&i| recency(i)) else {
                    return Err(not_produced());
                };
                let id = self.id_of(latest);
                (Some(id.clone()), id, true)
            }
        };
        let start = match &branch {
            Some(b) => self.start_of(&format!("{b}@{symbol}"))?,
            None => self.start_of(&symbol)?,
        };
        match self.walk(start, rel.count, false, None, true)? {
            Some(Pos::Rev(i)) => Ok((branch, Some(i))),
            Some(Pos::Base) => Ok((branch, None)),
            None if relative_to_current => Err(not_produced()),
            None => Err(Error::WalkedTooFar),
        }
    }
}
