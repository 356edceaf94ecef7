//! The reading engine: an [`Input`] cut into chunks of whole lines, mapped by worker threads,
//! and handed to the caller in file order.
//!
//! One thread reads 4 MiB at a time, cuts at the last line end, hashes the bytes, numbers the
//! lines and checks their length; the workers run `work` on each chunk; the calling thread runs
//! `consume` on the results in the order of the file. The results, and so the first error
//! reported, do not depend on the number of threads or on their timing. At most a few chunks
//! per worker are in flight, so memory stays flat whatever the size of the input.
//!
//! An input that fits in one chunk (California's 1.4 MB) is handled on the calling thread,
//! without starting any.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use sha2::Digest;

use crate::error::{Error, Result};
use crate::input::{Input, MAX_LINE};
use crate::row::Record;
use std::io::Read;

/// Bytes read at a time, at most.
pub const CHUNK: usize = 4 << 20;
/// Bytes read at a time, at least, once an input is cut into chunks.
pub const MIN_CHUNK: usize = 256 << 10;
/// A file up to this size is one chunk, read and mapped on the calling thread.
pub const SMALL: u64 = 4 << 20;

/// The chunk size for an input of `size` bytes (if known): the whole of a small file (up to
/// [`SMALL`], read on the calling thread: starting threads and faulting in their buffers costs
/// more than they save); a few chunks per worker for a mid-size file, so that hashing on the
/// reader thread overlaps with parsing on the workers; [`CHUNK`] for a large file or a stream.
fn chunk_size(size: Option<u64>) -> usize {
    match size {
        Some(s) if s <= SMALL => s as usize + 1,
        Some(s) => (s as usize / (2 * default_workers())).clamp(MIN_CHUNK, CHUNK),
        None => CHUNK,
    }
}

/// Whole lines of an input, with the number of the first.
#[derive(Debug)]
pub struct Chunk {
    /// A pooled buffer: the chunk is its first `len` bytes.
    bytes: Vec<u8>,
    len: usize,
    first_line: u64,
    /// Whether the input ends with this chunk.
    last: bool,
    /// Rows of a columnar table, instead of text.
    #[cfg(feature = "columnar")]
    batch: Option<crate::columnar::Batch>,
}

impl Chunk {
    /// The rows: the non-blank lines, each with its one-based line number, without `\n` or
    /// `\r\n`; or a columnar batch's rows, each with its key for the hash split (the line it
    /// would have in a CSV with a header, counted across the files of the table).
    pub fn lines(&self) -> impl Iterator<Item = (u64, Record<'_>)> {
        let text = self.text_lines().map(|(n, t)| (n, Record::Text(t)));
        #[cfg(feature = "columnar")]
        let text = text.chain(self.batch.iter().flat_map(|batch| {
            (0..batch.len())
                .map(move |row| (batch.first_key + row as u64, Record::Cells { batch, row }))
        }));
        text
    }

    /// The rows, to write them out as Parquet: a columnar batch's as read, a text chunk's
    /// cells parsed as numbers (`input` and `columns` name the input and its columns in
    /// messages, and a cell that is not a number is refused).
    #[cfg(feature = "columnar")]
    pub fn frame(&self, input: &str, columns: &[String]) -> Result<crate::columnar::Frame> {
        if let Some(batch) = &self.batch {
            return Ok(crate::columnar::Frame::of(batch));
        }
        let used = vec![true; columns.len()];
        let mut raw = vec![0.0; columns.len()];
        let mut values = vec![Vec::with_capacity(self.line_count()); columns.len()];
        for (line, record) in self.lines() {
            record
                .parse(&used, &mut raw)
                .map_err(|p| Error::at(input, line, columns, p))?;
            for (column, &v) in values.iter_mut().zip(&raw) {
                column.push(v);
            }
        }
        crate::columnar::Frame::from_columns(columns, values)
    }

    fn text_lines(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let bytes = &self.bytes[..self.len];
        let mut start = 0;
        let mut line = self.first_line;
        let mut ends = memchr::memchr_iter(b'\n', bytes);
        std::iter::from_fn(move || {
            loop {
                if start >= bytes.len() {
                    return None;
                }
                let end = ends.next().unwrap_or(bytes.len());
                let text = &bytes[start..end];
                let number = line;
                start = end + 1;
                line += 1;
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                if !text.trim_ascii_start().is_empty() {
                    return Some((number, text));
                }
            }
        })
    }

