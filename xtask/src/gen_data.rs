//! `cargo xtask gen-data`: synthetic tables with known weights, as CSV or Parquet, for the
//! benches and for trying files larger than memory.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// The weights a synthetic table is made with: alternating signs, growing sizes.
pub fn true_coefficients(features: usize) -> Vec<f64> {
    (0..features)
        .map(|j| if j % 2 == 0 { 0.5 } else { -0.5 } * (j as f64 + 1.0))
        .collect()
}
/// The synthetic tables' intercept.
pub const TRUE_INTERCEPT: f64 = 2.0;

/// SplitMix64 uniform numbers in [0, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal number (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(f64::MIN_POSITIVE), self.next());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Write `rows` rows of `features` uniform features (column j spans ±10·(j+1)) and
/// `y = x · true_coefficients + 2 + N(0, 0.5²)`, with a header `x0,…,y`.
pub fn gen_data(rows: u64, features: usize, seed: u64, out: &Path) -> anyhow::Result<()> {
    let beta = true_coefficients(features);
    let destination = dataset::Destination::open(out)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, destination.file()?);
    let header: Vec<String> = (0..features)
        .map(|j| format!("x{j}"))
        .chain([String::from("y")])
        .collect();
    writeln!(w, "{}", header.join(","))?;
    let mut rng = Rng(seed);
    let mut x = vec![0.0; features];
    for _ in 0..rows {
        let mut y = TRUE_INTERCEPT + 0.5 * rng.normal();
        for (j, v) in x.iter_mut().enumerate() {
            *v = (rng.next() * 20.0 - 10.0) * (j as f64 + 1.0);
            y += *v * beta[j];
            write!(w, "{v:.5},")?;
        }
        writeln!(w, "{y:.5}")?;
    }
    w.flush()?;
    drop(w);
    Ok(destination.finish()?)
}

/// The format of a synthetic table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated text with a header
    Csv,
    /// Parquet, in 16 row groups
    Parquet,
}

/// [`gen_data`]'s table as Parquet in 16 row groups: written as CSV beside `out`, converted by
/// `bin convert`, the CSV removed.
pub fn gen_parquet(
    bin: &Path,
    rows: u64,
    features: usize,
    seed: u64,
    out: &Path,
) -> anyhow::Result<()> {
    let csv = out.with_extension("parquet-source.csv");
    gen_data(rows, features, seed, &csv)?;
    let status = Command::new(bin)
        .args(["convert", "--quiet", "--target", "y", "--data"])
        .arg(&csv)
        .arg("-o")
        .arg(out)
        .arg("--row-group-rows")
        .arg(rows.div_ceil(16).max(1).to_string())
        .status()
        .context("cannot run cali-reg convert");
    std::fs::remove_file(&csv)?;
    if !status?.success() {
        bail!("cali-reg convert failed to write {}", out.display());
    }
    Ok(())
}

/// `cargo xtask gen-data`: write the table, then say what it was made with.
pub fn run(
    rows: u64,
    features: usize,
    seed: u64,
    out: &Path,
    format: Format,
) -> anyhow::Result<()> {
    match format {
        Format::Csv => gen_data(rows, features, seed, out)?,
        Format::Parquet => {
            let bin = crate::pipeline::build_binary(
                &crate::project_root(),
                crate::pipeline::Build::Full,
            )?;
            gen_parquet(&bin, rows, features, seed, out)?;
        }
    }
    println!(
        "{}: {rows} rows, coefficients {:?}, intercept {}",
        out.display(),
        true_coefficients(features),
        TRUE_INTERCEPT
    );
    Ok(())
}
