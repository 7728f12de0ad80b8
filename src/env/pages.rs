//! The database file's pages: the file (which holds the lock), the I/O
//! backend that writes it, the one read mapping, the per-page verified bits,
//! and growth.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::storage::{IoBackend, Mmap, ReadOp, VerifiedBits};
use crate::tree::PageReader;

#[derive(Debug)]
pub(crate) struct Pages {
    /// Keeps the flock for the life of the database.
    pub file: File,
    pub io: Arc<dyn IoBackend>,
    pub map: Mmap,
    pub verified: VerifiedBits,
    pub page_size: usize,
    /// Pages the mapping reserves room for: the max size.
    pub max_pages: u64,
}

impl Pages {
    /// A reader of the snapshot with `page_count` pages.
    pub fn reader(&self, page_count: u64) -> PageReader<'_> {
        PageReader { map: &self.map, verified: &self.verified, page_size: self.page_size, page_count }
    }

    /// Grows the file so that `pages` pages exist (in chunks, within max size).
    pub fn ensure(&self, pages: u64, path: &Path) -> Result<()> {
        let ps = self.page_size as u64;
        let need = pages * ps;
        let have = self.map.valid_len();
        if need <= have {
            return Ok(());
        }
        let step = (have / 8).clamp(256 << 10, 64 << 20);
        let target = need.max(have + step).next_multiple_of(ps).min(self.max_pages * ps);
        self.io.grow(target).map_err(|e| Error::io("grow file", path, Some(target), e))?;
        self.map.set_valid_len(target);
        Ok(())
    }

    /// `len` bytes of the file at `offset`, through the backend.
    pub fn read_at(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        read_at(&*self.io, offset, len)
    }
}

/// `len` bytes of the file at `offset`, through `io`.
pub(crate) fn read_at(io: &dyn IoBackend, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    io.read_batch(&mut [ReadOp { offset, buf: &mut buf }])?;
    Ok(buf)
}

impl crate::env::Env {
    /// Grows the file so that `pages` pages exist.
    pub fn ensure_pages(&self, pages: u64) -> Result<()> {
        self.pages.ensure(pages, &self.config.path)
    }
}
