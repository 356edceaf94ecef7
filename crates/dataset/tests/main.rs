//! Integration tests of `dataset`: the real data, the download path over loopback, and bad inputs.

mod bad_input;
mod california;
mod download;
mod support;
