//! Changing a tree inside a write transaction. Every change copies the path
//! from the root to the leaf it touches into dirty nodes (freeing the pages
//! they came from), edits the leaf, then walks back up the same path: a node
//! that no longer fits a page is split, a node under a quarter full is merged
//! with a neighbour (or shares entries with it when both do not fit one page),
//! and a root branch left with one child is replaced by that child. So the
//! tree is a valid B+ tree after every call, which keeps cursors and `check()`
//! simple.

use crate::error::{Corruption, Error, Result};
use crate::storage::HEADER_LEN;
use crate::tree::node::{Node, NodeId, NodeRef};
use crate::tree::page::{OverflowRef, Value};
use crate::tree::view::{self, NodeSource, NodeView, PageNode, MAX_DEPTH};
use crate::types::PageId;

/// The dirty nodes of one write transaction, all trees together.
#[derive(Debug, Default)]
pub struct Arena {
    nodes: Vec<Option<Node>>,
    free: Vec<NodeId>,
}

impl Arena {
    pub fn alloc(&mut self, n: Node) -> NodeId {
        match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = Some(n);
                id
            }
            None => {
                self.nodes.push(Some(n));
                (self.nodes.len() - 1) as NodeId
            }
        }
    }

    pub fn get(&self, id: NodeId) -> &Node {
        self.nodes[id as usize].as_ref().expect("live node")
    }

    pub fn get_mut(&mut self, id: NodeId) -> &mut Node {
        self.nodes[id as usize].as_mut().expect("live node")
    }

    /// Dirty nodes not yet taken.
    pub fn live(&self) -> usize {
        self.nodes.len() - self.free.len()
    }

    pub fn take(&mut self, id: NodeId) -> Node {
        let n = self.nodes[id as usize].take().expect("live node");
        self.free.push(id);
        n
    }
}

/// A path from the root down, kept on the stack: a put's path in a `Vec`
/// cost an allocation, a regrowth and a free on every call (9% of a bulk
/// load's instructions in `grow_one`, by callgrind).
#[derive(Clone, Copy, Debug)]
struct Steps<T> {
    items: [T; MAX_DEPTH],
    len: usize,
}

impl<T: Copy + Default> Steps<T> {
    fn new() -> Steps<T> {
        Steps { items: [T::default(); MAX_DEPTH], len: 0 }
    }

    /// Appends; the caller keeps `len` under MAX_DEPTH (a deeper tree is
    /// damage, reported before pushing).
    fn push(&mut self, t: T) {
        self.items[self.len] = t;
        self.len += 1;
    }
}

impl<T> std::ops::Deref for Steps<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items[..self.len]
    }
}

/// Committed pages as the writer sees them: read, and free once replaced.
pub trait PageStore {
    fn page(&self, id: PageId) -> Result<PageNode<'_>>;
    fn overflow(&self, r: &OverflowRef) -> Result<&[u8]>;
    /// Frees `pages` pages at `id` (a replaced tree page or an overflow run).
    fn free(&mut self, id: PageId, pages: u64) -> Result<()>;
    /// Frees tree page `id`, which the caller just copied (so read and
    /// checked it): the store may tell from its header when it was written.
    fn free_copied(&mut self, id: PageId) -> Result<()> {
        self.free(id, 1)
    }
    /// The node of page `id` if one is kept decoded (see `tree::cache`),
    /// taken: the caller copies the page, so it is freed.
    fn take_node(&mut self, _id: PageId) -> Option<Node> {
        None
    }
    /// Hints that page `id` will be read soon (see `storage::prefetch`).
    fn prefetch(&self, _id: PageId) {}
}

/// Dirty nodes over committed pages: what a write transaction reads.
#[derive(Debug)]
pub struct Overlay<'a, S> {
    pub arena: &'a Arena,
    pub store: &'a S,
}

impl<S: PageStore> NodeSource for Overlay<'_, S> {
    fn view(&self, r: NodeRef) -> Result<NodeView<'_>> {
        match r {
            NodeRef::Dirty(id) => Ok(NodeView::Dirty(self.arena.get(id))),
            NodeRef::Page(p) => Ok(NodeView::Page(self.store.page(p)?)),
        }
    }

    fn overflow(&self, r: &OverflowRef) -> Result<&[u8]> {
        self.store.overflow(r)
    }

    fn prefetch(&self, r: NodeRef) {
        if let NodeRef::Page(p) = r {
            self.store.prefetch(p);
        }
    }
}

