//! The integrity check, and the tree walk it shares with freelist recovery.
//!
//! `run` verifies every invariant docs/FORMAT.md states, on one snapshot:
//! each reachable page's checksum, type, id and layout (whatever the verified
//! bits say); key order within pages and against the separators above them;
//! equal leaf depth within the depth bound; entry counts against the bucket
//! records; overflow runs against their references; the bucket count; and
//! that every page below the high-water mark is exactly one of: meta,
//! reachable, free, or freelist structure (none both, none leaked).
//! `Database::check` first reads the meta pages back from the file
//! (`DbInner::check_metas`): the durable one must be intact.

use crate::alloc::extents::ExtentSet;
use crate::alloc::freelist::{self, Freelist, Stored};
use crate::alloc::meta::Meta;
use crate::alloc::store;
use crate::error::{show_bytes, Corruption, Error, Result};
use crate::storage::frame::PageType;
use crate::tree::overflow;
use crate::tree::page::{self, BranchPage, LeafPage, Value};
use crate::tree::record::{BucketRecord, TreeRef};
use crate::tree::view::{PageReader, MAX_DEPTH};
use crate::txn::decode_record;
use crate::types::PageId;

/// What `check` found in a sound file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Pages below the high-water mark.
    pub pages: u64,
    /// Tree and overflow pages reachable from the meta.
    pub reachable_pages: u64,
    pub free_pages: u64,
    /// Pages holding the freelist itself.
    pub freelist_pages: u64,
    pub buckets: u64,
    /// Keys in every bucket and the default keyspace.
    pub keys: u64,
    /// The meta slot that does not hold the durable meta is damaged: as a
    /// crash during a meta write leaves it. Harmless (open used the other
    /// slot) and rewritten by the next sync, so not an error; damage to the
    /// durable meta is one.
    pub spare_meta_damaged: bool,
}

/// One bitmap of pages, marking each page once.
struct Seen {
    bits: Vec<u64>,
    pages: u64,
}

impl Seen {
    fn new(pages: u64) -> Seen {
        Seen { bits: vec![0; pages.div_ceil(64) as usize], pages }
    }

    fn mark(&mut self, first: u64, n: u64, what: &str) -> Result<()> {
        if first < 2 || first.checked_add(n).is_none_or(|e| e > self.pages) {
            let cause = Corruption::Bounds { first, pages: n, page_count: self.pages };
            return Err(Error::corrupted(PageId(first), cause.within(what)));
        }
        for p in first..first + n {
            let (w, b) = ((p / 64) as usize, 1u64 << (p % 64));
            if self.bits[w] & b != 0 {
                let what = format!("page used twice (again as {what})");
                return Err(Error::corrupted(PageId(p), Corruption::Structure { what }));
            }
            self.bits[w] |= b;
        }
        Ok(())
    }

    fn unmarked(&self) -> impl Iterator<Item = u64> + '_ {
        (2..self.pages).filter(|p| self.bits[(p / 64) as usize] & (1 << (p % 64)) == 0)
    }
}

/// A subtree to verify: its page, key bounds, and depth.
struct Pending {
    page: PageId,
    lo: Option<Vec<u8>>,
    hi: Option<Vec<u8>>,
    depth: usize,
}

/// Walks every tree reachable from `meta`, marking its pages in `seen`.
/// With `deep`, checks key order, counts and overflow values too.
fn walk(reader: &PageReader<'_>, meta: &Meta, seen: &mut Seen, deep: bool, report: &mut Report) -> Result<()> {
    let mut buckets: Vec<(String, BucketRecord)> = vec![("the default keyspace".into(), meta.root)];
    while let Some((name, rec)) = buckets.pop() {
        // Counts come from disk: a sum past u64::MAX is damage that the
        // per-tree comparison below reports.
        report.keys = report.keys.saturating_add(rec.keys.count);
        walk_tree(reader, rec.keys, seen, deep, &name, None)?;
        let mut children = Vec::new();
        walk_tree(reader, rec.children, seen, deep, &name, Some(&mut children))?;
        report.buckets += children.len() as u64;
        buckets.extend(children);
    }
    if deep && report.buckets != meta.bucket_count {
        return Err(Error::Corrupted {
            page: None,
            cause: Corruption::Count { of: "buckets", recorded: meta.bucket_count, found: Some(report.buckets) },
        });
    }
    Ok(())
}

