//! The write path's I/O seam: the `IoBackend` trait and its ops. The engine writes pages, grows the file and
//! syncs only through an `IoBackend`; reads go through the mapping. Tests put
//! a backend here that fails or cuts power at any step.

use std::fmt::Debug;
use std::io;

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
}