/// A tree as a write transaction holds it: its root and entry count.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Root {
    pub node: Option<NodeRef>,
    pub count: u64,
}

impl Root {
    pub fn from_page(root: PageId, count: u64) -> Root {
        Root { node: (!root.is_none()).then_some(NodeRef::Page(root)), count }
    }
}

/// A tree's entry count (from its bucket record on disk) that cannot be right.
fn count_error(root: &Root) -> Error {
    Error::Corrupted { page: None, cause: Corruption::Count { of: "entries", recorded: root.count, found: None } }
}

/// What a put did.
#[derive(Debug, PartialEq, Eq)]
pub enum Put {
    Inserted,
    /// Replaced an existing value; carries the overflow run it used, if any.
    Replaced(Option<OverflowRef>),
}

/// What a put or delete did to its leaf (see `TreeMut::fix`).
#[derive(Copy, Clone, Debug)]
enum Change {
    /// A new key, at the leaf's end or not.
    Inserted {
        at_end: bool,
    },
    /// A value replaced: the leaf may have grown or shrunk.
    Replaced,
    Removed,
}

/// Tree surgery for one call: the arena, the page store, and the page body
/// capacity (page size minus header).
#[derive(Debug)]
pub struct TreeMut<'a, S> {
    pub arena: &'a mut Arena,
    pub store: &'a mut S,
    pub cap: usize,
}

