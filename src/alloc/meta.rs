//! The meta page: pages 0 and 1 each hold one, and open picks the valid one
//! with the highest txid. A sync writes the slot that does *not* hold the last
//! durable meta, so a torn meta write always leaves that one intact. That is
//! slot `txid % 2` while every commit is synced (`SyncMode::Full`); a sync
//! under `Batched`/`None` skips txids, and after one the parity no longer
//! holds.
//!
//! ```text
//! off size field (after the 32-byte page header: type 1, id = slot, txid)
//!  32    4 magic "THND"
//!  36    4 format version (1)
//!  40    4 page size
//!  44    4 flags: bit 0 `FLAG_LOG_LIVE`, bit 1 `FLAG_LOG_CLEAN` (see
//!          `LogMark`), others 0
//!  48    8 page count: the high-water mark, pages 0..count are in use or free
//!  56   40 root bucket record (see tree::record)
//!  96    8 bucket count, nested buckets included
//! 104    8 freelist snapshot run (0: none)
//! 112    8 freelist log head (0: none)
//! 120    4 freelist log length in pages
//! 124    4 reserved (0)
//! 128    8 free page count (pages in the persisted freelist)
//! 136    8 checkpoint LSN (0 without a WAL)
//! 144    8 database id: random, chosen when the file is made (0 in files
//!          made before ids); the log's segments carry it
//! 152    4 log id: with `FLAG_LOG_LIVE`, the log writer whose segments an
//!          open must find (see `LogMark::Live`); else 0
//! 156    - zero up to the end of the page
//! ```
//! The checksum covers the whole page.

use crate::storage::{checksums, seal, Header, PageType};
use crate::tree::{BucketRecord, RECORD_LEN};
use crate::types::{le, PageId, TxId};

pub const MAGIC: &[u8; 4] = b"THND";
pub const FORMAT_VERSION: u32 = 1;
pub const PAGE_SIZES: [u32; 4] = [4096, 8192, 16384, 65536];
/// Meta flag: the write-ahead log may hold commits past the checkpoint LSN.
pub const FLAG_LOG_LIVE: u32 = 1;
/// Meta flag: no write-ahead log holds commits past the checkpoint LSN.
pub const FLAG_LOG_CLEAN: u32 = 2;

