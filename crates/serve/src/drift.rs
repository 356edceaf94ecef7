//! Drift in the server: the rows predicted in the last minutes, counted into the model's
//! training bins as a ring of per-minute tallies (memory: features × bins × minutes, whatever
//! the traffic), and the figures `/metrics` and `GET /drift` give of them.

use std::collections::VecDeque;

use linreg::Predictor;
use linreg::drift::TrainingDistributions;
use pipeline::{DriftReport, Tallies};

/// Minutes a window holds unless told otherwise.
pub const DEFAULT_MINUTES: u64 = 60;

/// The recent rows of one model.
#[derive(Debug)]
pub struct Window {
    training: TrainingDistributions,
    names: Vec<String>,
    /// The served model's predictions of the training rows, on average: its weights applied to
    /// the training means (a linear model's mean prediction is its prediction of the means).
    expected_prediction: f64,
    /// Per minute (since the Unix epoch), oldest first.
    minutes: VecDeque<(u64, Tallies)>,
    span: u64,
}

/// The minute of now, since the Unix epoch.
pub fn this_minute() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

impl Window {
    /// A window of `span` minutes for `predictor`'s model; `None` when the model carries no
    /// training distributions, or `span` is 0 (drift not watched).
    pub fn new(predictor: &Predictor, span: u64) -> Option<Self> {
        if span == 0 {
            return None;
        }
        let training = predictor.distributions()?.clone();
        let means: Vec<f64> = training.features.iter().map(|d| d.mean()).collect();
        Some(Self {
            expected_prediction: predictor.predict_row(&means),
            names: predictor.recipe().feature_names(),
            training,
            minutes: VecDeque::new(),
            span,
        })
    }

    /// Count rows predicted in `minute`: `rows` holds each row's features then its prediction.
    pub fn push(&mut self, minute: u64, rows: &[f64]) {
        let width = self.names.len() + 1;
        let Some(tallies) = current(&mut self.minutes, &self.training, self.span, minute) else {
            return;
        };
        for row in rows.chunks_exact(width) {
            tallies.push(&self.training, &row[..width - 1], row[width - 1]);
        }
    }

    /// Add rows counted elsewhere (against this window's model) to `minute`.
    pub fn merge(&mut self, minute: u64, tallies: &Tallies) {
        if let Some(current) = current(&mut self.minutes, &self.training, self.span, minute) {
            current.merge(tallies);
        }
    }

    /// Drop the minutes that have left the window at `minute`.
    fn forget(&mut self, minute: u64) {
        forget(&mut self.minutes, self.span, minute);
    }

    /// The window's rows at `minute`, merged.
    pub fn merged(&mut self, minute: u64) -> Tallies {
        self.forget(minute);
        let mut all = Tallies::new(&self.training);
        for (_, tallies) in &self.minutes {
            all.merge(tallies);
        }
        all
    }

    /// What `cali-reg drift --json` says of the window's rows at `minute` (`model` names the
    /// file); `None` while it holds none.
    pub fn report(&mut self, minute: u64, model: String) -> Option<pipeline::Result<DriftReport>> {
        let all = self.merged(minute);
        (all.rows() > 0).then(|| {
            let data = format!("the rows predicted in the last {} minute(s)", self.span);
            DriftReport::of((model, data), &self.names, &self.training, &all)
        })
    }

    /// The features' names, in the model's order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The served model's mean prediction of the training rows.
    pub fn expected_prediction(&self) -> f64 {
        self.expected_prediction
    }

    /// Minutes the window holds.
    pub fn span(&self) -> u64 {
        self.span
    }
}

/// The tallies of `minute`, started if need be, once the minutes that left the window are gone.
fn current<'a>(
    minutes: &'a mut VecDeque<(u64, Tallies)>,
    training: &TrainingDistributions,
    span: u64,
    minute: u64,
) -> Option<&'a mut Tallies> {
    if minutes.back().is_none_or(|(m, _)| *m != minute) {
        minutes.push_back((minute, Tallies::new(training)));
    }
    forget(minutes, span, minute);
    minutes.back_mut().map(|(_, tallies)| tallies)
}

/// Drop the minutes that have left a window of `span` minutes at `minute`.
fn forget(minutes: &mut VecDeque<(u64, Tallies)>, span: u64, minute: u64) {
    while minutes
        .front()
        .is_some_and(|(m, _)| minute.saturating_sub(*m) >= span)
    {
        minutes.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linreg::drift::TrainingDistributions;
    use linreg::{AnyModel, LinearRegression};
    use nalgebra::{DMatrix, DVector};

    fn predictor() -> Predictor {
        let n = 200;
        let x = DMatrix::from_fn(n, 2, |r, c| ((r * (c + 3)) % 17) as f64);
        let y = DVector::from_fn(n, |r, _| 2.0 * x[(r, 0)] - x[(r, 1)] + 1.0 + (r % 3) as f64);
        let model = LinearRegression::new().fit(&x, &y).unwrap();
        let columns: Vec<Vec<f64>> = (0..2)
            .map(|c| x.column(c).iter().copied().collect())
            .collect();
        let predictions: Vec<f64> = (0..n)
            .map(|r| model.predict_row(&[x[(r, 0)], x[(r, 1)]]))
            .collect();
        let d = TrainingDistributions::of(&columns, y.as_slice(), &predictions, 8).unwrap();
        Predictor::new(AnyModel::Float(model.with_distributions(d).unwrap()))
    }

    #[test]
    fn minutes_leave_the_window_and_memory_stays_bounded() {
        let p = predictor();
        let mut w = Window::new(&p, 3).unwrap();
        let row = [1.0, 2.0, p.predict_row(&[1.0, 2.0])];
        for minute in 100..110 {
            w.push(minute, &row);
            w.push(minute, &row);
            assert!(w.minutes.len() <= 3);
        }
        assert_eq!(w.merged(109).rows(), 6, "minutes 107, 108, 109");
        assert_eq!(w.merged(111).rows(), 2, "minute 109 only");
        assert!(w.report(200, "m".into()).is_none(), "nothing left");
        // The expectation is the mean of the training predictions (linear model).
        let training_mean = p
            .distributions()
            .unwrap()
            .prediction
            .as_ref()
            .unwrap()
            .mean();
        assert!((w.expected_prediction() - training_mean).abs() < 1e-12);
    }
}
