//! One function per command: each loads what it needs, calls one library
//! function, turns the answer into text with [`super::view`], and hands the
//! text to the [`Printer`]. No loops over revisions beyond building views,
//! no SQL here (style rule 3).

use std::path::Path;

use anyhow::Context as _;

use crate::config::{Config, Overrides, TransactionMode};
use crate::graph::{Applied, Graph, Range};
use crate::project::Project;
use crate::runner::offline::{self, ScriptOptions};
use crate::runner::online::{DbState, Migrator, Resolution};

use super::args::OutputFormat;
use super::error::Error;
use super::printer::Printer;
use super::settings::{Action, MergeRequest, RevisionRequest, Settings};
use super::view::{self, BranchView, RevisionView};

/// Runs a resolved command.
///
/// # Errors
/// Whatever the library reports, with context; write failures on stdout.
pub fn execute(settings: &Settings, printer: &Printer) -> anyhow::Result<()> {
    match &settings.action {
        Action::Init { dir, templates } => init(dir, *templates, printer),
        action => {
            let project = load_project(&settings.overrides)?;
            let result = run_on_project(action, &project, printer, settings.batch_size);
            // The process exits right after this; freeing every revision,
            // step and map of a large project one by one would cost a few
            // ms at 5,000 revisions (issue #2) for memory the exit returns
            // anyway.
            std::mem::forget(project);
            result
        }
    }
}

fn load_project(overrides: &Overrides) -> anyhow::Result<Project> {
    let config = Config::load(overrides).context("cannot read the configuration")?;
    Project::load(config).context("cannot load the revisions")
}

fn run_on_project(
    action: &Action,
    project: &Project,
    printer: &Printer,
    batch_size: Option<u64>,
) -> anyhow::Result<()> {
    let graph = &project.graph;
    match action {
        Action::Init { dir, templates } => init(dir, *templates, printer),
        Action::Revision(request) => revision(project, request, printer),
        Action::Merge(request) => merge(project, request, printer),
        Action::Heads {
            verbose,
            resolve_dependencies,
            format,
        } => heads(graph, *verbose, *resolve_dependencies, *format, printer),
        Action::Branches { verbose, format } => branches(graph, *verbose, *format, printer),
        Action::History {
            range,
            verbose,
            indicate_current,
            format,
        } => {
            let needs_db = *indicate_current
                || range
                    .as_ref()
                    .is_some_and(super::settings::mentions_current);
            let applied = if needs_db {
                Some(live::state(project, printer)?.applied())
            } else {
                None
            };
            history(
                graph,
                range.as_ref(),
                applied.as_ref(),
                *verbose,
                *format,
                printer,
            )
        }
        Action::Show { rev, format } if rev == "current" => {
            let applied = live::state(project, printer)?.applied();
            let views = RevisionView::many(graph, &graph.current_heads(&applied));
            print_listing(&views, *format, view::format_show, printer)
        }
        Action::Show { rev, format } => show(graph, rev, *format, printer),
        Action::Upgrade { target, atomic } => {
            live::upgrade(project, target, *atomic, batch_size, printer)
        }
        Action::Downgrade { target, atomic } => {
            live::downgrade(project, target, *atomic, batch_size, printer)
        }
        // DATA LANE: dry runs and fixtures.
        Action::DryRun { downgrade, target } => live::dry_run(project, *downgrade, target, printer),
        Action::DataDump {
            table,
            json,
            output,
        } => live::data_dump(project, table, *json, output.as_deref(), printer),
        Action::DataLoad {
            file,
            table,
            on_conflict,
            batch_size,
        } => live::data_load(project, file, table, *on_conflict, *batch_size, printer),
        Action::Stamp { revisions, purge } => live::stamp(project, revisions, *purge, printer),
        Action::Current {
            verbose,
            check_heads,
            format,
        } => live::current(project, *verbose, *check_heads, *format, printer),
        Action::Check { format } => live::check(project, *format, printer),
        Action::Amend { rev } => live::amend(project, rev, printer),
        Action::Resolve { rev, applied } => live::resolve(project, rev, *applied, printer),
        Action::UpgradeSql { range, atomic } => {
            let script = offline::upgrade_script(graph, &script_options(project, *atomic)?, range)?;
            Ok(printer.result(&script)?)
        }
        Action::DowngradeSql { range, atomic } => {
            let script =
                offline::downgrade_script(graph, &script_options(project, *atomic)?, range)?;
            Ok(printer.result(&script)?)
        }
        Action::StampSql { revisions } => {
            let script = offline::stamp_script(graph, &script_options(project, false)?, revisions)?;
            Ok(printer.result(&script)?)
        }
    }
}

