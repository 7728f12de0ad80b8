//! The meta page: pages 0 and 1 each hold one, and open picks the valid one
//! with the highest txid. A sync writes the slot that does *not* hold the last
//! durable meta, so a torn meta write always leaves that one intact. With
//! `SyncMode::Full` every commit is synced, so this is slot `txid % 2`.
//!
//! ```text
//! off size field (after the 32-byte page header: type 1, id = slot, txid)
//!  32    4 magic "THND"
//!  36    4 format version (1)
//!  40    4 page size
//!  44    4 flags (0)
//!  48    8 page count: the high-water mark, pages 0..count are in use or free
//!  56   40 root bucket record (see tree::record)
//!  96    8 bucket count, nested buckets included
//! 104    8 freelist snapshot run (0: none)
//! 112    8 freelist log head (0: none)
//! 120    4 freelist log length in pages
//! 124    4 reserved (0)
//! 128    8 free page count (pages in the persisted freelist)
//! 136    8 checkpoint LSN (0 without a WAL)
//! 144    - zero up to the end of the page
//! ```
//! The checksum covers the whole page.

use crate::storage::frame::{self, Header, PageType};
use crate::tree::record::{BucketRecord, RECORD_LEN};
use crate::types::{le, PageId, TxId};

pub const MAGIC: &[u8; 4] = b"THND";
pub const FORMAT_VERSION: u32 = 1;
pub const PAGE_SIZES: [u32; 4] = [4096, 8192, 16384, 65536];

/// Where the persisted freelist lives (see alloc::store).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct FreelistRef {
    pub snapshot: PageId,
    pub log_head: PageId,
    pub log_pages: u32,
    pub free_pages: u64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub txid: TxId,
    pub page_size: u32,
    pub page_count: u64,
    pub root: BucketRecord,
    pub bucket_count: u64,
    pub freelist: FreelistRef,
    pub checkpoint_lsn: u64,
}

/// What a page that should be a meta turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum MetaRead {
    Valid(Meta),
    /// No "THND" magic: not written by thunder.
    NotThunder,
    /// thunder magic, but a format this build does not read.
    Incompatible(String),
    /// thunder magic, but damaged (checksum, id, fields).
    Damaged(String),
}

impl Meta {
    /// The meta of a new, empty database.
    pub fn empty(page_size: u32) -> Meta {
        Meta {
            txid: TxId(0),
            page_size,
            page_count: 2,
            root: BucketRecord::default(),
            bucket_count: 0,
            freelist: FreelistRef::default(),
            checkpoint_lsn: 0,
        }
    }

    /// The full page for meta slot `slot` (0 or 1).
    pub fn encode(&self, slot: u64) -> Vec<u8> {
        let mut page = vec![0u8; self.page_size as usize];
        Header::new(PageType::Meta, PageId(slot), self.txid).write(&mut page);
        page[32..36].copy_from_slice(MAGIC);
        le::put_u32(&mut page, 36, FORMAT_VERSION);
        le::put_u32(&mut page, 40, self.page_size);
        le::put_u64(&mut page, 48, self.page_count);
        page[56..56 + RECORD_LEN].copy_from_slice(&self.root.encode());
        le::put_u64(&mut page, 96, self.bucket_count);
        le::put_u64(&mut page, 104, self.freelist.snapshot.0);
        le::put_u64(&mut page, 112, self.freelist.log_head.0);
        le::put_u32(&mut page, 120, self.freelist.log_pages);
        le::put_u64(&mut page, 128, self.freelist.free_pages);
        le::put_u64(&mut page, 136, self.checkpoint_lsn);
        frame::seal(&mut page);
        page
    }

