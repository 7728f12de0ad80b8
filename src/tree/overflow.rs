//! Overflow runs: a value longer than the overflow threshold is stored in one
//! contiguous run of pages so that reading it stays a single zero-copy slice
//! of the mapping. The first page carries the usual header (type 4,
//! `overflow` = pages after the first, `aux` = value length); the value
//! follows it directly and continues across the run. The header checksum
//! covers the header only; the value's CRC32 is kept in the leaf entry and
//! checked the first time this process reads the value.

use crate::error::Corruption;
use crate::storage::{checksums, seal, Header, PageType, HEADER_LEN};
use crate::tree::page::OverflowRef;
use crate::types::{PageId, TxId};

/// Largest value thunder stores: 4 GiB - 1.
pub const MAX_VALUE_LEN: u64 = u32::MAX as u64;

/// Pages a run for a value of `len` bytes takes.
pub fn run_pages(len: u64, page_size: usize) -> u64 {
    (HEADER_LEN as u64 + len).div_ceil(page_size as u64)
}

/// The header bytes written in front of a value at `first`.
pub fn header(first: PageId, txid: TxId, len: u64, page_size: usize) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    let mut hd = Header::new(PageType::Overflow, first, txid);
    hd.overflow = (run_pages(len, page_size) - 1) as u32;
    hd.aux = len as u32;
    hd.write(&mut h);
    seal(&mut h);
    h
}

/// Checks a run read for `r` (the whole run, header first).
pub fn validate(run: &[u8], r: &OverflowRef, page_size: usize) -> Result<(), Corruption> {
    let h = Header::read(run);
    if h.ty != PageType::Overflow as u8 {
        return Err(Corruption::PageType { found: h.ty, expected: "an overflow page" });
    }
    let (stored, computed) = checksums(&run[..HEADER_LEN]);
    if stored != computed {
        return Err(Corruption::HeaderChecksum { stored, computed });
    }
    if h.id != r.page {
        return Err(Corruption::PageId { found: h.id.0 });
    }
    let pages = run_pages(r.len as u64, page_size);
    if h.aux != r.len || h.overflow as u64 + 1 != pages {
        return Err(Corruption::Layout {
            what: format!(
                "overflow run of {} pages holding {} bytes, the leaf expects {pages} pages holding {}",
                h.overflow + 1,
                h.aux,
                r.len
            ),
        });
    }
    let crc = crc32fast::hash(&run[HEADER_LEN..HEADER_LEN + r.len as usize]);
    if crc != r.crc {
        return Err(Corruption::ValueChecksum { expected: r.crc, computed: crc });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_round_trip_and_damage() {
        let ps = 4096;
        let value: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let pages = run_pages(value.len() as u64, ps);
        assert_eq!(pages, 3);
        let mut run = vec![0u8; pages as usize * ps];
        run[..HEADER_LEN].copy_from_slice(&header(PageId(7), TxId(2), value.len() as u64, ps));
        run[HEADER_LEN..HEADER_LEN + value.len()].copy_from_slice(&value);
        let r = OverflowRef { page: PageId(7), len: value.len() as u32, crc: crc32fast::hash(&value) };
        assert_eq!(validate(&run, &r, ps), Ok(()));
        let mut bad = run.clone();
        bad[9000] ^= 1;
        assert!(matches!(validate(&bad, &r, ps), Err(Corruption::ValueChecksum { expected, .. }) if expected == r.crc));
        assert!(validate(&bad, &r, ps).unwrap_err().to_string().contains("value checksum"));
        let mut bad = run.clone();
        bad[20] ^= 1;
        assert!(matches!(validate(&bad, &r, ps), Err(Corruption::HeaderChecksum { .. })));
        assert!(validate(&bad, &r, ps).unwrap_err().to_string().contains("header checksum"));
        assert!(validate(&run, &OverflowRef { len: 5000, ..r }, ps).is_err());
    }

    #[test]
    fn boundaries() {
        assert_eq!(run_pages(4096 - 32, 4096), 1);
        assert_eq!(run_pages(4096 - 31, 4096), 2);
        assert_eq!(run_pages(MAX_VALUE_LEN, 65536), 65537);
    }
}
