//! A node is the in-memory, writable form of a page: a write transaction
//! copies every page it changes into a node, edits nodes, and writes them to
//! new pages at commit. Keys and inline values live in one heap per node; the
//! slot vector keeps them in key order.

use crate::error::{Error, Result};
use crate::storage::{PageType, HEADER_LEN};
use crate::tree::order;
use crate::tree::page::{self, BranchPage, LeafPage, OverflowRef, PageWriter, Value};
use crate::types::{PageId, TxId};

/// Index of a node in the transaction's arena.
pub type NodeId = u32;

/// Where a child lives: a committed page, or a node of this transaction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeRef {
    Page(PageId),
    Dirty(NodeId),
}

#[derive(Copy, Clone, Debug)]
enum Val {
    Inline { off: u32, len: u32 },
    Overflow(OverflowRef),
    Child(NodeRef),
}

#[derive(Copy, Clone, Debug)]
struct Slot {
    koff: u32,
    klen: u32,
    val: Val,
}

impl Slot {
    /// Bytes of the node's heap the entry uses (key and inline value).
    fn heap_bytes(&self) -> usize {
        self.klen as usize + if let Val::Inline { len, .. } = self.val { len as usize } else { 0 }
    }

    /// Bytes the entry takes in a page, slot included.
    fn entry_size(&self) -> usize {
        match self.val {
            Val::Child(_) => page::branch_entry_size(self.klen as usize),
            Val::Inline { len, .. } => page::leaf_entry_size(self.klen as usize, len as usize),
            Val::Overflow(_) => page::leaf_entry_size(self.klen as usize, page::OVERFLOW_REF_LEN),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    leaf: bool,
    slots: Vec<Slot>,
    /// `order::head` of each slot's key, beside the slots: a search compares
    /// these 8-byte words first and reads a key from the heap only when they
    /// tie. A bulk load of random keys spent most of its time waiting on
    /// the heap's cache lines in the comparisons of `search`.
    heads: Vec<u64>,
    heap: Vec<u8>,
    garbage: usize,
    /// Encoded size of the entries, slots included (header excluded).
    size: usize,
}

impl Node {
    pub fn new(leaf: bool) -> Node {
        Node { leaf, slots: Vec::new(), heads: Vec::new(), heap: Vec::new(), garbage: 0, size: 0 }
    }

    pub fn from_leaf(p: &LeafPage<'_>) -> Node {
        let mut n = Node::new(true);
        n.slots.reserve_exact(p.len());
        n.heads.reserve_exact(p.len());
        // The page's entry bytes: its keys and values plus a little room.
        n.heap.reserve_exact(p.used() - HEADER_LEN);
        for i in 0..p.len() {
            let (k, v) = p.entry(i);
            n.push_value(k, v);
        }
        n
    }

    pub fn from_branch(p: &BranchPage<'_>) -> Node {
        let mut n = Node::new(false);
        n.slots.reserve_exact(p.len());
        n.heads.reserve_exact(p.len());
        n.heap.reserve_exact(p.used() - HEADER_LEN);
        for i in 0..p.len() {
            n.push_child(p.key(i), NodeRef::Page(p.child(i)));
        }
        n
    }

    pub fn is_leaf(&self) -> bool {
        self.leaf
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bytes of page body the entries need (slots included, header excluded).
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn key(&self, i: usize) -> &[u8] {
        let s = &self.slots[i];
        &self.heap[s.koff as usize..(s.koff + s.klen) as usize]
    }

    pub fn value(&self, i: usize) -> Value<'_> {
        match self.slots[i].val {
            Val::Inline { off, len } => Value::Inline(&self.heap[off as usize..(off + len) as usize]),
            Val::Overflow(r) => Value::Overflow(r),
            Val::Child(_) => panic!("value() on a branch node"),
        }
    }

    pub fn child(&self, i: usize) -> NodeRef {
        match self.slots[i].val {
            Val::Child(r) => r,
            _ => panic!("child() on a leaf node"),
        }
    }

    pub fn set_child(&mut self, i: usize, r: NodeRef) {
        self.slots[i].val = Val::Child(r);
    }

    /// Position of `key` (Ok) or where it would go (Err).
    pub fn search(&self, key: &[u8]) -> std::result::Result<usize, usize> {
        let head = order::head(key);
        let (mut lo, mut hi) = (0, self.heads.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let ord = match self.heads[mid].cmp(&head) {
                std::cmp::Ordering::Equal => self.key(mid).cmp(key),
                unequal => unequal,
            };
            match ord {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// The child whose range holds `key`: the last entry whose key is <= key.
    pub fn child_index(&self, key: &[u8]) -> usize {
        match self.search(key) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    fn entry_size(&self, i: usize) -> usize {
        self.slots[i].entry_size()
    }

    /// Appends to the heap. The vectors of a node grow by a quarter, reserved
    /// exactly, not by doubling: a 1M-key bulk load spent a fifth of its time
    /// in doubling reallocs of the heaps, and the doubling slack of heaps and
    /// slots made its dirty nodes a third larger than the pages they become.
    fn push(&mut self, bytes: &[u8]) -> u32 {
        if self.heap.capacity() - self.heap.len() < bytes.len() {
            self.heap.reserve_exact((self.heap.len() / 4 + 256).max(bytes.len()));
        }
        let off = self.heap.len() as u32;
        self.heap.extend_from_slice(bytes);
        off
    }

    fn value_slot(&mut self, value: Value<'_>) -> Val {
        match value {
            Value::Inline(b) => Val::Inline { off: self.push(b), len: b.len() as u32 },
            Value::Overflow(r) => Val::Overflow(r),
        }
    }

    fn dead(&mut self, i: usize) {
        self.garbage += self.slots[i].heap_bytes();
    }

    /// Reclaims heap space once more than half of it is dead.
    fn maybe_compact(&mut self) {
        if self.garbage < 4096 || self.garbage * 2 < self.heap.len() {
            return;
        }
        self.compact();
    }

    /// Rewrites the heap with only the live keys and values.
    fn compact(&mut self) {
        let mut heap = Vec::with_capacity(self.heap.len() - self.garbage);
        for s in &mut self.slots {
            let k = s.koff as usize..(s.koff + s.klen) as usize;
            s.koff = heap.len() as u32;
            heap.extend_from_slice(&self.heap[k]);
            if let Val::Inline { off, len } = &mut s.val {
                let v = *off as usize..(*off + *len) as usize;
                *off = heap.len() as u32;
                heap.extend_from_slice(&self.heap[v]);
            }
        }
        self.heap = heap;
        self.garbage = 0;
    }

    /// A leaf entry's slot and head, its bytes pushed onto the heap.
    fn value_entry(&mut self, key: &[u8], value: Value<'_>) -> (Slot, u64) {
        let koff = self.push(key);
        let val = self.value_slot(value);
        (Slot { koff, klen: key.len() as u32, val }, order::head(key))
    }

    /// A branch entry's slot and head, its key pushed onto the heap.
    fn child_entry(&mut self, key: &[u8], child: NodeRef) -> (Slot, u64) {
        let koff = self.push(key);
        (Slot { koff, klen: key.len() as u32, val: Val::Child(child) }, order::head(key))
    }

    pub fn insert_value(&mut self, i: usize, key: &[u8], value: Value<'_>) {
        debug_assert!(self.leaf);
        let (slot, head) = self.value_entry(key, value);
        self.insert_slot(i, slot, head);
    }

    /// Appends an entry whose key sorts after every other (copying a page,
    /// merging a right neighbour): no search, no shifting.
    fn push_value(&mut self, key: &[u8], value: Value<'_>) {
        let (slot, head) = self.value_entry(key, value);
        self.push_slot(slot, head);
    }

    /// `push_value` for a branch entry.
    fn push_child(&mut self, key: &[u8], child: NodeRef) {
        let (slot, head) = self.child_entry(key, child);
        self.push_slot(slot, head);
    }

    fn push_slot(&mut self, slot: Slot, head: u64) {
        self.size += slot.entry_size();
        self.slots.push(slot);
        self.heads.push(head);
    }

    pub fn insert_child(&mut self, i: usize, key: &[u8], child: NodeRef) {
        debug_assert!(!self.leaf);
        let (slot, head) = self.child_entry(key, child);
        self.insert_slot(i, slot, head);
    }

    /// Sizes the new slot before it goes in, rather than reading it back out
    /// of the vector: the read-back compiled to a reload and a match on the
    /// variant after `Vec::insert` whenever the optimizer did not forward the
    /// store, which a change in codegen-unit partitioning alone decided
    /// (callgrind: insert_child +13%, insert_value +7%, with node.rs unchanged).
    fn insert_slot(&mut self, i: usize, slot: Slot, head: u64) {
        if self.slots.len() == self.slots.capacity() {
            // By a quarter, as the heap (see `push`).
            let grow = self.slots.len() / 4 + 2;
            self.slots.reserve_exact(grow);
            self.heads.reserve_exact(grow);
        }
        self.size += slot.entry_size();
        self.slots.insert(i, slot);
        self.heads.insert(i, head);
    }

    /// Replaces entry i's value, returning the overflow run it referenced.
    pub fn set_value(&mut self, i: usize, value: Value<'_>) -> Option<OverflowRef> {
        let old = match self.slots[i].val {
            Val::Overflow(r) => Some(r),
            _ => None,
        };
        self.size -= self.entry_size(i);
        if let Val::Inline { len, .. } = self.slots[i].val {
            self.garbage += len as usize;
        }
        self.slots[i].val = self.value_slot(value);
        self.size += self.entry_size(i);
        self.maybe_compact();
        old
    }

    pub fn set_key(&mut self, i: usize, key: &[u8]) {
        self.size -= self.entry_size(i);
        self.garbage += self.slots[i].klen as usize;
        let koff = self.push(key);
        self.slots[i].koff = koff;
        self.slots[i].klen = key.len() as u32;
        self.heads[i] = order::head(key);
        self.size += self.entry_size(i);
        self.maybe_compact();
    }

    /// Removes entry i, returning the overflow run its value referenced.
    pub fn remove(&mut self, i: usize) -> Option<OverflowRef> {
        self.size -= self.entry_size(i);
        self.dead(i);
        let s = self.slots.remove(i);
        self.heads.remove(i);
        self.maybe_compact();
        match s.val {
            Val::Overflow(r) => Some(r),
            _ => None,
        }
    }

    /// Moves entries `at..` into a new node. Both come out with vectors
    /// sized to their entries (this one's heap compacted).
    pub fn split_off(&mut self, at: usize) -> Node {
        // In bulk: the moved entries' bytes copied once, their slots and
        // heads carried over with new offsets, this node truncated and
        // compacted (entry by entry, through insert and remove, this was
        // most of a split, itself a tenth of a bulk load's instructions).
        let moved = &self.slots[at..];
        let heap_bytes: usize = moved.iter().map(|s| s.heap_bytes()).sum();
        let mut right = Node {
            leaf: self.leaf,
            slots: Vec::with_capacity(moved.len()),
            heads: self.heads[at..].to_vec(),
            heap: Vec::with_capacity(heap_bytes),
            garbage: 0,
            size: 0,
        };
        for s in moved {
            let mut s = *s;
            s.koff = right.push(&self.heap[s.koff as usize..(s.koff + s.klen) as usize]);
            if let Val::Inline { off, len } = &mut s.val {
                let v = *off as usize..(*off + *len) as usize;
                *off = right.push(&self.heap[v]);
            }
            right.size += s.entry_size();
            right.slots.push(s);
        }
        self.size -= right.size;
        self.garbage += heap_bytes;
        self.slots.truncate(at);
        self.heads.truncate(at);
        if self.garbage > 0 {
            self.compact();
        }
        right
    }

    /// Appends every entry of `right`, whose keys all sort after ours.
    pub fn append(&mut self, right: &Node) {
        self.slots.reserve_exact(right.len());
        self.heads.reserve_exact(right.len());
        self.heap.reserve_exact(right.heap.len() - right.garbage);
        for i in 0..right.len() {
            let key = right.key(i);
            match right.slots[i].val {
                Val::Child(c) => self.push_child(key, c),
                _ => self.push_value(key, right.value(i)),
            }
        }
    }

    /// Where to cut this node so each part's entries fit `cap` bytes. Parts
    /// aim for equal size; after an insert at the end (`at_end`) the left
    /// parts are filled instead, so ascending inserts leave full pages.
    /// Branch parts keep at least two entries.
    pub fn split_points(&self, cap: usize, at_end: bool) -> Vec<usize> {
        let sizes: Vec<usize> = (0..self.len()).map(|i| self.entry_size(i)).collect();
        let total: usize = sizes.iter().sum();
        let target = if at_end { cap } else { total / total.div_ceil(cap).max(2) };
        let mut cuts = Vec::new();
        let mut acc = 0;
        for (i, &s) in sizes.iter().enumerate() {
            if acc > 0 && (acc + s > cap || acc >= target) {
                cuts.push(i);
                acc = 0;
            }
            acc += s;
        }
        if !self.leaf {
            // a last part with one entry: join it to the previous part, or move
            // the cut back one entry (the previous part then has >= 4 entries)
            if let Some(&last) = cuts.last() {
                if self.len() - last < 2 {
                    let prev = if cuts.len() >= 2 { cuts[cuts.len() - 2] } else { 0 };
                    if sizes[prev..].iter().sum::<usize>() <= cap {
                        cuts.pop();
                    } else {
                        *cuts.last_mut().expect("non-empty") -= 1;
                    }
                }
            }
        }
        cuts
    }

    /// Writes the node into `buf` (one page). Every child must already have
    /// been written (be a `NodeRef::Page`).
    pub fn encode(&self, buf: &mut [u8], id: PageId, txid: TxId) -> Result<()> {
        if HEADER_LEN + self.size > buf.len() {
            return Err(Error::Internal(format!("node of {} bytes encoded into a page of {}", self.size, buf.len())));
        }
        let mut w = PageWriter::new(buf, self.len());
        for i in 0..self.len() {
            match self.slots[i].val {
                Val::Child(NodeRef::Page(p)) => w.branch(self.key(i), p),
                Val::Child(NodeRef::Dirty(_)) => {
                    return Err(Error::Internal("encoding a branch with an unwritten child".into()))
                }
                _ => w.leaf(self.key(i), &self.value(i)),
            }
        }
        w.finish(if self.leaf { PageType::Leaf } else { PageType::Branch }, id, txid);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::page::validate;

    fn leaf_with(keys: &[&[u8]], vlen: usize) -> Node {
        let v = vec![1u8; vlen];
        let mut n = Node::new(true);
        for k in keys {
            let i = n.search(k).unwrap_err();
            n.insert_value(i, k, Value::Inline(&v));
        }
        n
    }

    #[test]
    fn size_tracks_the_encoding_through_edits() {
        let mut n = leaf_with(&[b"b", b"a", b"c"], 10);
        n.set_value(1, Value::Inline(&[9u8; 100]));
        n.set_key(0, b"aa");
        n.remove(2);
        let r = OverflowRef { page: PageId(4), len: 9999, crc: 1 };
        n.insert_value(2, b"z", Value::Overflow(r));
        let mut buf = vec![0u8; 4096];
        n.encode(&mut buf, PageId(3), TxId(1)).unwrap();
        assert_eq!(validate(&buf, PageId(3)), Ok(PageType::Leaf));
        let p = LeafPage::new(&buf);
        assert_eq!(p.used(), HEADER_LEN + n.size());
        let back = Node::from_leaf(&p);
        assert_eq!((back.size(), back.len()), (n.size(), 3));
        assert_eq!(back.value(1), Value::Inline(&[9u8; 100][..]));
        assert_eq!(back.value(2), Value::Overflow(r));
    }

    #[test]
    fn compaction_keeps_contents() {
        let mut n = leaf_with(&[b"k"], 0);
        for round in 0..200u32 {
            n.set_value(0, Value::Inline(&[round as u8; 100]));
        }
        assert!(n.heap.len() < 8192, "heap {} was not compacted", n.heap.len());
        assert_eq!(n.value(0), Value::Inline(&[199u8; 100][..]));
    }

    #[test]
    fn split_points_fit_cap_and_balance() {
        let cap = 4096 - HEADER_LEN;
        let keys: Vec<Vec<u8>> = (0..100u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let n = leaf_with(&refs, 60); // 100 entries of 73 bytes: 7300 bytes
        let cuts = n.split_points(cap, false);
        assert_eq!(cuts, vec![50]);
        let cuts = n.split_points(cap, true);
        assert_eq!(cuts.len(), 1);
        assert!(cuts[0] >= 55, "left filled: cut at {}", cuts[0]);
    }

    #[test]
    fn a_large_entry_between_small_ones_splits_three_ways() {
        let cap = 4096 - HEADER_LEN;
        let mut n = Node::new(true);
        n.insert_value(0, b"a", Value::Inline(&[0u8; 1200]));
        n.insert_value(1, b"b", Value::Inline(&[0u8; 3000]));
        n.insert_value(2, b"c", Value::Inline(&[0u8; 1200]));
        let cuts = n.split_points(cap, false);
        assert_eq!(cuts, vec![1, 2]);
    }

    #[test]
    fn branch_split_keeps_two_entries_per_part() {
        let cap = 4096 - HEADER_LEN;
        let mut n = Node::new(false);
        let big = vec![b'x'; page::max_key_len(4096)];
        for i in 0..5u8 {
            let mut k = big.clone();
            k[0] = b'a' + i;
            n.insert_child(i as usize, if i == 0 { b"" } else { &k }, NodeRef::Page(PageId(10 + i as u64)));
        }
        for at_end in [false, true] {
            let cuts = n.split_points(cap, at_end);
            let mut bounds = vec![0];
            bounds.extend(&cuts);
            bounds.push(n.len());
            for w in bounds.windows(2) {
                assert!(w[1] - w[0] >= 2, "part {w:?} of {cuts:?}");
                let bytes: usize = (w[0]..w[1]).map(|i| n.entry_size(i)).sum();
                assert!(bytes <= cap);
            }
        }
    }

    #[test]
    fn split_off_and_append_are_inverse() {
        let keys: Vec<Vec<u8>> = (0..10u8).map(|i| vec![b'a' + i]).collect();
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let mut n = leaf_with(&refs, 5);
        let size = n.size();
        let right = n.split_off(4);
        assert_eq!((n.len(), right.len()), (4, 6));
        assert_eq!(right.key(0), b"e");
        n.append(&right);
        assert_eq!((n.len(), n.size()), (10, size));
    }
}
