//! One CSV record (a line) into numbers, in a single scan of its bytes.
//!
//! The rules, the same for every command: fields are separated by commas; a field may be
//! wrapped in double quotes (then it may hold commas, and `""` stands for a quote), but a record
//! never spans lines; spaces around a value are ignored.

use crate::cell::{CellProblem, exact_decimal, is_exact, parse_cell, unquote};

/// What is wrong with a line (its number and the file are added by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineProblem {
    /// Not as many fields as columns.
    FieldCount {
        /// Columns of the table.
        expected: usize,
        /// Fields on the line.
        found: usize,
    },
    /// A quoted field without its closing quote.
    Unterminated {
        /// Zero-based column index.
        column: usize,
    },
    /// A cell that is not a finite number.
    Cell {
        /// Zero-based column index.
        column: usize,
        /// What is wrong with it.
        problem: CellProblem,
    },
}

/// The end of the field starting at `start`: the index of the comma after it, or `line.len()`.
/// Quote-aware: a comma inside double quotes does not end the field.
fn field_end(line: &[u8], start: usize, column: usize) -> Result<usize, LineProblem> {
    let Some(rel) = memchr::memchr2(b',', b'"', &line[start..]) else {
        return Ok(line.len());
    };
    let at = start + rel;
    if line[at] == b',' {
        return Ok(at);
    }
    // A quote: skip to its partner (a doubled quote is a literal one), then to the next comma.
    let mut i = at + 1;
    loop {
        match memchr::memchr(b'"', &line[i..]) {
            None => return Err(LineProblem::Unterminated { column }),
            Some(k) if line.get(i + k + 1) == Some(&b'"') => i += k + 2,
            Some(k) => {
                let after = i + k + 1;
                return Ok(memchr::memchr(b',', &line[after..]).map_or(line.len(), |c| after + c));
            }
        }
    }
}

/// Split a line into its fields (quote-aware), without interpreting them.
pub fn fields(line: &[u8]) -> Result<Vec<&[u8]>, LineProblem> {
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let end = field_end(line, start, out.len())?;
        out.push(&line[start..end]);
        if end == line.len() {
            return Ok(out);
        }
        start = end + 1;
    }
}

/// A field as CSV writes it: quoted (a quote inside doubled) when it holds a comma, a quote or
/// a line end, as is otherwise. [`header_names`] and [`unquote`](crate::unquote) read it back.
pub fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

/// The first name that appeared before it in `names`, if any: the check of a header, or of the
/// columns a request names. A set, not a scan of the names before each: 90,000 columns (under
/// the line limit) took 18 s to check pairwise.
///
/// ```
/// let names = ["a", "b", "a"].map(String::from);
/// assert_eq!(dataset::first_repeated(&names), Some("a"));
/// ```
pub fn first_repeated(names: &[String]) -> Option<&str> {
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    names
        .iter()
        .map(String::as_str)
        .find(|name| !seen.insert(*name))
}

/// The fields of a header line, unquoted and trimmed.
pub fn header_names(line: &[u8]) -> Result<Vec<String>, LineProblem> {
    Ok(fields(line)?
        .into_iter()
        .map(|f| String::from_utf8_lossy(&unquote(f)).into_owned())
        .collect())
}

