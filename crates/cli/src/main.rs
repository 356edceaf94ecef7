//! `cali-reg`: train, quantise and serve a linear model of California Housing (or your own table).
//!
//! A thin binary over the `pipeline` library: arguments (`args`, clap), one module per
//! subcommand under `commands/` that turns them into the library's options and prints its
//! result (`output`: text or `--json`), the progress bar (`progress`), and exit codes. The
//! `train` feature (on by default) brings the data set's search, download and Parquet reading;
//! without it the binary only loads models and predicts.

mod args;
mod commands;
mod examples;
mod output;
#[cfg(feature = "train")]
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // No arguments at all: a few lines that say where to start, not every option.
    if std::env::args_os().len() == 1 {
        output::stderr(format_args!("{}", examples::SHORT_USAGE));
        return ExitCode::from(2);
    }
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
        // `drift --fail-above`: the report is out; the drift is the failure cron and CI watch.
        #[cfg(feature = "train")]
        Err(e) if e.is::<commands::drift::Exceeded>() => {
            output::stderr(format_args!("error: {e}"));
            ExitCode::from(3)
        }
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
