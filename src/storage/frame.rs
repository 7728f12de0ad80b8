//! The frame every page shares: a 32-byte header and a CRC32.
//!
//! ```text
//! off size field
//!   0    4 checksum   CRC32 (crc32fast) of the covered bytes, see `covered_len`
//!   4    1 type       PageType
//!   5    1 flags      reserved, 0
//!   6    2 count      entries (leaf, branch, freelist log), else 0
//!   8    8 id         this page's own number (catches misdirected writes)
//!  16    8 txid       transaction that wrote the page
//!  24    4 overflow   pages that follow this one in the same run
//!  28    4 aux        type-specific (used bytes, value length, ...)
//! ```
//!
//! The checksum covers bytes 4.. of the whole run, except for overflow runs,
//! where it covers the header only: an overflow value carries its own CRC32 in
//! the leaf entry that references it, checked once per process on first read.

use crate::types::{le, PageId, TxId};

pub const HEADER_LEN: usize = 32;

/// The page types. Stored as one byte; 0 and anything above 6 are invalid.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PageType {
    Meta = 1,
    Branch = 2,
    Leaf = 3,
    Overflow = 4,
    FreeSnapshot = 5,
    FreeLog = 6,
}

impl PageType {
    pub fn from_u8(b: u8) -> Option<PageType> {
        Some(match b {
            1 => PageType::Meta,
            2 => PageType::Branch,
            3 => PageType::Leaf,
            4 => PageType::Overflow,
            5 => PageType::FreeSnapshot,
            6 => PageType::FreeLog,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            PageType::Meta => "meta",
            PageType::Branch => "branch",
            PageType::Leaf => "leaf",
            PageType::Overflow => "overflow",
            PageType::FreeSnapshot => "freelist snapshot",
            PageType::FreeLog => "freelist log",
        }
    }
}

/// A decoded page header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub ty: u8,
    pub count: u16,
    pub id: PageId,
    pub txid: TxId,
    pub overflow: u32,
    pub aux: u32,
}

impl Header {
    pub fn new(ty: PageType, id: PageId, txid: TxId) -> Header {
        Header { ty: ty as u8, count: 0, id, txid, overflow: 0, aux: 0 }
    }

    /// The txid that wrote the page.
    #[inline]
    pub fn txid_of(buf: &[u8]) -> TxId {
        TxId(le::u64_at(buf, 16))
    }

    /// The entry count alone (what a tree page's accessors need on every
    /// visit; decoding the whole header there was a tenth of a cursor step).
    #[inline]
    pub fn count_of(buf: &[u8]) -> u16 {
        le::u16_at(buf, 6)
    }

    /// Reads the header fields; `buf` must hold at least `HEADER_LEN` bytes.
    pub fn read(buf: &[u8]) -> Header {
        Header {
            ty: buf[4],
            count: Header::count_of(buf),
            id: PageId(le::u64_at(buf, 8)),
            txid: TxId(le::u64_at(buf, 16)),
            overflow: le::u32_at(buf, 24),
            aux: le::u32_at(buf, 28),
        }
    }

    /// Writes the header fields (not the checksum, see `seal`).
    pub fn write(&self, buf: &mut [u8]) {
        buf[4] = self.ty;
        buf[5] = 0;
        le::put_u16(buf, 6, self.count);
        le::put_u64(buf, 8, self.id.0);
        le::put_u64(buf, 16, self.txid.0);
        le::put_u32(buf, 24, self.overflow);
        le::put_u32(buf, 28, self.aux);
    }
}

/// Bytes of `buf` the checksum covers for a page of type `ty`.
fn covered_len(ty: u8, run_len: usize) -> usize {
    if ty == PageType::Overflow as u8 {
        HEADER_LEN
    } else {
        run_len
    }
}

/// Computes and stores the checksum; call after every other byte is final.
pub fn seal(buf: &mut [u8]) {
    let end = covered_len(buf[4], buf.len());
    let crc = crc32fast::hash(&buf[4..end]);
    le::put_u32(buf, 0, crc);
}

/// The checksum stored in a page's header (`seal` wrote it).
pub fn stored_checksum(buf: &[u8]) -> u32 {
    le::u32_at(buf, 0)
}

/// The stored and the computed checksum of a page or run.
pub fn checksums(buf: &[u8]) -> (u32, u32) {
    let end = covered_len(buf[4], buf.len());
    (stored_checksum(buf), crc32fast::hash(&buf[4..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_checksum() {
        let mut page = vec![0u8; 4096];
        let mut h = Header::new(PageType::Leaf, PageId(42), TxId(7));
        h.count = 3;
        h.aux = 100;
        h.write(&mut page);
        page[100] = 0xAB;
        seal(&mut page);
        assert_eq!(Header::read(&page), h);
        let (stored, computed) = checksums(&page);
        assert_eq!(stored, computed);
        page[4095] ^= 1;
        let (stored, computed) = checksums(&page);
        assert_ne!(stored, computed, "a flip in the last byte must be caught");
    }

    #[test]
    fn overflow_checksum_covers_header_only() {
        let mut run = vec![0u8; 8192];
        let mut h = Header::new(PageType::Overflow, PageId(9), TxId(1));
        h.overflow = 1;
        h.write(&mut run);
        seal(&mut run);
        run[5000] = 1; // value bytes are covered by the value CRC, not here
        let (s, c) = checksums(&run);
        assert_eq!(s, c);
        run[10] ^= 1;
        let (s, c) = checksums(&run);
        assert_ne!(s, c);
    }

    #[test]
    fn page_types_round_trip() {
        for b in 0..=255u8 {
            if let Some(t) = PageType::from_u8(b) {
                assert_eq!(t as u8, b);
            } else {
                assert!(b == 0 || b > 6);
            }
        }
    }
}
