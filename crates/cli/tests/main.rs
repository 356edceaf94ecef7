//! Tests of the `cali-reg` binary and of the library figures it prints, against scikit-learn's.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod binary;
mod columnar;
mod docs;
mod drift;
mod export;
mod hostile;
mod inference;
mod nist;
#[path = "../../linreg/tests/nist/data.rs"]
mod nist_data;
mod options;
mod reader;
mod reference;
mod run_record;
mod serve;
mod streaming;
mod support;
mod tracking;
