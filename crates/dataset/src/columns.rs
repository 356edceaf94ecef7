//! Checks of a table's column names against the columns expected of it.

use crate::error::{Error, Result};

/// Refuse `found` unless it names the columns `expected` names, no fewer and no more (in any
/// order): the missing ones first, then the unexpected ones.
pub fn same_columns(
    file: &str,
    expected: &[impl AsRef<str>],
    found: &[impl AsRef<str>],
) -> Result<()> {
    let (expected, found): (Vec<&str>, Vec<&str>) = (
        expected.iter().map(AsRef::as_ref).collect(),
        found.iter().map(AsRef::as_ref).collect(),
    );
    let absent = |from: &[&str], of: &[&str]| -> Vec<String> {
        from.iter()
            .filter(|c| !of.contains(c))
            .map(|c| (*c).to_owned())
            .collect()
    };
    let missing = absent(&expected, &found);
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            file: file.to_owned(),
            columns: missing,
        });
    }
    let extra = absent(&found, &expected);
    if !extra.is_empty() {
        return Err(Error::ExtraColumns {
            file: file.to_owned(),
            columns: extra,
        });
    }
    Ok(())
}
