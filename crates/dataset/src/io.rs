//! Reading helpers that every reader of files shares: one read retried on interruption, and
//! a bounded read that never takes a device or an endless pipe to its end.

use std::io::Read;

/// One read, retried on interruption.
pub fn read_some(r: &mut (impl Read + ?Sized), buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// A reader's bytes, `limit + 1` of them at most (more than `limit`: too large), so that a
/// device or a pipe that never ends is not read to its end.
///
/// ```
/// let bytes = dataset::read_at_most(&b"abcdef"[..], 3).unwrap();
/// assert_eq!(bytes, b"abcd"); // one more than the limit: the caller refuses it
/// ```
pub fn read_at_most(reader: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