    /// The number of lines, blank ones included: at least the number [`lines`](Self::lines)
    /// yields.
    pub fn line_count(&self) -> usize {
        let bytes = &self.bytes[..self.len];
        let text = if bytes.is_empty() {
            0
        } else {
            memchr::memchr_iter(b'\n', bytes).count() + usize::from(!bytes.ends_with(b"\n"))
        };
        #[cfg(feature = "columnar")]
        let text = text + self.batch.as_ref().map_or(0, |b| b.len());
        text
    }

    /// Whether the input ends with this chunk (with the first, a chunk is the whole input).
    pub fn is_last(&self) -> bool {
        self.last
    }

    /// The chunk's size in bytes (a columnar batch's: eight a cell).
    pub fn len(&self) -> usize {
        #[cfg(feature = "columnar")]
        if let Some(batch) = &self.batch {
            return batch.len() * batch.width() * 8;
        }
        self.len
    }

    /// Whether the chunk holds no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Threads that map chunks (the reader is one more).
fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
}

/// Buffers handed back after use, so that each chunk (read, written out, or parsed into
/// columns) reuses memory already mapped instead of allocating, zeroing and faulting in fresh
/// pages. The engine keeps one for the bytes it reads; a caller can keep one for the text it
/// writes or the numbers it parses.
#[derive(Debug)]
pub struct BufferPool<T = u8>(Mutex<Vec<Vec<T>>>);

impl<T> Default for BufferPool<T> {
    fn default() -> Self {
        Self(Mutex::new(Vec::new()))
    }
}

impl<T> BufferPool<T> {
    /// An empty buffer with room for at least `size` items.
    pub fn take(&self, size: usize) -> Vec<T> {
        let mut buf = self
            .0
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_default();
        buf.clear();
        buf.reserve(size);
        buf
    }

    /// Hand a buffer back for a later [`take`](Self::take).
    pub fn give(&self, buf: Vec<T>) {
        if let Ok(mut v) = self.0.lock() {
            v.push(buf);
        }
    }
}

/// What the reader thread hands on: a chunk in file order, or the reason reading stopped.
type Job = (usize, Result<Chunk>);

impl Input {
    /// Read the rest of the input: `work` runs on each chunk (on worker threads for a large
    /// input), `consume` on each result in file order. Stops at the first error, in file order.
    ///
    /// Returns the SHA-256 of the input's bytes (for an archive, of the archive file), unless
    /// the input was opened [`unhashed`](Self::unhashed).
    ///
    /// ```
    /// use dataset::Input;
    /// let input = Input::from_bytes("t.csv", b"a,b\n1,2\n\n3,4\n".to_vec(), None)?;
    /// let used = [true, true];
    /// let mut sums = [0.0; 2];
    /// input.for_each_chunk(
    ///     |chunk| -> dataset::Result<Vec<[f64; 2]>> {
    ///         let mut rows = Vec::new();
    ///         for (line, record) in chunk.lines() {
    ///             let mut raw = [0.0; 2];
    ///             record.parse(&used, &mut raw).map_err(|p| dataset::Error::at("t.csv", line, &["a", "b"], p))?;
    ///             rows.push(raw);
    ///         }
    ///         Ok(rows)
    ///     },
    ///     |rows| {
    ///         for r in rows { sums[0] += r[0]; sums[1] += r[1]; }
    ///         Ok(())
    ///     },
    /// )?;
    /// assert_eq!(sums, [4.0, 6.0]);
    /// # Ok::<(), dataset::Error>(())
    /// ```
    pub fn for_each_chunk<T, E>(
        mut self,
        work: impl Fn(&Chunk) -> std::result::Result<T, E> + Sync,
        mut consume: impl FnMut(T) -> std::result::Result<(), E>,
    ) -> std::result::Result<Option<String>, E>
    where
        T: Send,
        E: From<Error> + Send,
    {
        // Fill the first chunk; if the input ends there, no thread is needed.
        let pool = BufferPool::default();
        let first = self.next_chunk(&pool)?;
        if self.eof {
            let mut next = first;
            while let Some(chunk) = next {
                consume(work(&chunk)?)?;
                next = self.next_chunk(&pool)?; // at most a deferred error
            }
            return Ok(self.finish_hash()?);
        }
        let workers = default_workers();
        let stop = AtomicBool::new(false);
        let (job_tx, job_rx) = sync_channel::<Job>(workers);
        let job_rx = Mutex::new(job_rx);
        let (done_tx, done_rx) = channel::<(usize, std::result::Result<T, E>)>();
        // One token per chunk in flight: the reader waits for a free one, the consumer frees it.
        let (slot_tx, slot_rx) = sync_channel::<()>(workers * 2);
        let outcome = std::thread::scope(|scope| {
            let reader = scope.spawn(|| read_ahead(self, first, &stop, (job_tx, slot_tx), &pool));
            for _ in 0..workers {
                let (job_rx, done_tx, work, stop, pool) =
                    (&job_rx, done_tx.clone(), &work, &stop, &pool);
                scope.spawn(move || worker(job_rx, &done_tx, work, stop, pool));
            }
            drop(done_tx);
            let result = in_order(&done_rx, &slot_rx, &mut consume);
            if result.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            // Unblock the reader and the workers before waiting for them.
            drop(slot_rx);
            drop(done_rx);
            let sha256 = reader.join();
            (result, sha256)
        });
        match outcome {
            (Ok(()), Ok(sha256)) => Ok(sha256?),
            (Err(e), _) => Err(e),
            (Ok(()), Err(_)) => Err(E::from(Error::Invalid(String::from(
                "the reader thread stopped unexpectedly",
            )))),
        }
    }

