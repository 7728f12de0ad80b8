//! Branch nodes the writer wrote, kept decoded for the next writer that
//! changes them. Every commit copies the branches on its path (the root
//! always) into nodes, which decodes each entry and, for a page written
//! since it was last read, checks the page's checksum and layout: a
//! profile of one-put commits under `SyncMode::None` had 35% of their
//! instructions in `Node::from_branch` and `page::validate`, for branches
//! the commit before had just encoded from nodes.
//!
//! A node is staged when its page is encoded, becomes an entry when the
//! commit lands (a commit that fails drops what it staged: its pages go
//! back to the pool), and is handed out once, to the transaction that
//! copies its page, which frees the page. An entry is used only if the
//! page's header still holds the checksum, page id and txid it was written
//! with: a page freed another way (a deleted bucket, a merge) and written
//! again carries a later txid, so a stale entry is never used; it is
//! dropped when found, or evicted oldest first.

use std::collections::HashMap;

use crate::storage::{stored_checksum, Header};
use crate::tree::node::Node;
use crate::types::{PageId, TxId};

/// Bytes of node buffers kept: a 1M-key tree of 24-byte keys has about 460
/// branches, 3 MB of nodes.
const BUDGET: usize = 8 << 20;

#[derive(Debug)]
struct Entry {
    node: Node,
    crc: u32,
    txid: TxId,
}

#[derive(Debug, Default)]
pub struct NodeCache {
    entries: HashMap<PageId, Entry>,
    /// Nodes encoded by the transaction under way, in spill order (children
    /// before parents), with their pages' checksums; at most about `BUDGET`
    /// bytes, the earliest (lowest) dropped first.
    staged: Vec<(PageId, Node, u32)>,
    /// Footprint of `staged`.
    staged_bytes: usize,
    /// Footprint of `entries`.
    bytes: usize,
}

impl NodeCache {
    /// Keeps `node`, just encoded into page `id` with checksum `crc`, if it
    /// is a branch, until the commit lands (`admit`) or fails (`discard`).
    pub fn stage(&mut self, id: PageId, node: Node, crc: u32) {
        if node.is_leaf() {
            return;
        }
        self.staged_bytes += node.footprint();
        self.staged.push((id, node, crc));
        // A bulk load's commit stages every branch of its tree: without a
        // bound, a 40M-key load would hold 100 MB of them until it lands.
        if self.staged_bytes > BUDGET {
            let half = self.staged.len() / 2;
            self.staged.drain(..half);
            self.staged_bytes = self.staged.iter().map(|(_, n, _)| n.footprint()).sum();
        }
    }

    /// The commit that staged nodes landed at `txid`: they become entries,
    /// parents first (the upper levels serve every commit), within the
    /// budget; the oldest entries make room.
    pub fn admit(&mut self, txid: TxId) {
        if self.bytes + self.staged_bytes > BUDGET {
            self.evict_oldest_half();
        }
        while let Some((id, node, crc)) = self.staged.pop() {
            let size = node.footprint();
            if self.bytes + size > BUDGET {
                break;
            }
            self.bytes += size;
            if let Some(old) = self.entries.insert(id, Entry { node, crc, txid }) {
                self.bytes -= old.node.footprint();
            }
        }
        self.discard();
    }

    /// Drops what the transaction staged (it did not commit).
    pub fn discard(&mut self) {
        self.staged.clear();
        self.staged_bytes = 0;
    }

    /// The node of page `id`, whose stored bytes start with `header`, if an
    /// entry holds it and the page is still the one it was written as.
    pub fn take(&mut self, id: PageId, header: &[u8]) -> Option<Node> {
        let e = self.entries.remove(&id)?;
        self.bytes -= e.node.footprint();
        let h = Header::read(header);
        (stored_checksum(header) == e.crc && h.id == id && h.txid == e.txid).then_some(e.node)
    }

