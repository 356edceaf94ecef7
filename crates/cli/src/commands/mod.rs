//! One module per subcommand; the three that are a few lines each (`locate`, `completions`,
//! `man`) are functions here. The artifacts folder is locked here too, for every command at once.

#[cfg(feature = "columnar")]
mod convert;
#[cfg(feature = "train")]
mod cv;
mod diff;
#[cfg(feature = "train")]
pub mod drift;
#[cfg(feature = "train")]
mod evaluate;
#[cfg(feature = "train")]
mod export;
mod inspect;
mod predict;
mod quantize;
#[cfg(feature = "train")]
mod report;
#[cfg(feature = "train")]
mod scan;
#[cfg(feature = "serve")]
mod serve;
#[cfg(feature = "train")]
mod stats;
#[cfg(feature = "train")]
mod summary;
#[cfg(feature = "train")]
mod train;

use clap::CommandFactory;

use crate::args::{Cli, Command};
use crate::output;
use pipeline::Lock;

/// Run the chosen subcommand.
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    let common = &cli.common;
    // Writers of the artifacts folder take it alone; readers wait for them.
    let _lock = match &cli.command {
        #[cfg(feature = "train")]
        Command::Train(_) | Command::Report => Some(exclusive(&common.artifacts)?),
        Command::Quantize => Some(exclusive(&common.artifacts)?),
        #[cfg(feature = "train")]
        Command::Evaluate => Lock::shared(&common.artifacts),
        Command::Predict(_) => Lock::shared(&common.artifacts),
        #[cfg(feature = "train")]
        Command::Export(_) => Lock::shared(&common.artifacts),
        Command::Diff(_) => Lock::shared(&common.artifacts),
        #[cfg(feature = "train")]
        Command::Summary { .. } => Lock::shared(&common.artifacts),
        #[cfg(feature = "train")]
        Command::Drift { .. } => Lock::shared(&common.artifacts),
        _ => None,
    };
    match &cli.command {
        #[cfg(feature = "train")]
        Command::Train(args) => train::run(common, args),
        #[cfg(feature = "train")]
        Command::Stats {
            output,
            no_intercept,
            no_distributions,
        } => stats::run(common, output, !no_intercept, !no_distributions),
        #[cfg(feature = "columnar")]
        Command::Convert {
            output,
            row_group_rows,
        } => convert::run(common, output, *row_group_rows),
        #[cfg(feature = "train")]
        Command::Scan => scan::run(common),
        #[cfg(feature = "train")]
        Command::Locate => locate(common),
        Command::Quantize => quantize::run(common),
        Command::Predict(args) => predict::run(common, args),
        #[cfg(feature = "train")]
        Command::Evaluate => evaluate::run(common),
        #[cfg(feature = "train")]
        Command::Report => report::run(common),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(common, args),
        #[cfg(feature = "train")]
        Command::Export(args) => export::run(common, args),
        Command::Diff(args) => diff::run(common, args),
        #[cfg(feature = "train")]
        Command::Cv {
            folds,
            shuffle,
            no_intercept,
            streaming,
        } => cv::run(common, *folds, (*shuffle, *streaming), !no_intercept),
        #[cfg(feature = "train")]
        Command::Summary { alpha, cov_type } => summary::run(common, *alpha, *cov_type),
        #[cfg(feature = "train")]
        Command::Drift {
            fail_above,
            md,
            svg,
        } => drift::run(common, fail_above, *md, svg.clone()),
        Command::Inspect { model } => inspect::run(common, model),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "cali-reg", &mut script);
            output::bytes(&script)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(anyhow::Error::from)?;
            output::bytes(&page)
        }
    }
}

/// The artifacts folder, for a command that writes it: waits, saying so, while another
/// command holds it.
fn exclusive(dir: &std::path::Path) -> anyhow::Result<Lock> {
    Ok(Lock::exclusive(dir, || {
        output::stderr(format_args!(
            "waiting for another cali-reg command working in {}",
            dir.display()
        ));
    })?)
}

/// `cali-reg locate`: the data file, as every command finds it, and its SHA-256.
#[cfg(feature = "train")]
fn locate(common: &crate::args::Common) -> anyhow::Result<()> {
    output::result(&common.data().location()?, common.json)
}
