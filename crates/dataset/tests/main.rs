//! Integration tests of `dataset`: the real data, the download path over loopback, and bad inputs.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod bad_input;
mod california;
mod download;
mod nist;
mod support;