/// What a `--sql` script is rendered for: the URL's dialect (no connection
/// is made), the version table, the transaction grouping and `[vars]`.
fn script_options(project: &Project, atomic: bool) -> Result<ScriptOptions, Error> {
    let config = &project.config;
    let url = config.url.as_ref().ok_or(Error::NoUrlForSql)?;
    Ok(ScriptOptions {
        dialect: url.dialect(),
        version_table: config.version_table.clone(),
        atomic: atomic || config.transaction == TransactionMode::All,
        vars: config.vars.clone(),
    })
}

/// Prints views as text or JSON.
fn print_listing(
    views: &[RevisionView],
    format: OutputFormat,
    text: impl FnOnce(&[RevisionView]) -> String,
    printer: &Printer,
) -> anyhow::Result<()> {
    let out = match format {
        OutputFormat::Text => text(views),
        OutputFormat::Json => view::format_json(views)?,
    };
    Ok(printer.result(&out)?)
}

fn heads(
    graph: &Graph,
    verbose: bool,
    resolve_dependencies: bool,
    format: OutputFormat,
    printer: &Printer,
) -> anyhow::Result<()> {
    let heads = if resolve_dependencies {
        graph.real_heads()
    } else {
        graph.heads()
    };
    let views = RevisionView::many(graph, &heads);
    print_listing(&views, format, |v| view::format_heads(v, verbose), printer)
}

fn branches(
    graph: &Graph,
    verbose: bool,
    format: OutputFormat,
    printer: &Printer,
) -> anyhow::Result<()> {
    let points = RevisionView::many(graph, &graph.branch_points());
    if format == OutputFormat::Json {
        return print_listing(&points, format, |_| String::new(), printer);
    }
    let branches: Vec<BranchView> = points
        .into_iter()
        .map(|point| BranchView {
            children: RevisionView::many(graph, &graph.children(point.revision)),
            point,
        })
        .collect();
    Ok(printer.result(&view::format_branches(&branches, verbose))?)
}

fn history(
    graph: &Graph,
    range: Option<&Range>,
    applied: Option<&Applied>,
    verbose: bool,
    format: OutputFormat,
    printer: &Printer,
) -> anyhow::Result<()> {
    let revisions = graph.history(range, applied)?;
    let mut views = RevisionView::many(graph, &revisions);
    if let Some(applied) = applied {
        let current: Vec<&str> = graph
            .current_heads(applied)
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        for view in &mut views {
            view.current = current.contains(&view.revision);
        }
    }
    print_listing(
        &views,
        format,
        |v| view::format_history(v, verbose),
        printer,
    )
}

fn show(graph: &Graph, rev: &str, format: OutputFormat, printer: &Printer) -> anyhow::Result<()> {
    let revisions = graph.resolve(rev)?;
    let views = RevisionView::many(graph, &revisions);
    print_listing(&views, format, view::format_show, printer)
}

fn revision(project: &Project, request: &RevisionRequest, printer: &Printer) -> anyhow::Result<()> {
    let path = project.new_revision(request)?;
    Ok(printer.info(&generating_line(&path))?)
}

fn merge(project: &Project, request: &MergeRequest, printer: &Printer) -> anyhow::Result<()> {
    let path = project.merge(request)?;
    Ok(printer.info(&generating_line(&path))?)
}

