//! The persisted freelist: the set of pages below the high-water mark that the
//! committed tree does not reach. It is stored as a snapshot plus a log, so a
//! commit writes what it changed, not the whole list:
//!
//! * snapshot run (type 5), one contiguous run, checksum over the whole run:
//!   ```text
//!   32  8 extent count
//!   40  - extents, 12 bytes each: u64 first page, u32 page count
//!   ```
//! * log page (type 6), one per commit that changed the set (more if it does
//!   not fit), chained newest to oldest; header `count` = entries:
//!   ```text
//!   32  8 previous (older) log page, 0 at the end of the chain
//!   40  - entries, 12 bytes each: u64 first page, u32 count | 0x8000_0000
//!         when the run left the set (was allocated) rather than joined it
//!   ```
//!
//! The set is the snapshot with the log applied oldest first. When the log
//! grows past 4 + 8 times the snapshot's pages (`freelist::COMPACT_SLACK`
//! and `COMPACT_FACTOR`), a commit writes a fresh snapshot and starts an
//! empty log.

use crate::alloc::extents::ExtentSet;
use crate::error::Corruption;
use crate::storage::{checksums, seal, Header, PageType, HEADER_LEN};
use crate::types::{le, PageId, TxId};

const BODY: usize = HEADER_LEN + 8;
const ENTRY: usize = 12;
const REMOVED: u32 = 0x8000_0000;
/// Longest run one entry can describe.
pub const MAX_RUN: u64 = (REMOVED - 1) as u64;

/// One log entry: a run that joined (`added`) or left the set.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub start: u64,
    pub len: u64,
    pub added: bool,
}

pub fn log_entries_per_page(page_size: usize) -> usize {
    (page_size - BODY) / ENTRY
}

/// Pages a snapshot of `extents` runs needs.
pub fn snapshot_pages(extents: usize, page_size: usize) -> u64 {
    (BODY + extents * ENTRY).div_ceil(page_size) as u64
}

fn split_runs(set: &ExtentSet) -> impl Iterator<Item = (u64, u64)> + '_ {
    set.runs()
        .flat_map(|(s, l)| (0..l.div_ceil(MAX_RUN)).map(move |i| (s + i * MAX_RUN, (l - i * MAX_RUN).min(MAX_RUN))))
}

/// Runs of `set` as stored (runs longer than MAX_RUN split).
pub fn stored_runs(set: &ExtentSet) -> usize {
    split_runs(set).count()
}

pub fn encode_snapshot(set: &ExtentSet, first: PageId, pages: u64, page_size: usize, txid: TxId) -> Vec<u8> {
    let mut buf = vec![0u8; pages as usize * page_size];
    let mut h = Header::new(PageType::FreeSnapshot, first, txid);
    h.overflow = (pages - 1) as u32;
    h.write(&mut buf);
    let mut n = 0u64;
    for (s, l) in split_runs(set) {
        let off = BODY + n as usize * ENTRY;
        le::put_u64(&mut buf, off, s);
        le::put_u32(&mut buf, off + 8, l as u32);
        n += 1;
    }
    le::put_u64(&mut buf, HEADER_LEN, n);
    seal(&mut buf);
    buf
}

pub fn encode_log(entries: &[LogEntry], prev: PageId, id: PageId, page_size: usize, txid: TxId) -> Vec<u8> {
    let mut buf = vec![0u8; page_size];
    let mut h = Header::new(PageType::FreeLog, id, txid);
    h.count = entries.len() as u16;
    h.write(&mut buf);
    le::put_u64(&mut buf, HEADER_LEN, prev.0);
    for (i, e) in entries.iter().enumerate() {
        let off = BODY + i * ENTRY;
        le::put_u64(&mut buf, off, e.start);
        le::put_u32(&mut buf, off + 8, e.len as u32 | if e.added { 0 } else { REMOVED });
    }
    seal(&mut buf);
    buf
}

/// Checks the frame of a freelist page or run read at `id`.
fn check_frame(buf: &[u8], id: PageId, ty: PageType, page_size: usize) -> Result<Header, Corruption> {
    let h = Header::read(buf);
    if h.ty != ty as u8 {
        let expected = match ty {
            PageType::FreeSnapshot => "a freelist snapshot run (type 5)",
            PageType::FreeLog => "a freelist log page (type 6)",
            other => other.name(),
        };
        return Err(Corruption::PageType { found: h.ty, expected });
    }
    if h.id != id {
        return Err(Corruption::PageId { found: h.id.0 });
    }
    if (h.overflow as usize + 1) * page_size != buf.len() {
        let what = format!("run of {} pages (expected {})", h.overflow + 1, buf.len() / page_size);
        return Err(Corruption::Layout { what });
    }
    let (stored, computed) = checksums(buf);
    if stored != computed {
        return Err(Corruption::Checksum { stored, computed });
    }
    Ok(h)
}

