//! A table's text opened for reading: file, standard input, bytes, or the data member of
//! scikit-learn's archive, with its header found by the one rule every command shares.
//!
//! The rules: a UTF-8 byte-order mark is skipped; blank lines (empty or spaces only) are skipped
//! everywhere; CRLF line ends are read as LF; the first non-blank line is a header unless its
//! first field is a number; a header naming a column twice is refused; no line may exceed
//! [`MAX_LINE`] bytes.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::line::{LineProblem, header_names};

/// The longest line accepted, in bytes.
pub const MAX_LINE: usize = 1 << 20;
/// The largest archive read (scikit-learn's is about 440 kB; its member 1.4 MB).
const MAX_ARCHIVE: u64 = 64 << 20;
/// The largest member unpacked from an archive.
const MAX_MEMBER: u64 = 256 << 20;

/// A table's text, its header read, ready to be read in chunks ([`Input::for_each_chunk`]).
pub struct Input {
    pub(crate) name: String,
    pub(crate) columns: Vec<String>,
    pub(crate) header_line: Option<Vec<u8>>,
    /// Line number of the first byte of `pending`.
    pub(crate) first_line: u64,
    /// Bytes read past the header, not yet handed out.
    pub(crate) pending: Vec<u8>,
    pub(crate) source: Box<dyn Read + Send>,
    pub(crate) hasher: Option<Sha256>,
    /// SHA-256 already known (an archive, hashed whole before unpacking).
    pub(crate) known_sha256: Option<String>,
    pub(crate) size_hint: Option<u64>,
    /// The chunk size, where the reader chooses it rather than the input's size.
    pub(crate) step: Option<usize>,
    pub(crate) eof: bool,
    /// A problem found by the reader past the lines already handed out.
    pub(crate) deferred: Option<Error>,
    /// A Parquet or Arrow IPC table, read in batches instead of text.
    #[cfg(feature = "columnar")]
    pub(crate) columnar: Option<crate::columnar::Reader>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("columns", &self.columns)
            .field("first_line", &self.first_line)
            .finish_non_exhaustive()
    }
}

fn io_error(name: &str, source: std::io::Error) -> Error {
    Error::Io {
        path: name.into(),
        cause: source,
    }
}