/// Parse the line's `columns` fields into `raw` (indexed by column); fields whose `used` flag
/// is false are skipped, whatever they hold.
///
/// Plain decimals are read as the scan goes (Clinger's exact fast path); any other field goes
/// through [`parse_cell`].
pub fn parse_line(line: &[u8], used: &[bool], raw: &mut [f64]) -> Result<(), LineProblem> {
    let (n, len) = (used.len(), line.len());
    let mut i = 0;
    for c in 0..n {
        let start = i;
        let negative = i < len && line[i] == b'-';
        i += usize::from(negative);
        let mut mantissa: u64 = 0;
        let digits_start = i;
        while i < len && line[i].is_ascii_digit() {
            mantissa = mantissa
                .wrapping_mul(10)
                .wrapping_add(u64::from(line[i] - b'0'));
            i += 1;
        }
        let mut digits = i - digits_start;
        let mut decimals = 0;
        if i < len && line[i] == b'.' {
            i += 1;
            let f = i;
            while i < len && line[i].is_ascii_digit() {
                mantissa = mantissa
                    .wrapping_mul(10)
                    .wrapping_add(u64::from(line[i] - b'0'));
                i += 1;
            }
            decimals = i - f;
            digits += decimals;
        }
        if (i == len || line[i] == b',') && is_exact(digits, mantissa) {
            raw[c] = exact_decimal(mantissa, decimals, negative);
        } else {
            i = field_end(line, start, c)?;
            raw[c] = if used[c] {
                parse_cell(&line[start..i])
                    .map_err(|problem| LineProblem::Cell { column: c, problem })?
            } else {
                f64::NAN
            };
        }
        if c + 1 < n {
            if i == len {
                return Err(LineProblem::FieldCount {
                    expected: n,
                    found: c + 1,
                });
            }
            i += 1;
        } else if i != len {
            let found = n + fields(&line[i + 1..]).map_or(1, |f| f.len());
            return Err(LineProblem::FieldCount { expected: n, found });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(column: usize, problem: CellProblem) -> LineProblem {
        LineProblem::Cell { column, problem }
    }

    #[test]
    fn parses_plain_quoted_and_unusual_numbers() {
        let mut raw = [0.0; 5];
        parse_line(b"-122.23,1e3, 7 ,+0.5,\"2.25\"", &[true; 5], &mut raw).unwrap();
        assert_eq!(raw, [-122.23, 1000.0, 7.0, 0.5, 2.25]);
        // Unused columns may hold anything, commas inside quotes included.
        parse_line(
            b"1,\"id, 42\",3,4,5",
            &[true, false, true, true, true],
            &mut raw,
        )
        .unwrap();
        assert_eq!((raw[0], raw[2], raw[3], raw[4]), (1.0, 3.0, 4.0, 5.0));
    }

    #[test]
    fn says_what_is_wrong() {
        let mut raw = [0.0; 3];
        let mut err = |line: &[u8]| parse_line(line, &[true; 3], &mut raw).unwrap_err();
        let count = |found| LineProblem::FieldCount { expected: 3, found };
        assert_eq!(err(b"1,2"), count(2));
        assert_eq!(err(b"1,2,3,4,5"), count(5));
        assert_eq!(err(b"1,2,3,"), count(4));
        assert_eq!(err(b"1,,3"), cell(1, CellProblem::Missing));
        assert_eq!(
            err(b"1,x2,3"),
            cell(1, CellProblem::NotANumber("x2".into()))
        );
        assert_eq!(
            err(b"1,2,inf"),
            cell(2, CellProblem::NonFinite("inf".into()))
        );
        assert_eq!(err(b"1,\"2,3"), LineProblem::Unterminated { column: 1 });
    }

    #[test]
    fn the_fast_paths_agree_with_the_standard_parser_on_random_fields() {
        let mut z = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            z
        };
        let alphabet = b"0123456789.-e+ ";
        for _ in 0..100_000 {
            // Fields of plain decimals mostly, with now and then a character that sends them to
            // the slow path; lines of varied lengths, so fields sit near the end too.
            let n = 1 + (next() % 4) as usize;
            let cells: Vec<String> = (0..n)
                .map(|_| {
                    let len = 1 + (next() % 18) as usize;
                    (0..len)
                        .map(|k| {
                            let r = next();
                            if k > 0 && r % 9 == 0 {
                                char::from(alphabet[(r >> 8) as usize % alphabet.len()])
                            } else if k == 0 && r % 5 == 0 {
                                '-'
                            } else if r % 7 == 0 {
                                '.'
                            } else {
                                char::from(b'0' + (r >> 16) as u8 % 10)
                            }
                        })
                        .collect()
                })
                .collect();
            let line = cells.join(",");
            let mut raw = vec![0.0; n];
            let got = parse_line(line.as_bytes(), &vec![true; n], &mut raw);
            let want: Result<Vec<f64>, LineProblem> = cells
                .iter()
                .enumerate()
                .map(|(column, c)| {
                    parse_cell(c.as_bytes())
                        .map_err(|problem| LineProblem::Cell { column, problem })
                })
                .collect();
            match (got, want) {
                (Ok(()), Ok(want)) => {
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&raw), bits(&want), "{line}");
                }
                (got, want) => assert_eq!(got, want.map(|_| ()), "{line}"),
            }
        }
    }

    #[test]
    fn header_fields_are_unquoted() {
        assert_eq!(
            header_names(b"a, \"b,c\" ,\"d\"\"e\"").unwrap(),
            ["a", "b,c", "d\"e"]
        );
        assert_eq!(fields(b"").unwrap(), [b""]);
    }
}
