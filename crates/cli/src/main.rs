//! `cali-reg`: train, quantise and serve a linear model of California Housing (or your own table).
//!
//! One module per subcommand under `commands/`; files on disk in `artifacts`, the run record in
//! `record`, text formatting in `output`, one pass of a table into statistics in `accumulate`. The `train` feature (on by default) brings the data
//! set's search, download and in-memory loader; without it the binary only loads models and
//! predicts. All reading of tables is `dataset`'s.

#[cfg(feature = "train")]
mod accumulate;
mod args;
mod artifacts;
mod commands;
#[cfg(feature = "train")]
mod data;
mod output;
#[cfg(feature = "train")]
mod plot;
mod record;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are successes; anything else is bad usage.
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`cali-reg … | head -1`): nothing is wrong.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            output::stderr(format_args!("error: {}", one_line(&format!("{e:#}"))));
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Errors are one line on stderr, whatever a cause put in its message.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
