//! Reading tree nodes. `PageReader` turns a page id of one snapshot into a
//! validated page (bounds-checked against the snapshot, verified once per
//! process); `NodeView` is the one enum that says whether a node is a mapped
//! page or a dirty node of the write transaction, and `NodeSource::view` is
//! the one function that decides which.

use crate::error::{Corruption, Error, Result};
use crate::storage::{Mmap, PageType, VerifiedBits, HEADER_LEN};
use crate::tree::node::{Node, NodeRef};
use crate::tree::order;
use crate::tree::overflow;
use crate::tree::page::{self, BranchPage, LeafPage, OverflowRef, Value};
use crate::types::PageId;

/// Deepest tree we descend; a deeper one (or a cycle) is damage.
pub const MAX_DEPTH: usize = 48;

/// A validated committed tree page.
#[derive(Copy, Clone, Debug)]
pub enum PageNode<'a> {
    Leaf(LeafPage<'a>),
    Branch(BranchPage<'a>),
}

/// Pages of one snapshot, read through the mapping.
#[derive(Copy, Clone, Debug)]
pub struct PageReader<'a> {
    pub map: &'a Mmap,
    pub verified: &'a VerifiedBits,
    pub page_size: usize,
    /// The snapshot's page count: ids at or above it are damage.
    pub page_count: u64,
}

impl<'a> PageReader<'a> {
    /// The bytes of `pages` pages at `id`, checked against the snapshot.
    pub fn raw(&self, id: PageId, pages: u64) -> Result<&'a [u8]> {
        self.bytes(id, pages).map_err(|cause| Error::corrupted(id, cause))
    }

    /// `raw` for callers that place the damage themselves (the freelist
    /// readers): the cause alone.
    pub fn bytes(&self, id: PageId, pages: u64) -> Result<&'a [u8], Corruption> {
        let end = id.0.checked_add(pages);
        if id.0 < 2 || end.is_none_or(|e| e > self.page_count) {
            return Err(Corruption::Bounds { first: id.0, pages, page_count: self.page_count });
        }
        let ps = self.page_size as u64;
        self.map.slice(id.0 * ps, (pages * ps) as usize).ok_or_else(|| Corruption::Truncated {
            len: self.map.valid_len(),
            pages: id.0 + pages,
            page_size: ps,
            txid: None,
        })
    }

    /// A leaf or branch page, validated the first time this process reads it.
    #[inline]
    pub fn node(&self, id: PageId) -> Result<PageNode<'a>> {
        let b = self.raw(id, 1)?;
        if !self.verified.get(id.0) {
            page::validate(b, id).map_err(|cause| Error::corrupted(id, cause))?;
            self.verified.set(id.0);
        }
        match PageType::from_u8(b[4]) {
            Some(PageType::Leaf) => Ok(PageNode::Leaf(LeafPage::new(b))),
            Some(PageType::Branch) => Ok(PageNode::Branch(BranchPage::new(b))),
            _ => Err(Error::corrupted(id, Corruption::PageType { found: b[4], expected: "a tree page" })),
        }
    }

    /// A page this snapshot already returned from `node` as a leaf (so
    /// verified, and immutable while the snapshot lives), without checking
    /// it again: a cursor's step within its leaf spent a fifth of its
    /// instructions repeating those checks.
    #[inline]
    pub fn leaf_seen(&self, id: PageId) -> Result<LeafPage<'a>> {
        Ok(LeafPage::new(self.raw(id, 1)?))
    }

    /// The value an overflow reference points at, as one slice of the mapping.
    pub fn overflow(&self, r: &OverflowRef) -> Result<&'a [u8]> {
        let pages = overflow::run_pages(r.len as u64, self.page_size);
        let run = self.raw(r.page, pages)?;
        if !self.verified.get(r.page.0) {
            overflow::validate(run, r, self.page_size).map_err(|cause| Error::corrupted(r.page, cause))?;
            self.verified.set(r.page.0);
        } else if run[4] != PageType::Overflow as u8 {
            let cause = Corruption::PageType { found: run[4], expected: "an overflow page" };
            return Err(Error::corrupted(r.page, cause));
        }
        Ok(&run[HEADER_LEN..HEADER_LEN + r.len as usize])
    }
}

