//! One "verified" bit per page: set once a page's checksum and structure have
//! been checked in this process, or once a commit of this process wrote the
//! page from its own nodes; cleared when the page is allocated again.
//! Committed pages are immutable until freed, so a set bit makes every later
//! read of the page free of checksum cost.
//!
//! Chunks of the bitmap are allocated on first use, so a 256 GiB reservation
//! costs nothing until pages are read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

const CHUNK_BITS: u64 = 1 << 18; // pages per chunk: 32 KiB of bitmap
const WORDS_PER_CHUNK: usize = (CHUNK_BITS / 64) as usize;

#[derive(Debug)]
pub struct VerifiedBits {
    chunks: Box<[OnceLock<Box<[AtomicU64]>>]>,
}

impl VerifiedBits {
    /// A bitmap for pages `0..max_pages`.
    pub fn new(max_pages: u64) -> VerifiedBits {
        let n = max_pages.div_ceil(CHUNK_BITS) as usize;
        VerifiedBits { chunks: (0..n).map(|_| OnceLock::new()).collect() }
    }

    fn locate(page: u64) -> (usize, usize, u64) {
        let chunk = (page / CHUNK_BITS) as usize;
        let bit = page % CHUNK_BITS;
        (chunk, (bit / 64) as usize, 1u64 << (bit % 64))
    }

    #[inline]
    pub fn get(&self, page: u64) -> bool {
        let (c, w, m) = Self::locate(page);
        match self.chunks.get(c).and_then(OnceLock::get) {
            Some(words) => words[w].load(Ordering::Relaxed) & m != 0,
            None => false,
        }
    }

    pub fn set(&self, page: u64) {
        let (c, w, m) = Self::locate(page);
        if let Some(slot) = self.chunks.get(c) {
            let words = slot.get_or_init(|| (0..WORDS_PER_CHUNK).map(|_| AtomicU64::new(0)).collect());
            words[w].fetch_or(m, Ordering::Relaxed);
        }
    }

    /// Clears the bits of `count` pages starting at `first`.
    pub fn clear_run(&self, first: u64, count: u64) {
        for page in first..first + count {
            let (c, w, m) = Self::locate(page);
            if let Some(words) = self.chunks.get(c).and_then(OnceLock::get) {
                words[w].fetch_and(!m, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_clear_across_chunks() {
        let v = VerifiedBits::new(3 * CHUNK_BITS);
        for p in [0, 63, 64, CHUNK_BITS - 1, CHUNK_BITS, 3 * CHUNK_BITS - 1] {
            assert!(!v.get(p));
            v.set(p);
            assert!(v.get(p));
        }
        v.clear_run(CHUNK_BITS - 1, 2);
        assert!(!v.get(CHUNK_BITS - 1) && !v.get(CHUNK_BITS));
        assert!(v.get(63));
        // Out of range is ignored, never a panic.
        v.set(10 * CHUNK_BITS);
        assert!(!v.get(10 * CHUNK_BITS));
    }
}