impl Input {
    /// Open a file, or standard input for `-`. A file whose first field is a number has no
    /// header: it takes `default_columns` as its names, or is refused. A gzip archive is taken
    /// to be scikit-learn's `cal_housing.tgz`, and its data member is read.
    ///
    /// The text's SHA-256 (of the file as on disk) is computed as it is read:
    /// [`for_each_chunk`](Self::for_each_chunk) returns it.
    pub fn open(path: &Path, default_columns: Option<&[&str]>) -> Result<Self> {
        if let Some(kind) = crate::columnar::kind(path) {
            return Self::columnar(path, kind);
        }
        if path.as_os_str() == "-" {
            let stdin = Box::new(std::io::stdin());
            return Self::from_reader("<stdin>", Vec::new(), stdin, None, default_columns);
        }
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| io_error(&name, e))?;
        if meta.is_dir() {
            return Err(Error::NotAFile {
                file: name,
                what: "is a directory",
            });
        }
        let mut file = std::fs::File::open(path).map_err(|e| io_error(&name, e))?;
        let mut magic = [0_u8; 2];
        let n = read_full(&mut file, &mut magic).map_err(|e| io_error(&name, e))?;
        if magic[..n] == [0x1f, 0x8b] {
            return Self::archive(&name, magic, file, default_columns);
        }
        let size_hint = meta.is_file().then_some(meta.len());
        Self::from_reader(
            &name,
            magic[..n].to_vec(),
            Box::new(file),
            size_hint,
            default_columns,
        )
    }

    /// A columnar table: its files opened, their columns checked, no rows read yet.
    #[cfg(feature = "columnar")]
    fn columnar(path: &Path, kind: crate::columnar::Kind) -> Result<Self> {
        let reader = crate::columnar::Reader::open(path, kind, true)?;
        let columns = reader.columns().to_vec();
        let header = columns
            .iter()
            .map(|c| crate::line::csv_field(c))
            .collect::<Vec<_>>()
            .join(",");
        Ok(Self {
            name: path.display().to_string(),
            header_line: Some(header.into_bytes()),
            columns,
            first_line: 2,
            pending: Vec::new(),
            source: Box::new(std::io::empty()),
            hasher: None,
            known_sha256: None,
            size_hint: reader.size(),
            step: None,
            eof: false,
            deferred: None,
            columnar: Some(reader),
        })
    }

    /// Without the `columnar` feature (the inference-only build) columnar files are refused.
    #[cfg(not(feature = "columnar"))]
    fn columnar(path: &Path, kind: crate::columnar::Kind) -> Result<Self> {
        Err(Error::Invalid(format!(
            "{}: {} needs the default build of cali-reg (feature `columnar`); this one reads CSV",
            path.display(),
            kind.label()
        )))
    }

    /// Read text held in memory (a request body, a test); `name` names it in messages.
    pub fn from_bytes(
        name: &str,
        bytes: Vec<u8>,
        default_columns: Option<&[&str]>,
    ) -> Result<Self> {
        let len = bytes.len() as u64;
        Self::from_reader(
            name,
            bytes,
            Box::new(std::io::empty()),
            Some(len),
            default_columns,
        )
    }

    fn archive(
        name: &str,
        magic: [u8; 2],
        file: std::fs::File,
        default_columns: Option<&[&str]>,
    ) -> Result<Self> {
        let mut bytes = magic.to_vec();
        file.take(MAX_ARCHIVE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(name, e))?;
        if bytes.len() as u64 > MAX_ARCHIVE {
            return Err(Error::Archive {
                file: name.to_owned(),
                reason: format!(
                    "larger than {} MiB: not the data set's archive",
                    MAX_ARCHIVE >> 20
                ),
            });
        }
        let sha256 = crate::hash::sha256_hex(&bytes);
        let (member, content) = extract_member(&bytes, name)?;
        let mut input = Self::from_bytes(&format!("{name}:{member}"), content, default_columns)?;
        input.hasher = None;
        input.known_sha256 = Some(sha256);
        Ok(input)
    }

    /// `start` holds bytes already read from the front of the text; `source` gives the rest.
    fn from_reader(
        name: &str,
        start: Vec<u8>,
        mut source: Box<dyn Read + Send>,
        size_hint: Option<u64>,
        default_columns: Option<&[&str]>,
    ) -> Result<Self> {
        let mut hasher = Sha256::new();
        hasher.update(&start);
        let head = first_line(name, start, &mut source, &mut hasher)?;
        let (text, line) = (head.text(), head.line);
        if memchr::memchr(b'\r', text).is_some() {
            return Err(Error::CarriageReturns {
                file: name.to_owned(),
                line,
            });
        }
        if text.len() > MAX_LINE {
            return Err(Error::LineTooLong {
                file: name.to_owned(),
                line,
                limit: MAX_LINE,
            });
        }
        let names = header_names(text).map_err(|problem| match problem {
            LineProblem::Unterminated { column } => Error::Unterminated {
                file: name.to_owned(),
                line,
                column: format!("{}", column + 1),
            },
            _ => Error::Empty {
                file: name.to_owned(),
            },
        })?;
        let header = crate::cell::parse_cell(names[0].as_bytes()).is_err();
        let (columns, header_line, first_line, from) = if header {
            check_header(name, &names)?;
            (names, Some(text.to_vec()), line + 1, head.after)
        } else {
            let Some(defaults) = default_columns else {
                return Err(Error::NoHeader {
                    file: name.to_owned(),
                });
            };
            let columns = defaults.iter().map(|n| (*n).to_owned()).collect();
            (columns, None, line, head.start)
        };
        Ok(Self {
            name: name.to_owned(),
            columns,
            header_line,
            first_line,
            pending: head.bytes[from..].to_vec(),
            source,
            hasher: Some(hasher),
            known_sha256: None,
            size_hint,
            step: None,
            eof: head.eof,
            deferred: None,
            #[cfg(feature = "columnar")]
            columnar: None,
        })
    }

    /// Skip the SHA-256: for readers that record no identity of the data (prediction, a
    /// request body), hashing would be a third of the reading time.
    pub fn unhashed(mut self) -> Self {
        self.hasher = None;
        self.known_sha256 = None;
        #[cfg(feature = "columnar")]
        if let Some(reader) = &mut self.columnar {
            reader.unhashed();
        }
        self
    }

    /// Skip the SHA-256 of an input whose hash the caller knows already (recorded with the
    /// file's [`Stamp`](crate::Stamp) when it was last hashed, the stamp unchanged): reading
    /// returns `sha256` as if computed.
    pub fn hashed_already(self, sha256: &str) -> Self {
        let mut input = self.unhashed();
        input.known_sha256 = Some(sha256.to_owned());
        input
    }

    /// Read only the columns whose `used` flag is set, where skipping the others saves work: a
    /// columnar table's other columns are not decoded. A text's lines are read whole anyway
    /// (their unused fields are skipped as they are parsed).
    pub fn reading_only(self, used: &[bool]) -> Self {
        #[cfg(feature = "columnar")]
        {
            let mut input = self;
            if let Some(reader) = &mut input.columnar {
                reader.read_only(used);
            }
            input
        }
        #[cfg(not(feature = "columnar"))]
        {
            let _ = used;
            self
        }
    }

    /// The name used in messages: the path, `<stdin>`, or `archive:member`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The column names, from the header or the defaults.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The header line as written (without BOM and line end); `None` for a header-less file.
    pub fn header_line(&self) -> Option<&[u8]> {
        self.header_line.as_deref()
    }

    /// The size of the file, where it is a regular file.
    pub fn size_hint(&self) -> Option<u64> {
        self.size_hint
    }
}

