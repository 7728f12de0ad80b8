//! Raw access to a database file's bytes, for the tests that read meta pages
//! straight from disk or damage pages on purpose. Offsets and page types are
//! those of docs/FORMAT.md; every page frame carries a CRC32 (IEEE) at 0.

/// Page types (header byte 4).
pub const T_META: u8 = 1;
pub const T_BRANCH: u8 = 2;
pub const T_LEAF: u8 = 3;
pub const T_OVERFLOW: u8 = 4;
pub const T_SNAPSHOT: u8 = 5;
pub const T_LOG: u8 = 6;

/// Size of the header every page starts with.
pub const HEADER: usize = 32;

/// Meta page fields.
pub const META_PAGE_COUNT: usize = 48;
/// The root bucket record (40 bytes, see `REC_*`).
pub const META_ROOT: usize = 56;
pub const META_BUCKET_COUNT: usize = 96;
pub const META_SNAPSHOT: usize = 104;
pub const META_LOG_HEAD: usize = 112;
/// u32, unlike the other meta fields.
pub const META_LOG_LEN: usize = 120;
pub const META_FREE_COUNT: usize = 128;

/// Bucket record fields.
pub const REC_KEYS_ROOT: usize = 0;
pub const REC_KEY_COUNT: usize = 8;
pub const REC_CATALOG_ROOT: usize = 16;
pub const REC_SEQUENCE: usize = 32;
pub const REC_LEN: usize = 40;

pub fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

pub fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

pub fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The bytes of page `p`.
pub fn page(img: &[u8], ps: usize, p: u64) -> &[u8] {
    &img[p as usize * ps..(p as usize + 1) * ps]
}

/// Recomputes the checksum of the page starting at `p`, so that damage done
/// to it passes the checksum and only the structure checks can catch it.
/// An overflow run's checksum covers its header only (the value has its own
/// CRC in the leaf); a freelist snapshot's covers the whole run.
pub fn reseal(img: &mut [u8], ps: usize, p: u64) {
    let off = p as usize * ps;
    let end = match img[off + 4] {
        T_OVERFLOW => off + HEADER,
        T_SNAPSHOT => (off + (1 + u32_at(img, off + 24) as usize) * ps).min(img.len()),
        _ => off + ps,
    };
    let crc = crc32fast::hash(&img[off + 4..end]);
    put_u32(img, off, crc);
}

/// The newest valid meta page of a file image: (slot, txid). This is the
/// commit an open (or a crash at this instant) would find.
pub fn newest_meta(img: &[u8], ps: usize) -> (usize, u64) {
    (0..2)
        .filter_map(|slot| {
            let p = img.get(slot * ps..(slot + 1) * ps)?;
            let valid =
                &p[32..36] == b"THND" && u64_at(p, 8) == slot as u64 && u32_at(p, 0) == crc32fast::hash(&p[4..]);
            valid.then(|| (slot, u64_at(p, 16)))
        })
        .max_by_key(|&(_, txid)| txid)
        .expect("no valid meta page")
}

/// The pages reachable from the newest meta, by kind: the trees (keys and
/// catalogs of every bucket), overflow runs and the persisted freelist.
#[derive(Default, Debug)]
pub struct Layout {
    pub meta_slot: usize,
    pub page_count: u64,
    pub branches: Vec<u64>,
    pub leaves: Vec<u64>,
    /// Leaves of catalog trees, where bucket records live (also in `leaves`).
    pub catalog_leaves: Vec<u64>,
    /// (first page, pages) of each overflow run.
    pub overflow: Vec<(u64, u64)>,
    /// (first page, pages) of the freelist snapshot.
    pub snapshot: Option<(u64, u64)>,
    /// Freelist log pages, newest first.
    pub logs: Vec<u64>,
}

/// Maps the layout of an intact file image; panics on anything unexpected,
/// since it is only ever run on a file before the test damages it.
pub fn layout(img: &[u8], ps: usize) -> Layout {
    let (slot, _) = newest_meta(img, ps);
    let m = page(img, ps, slot as u64);
    let mut l = Layout { meta_slot: slot, page_count: u64_at(m, META_PAGE_COUNT), ..Layout::default() };
    // (page, is a catalog tree page)
    let mut stack: Vec<(u64, bool)> = Vec::new();
    let push_roots = |rec: &[u8], stack: &mut Vec<(u64, bool)>| {
        for (at, catalog) in [(REC_KEYS_ROOT, false), (REC_CATALOG_ROOT, true)] {
            if u64_at(rec, at) != 0 {
                stack.push((u64_at(rec, at), catalog));
            }
        }
    };
    push_roots(&m[META_ROOT..META_ROOT + REC_LEN], &mut stack);
    while let Some((p, catalog)) = stack.pop() {
        let pg = page(img, ps, p);
        let slots = (0..u16_at(pg, 6) as usize).map(|i| u16_at(pg, HEADER + 2 * i) as usize);
        match pg[4] {
            T_BRANCH => {
                l.branches.push(p);
                stack.extend(slots.map(|off| (u64_at(pg, off), catalog)));
            }
            T_LEAF => {
                l.leaves.push(p);
                if catalog {
                    l.catalog_leaves.push(p);
                }
                for off in slots {
                    let value = off + 7 + u16_at(pg, off + 1) as usize;
                    if catalog {
                        push_roots(&pg[value..value + REC_LEN], &mut stack);
                    } else if pg[off] == 1 {
                        let len = u32_at(pg, off + 3) as usize;
                        l.overflow.push((u64_at(pg, value), (HEADER + len).div_ceil(ps) as u64));
                    }
                }
            }
            t => panic!("unexpected page type {t} at page {p} while mapping the layout"),
        }
    }
    let snapshot = u64_at(m, META_SNAPSHOT);
    if snapshot != 0 {
        l.snapshot = Some((snapshot, 1 + u32_at(page(img, ps, snapshot), 24) as u64));
    }
    let mut log = u64_at(m, META_LOG_HEAD);
    while log != 0 {
        l.logs.push(log);
        log = u64_at(page(img, ps, log), HEADER);
    }
    l
}
