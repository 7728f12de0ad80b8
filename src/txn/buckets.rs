//! Buckets in a write transaction: open, create, delete (recursive), and the
//! per-bucket sequence.
//!
//! Every bucket opened in the transaction has a slot in its bucket table;
//! slot 0 is the root (default keyspace and top-level catalog). A child's
//! record in its parent's catalog is rewritten at commit, so while the
//! transaction runs the slot, not the catalog, holds a bucket's current roots.

use crate::error::{show_bytes, Corruption, Error, Result};
use crate::tree::{self, overflow_run_pages, BucketRecord, NodeRef, NodeSource, NodeView, Root, Value};
use crate::txn::write::BucketState;
use crate::txn::{check_bucket_name, Bucket, Tree, WriteTx};

impl WriteTx {
    /// The slot of child `name` of `parent`, opening it from the catalog.
    fn open_slot(&mut self, parent: u32, name: &[u8]) -> Result<Option<u32>> {
        if let Some(&s) = self.open.get(&(parent, name.to_vec())) {
            return Ok(Some(s));
        }
        let root = self.buckets[parent as usize].children.node;
        let rec = match tree::get(self, root, name)? {
            None => return Ok(None),
            Some(v) => BucketRecord::from_value(name, v)?,
        };
        Ok(Some(self.add_slot(parent, name, rec, false)))
    }

    fn add_slot(&mut self, parent: u32, name: &[u8], rec: BucketRecord, dirty: bool) -> u32 {
        let depth = self.buckets[parent as usize].depth + 1;
        self.buckets.push(BucketState {
            parent,
            name: name.to_vec(),
            keys: Root::from_page(rec.keys.root, rec.keys.count),
            children: Root::from_page(rec.children.root, rec.children.count),
            sequence: rec.sequence,
            alive: true,
            dirty,
            depth,
        });
        let slot = (self.buckets.len() - 1) as u32;
        self.open.insert((parent, name.to_vec()), slot);
        slot
    }

    /// Opens child bucket `name` of `parent` (None: top level).
    pub fn bucket(&mut self, parent: Option<&Bucket>, name: &[u8]) -> Result<Option<Bucket>> {
        self.guarded(|tx| {
            let p = tx.slot(parent)?;
            check_bucket_name(name)?;
            Ok(tx.open_slot(p, name)?.map(|s| tx.handle(s)))
        })
    }

    /// Creates child bucket `name` of `parent`; `BucketExists` if it exists.
    pub fn create_bucket(&mut self, parent: Option<&Bucket>, name: &[u8]) -> Result<Bucket> {
        self.guarded(|tx| tx.create(parent, name, false))
    }

    /// Opens child bucket `name` of `parent`, creating it if missing.
    pub fn create_bucket_if_missing(&mut self, parent: Option<&Bucket>, name: &[u8]) -> Result<Bucket> {
        self.guarded(|tx| tx.create(parent, name, true))
    }

    fn create(&mut self, parent: Option<&Bucket>, name: &[u8], if_missing: bool) -> Result<Bucket> {
        let p = self.slot(parent)?;
        check_bucket_name(name)?;
        if let Some(s) = self.open_slot(p, name)? {
            return if if_missing { Ok(self.handle(s)) } else { Err(Error::BucketExists { name: show_bytes(name) }) };
        }
        let rec = BucketRecord::default();
        let count = self.bucket_count.checked_add(1).ok_or(Error::Corrupted {
            page: None,
            cause: Corruption::Count { of: "buckets", recorded: self.bucket_count, found: None },
        })?;
        self.with_tree(p, Tree::Children, |t, root| t.put(root, name, Value::Inline(&rec.encode())))?;
        let s = self.add_slot(p, name, rec, true);
        self.bucket_count = count;
        self.touch(p);
        self.touch(s);
        self.log_create_bucket(p, name);
        Ok(self.handle(s))
    }