/// Pages of the snapshot run starting at `first`, from its first page alone
/// (the caller bounds-checks it before reading the whole run).
pub fn snapshot_run_len(first_page: &[u8]) -> u64 {
    Header::read(first_page).overflow as u64 + 1
}

/// Decodes a snapshot run; every run must lie in `2..page_count`.
pub fn decode_snapshot(
    buf: &[u8],
    id: PageId,
    page_size: usize,
    page_count: u64,
) -> Result<Vec<(u64, u64)>, Corruption> {
    check_frame(buf, id, PageType::FreeSnapshot, page_size)?;
    let n = le::u64_at(buf, HEADER_LEN);
    if n > ((buf.len() - BODY) / ENTRY) as u64 {
        return Err(Corruption::Layout { what: format!("extent count {n} does not fit the run") });
    }
    (0..n as usize)
        .map(|i| {
            let off = BODY + i * ENTRY;
            let (s, l) = (le::u64_at(buf, off), le::u32_at(buf, off + 8) as u64);
            check_run(s, l, page_count)?;
            Ok((s, l))
        })
        .collect()
}

/// Decodes a log page into (previous page, entries).
pub fn decode_log(
    buf: &[u8],
    id: PageId,
    page_size: usize,
    page_count: u64,
) -> Result<(PageId, Vec<LogEntry>), Corruption> {
    let h = check_frame(buf, id, PageType::FreeLog, page_size)?;
    let n = h.count as usize;
    if n > log_entries_per_page(page_size) {
        return Err(Corruption::Layout { what: format!("entry count {n} does not fit the page") });
    }
    let prev = PageId(le::u64_at(buf, HEADER_LEN));
    let entries = (0..n)
        .map(|i| {
            let off = BODY + i * ENTRY;
            let raw = le::u32_at(buf, off + 8);
            let e = LogEntry { start: le::u64_at(buf, off), len: (raw & !REMOVED) as u64, added: raw & REMOVED == 0 };
            check_run(e.start, e.len, page_count)?;
            Ok(e)
        })
        .collect::<Result<Vec<_>, Corruption>>()?;
    Ok((prev, entries))
}

fn check_run(start: u64, len: u64, page_count: u64) -> Result<(), Corruption> {
    if len == 0 || start < 2 || start.checked_add(len).is_none_or(|end| end > page_count) {
        return Err(Corruption::Bounds { first: start, pages: len, page_count });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_round_trip_and_damage() {
        let mut set = ExtentSet::new();
        for i in 0..600u64 {
            set.insert(2 + i * 3, 2).unwrap();
        }
        let pages = snapshot_pages(stored_runs(&set), 4096);
        assert_eq!(pages, 2);
        let buf = encode_snapshot(&set, PageId(5000), pages, 4096, TxId(3));
        let runs = decode_snapshot(&buf, PageId(5000), 4096, 10_000).unwrap();
        assert_eq!(runs, set.runs().collect::<Vec<_>>());
        assert_eq!(
            decode_snapshot(&buf, PageId(5001), 4096, 10_000),
            Err(Corruption::PageId { found: 5000 }),
            "wrong id"
        );
        let past = decode_snapshot(&buf, PageId(5000), 4096, 100);
        assert!(matches!(past, Err(Corruption::Bounds { page_count: 100, .. })), "runs past the end: {past:?}");
        let mut bad = buf.clone();
        bad[6000] ^= 1;
        let e = decode_snapshot(&bad, PageId(5000), 4096, 10_000).unwrap_err();
        assert!(matches!(e, Corruption::Checksum { .. }) && e.to_string().contains("checksum"), "{e}");
    }

    #[test]
    fn log_round_trip_full_page() {
        let per = log_entries_per_page(4096);
        let entries: Vec<LogEntry> =
            (0..per as u64).map(|i| LogEntry { start: 10 + i * 2, len: 1, added: i % 3 != 0 }).collect();
        let buf = encode_log(&entries, PageId(77), PageId(9), 4096, TxId(1));
        let (prev, got) = decode_log(&buf, PageId(9), 4096, 100_000).unwrap();
        assert_eq!(prev, PageId(77));
        assert_eq!(got, entries);
    }

    #[test]
    fn long_runs_are_split() {
        let mut set = ExtentSet::new();
        set.insert(2, MAX_RUN + 5).unwrap();
        assert_eq!(stored_runs(&set), 2);
        let buf = encode_snapshot(&set, PageId(3), 1, 4096, TxId(1));
        let runs = decode_snapshot(&buf, PageId(3), 4096, u64::MAX).unwrap();
        assert_eq!(runs, vec![(2, MAX_RUN), (2 + MAX_RUN, 5)]);
    }
}