    /// Read the input on the calling thread, chunk after chunk, for work that depends on what
    /// came before (picking rows by their index); `visit` can stop the reading early. Returns
    /// the SHA-256 as [`for_each_chunk`](Self::for_each_chunk) does, if the input was read to
    /// its end.
    pub fn for_each_chunk_here(
        mut self,
        mut visit: impl FnMut(&Chunk) -> Result<std::ops::ControlFlow<()>>,
    ) -> Result<Option<String>> {
        // Small chunks in one reused buffer: the reading often stops early.
        self.step = Some(MIN_CHUNK);
        let pool = BufferPool::default();
        while let Some(chunk) = self.next_chunk(&pool)? {
            if visit(&chunk)?.is_break() {
                return Ok(None);
            }
            pool.give(chunk.bytes);
        }
        self.finish_hash()
    }

    /// The next chunk of whole lines, or `None` at the end. A line over [`MAX_LINE`] ends the
    /// chunk before it; the error comes with the next call, so earlier lines are read first.
    fn next_chunk(&mut self, pool: &BufferPool) -> Result<Option<Chunk>> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        #[cfg(feature = "columnar")]
        if let Some(reader) = &mut self.columnar {
            let batch = reader.next_batch()?;
            self.eof = reader.is_done();
            return Ok(batch.map(|batch| Chunk {
                bytes: Vec::new(),
                len: 0,
                first_line: batch.first_key,
                last: self.eof,
                batch: Some(batch),
            }));
        }
        if self.eof && self.pending.is_empty() {
            return Ok(None);
        }
        // Room for the carried part line and a chunk; no more than the rest of a small file.
        let carried = self.pending.len();
        let chunk = self.step.unwrap_or_else(|| chunk_size(self.size_hint));
        let size = match self.size_hint {
            Some(s) => (s as usize).saturating_add(1).min(2 * chunk),
            None => 2 * chunk,
        }
        .max(carried + (64 << 10));
        let mut buf = pool.take(size);
        buf.extend_from_slice(&self.pending);
        self.pending.clear();
        // Chunks of about `chunk` bytes. `read_to_end` fills the spare capacity without zeroing
        // it first, and stops at the limit or the end of the input.
        let limit = chunk.max(carried + (64 << 10)).min(buf.capacity());
        if !self.eof {
            let want = (limit - carried) as u64;
            (&mut self.source)
                .take(want)
                .read_to_end(&mut buf)
                .map_err(|e| Error::Io {
                    path: self.name.clone().into(),
                    cause: e,
                })?;
            self.hash(&buf[carried..]);
            self.eof = buf.len() < limit;
        }
        let filled = buf.len();
        let cut = if self.eof {
            filled
        } else {
            memchr::memrchr(b'\n', &buf[..filled]).map_or(0, |i| i + 1)
        };
        self.pending.extend_from_slice(&buf[cut..filled]);
        let first_line = self.first_line;
        let (line, long_from) = walk_lines(&buf[..cut], first_line, self.pending.len());
        let len = long_from.unwrap_or(cut);
        if long_from.is_some() {
            self.deferred = Some(Error::LineTooLong {
                file: self.name.clone(),
                line,
                limit: MAX_LINE,
            });
        }
        self.first_line = line;
        if len == 0 {
            pool.give(buf);
            return match self.deferred.take() {
                Some(e) => Err(e),
                None if self.eof => Ok(None),
                None => self.next_chunk(pool),
            };
        }
        Ok(Some(Chunk {
            bytes: buf,
            len,
            first_line,
            last: self.eof && self.pending.is_empty() && self.deferred.is_none(),
            #[cfg(feature = "columnar")]
            batch: None,
        }))
    }

    /// Add bytes read to the SHA-256, if one is being computed.
    fn hash(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.hasher {
            h.update(bytes);
        }
    }

    /// The SHA-256, once the input is read to its end (a columnar table's may fail: its files
    /// are hashed by a thread of their own).
    fn finish_hash(&mut self) -> Result<Option<String>> {
        #[cfg(feature = "columnar")]
        if let Some(reader) = &mut self.columnar {
            return reader.finish_hash();
        }
        Ok(match (self.known_sha256.take(), self.hasher.take()) {
            (Some(known), _) => Some(known),
            (None, Some(h)) => Some(format!("{:x}", h.finalize())),
            (None, None) => None,
        })
    }
}

