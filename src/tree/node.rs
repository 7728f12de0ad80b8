//! A node is the in-memory, writable form of a page: a write transaction
//! copies every page it changes into a node, edits nodes, and writes them to
//! new pages at commit. Keys, inline values and overflow references live in
//! one heap per node; the index (key heads and slots) keeps them in key
//! order. Both buffers come from `pool`.

use crate::error::{Error, Result};
use crate::storage::{PageType, HEADER_LEN};
use crate::tree::page::{self, BranchPage, LeafPage, OverflowRef, PageWriter, Value};
use crate::tree::{order, pool};
use crate::types::{le, PageId, TxId};

/// Index of a node in the transaction's arena.
pub type NodeId = u32;

/// Where a child lives: a committed page, or a node of this transaction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeRef {
    Page(PageId),
    Dirty(NodeId),
}

/// An entry's value, decoded from its slot.
#[derive(Copy, Clone, Debug)]
enum Val {
    Inline {
        off: u32,
        len: u32,
    },
    /// The reference is kept in the heap, at `at` (`REF_BYTES` bytes).
    Overflow {
        at: u32,
    },
    Child(NodeRef),
}

/// Heap bytes of an overflow reference: page, length, checksum.
const REF_BYTES: usize = 16;

/// A slot is two words of the node's index. The first holds the key's heap
/// offset (bits 0..32), its length (32..62) and the value's kind (62..64);
/// the second the value: an inline value's offset and length, an overflow
/// reference's heap offset, or a child's page or node id. Sixteen bytes, not
/// the 32 of a struct holding an enum of references: a 1M-key bulk load kept
/// 16 MB less in dirty nodes, and an insert shifts half the bytes.
#[derive(Copy, Clone, Debug)]
struct Slot {
    koff: u32,
    klen: u32,
    val: Val,
}

const KIND_SHIFT: u32 = 62;
const KLEN_MASK: u64 = (1 << 30) - 1;
const K_INLINE: u64 = 0;
const K_OVERFLOW: u64 = 1;
const K_PAGE: u64 = 2;
const K_DIRTY: u64 = 3;

impl Slot {
    #[inline]
    fn encode(&self) -> [u64; 2] {
        let (kind, v) = match self.val {
            Val::Inline { off, len } => (K_INLINE, off as u64 | (len as u64) << 32),
            Val::Overflow { at } => (K_OVERFLOW, at as u64),
            Val::Child(NodeRef::Page(p)) => (K_PAGE, p.0),
            Val::Child(NodeRef::Dirty(id)) => (K_DIRTY, id as u64),
        };
        [self.koff as u64 | (self.klen as u64) << 32 | kind << KIND_SHIFT, v]
    }

    #[inline]
    fn decode(w: [u64; 2]) -> Slot {
        let val = match w[0] >> KIND_SHIFT {
            K_INLINE => Val::Inline { off: w[1] as u32, len: (w[1] >> 32) as u32 },
            K_OVERFLOW => Val::Overflow { at: w[1] as u32 },
            K_PAGE => Val::Child(NodeRef::Page(PageId(w[1]))),
            _ => Val::Child(NodeRef::Dirty(w[1] as NodeId)),
        };
        Slot { koff: w[0] as u32, klen: ((w[0] >> 32) & KLEN_MASK) as u32, val }
    }

    /// Bytes of the node's heap the entry uses (key, inline value, reference).
    fn heap_bytes(&self) -> usize {
        self.klen as usize
            + match self.val {
                Val::Inline { len, .. } => len as usize,
                Val::Overflow { .. } => REF_BYTES,
                Val::Child(_) => 0,
            }
    }

