//! The progress bar of a long pass (indicatif), shown on a terminal only.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Instant;

use crate::args::Common;

/// A progress bar drawn on standard error while a table is read, unless `--quiet`, `--json`
/// or standard error is not a terminal.
#[derive(Debug)]
pub struct Bar {
    shown: bool,
    bar: OnceLock<indicatif::ProgressBar>,
    started: Instant,
}

impl Bar {
    pub fn new(common: &Common) -> Self {
        Self {
            shown: !common.quiet && !common.json && std::io::stderr().is_terminal(),
            bar: OnceLock::new(),
            started: Instant::now(),
        }
    }
}

impl pipeline::Progress for Bar {
    fn start(&self, total: Option<u64>) {
        let (true, Some(total)) = (self.shown, total) else {
            return;
        };
        let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {msg} ({elapsed}, {eta} left)",
        ) else {
            return;
        };
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(style);
        let _ = self.bar.set(bar);
    }

    fn advance(&self, bytes: u64, rows: u64) {
        if let Some(bar) = self.bar.get() {
            bar.set_position(bytes);
            let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{rows} rows, {:.1} M rows/s", rate / 1e6));
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}