/// What a meta says of the write-ahead log (flag bits 0 and 1, and the log
/// id at offset 152). `Env::write_meta` sets it as the log stands.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum LogMark {
    /// Neither bit: a meta written before the marks. The log directory is
    /// read as it always was (a log with no segment was removed whole).
    #[default]
    Unknown,
    /// A log was attached, its writer `Live(log id)` (`WalWriter::log_id`):
    /// it may hold commits past the checkpoint, so an open must find a
    /// segment that writer made, or the log there is another (an older one
    /// left in a directory the database moved away from, say).
    Live(u32),
    /// No log holds commits past the checkpoint (a clean close, an open
    /// with the log off that replayed the log, no log ever): whatever
    /// segments the log directory holds are older, and not read.
    Clean,
}

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
    /// The database's id (`new_db_id`); 0: a file made before ids, whose
    /// log is not checked against it.
    pub db_id: u64,
    /// On disk: what the log holds past `checkpoint_lsn` (`LogMark`). Set
    /// as the log stands when the meta is written; in memory it means
    /// nothing else.
    pub log: LogMark,
    /// In memory only: this commit left the change to the free set
    /// unwritten (the weak sync modes and a log, see `TxAlloc::defer`), so
    /// `freelist` names the last written one, which does not describe this
    /// snapshot's free pages. Such a meta is never written to disk: a steady
    /// point or checkpoint first writes the freelist (`Env::pin_steady_meta`).
    pub freelist_deferred: bool,
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
            db_id: 0,
            log: LogMark::Clean,
            freelist_deferred: false,
        }
    }

    /// The full page for meta slot `slot` (0 or 1).
    pub fn encode(&self, slot: u64) -> Vec<u8> {
        debug_assert!(!self.freelist_deferred, "a meta with a deferred freelist is never written");
        let mut page = vec![0u8; self.page_size as usize];
        Header::new(PageType::Meta, PageId(slot), self.txid).write(&mut page);
        page[32..36].copy_from_slice(MAGIC);
        le::put_u32(&mut page, 36, FORMAT_VERSION);
        le::put_u32(&mut page, 40, self.page_size);
        let (flags, log_id) = match self.log {
            LogMark::Unknown => (0, 0),
            LogMark::Live(id) => (FLAG_LOG_LIVE, id),
            LogMark::Clean => (FLAG_LOG_CLEAN, 0),
        };
        le::put_u32(&mut page, 44, flags);
        le::put_u64(&mut page, 48, self.page_count);
        page[56..56 + RECORD_LEN].copy_from_slice(&self.root.encode());
        le::put_u64(&mut page, 96, self.bucket_count);
        le::put_u64(&mut page, 104, self.freelist.snapshot.0);
        le::put_u64(&mut page, 112, self.freelist.log_head.0);
        le::put_u32(&mut page, 120, self.freelist.log_pages);
        le::put_u64(&mut page, 128, self.freelist.free_pages);
        le::put_u64(&mut page, 136, self.checkpoint_lsn);
        le::put_u64(&mut page, 144, self.db_id);
        le::put_u32(&mut page, 152, log_id);
        seal(&mut page);
        page
    }

    /// Whether `prefix` is the start of the meta a new file gets in slot
    /// `slot` at `page_size` (`Meta::empty` with a database id, as open
    /// writes it), whatever the id: what a kill or power cut during that
    /// write leaves. The page is fixed by the id, so every byte of the
    /// prefix, the checksum included, is compared.
    pub fn is_new_meta_prefix(prefix: &[u8], slot: u64, page_size: u32) -> bool {
        if prefix.len() < 152 || prefix.len() > page_size as usize {
            return false;
        }
        let db_id = le::u64_at(prefix, 144);
        Meta { db_id, ..Meta::empty(page_size) }.encode(slot).starts_with(prefix)
    }

    /// The first byte of `page`, a meta, that must be zero and is not: the
    /// flags other than `FLAG_LOG_LIVE` and `FLAG_LOG_CLEAN` (offset 44),
    /// the reserved word (124) and the tail (156 on). Open does not look at them (a newer writer
    /// may use them one day); `check` reports them.
    pub fn nonzero_reserved(page: &[u8]) -> Option<usize> {
        let mut flags = [0u8; 4];
        flags.copy_from_slice(page.get(44..48)?);
        let unknown = (u32::from_le_bytes(flags) & !(FLAG_LOG_LIVE | FLAG_LOG_CLEAN)).to_le_bytes();
        if let Some(i) = unknown.iter().position(|&b| b != 0) {
            return Some(44 + i);
        }
        [124..128, 156..page.len()].into_iter().flatten().find(|&i| page.get(i).is_some_and(|&b| b != 0))
    }

    /// Reads `page` (exactly `page_size` bytes read from slot `slot`'s offset).
    pub fn decode(page: &[u8], slot: u64) -> MetaRead {
        if page.len() < 152 || &page[32..36] != MAGIC {
            return MetaRead::NotThunder;
        }
        let (stored, computed) = checksums(page);
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
            db_id: le::u64_at(page, 144),
            log: match le::u32_at(page, 44) {
                f if f & FLAG_LOG_LIVE != 0 => LogMark::Live(le::u32_at(page, 152)),
                f if f & FLAG_LOG_CLEAN != 0 => LogMark::Clean,
                _ => LogMark::Unknown,
            },
            freelist_deferred: false,
        })
    }
}

/// A new database's id: 64 bits from the standard library's random hash
/// keys (seeded from the OS once per thread, then stepped, so two calls
/// never repeat), mixed with the time and the process id; never 0, which
/// stands for "no id" in files and logs made before ids.
pub fn new_db_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        h.write_u128(now.map_or(0, |d| d.as_nanos()));
        h.write_u32(std::process::id());
        let id = h.finish();
        if id != 0 {
            return id;
        }
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
/// (which returns Ok(None) past the end of the file). A read error ends the
/// selection and is returned as is: a slot that could not be read is neither
/// damaged nor foreign, and choosing the other slot could open an older commit.
///
/// Both slots are read at one page size only, the file's own: page 0's when
/// page 0 is valid. Probing page 1 at other sizes would read ordinary pages,
/// where a stored value may hold anything, a well-formed meta with a higher
/// txid included. Only when page 0 is damaged is the size looked for: page 0's
/// size field first (every meta write writes the same size, so a torn write
/// leaves it intact), then each legal size, smallest first, until page 1
/// claims it. A smaller size than the file's lands inside page 0, never in
/// data, so the first claim found is the file's own page 1.
pub fn select<E>(read: impl Fn(u64, usize) -> Result<Option<Vec<u8>>, E>) -> Result<Selected, E> {
    let claim0 = read(0, 64)?.and_then(|h| claimed_size(&h));
    let size0 = claim0.filter(|s| PAGE_SIZES.contains(s));
    let slot0 = size0.map(|s| read_slot(&read, 0, s)).transpose()?;
    let size = match slot0 {
        Some(MetaRead::Valid(_)) => size0,
        _ => find_page_size(&read, size0)?,
    };
    let reads = match size {
        Some(s) => {
            let r0 = match slot0 {
                Some(r) if size0 == Some(s) => r,
                _ => read_slot(&read, 0, s)?,
            };
            vec![(r0, 0), (read_slot(&read, 1, s)?, 1)]
        }
        None => match claim0 {
            Some(bad) => vec![(MetaRead::Damaged(format!("meta page 0: page size field {bad}")), 0)],
            None => Vec::new(),
        },
    };
    Ok(best(reads))
}