    /// Deletes child bucket `name` of `parent` with everything in it.
    pub fn delete_bucket(&mut self, parent: Option<&Bucket>, name: &[u8]) -> Result<()> {
        self.guarded(|tx| {
            let p = tx.slot(parent)?;
            check_bucket_name(name)?;
            let Some(s) = tx.open_slot(p, name)? else {
                return Err(Error::BucketNotFound { name: show_bytes(name) });
            };
            tx.with_tree(p, Tree::Children, |t, root| t.delete(root, name))?;
            let removed = tx.drop_bucket(s)?;
            tx.bucket_count = tx.bucket_count.checked_sub(removed).ok_or(Error::Corrupted {
                page: None,
                cause: Corruption::Count { of: "buckets", recorded: tx.bucket_count, found: Some(removed) },
            })?;
            tx.touch(p);
            tx.log_delete_bucket(p, name);
            Ok(())
        })
    }

    /// The next value of `bucket`'s sequence (1 on the first call).
    pub fn next_sequence(&mut self, bucket: &Bucket) -> Result<u64> {
        self.guarded(|tx| {
            let s = tx.slot(Some(bucket))?;
            let b = &mut tx.buckets[s as usize];
            b.sequence = b.sequence.checked_add(1).ok_or_else(|| Error::invalid("bucket sequence exhausted"))?;
            let seq = b.sequence;
            tx.touch(s);
            tx.log_sequence(s, seq);
            Ok(seq)
        })
    }

    /// Sets `bucket`'s sequence (replaying a logged `next_sequence`).
    pub(crate) fn set_sequence(&mut self, bucket: Option<&Bucket>, value: u64) -> Result<()> {
        self.guarded(|tx| {
            let s = tx.slot(bucket)?;
            tx.buckets[s as usize].sequence = value;
            tx.touch(s);
            Ok(())
        })
    }

    /// Frees every page of bucket `slot` and its descendants; returns how many
    /// buckets went. Work is proportional to their pages.
    fn drop_bucket(&mut self, slot: u32) -> Result<u64> {
        let b = &self.buckets[slot as usize];
        let mut work = vec![(Some(slot), b.keys, b.children)];
        let mut removed = 0;
        while let Some((open, keys, children)) = work.pop() {
            removed += 1;
            if let Some(s) = open {
                let b = &mut self.buckets[s as usize];
                b.alive = false;
                let key = (b.parent, b.name.clone());
                self.open.remove(&key);
                self.version += 1;
            }
            self.drop_tree(keys, false)?;
            for (name, rec) in self.drop_tree(children, true)? {
                // An open child's live roots are in its slot, not in the record.
                match open.and_then(|s| self.open.get(&(s, name)).copied()) {
                    Some(cs) => {
                        let c = &self.buckets[cs as usize];
                        work.push((Some(cs), c.keys, c.children));
                    }
                    None => work.push((
                        None,
                        Root::from_page(rec.keys.root, rec.keys.count),
                        Root::from_page(rec.children.root, rec.children.count),
                    )),
                }
            }
        }
        Ok(removed)
    }

    /// Frees every node and overflow run of a tree; for a catalog tree,
    /// returns the child records found in it.
    fn drop_tree(&mut self, root: Root, catalog: bool) -> Result<Vec<(Vec<u8>, BucketRecord)>> {
        let mut records = Vec::new();
        let mut stack: Vec<NodeRef> = root.node.into_iter().collect();
        let ps = self.env.config.page_size;
        while let Some(r) = stack.pop() {
            let mut runs = Vec::new();
            {
                let taken;
                let v = match r {
                    NodeRef::Dirty(id) => {
                        taken = self.arena.take(id);
                        NodeView::Dirty(&taken)
                    }
                    NodeRef::Page(_) => self.view(r)?,
                };
                for i in 0..v.len() {
                    if !v.is_leaf() {
                        stack.push(v.child(i));
                    } else if catalog {
                        records.push((v.key(i).to_vec(), BucketRecord::from_value(v.key(i), v.value(i))?));
                    } else if let Value::Overflow(o) = v.value(i) {
                        runs.push(o);
                    }
                }
            }
            if let NodeRef::Page(p) = r {
                self.free_pages(p, 1)?;
            }
            for o in runs {
                self.free_pages(o.page, overflow_run_pages(o.len as u64, ps))?;
            }
        }
        Ok(records)
    }
}