    fn evict_oldest_half(&mut self) {
        if self.entries.is_empty() {
            return;
        }
        let mut txids: Vec<u64> = self.entries.values().map(|e| e.txid.0).collect();
        let mid = txids.len() / 2;
        let median = *txids.select_nth_unstable(mid).1;
        self.entries.retain(|_, e| e.txid.0 > median);
        self.bytes = self.entries.values().map(|e| e.node.footprint()).sum();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::HEADER_LEN;
    use crate::tree::node::NodeRef;

    fn branch(keys: &[&[u8]]) -> Node {
        let mut n = Node::new(false);
        for (i, k) in keys.iter().enumerate() {
            n.insert_child(i, k, NodeRef::Page(PageId(10 + i as u64)));
        }
        n
    }

    /// Encodes `node` into page `id` at `txid`; returns the page and its checksum.
    fn page_of(node: &Node, id: PageId, txid: TxId) -> (Vec<u8>, u32) {
        let mut page = vec![0u8; 4096];
        node.encode(&mut page, id, txid).unwrap();
        let crc = stored_checksum(&page);
        (page, crc)
    }

    /// Stages a branch of `keys` encoded into page `id` at `txid`, as a
    /// commit's spill does; returns the page.
    fn staged(c: &mut NodeCache, keys: &[&[u8]], id: PageId, txid: TxId) -> Vec<u8> {
        let n = branch(keys);
        let (page, crc) = page_of(&n, id, txid);
        c.stage(id, n, crc);
        page
    }

    #[test]
    fn a_landed_branch_is_handed_out_once_for_its_own_page() {
        let mut c = NodeCache::default();
        let page = staged(&mut c, &[b"a", b"m"], PageId(7), TxId(3));
        c.admit(TxId(3));
        let got = c.take(PageId(7), &page[..HEADER_LEN]).expect("a hit");
        assert_eq!((got.len(), got.is_leaf()), (2, false));
        assert!(c.take(PageId(7), &page[..HEADER_LEN]).is_none(), "handed out twice");
    }

    #[test]
    fn a_page_written_again_or_a_failed_commit_is_never_served() {
        let mut c = NodeCache::default();
        staged(&mut c, &[b"a", b"m"], PageId(7), TxId(3));
        c.admit(TxId(3));
        // The page was freed another way and written again by txid 9.
        let (again, _) = page_of(&branch(&[b"q"]), PageId(7), TxId(9));
        assert!(c.take(PageId(7), &again[..HEADER_LEN]).is_none());
        assert_eq!(c.len(), 0, "the stale entry stays");

        // A commit that failed: nothing it staged is kept.
        let page = staged(&mut c, &[b"b"], PageId(8), TxId(10));
        c.discard();
        c.admit(TxId(11));
        assert!(c.take(PageId(8), &page[..HEADER_LEN]).is_none());
    }

    #[test]
    fn a_big_commit_stages_its_upper_branches_within_the_budget() {
        let mut c = NodeCache::default();
        let per = branch(&[b"a"]).footprint();
        let n = 3 * BUDGET / per;
        // Spill order: the root, staged last, must survive.
        for i in 0..n as u64 {
            c.stage(PageId(100 + i), branch(&[b"a"]), 0);
            assert!(c.staged_bytes <= BUDGET + per);
        }
        let root = PageId(100 + n as u64 - 1);
        assert!(c.staged.iter().any(|(id, _, _)| *id == root), "the last staged node was dropped");
        assert!(c.staged.len() < n, "nothing was dropped");
        c.admit(TxId(1));
        assert!(c.entries.contains_key(&root));
        assert!(c.bytes <= BUDGET && c.staged.is_empty() && c.staged_bytes == 0);
    }

    #[test]
    fn leaves_are_not_kept_and_the_budget_evicts_the_oldest() {
        let mut c = NodeCache::default();
        let mut leaf = Node::new(true);
        leaf.insert_value(0, b"k", crate::tree::Value::Inline(b"v"));
        c.stage(PageId(5), leaf, 0);
        c.admit(TxId(1));
        assert_eq!(c.len(), 0);

        let per = branch(&[b"a"]).footprint();
        let fit = BUDGET / per;
        for t in 0..fit as u64 + 10 {
            c.stage(PageId(100 + t), branch(&[b"a"]), 0);
            c.admit(TxId(t + 1));
            assert!(c.bytes <= BUDGET);
        }
        let newest = fit as u64 + 9;
        let (page, _) = page_of(&branch(&[b"a"]), PageId(100 + newest), TxId(newest + 1));
        assert!(c.len() < fit, "nothing was evicted");
        assert!(c.entries.contains_key(&PageId(100 + newest)), "the newest entry was evicted");
        assert!(!c.entries.contains_key(&PageId(100)), "the oldest entry was kept");
        assert!(c.take(PageId(100 + newest), &page[..HEADER_LEN]).is_none(), "checksum 0 matched a real page");
    }
}
