//! A plain numeric CSV read in chunks by one thread and parsed by several: the fast path of
//! streaming training.
//!
//! The reader thread reads 4 MiB at a time, cuts at the last line end, hashes the bytes, counts
//! their lines (so each chunk knows its first line number), and hands the chunks round-robin to
//! the workers. Each worker keeps its own state (statistics); the caller merges them in worker
//! order, so results do not depend on scheduling. Memory stays at a few chunks per worker.
//!
//! It reads plain CSV: one record per line, no quoted fields. A problem is reported at the first
//! bad line of the file, whichever worker met it.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::numbers;

const CHUNK: usize = 4 << 20;

/// A problem at a line, ordered by line so the first one in the file wins.
#[derive(Debug)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

/// The header of a file, read before the chunks.
#[derive(Debug)]
pub struct Header {
    /// Column names; from the defaults when the first line is data.
    pub columns: Vec<String>,
    /// Line number of the first data line.
    pub first_line: u64,
}

/// The lines of a chunk (without `\n` or `\r\n`), found with SIMD search.
pub fn lines(chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', chunk);
    std::iter::from_fn(move || {
        if start > chunk.len() {
            return None;
        }
        let end = ends.next().unwrap_or(chunk.len());
        let line = &chunk[start..end];
        start = end + 1;
        if line.is_empty() && end == chunk.len() {
            return None;
        }
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// Parse one line into `raw` (indexed by column) in a single pass over its bytes: plain
/// decimals are read as the scan goes; anything else falls back to [`numbers::parse`]. Columns
/// not in `used` may hold anything. Says what is wrong, without the line number.
pub fn parse_line(
    line: &[u8],
    columns: &[String],
    used: &[bool],
    raw: &mut [f64],
) -> Result<(), String> {
    let (n, len) = (columns.len(), line.len());
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
        let field_ends = i == len || line[i] == b',';
        raw[c] = if field_ends && digits > 0 && digits <= 15 {
            numbers::exact_decimal(mantissa, decimals, negative)
        } else {
            let end = memchr::memchr(b',', &line[start..]).map_or(len, |k| start + k);
            i = end;
            if used[c] {
                number(&line[start..end], &columns[c])?
            } else {
                f64::NAN
            }
        };
        if c + 1 < n {
            if i == len {
                return Err(format!("expected {n} fields, found {}", c + 1));
            }
            i += 1;
        } else if i != len {
            let extra = memchr::memchr_iter(b',', &line[i..]).count();
            return Err(format!("expected {n} fields, found {}", n + extra));
        }
    }
    Ok(())
}

fn number(cell: &[u8], column: &str) -> Result<f64, String> {
    match numbers::parse(cell) {
        Some(v) if v.is_finite() => Ok(v),
        Some(v) => Err(format!("column {column}: {v} is not finite")),
        None if cell.trim_ascii().is_empty() => Err(format!("column {column}: missing value")),
        None => Err(format!(
            "column {column}: {:?} is not a number",
            String::from_utf8_lossy(cell)
                .chars()
                .take(40)
                .collect::<String>()
        )),
    }
}

/// A file opened and its header read, ready to [`run`](Opened::run).
pub struct Opened {
    /// The file's name in messages.
    pub name: String,
    /// Its columns.
    pub header: Header,
    reader: BufReader<std::fs::File>,
    hasher: Sha256,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("name", &self.name)
            .field("header", &self.header)
            .finish()
    }
}

/// Open `path` and read its header; a file whose first field is a number takes `default_columns`.
pub fn open(path: &Path, default_columns: Option<&[&str]>) -> anyhow::Result<Opened> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("{name}: cannot open"))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut hasher = Sha256::new();
    let head = reader
        .fill_buf()
        .with_context(|| format!("{name}: cannot read"))?;
    let header = if numbers::sniff_header(&name, head)? {
        let mut line = Vec::new();
        reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("{name}: cannot read"))?;
        hasher.update(&line);
        let text = String::from_utf8_lossy(&line);
        let columns = text
            .trim_end_matches(['\n', '\r'])
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_owned())
            .collect();
        Header {
            columns,
            first_line: 2,
        }
    } else {
        match default_columns {
            Some(names) => Header {
                columns: names.iter().map(|n| (*n).to_owned()).collect(),
                first_line: 1,
            },
            None => bail!("{name}:1: no header line naming the columns"),
        }
    };
    Ok(Opened {
        name,
        header,
        reader,
        hasher,
    })
}