/// The page size a meta page's first bytes claim, if they hold thunder's magic.
fn claimed_size(p: &[u8]) -> Option<u32> {
    (&p[32..36] == MAGIC).then(|| le::u32_at(p, 40))
}

/// Reads and decodes meta slot `slot` at page size `size`.
fn read_slot<E>(read: &impl Fn(u64, usize) -> Result<Option<Vec<u8>>, E>, slot: u64, size: u32) -> Result<MetaRead, E> {
    Ok(read(slot * size as u64, size as usize)?.map_or_else(
        || MetaRead::Damaged(format!("meta page {slot}: file shorter than {} pages of {size} bytes", slot + 1)),
        |p| Meta::decode(&p, slot),
    ))
}

/// The page size when page 0 is not valid: the first of `size0` and the legal sizes that page 1 claims, else `size0`.
fn find_page_size<E>(
    read: &impl Fn(u64, usize) -> Result<Option<Vec<u8>>, E>,
    size0: Option<u32>,
) -> Result<Option<u32>, E> {
    for s in size0.into_iter().chain(PAGE_SIZES.into_iter().filter(|s| Some(*s) != size0)) {
        if read(s as u64, 64)?.and_then(|p| claimed_size(&p)) == Some(s) {
            return Ok(Some(s));
        }
    }
    Ok(size0)
}

/// The valid meta among `reads` with the highest txid, else why there is none.
fn best(reads: Vec<(MetaRead, u64)>) -> Selected {
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
        let read = |off: u64, len| Ok(f.get(off as usize..off as usize + len).map(<[u8]>::to_vec));
        select(read).unwrap_or_else(|e: std::convert::Infallible| match e {})
    }

    #[test]
    fn the_database_id_round_trips_and_ids_differ() {
        let ids: std::collections::HashSet<u64> = (0..1000).map(|_| new_db_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(!ids.contains(&0));
        let m = Meta { db_id: 0x0123_4567_89ab_cdef, ..Meta::empty(4096) };
        let page = m.encode(0);
        assert_eq!(&page[144..152], &0x0123_4567_89ab_cdefu64.to_le_bytes());
        assert_eq!(Meta::nonzero_reserved(&page), None, "the id is no reserved byte");
        assert_eq!(Meta::decode(&page, 0), MetaRead::Valid(m));
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

    /// A 4 KiB file whose pages at 16 KiB and 64 KiB hold well-formed metas
    /// for those page sizes with a higher txid, as a stored value may.
    fn file_with_forged_metas() -> (Vec<u8>, Meta) {
        let mut a = Meta::empty(4096);
        a.txid = TxId(6);
        let mut b = a;
        b.txid = TxId(7);
        let mut f = file_with(&[(&a, 0), (&b, 1)], 4096);
        f.resize(65536 * 2, 0);
        for size in [16384u32, 65536] {
            let mut forged = Meta::empty(size);
            forged.txid = TxId(1 << 40);
            f[size as usize..][..size as usize].copy_from_slice(&forged.encode(1));
        }
        (f, b)
    }

    #[test]
    fn metas_forged_by_data_at_other_page_sizes_are_never_chosen() {
        let (f, b) = file_with_forged_metas();
        assert_eq!(select_in(&f), Selected::Meta(b, 1));
        // page 0 torn (checksum wrong, size field intact): its size still rules
        let mut torn = f.clone();
        torn[300] ^= 0xff;
        assert_eq!(select_in(&torn), Selected::Meta(b, 1));
        // page 0's size field gone too: the smallest size page 1 claims wins
        let mut gone = f.clone();
        gone[..64].fill(0);
        assert_eq!(select_in(&gone), Selected::Meta(b, 1));
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

    /// A read that fails is the error, whichever read it is: never taken for
    /// a short file, which would make its slot "damaged" and let the other win.
    #[test]
    fn a_failed_read_is_returned_not_taken_for_damage() {
        let mut a = Meta::empty(4096);
        a.txid = TxId(6);
        let mut b = a;
        b.txid = TxId(7);
        let good = file_with(&[(&a, 0), (&b, 1)], 4096);
        let mut torn = good.clone();
        torn[300] ^= 0xff;
        for f in [&good, &torn] {
            // every read covering byte `bad` fails; 4096 starts page 1
            for bad in [0u64, 100, 4096, 5000] {
                let read = |off: u64, len: usize| {
                    if (off..off + len as u64).contains(&bad) {
                        return Err(bad);
                    }
                    Ok(f.get(off as usize..off as usize + len).map(<[u8]>::to_vec))
                };
                assert_eq!(select(read), Err(bad), "reads of byte {bad} fail");
            }
        }
    }

    #[test]
    fn other_version_is_incompatible() {
        let a = Meta::empty(4096);
        let mut f = file_with(&[(&a, 0), (&a, 1)], 4096);
        for slot in 0..2 {
            let p = &mut f[slot * 4096..][..4096];
            le::put_u32(p, 36, 99);
            seal(p);
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