/// The reader thread: hand the chunks on in file order, each once a slot is free, until the
/// input ends, an error has been handed on, or the consumer stops; then the SHA-256.
fn read_ahead(
    mut input: Input,
    first: Option<Chunk>,
    stop: &AtomicBool,
    (job_tx, slot_tx): (SyncSender<Job>, SyncSender<()>),
    pool: &BufferPool,
) -> Result<Option<String>> {
    let mut seq = 0;
    let mut next = first.map(Ok);
    while let Some(job) = next.take() {
        let failed = job.is_err();
        let sent = !stop.load(Ordering::Relaxed)
            && slot_tx.send(()).is_ok()
            && job_tx.send((seq, job)).is_ok();
        if !sent || failed {
            break;
        }
        seq += 1;
        next = input.next_chunk(pool).transpose();
    }
    input.finish_hash()
}

/// Number the lines of `text` (whole lines) from `first_line`: the number of the line after them,
/// and where a line longer than [`MAX_LINE`] starts, if one does (then the number is its own).
/// `carried` is the length of the part line read after them, which counts too.
fn walk_lines(text: &[u8], first_line: u64, carried: usize) -> (u64, Option<usize>) {
    let (mut line, mut start) = (first_line, 0);
    for end in memchr::memchr_iter(b'\n', text) {
        if end - start > MAX_LINE {
            return (line, Some(start));
        }
        start = end + 1;
        line += 1;
    }
    if text.len() - start > MAX_LINE || carried > MAX_LINE {
        return (line, Some(start));
    }
    (line, None)
}

fn worker<T, E: From<Error>>(
    jobs: &Mutex<Receiver<Job>>,
    done: &Sender<(usize, std::result::Result<T, E>)>,
    work: &(impl Fn(&Chunk) -> std::result::Result<T, E> + Sync),
    stop: &AtomicBool,
    pool: &BufferPool,
) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, chunk)) = job else { return };
        if stop.load(Ordering::Relaxed) {
            continue;
        }
        let result = chunk.map_err(E::from).and_then(|c| {
            let result = work(&c);
            pool.give(c.bytes);
            result
        });
        if done.send((seq, result)).is_err() {
            return;
        }
    }
}

/// Consume results in sequence order, freeing a slot for each.
fn in_order<T, E>(
    done: &Receiver<(usize, std::result::Result<T, E>)>,
    slots: &Receiver<()>,
    consume: &mut impl FnMut(T) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let mut waiting = BTreeMap::new();
    let mut next = 0;
    for (seq, result) in done {
        waiting.insert(seq, result);
        while let Some(result) = waiting.remove(&next) {
            consume(result?)?;
            let _ = slots.recv();
            next += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_found_where_they_start() {
        let short = b"ab\ncd\n";
        assert_eq!(walk_lines(short, 5, 0), (7, None));
        let mut long = b"ab\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_LINE + 1));
        long.extend_from_slice(b"\nend\n");
        assert_eq!(walk_lines(&long, 1, 0), (2, Some(3)));
        // A part line carried to the next chunk counts too.
        assert_eq!(walk_lines(short, 1, MAX_LINE + 1), (3, Some(6)));
    }

    #[test]
    fn lines_skip_blanks_and_number_from_the_first() {
        let bytes = b"a\r\nb\n\n  \nc".to_vec();
        let chunk = Chunk {
            len: bytes.len(),
            bytes,
            first_line: 7,
            last: true,
            #[cfg(feature = "columnar")]
            batch: None,
        };
        let got: Vec<(u64, &[u8])> = chunk
            .lines()
            .filter_map(|(n, r)| Some((n, r.text()?)))
            .collect();
        assert_eq!(got, [(7, &b"a"[..]), (8, b"b"), (11, b"c")]);
    }
}
