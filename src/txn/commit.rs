//! Commit, as a list of phases:
//! 1. records: every changed bucket (and each of its ancestors), deepest
//!    first, writes its dirty trees to new pages and its record into its
//!    parent's catalog; the root's record goes to the meta;
//! 2. freelist: the change to the free set is written (log page or snapshot);
//! 3. pages: the file is grown and every new page written;
//! 4. meta: with `SyncMode::Full`, data is synced, then the meta written to
//!    the slot not holding the durable meta and synced;
//! 5. publish: new readers see the commit; the writer slot is released.

use crate::alloc::freelist::Persisted;
use crate::alloc::meta::Meta;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::options::SyncMode;
use crate::storage::io::WriteOp;
use crate::tree::node::NodeRef;
use crate::tree::page::Value;
use crate::tree::record::{BucketRecord, TreeRef};
use crate::txn::{Tree, WriteTx};
use crate::types::PageId;

/// Pages are handed to the backend in batches of about this many bytes.
const FLUSH_BYTES: usize = 8 << 20;

/// New pages waiting to be written.
struct PageSink {
    buf: Vec<u8>,
    ids: Vec<PageId>,
    page_size: usize,
}

impl PageSink {
    fn new(page_size: usize) -> PageSink {
        PageSink { buf: Vec::new(), ids: Vec::new(), page_size }
    }

    /// A zeroed page buffer to fill for page `id`.
    fn page(&mut self, id: PageId) -> &mut [u8] {
        let at = self.buf.len();
        self.ids.push(id);
        self.buf.resize(at + self.page_size, 0);
        &mut self.buf[at..]
    }

    /// A run of pages starting at `first`.
    fn run(&mut self, first: PageId, bytes: &[u8]) {
        for (i, chunk) in bytes.chunks(self.page_size).enumerate() {
            self.page(PageId(first.0 + i as u64)).copy_from_slice(chunk);
        }
    }

    fn flush(&mut self, env: &Env, page_count: u64) -> Result<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        env.ensure_pages(page_count)?;
        let ps = self.page_size;
        let mut order: Vec<usize> = (0..self.ids.len()).collect();
        order.sort_unstable_by_key(|&i| self.ids[i]);
        let ops: Vec<WriteOp<'_>> = order
            .iter()
            .map(|&i| WriteOp { offset: self.ids[i].0 * ps as u64, data: &self.buf[i * ps..(i + 1) * ps] })
            .collect();
        env.pages
            .io
            .write_batch(&ops)
            .map_err(|e| Error::io("write pages", &env.config.path, Some(ops[0].offset), e))?;
        self.buf.clear();
        self.ids.clear();
        Ok(())
    }
}

impl WriteTx {
    /// Makes the transaction's changes durable (per the sync mode) and
    /// visible. On error nothing is committed and the transaction is gone.
    pub fn commit(mut self) -> Result<()> {
        if let Some(e) = self.failure() {
            self.end(None);
            return Err(e);
        }
        if !self.has_changes() {
            self.end(None);
            return Ok(());
        }
        match self.write_commit() {
            Ok(persisted) => {
                self.end(Some(persisted));
                if self.env.sync_due() {
                    // A failure poisons the database; later writes report it.
                    let _ = self.env.sync();
                }
                Ok(())
            }
            Err(e) => {
                self.end(None);
                Err(e)
            }
        }
    }

    /// Buckets whose record must be rewritten, deepest first.
    fn commit_order(&self) -> Vec<u32> {
        let mut need = vec![false; self.buckets.len()];
        for (s, b) in self.buckets.iter().enumerate() {
            if b.alive && b.dirty {
                let mut at = s as u32;
                while at != crate::txn::write::NO_PARENT && !need[at as usize] {
                    need[at as usize] = true;
                    at = self.buckets[at as usize].parent;
                }
            }
        }
        let mut order: Vec<u32> = (0..self.buckets.len() as u32).filter(|&s| need[s as usize]).collect();
        order.sort_by_key(|&s| std::cmp::Reverse(self.buckets[s as usize].depth));
        order
    }

    fn write_commit(&mut self) -> Result<Persisted> {
        let mut sink = PageSink::new(self.env.config.page_size);
        let mut root = self.base.root;
        for s in self.commit_order() {
            let keys = self.spill(s, Tree::Keys, &mut sink)?;
            let children = self.spill(s, Tree::Children, &mut sink)?;
            let b = &self.buckets[s as usize];
            let rec = BucketRecord {
                keys: TreeRef { root: keys, count: b.keys.count },
                children: TreeRef { root: children, count: b.children.count },
                sequence: b.sequence,
            };
            if s == 0 {
                root = rec;
            } else {
                let (parent, name) = (b.parent, b.name.clone());
                self.with_tree(parent, Tree::Children, |t, r| t.put(r, &name, Value::Inline(&rec.encode())))?;
            }
        }
        let persisted = self.alloc.persist(&mut self.fl, self.env.config.page_size).map_err(|e| self.no_space(e))?;
        for (id, bytes) in &persisted.pages {
            sink.run(*id, bytes);
        }
        sink.flush(&self.env, self.alloc.hwm)?;
        let meta = Meta {
            txid: self.txid,
            page_size: self.base.page_size,
            page_count: self.alloc.hwm,
            root,
            bucket_count: self.bucket_count,
            freelist: persisted.meta_ref,
            checkpoint_lsn: self.base.checkpoint_lsn,
        };
        if self.env.config.sync_mode == SyncMode::Full {
            self.env.commit_durable(&meta)?;
        }
        self.env.readers.publish(meta);
        debug_assert!(self.env.durability.durable_txid().0 <= meta.txid.0);
        Ok(persisted)
    }

    /// Writes the dirty nodes of one tree of bucket `s` to new pages, children
    /// before parents; returns the root page.
    fn spill(&mut self, s: u32, tree: Tree, sink: &mut PageSink) -> Result<PageId> {
        let top = match self.buckets[s as usize].tree(tree).node {
            None => return Ok(PageId::NONE),
            Some(NodeRef::Page(p)) => return Ok(p),
            Some(NodeRef::Dirty(id)) => id,
        };
        let mut stack = vec![(top, 0usize)];
        let mut root = PageId::NONE;
        while let Some((id, i)) = stack.pop() {
            let node = self.arena.get(id);
            if !node.is_leaf() && i < node.len() {
                stack.push((id, i + 1));
                if let NodeRef::Dirty(child) = node.child(i) {
                    stack.push((child, 0));
                }
                continue;
            }
            let page = self.alloc_pages(1)?;
            let node = self.arena.take(id);
            node.encode(sink.page(page), page, self.txid)?;
            match stack.last() {
                Some(&(parent, next)) => self.arena.get_mut(parent).set_child(next - 1, NodeRef::Page(page)),
                None => root = page,
            }
            if sink.buf.len() >= FLUSH_BYTES {
                sink.flush(&self.env, self.alloc.hwm)?;
            }
        }
        self.buckets[s as usize].tree(tree).node = Some(NodeRef::Page(root));
        Ok(root)
    }
}
