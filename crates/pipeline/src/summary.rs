//! `summary`: the inference statistics of the float model from the training rows' sufficient
//! statistics that `train` keeps beside it (`train_stats.msgpack`), whichever path trained it:
//! no pass over the data. The figures are statsmodels' `OLS` (`WLS` with a weight column).

use std::path::PathBuf;

use linreg::envelope::ShardStats;
use linreg::{Estimate, Inference};
use serde::Serialize;

use crate::artifacts::{self, TRAIN_STATS};
use crate::error::{Error, Result};
use crate::run_record::RunRecord;

/// What `summary` is asked.
#[derive(Debug, Clone)]
pub struct SummaryOptions {
    /// The artifacts folder.
    pub artifacts: PathBuf,
    /// The confidence intervals' alpha (0.05: 95% intervals).
    pub alpha: f64,
}

/// The model's inference statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// `"summary"`.
    pub command: &'static str,
    /// The model file.
    pub model: String,
    /// The target.
    pub target: String,
    /// `OLS`, or `WLS` with weights.
    pub method: &'static str,
    /// The weight column, if any.
    pub weight: Option<String>,
    /// The statistics.
    #[serde(flatten)]
    pub inference: Inference,
    /// The condition number of the scaled normal equations the fit solved (the model's; the
    /// inference's `condition_number` is the design matrix's, as statsmodels gives it).
    pub scaled_condition_number: f64,
}

/// The summary of the float model of the folder. The caller holds the folder's shared lock.
pub fn summary(options: &SummaryOptions) -> Result<Summary> {
    let dir = &options.artifacts;
    let record = RunRecord::open_or_empty(dir)?;
    let model = record.load_float(dir)?;
    let (bytes, path) = record.read_file(dir, TRAIN_STATS).map_err(|e| match e {
        Error::Read { path, .. } => Error::NoTrainStats { path },
        other => other,
    })?;
    let shard: ShardStats = artifacts::decode(&path, &bytes)?;
    let weight = record.parameters.weight.clone();
    let inference = linreg::infer(&shard.stats, &model, options.alpha, weight.is_some())?;
    Ok(Summary {
        command: "summary",
        model: dir.join(crate::LINEAR).display().to_string(),
        target: model.recipe().target.name.clone(),
        method: if weight.is_some() { "WLS" } else { "OLS" },
        weight,
        inference,
        scaled_condition_number: model.diagnostics().condition_number,
    })
}

/// A number in at most `width` characters, as statsmodels' tables show them.
fn cell(x: f64, width: usize) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        return format!("{x:.3e}");
    }
    let text = format!("{x:.4}");
    if text.len() <= width {
        return text;
    }
    format!("{x:.3e}")
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.inference;
        let rule = "=".repeat(78);
        let title = format!("{:^78}", format!("{} Regression Results", self.method));
        writeln!(f, "{}", title.trim_end())?;
        writeln!(f, "{rule}")?;
        let optional = |v: Option<f64>| v.map_or_else(|| String::from("—"), |v| format!("{v:.6}"));
        let pairs = [
            (
                "Dep. Variable:",
                self.target.clone(),
                "R-squared:",
                format!("{:.6}", s.r2),
            ),
            (
                "Model:",
                self.method.to_owned(),
                "Adj. R-squared:",
                format!("{:.6}", s.adj_r2),
            ),
            (
                "Weights:",
                self.weight.clone().unwrap_or_else(|| String::from("none")),
                "F-statistic:",
                format!("{:.6}", s.f_statistic),
            ),
            (
                "No. Observations:",
                s.nobs.to_string(),
                "Prob (F-statistic):",
                format!("{:.4e}", s.f_p_value),
            ),
            (
                "Df Residuals:",
                format!("{}", s.df_resid),
                "Log-Likelihood:",
                optional(s.log_likelihood),
            ),
            (
                "Df Model:",
                format!("{}", s.df_model),
                "AIC:",
                optional(s.aic),
            ),
            (
                "Resid. Std:",
                format!("{:.6}", s.resid_std),
                "BIC:",
                optional(s.bic),
            ),
        ];
        for (a, b, c, d) in pairs {
            writeln!(f, "{a:<20}{b:>18}   {c:<20}{d:>17}")?;
        }
        writeln!(f, "{rule}")?;
        let lo = format!("[{}", s.alpha / 2.0);
        let hi = format!("{}]", 1.0 - s.alpha / 2.0);
        writeln!(
            f,
            "{:<14}{:>11}{:>11}{:>11}{:>9}{:>11}{:>11}",
            "", "coef", "std err", "t", "P>|t|", lo, hi
        )?;
        writeln!(f, "{}", "-".repeat(78))?;
        for Estimate {
            name,
            coef,
            std_err,
            t,
            p_value,
            ci_lower,
            ci_upper,
        } in &s.estimates
        {
            writeln!(
                f,
                "{name:<14}{:>11}{:>11}{:>11}{:>9.3}{:>11}{:>11}",
                cell(*coef, 10),
                cell(*std_err, 10),
                cell(*t, 10),
                p_value,
                cell(*ci_lower, 10),
                cell(*ci_upper, 10)
            )?;
        }
        writeln!(f, "{rule}")?;
        write!(
            f,
            "Cond. No. {:.6e} (of the design matrix; of the scaled normal equations solved: {:.4}){}",
            self.inference.condition_number,
            self.scaled_condition_number,
            if self
                .inference
                .estimates
                .first()
                .is_some_and(|e| e.name == "const")
            {
                ""
            } else {
                "\nNo intercept: R² is the uncentred one (1 − SSR/Σy²), as statsmodels reports it"
            }
        )
    }
}
