//! One pass of a table into sufficient statistics, in bounded memory: the engine of streaming
//! training, `stats` and `scan`.
//!
//! Rows are read by `dataset`'s reader ([`Input::for_each_chunk`]: one reader thread, parsing
//! workers, results in file order), derived by [`Derivation`] (with their weights), and each
//! chunk's rows are pushed into its own [`SufficientStats`], training or test by a caller's
//! rule, merged in file order, so the result does not depend on the number of threads.

use std::path::Path;

use dataset::{Chunk, Derivation, Input, recipe_for};
use linreg::{Recipe, SufficientStats};

use crate::data::DataOptions;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Rows handed to the accumulator at a time.
const BATCH: usize = 8192;

/// What one pass over a file produced.
#[derive(Debug)]
pub struct Pass {
    /// How features came from the columns.
    pub recipe: Recipe,
    /// The statistics of the training rows.
    pub train: SufficientStats,
    /// The statistics of the test rows.
    pub test: SufficientStats,
    /// Rows read.
    pub rows: u64,
    /// The table's SHA-256 (empty where it was not hashed).
    pub sha256: String,
    /// The table's name in messages.
    pub name: String,
}

/// One chunk's rows, accumulated apart by group; merged in file order, so the result does not
/// depend on the number of threads.
struct Share {
    groups: Vec<SufficientStats>,
    rows: u64,
    bytes: u64,
}

/// Rows of a chunk, row-major, on their way into the statistics (with their weights, when
/// rows are weighted).
struct Batch {
    x: Vec<f64>,
    y: Vec<f64>,
    w: Option<Vec<f64>>,
}

impl Batch {
    fn new(p: usize, weighted: bool) -> Self {
        Self {
            x: Vec::with_capacity(BATCH * p),
            y: Vec::with_capacity(BATCH),
            w: weighted.then(|| Vec::with_capacity(BATCH)),
        }
    }

    fn flush(&mut self, stats: &mut SufficientStats) -> std::result::Result<(), linreg::Error> {
        stats.push_batch(&self.x, &self.y, self.w.as_deref())?;
        self.x.clear();
        self.y.clear();
        if let Some(w) = &mut self.w {
            w.clear();
        }
        Ok(())
    }
}

/// Parse, derive and accumulate one chunk, each row into the statistics of its group.
fn share(
    derive: &Derivation,
    chunk: &Chunk,
    groups: usize,
    (group_of, sketched): (&(dyn Fn(u64) -> usize + Sync), &[bool]),
) -> Result<Share> {
    let p = derive.n_features();
    let mut share = Share {
        groups: empty_groups(p, groups, sketched)?,
        rows: 0,
        bytes: chunk.len() as u64,
    };
    let weighted = derive.is_weighted();
    let mut batches: Vec<Batch> = (0..groups).map(|_| Batch::new(p, weighted)).collect();
    let mut raw = vec![0.0; derive.n_columns()];
    let mut features = vec![0.0; p];
    for (line, record) in chunk.lines() {
        let target = derive.row(line, record, &mut raw, &mut features)?;
        let g = group_of(line);
        let batch = &mut batches[g];
        batch.x.extend_from_slice(&features);
        batch.y.push(target);
        if let Some(w) = &mut batch.w {
            w.push(derive.weight(&raw));
        }
        if batch.y.len() == BATCH {
            batch.flush(&mut share.groups[g])?;
        }
        share.rows += 1;
    }
    for (batch, stats) in batches.iter_mut().zip(&mut share.groups) {
        batch.flush(stats)?;
    }
    Ok(share)
}

/// Empty statistics for `groups` groups of `p` features, those `sketched` says keeping sketches.
fn empty_groups(p: usize, groups: usize, sketched: &[bool]) -> Result<Vec<SufficientStats>> {
    (0..groups)
        .map(|g| {
            let stats = SufficientStats::new(p)?;
            Ok(if sketched.get(g) == Some(&true) {
                stats.sketched()
            } else {
                stats
            })
        })
        .collect()
}

/// Read `path` once; each row goes to the test statistics when `is_test(line number)` says so.
/// `recipe` is the features to derive (a test file's, as training derived them), else the
/// recipe `data`'s spec gives; `known_sha256` spares hashing a file the record vouches for.
/// `sketch_train` keeps the training columns' sketches (for their distributions).
pub fn pass(
    data: &DataOptions,
    path: &Path,
    recipe: Option<&Recipe>,
    known_sha256: Option<&str>,
    (is_test, sketch_train): (&(dyn Fn(u64) -> bool + Sync), bool),
    progress: &dyn Progress,
) -> Result<Pass> {
    let grouped = pass_groups(
        data,
        path,
        recipe,
        known_sha256,
        (2, &|line| usize::from(is_test(line)), &[sketch_train]),
        progress,
    )?;
    let mut groups = grouped.groups.into_iter();
    let (Some(train), Some(test)) = (groups.next(), groups.next()) else {
        return Err(Error::Thread);
    };
    Ok(Pass {
        recipe: grouped.recipe,
        train,
        test,
        rows: grouped.rows,
        sha256: grouped.sha256,
        name: grouped.name,
    })
}

/// What one pass into groups produced.
#[derive(Debug)]
pub struct GroupedPass {
    /// How features came from the columns.
    pub recipe: Recipe,
    /// Each group's statistics.
    pub groups: Vec<SufficientStats>,
    /// Rows read.
    pub rows: u64,
    /// The table's SHA-256 (empty where it was not hashed).
    pub sha256: String,
    /// The table's name in messages.
    pub name: String,
}

/// Read `path` once; each row goes to the statistics of group `group_of(line number)`, one of
/// `groups` (the folds of `cv --streaming`; [`pass`]'s training and test rows); the groups
/// `sketched` marks keep their columns' sketches.
pub fn pass_groups(
    data: &DataOptions,
    path: &Path,
    recipe: Option<&Recipe>,
    known_sha256: Option<&str>,
    (groups, group_of, sketched): (usize, &(dyn Fn(u64) -> usize + Sync), &[bool]),
    progress: &dyn Progress,
) -> Result<GroupedPass> {
    let spec = &data.spec;
    let input = Input::open(path, spec.default_columns())?;
    let input = match known_sha256 {
        Some(sha256) => input.hashed_already(sha256),
        None => input,
    };
    let name = input.name().to_owned();
    let recipe = match recipe {
        Some(r) => r.clone(),
        None => recipe_for(&name, input.columns(), spec)?,
    };
    let derive = Derivation::new(&input, &recipe)?.weighted_by(spec.weight.as_deref())?;
    let input = input.reading_only(derive.used());
    let p = recipe.features.len();
    progress.start(input.size_hint());
    let mut all = empty_groups(p, groups, sketched)?;
    let (mut rows, mut bytes) = (0, 0);
    let sha256 = input.for_each_chunk(
        |chunk| share(&derive, chunk, groups, (group_of, sketched)),
        |share| {
            for (total, part) in all.iter_mut().zip(&share.groups) {
                total.merge(part)?;
            }
            rows += share.rows;
            bytes += share.bytes;
            progress.advance(bytes, rows);
            Ok::<(), Error>(())
        },
    )?;
    progress.finish();
    if rows == 0 {
        return Err(Error::NoRows { file: name });
    }
    if let Some(column) = &spec.weight
        && all.iter().map(SufficientStats::weight).sum::<f64>() == 0.0
    {
        return Err(Error::ZeroWeights {
            file: name,
            column: column.clone(),
        });
    }
    Ok(GroupedPass {
        recipe,
        groups: all,
        rows,
        sha256: sha256.unwrap_or_default(),
        name,
    })
}
