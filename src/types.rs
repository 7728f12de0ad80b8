//! Newtypes for the identifiers that cross module boundaries.

use std::fmt;

/// A page number: byte offset `id * page_size` in the file. Pages 0 and 1 are
/// the meta pages; 0 also means "no page" wherever a page reference is optional.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PageId(pub u64);

impl PageId {
    /// The "no page" marker used by optional references (empty tree, no freelist).
    pub const NONE: PageId = PageId(0);

    pub fn is_none(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for PageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A transaction id. Commit `n` publishes the snapshot with txid `n`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TxId(pub u64);

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A write-ahead log position: the segment id in the high 32 bits, the byte
/// offset within that segment in the low 32. Ordering follows the log.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    pub fn new(segment: u32, offset: u32) -> Lsn {
        Lsn((segment as u64) << 32 | offset as u64)
    }

    pub fn segment(self) -> u32 {
        (self.0 >> 32) as u32
    }

    pub fn offset(self) -> u32 {
        self.0 as u32
    }
}

/// "segment:offset", the form messages and tools use.
impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.segment(), self.offset())
    }
}

/// Little-endian field access for page codecs. Callers pass offsets they have
/// already bounds-checked (encoders write into buffers they sized; decoders run
/// after validation), so an out-of-range offset is a bug and panics.
///
/// `#[inline]` gives every codegen unit that uses them its own copy, so they
/// are inlined and their bounds checks merged in the callers' own optimization
/// rather than only at the crate's thin-LTO step: when a module split moved
/// this module out of `tree::page`'s codegen unit, `page::validate` ran 4%
/// more instructions with its own source unchanged (callgrind).
pub(crate) mod le {
    #[inline]
    pub fn u16_at(b: &[u8], off: usize) -> u16 {
        // One bounds check for both bytes (indexing each byte made two).
        let mut a = [0u8; 2];
        a.copy_from_slice(&b[off..off + 2]);
        u16::from_le_bytes(a)
    }

    #[inline]
    pub fn u32_at(b: &[u8], off: usize) -> u32 {
        let mut a = [0u8; 4];
        a.copy_from_slice(&b[off..off + 4]);
        u32::from_le_bytes(a)
    }

    #[inline]
    pub fn u64_at(b: &[u8], off: usize) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[off..off + 8]);
        u64::from_le_bytes(a)
    }

    #[inline]
    pub fn put_u16(b: &mut [u8], off: usize, v: u16) {
        b[off..off + 2].copy_from_slice(&v.to_le_bytes());
    }

    #[inline]
    pub fn put_u32(b: &mut [u8], off: usize, v: u32) {
        b[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }

    #[inline]
    pub fn put_u64(b: &mut [u8], off: usize, v: u64) {
        b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_splits_into_segment_and_offset() {
        let l = Lsn::new(3, 0x1000);
        assert_eq!(l.0, 3 << 32 | 0x1000);
        assert_eq!((l.segment(), l.offset()), (3, 0x1000));
        assert_eq!(l.to_string(), "3:4096");
        assert_eq!(Lsn(u64::MAX).to_string(), "4294967295:4294967295");
        assert!(Lsn::new(1, u32::MAX) < Lsn::new(2, 0), "a later segment is later in the log");
    }
}