    /// Reads `page` (exactly `page_size` bytes read from slot `slot`'s offset).
    pub fn decode(page: &[u8], slot: u64) -> MetaRead {
        if page.len() < 144 || &page[32..36] != MAGIC {
            return MetaRead::NotThunder;
        }
        let (stored, computed) = frame::checksums(page);
        if stored != computed {
            return MetaRead::Damaged(format!(
                "meta page {slot}: checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ));
        }
        let version = le::u32_at(page, 36);
        if version != FORMAT_VERSION {
            return MetaRead::Incompatible(format!(
                "format version {version}, this build reads version {FORMAT_VERSION}"
            ));
        }
        let h = Header::read(page);
        let page_size = le::u32_at(page, 40);
        let page_count = le::u64_at(page, 48);
        let damaged = |what: String| MetaRead::Damaged(format!("meta page {slot}: {what}"));
        if h.ty != PageType::Meta as u8 {
            return damaged(format!("page type {} (expected {})", h.ty, PageType::Meta as u8));
        }
        if h.id != PageId(slot) {
            return damaged(format!("page id {} (expected {slot})", h.id));
        }
        if page_size as usize != page.len() {
            return damaged(format!("page size field {page_size} (read as {})", page.len()));
        }
        if page_count < 2 {
            return damaged(format!("page count {page_count} (at least 2)"));
        }
        let Some(root) = BucketRecord::decode(&page[56..56 + RECORD_LEN]) else {
            return damaged("root record".into());
        };
        MetaRead::Valid(Meta {
            txid: h.txid,
            page_size,
            page_count,
            root,
            bucket_count: le::u64_at(page, 96),
            freelist: FreelistRef {
                snapshot: PageId(le::u64_at(page, 104)),
                log_head: PageId(le::u64_at(page, 112)),
                log_pages: le::u32_at(page, 120),
                free_pages: le::u64_at(page, 128),
            },
            checkpoint_lsn: le::u64_at(page, 136),
        })
    }
}

/// The outcome of looking at both meta slots of a file.
#[derive(Debug, PartialEq, Eq)]
pub enum Selected {
    /// The meta to open and the slot it was read from.
    Meta(Meta, u64),
    NotThunder,
    Incompatible(String),
    Damaged(String),
}

/// Picks the meta to open from the file, reading through `read(offset, len)`
/// (which returns None past the end of the file). Page 0 names the page size
/// that locates page 1; if page 0 is damaged, every legal size is tried.
pub fn select(read: impl Fn(u64, usize) -> Option<Vec<u8>>) -> Selected {
    let mut reads: Vec<(MetaRead, u64)> = Vec::new();
    if let Some(head) = read(0, 64) {
        let size = le::u32_at(&head, 40);
        if &head[32..36] == MAGIC && PAGE_SIZES.contains(&size) {
            let r = read(0, size as usize)
                .map_or(MetaRead::Damaged("meta page 0: file shorter than one page".into()), |p| Meta::decode(&p, 0));
            reads.push((r, 0));
        } else if &head[32..36] == MAGIC {
            reads.push((MetaRead::Damaged(format!("meta page 0: page size field {size}")), 0));
        }
    }
    for size in PAGE_SIZES {
        if let Some(p) = read(size as u64, size as usize) {
            match Meta::decode(&p, 1) {
                MetaRead::Damaged(_) if le::u32_at(&p, 40) != size => {} // not this size
                r => reads.push((r, 1)),
            }
        }
    }
    // ties (a new file holds txid 0 twice) go to slot 0
    let best = reads
        .iter()
        .filter_map(|(r, slot)| match r {
            MetaRead::Valid(m) => Some((*m, *slot)),
            _ => None,
        })
        .max_by_key(|(m, slot)| (m.txid, std::cmp::Reverse(*slot)));
    if let Some((m, slot)) = best {
        return Selected::Meta(m, slot);
    }
    for (r, _) in &reads {
        if let MetaRead::Incompatible(w) = r {
            return Selected::Incompatible(w.clone());
        }
    }
    let damage: Vec<String> = reads
        .into_iter()
        .filter_map(|(r, _)| match r {
            MetaRead::Damaged(w) => Some(w),
            _ => None,
        })
        .collect();
    if damage.is_empty() {
        Selected::NotThunder
    } else {
        Selected::Damaged(format!("no valid meta page: {}", damage.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(metas: &[(&Meta, u64)], page_size: usize) -> Vec<u8> {
        let mut f = vec![0u8; page_size * 2];
        for (m, slot) in metas {
            let p = m.encode(*slot);
            f[*slot as usize * page_size..][..page_size].copy_from_slice(&p);
        }
        f
    }

    fn select_in(f: &[u8]) -> Selected {
        select(|off, len| f.get(off as usize..off as usize + len).map(<[u8]>::to_vec))
    }

    #[test]
    fn picks_highest_valid_txid_at_every_page_size() {
        for ps in PAGE_SIZES {
            let mut a = Meta::empty(ps);
            a.txid = TxId(4);
            let mut b = a;
            b.txid = TxId(5);
            b.page_count = 9;
            let f = file_with(&[(&a, 0), (&b, 1)], ps as usize);
            assert_eq!(select_in(&f), Selected::Meta(b, 1), "page size {ps}");
        }
    }

    #[test]
    fn one_damaged_meta_falls_back_to_the_other() {
        for ps in PAGE_SIZES {
            let psz = ps as usize;
            let mut a = Meta::empty(ps);
            a.txid = TxId(6);
            let mut b = a;
            b.txid = TxId(7);
            let good = file_with(&[(&a, 0), (&b, 1)], psz);
            // damage slot 1 (newest): slot 0 wins
            let mut f = good.clone();
            f[psz + 100] ^= 0xff;
            assert_eq!(select_in(&f), Selected::Meta(a, 0));
            // damage slot 0, including its page size field: slot 1 still found
            let mut f = good.clone();
            f[40] ^= 0x7f;
            assert_eq!(select_in(&f), Selected::Meta(b, 1));
        }
    }

    #[test]
    fn both_damaged_is_damaged_and_garbage_is_not_thunder() {
        let a = Meta::empty(4096);
        let mut f = file_with(&[(&a, 0), (&a, 1)], 4096);
        f[200] ^= 1;
        f[4096 + 200] ^= 1;
        assert!(matches!(select_in(&f), Selected::Damaged(_)));
        let garbage = vec![0x5au8; 16384];
        assert_eq!(select_in(&garbage), Selected::NotThunder);
        assert_eq!(select_in(&[1, 2, 3]), Selected::NotThunder);
    }

    #[test]
    fn other_version_is_incompatible() {
        let a = Meta::empty(4096);
        let mut f = file_with(&[(&a, 0), (&a, 1)], 4096);
        for slot in 0..2 {
            let p = &mut f[slot * 4096..][..4096];
            le::put_u32(p, 36, 99);
            frame::seal(p);
        }
        assert!(matches!(select_in(&f), Selected::Incompatible(_)));
    }

    #[test]
    fn meta_round_trip() {
        let mut m = Meta::empty(8192);
        m.txid = TxId(11);
        m.page_count = 77;
        m.bucket_count = 3;
        m.root.keys.root = PageId(40);
        m.freelist = FreelistRef { snapshot: PageId(50), log_head: PageId(51), log_pages: 2, free_pages: 10 };
        m.checkpoint_lsn = 1 << 33;
        assert_eq!(Meta::decode(&m.encode(1), 1), MetaRead::Valid(m));
        assert!(matches!(Meta::decode(&m.encode(1), 0), MetaRead::Damaged(_)));
    }
}