impl<S: PageStore> TreeMut<'_, S> {
    pub fn new<'a>(arena: &'a mut Arena, store: &'a mut S, page_size: usize) -> TreeMut<'a, S> {
        TreeMut { arena, store, cap: page_size - HEADER_LEN }
    }

    /// The node behind `r`, copied into the arena if it is a committed page
    /// (which is freed: this transaction's snapshot no longer uses it).
    fn dirty(&mut self, r: NodeRef) -> Result<NodeId> {
        let p = match r {
            NodeRef::Dirty(id) => return Ok(id),
            NodeRef::Page(p) => p,
        };
        let node = match self.store.take_node(p) {
            Some(node) => node,
            // The copy reads the whole page: hint it all first (a branch
            // kept decoded needs no more than its header).
            None => {
                self.store.prefetch(p);
                match self.store.page(p)? {
                    PageNode::Leaf(l) => Node::from_leaf(&l),
                    PageNode::Branch(b) => Node::from_branch(&b),
                }
            }
        };
        self.store.free_copied(p)?;
        Ok(self.arena.alloc(node))
    }

    /// Child `i` of dirty node `parent`, made dirty.
    fn dirty_child(&mut self, parent: NodeId, i: usize) -> Result<NodeId> {
        let id = self.dirty(self.arena.get(parent).child(i))?;
        self.arena.get_mut(parent).set_child(i, NodeRef::Dirty(id));
        Ok(id)
    }

    /// Makes the path to `key`'s leaf dirty; returns (node, index in parent)
    /// from the root down.
    fn descend(&mut self, root: &mut Root, key: &[u8]) -> Result<Steps<(NodeId, usize)>> {
        let top = root.node.expect("descend into an empty tree");
        let mut id = self.dirty(top)?;
        root.node = Some(NodeRef::Dirty(id));
        let mut path = Steps::new();
        path.push((id, 0));
        while !self.arena.get(id).is_leaf() {
            if path.len() >= MAX_DEPTH {
                return Err(view::depth_error(top));
            }
            let i = self.arena.get(id).child_index(key);
            id = self.dirty_child(id, i)?;
            path.push((id, i));
        }
        Ok(path)
    }

    /// Where `key` is, without copying anything: the child index taken at
    /// each branch from the root down, and the key's index in its leaf. None
    /// when it is absent.
    fn locate(&self, root: &Root, key: &[u8]) -> Result<Option<(Steps<usize>, usize)>> {
        let src = Overlay { arena: self.arena, store: &*self.store };
        let Some(top) = root.node else { return Ok(None) };
        let mut at = top;
        let mut route = Steps::new();
        loop {
            if route.len() >= MAX_DEPTH {
                return Err(view::depth_error(top));
            }
            let v = src.view(at)?;
            if v.is_leaf() {
                src.prefetch(at);
                return Ok(v.search(key).ok().map(|i| (route, i)));
            }
            let i = v.child_index(key);
            route.push(i);
            at = v.child(i);
        }
    }

    /// Makes the path that `route` (from `locate`) names dirty; returns it as
    /// `descend` does.
    fn descend_route(&mut self, root: &mut Root, route: &[usize]) -> Result<Steps<(NodeId, usize)>> {
        let top = root.node.expect("a route is found in a non-empty tree");
        let mut id = self.dirty(top)?;
        root.node = Some(NodeRef::Dirty(id));
        let mut path = Steps::new();
        path.push((id, 0));
        for &i in route {
            id = self.dirty_child(id, i)?;
            path.push((id, i));
        }
        Ok(path)
    }

    /// Inserts or replaces `key`.
    pub fn put(&mut self, root: &mut Root, key: &[u8], value: Value<'_>) -> Result<Put> {
        if root.node.is_none() {
            let mut leaf = Node::new(true);
            leaf.insert_value(0, key, value);
            root.node = Some(NodeRef::Dirty(self.arena.alloc(leaf)));
            root.count = 1;
            return Ok(Put::Inserted);
        }
        let path = self.descend(root, key)?;
        let leaf = self.arena.get_mut(path[path.len() - 1].0);
        let (outcome, change) = match leaf.search(key) {
            Ok(i) => (Put::Replaced(leaf.set_value(i, value)), Change::Replaced),
            Err(i) => {
                leaf.insert_value(i, key, value);
                root.count = root.count.checked_add(1).ok_or_else(|| count_error(root))?;
                let at_end = i + 1 == leaf.len() && self.rightmost(&path);
                (Put::Inserted, Change::Inserted { at_end })
            }
        };
        self.fix(root, &path, change)?;
        Ok(outcome)
    }

    /// Removes `key`; None when absent (nothing is copied then), else the
    /// overflow run its value used.
    pub fn delete(&mut self, root: &mut Root, key: &[u8]) -> Result<Option<Option<OverflowRef>>> {
        // One search per level: find the key's path without copying, then
        // copy that path by the indices found (a profile of a bulk delete had
        // a fifth of its time in a first `contains` walk made only to learn
        // whether to copy, before `descend` searched every level again).
        let Some((route, i)) = self.locate(root, key)? else { return Ok(None) };
        let path = self.descend_route(root, &route)?;
        let leaf = self.arena.get_mut(path[path.len() - 1].0);
        let old = leaf.remove(i);
        root.count = root.count.checked_sub(1).ok_or_else(|| count_error(root))?;
        self.fix(root, &path, Change::Removed)?;
        Ok(Some(old))
    }

    /// Whether every node of `path` is its parent's last child: the path
    /// to the tree's last leaf. Only there does an insert at a leaf's end
    /// split it at the end: a random key that lands at the end of some
    /// other leaf is no sign of an ascending load, and splitting there
    /// left the file of a random-order load a percent larger.
    fn rightmost(&self, path: &[(NodeId, usize)]) -> bool {
        path.windows(2).all(|w| w[1].1 + 1 == self.arena.get(w[0].0).len())
    }

    fn underflows(&self, n: &Node) -> bool {
        n.size() < self.cap / 4 || (!n.is_leaf() && n.len() < 2)
    }

    /// Restores the page-size bounds along `path` after its leaf changed.
    /// A node is split when it outgrows its page; one the change may have
    /// shrunk is merged with a neighbour when it underflows. An insert
    /// shrinks nothing: the small right part that a split at the end
    /// leaves (see `Node::split_points`) waits for the next ascending keys.
    /// Merging it back into its full left neighbour at the next insert, and
    /// splitting that in halves, left an ascending load (an `APPEND` load,
    /// a compaction) with pages half full.
    fn fix(&mut self, root: &mut Root, path: &[(NodeId, usize)], change: Change) -> Result<()> {
        // A key appended at the tree's right edge: every node on the path
        // is its parent's last, so their split parts land at the end of
        // theirs, and ascending keys fill branches as well as leaves.
        let (at_end, may_shrink) = match change {
            Change::Inserted { at_end } => (at_end, false),
            Change::Replaced | Change::Removed => (false, true),
        };
        for level in (0..path.len()).rev() {
            let (id, idx) = path[level];
            let node = self.arena.get(id);
            if node.size() > self.cap {
                let parts = self.split(id, at_end);
                if level == 0 {
                    self.grow_root(root, id, parts);
                    break;
                }
                self.adopt(path[level - 1].0, idx, parts);
            } else if may_shrink && level > 0 && self.underflows(node) {
                self.rebalance(path[level - 1].0, idx)?;
            } else {
                break;
            }
        }
        self.shrink_root(root);
        Ok(())
    }

    /// Splits node `id`; returns the new right parts with their separators.
    fn split(&mut self, id: NodeId, at_end: bool) -> Vec<(Vec<u8>, NodeId)> {
        let cuts = self.arena.get(id).split_points(self.cap, at_end);
        let mut parts = Vec::with_capacity(cuts.len());
        for &cut in cuts.iter().rev() {
            let mut right = self.arena.get_mut(id).split_off(cut);
            let sep = right.key(0).to_vec();
            if !right.is_leaf() {
                right.set_key(0, b"");
            }
            parts.push((sep, self.arena.alloc(right)));
        }
        parts.reverse();
        parts
    }

    /// Inserts split parts into `parent` after child `idx`.
    fn adopt(&mut self, parent: NodeId, idx: usize, parts: Vec<(Vec<u8>, NodeId)>) {
        let p = self.arena.get_mut(parent);
        for (j, (sep, nid)) in parts.into_iter().enumerate() {
            p.insert_child(idx + 1 + j, &sep, NodeRef::Dirty(nid));
        }
    }

    /// The root split: a new root branch above it.
    fn grow_root(&mut self, root: &mut Root, old: NodeId, parts: Vec<(Vec<u8>, NodeId)>) {
        let mut top = Node::new(false);
        top.insert_child(0, b"", NodeRef::Dirty(old));
        let top_id = self.arena.alloc(top);
        self.adopt(top_id, 0, parts);
        root.node = Some(NodeRef::Dirty(top_id));
        if self.arena.get(top_id).size() > self.cap {
            let parts = self.split(top_id, false);
            self.grow_root(root, top_id, parts);
        }
    }

    /// A root branch with one child gives way to it; an empty root leaf
    /// leaves an empty tree.
    fn shrink_root(&mut self, root: &mut Root) {
        while let Some(NodeRef::Dirty(id)) = root.node {
            let n = self.arena.get(id);
            if !n.is_leaf() && n.len() == 1 {
                root.node = Some(n.child(0));
                self.arena.take(id);
            } else if n.is_leaf() && n.is_empty() {
                root.node = None;
                self.arena.take(id);
            } else {
                break;
            }
        }
    }

    /// Child `idx` of `parent` is under-full: merge it with a neighbour, and
    /// split the result again if it does not fit one page.
    fn rebalance(&mut self, parent: NodeId, idx: usize) -> Result<()> {
        if self.arena.get(parent).len() < 2 {
            return Ok(()); // the root's only child: shrink_root handles it
        }
        let li = if idx > 0 { idx - 1 } else { idx };
        let left = self.dirty_child(parent, li)?;
        let right_id = self.dirty_child(parent, li + 1)?;
        let sep = self.arena.get(parent).key(li + 1).to_vec();
        let mut right = self.arena.take(right_id);
        if !right.is_leaf() {
            right.set_key(0, &sep);
        }
        self.arena.get_mut(left).append(&right);
        self.arena.get_mut(parent).remove(li + 1);
        if self.arena.get(left).size() > self.cap {
            let parts = self.split(left, false);
            self.adopt(parent, li, parts);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::page::{self, BranchPage, LeafPage};
    use crate::types::TxId;
    use std::collections::HashMap;

    const PS: usize = 4096;
    const CAP: usize = PS - HEADER_LEN;

    /// Committed pages in memory; freed ids are recorded.
    #[derive(Default)]
    struct MemStore {
        pages: HashMap<PageId, Vec<u8>>,
        freed: Vec<PageId>,
    }

    impl PageStore for MemStore {
        fn page(&self, id: PageId) -> Result<PageNode<'_>> {
            let b = &self.pages[&id];
            match page::validate(b, id).map_err(|c| Error::corrupted(id, c))? {
                crate::storage::PageType::Leaf => Ok(PageNode::Leaf(LeafPage::new(b))),
                _ => Ok(PageNode::Branch(BranchPage::new(b))),
            }
        }
        fn overflow(&self, _: &OverflowRef) -> Result<&[u8]> {
            unreachable!("no overflow values in these tests")
        }
        fn free(&mut self, id: PageId, _: u64) -> Result<()> {
            self.freed.push(id);
            Ok(())
        }
    }

    /// 4-byte keys with values so that each leaf entry takes `entry` bytes.
    fn put_n(t: &mut TreeMut<'_, MemStore>, root: &mut Root, n: u32, entry: usize) {
        let v = vec![7u8; entry - page::leaf_entry_size(4, 0)];
        for i in 0..n {
            t.put(root, format!("k{i:03}").as_bytes(), Value::Inline(&v)).unwrap();
        }
    }

    fn shape(arena: &Arena, root: &Root) -> (bool, usize) {
        match root.node {
            Some(NodeRef::Dirty(id)) => (arena.get(id).is_leaf(), arena.get(id).len()),
            other => panic!("unexpected root {other:?}"),
        }
    }

    #[test]
    fn a_leaf_filled_to_the_byte_does_not_split_one_more_byte_does() {
        let (mut arena, mut store) = (Arena::default(), MemStore::default());
        let mut t = TreeMut::new(&mut arena, &mut store, PS);
        let mut root = Root::default();
        put_n(&mut t, &mut root, 32, CAP / 32); // exactly CAP bytes
        assert_eq!(
            t.arena
                .get(match root.node {
                    Some(NodeRef::Dirty(id)) => id,
                    _ => unreachable!(),
                })
                .size(),
            CAP
        );
        assert_eq!(shape(t.arena, &root), (true, 32), "full leaf stays one leaf");
        let grown = vec![7u8; CAP / 32 - page::leaf_entry_size(4, 0) + 1];
        t.put(&mut root, b"k000", Value::Inline(&grown)).unwrap();
        assert_eq!(shape(t.arena, &root), (false, 2), "one byte over: root branch with two leaves");
        assert_eq!(root.count, 32);
    }

    #[test]
    fn a_leaf_a_quarter_full_stays_one_byte_less_merges() {
        let (mut arena, mut store) = (Arena::default(), MemStore::default());
        let mut t = TreeMut::new(&mut arena, &mut store, PS);
        let mut root = Root::default();
        let entry = 127; // 32 entries fill a page exactly
        put_n(&mut t, &mut root, 48, entry); // ascending: a full leaf of 32, then 16
        assert_eq!(shape(t.arena, &root), (false, 2));
        let Some(NodeRef::Dirty(top)) = root.node else { unreachable!() };
        let left = match t.arena.get(top).child(0) {
            NodeRef::Dirty(id) => id,
            _ => unreachable!(),
        };
        // delete from the left leaf down to exactly a quarter of the page
        let quarter = CAP / 4; // 1016 = 8 entries of 127
        let mut i = 0;
        while t.arena.get(left).size() > quarter {
            assert!(t.delete(&mut root, format!("k{i:03}").as_bytes()).unwrap().is_some());
            i += 1;
        }
        assert_eq!(t.arena.get(left).size(), quarter);
        assert_eq!(shape(t.arena, &root), (false, 2), "exactly a quarter full: no merge");
        t.delete(&mut root, format!("k{i:03}").as_bytes()).unwrap();
        let (leaf, _) = shape(t.arena, &root);
        assert!(leaf, "below a quarter: the leaves merge and the root collapses to one leaf");
        assert_eq!(root.count, 48 - (i as u64 + 1));
    }

    /// Every node of the tree under `r`, level by level from the root,
    /// each level in key order.
    fn levels(arena: &Arena, r: NodeRef) -> Vec<Vec<NodeId>> {
        let NodeRef::Dirty(top) = r else { panic!("a committed root") };
        let mut levels = vec![vec![top]];
        while !arena.get(levels.last().unwrap()[0]).is_leaf() {
            let below = levels
                .last()
                .unwrap()
                .iter()
                .flat_map(|&id| {
                    let n = arena.get(id);
                    (0..n.len()).map(move |c| match n.child(c) {
                        NodeRef::Dirty(id) => id,
                        NodeRef::Page(p) => panic!("a committed child {p:?}"),
                    })
                })
                .collect();
            levels.push(below);
        }
        levels
    }

    /// Ascending keys (an `APPEND` load, a compaction) leave every node
    /// but the last of its level full. The small node a split at the end
    /// leaves used to be merged back into its full neighbour by the next
    /// insert, and the two split in halves: pages half full.
    #[test]
    fn ascending_inserts_fill_every_node_but_the_last_of_its_level() {
        let (mut arena, mut store) = (Arena::default(), MemStore::default());
        let mut t = TreeMut::new(&mut arena, &mut store, PS);
        let mut root = Root::default();
        let value = [7u8; 150];
        for i in 0..20_000u32 {
            t.put(&mut root, format!("{i:024}").as_bytes(), Value::Inline(&value)).unwrap();
        }
        let levels = levels(t.arena, root.node.unwrap());
        assert_eq!(levels.len(), 3, "20,000 entries of 182 bytes: leaves and two branch levels");
        for (depth, level) in levels.iter().enumerate() {
            for (at, &id) in level.iter().enumerate().take(level.len() - 1) {
                let n = t.arena.get(id);
                let entry = n.size() / n.len();
                // A branch split keeps two entries on its right (see
                // `Node::split_points`): one more entry's room on its left.
                let room = if n.is_leaf() { entry } else { 2 * entry };
                assert!(
                    n.size() + room > CAP,
                    "level {depth}, node {at} of {}: {} bytes of {CAP}, room for another entry of {entry}",
                    level.len(),
                    n.size()
                );
            }
        }
    }

    #[test]
    fn merging_neighbours_that_do_not_fit_one_page_redistributes() {
        let (mut arena, mut store) = (Arena::default(), MemStore::default());
        let mut t = TreeMut::new(&mut arena, &mut store, PS);
        let mut root = Root::default();
        // three leaves; empty the middle one's neighbour pair unevenly
        put_n(&mut t, &mut root, 80, 127);
        let keys_before = root.count;
        for i in 20..28 {
            t.delete(&mut root, format!("k{i:03}").as_bytes()).unwrap();
        }
        assert_eq!(root.count, keys_before - 8);
        let Some(NodeRef::Dirty(top)) = root.node else { unreachable!() };
        let n = t.arena.get(top);
        for c in 0..n.len() {
            let NodeRef::Dirty(id) = n.child(c) else { continue };
            let size = t.arena.get(id).size();
            assert!(size <= CAP, "child {c} of {size} bytes does not fit a page");
        }
    }

    #[test]
    fn copy_on_write_frees_the_pages_it_replaces() {
        // commit-like: write a two-level tree to pages, then change one key
        let (mut arena, mut store) = (Arena::default(), MemStore::default());
        let mut root = Root::default();
        {
            let mut t = TreeMut::new(&mut arena, &mut store, PS);
            put_n(&mut t, &mut root, 48, 127);
        }
        // write every dirty node as a page (children first), like commit's spill
        let mut next = 10u64;
        fn spill(arena: &mut Arena, store: &mut MemStore, r: NodeRef, next: &mut u64) -> PageId {
            let NodeRef::Dirty(id) = r else {
                return match r {
                    NodeRef::Page(p) => p,
                    _ => unreachable!(),
                };
            };
            let n = arena.get(id).len();
            if !arena.get(id).is_leaf() {
                for i in 0..n {
                    let c = arena.get(id).child(i);
                    let p = spill(arena, store, c, next);
                    arena.get_mut(id).set_child(i, NodeRef::Page(p));
                }
            }
            let p = PageId(*next);
            *next += 1;
            let mut buf = vec![0u8; PS];
            arena.take(id).encode(&mut buf, p, TxId(1)).unwrap();
            store.pages.insert(p, buf);
            p
        }
        let top = spill(&mut arena, &mut store, root.node.unwrap(), &mut next);
        root.node = Some(NodeRef::Page(top));
        let mut t = TreeMut::new(&mut arena, &mut store, PS);
        t.put(&mut root, b"k000", Value::Inline(b"new")).unwrap();
        assert_eq!(t.store.freed.len(), 2, "the root and one leaf were copied: {:?}", t.store.freed);
        assert!(t.store.freed.contains(&top));
        assert!(t.delete(&mut root, b"nope").unwrap().is_none());
        assert_eq!(t.store.freed.len(), 2, "deleting an absent key copies nothing");
    }
}
