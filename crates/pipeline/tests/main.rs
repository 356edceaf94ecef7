//! The library as another Rust program would call it: a whole run on California Housing
//! (train, evaluate, quantize, predict, report), checked against scikit-learn's figures, with
//! no process in between.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use pipeline::{
    DataOptions, EvaluateOptions, HeldOut, RunRecord, SampleOptions, Silent, Source, SplitChoice,
    TrainOptions, Which,
};

/// The California CSV: `CALI_REG_DATA`, else the cache. Fails, never skips, when absent.
fn data() -> DataOptions {
    let path = dataset::local_copy()
        .unwrap_or_else(|e| panic!("this test needs the California Housing data: {e}"));
    DataOptions {
        path: Some(path),
        spec: dataset::Spec::default(),
    }
}

fn train_options(artifacts: &std::path::Path, source: Source, held_out: HeldOut) -> TrainOptions {
    TrainOptions {
        artifacts: artifacts.to_path_buf(),
        data: data(),
        source,
        held_out,
        split: SplitChoice::default().for_training(),
        estimator: linreg::LinearRegression::new(),
        keep: pipeline::history::KEEP,
        alpha_search: None,
        distributions: true,
    }
}

fn close(a: f64, b: f64, relative: f64) -> bool {
    (a - b).abs() <= relative * b.abs()
}

#[test]
fn a_whole_run_through_the_library_equals_scikit_learn() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("artifacts");
    let options = train_options(&artifacts, Source::Table, HeldOut::Permutation);
    let trained = pipeline::train(&options, &Silent).unwrap();
    // scikit-learn's LinearRegression on the seed split (../shared/data/README.md).
    assert!(
        close(trained.r2.unwrap(), 0.5757877060, 1e-9),
        "{trained:?}"
    );
    assert!(
        close(trained.rmse.unwrap(), 0.7455813830, 1e-9),
        "{trained:?}"
    );
    assert_eq!((trained.train_rows, trained.test_rows), (16_512, 4_128));
    assert_eq!(
        trained.to_string().lines().next(),
        Some("✔ R²: 0.5758 | RMSE: 0.7456")
    );

    let evaluated = pipeline::evaluate(&EvaluateOptions {
        artifacts: artifacts.clone(),
        data: data(),
        split: SplitChoice::default(),
        which: Which::Float,
    })
    .unwrap();
    assert!(close(evaluated.r2, trained.r2.unwrap(), 1e-12));

    let quantized = pipeline::quantize(&artifacts).unwrap();
    assert_eq!(quantized.codes.len(), 8);
    let record = RunRecord::open(&artifacts).unwrap().unwrap();
    let predictor = pipeline::load_predictor(&artifacts, &record, Which::Float)
        .unwrap()
        .predictor;
    let samples = SampleOptions {
        data: data(),
        split: SplitChoice::default(),
        save_samples: None,
        interval: None,
    };
    let predicted = pipeline::predict_samples(&predictor, &record, &samples).unwrap();
    // The Python original's sample line.
    assert_eq!(
        predicted.to_string(),
        "Sample predictions: [0.719 1.764 2.710 2.839 2.605]"
    );

    let report = pipeline::report(&pipeline::ReportOptions {
        artifacts: artifacts.clone(),
        data: data(),
        split: SplitChoice::default(),
    })
    .unwrap();
    // The original's scheme, reproduced: its published R² of the quantised model.
    assert_eq!(format!("{:.4}", report.models[2].r2), "0.4854");
    assert!(artifacts.join(pipeline::REPORT).is_file());
}

#[test]
fn streaming_with_nothing_held_out_equals_the_fit_on_every_row_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("artifacts");
    let mut options = train_options(&artifacts, Source::Streaming, HeldOut::Permutation);
    options.split.test_size = 0.0;
    let streamed = pipeline::train(&options, &Silent).unwrap();
    options.source = Source::Table;
    let memory = pipeline::train(&options, &Silent).unwrap();
    assert!(streamed.streaming && streamed.in_sample && memory.in_sample);
    assert_eq!(streamed.train_rows, 20_640);
    for (a, b) in streamed.coefficients.iter().zip(&memory.coefficients) {
        assert!(close(*a, *b, 1e-9), "{a} {b}");
    }
    // Held out by permutation while streaming, the rows cannot be known: refused, by variant.
    options.source = Source::Streaming;
    options.split.test_size = 0.2;
    assert!(matches!(
        pipeline::train(&options, &Silent),
        Err(pipeline::Error::Options(_))
    ));
}