    /// Bytes the entry takes in a page, slot included.
    fn entry_size(&self) -> usize {
        match self.val {
            Val::Child(_) => page::branch_entry_size(self.klen as usize),
            Val::Inline { len, .. } => page::leaf_entry_size(self.klen as usize, len as usize),
            Val::Overflow { .. } => page::leaf_entry_size(self.klen as usize, page::OVERFLOW_REF_LEN),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    /// The heads and the slots in one pooled buffer of `3 * cap` words: the
    /// `order::head` of entry i's key at word i, its slot at words
    /// `cap + 2i` and `cap + 2i + 1`. A search compares the 8-byte heads
    /// first and reads a key from the heap only when they tie (a bulk load
    /// of random keys spent most of its time waiting on the heap's cache
    /// lines in the comparisons of `search`). One allocation, not two: a
    /// bulk load's node growth spent 40% of its cache misses in the copies
    /// of reallocation.
    index: Vec<u64>,
    len: u32,
    /// Encoded size of the entries, slots included (header excluded).
    size: u32,
    garbage: u32,
    leaf: bool,
    heap: Vec<u8>,
}

impl Node {
    pub fn new(leaf: bool) -> Node {
        Node::with_capacity(leaf, 0, 0)
    }

    fn with_capacity(leaf: bool, entries: usize, heap: usize) -> Node {
        Node { index: Node::make_index(entries, &[], &[]), len: 0, size: 0, garbage: 0, leaf, heap: pool::take(heap) }
    }

    pub fn from_leaf(p: &LeafPage<'_>) -> Node {
        // The page's entry bytes: its keys and values plus a little room.
        let mut n = Node::with_capacity(true, p.len(), p.used() - HEADER_LEN);
        for i in 0..p.len() {
            let (k, v) = p.entry(i);
            n.push_value(k, v);
        }
        n
    }

    pub fn from_branch(p: &BranchPage<'_>) -> Node {
        let mut n = Node::with_capacity(false, p.len(), p.used() - HEADER_LEN);
        for i in 0..p.len() {
            n.push_child(p.key(i), NodeRef::Page(p.child(i)));
        }
        n
    }

    pub fn is_leaf(&self) -> bool {
        self.leaf
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of memory the node holds.
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<Node>() + self.heap.capacity() + 8 * self.index.capacity()
    }

    /// Bytes of page body the entries need (slots included, header excluded).
    pub fn size(&self) -> usize {
        self.size as usize
    }

    fn cap(&self) -> usize {
        self.index.len() / 3
    }

    fn heads(&self) -> &[u64] {
        &self.index[..self.len()]
    }

    #[inline]
    fn slot(&self, i: usize) -> Slot {
        let w = self.slot_words(i);
        Slot::decode([w[0], w[1]])
    }

    #[inline]
    fn slot_words(&self, i: usize) -> &[u64] {
        assert!(i < self.len(), "slot {i} of {}", self.len);
        let at = self.cap() + 2 * i;
        &self.index[at..at + 2]
    }

    #[inline]
    fn set_slot(&mut self, i: usize, s: Slot) {
        let at = self.cap() + 2 * i;
        self.index[at..at + 2].copy_from_slice(&s.encode());
    }

    fn bytes(&self, off: u32, len: u32) -> &[u8] {
        &self.heap[off as usize..off as usize + len as usize]
    }

    #[inline]
    pub fn key(&self, i: usize) -> &[u8] {
        let w = self.slot_words(i)[0];
        self.bytes(w as u32, ((w >> 32) & KLEN_MASK) as u32)
    }

    pub fn value(&self, i: usize) -> Value<'_> {
        match self.slot(i).val {
            Val::Inline { off, len } => Value::Inline(self.bytes(off, len)),
            Val::Overflow { at } => Value::Overflow(self.overflow_ref(at)),
            Val::Child(_) => panic!("value() on a branch node"),
        }
    }

    fn overflow_ref(&self, at: u32) -> OverflowRef {
        let b = self.bytes(at, REF_BYTES as u32);
        OverflowRef { page: PageId(le::u64_at(b, 0)), len: le::u32_at(b, 8), crc: le::u32_at(b, 12) }
    }

    pub fn child(&self, i: usize) -> NodeRef {
        let w = self.slot_words(i);
        match w[0] >> KIND_SHIFT {
            K_PAGE => NodeRef::Page(PageId(w[1])),
            K_DIRTY => NodeRef::Dirty(w[1] as NodeId),
            _ => panic!("child() on a leaf node"),
        }
    }

    /// The first child at or after `from` that is a dirty node, with its
    /// index (a leaf has none). Commit looks for the few dirty children of
    /// each branch among its hundred or more: one pass over the slots'
    /// kind bits, where stepping through `child(i)` one by one was 12% of a
    /// one-put commit's instructions.
    pub fn next_dirty_child(&self, from: usize) -> Option<(usize, NodeId)> {
        if self.leaf {
            return None;
        }
        let slots = &self.index[self.cap()..self.cap() + 2 * self.len()];
        (from..self.len()).find(|&i| slots[2 * i] >> KIND_SHIFT == K_DIRTY).map(|i| (i, slots[2 * i + 1] as NodeId))
    }

    pub fn set_child(&mut self, i: usize, r: NodeRef) {
        let (kind, v) = match r {
            NodeRef::Page(p) => (K_PAGE, p.0),
            NodeRef::Dirty(id) => (K_DIRTY, id as u64),
        };
        let w0 = self.slot_words(i)[0];
        let at = self.cap() + 2 * i;
        self.index[at] = w0 & !(3 << KIND_SHIFT) | kind << KIND_SHIFT;
        self.index[at + 1] = v;
    }

    /// Position of `key` (Ok) or where it would go (Err).
    pub fn search(&self, key: &[u8]) -> std::result::Result<usize, usize> {
        let head = order::head(key);
        let heads = self.heads();
        // All the heads' lines at once, not one probe's miss after another:
        // a 4M-key load's puts wait on the heads of leaves they reach.
        crate::storage::prefetch(heads);
        let (mut lo, mut hi) = (0, heads.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let ord = match heads[mid].cmp(&head) {
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
        self.slot(i).entry_size()
    }

    /// Appends to the heap. The vectors of a node grow by a quarter, reserved
    /// exactly, not by doubling: a 1M-key bulk load spent a fifth of its time
    /// in doubling reallocs of the heaps, and the doubling slack of heaps and
    /// slots made its dirty nodes a third larger than the pages they become.
    fn push(&mut self, bytes: &[u8]) -> u32 {
        if self.heap.capacity() - self.heap.len() < bytes.len() {
            self.reserve_heap((self.heap.len() / 4 + 256).max(bytes.len()));
        }
        let off = self.heap.len() as u32;
        self.heap.extend_from_slice(bytes);
        off
    }

    /// Makes room for `more` bytes in the heap: a larger one from the pool.
    fn reserve_heap(&mut self, more: usize) {
        if self.heap.capacity() - self.heap.len() >= more {
            return;
        }
        let mut heap = pool::take(self.heap.len() + more);
        heap.extend_from_slice(&self.heap);
        pool::give(std::mem::replace(&mut self.heap, heap));
    }

    fn value_slot(&mut self, value: Value<'_>) -> Val {
        match value {
            Value::Inline(b) => Val::Inline { off: self.push(b), len: b.len() as u32 },
            Value::Overflow(r) => {
                let mut b = [0u8; REF_BYTES];
                le::put_u64(&mut b, 0, r.page.0);
                le::put_u32(&mut b, 8, r.len);
                le::put_u32(&mut b, 12, r.crc);
                Val::Overflow { at: self.push(&b) }
            }
        }
    }

    /// Reclaims heap space once more than half of it is dead.
    fn maybe_compact(&mut self) {
        if self.garbage < 4096 || self.garbage as usize * 2 < self.heap.len() {
            return;
        }
        self.compact();
    }

    /// Rewrites the heap with only the live keys and values.
    fn compact(&mut self) {
        let mut heap = pool::take(self.heap.len() - self.garbage as usize);
        for i in 0..self.len() {
            let s = self.move_entry(i, &mut heap);
            self.set_slot(i, s);
        }
        pool::give(std::mem::replace(&mut self.heap, heap));
        self.garbage = 0;
    }

    /// Entry i's slot with its heap bytes copied to the end of `heap`.
    fn move_entry(&self, i: usize, heap: &mut Vec<u8>) -> Slot {
        let mut s = self.slot(i);
        let at = heap.len() as u32;
        match &mut s.val {
            // An inserted key and value were pushed together: one copy.
            Val::Inline { off, len } if *off == s.koff + s.klen => {
                heap.extend_from_slice(self.bytes(s.koff, s.klen + *len));
                *off = at + s.klen;
            }
            Val::Inline { off, len } => {
                heap.extend_from_slice(self.bytes(s.koff, s.klen));
                heap.extend_from_slice(self.bytes(*off, *len));
                *off = at + s.klen;
            }
            Val::Overflow { at: r } => {
                heap.extend_from_slice(self.bytes(s.koff, s.klen));
                heap.extend_from_slice(self.bytes(*r, REF_BYTES as u32));
                *r = at + s.klen;
            }
            Val::Child(_) => heap.extend_from_slice(self.bytes(s.koff, s.klen)),
        }
        s.koff = at;
        s
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
        let (slot, head) = match value {
            // Copying a page: key and value pushed with one capacity check.
            Value::Inline(v) if self.heap.capacity() - self.heap.len() >= key.len() + v.len() => {
                let koff = self.heap.len() as u32;
                self.heap.extend_from_slice(key);
                self.heap.extend_from_slice(v);
                let (klen, len) = (key.len() as u32, v.len() as u32);
                (Slot { koff, klen, val: Val::Inline { off: koff + klen, len } }, order::head(key))
            }
            _ => self.value_entry(key, value),
        };
        self.push_words(head, slot.encode(), slot.entry_size());
    }

    /// `push_value` for a branch entry.
    fn push_child(&mut self, key: &[u8], child: NodeRef) {
        let (slot, head) = self.child_entry(key, child);
        self.push_words(head, slot.encode(), page::branch_entry_size(key.len()));
    }

    #[inline(always)]
    fn push_words(&mut self, head: u64, words: [u64; 2], entry_size: usize) {
        let n = self.len();
        if n == self.cap() {
            self.reserve_index(n / 4 + 2);
        }
        let cap = self.cap();
        self.index[n] = head;
        self.index[cap + 2 * n..cap + 2 * n + 2].copy_from_slice(&words);
        self.len += 1;
        self.size += entry_size as u32;
    }

    pub fn insert_child(&mut self, i: usize, key: &[u8], child: NodeRef) {
        debug_assert!(!self.leaf);
        let (slot, head) = self.child_entry(key, child);
        self.insert_slot(i, slot, head);
    }

    /// Makes room for `entries` in the index (heads and slots move to
    /// their places in the larger one).
    fn reserve_index(&mut self, entries: usize) {
        let (n, cap) = (self.len(), self.cap());
        if n + entries <= cap {
            return;
        }
        let index = Node::make_index(n + entries, &self.index[..n], &self.index[cap..cap + 2 * n]);
        pool::give(std::mem::replace(&mut self.index, index));
    }

    /// An index of at least `entries` entries (a pool class: its whole
    /// capacity is used) holding `heads` and `slots`; only the room past
    /// them is zeroed.
    fn make_index(entries: usize, heads: &[u64], slots: &[u64]) -> Vec<u64> {
        let mut index = pool::take::<u64>(3 * entries);
        let cap = index.capacity() / 3;
        index.extend_from_slice(heads);
        index.resize(cap, 0);
        index.extend_from_slice(slots);
        index.resize(3 * cap, 0);
        index
    }

    /// Sizes the new slot before it goes in, rather than reading it back out
    /// of the index: the read-back compiled to a reload and a match on the
    /// variant whenever the optimizer did not forward the store, which a
    /// change in codegen-unit partitioning alone decided (callgrind:
    /// insert_child +13%, insert_value +7%, with node.rs unchanged).
    fn insert_slot(&mut self, i: usize, slot: Slot, head: u64) {
        let n = self.len();
        assert!(i <= n, "insert at {i} of {n}");
        if n == self.cap() {
            // By a quarter, as the heap (see `push`).
            self.reserve_index(n / 4 + 2);
        }
        if i < n {
            let cap = self.cap();
            self.index.copy_within(i..n, i + 1);
            self.index.copy_within(cap + 2 * i..cap + 2 * n, cap + 2 * i + 2);
        }
        self.index[i] = head;
        self.len += 1;
        self.set_slot(i, slot);
        self.size += slot.entry_size() as u32;
    }

    /// Replaces entry i's value, returning the overflow run it referenced.
    pub fn set_value(&mut self, i: usize, value: Value<'_>) -> Option<OverflowRef> {
        let mut s = self.slot(i);
        let old = match s.val {
            Val::Overflow { at } => Some(self.overflow_ref(at)),
            _ => None,
        };
        self.size -= s.entry_size() as u32;
        self.garbage += (s.heap_bytes() - s.klen as usize) as u32;
        s.val = self.value_slot(value);
        self.size += s.entry_size() as u32;
        self.set_slot(i, s);
        self.maybe_compact();
        old
    }

    pub fn set_key(&mut self, i: usize, key: &[u8]) {
        let mut s = self.slot(i);
        self.size -= s.entry_size() as u32;
        self.garbage += s.klen;
        s.koff = self.push(key);
        s.klen = key.len() as u32;
        self.index[i] = order::head(key);
        self.size += s.entry_size() as u32;
        self.set_slot(i, s);
        self.maybe_compact();
    }

    /// Removes entry i, returning the overflow run its value referenced.
    pub fn remove(&mut self, i: usize) -> Option<OverflowRef> {
        let s = self.slot(i);
        let old = match s.val {
            Val::Overflow { at } => Some(self.overflow_ref(at)),
            _ => None,
        };
        self.size -= s.entry_size() as u32;
        self.garbage += s.heap_bytes() as u32;
        let (n, cap) = (self.len(), self.cap());
        self.index.copy_within(i + 1..n, i);
        self.index.copy_within(cap + 2 * i + 2..cap + 2 * n, cap + 2 * i);
        self.len -= 1;
        self.maybe_compact();
        old
    }

    /// Moves entries `at..` into a new node. Both come out with vectors
    /// sized to their entries (this one's heap compacted).
    pub fn split_off(&mut self, at: usize) -> Node {
        // In bulk: the moved entries' bytes copied once, their heads carried
        // over, this node truncated and compacted (entry by entry, through
        // insert and remove, this was most of a split, itself a tenth of a
        // bulk load's instructions).
        let n = self.len();
        let heap_bytes: usize = (at..n).map(|i| self.slot(i).heap_bytes()).sum();
        let mut right = Node::with_capacity(self.leaf, n - at, heap_bytes);
        right.index[..n - at].copy_from_slice(&self.index[at..n]);
        right.len = (n - at) as u32;
        for i in at..n {
            let s = self.move_entry(i, &mut right.heap);
            right.size += s.entry_size() as u32;
            right.set_slot(i - at, s);
        }
        self.size -= right.size;
        self.garbage += heap_bytes as u32;
        self.len = at as u32;
        if self.garbage > 0 {
            self.compact();
        }
        right
    }

    /// Appends every entry of `right`, whose keys all sort after ours.
    pub fn append(&mut self, right: &Node) {
        self.reserve_index(right.len());
        self.reserve_heap(right.heap.len() - right.garbage as usize);
        for i in 0..right.len() {
            let key = right.key(i);
            match right.slot(i).val {
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
        let total = self.size();
        let target = if at_end { cap } else { total / total.div_ceil(cap).max(2) };
        let mut cuts = Vec::new();
        let mut acc = 0;
        for i in 0..self.len() {
            let s = self.entry_size(i);
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
                    if (prev..self.len()).map(|i| self.entry_size(i)).sum::<usize>() <= cap {
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
        if HEADER_LEN + self.size() > buf.len() {
            return Err(Error::Internal(format!("node of {} bytes encoded into a page of {}", self.size, buf.len())));
        }
        let mut w = PageWriter::new(buf, self.len());
        for i in 0..self.len() {
            match self.slot(i).val {
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

impl Drop for Node {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.heap));
        pool::give(std::mem::take(&mut self.index));
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
    fn next_dirty_child_skips_children_on_pages() {
        let mut n = Node::new(false);
        let refs = [NodeRef::Page(PageId(9)), NodeRef::Dirty(4), NodeRef::Page(PageId(7)), NodeRef::Dirty(2)];
        for (i, r) in refs.iter().enumerate() {
            n.insert_child(i, &[b'a' + i as u8], *r);
        }
        assert_eq!(n.next_dirty_child(0), Some((1, 4)));
        assert_eq!(n.next_dirty_child(2), Some((3, 2)));
        assert_eq!(n.next_dirty_child(4), None);
        n.set_child(3, NodeRef::Page(PageId(11)));
        assert_eq!(n.next_dirty_child(2), None);
        assert_eq!(leaf_with(&[b"a"], 3).next_dirty_child(0), None);
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
    fn slots_keep_full_width_references_through_moves() {
        let far = PageId(u64::MAX - 7);
        let r = OverflowRef { page: PageId(u64::MAX - 1), len: u32::MAX, crc: 0xdead_beef };
        let mut leaf = Node::new(true);
        leaf.insert_value(0, b"b", Value::Overflow(r));
        leaf.insert_value(0, b"a", Value::Inline(b"one"));
        leaf.insert_value(2, &[b'c'; 1000], Value::Inline(&[7u8; 2000]));
        let right = leaf.split_off(1);
        assert_eq!((leaf.key(0), leaf.value(0)), (&b"a"[..], Value::Inline(&b"one"[..])));
        assert_eq!((right.key(0), right.value(0)), (&b"b"[..], Value::Overflow(r)));
        assert_eq!(right.value(1), Value::Inline(&[7u8; 2000][..]));
        leaf.append(&right);
        assert_eq!(leaf.set_value(1, Value::Inline(b"x")), Some(r));
        assert_eq!((leaf.len(), leaf.key(2)), (3, &[b'c'; 1000][..]));

        let mut branch = Node::new(false);
        branch.insert_child(0, b"", NodeRef::Page(far));
        branch.insert_child(1, &[b'k'; 1004], NodeRef::Dirty(NodeId::MAX));
        assert_eq!((branch.child(0), branch.child(1)), (NodeRef::Page(far), NodeRef::Dirty(NodeId::MAX)));
        branch.set_child(0, NodeRef::Dirty(0));
        branch.set_child(1, NodeRef::Page(far));
        assert_eq!((branch.child(0), branch.child(1)), (NodeRef::Dirty(0), NodeRef::Page(far)));
        assert_eq!(branch.key(1), &[b'k'; 1004][..]);
        assert_eq!(branch.search(&[b'k'; 1004]), Ok(1));
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