/// The first non-blank line of a text, as read so far.
struct FirstLine {
    /// The bytes read (hashed already).
    bytes: Vec<u8>,
    /// Where the line starts and ends (without its line end), and where the next one starts.
    start: usize,
    end: usize,
    after: usize,
    /// Its one-based number.
    line: u64,
    /// Whether the input ended while reading it.
    eof: bool,
}

impl FirstLine {
    /// The line's text without a byte-order mark (on line 1) or a `\r`.
    fn text(&self) -> &[u8] {
        let mut text = &self.bytes[self.start..self.end];
        if self.line == 1 {
            text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
        }
        text.strip_suffix(b"\r").unwrap_or(text)
    }
}

/// Read until the end of the first non-blank line, skipping a byte-order mark and blank lines.
fn first_line(
    name: &str,
    mut bytes: Vec<u8>,
    source: &mut Box<dyn Read + Send>,
    hasher: &mut Sha256,
) -> Result<FirstLine> {
    let (mut line, mut start, mut eof) = (1_u64, 0, false);
    loop {
        let newline = memchr::memchr(b'\n', &bytes[start..]).map(|k| start + k);
        let end = newline.unwrap_or(bytes.len());
        if newline.is_some() || eof {
            let mut text = &bytes[start..end];
            if line == 1 {
                text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
            }
            if !text.trim_ascii().is_empty() {
                let after = newline.map_or(end, |n| n + 1);
                return Ok(FirstLine {
                    bytes,
                    start,
                    end,
                    after,
                    line,
                    eof,
                });
            }
            if newline.is_none() {
                return Err(Error::Empty {
                    file: name.to_owned(),
                });
            }
            start = end + 1;
            line += 1;
            continue;
        }
        if bytes.len() - start > MAX_LINE {
            if memchr::memchr(b'\r', &bytes[start..]).is_some() {
                return Err(Error::CarriageReturns {
                    file: name.to_owned(),
                    line,
                });
            }
            return Err(Error::LineTooLong {
                file: name.to_owned(),
                line,
                limit: MAX_LINE,
            });
        }
        let before = bytes.len();
        bytes.resize(before + (64 << 10), 0);
        let n =
            crate::io::read_some(source, &mut bytes[before..]).map_err(|e| io_error(name, e))?;
        bytes.truncate(before + n);
        hasher.update(&bytes[before..]);
        eof = n == 0;
    }
}

/// Refuse a header naming a column twice.
fn check_header(file: &str, names: &[String]) -> Result<()> {
    match crate::line::first_repeated(names) {
        Some(name) => Err(Error::DuplicateColumn {
            file: file.to_owned(),
            column: name.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Read until `buf` is full or the end: returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The `cal_housing.data` member of scikit-learn's archive.
fn extract_member(bytes: &[u8], file: &str) -> Result<(String, Vec<u8>)> {
    let damaged = |e: std::io::Error| Error::Archive {
        file: file.to_owned(),
        reason: format!("truncated or damaged archive ({e})"),
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    for entry in archive.entries().map_err(damaged)? {
        let entry = entry.map_err(damaged)?;
        let path = entry
            .path()
            .map_err(damaged)?
            .to_string_lossy()
            .into_owned();
        if path.ends_with("cal_housing.data") {
            let mut content = Vec::new();
            entry
                .take(MAX_MEMBER + 1)
                .read_to_end(&mut content)
                .map_err(damaged)?;
            if content.len() as u64 > MAX_MEMBER {
                return Err(Error::Archive {
                    file: file.to_owned(),
                    reason: format!("{path} is larger than {} MiB", MAX_MEMBER >> 20),
                });
            }
            return Ok((path, content));
        }
    }
    Err(Error::Archive {
        file: file.to_owned(),
        reason: String::from("no CaliforniaHousing/cal_housing.data in the archive"),
    })
}
