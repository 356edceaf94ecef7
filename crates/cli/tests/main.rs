//! Tests of the `cali-reg` binary and of the library figures it prints, against scikit-learn's.

mod binary;
mod reference;
mod support;