impl Opened {
    /// Read the rest in chunks and run `work(state, chunk, first_line)` on `workers` threads.
    ///
    /// Returns each worker's final state, in worker order, and the file's SHA-256.
    pub fn run<S: Send>(
        self,
        workers: usize,
        init: impl Fn() -> S + Sync,
        work: impl Fn(&mut S, &[u8], u64) -> Result<(), LineError> + Sync,
        progress: impl Fn(u64) + Sync,
    ) -> anyhow::Result<(Vec<S>, String)> {
        let Opened {
            name,
            header,
            mut reader,
            mut hasher,
        } = self;
        let failed = AtomicBool::new(false);
        let workers = workers.max(1);
        let result = std::thread::scope(
            |scope| -> anyhow::Result<(Vec<S>, Vec<LineError>, String)> {
                let mut senders = Vec::new();
                let mut handles = Vec::new();
                for _ in 0..workers {
                    let (tx, rx) = sync_channel::<(Vec<u8>, u64)>(2);
                    senders.push(tx);
                    let (init, work, failed) = (&init, &work, &failed);
                    handles.push(scope.spawn(move || worker(rx, init, work, failed)));
                }
                let mut line = header.first_line;
                let mut carry: Vec<u8> = Vec::new();
                let mut seq = 0_usize;
                let mut read_bytes = 0_u64;
                loop {
                    if failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let mut buf = std::mem::take(&mut carry);
                    let start = buf.len();
                    buf.reserve(CHUNK);
                    let n = (&mut reader)
                        .take(CHUNK as u64)
                        .read_to_end(&mut buf)
                        .with_context(|| format!("{name}: cannot read"))?;
                    hasher.update(&buf[start..]);
                    read_bytes += n as u64;
                    let done = n == 0;
                    let cut = if done {
                        buf.len()
                    } else {
                        memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1)
                    };
                    carry = buf.split_off(cut);
                    if !buf.is_empty() {
                        let lines = memchr::memchr_iter(b'\n', &buf).count() as u64;
                        let first = line;
                        line += lines;
                        if senders[seq % workers].send((buf, first)).is_err() {
                            break;
                        }
                        seq += 1;
                        progress(read_bytes);
                    }
                    if done {
                        break;
                    }
                }
                drop(senders);
                let mut states = Vec::new();
                let mut errors = Vec::new();
                for h in handles {
                    let (state, error) = h
                        .join()
                        .map_err(|_| anyhow::anyhow!("{name}: a reader thread panicked"))?;
                    states.push(state);
                    errors.extend(error);
                }
                Ok((states, errors, format!("{:x}", hasher.finalize())))
            },
        )?;
        let (states, errors, sha256) = result;
        if let Some(first) = errors.into_iter().min_by_key(|e| e.line) {
            bail!("{name}:{}: {}", first.line, first.message);
        }
        Ok((states, sha256))
    }
}

fn worker<S>(
    rx: Receiver<(Vec<u8>, u64)>,
    init: &(impl Fn() -> S + Sync),
    work: &(impl Fn(&mut S, &[u8], u64) -> Result<(), LineError> + Sync),
    failed: &AtomicBool,
) -> (S, Option<LineError>) {
    let mut state = init();
    let mut error: Option<LineError> = None;
    // Chunks already sent are all processed, so the first bad line of the file is found
    // even when a later chunk failed first on another thread.
    for (chunk, first_line) in rx {
        if error.is_some() {
            continue;
        }
        if let Err(e) = work(&mut state, &chunk, first_line) {
            failed.store(true, Ordering::Relaxed);
            error = Some(e);
        }
    }
    (state, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn parses_plain_and_unusual_numbers() {
        let mut raw = [0.0; 4];
        parse_line(b"-122.23,1e3, 7 ,+0.5", &cols(4), &[true; 4], &mut raw).unwrap();
        assert_eq!(raw, [-122.23, 1000.0, 7.0, 0.5]);
        // Unused columns may hold anything.
        parse_line(
            b"1,id-42,3,4",
            &cols(4),
            &[true, false, true, true],
            &mut raw,
        )
        .unwrap();
        assert_eq!((raw[0], raw[2], raw[3]), (1.0, 3.0, 4.0));
    }

    #[test]
    fn says_what_is_wrong() {
        let mut raw = [0.0; 3];
        let mut err = |line: &[u8]| parse_line(line, &cols(3), &[true; 3], &mut raw).unwrap_err();
        assert_eq!(err(b"1,2"), "expected 3 fields, found 2");
        assert_eq!(err(b"1,2,3,4,5"), "expected 3 fields, found 5");
        assert_eq!(err(b"1,,3"), "column c1: missing value");
        assert_eq!(err(b"1,x2,3"), "column c1: \"x2\" is not a number");
        assert_eq!(err(b"1,2,inf"), "column c2: inf is not finite");
    }

    #[test]
    fn lines_split_like_the_file() {
        let got: Vec<&[u8]> = lines(b"a\r\nb\n\nc").collect();
        assert_eq!(got, [&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(lines(b"a\n").count(), 1);
        assert_eq!(lines(b"").count(), 0);
    }

    #[test]
    fn the_first_bad_line_of_the_file_is_reported_whatever_the_threads() {
        // Three chunks' worth of lines, with errors in the second and third chunk.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut text = String::from("a,b\n");
        let rows = 3 * CHUNK / 12;
        for i in 0..rows {
            match i {
                _ if i == rows / 2 => text.push_str("1.0,bad\n"),
                _ if i == rows - 10 => text.push_str("oops,1.0\n"),
                _ => text.push_str(&format!("{}.5,{}\n", i % 1000, i % 7)),
            }
        }
        std::fs::write(&path, text).unwrap();
        for workers in [1, 2, 3] {
            let opened = open(&path, None).unwrap();
            let columns = opened.header.columns.clone();
            let work = |_: &mut (), chunk: &[u8], first: u64| -> Result<(), LineError> {
                let mut raw = [0.0; 2];
                for (i, line) in lines(chunk).enumerate() {
                    parse_line(line, &columns, &[true, true], &mut raw).map_err(|message| {
                        LineError {
                            line: first + i as u64,
                            message,
                        }
                    })?;
                }
                Ok(())
            };
            let err = opened
                .run(workers, || (), work, |_| {})
                .unwrap_err()
                .to_string();
            assert!(
                err.ends_with(&format!(
                    "big.csv:{}: column b: \"bad\" is not a number",
                    rows / 2 + 2
                )),
                "{workers}: {err}"
            );
        }
    }
}
