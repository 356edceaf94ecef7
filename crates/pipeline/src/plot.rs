//! `predictions.svg`: predicted against actual on the test split, float and quantised, with the
//! diagonal; and `drift --svg`: each column's training and new histograms.

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

/// Columns of panels in the drift plot.
const PANELS_ACROSS: usize = 3;

/// The drift report's histograms as an SVG document: a panel per feature and one for the
/// predictions, each bin's share of the training rows (grey) and of the table's (blue). The
/// bins are the training quantiles', so the training bars stand nearly level and drift shows
/// as the blue ones leaving them; the outer bins hold everything beyond the outer edges.
pub fn drift_svg(report: &crate::DriftReport) -> Result<String> {
    let columns: Vec<&crate::ColumnDrift> = report.columns().collect();
    let down = columns.len().div_ceil(PANELS_ACROSS);
    let mut svg = String::new();
    {
        let size = (360 * PANELS_ACROSS as u32, 60 + 260 * down as u32);
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let root = root
            .titled(
                &format!(
                    "{} ({} rows, blue) against the training rows ({}, grey): share per training-quantile bin",
                    report.data, report.rows, report.training_rows
                ),
                ("sans-serif", 16),
            )
            .map_err(plot_error)?;
        for (area, column) in root
            .split_evenly((down, PANELS_ACROSS))
            .iter()
            .zip(&columns)
        {
            panel(area, column)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    column: &crate::ColumnDrift,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let share = |counts: &[u64]| -> Vec<f64> {
        let total = counts.iter().sum::<u64>().max(1) as f64;
        counts.iter().map(|&c| c as f64 / total).collect()
    };
    let (training, new) = (share(&column.training_counts), share(&column.counts));
    let top = training.iter().chain(&new).fold(0.0_f64, |m, &v| m.max(v)) * 1.1;
    let bins = training.len() as f64;
    let d = &column.drift;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "{}: PSI {:.3}, W1/SD {:.3}",
                column.name, d.psi, d.wasserstein
            ),
            ("sans-serif", 14),
        )
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(40)
        .build_cartesian_2d(0.0..bins, 0.0..top.max(1e-9))
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("bin")
        .x_labels(5)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_labels(4)
        .draw()
        .map_err(plot_error)?;
    let bars = |shares: &[f64], inset: f64, style: ShapeStyle| {
        shares
            .iter()
            .enumerate()
            .map(move |(i, &s)| {
                let x = i as f64;
                Rectangle::new([(x + inset, 0.0), (x + 1.0 - inset, s)], style)
            })
            .collect::<Vec<_>>()
    };
    chart
        .draw_series(bars(
            &training,
            0.05,
            RGBColor(128, 128, 128).mix(0.6).filled(),
        ))
        .map_err(plot_error)?;
    chart
        .draw_series(bars(&new, 0.3, BLUE.mix(0.7).filled()))
        .map_err(plot_error)?;
    Ok(())
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