/// A node of either kind, read-only.
#[derive(Copy, Clone, Debug)]
pub enum NodeView<'a> {
    Page(PageNode<'a>),
    Dirty(&'a Node),
}

impl<'a> NodeView<'a> {
    #[inline]
    pub fn is_leaf(&self) -> bool {
        match self {
            NodeView::Page(PageNode::Leaf(_)) => true,
            NodeView::Page(PageNode::Branch(_)) => false,
            NodeView::Dirty(n) => n.is_leaf(),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self {
            NodeView::Page(PageNode::Leaf(p)) => p.len(),
            NodeView::Page(PageNode::Branch(p)) => p.len(),
            NodeView::Dirty(n) => n.len(),
        }
    }

    #[inline]
    pub fn key(&self, i: usize) -> &'a [u8] {
        match *self {
            NodeView::Page(PageNode::Leaf(p)) => p.key(i),
            NodeView::Page(PageNode::Branch(p)) => p.key(i),
            NodeView::Dirty(n) => n.key(i),
        }
    }

    /// Key and value of leaf entry i.
    #[inline]
    pub fn entry(&self, i: usize) -> (&'a [u8], Value<'a>) {
        match *self {
            NodeView::Page(PageNode::Leaf(p)) => p.entry(i),
            NodeView::Dirty(n) => (n.key(i), n.value(i)),
            NodeView::Page(PageNode::Branch(_)) => panic!("entry() on a branch page"),
        }
    }

    #[inline]
    pub fn value(&self, i: usize) -> Value<'a> {
        match *self {
            NodeView::Page(PageNode::Leaf(p)) => p.value(i),
            NodeView::Dirty(n) => n.value(i),
            NodeView::Page(PageNode::Branch(_)) => panic!("value() on a branch page"),
        }
    }

    #[inline]
    pub fn child(&self, i: usize) -> NodeRef {
        match *self {
            NodeView::Page(PageNode::Branch(p)) => NodeRef::Page(p.child(i)),
            NodeView::Dirty(n) => n.child(i),
            NodeView::Page(PageNode::Leaf(_)) => panic!("child() on a leaf page"),
        }
    }

    /// Position of `key` (Ok) or where it would be inserted (Err).
    pub fn search(&self, key: &[u8]) -> std::result::Result<usize, usize> {
        // One match on the kind, then a search over that kind's keys (a
        // match per probed key cost more than the comparison).
        match self {
            NodeView::Dirty(n) => n.search(key),
            NodeView::Page(PageNode::Leaf(p)) => search_by(p.len(), |i| p.key(i), key),
            NodeView::Page(PageNode::Branch(p)) => search_by(p.len(), |i| p.key(i), key),
        }
    }

    /// In a branch, the child whose range holds `key`.
    pub fn child_index(&self, key: &[u8]) -> usize {
        match self.search(key) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }
}

/// Binary search of `key` among the `n` sorted keys `key_at(0..n)`.
#[inline]
fn search_by<'k>(n: usize, key_at: impl Fn(usize) -> &'k [u8], key: &[u8]) -> std::result::Result<usize, usize> {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match order::compare(key_at(mid), key) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Ok(mid),
        }
    }
    Err(lo)
}

/// Anything that can show a node: a read snapshot (pages only) or a write
/// transaction (dirty nodes first, pages below them).
pub trait NodeSource {
    fn view(&self, r: NodeRef) -> Result<NodeView<'_>>;
    fn overflow(&self, r: &OverflowRef) -> Result<&[u8]>;

    /// Hints that `r` will be read soon (see `storage::prefetch`).
    #[inline]
    fn prefetch(&self, _r: NodeRef) {}

    /// `view` of a leaf this source already showed through `view` (a
    /// cursor's current leaf); a snapshot skips the checks `view` made then.
    #[inline]
    fn view_seen_leaf(&self, r: NodeRef) -> Result<NodeView<'_>> {
        self.view(r)
    }

    /// A leaf value's bytes, following an overflow reference.
    fn resolve<'s>(&'s self, v: Value<'s>) -> Result<&'s [u8]> {
        match v {
            Value::Inline(b) => Ok(b),
            Value::Overflow(r) => self.overflow(&r),
        }
    }
}

impl NodeSource for PageReader<'_> {
    fn view(&self, r: NodeRef) -> Result<NodeView<'_>> {
        match r {
            NodeRef::Page(p) => Ok(NodeView::Page(self.node(p)?)),
            NodeRef::Dirty(_) => Err(Error::Internal("dirty node reference in a read snapshot".into())),
        }
    }

    fn overflow(&self, r: &OverflowRef) -> Result<&[u8]> {
        PageReader::overflow(self, r)
    }

    /// Hints the CPU to load page `r` (nothing for a dirty node or a page
    /// out of bounds).
    #[inline]
    fn prefetch(&self, r: NodeRef) {
        if let NodeRef::Page(p) = r {
            if let Ok(b) = self.bytes(p, 1) {
                crate::storage::prefetch(b);
            }
        }
    }
}

/// Looks `key` up in the tree rooted at `root`.
pub fn get<'s, S: NodeSource + ?Sized>(src: &'s S, root: Option<NodeRef>, key: &[u8]) -> Result<Option<Value<'s>>> {
    let Some(mut at) = root else { return Ok(None) };
    for _ in 0..MAX_DEPTH {
        let v = src.view(at)?;
        if v.is_leaf() {
            // The whole leaf at once, its header just read: a search's
            // probes are scattered over the page. Branches are left alone:
            // the upper levels stay cached, and hinting every level cost a
            // lookup of cached pages 19% more instructions (callgrind)
            // for no gain on uncached ones.
            src.prefetch(at);
            return Ok(v.search(key).ok().map(|i| v.value(i)));
        }
        at = v.child(v.child_index(key));
    }
    Err(depth_error(at))
}

pub fn depth_error(at: NodeRef) -> Error {
    let page = match at {
        NodeRef::Page(p) => Some(p),
        NodeRef::Dirty(_) => None,
    };
    Error::Corrupted { page, cause: Corruption::DepthExceeded { max: MAX_DEPTH } }
}

/// Levels from `root` down to its leftmost leaf (0 for an empty tree).
pub fn depth<S: NodeSource + ?Sized>(src: &S, root: Option<NodeRef>) -> Result<u32> {
    let Some(mut at) = root else { return Ok(0) };
    for level in 1..=MAX_DEPTH as u32 {
        let v = src.view(at)?;
        if v.is_leaf() {
            return Ok(level);
        }
        at = v.child(0);
    }
    Err(depth_error(at))
}
