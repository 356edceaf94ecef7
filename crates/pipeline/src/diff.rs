//! `diff`: the params and metrics that changed between two runs, with their deltas, as text,
//! JSON or a Markdown table for a pull request's comment (as `dvc metrics diff --md` makes).
//!
//! A run is a record: `run.json`, a copy in the history (`runs/…json`), or a folder holding a
//! `run.json`. Params are the record's `parameters` (the data file's stamp left out: it moves
//! with the file's time); metrics are its `metrics` and `sizes`. Nested keys are joined with
//! dots (`float.r2`, `data.sha256`); a list (the features) is compared as one value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::history;
use crate::run_record::{self, RunRecord};

/// Which two runs to compare.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// The artifacts folder, whose history and record are the defaults.
    pub artifacts: PathBuf,
    /// The older run; default: the next-to-last run of the history.
    pub old: Option<PathBuf>,
    /// The newer run; default: the folder's last run.
    pub new: Option<PathBuf>,
}

/// One value that changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Its key, dotted.
    pub key: String,
    /// Its value in the older run (`null`: absent).
    pub old: Value,
    /// Its value in the newer run (`null`: absent).
    pub new: Value,
    /// new − old, for a metric where both are numbers.
    pub delta: Option<f64>,
}

/// The changes between two runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// `"diff"`.
    pub command: &'static str,
    /// The older run's record.
    pub old: String,
    /// The newer run's record.
    pub new: String,
    /// The params that changed.
    pub params: Vec<Change>,
    /// The metrics that changed.
    pub metrics: Vec<Change>,
}

/// Compare two runs. With neither given, the last two runs of the history; with one, that run
/// against the folder's `run.json`.
pub fn diff(options: &DiffOptions) -> Result<Diff> {
    let dir = &options.artifacts;
    let (old, new) = match (&options.old, &options.new) {
        (Some(old), Some(new)) => (old.clone(), new.clone()),
        (Some(old), None) => (old.clone(), dir.join(run_record::FILE)),
        (None, _) => {
            let runs = history::list(dir)?;
            match runs.as_slice() {
                [.., old, new] => (old.clone(), new.clone()),
                _ => {
                    return Err(Error::FewRuns {
                        folder: dir.join(history::FOLDER),
                        found: runs.len(),
                    });
                }
            }
        }
    };
    let (old_record, old) = read(&old)?;
    let (new_record, new) = read(&new)?;
    let (old_params, old_metrics) = flatten(&old_record, &old)?;
    let (new_params, new_metrics) = flatten(&new_record, &new)?;
    Ok(Diff {
        command: "diff",
        old: old.display().to_string(),
        new: new.display().to_string(),
        params: changes(&old_params, &new_params, false),
        metrics: changes(&old_metrics, &new_metrics, true),
    })
}

/// The record at `path`, or in the folder `path`; and the file read.
fn read(path: &Path) -> Result<(RunRecord, PathBuf)> {
    let file = if path.is_dir() {
        path.join(run_record::FILE)
    } else {
        path.to_path_buf()
    };
    let record =
        RunRecord::open_file(&file)?.ok_or_else(|| Error::NoRecord { path: file.clone() })?;
    Ok((record, file))
}

type Flat = BTreeMap<String, Value>;

/// A record's params and metrics, flattened to dotted keys.
fn flatten(record: &RunRecord, path: &Path) -> Result<(Flat, Flat)> {
    let mut params = Flat::new();
    flatten_into("", &to_json(&record.parameters, path)?, &mut params);
    params.retain(|key, _| !key.starts_with("data.stamp"));
    let mut metrics = Flat::new();
    flatten_into("", &to_json(&record.metrics, path)?, &mut metrics);
    flatten_into("sizes.", &to_json(&record.sizes, path)?, &mut metrics);
    Ok((params, metrics))
}

fn to_json<T: Serialize>(value: &T, path: &Path) -> Result<Value> {
    serde_json::to_value(value).map_err(|cause| Error::RecordInvalid {
        path: path.to_path_buf(),
        cause,
    })
}

fn flatten_into(prefix: &str, value: &Value, out: &mut Flat) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                flatten_into(&format!("{prefix}{key}."), value, out);
            }
        }
        Value::Null => {}
        other => {
            out.insert(prefix.trim_end_matches('.').to_owned(), other.clone());
        }
    }
}

