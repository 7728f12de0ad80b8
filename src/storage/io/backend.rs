//! The write path's I/O seam: the `IoBackend` trait and its ops. The engine writes pages, grows the file and
//! syncs only through an `IoBackend`; reads go through the mapping. Tests put
//! a backend here that fails or cuts power at any step.

use std::fmt::{self, Debug};
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;

/// One write: `data` at byte `offset` of the file.
#[derive(Debug)]
pub struct WriteOp<'a> {
    pub offset: u64,
    pub data: &'a [u8],
}

/// One read: fill `buf` from byte `offset` of the file.
#[derive(Debug)]
pub struct ReadOp<'a> {
    pub offset: u64,
    pub buf: &'a mut [u8],
}

/// How the database file is written and made durable.
pub trait IoBackend: Send + Sync + Debug {
    /// Short name for messages and stats ("sync", "uring", "direct", ...).
    fn name(&self) -> &'static str;
    /// Writes every op. Ops are sorted by offset and do not overlap; a backend
    /// may coalesce adjacent ones. On error, any subset may have been written.
    fn write_batch(&self, ops: &[WriteOp<'_>]) -> io::Result<()>;
    /// Fills every op's buffer completely. A read past the end of the file
    /// is an error of kind `UnexpectedEof` (open takes it for "no meta
    /// there"); any other error is a failed read.
    fn read_batch(&self, ops: &mut [ReadOp<'_>]) -> io::Result<()>;
    /// Makes every completed write durable (fdatasync).
    fn sync(&self) -> io::Result<()>;
    /// Extends the file to `len` bytes, reserving its blocks.
    fn grow(&self, len: u64) -> io::Result<()>;
    /// Starts writing back what earlier writes left in `range` of the file,
    /// without waiting and without making anything durable: a large commit
    /// whose sync follows its writes gets the disk working while it encodes
    /// the rest. A backend whose writes bypass the page cache has nothing
    /// to start.
    fn start_writeback(&self, _range: Range<u64>) -> io::Result<()> {
        Ok(())
    }
    /// `write_batch`, then `sync` once every write completed: a backend
    /// that can chain the sync after the writes in one submission does so.
    /// The error says which half failed: a failed write leaves nothing
    /// synced by this call, a failed sync is a failed sync.
    fn write_and_sync(&self, ops: &[WriteOp<'_>]) -> Result<(), WriteSyncError> {
        self.write_batch(ops).map_err(WriteSyncError::Write)?;
        self.sync().map_err(WriteSyncError::Sync)
    }
}

/// Which half of `IoBackend::write_and_sync` failed.
#[derive(Debug)]
pub enum WriteSyncError {
    Write(io::Error),
    Sync(io::Error),
}

/// `IoBackend::read_batch` by plain positional reads of `file`.
pub fn read_each(file: &File, ops: &mut [ReadOp<'_>]) -> io::Result<()> {
    for op in ops.iter_mut() {
        file.read_exact_at(op.buf, op.offset)?;
    }
    Ok(())
}

/// Consecutive runs of `ops` that one write can cover: each op starts where
/// the previous one ended, and a run holds at most `limit` bytes (an op
/// longer than that is a run of its own).
pub fn runs(ops: &[WriteOp<'_>], limit: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ops.len() {
        let start = ops[i].offset;
        let mut end = start + ops[i].data.len() as u64;
        let mut j = i + 1;
        while j < ops.len() && ops[j].offset == end && (end - start) as usize + ops[j].data.len() <= limit {
            end += ops[j].data.len() as u64;
            j += 1;
        }
        out.push(i..j);
        i = j;
    }
    out
}

/// An I/O error with what was being done and where: the OS error stays
/// reachable as its source (so ENOSPC is still told apart).
#[derive(Debug)]
pub struct OpError {
    pub what: &'static str,
    pub offset: u64,
    pub source: io::Error,
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}: {}", self.what, self.offset, self.source)
    }
}

impl std::error::Error for OpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// `source`, saying it happened doing `what` at `offset`.
pub fn op_error(what: &'static str, offset: u64, source: io::Error) -> io::Error {
    io::Error::new(source.kind(), OpError { what, offset, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_join_adjacent_ops_up_to_the_limit() {
        let page = [0u8; 4096];
        let small = [0u8; 100];
        let op = |offset, data| WriteOp { offset, data };
        let ops = [
            op(0, &page[..]),
            op(4096, &page[..]),
            op(8192, &page[..]), // would make 12 KiB: over the 8 KiB limit
            op(12288, &small[..]),
            op(20000, &small[..]), // a gap
            op(20100, &page[..]),
            op(24196, &page[..]),
        ];
        assert_eq!(runs(&ops, 8192), vec![0..2, 2..4, 4..6, 6..7]);
        assert_eq!(runs(&ops, 1 << 20), vec![0..4, 4..7]);
        // An op longer than the limit still goes, alone.
        assert_eq!(runs(&ops[..2], 1000), vec![0..1, 1..2]);
        assert_eq!(runs(&[], 4096), Vec::<Range<usize>>::new());
    }

    #[test]
    fn op_errors_keep_the_os_error() {
        let e = op_error("write", 8192, io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(e.to_string().contains("write at offset 8192"), "{e}");
        let inner = e.get_ref().and_then(|s| s.downcast_ref::<OpError>()).expect("an OpError");
        assert_eq!(inner.source.raw_os_error(), Some(libc::ENOSPC));
    }
}