fn init(dir: &Path, templates: bool, printer: &Printer) -> anyhow::Result<()> {
    let created = crate::project::init_project(dir, templates)?;
    for path in &created {
        printer.info(&init_line(path, path.is_dir()))?;
    }
    if let Some(config) = created
        .iter()
        .find(|p| p.file_name().is_some_and(|n| n == "alembic.toml"))
    {
        printer.info(&format!(
            "Please edit configuration settings in '{}' before proceeding.",
            config.display()
        ))?;
    }
    Ok(())
}

/// Alembic's status line for a written file (two spaces before `done`).
pub fn generating_line(path: &Path) -> String {
    format!("Generating {} ...  done", path.display())
}

/// Alembic's `init` status line for a created directory or file.
pub fn init_line(path: &Path, is_dir: bool) -> String {
    if is_dir {
        format!("Creating directory {} ...  done", path.display())
    } else {
        generating_line(path)
    }
}

/// The commands that talk to the database: each builds a [`Migrator`],
/// makes one call on a small tokio runtime and prints the report.
mod live {
    use super::*;
    use crate::runner::online::CheckReport;

    fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")
    }

    fn migrator(project: &Project, atomic: bool) -> anyhow::Result<Migrator<'_>> {
        Ok(Migrator::new(project)?.atomic(atomic))
    }

    /// The version table as it is; warns about rows that need attention.
    pub(super) fn state(project: &Project, printer: &Printer) -> anyhow::Result<DbState> {
        let migrator = migrator(project, false)?;
        let state = match runtime()?.block_on(migrator.state()) {
            // A missing SQLite file is an empty database that is not
            // created by looking at it (a mistyped URL must not leave a
            // file behind); say so, since an empty answer looks the same.
            Err(crate::runner::Error::Store(crate::store::Error::NoDatabaseFile {
                path, ..
            })) => {
                printer.warn(&format!(
                    "the SQLite database file {} does not exist: nothing is applied (`retort upgrade` creates it)",
                    path.display()
                ));
                DbState::default()
            }
            other => other?,
        };
        for row in state.unknown(&project.graph) {
            printer.warn(&format!(
                "revision {} is recorded but no revision file defines it",
                row.version
            ));
        }
        for row in state.unfinished() {
            printer.warn(&format!(
                "revision {} is {}{}",
                row.version,
                row.state.as_str(),
                row.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ));
        }
        Ok(state)
    }

    /// `--batch-size` and the Ctrl-C flag the runner checks between
    /// revisions (and the data runner at every batch boundary).
    fn data_options(batch_size: Option<u64>) -> crate::data::DataOptions {
        crate::data::DataOptions {
            batch_size,
            cancel: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }

    /// Ctrl-C handling of `upgrade` / `downgrade`: the first Ctrl-C sets
    /// the flag the runner checks between revisions (and a data revision
    /// between batches), so the run stops at the next boundary and exits
    /// 130; a second Ctrl-C exits 130 at once. The open transaction is
    /// rolled back by the server when the connection drops (SQLite: from
    /// its journal when the file is next opened); a journaled revision is
    /// left `running` and resumes on the next run.
    ///
    /// The signals are awaited on a thread of their own: a SQLite revision
    /// runs on the command's (single) runtime thread and would keep a task
    /// there from ever seeing them.
    fn watch_ctrl_c(options: &crate::data::DataOptions, printer: Printer) {
        let flag = options.cancel.clone();
        let watcher = move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                printer.warn(
                    "interrupted: stopping at the next revision or batch boundary (Ctrl-C again to abort now)",
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    Printer::error(
                        "interrupted again: aborting; the database rolls back the open transaction",
                        Some("run the same command again to continue"),
                    );
                    std::process::exit(130);
                }
            });
        };
        if let Err(e) = std::thread::Builder::new()
            .name("ctrl-c".to_string())
            .spawn(watcher)
        {
            tracing::warn!("cannot watch for Ctrl-C: {e}");
        }
    }

    pub(super) fn upgrade(
        project: &Project,
        target: &str,
        atomic: bool,
        batch_size: Option<u64>,
        printer: &Printer,
    ) -> anyhow::Result<()> {
        let options = data_options(batch_size);
        let migrator = migrator(project, atomic)?.data_options(options.clone());
        let mut progress = printer.progress();
        watch_ctrl_c(&options, *printer);
        runtime()?.block_on(async { migrator.upgrade(target, &mut progress).await })?;
        Ok(())
    }

    pub(super) fn downgrade(
        project: &Project,
        target: &str,
        atomic: bool,
        batch_size: Option<u64>,
        printer: &Printer,
    ) -> anyhow::Result<()> {
        let options = data_options(batch_size);
        let migrator = migrator(project, atomic)?.data_options(options.clone());
        let mut progress = printer.progress();
        watch_ctrl_c(&options, *printer);
        runtime()?.block_on(async { migrator.downgrade(target, &mut progress).await })?;
        Ok(())
    }

    /// DATA LANE: `upgrade --dry-run`: the plan and, per data step, the
    /// rows it would touch (stdout).
    pub(super) fn dry_run(
        project: &Project,
        downgrade: bool,
        target: &str,
        printer: &Printer,
    ) -> anyhow::Result<()> {
        use crate::dialect::Direction;
        let migrator = migrator(project, false)?;
        let direction = if downgrade {
            Direction::Downgrade
        } else {
            Direction::Upgrade
        };
        let plan = runtime()?.block_on(migrator.dry_run(direction, target))?;
        let mut text = String::new();
        if plan.is_empty() {
            text.push_str("Nothing to do.\n");
        }
        for (line, counts) in &plan {
            text.push_str(&format!("{line}\n"));
            for c in counts {
                let rows = c.rows.map_or_else(|| "?".to_string(), |r| r.to_string());
                let note = if c.note.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", c.note)
                };
                text.push_str(&format!("  {}: {rows} rows{note}\n", c.label));
            }
        }
        text.push_str("(dry run: nothing was changed)\n");
        Ok(printer.result(&text)?)
    }

    /// DATA LANE: `data dump TABLE [--format json] [-o FILE]`.
    pub(super) fn data_dump(
        project: &Project,
        table: &str,
        json: bool,
        output: Option<&Path>,
        printer: &Printer,
    ) -> anyhow::Result<()> {
        use crate::data::fixture::{dump, DumpFormat};
        let url = migrator(project, false)?.url().clone();
        let format = if json {
            DumpFormat::Json
        } else {
            DumpFormat::Csv
        };
        let text = runtime()?.block_on(async {
            let mut db = crate::store::Db::connect_existing(&url).await?;
            let text = dump(&mut db, table, format).await;
            db.close().await;
            Ok::<_, anyhow::Error>(text?)
        })?;
        match output {
            Some(path) => std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?,
            None => printer.result(&text)?,
        }
        Ok(())
    }

    /// DATA LANE: `data load FILE --table T`.
    pub(super) fn data_load(
        project: &Project,
        file: &Path,
        table: &str,
        on_conflict: crate::data::model::OnConflict,
        batch_size: usize,
        printer: &Printer,
    ) -> anyhow::Result<()> {
        let url = migrator(project, false)?.url().clone();
        let rows = runtime()?.block_on(async {
            let mut db = crate::store::Db::connect_existing(&url).await?;
            let rows =
                crate::data::fixture::load_file(&mut db, file, table, on_conflict, batch_size)
                    .await;
            db.close().await;
            Ok::<_, anyhow::Error>(rows?)
        })?;
        let skipped = match rows.inserted {
            Some(n) => format!(
                " ({n} inserted, {} already there and skipped)",
                rows.rows.saturating_sub(n)
            ),
            None => String::new(),
        };
        printer.info(&format!(
            "Loaded {} rows from {} into {table}{skipped}",
            rows.rows,
            file.display()
        ))?;
        Ok(())
    }

    pub(super) fn stamp(
        project: &Project,
        revisions: &[String],
        purge: bool,
        printer: &Printer,
    ) -> anyhow::Result<()> {
        let migrator = migrator(project, false)?;
        let mut progress = printer.progress();
        runtime()?.block_on(migrator.stamp(revisions, purge, &mut progress))?;
        Ok(())
    }

    pub(super) fn current(
        project: &Project,
        verbose: bool,
        check_heads: bool,
        format: OutputFormat,
        printer: &Printer,
    ) -> anyhow::Result<()> {
        let graph = &project.graph;
        let state = state(project, printer)?;
        let applied = state.applied();
        let heads = graph.current_heads(&applied);
        let views = RevisionView::many(graph, &heads);
        let url = migrator(project, false)?.url().redacted();
        print_listing(
            &views,
            format,
            |v| view::format_current(v, verbose, &url),
            printer,
        )?;
        // DATA LANE: where running data revisions stand.
        if verbose && format == OutputFormat::Text && !state.unfinished().is_empty() {
            let migrator = migrator(project, false)?;
            let checkpoints = runtime()?.block_on(migrator.data_checkpoints())?;
            let mut text = String::new();
            for (version, cp) in checkpoints {
                text.push_str(&format!(
                    "Data revision {version} in progress: {}\n",
                    cp.describe()
                ));
            }
            printer.result(&text)?;
        }
        if check_heads {
            // What `check` compares: nothing left for `upgrade heads` and
            // nothing unfinished. Comparing with `graph.heads()` would
            // fail on every project with effective heads (a head another
            // revision depends on is applied but never "current").
            let pending = graph.plan_upgrade(&applied, "heads")?;
            if !pending.is_empty() || !state.unfinished().is_empty() {
                return Err(Error::NotOnHeads {
                    current: heads.iter().map(|r| r.id.clone()).collect(),
                }
                .into());
            }
        }
        Ok(())
    }

    pub(super) fn check(
        project: &Project,
        format: OutputFormat,
        printer: &Printer,
    ) -> anyhow::Result<()> {
        let migrator = migrator(project, false)?;
        let report: CheckReport = runtime()?.block_on(migrator.check())?;
        match format {
            OutputFormat::Json => {
                let mut text = serde_json::to_string_pretty(&report)?;
                text.push('\n');
                printer.result(&text)?;
            }
            OutputFormat::Text if report.at_head => {
                printer.result(&format!(
                    "Database is at head: {}\n",
                    report.current.join(", ")
                ))?;
            }
            OutputFormat::Text => {}
        }
        if report.at_head {
            Ok(())
        } else {
            Err(Error::NotAtHead {
                pending: report.pending,
                unfinished: report.unfinished,
            }
            .into())
        }
    }

    pub(super) fn amend(project: &Project, rev: &str, printer: &Printer) -> anyhow::Result<()> {
        let migrator = migrator(project, false)?;
        let report = runtime()?.block_on(migrator.amend(rev))?;
        let short = |c: &str| c.chars().take(12).collect::<String>();
        let line = if report.changed {
            format!(
                "Amended {}: checksum {} -> {}",
                report.revision,
                short(&report.old_checksum),
                short(&report.new_checksum)
            )
        } else {
            format!(
                "{} matches its recorded checksum; nothing to amend",
                report.revision
            )
        };
        Ok(printer.info(&line)?)
    }

    pub(super) fn resolve(
        project: &Project,
        rev: &str,
        applied: bool,
        printer: &Printer,
    ) -> anyhow::Result<()> {
        let migrator = migrator(project, false)?;
        let resolution = if applied {
            Resolution::Applied
        } else {
            Resolution::Reverted
        };
        runtime()?.block_on(migrator.resolve(rev, resolution))?;
        let how = if applied { "applied" } else { "reverted" };
        Ok(printer.info(&format!("Resolved {rev} as {how}"))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_match_alembic() {
        assert_eq!(
            generating_line(Path::new("migrations/schema/ae10_add.toml")),
            "Generating migrations/schema/ae10_add.toml ...  done"
        );
        assert_eq!(
            init_line(Path::new("./migrations/schema"), true),
            "Creating directory ./migrations/schema ...  done"
        );
        assert_eq!(
            init_line(Path::new("./alembic.toml"), false),
            "Generating ./alembic.toml ...  done"
        );
    }
}