/// Walks one tree. A key tree's overflow runs are marked (and with `deep`
/// verified); a catalog tree (`children` given) yields its bucket records.
fn walk_tree(
    reader: &PageReader<'_>,
    tree: TreeRef,
    seen: &mut Seen,
    deep: bool,
    name: &str,
    mut children: Option<&mut Vec<(String, BucketRecord)>>,
) -> Result<()> {
    if tree.root.is_none() {
        return match tree.count {
            0 => Ok(()),
            n => {
                let cause = Corruption::Count { of: "entries", recorded: n, found: Some(0) }.within(name);
                Err(Error::Corrupted { page: None, cause })
            }
        };
    }
    let mut stack = vec![Pending { page: tree.root, lo: None, hi: None, depth: 1 }];
    let mut leaf_depth = None;
    let mut count = 0u64;
    while let Some(at) = stack.pop() {
        let id = at.page;
        if at.depth > MAX_DEPTH {
            return Err(Error::corrupted(id, Corruption::DepthExceeded { max: MAX_DEPTH }.within(name)));
        }
        seen.mark(id.0, 1, "tree page")?;
        let bytes = reader.raw(id, 1)?;
        let ty = page::validate(bytes, id).map_err(|c| Error::corrupted(id, c.within(name)))?;
        let in_bounds =
            |k: &[u8]| at.lo.as_deref().is_none_or(|lo| k >= lo) && at.hi.as_deref().is_none_or(|hi| k < hi);
        if ty == PageType::Leaf {
            if *leaf_depth.get_or_insert(at.depth) != at.depth {
                let cause = Corruption::Structure { what: "leaves at different depths".into() };
                return Err(Error::corrupted(id, cause.within(name)));
            }
            let l = LeafPage::new(bytes);
            count += l.len() as u64;
            for i in 0..l.len() {
                if deep && !in_bounds(l.key(i)) {
                    let what = format!("key {} outside its parent's range", show_bytes(l.key(i)));
                    return Err(Error::corrupted(id, Corruption::Structure { what }.within(name)));
                }
                match (&mut children, l.value(i)) {
                    (Some(out), v) => {
                        let rec = decode_record(l.key(i), v)?;
                        out.push((format!("bucket {}", show_bytes(l.key(i))), rec));
                    }
                    (None, Value::Overflow(r)) => {
                        let pages = overflow::run_pages(r.len as u64, reader.page_size);
                        seen.mark(r.page.0, pages, "overflow run")?;
                        if deep {
                            let run = reader.raw(r.page, pages)?;
                            overflow::validate(run, &r, reader.page_size).map_err(|c| Error::corrupted(r.page, c))?;
                        }
                    }
                    (None, Value::Inline(_)) => {}
                }
            }
        } else {
            let b = BranchPage::new(bytes);
            if deep && !(1..b.len()).all(|i| in_bounds(b.key(i))) {
                let cause = Corruption::Structure { what: "separator outside its parent's range".into() };
                return Err(Error::corrupted(id, cause.within(name)));
            }
            for i in 0..b.len() {
                let lo = if i == 0 { at.lo.clone() } else { Some(b.key(i).to_vec()) };
                let hi = if i + 1 < b.len() { Some(b.key(i + 1).to_vec()) } else { at.hi.clone() };
                stack.push(Pending { page: b.child(i), lo, hi, depth: at.depth + 1 });
            }
        }
    }
    if deep && count != tree.count {
        let cause = Corruption::Count { of: "entries", recorded: tree.count, found: Some(count) };
        return Err(Error::corrupted(tree.root, cause.within(name)));
    }
    Ok(())
}

/// Reads the persisted freelist of `meta`.
fn read_freelist(reader: &PageReader<'_>, meta: &Meta) -> std::result::Result<Freelist, (PageId, Corruption)> {
    let ps = reader.page_size;
    let pc = meta.page_count;
    freelist::load(
        &meta.freelist,
        |p| {
            let first = reader.bytes(p, 1)?;
            let n = store::snapshot_run_len(first);
            let run = reader.bytes(p, n)?;
            store::decode_snapshot(run, p, ps, pc).map(|runs| (n, runs))
        },
        |p| {
            let b = reader.bytes(p, 1)?;
            store::decode_log(b, p, ps, pc)
        },
    )
}

/// The writer's freelist for `meta`. If the stored freelist is damaged, it is
/// rebuilt from the tree (every page the tree does not reach is free) and the
/// next commit writes it afresh.
pub(crate) fn load_freelist(reader: &PageReader<'_>, meta: &Meta) -> Result<Freelist> {
    if let Ok(fl) = read_freelist(reader, meta) {
        return Ok(fl);
    }
    let mut seen = Seen::new(meta.page_count);
    walk(reader, meta, &mut seen, false, &mut Report::default())?;
    let mut free = ExtentSet::new();
    for p in seen.unmarked() {
        free.insert(p, 1).expect("each page once");
    }
    let mut fl = Freelist::from_set(free, Stored::default());
    fl.force_compact = true;
    Ok(fl)
}

/// Verifies the snapshot `meta` (see the module doc).
pub fn run(reader: &PageReader<'_>, meta: &Meta) -> Result<Report> {
    let mut report = Report { pages: meta.page_count, ..Report::default() };
    let mut seen = Seen::new(meta.page_count);
    walk(reader, meta, &mut seen, true, &mut report)?;
    report.reachable_pages = seen.bits.iter().map(|w| w.count_ones() as u64).sum();
    let fl = read_freelist(reader, meta).map_err(|(p, c)| Error::corrupted(p, c.within("freelist")))?;
    let stored = &fl.stored;
    if !stored.snapshot.is_none() {
        seen.mark(stored.snapshot.0, stored.snapshot_pages, "freelist snapshot")?;
    }
    for p in &stored.log {
        seen.mark(p.0, 1, "freelist log page")?;
    }
    report.freelist_pages = stored.snapshot_pages + stored.log.len() as u64;
    for (s, l) in fl.pool.runs() {
        seen.mark(s, l, "free page")?;
    }
    report.free_pages = fl.pool.pages();
    let leaked: Vec<u64> = seen.unmarked().take(8).collect();
    if !leaked.is_empty() {
        let what = format!(
            "pages neither reachable nor free (leaked): {leaked:?}{}",
            if leaked.len() == 8 { "..." } else { "" }
        );
        return Err(Error::corrupted(PageId(leaked[0]), Corruption::Structure { what }));
    }
    Ok(report)
}
