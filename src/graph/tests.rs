//! Tests over the shapes Alembic's own suite uses: a linear chain, branch +
//! merge, two labelled bases with a dependency, an effective head, three
//! heads merged at once, and lanes with a cross-lane dependency. Orders and
//! messages are asserted exactly.

use std::path::PathBuf;

use super::*;
use crate::revision::FileFormat;

/// `[lane:]id [<down,down] [{dep,dep}] [[label,label]]`
fn rev(spec: &str) -> Revision {
    let (lane, rest) = match spec.split_once(':') {
        Some((lane, rest)) => (lane, rest),
        None => ("schema", spec),
    };
    let mut parts = rest.split_whitespace();
    let id = parts.next().unwrap_or_default().to_string();
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (mut down, mut deps, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for part in parts {
        if let Some(p) = part.strip_prefix('<') {
            down = list(p);
        } else if let Some(p) = part.strip_prefix('{') {
            deps = list(p.trim_end_matches('}'));
        } else if let Some(p) = part.strip_prefix('[') {
            labels = list(p.trim_end_matches(']'));
        }
    }
    Revision {
        path: PathBuf::from(format!("migrations/{lane}/{id}_x.toml")),
        id,
        down_revisions: down,
        branch_labels: labels,
        depends_on: deps,
        message: String::new(),
        created: None,
        transactional: true,
        template: false,
        upgrade: Vec::new(),
        downgrade: None,
        verify: Vec::new(),
        lane: lane.to_string(),
        text: crate::revision::checksum::FileText::default(),
        format: FileFormat::Toml,
    }
}

fn try_graph(specs: &[&str]) -> Result<Graph, Error> {
    Graph::build(
        specs.iter().map(|s| rev(s)).collect(),
        &["schema".to_string(), "data".to_string()],
    )
}

#[track_caller]
fn graph(specs: &[&str]) -> Graph {
    try_graph(specs).unwrap()
}

fn applied(ids: &[&str]) -> Applied {
    Applied::from_ordered(ids.iter().map(|s| s.to_string()).collect())
}

fn names(revs: Vec<&Revision>) -> Vec<String> {
    revs.into_iter().map(|r| r.id.clone()).collect()
}

#[track_caller]
fn up(g: &Graph, at: &[&str], target: &str) -> Vec<String> {
    names(g.plan_upgrade(&applied(at), target).unwrap())
}

#[track_caller]
fn down(g: &Graph, at: &[&str], target: &str) -> Vec<String> {
    names(g.plan_downgrade(&applied(at), target).unwrap())
}

#[track_caller]
fn up_err(g: &Graph, at: &[&str], target: &str) -> String {
    g.plan_upgrade(&applied(at), target)
        .unwrap_err()
        .to_string()
}

#[track_caller]
fn down_err(g: &Graph, at: &[&str], target: &str) -> String {
    g.plan_downgrade(&applied(at), target)
        .unwrap_err()
        .to_string()
}

#[track_caller]
fn hist(g: &Graph, range: &str, at: &[&str]) -> Result<Vec<String>, String> {
    let range = Range::parse(range).map_err(|e| e.to_string())?;
    g.history(Some(&range), Some(&applied(at)))
        .map(names)
        .map_err(|e| e.to_string())
}

fn v(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const CANT: &str = "Can't locate revision identified by";

// ----- linear chain ----------------------------------------------------

fn chain() -> Graph {
    graph(&["aa01", "aa02 <aa01", "aa03 <aa02", "aa04 <aa03"])
}

#[test]
fn chain_structure() {
    let g = chain();
    assert_eq!(names(g.heads()), v(&["aa04"]));
    assert_eq!(names(g.real_heads()), v(&["aa04"]));
    assert_eq!(names(g.bases()), v(&["aa01"]));
    assert!(g.is_head("aa04") && !g.is_head("aa03") && !g.is_effective_head("aa04"));
    assert_eq!(names(g.children("aa02")), v(&["aa03"]));
    assert!(g.branch_points().is_empty());
    assert_eq!(
        names(g.current_heads(&applied(&["aa01", "aa02"]))),
        v(&["aa02"])
    );
    assert_eq!(
        g.closure(&["aa03"]).unwrap().ids(),
        v(&["aa01", "aa02", "aa03"]).as_slice()
    );
    assert!(g.closure(&["zz"]).is_err());
}

#[test]
fn chain_upgrade_forms() {
    let g = chain();
    assert_eq!(up(&g, &[], "head"), v(&["aa01", "aa02", "aa03", "aa04"]));
    assert_eq!(up(&g, &[], "heads"), v(&["aa01", "aa02", "aa03", "aa04"]));
    assert_eq!(up(&g, &["aa01"], "+2"), v(&["aa02", "aa03"]));
    assert_eq!(up(&g, &[], "+1"), v(&["aa01"]));
    assert_eq!(up(&g, &[], "aa01+2"), v(&["aa01", "aa02", "aa03"]));
    assert_eq!(up(&g, &[], "head-1"), v(&["aa01", "aa02", "aa03"]));
    assert_eq!(up(&g, &[], "base+1"), v(&["aa01"]));
    assert_eq!(up(&g, &[], "aa03"), v(&["aa01", "aa02", "aa03"]));
    assert_eq!(
        up(&g, &["aa01", "aa02", "aa03"], "aa02"),
        Vec::<String>::new()
    );
    assert_eq!(up(&g, &[], "base"), Vec::<String>::new());
    // Three characters are enough when unique (Alembic resolves `fe0`).
    assert_eq!(up(&g, &[], "aa03")[2], "aa03");
}

#[test]
fn chain_upgrade_errors() {
    let g = chain();
    assert_eq!(
        up_err(&g, &["aa01"], "+9"),
        "Relative revision +9 didn't produce 9 migrations"
    );
    assert_eq!(
        up_err(&g, &[], "-1"),
        "Relative revision -1 didn't produce 1 migrations"
    );
    assert_eq!(
        up_err(&g, &[], "+0"),
        "Relative revision 0 didn't produce 0 migrations"
    );
    assert_eq!(up_err(&g, &[], "aa0"), format!("{CANT} 'aa0'"));
    assert_eq!(up_err(&g, &[], "zz"), format!("{CANT} 'zz'"));
    // Deliberate differences: Alembic crashes with AssertionError.
    assert_eq!(
        up_err(&g, &[], "aa02+5"),
        "Relative revision aa02+5 walks past the head of its branch"
    );
    assert_eq!(
        up_err(&g, &[], "head-4"),
        "Relative revision head-4 reaches base; there is nothing to upgrade to"
    );
    assert_eq!(
        up_err(&g, &[], "head-9"),
        "Relative revision head-9 reaches base; there is nothing to upgrade to"
    );
    let err = g.plan_upgrade(&applied(&[]), "aa0").unwrap_err();
    assert!(
        matches!(&err, Error::CantLocate { reason: Unlocated::Ambiguous { candidates }, .. } if candidates.len() == 3)
    );
    assert!(err.hint().unwrap_or_default().contains("type more"));
    let err = g.plan_upgrade(&applied(&[]), "zz").unwrap_err();
    assert!(err.hint().unwrap_or_default().contains("four characters"));
}

#[test]
fn chain_downgrade_forms() {
    let g = chain();
    let all = ["aa01", "aa02", "aa03", "aa04"];
    assert_eq!(down(&g, &all, "-1"), v(&["aa04"]));
    assert_eq!(down(&g, &all, "-2"), v(&["aa04", "aa03"]));
    assert_eq!(down(&g, &all, "base"), v(&["aa04", "aa03", "aa02", "aa01"]));
    assert_eq!(down(&g, &all, "aa02"), v(&["aa04", "aa03"]));
    assert_eq!(down(&g, &all, "base+2"), v(&["aa04", "aa03"]));
    assert_eq!(down(&g, &all, "aa03-1"), v(&["aa04", "aa03"]));
    assert_eq!(down(&g, &all, "head-3"), v(&["aa04", "aa03", "aa02"]));
    assert_eq!(
        down(&g, &all, "head-4"),
        v(&["aa04", "aa03", "aa02", "aa01"])
    );
    assert_eq!(down(&g, &all, "-4"), v(&["aa04", "aa03", "aa02", "aa01"]));
    assert_eq!(down(&g, &all, "aa04"), Vec::<String>::new());
    assert_eq!(
        down_err(&g, &all, "-9"),
        "Relative revision -9 didn't produce 9 migrations"
    );
    assert_eq!(
        down_err(&g, &all, "+1"),
        "Relative revision +1 didn't produce 1 migrations"
    );
    assert_eq!(
        down_err(&g, &all, "-0"),
        "Relative revision -0 didn't produce 0 migrations"
    );
    assert_eq!(
        down_err(&g, &[], "-1"),
        "Relative revision -1 didn't produce 1 migrations"
    );
    assert_eq!(down_err(&g, &all, "base+0"), "Walked too far");
    assert_eq!(down_err(&g, &all, "aa02+5"), "Walked too far");
    assert_eq!(down_err(&g, &all, "head-6"), "Walked too far");
    assert_eq!(
        down_err(&g, &["aa01", "aa02"], "aa04"),
        "Destination aa04 is not a valid downgrade target from current head(s)"
    );
    assert_eq!(down(&g, &["aa01", "aa02"], "aa03-1"), Vec::<String>::new());
    assert_eq!(
        down_err(&g, &["aa01"], "aa03-1"),
        "Destination aa03-1 is not a valid downgrade target from current head(s)"
    );
}

#[test]
fn chain_resolve_and_prefixes() {
    let g = chain();
    assert_eq!(names(g.resolve("aa03").unwrap()), v(&["aa03"]));
    assert_eq!(names(g.resolve("head").unwrap()), v(&["aa04"]));
    assert_eq!(names(g.resolve("head-1").unwrap()), v(&["aa03"]));
    assert_eq!(names(g.resolve("-2").unwrap()), v(&["aa02"]));
    assert_eq!(names(g.resolve("base+1").unwrap()), v(&["aa01"]));
    assert!(g.resolve("base").unwrap().is_empty());
    assert_eq!(
        g.resolve("+1").unwrap_err().to_string(),
        format!("{CANT} '+1'")
    );
    assert_eq!(
        g.resolve("aa0").unwrap_err().to_string(),
        format!("{CANT} 'aa0'")
    );
    assert_eq!(g.expand_dependency("aa02").unwrap(), "aa02");
    assert_eq!(g.expand_dependency("schema").unwrap(), "schema");
    assert_eq!(
        g.expand_dependency("zz").unwrap_err().to_string(),
        format!("{CANT} 'zz'")
    );
    assert_eq!(
        g.resolve_start("head").unwrap().map(|r| r.id.as_str()),
        Some("aa04")
    );
    assert!(g.resolve_start("base").unwrap().is_none());
    assert_eq!(
        g.start_state("aa02").unwrap().ids(),
        v(&["aa01", "aa02"]).as_slice()
    );
}

#[test]
fn chain_history() {
    let g = chain();
    assert_eq!(
        names(g.history(None, None).unwrap()),
        v(&["aa04", "aa03", "aa02", "aa01"])
    );
    assert_eq!(hist(&g, "aa02:aa03", &[]), Ok(v(&["aa03", "aa02"])));
    assert_eq!(hist(&g, "aa02:", &[]), Ok(v(&["aa04", "aa03", "aa02"])));
    assert_eq!(hist(&g, ":aa02", &[]), Ok(v(&["aa02", "aa01"])));
    assert_eq!(hist(&g, "-2:", &[]), Ok(v(&["aa04", "aa03", "aa02"])));
    assert_eq!(
        hist(&g, "-9:", &[]),
        Ok(v(&["aa04", "aa03", "aa02", "aa01"]))
    );
    // Reaching base exactly: Alembic finds `base` outside the revisions
    // the heads need and reports the range (oracle: depends_on_head `-2:`).
    assert_eq!(
        hist(&g, "-4:", &[]).map_err(|e| e.to_string()),
        Err(
            "Requested range -4:heads does not refer to ancestor/descendant revisions along \
             the same branch"
                .to_string()
        )
    );
    assert_eq!(
        hist(&g, "current:", &["aa01", "aa02"]),
        Ok(v(&["aa04", "aa03", "aa02"]))
    );
    assert_eq!(
        hist(&g, ":current", &["aa01", "aa02"]),
        Ok(v(&["aa02", "aa01"]))
    );
    assert_eq!(
        hist(&g, ":current", &[]),
        Ok(v(&["aa04", "aa03", "aa02", "aa01"]))
    );
    assert_eq!(
        hist(&g, "aa03:aa02", &[]),
        Err("Requested range aa03:aa02 does not refer to ancestor/descendant revisions along the same branch".into())
    );
    assert_eq!(
        hist(&g, "aa02", &[]),
        Err("History range requires [start]:[end], [start]:, or :[end]".into())
    );
    assert_eq!(
        hist(&g, "a:b:c", &[]),
        Err("Range 'a:b:c' has more than one ':'; use [start]:[end]".into())
    );
    let range = Range::parse("current:").unwrap();
    assert_eq!(
        g.history(Some(&range), None).unwrap_err(),
        Error::CurrentNeedsDatabase
    );
    assert_eq!(
        Range::parse(" :head ").unwrap(),
        Range {
            start: None,
            end: Some("head".into())
        }
    );
}

#[test]
fn chain_stamp() {
    let g = chain();
    let stamp = |at: &[&str], targets: &[&str]| {
        let plan = g
            .plan_stamp(&applied(at), &v(targets))
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((names(plan.remove), names(plan.add)))
    };
    assert_eq!(stamp(&[], &["aa02"]), Ok((v(&[]), v(&["aa01", "aa02"]))));
    assert_eq!(
        stamp(&["aa01", "aa02"], &["aa04"]),
        Ok((v(&[]), v(&["aa03", "aa04"])))
    );
    assert_eq!(
        stamp(&["aa01", "aa02", "aa03"], &["aa01"]),
        Ok((v(&["aa03", "aa02"]), v(&[])))
    );
    assert_eq!(
        stamp(&["aa01", "aa02"], &["base"]),
        Ok((v(&["aa02", "aa01"]), v(&[])))
    );
    assert_eq!(
        stamp(&["aa01", "aa02"], &[]),
        Ok((v(&["aa02", "aa01"]), v(&[])))
    );
    assert_eq!(stamp(&["aa01", "aa02"], &["aa02"]), Ok((v(&[]), v(&[]))));
    assert_eq!(
        stamp(&[], &["heads"]),
        Ok((v(&[]), v(&["aa01", "aa02", "aa03", "aa04"])))
    );
    // Deliberate difference: Alembic would record both rows.
    assert_eq!(
        stamp(&[], &["aa02", "aa04"]),
        Err("Requested revision aa04 overlaps with other requested revisions aa02".into())
    );
}

#[test]
fn chain_new_revision() {
    let g = chain();
    assert_eq!(
        g.new_revision_parents("schema", "head", false).unwrap(),
        v(&["aa04"])
    );
    assert_eq!(
        g.new_revision_parents("schema", "base", false).unwrap(),
        v(&[])
    );
    assert_eq!(
        g.new_revision_parents("data", "head", false).unwrap(),
        v(&[])
    );
    assert_eq!(
        g.new_revision_parents("schema", "aa02", false).unwrap_err().to_string(),
        "Revision aa02 is not a head revision; please specify --splice to create a new branch from this revision"
    );
    assert_eq!(
        g.new_revision_parents("schema", "aa02", true).unwrap(),
        v(&["aa02"])
    );
    assert_eq!(
        g.new_revision_parents("nope", "head", false).unwrap_err(),
        Error::UnknownLane {
            lane: "nope".into()
        }
    );
    assert_eq!(
        g.merge_parents(&v(&["heads"]), false).unwrap(),
        v(&["aa04"])
    );
}

// ----- branch and merge ------------------------------------------------

fn branch_merge() -> Graph {
    graph(&[
        "a", "b <a", "c1 <b", "c2 <b", "d1 <c1", "d2 <c2", "e <m", "m <d1,d2",
    ])
}

#[test]
fn branch_merge_order() {
    let g = branch_merge();
    assert_eq!(
        up(&g, &[], "head"),
        v(&["a", "b", "c2", "d2", "c1", "d1", "m", "e"])
    );
    let all = ["a", "b", "c2", "d2", "c1", "d1", "m", "e"];
    assert_eq!(
        down(&g, &all, "base"),
        v(&["e", "m", "d1", "c1", "d2", "c2", "b", "a"])
    );
    assert_eq!(
        names(g.history(None, None).unwrap()),
        v(&["e", "m", "d1", "c1", "d2", "c2", "b", "a"])
    );
    assert_eq!(names(g.branch_points()), v(&["b"]));
    assert!(g.is_merge_point("m") && g.is_branch_point("b") && !g.is_merge_point("e"));
    assert_eq!(up_err(&g, &["a", "b"], "+1"), "Ambiguous walk");
    assert_eq!(down_err(&g, &all, "-2"), "Ambiguous walk");
    assert_eq!(down(&g, &all, "-1"), v(&["e"]));
    assert_eq!(up(&g, &["a", "b", "c1"], "d2"), v(&["c2", "d2"]));
}

fn two_heads() -> Graph {
    graph(&["a", "b <a", "c1 <b", "c2 <b", "d1 <c1", "d2 <c2"])
}

#[test]
fn unmerged_heads() {
    let g = two_heads();
    let multiple = "Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads";
    assert_eq!(up_err(&g, &[], "head"), multiple);
    assert_eq!(up(&g, &[], "heads"), v(&["a", "b", "c2", "d2", "c1", "d1"]));
    assert_eq!(up(&g, &["a", "b", "c1", "d1"], "heads"), v(&["c2", "d2"]));
    assert_eq!(up(&g, &["a", "b", "c1"], "c1@+1"), v(&["d1"]));
    assert_eq!(
        up_err(&g, &["a", "b", "c1", "c2"], "+1"),
        "Ambiguous upgrade from multiple current revisions"
    );
    // `downgrade -1` with two heads: the most recently applied one.
    assert_eq!(
        down(&g, &["a", "b", "c1", "d1", "c2", "d2"], "-1"),
        v(&["d2"])
    );
    assert_eq!(
        down(&g, &["a", "b", "c2", "d2", "c1", "d1"], "-1"),
        v(&["d1"])
    );
    assert_eq!(
        down(&g, &["a", "b", "c2", "d2", "c1", "d1"], "-2"),
        v(&["d1", "c1"])
    );
    let all = ["a", "b", "c1", "d1", "c2", "d2"];
    assert_eq!(down(&g, &all, "b"), v(&["d1", "c1", "d2", "c2"]));
    assert_eq!(down(&g, &all, "c1@b"), v(&["d1", "c1"]));
    assert_eq!(down(&g, &all, "d2@c2"), v(&["d2"]));
    let err = g.new_revision_parents("schema", "head", false).unwrap_err();
    assert_eq!(err.to_string(), "Multiple heads are present; please specify the head revision on which the new revision should be based, or perform a merge.");
    assert!(err
        .hint()
        .unwrap_or_default()
        .contains("retort merge heads -m \"merge\""));
    assert_eq!(
        g.new_revision_parents("schema", "heads", false).unwrap(),
        v(&["d1", "d2"])
    );
    assert_eq!(
        g.new_revision_parents("schema", "c1@head", false).unwrap(),
        v(&["d1"])
    );
    assert_eq!(
        g.merge_parents(&v(&["heads"]), false).unwrap(),
        v(&["d1", "d2"])
    );
    assert_eq!(
        g.merge_parents(&v(&["d2", "d1"]), false).unwrap(),
        v(&["d2", "d1"])
    );
    assert_eq!(
        g.merge_parents(&v(&["d1", "d1"]), false)
            .unwrap_err()
            .to_string(),
        "Duplicate head revisions specified"
    );
    assert_eq!(
        g.merge_parents(&v(&["c1", "d2"]), false).unwrap_err().to_string(),
        "Revision c1 is not a head revision; please specify --splice to create a new branch from this revision"
    );
    assert_eq!(
        g.merge_parents(&v(&["c1", "d2"]), true).unwrap(),
        v(&["c1", "d2"])
    );
    let stamp = g.plan_stamp(&applied(&all), &v(&["c1"])).unwrap();
    assert_eq!(
        (names(stamp.remove), names(stamp.add)),
        (v(&["d1"]), v(&[]))
    );
    let stamp = g
        .plan_stamp(&applied(&["a", "b", "c1", "d1"]), &v(&["c2"]))
        .unwrap();
    assert_eq!(
        (names(stamp.remove), names(stamp.add)),
        (v(&[]), v(&["c2"]))
    );
    let err = g.plan_stamp(&applied(&[]), &v(&["head"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Multiple heads are present; please specify a single target revision"
    );
    assert_eq!(names(g.current_heads(&applied(&all))), v(&["d1", "d2"]));
}

#[test]
fn three_heads_merged_at_once() {
    let g = graph(&["a", "b1 <a", "b2 <a", "b3 <a", "c <m", "m <b1,b2,b3"]);
    assert_eq!(up(&g, &[], "head"), v(&["a", "b3", "b2", "b1", "m", "c"]));
    assert_eq!(
        down(&g, &["a", "b1", "b2", "b3", "m", "c"], "a"),
        v(&["c", "m", "b1", "b2", "b3"])
    );
    let heads = graph(&["a", "b1 <a", "b2 <a", "b3 <a"]);
    assert_eq!(
        heads.merge_parents(&v(&["heads"]), false).unwrap(),
        v(&["b1", "b2", "b3"])
    );
    assert_eq!(up(&heads, &[], "heads"), v(&["a", "b3", "b2", "b1"]));
}

// ----- two bases with labels and a dependency --------------------------

fn two_bases() -> Graph {
    graph(&[
        "a1 [alpha]",
        "a2 <a1",
        "a3 <a2",
        "b1 [beta]",
        "b2 <b1 {a2}",
        "b3 <b2",
    ])
}

#[test]
fn two_bases_labels_and_dependencies() {
    let g = two_bases();
    assert_eq!(g.labels("a3"), v(&["alpha"]));
    assert_eq!(g.labels("b2"), v(&["beta"]));
    assert_eq!(names(g.heads()), v(&["a3", "b3"]));
    assert_eq!(up(&g, &[], "beta@head"), v(&["a1", "a2", "b1", "b2", "b3"]));
    assert_eq!(up(&g, &[], "alpha@head"), v(&["a1", "a2", "a3"]));
    assert_eq!(up(&g, &[], "beta@+1"), v(&["b1"]));
    assert_eq!(up(&g, &[], "beta@+2"), v(&["a1", "a2", "b1", "b2"]));
    assert_eq!(up(&g, &["a1"], "alpha@+1"), v(&["a2"]));
    assert_eq!(up(&g, &[], "alpha@base+2"), v(&["a1", "a2"]));
    assert_eq!(up(&g, &[], "alpha@heads"), v(&["a1", "a2", "a3"]));
    assert_eq!(up(&g, &[], "alp"), v(&["a1"]));
    assert_eq!(up(&g, &[], "alpha@a2"), v(&["a1", "a2"]));
    assert_eq!(up_err(&g, &[], "alpha@b2"), format!("{CANT} 'b2'"));
    assert_eq!(up_err(&g, &[], "nosuch@head"), format!("{CANT} 'nosuch'"));
    let all = ["a1", "a2", "a3", "b1", "b2", "b3"];
    assert_eq!(
        down(&g, &all, "alpha@base"),
        v(&["a3", "b3", "b2", "a2", "a1"])
    );
    assert_eq!(down(&g, &all, "beta@base"), v(&["b3", "b2", "b1"]));
    assert_eq!(down(&g, &all, "alpha@-1"), v(&["a3"]));
    assert_eq!(down(&g, &all, "beta@-2"), v(&["b3", "b2"]));
    assert_eq!(
        down_err(&g, &["a1"], "beta@-1"),
        "Relative revision -1 didn't produce 1 migrations"
    );
    assert_eq!(down(&g, &all, "alpha@a2"), v(&["a3"]));
    assert_eq!(down(&g, &all, "alpha@a3"), Vec::<String>::new());
    assert_eq!(g.expand_dependency("alpha").unwrap(), "alpha");
    assert_eq!(g.expand_dependency("alph").unwrap(), "a1");
    assert_eq!(names(g.resolve("beta@-1").unwrap()), v(&["b2"]));
    assert_eq!(hist(&g, "alpha@base:", &[]), Ok(v(&["a3", "a2", "a1"])));
    let plan = g.plan_stamp(&applied(&all), &v(&["alpha@base"])).unwrap();
    assert_eq!(
        (names(plan.remove), names(plan.add)),
        (v(&["a3", "b3", "b2", "b1", "a2", "a1"]), v(&[]))
    );
}

#[test]
fn label_propagation_spreads_down_to_branch_point() {
    let g = graph(&["p1", "p2 <p1", "p3 <p2 [lbl]", "p4 <p3", "p5 <p4", "p6 <p5"]);
    for id in ["p1", "p2", "p3", "p4", "p5", "p6"] {
        assert_eq!(g.labels(id), v(&["lbl"]), "{id}");
    }
    let g = graph(&["a", "b <a", "c1 <b [x]", "c2 <b", "d1 <c1"]);
    assert_eq!(g.labels("c1"), v(&["x"]));
    assert_eq!(g.labels("d1"), v(&["x"]));
    assert!(g.labels("b").is_empty() && g.labels("a").is_empty() && g.labels("c2").is_empty());
    // A label below a merge does not spread down; it passes the merge up.
    let g = graph(&["a", "b1 <a [one]", "b2 <a [two]", "m <b1,b2", "n <m"]);
    assert_eq!(g.labels("n"), v(&["one", "two"]));
    assert!(g.labels("a").is_empty());
}

// ----- depends_on across branches: effective head ---------------------

fn effective_head() -> Graph {
    graph(&["x1 [xb]", "x2 <x1", "y1 [yb] {x2}", "y2 <y1"])
}

#[test]
fn effective_head_and_dependents() {
    let g = effective_head();
    assert_eq!(names(g.heads()), v(&["x2", "y2"]));
    assert_eq!(names(g.real_heads()), v(&["y2"]));
    assert!(g.is_effective_head("x2") && !g.is_real_head("x2") && g.is_real_head("y2"));
    assert_eq!(names(g.dependents("x2")), v(&["y1"]));
    assert!(up_err(&g, &[], "head")
        .starts_with("Multiple head revisions are present for given argument 'head'"));
    assert_eq!(up(&g, &[], "heads"), v(&["x1", "x2", "y1", "y2"]));
    let all = ["x1", "x2", "y1", "y2"];
    assert_eq!(names(g.current_heads(&applied(&all))), v(&["y2"]));
    assert_eq!(down(&g, &all, "xb@-1"), v(&["y2", "y1", "x2"]));
    assert_eq!(down(&g, &all, "yb@base"), v(&["y2", "y1"]));
    assert_eq!(up(&g, &[], "xb@heads"), v(&["x1", "x2"]));
    assert_eq!(
        g.plan_upgrade(&applied(&[]), "x2").map(names).unwrap(),
        v(&["x1", "x2"])
    );
}

// ----- lanes -----------------------------------------------------------

fn lanes() -> Graph {
    graph(&["s1", "s2 <s1", "s3 <s2", "data:d1 {s2}", "data:d2 <d1"])
}

#[test]
fn lanes_targets_and_plans() {
    let g = lanes();
    assert_eq!(names(g.heads()), v(&["s3", "d2"]));
    assert_eq!(names(g.lane_heads("data")), v(&["d2"]));
    assert_eq!(up(&g, &[], "head"), v(&["s1", "s2", "d1", "d2", "s3"]));
    assert_eq!(up(&g, &[], "data@head"), v(&["s1", "s2", "d1", "d2"]));
    assert_eq!(up(&g, &[], "schema@head"), v(&["s1", "s2", "s3"]));
    assert_eq!(up(&g, &["s1"], "schema@+1"), v(&["s2"]));
    let all = ["s1", "s2", "d1", "d2", "s3"];
    assert_eq!(down(&g, &all, "schema@-1"), v(&["s3"]));
    assert_eq!(down(&g, &all, "data@-1"), v(&["d2"]));
    assert_eq!(down(&g, &all, "data@base"), v(&["d2", "d1"]));
    assert_eq!(
        down(&g, &all, "schema@base"),
        v(&["s3", "d2", "d1", "s2", "s1"])
    );
    // The most recently applied head goes first.
    assert_eq!(down(&g, &all, "-1"), v(&["s3"]));
    assert_eq!(down(&g, &["s1", "s2", "s3", "d1", "d2"], "-1"), v(&["d2"]));
    assert_eq!(
        g.new_revision_parents("data", "head", false).unwrap(),
        v(&["d2"])
    );
    assert_eq!(
        g.new_revision_parents("data", "schema@head", false).unwrap_err().to_string(),
        "Revision s3 is in lane 'schema', not in lane 'data'; down_revision links stay inside one lane"
    );
    assert_eq!(
        hist(&g, "data@base:", &[]),
        Ok(v(&["d2", "d1", "s2", "s1"]))
    );
}

#[test]
fn lanes_head_skips_heads_implied_by_another_lane() {
    let g = graph(&["s1", "s2 <s1", "data:d1", "data:d2 <d1 {s2}"]);
    assert_eq!(names(g.resolve("head").unwrap()), v(&["d2"]));
    assert_eq!(up(&g, &[], "head"), v(&["s1", "s2", "d1", "d2"]));
    let g = graph(&["s1", "s2 <s1", "s3 <s1", "data:d1"]);
    assert!(up_err(&g, &[], "head").contains("argument 'head'"));
    assert_eq!(up(&g, &[], "data@head"), v(&["d1"]));
    assert_eq!(
        g.merge_parents(&v(&["heads"]), false).unwrap(),
        v(&["s2", "s3"]),
        "merge heads picks the lane with several heads"
    );
    assert_eq!(
        g.merge_parents(&v(&["s2", "d1"]), false)
            .unwrap_err()
            .to_string(),
        "Cannot merge revisions of different lanes (schema, data) into one revision"
    );
}

#[test]
fn lane_dependency_on_lane_name() {
    let g = graph(&["s1", "s2 <s1", "data:d1 {schema}"]);
    assert_eq!(up(&g, &[], "data@head"), v(&["s1", "d1"]));
}

// ----- deliberate differences ------------------------------------------

#[test]
fn branch_relative_downgrade_with_two_heads_is_an_error() {
    let g = graph(&["a [lbl]", "b1 <a", "b2 <a"]);
    assert_eq!(
        down_err(&g, &["a", "b1", "b2"], "lbl@-1"),
        "Ambiguous downgrade from multiple current revisions on branch 'lbl': b1, b2"
    );
}

// ----- loading errors --------------------------------------------------

#[track_caller]
fn load_err(specs: &[&str]) -> String {
    try_graph(specs).unwrap_err().to_string()
}

#[test]
fn load_errors_name_files() {
    assert_eq!(
        load_err(&["aa01", "aa01"]),
        "Revision aa01 is present more than once (files: migrations/schema/aa01_x.toml, migrations/schema/aa01_x.toml)"
    );
    assert_eq!(
        load_err(&["b <a"]),
        "Revision a referenced from b is not present (file: migrations/schema/b_x.toml)"
    );
    assert_eq!(
        load_err(&["b {zz}"]),
        "Revision zz referenced from b is not present (file: migrations/schema/b_x.toml)"
    );
    assert_eq!(
        load_err(&["a <a"]),
        "Self-loop is detected in revisions (a) (file: migrations/schema/a_x.toml)"
    );
    assert_eq!(
        load_err(&["a {a}"]),
        "Dependency self-loop is detected in revisions (a) (file: migrations/schema/a_x.toml)"
    );
    assert_eq!(
        load_err(&["a <b", "b <a"]),
        "Cycle is detected in revisions (a, b) (files: migrations/schema/a_x.toml, migrations/schema/b_x.toml)"
    );
    assert_eq!(
        load_err(&["r", "c2 <c1", "c1 <c2"]),
        "Cycle is detected in revisions (c1, c2) (files: migrations/schema/c1_x.toml, migrations/schema/c2_x.toml)"
    );
    assert!(load_err(&["a {b}", "b {a}"])
        .starts_with("Dependency cycle is detected in revisions (a, b)"));
    assert_eq!(
        load_err(&["bad-id"]),
        "Character(s) '-' not allowed in revision identifier 'bad-id' (file: migrations/schema/bad-id_x.toml)"
    );
    assert_eq!(
        load_err(&["a [x]", "b [x]"]),
        "Branch name 'x' in revision b already used by revision a (file: migrations/schema/b_x.toml)"
    );
    assert_eq!(
        load_err(&["a", "b [a]"]),
        "Branch name 'a' in revision b already used by revision a (file: migrations/schema/b_x.toml)"
    );
    assert_eq!(
        load_err(&["a [data]"]),
        "Branch name 'data' in revision a already used by lane 'data' (file: migrations/schema/a_x.toml)"
    );
    assert!(load_err(&["s1", "data:d1 <s1"])
        .starts_with("Revision d1 in lane 'data' has down_revision s1 from lane 'schema'"));
    assert!(try_graph(&["s1", "data:d1 <s1"])
        .unwrap_err()
        .is_load_error());
    assert!(try_graph(&[]).is_ok());
}

// ----- scale -------------------------------------------------------------

fn long_chain(n: usize) -> Vec<Revision> {
    (0..n)
        .map(|i| {
            let spec = if i == 0 {
                format!("r{i:05}")
            } else {
                format!("r{i:05} <r{:05}", i - 1)
            };
            rev(&spec)
        })
        .collect()
}

#[test]
fn five_thousand_chain_plans_linearly() {
    let g = Graph::build(long_chain(5000), &["schema".to_string()]).unwrap();
    let plan = g.plan_upgrade(&Applied::default(), "head").unwrap();
    assert_eq!(plan.len(), 5000);
    assert_eq!(plan.first().map(|r| r.id.as_str()), Some("r00000"));
    assert_eq!(plan.last().map(|r| r.id.as_str()), Some("r04999"));
    assert_eq!(g.history(None, None).unwrap().len(), 5000);
    let all = Applied::from_ordered(plan.iter().map(|r| r.id.clone()).collect());
    assert_eq!(g.plan_downgrade(&all, "base").unwrap().len(), 5000);
    assert_eq!(g.plan_downgrade(&all, "-1").unwrap().len(), 1);
}

/// A branchy graph: side branches of three that merge back every ten
/// revisions, plus dependencies between them.
fn branchy(n: usize) -> Vec<Revision> {
    let mut specs: Vec<String> = vec!["t0000".into()];
    let mut trunk = "t0000".to_string();
    let mut k = 1;
    while specs.len() < n {
        let side: Vec<String> = (0..3).map(|j| format!("s{k:04}_{j}")).collect();
        specs.push(format!("{} <{}", side[0], trunk));
        specs.push(format!("{} <{}", side[1], side[0]));
        let dep = if k > 1 {
            format!(" {{s{:04}_1}}", k - 1)
        } else {
            String::new()
        };
        specs.push(format!("{} <{}{}", side[2], trunk, dep));
        let merge = format!("t{k:04}");
        specs.push(format!("{merge} <{},{}", side[1], side[2]));
        trunk = merge;
        k += 1;
    }
    specs.iter().map(|s| rev(s)).collect()
}

#[test]
fn branchy_graph_fast_sort_matches_exact_sort() {
    for n in [13, 40, 400] {
        let g = Graph::build(branchy(n), &["schema".to_string()]).unwrap();
        let all: Vec<usize> = (0..g.revisions().len()).collect();
        let heads: Vec<usize> = g.heads.clone();
        let fast = g.sort_top_down(&all, &heads);
        let in_set = vec![true; all.len()];
        let exact = g.sort_exact(&in_set, all.len(), heads.clone());
        assert_eq!(fast, exact, "n = {n}");
        assert_eq!(fast.len(), all.len());
    }
    let g = branch_merge();
    let all: Vec<usize> = (0..g.revisions().len()).collect();
    let exact = g.sort_exact(&vec![true; all.len()], all.len(), g.heads.clone());
    assert_eq!(g.sort_top_down(&all, &g.heads), exact);
}

#[test]
fn branchy_five_thousand() {
    let g = Graph::build(branchy(5000), &["schema".to_string()]).unwrap();
    let plan = g.plan_upgrade(&Applied::default(), "heads").unwrap();
    assert_eq!(plan.len(), g.revisions().len());
    assert_eq!(g.history(None, None).unwrap().len(), g.revisions().len());
}

#[test]
fn prefixes_cover_labels() {
    let g = graph(&["fe00aa", "bb00 <fe00aa [feature]"]);
    let err = g.resolve("fe").unwrap_err();
    assert_eq!(err.to_string(), format!("{CANT} 'fe'"));
    assert!(matches!(
        err,
        Error::CantLocate {
            reason: Unlocated::Ambiguous { .. },
            ..
        }
    ));
    assert_eq!(names(g.resolve("feat").unwrap()), v(&["bb00"]));
    assert_eq!(names(g.resolve("fe0").unwrap()), v(&["fe00aa"]));
    assert_eq!(names(g.resolve("feature@head").unwrap()), v(&["bb00"]));
    assert_eq!(g.expand_dependency("fe00").unwrap(), "fe00aa");
}

/// Alembic crashes (AssertionError in its sort) when the revisions of a
/// range reach the upper end only through `depends_on` of revisions the
/// range leaves out: `x1:` where y1 (outside x1's descendants) depends on
/// x2. retort refuses with the range message and its own hint.
#[test]
fn history_from_a_base_with_dependencies_is_a_clear_error() {
    let g = effective_head();
    let range = Range::parse("x1:").unwrap();
    let err = g.history(Some(&range), None).unwrap_err();
    assert!(
        matches!(err, Error::RangeThroughDependency { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Requested range x1:heads does not refer to ancestor/descendant revisions along the \
         same branch"
    );
    assert!(err.hint().unwrap_or_default().contains("depends_on"));
    // A range that stays below the dependent head is fine.
    assert_eq!(hist(&g, "x1:x2", &[]), Ok(v(&["x2", "x1"])));
}

#[test]
fn hints_name_commands() {
    let g = two_heads();
    let err = g.plan_upgrade(&applied(&[]), "head").unwrap_err();
    assert!(err.hint().unwrap_or_default().contains("retort heads"));
    let err = Range::parse("x").unwrap_err();
    assert!(err.hint().unwrap_or_default().contains("retort history"));
}

// ----- found by the Alembic oracle (tests/it/oracle.rs) ------------------

/// Alembic's `_catch_revision_errors(end=destination)` names the whole
/// destination in the multiple-heads message (`head-1`, `heads+1`), and for
/// history the range's upper end, whichever side had several heads.
#[test]
fn multiple_heads_message_names_the_destination() {
    let g = two_heads();
    let argument = |e: Error| match e {
        Error::MultipleHeads { argument, .. } => argument,
        other => panic!("{other:?}"),
    };
    let up = |t: &str| argument(g.plan_upgrade(&applied(&[]), t).unwrap_err());
    assert_eq!(up("head"), "head");
    assert_eq!(up("head-1"), "head-1");
    assert_eq!(up("head+1"), "head+1");
    assert_eq!(up("heads-1"), "heads-1");
    let down = |t: &str| {
        argument(
            g.plan_downgrade(&applied(&["a", "b", "c1"]), t)
                .unwrap_err(),
        )
    };
    assert_eq!(down("head-1"), "head-1");
    let hist_arg = |r: &str| {
        let range = Range::parse(r).unwrap();
        argument(g.history(Some(&range), None).unwrap_err())
    };
    assert_eq!(hist_arg(":head"), "head");
    assert_eq!(hist_arg("head:"), "heads");
    // The start of an offline range keeps its own argument.
    assert_eq!(argument(g.start_state("heads").unwrap_err()), "heads");
}

/// `history -r -N:` walks down from every real head; Alembic checks the
/// results like the targets (`check=True`): two of one lineage overlap, and
/// a walk that lands on `base` is outside the range.
#[test]
fn history_relative_lower_from_several_heads() {
    let g = two_bases();
    assert_eq!(
        hist(&g, "-1:", &[]),
        Err("Requested revision b2 overlaps with other requested revisions a2".to_string())
    );
    assert_eq!(
        hist(&g, "-2:", &[]),
        Ok(v(&["a3", "b3", "b2", "b1", "a2", "a1"]))
    );
    let g = effective_head();
    assert_eq!(hist(&g, "-1:", &[]), Ok(v(&["y2", "y1"])));
    assert_eq!(
        hist(&g, "-2:", &[]),
        Err(
            "Requested range -2:heads does not refer to ancestor/descendant revisions along \
             the same branch"
                .to_string()
        )
    );
}

/// Alembic accepts only the literal `base` (or a revision) as the start of
/// an offline range; `LABEL@base` crashes it (AttributeError).
#[test]
fn offline_start_must_name_a_revision() {
    let g = two_bases();
    assert!(g.start_state("base").unwrap().is_empty());
    assert_eq!(g.start_state("a2").unwrap().ids(), v(&["a1", "a2"]));
    let err = g.start_state("alpha@base").unwrap_err();
    assert!(matches!(err, Error::StartNotARevision { .. }), "{err:?}");
    assert!(err.to_string().contains("'alpha@base'"));
}

/// `stamp` reports Alembic's steps: one per destination that is not already
/// current, one per removed head for `base`, none for `base` on an empty
/// database.
#[test]
fn stamp_steps_follow_alembic() {
    let g = two_heads();
    let steps = |at: &[&str], targets: &[&str]| -> Vec<(Vec<String>, Option<String>)> {
        g.plan_stamp(&applied(at), &v(targets))
            .unwrap()
            .steps
            .into_iter()
            .map(|s| (s.from, s.to))
            .collect()
    };
    let to = |s: &str| Some(s.to_string());
    assert_eq!(steps(&[], &["base"]), vec![]);
    assert_eq!(
        steps(&[], &["heads"]),
        vec![(v(&[]), to("d1")), (v(&[]), to("d2"))]
    );
    assert_eq!(
        steps(&[], &["d2", "d1"]),
        vec![(v(&[]), to("d2")), (v(&[]), to("d1"))]
    );
    let all = ["a", "b", "c1", "c2", "d1", "d2"];
    assert_eq!(
        steps(&all, &["base"]),
        vec![(v(&["d1"]), None), (v(&["d2"]), None)]
    );
    assert_eq!(steps(&all, &["d1"]), vec![]);
    assert_eq!(
        steps(&["a", "b", "c1"], &["d1"]),
        vec![(v(&["c1"]), to("d1"))]
    );
    // The steps' rows add up to the plan's.
    let plan = g
        .plan_stamp(&applied(&["a", "b", "c1"]), &v(&["d2"]))
        .unwrap();
    let added: Vec<&Revision> = plan.steps.iter().flat_map(|s| s.add.clone()).collect();
    assert_eq!(names(added), names(plan.add.clone()));
    assert_eq!(names(plan.add), v(&["c2", "d2"]));
}
