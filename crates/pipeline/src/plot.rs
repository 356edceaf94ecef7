//! `predictions.svg`: predicted against actual on the test split, float and quantised, with the diagonal.

use plotters::prelude::*;

use crate::error::{Error, Result};

/// At most this many points per series, evenly spaced over the test rows, to keep the SVG small.
const MAX_POINTS: usize = 1000;

/// Render the scatter plot as an SVG document.
pub fn predictions_svg(actual: &[f64], float: &[f64], quantized: &[f64]) -> Result<String> {
    let mut svg = String::new();
    let step = actual.len().div_ceil(MAX_POINTS).max(1);
    let (lo, hi, hidden) = axes(actual, &[float, quantized]);
    let inside = |p: &(f64, f64)| p.1 >= lo && p.1 <= hi;
    {
        let root = SVGBackend::with_string(&mut svg, (720, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "Test split, every {step}th of {} rows ({hidden} predictions off the axes)",
                    actual.len()
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(lo..hi, lo..hi)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("actual MedHouseVal (100 k$)")
            .y_desc("predicted")
            .draw()
            .map_err(plot_error)?;
        let series = [
            ("float model", float, BLUE.mix(0.35)),
            ("uint8 quantised model", quantized, RED.mix(0.35)),
        ];
        for (label, predicted, colour) in series {
            let points: Vec<(f64, f64)> = actual
                .iter()
                .zip(predicted)
                .step_by(step)
                .map(|(&a, &p)| (a, p))
                .filter(inside)
                .collect();
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 2, colour.filled())),
                )
                .map_err(plot_error)?
                .label(label)
                .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
        }
        chart
            .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.stroke_width(1)))
            .map_err(plot_error)?
            .label("predicted = actual")
            .legend(|(x, y)| PathElement::new([(x - 8, y), (x + 8, y)], BLACK));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// Axes that span the actual values plus a margin, and how many predictions fall beyond them
/// (the few wild ones are counted, not drawn).
fn axes(actual: &[f64], predictions: &[&[f64]]) -> (f64, f64, usize) {
    let (lo, hi) = actual
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (lo, hi) = (lo.floor() - 1.0, hi.ceil() + 1.0);
    let hidden = predictions
        .iter()
        .flat_map(|p| p.iter())
        .filter(|&&p| p < lo || p > hi)
        .count();
    (lo, hi, hidden)
}

fn plot_error<E: std::fmt::Display>(e: E) -> Error {
    Error::Plot(e.to_string())
}
