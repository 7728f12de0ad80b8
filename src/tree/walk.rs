//! The walk over every tree of a snapshot: each bucket's key tree and
//! child-bucket catalog, their overflow runs, recursively. `check` runs it
//! deep (key order, counts, overflow contents); a writer whose stored
//! freelist is damaged runs it shallow to learn which pages are in use.

use crate::error::{show_bytes, Corruption, Error, Result};
use crate::storage::PageType;
use crate::tree::overflow;
use crate::tree::page::{self, BranchPage, LeafPage, Value};
use crate::tree::record::{BucketRecord, TreeRef, MAX_BUCKET_NAME};
use crate::tree::view::{PageReader, MAX_DEPTH};
use crate::types::PageId;

/// One bitmap of pages, marking each page once.
pub struct Seen {
    bits: Vec<u64>,
    pages: u64,
}

impl Seen {
    pub fn new(pages: u64) -> Seen {
        Seen { bits: vec![0; pages.div_ceil(64) as usize], pages }
    }

    pub fn mark(&mut self, first: u64, n: u64, what: &str) -> Result<()> {
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

    /// Pages marked.
    pub fn count(&self) -> u64 {
        self.bits.iter().map(|w| w.count_ones() as u64).sum()
    }

    pub fn unmarked(&self) -> impl Iterator<Item = u64> + '_ {
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

impl Pending {
    /// Whether `k` lies in the subtree's key range (`lo` inclusive, `hi` exclusive).
    fn holds(&self, k: &[u8]) -> bool {
        self.lo.as_deref().is_none_or(|lo| k >= lo) && self.hi.as_deref().is_none_or(|hi| k < hi)
    }
}

/// What a walk counted.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Keys, as the bucket records say (saturating).
    pub keys: u64,
    /// Buckets found, nested ones included.
    pub buckets: u64,
}

/// Walks every tree reachable from `root` (the default keyspace's record),
/// marking its pages in `seen`. With `deep`, checks key order, counts and
/// overflow values too.
pub fn walk(reader: &PageReader<'_>, root: BucketRecord, seen: &mut Seen, deep: bool) -> Result<Counts> {
    let mut report = Counts::default();
    let mut buckets: Vec<(String, BucketRecord)> = vec![("the default keyspace".into(), root)];
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
    Ok(report)
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
        if ty == PageType::Leaf {
            if *leaf_depth.get_or_insert(at.depth) != at.depth {
                let cause = Corruption::Structure { what: "leaves at different depths".into() };
                return Err(Error::corrupted(id, cause.within(name)));
            }
            let l = LeafPage::new(bytes);
            count += l.len() as u64;
            walk_leaf(reader, &at, &l, seen, deep, name, children.as_deref_mut())?;
        } else {
            walk_branch(&at, &BranchPage::new(bytes), deep, name, &mut stack)?;
        }
    }
    if deep && count != tree.count {
        let cause = Corruption::Count { of: "entries", recorded: tree.count, found: Some(count) };
        return Err(Error::corrupted(tree.root, cause.within(name)));
    }
    Ok(())
}

/// The leaf step of `walk_tree`: checks the entries of leaf `at` and marks or yields what they point to.
fn walk_leaf(
    reader: &PageReader<'_>,
    at: &Pending,
    l: &LeafPage<'_>,
    seen: &mut Seen,
    deep: bool,
    name: &str,
    mut children: Option<&mut Vec<(String, BucketRecord)>>,
) -> Result<()> {
    for i in 0..l.len() {
        if deep && !at.holds(l.key(i)) {
            let what = format!("key {} outside its parent's range", show_bytes(l.key(i)));
            return Err(Error::corrupted(at.page, Corruption::Structure { what }.within(name)));
        }
        match (&mut children, l.value(i)) {
            (Some(out), v) => {
                // The API opens, deletes and logs only names of 1 to 255
                // bytes: a longer one is unreachable, and compaction of
                // the file would fail on it.
                if deep && l.key(i).len() > MAX_BUCKET_NAME {
                    let what = format!("bucket name of {} bytes (at most {})", l.key(i).len(), MAX_BUCKET_NAME);
                    return Err(Error::corrupted(at.page, Corruption::Structure { what }.within(name)));
                }
                let rec = BucketRecord::from_value(l.key(i), v)?;
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
    Ok(())
}

/// The branch step of `walk_tree`: checks the separators of branch `at` and queues its children.
fn walk_branch(at: &Pending, b: &BranchPage<'_>, deep: bool, name: &str, stack: &mut Vec<Pending>) -> Result<()> {
    if deep && !(1..b.len()).all(|i| at.holds(b.key(i))) {
        let cause = Corruption::Structure { what: "separator outside its parent's range".into() };
        return Err(Error::corrupted(at.page, cause.within(name)));
    }
    for i in 0..b.len() {
        let lo = if i == 0 { at.lo.clone() } else { Some(b.key(i).to_vec()) };
        let hi = if i + 1 < b.len() { Some(b.key(i + 1).to_vec()) } else { at.hi.clone() };
        stack.push(Pending { page: b.child(i), lo, hi, depth: at.depth + 1 });
    }
    Ok(())
}