/// The keys whose values differ; `deltas`: with new − old where both are numbers (metrics; a
/// param's difference, a seed's say, means nothing).
fn changes(old: &Flat, new: &Flat, deltas: bool) -> Vec<Change> {
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let (a, b) = (old.get(key), new.get(key));
            if a == b {
                return None;
            }
            let delta = match (a.and_then(Value::as_f64), b.and_then(Value::as_f64)) {
                (Some(a), Some(b)) if deltas => Some(b - a),
                _ => None,
            };
            Some(Change {
                key: key.clone(),
                old: a.cloned().unwrap_or(Value::Null),
                new: b.cloned().unwrap_or(Value::Null),
                delta,
            })
        })
        .collect()
}

/// A value as the tables show it: numbers to 6 significant digits, lists joined, absent as `—`.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => String::from("—"),
        Value::String(text) => text.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(x)) => significant(x),
            _ => n.to_string(),
        },
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// `x` to 6 significant digits, without trailing zeros.
fn significant(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-5..15).contains(&magnitude) {
        return format!("{x:.5e}");
    }
    let decimals = (5 - magnitude).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

fn delta(change: &Change) -> String {
    match change.delta {
        Some(d) if d > 0.0 => format!("+{}", significant(d)),
        Some(d) => significant(d),
        None => String::from("—"),
    }
}

impl Diff {
    /// The changes as Markdown tables, for a pull request's comment.
    pub fn markdown(&self) -> String {
        let mut text = format!("Runs: `{}` → `{}`\n", self.old, self.new);
        for (title, changes) in [("Param", &self.params), ("Metric", &self.metrics)] {
            if changes.is_empty() {
                text.push_str(&format!("\nNo {} changed.\n", title.to_lowercase()));
                continue;
            }
            text.push_str(&format!(
                "\n| {title} | Old | New | Change |\n|---|---:|---:|---:|\n"
            ));
            for change in changes {
                text.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    change.key,
                    shown(&change.old).replace('|', "\\|"),
                    shown(&change.new).replace('|', "\\|"),
                    delta(change)
                ));
            }
        }
        text
    }
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} → {}", self.old, self.new)?;
        if self.params.is_empty() && self.metrics.is_empty() {
            return write!(f, "\nno param or metric changed");
        }
        let rows: Vec<[String; 4]> = [&self.params, &self.metrics]
            .into_iter()
            .flatten()
            .map(|c| [c.key.clone(), shown(&c.old), shown(&c.new), delta(c)])
            .collect();
        let width = |i: usize| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(6)
        };
        let widths = [width(0), width(1), width(2)];
        for (title, changes, skip) in [
            ("param", &self.params, 0),
            ("metric", &self.metrics, self.params.len()),
        ] {
            if changes.is_empty() {
                continue;
            }
            write!(
                f,
                "\n{title:<w0$}  {:>w1$}  {:>w2$}  change",
                "old",
                "new",
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            )?;
            for row in &rows[skip..skip + changes.len()] {
                write!(
                    f,
                    "\n{:<w0$}  {:>w1$}  {:>w2$}  {}",
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2]
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_show_six_significant_digits() {
        assert_eq!(significant(0.5757877060324512), "0.575788");
        assert_eq!(significant(-0.0156), "-0.0156");
        assert_eq!(significant(16512.0), "16512");
        assert_eq!(significant(1234567.891), "1234568");
        assert_eq!(significant(2.0e-7), "2.00000e-7");
    }

    #[test]
    fn only_what_differs_is_a_change() {
        let old: Flat = [
            ("seed", Value::from(42)),
            ("r2", Value::from(0.5)),
            ("same", Value::from("x")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let new: Flat = [
            ("seed", Value::from(7)),
            ("r2", Value::from(0.25)),
            ("same", Value::from("x")),
            ("added", Value::from(true)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let c = changes(&old, &new, true);
        assert!(changes(&old, &new, false).iter().all(|c| c.delta.is_none()));
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["added", "r2", "seed"]);
        assert_eq!(c[1].delta, Some(-0.25));
        assert_eq!(c[0].delta, None);
        assert_eq!(c[0].old, Value::Null);
    }
}
