//! The write transaction: dirty trees over the snapshot it started from.
//!
//! Failure rule: an error of a kind that can leave the transaction half-done
//! (I/O, no space, corruption, internal) fails the transaction. Every later
//! call repeats that error, reads included, and commit rolls back.

use std::collections::HashMap;
use std::ops::BitOr;
use std::sync::Arc;

use crate::alloc::freelist::{AllocError, Freelist, Persisted, TxAlloc};
use crate::alloc::meta::Meta;
use crate::db::{next_serial, DbInner, WriterState};
use crate::error::{show_bytes, Corruption, Error, Result};
use crate::storage::io::WriteOp;
use crate::tree::cursor::RawCursor;
use crate::tree::node::NodeRef;
use crate::tree::ops::{Arena, PageStore, Put, Root, TreeMut};
use crate::tree::overflow::{self, MAX_VALUE_LEN};
use crate::tree::page::{OverflowRef, Value};
use crate::tree::view::{self, NodeSource, NodeView, PageNode, PageReader};
use crate::txn::{check_key, read_api, Bucket, BucketAt, Tree, TxCore};
use crate::types::{PageId, TxId};

/// Flags for `put_with`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PutFlags(u32);

impl PutFlags {
    pub const NONE: PutFlags = PutFlags(0);
    /// Fail with `KeyExists` if the key is present.
    pub const NO_OVERWRITE: PutFlags = PutFlags(1);
    /// The key is greater than every key present (bulk load); `InvalidArgument`
    /// and nothing written if it is not.
    pub const APPEND: PutFlags = PutFlags(2);

    /// Flags from their bits; None for unknown bits.
    pub fn from_bits(bits: u32) -> Option<PutFlags> {
        (bits & !3 == 0).then_some(PutFlags(bits))
    }

    pub fn contains(self, other: PutFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for PutFlags {
    type Output = PutFlags;
    fn bitor(self, rhs: PutFlags) -> PutFlags {
        PutFlags(self.0 | rhs.0)
    }
}

/// Marks the root bucket's slot as having no parent.
pub(crate) const NO_PARENT: u32 = u32::MAX;

/// A bucket as the write transaction holds it.
#[derive(Clone, Debug)]
pub(crate) struct BucketState {
    pub parent: u32,
    pub name: Vec<u8>,
    pub keys: Root,
    pub children: Root,
    pub sequence: u64,
    pub alive: bool,
    /// Its record must be rewritten at commit.
    pub dirty: bool,
    pub depth: u32,
}

impl BucketState {
    pub fn tree(&mut self, tree: Tree) -> &mut Root {
        match tree {
            Tree::Keys => &mut self.keys,
            Tree::Children => &mut self.children,
        }
    }
}

/// The one write transaction. Dropping it rolls back.
#[derive(Debug)]
pub struct WriteTx {
    pub(crate) db: Arc<DbInner>,
    pub(crate) serial: u64,
    pub(crate) base: Meta,
    pub(crate) txid: TxId,
    pub(crate) fl: Freelist,
    pub(crate) alloc: TxAlloc,
    pub(crate) arena: Arena,
    pub(crate) buckets: Vec<BucketState>,
    /// (parent slot, name) -> slot of every open, live child bucket.
    pub(crate) open: HashMap<(u32, Vec<u8>), u32>,
    pub(crate) bucket_count: u64,
    pub(crate) version: u64,
    changed: bool,
    failed: Option<Error>,
    ended: bool,
}

/// Committed pages as the transaction's tree code sees them.
pub(crate) struct Store<'a> {
    reader: PageReader<'a>,
    alloc: &'a mut TxAlloc,
    fl: &'a mut Freelist,
}

impl PageStore for Store<'_> {
    fn page(&self, id: PageId) -> Result<PageNode<'_>> {
        self.reader.node(id)
    }

    fn overflow(&self, r: &OverflowRef) -> Result<&[u8]> {
        self.reader.overflow(r)
    }

    fn free(&mut self, id: PageId, pages: u64) -> Result<()> {
        self.alloc.free(self.fl, id, pages).map_err(|o| {
            Error::corrupted(
                PageId(o.page),
                Corruption::Structure { what: "page referenced twice (freed twice)".into() },
            )
        })
    }
}

impl WriteTx {
    pub(crate) fn begin(db: Arc<DbInner>, wait: bool) -> Result<WriteTx> {
        let mut ws = db.acquire_writer(wait)?;
        let (meta, horizon) = db.current_and_horizon();
        let Some(txid) = meta.txid.0.checked_add(1).map(TxId) else {
            db.release_writer(ws);
            let what = format!("meta txid {} has no successor", meta.txid);
            return Err(Error::Corrupted { page: None, cause: Corruption::Meta { what } });
        };
        let mut fl = match ws.freelist.take() {
            Some(fl) => fl,
            None => match crate::check::load_freelist(&db.reader(meta.page_count), &meta) {
                Ok(fl) => fl,
                Err(e) => {
                    db.release_writer(ws);
                    return Err(e);
                }
            },
        };
        fl.release(horizon);
        let root = BucketState {
            parent: NO_PARENT,
            name: Vec::new(),
            keys: Root::from_page(meta.root.keys.root, meta.root.keys.count),
            children: Root::from_page(meta.root.children.root, meta.root.children.count),
            sequence: meta.root.sequence,
            alive: true,
            dirty: false,
            depth: 0,
        };
        Ok(WriteTx {
            serial: next_serial(),
            base: meta,
            txid,
            alloc: TxAlloc::new(txid, meta.page_count, db.max_pages),
            fl,
            arena: Arena::default(),
            buckets: vec![root],
            open: HashMap::new(),
            bucket_count: meta.bucket_count,
            version: 0,
            changed: false,
            failed: None,
            ended: false,
            db,
        })
    }

    /// The txid this transaction's commit will get.
    pub fn id(&self) -> u64 {
        self.txid.0
    }

    /// Whether an earlier error failed the transaction (it can only roll back).
    pub fn is_failed(&self) -> bool {
        self.failed.is_some()
    }

    /// The error that failed the transaction, if one did: a failed
    /// transaction answers every call with it, before looking at arguments.
    pub(crate) fn usable(&self) -> Result<()> {
        match &self.failed {
            Some(e) => Err(e.replay()),
            None => Ok(()),
        }
    }

    /// Runs `f` unless the transaction failed; fails it on a fatal error.
    pub(crate) fn guarded<R>(&mut self, f: impl FnOnce(&mut WriteTx) -> Result<R>) -> Result<R> {
        self.usable()?;
        let r = f(self);
        if let Err(e) = &r {
            if !e.kind().leaves_txn_usable() {
                self.failed = Some(e.replay());
            }
        }
        r
    }

    /// Records a change to bucket `slot`.
    pub(crate) fn touch(&mut self, slot: u32) {
        self.buckets[slot as usize].dirty = true;
        self.version += 1;
        self.changed = true;
    }

    /// The bucket table slot a handle names.
    pub(crate) fn slot(&self, bucket: Option<&Bucket>) -> Result<u32> {
        let Some(b) = bucket else { return Ok(0) };
        if b.txn != self.serial {
            return Err(Error::invalid("bucket handle belongs to another transaction"));
        }
        match b.at {
            BucketAt::Slot(s) => match self.buckets.get(s as usize) {
                Some(st) if st.alive => Ok(s),
                Some(st) => Err(Error::BucketNotFound { name: show_bytes(&st.name) }),
                None => Err(Error::Internal(format!("bucket slot {s} out of range"))),
            },
            BucketAt::Record(_) => Err(Error::invalid("bucket handle of a read transaction")),
        }
    }

    pub(crate) fn handle(&self, slot: u32) -> Bucket {
        Bucket { txn: self.serial, at: BucketAt::Slot(slot) }
    }

    /// Runs tree surgery on one tree of bucket `slot`.
    pub(crate) fn with_tree<R>(
        &mut self,
        slot: u32,
        tree: Tree,
        f: impl FnOnce(&mut TreeMut<'_, Store<'_>>, &mut Root) -> Result<R>,
    ) -> Result<R> {
        let WriteTx { db, arena, alloc, fl, buckets, .. } = self;
        let reader = db.reader(alloc.hwm);
        let mut store = Store { reader, alloc, fl };
        let mut tm = TreeMut::new(arena, &mut store, db.page_size);
        f(&mut tm, buckets[slot as usize].tree(tree))
    }

    /// Allocates `n` contiguous pages for new content.
    pub(crate) fn alloc_pages(&mut self, n: u64) -> Result<PageId> {
        let ps = self.db.page_size as u64;
        let p = self.alloc.alloc(&mut self.fl, n).map_err(|e| self.no_space(e))?;
        self.db.verified.clear_run(p.0, n);
        self.db.ensure_pages(self.alloc.hwm)?;
        debug_assert!((p.0 + n) * ps <= self.db.map.valid_len());
        Ok(p)
    }

    pub(crate) fn no_space(&self, e: AllocError) -> Error {
        let AllocError::Full { needed, max_pages } = e;
        Error::NoSpace {
            path: self.db.path.clone(),
            what: format!(
                "the database reached its max size of {} bytes ({needed} pages needed, {max_pages} allowed)",
                max_pages * self.db.page_size as u64
            ),
        }
    }

    /// Frees pages this transaction no longer references.
    pub(crate) fn free_pages(&mut self, id: PageId, n: u64) -> Result<()> {
        self.alloc.free(&mut self.fl, id, n).map_err(|o| {
            Error::corrupted(
                PageId(o.page),
                Corruption::Structure { what: "page referenced twice (freed twice)".into() },
            )
        })
    }

    fn free_overflow(&mut self, r: OverflowRef) -> Result<()> {
        self.free_pages(r.page, overflow::run_pages(r.len as u64, self.db.page_size))
    }

    /// Writes `value` to a new overflow run.
    fn write_overflow(&mut self, value: &[u8]) -> Result<OverflowRef> {
        let ps = self.db.page_size;
        let len = value.len() as u64;
        let first = self.alloc_pages(overflow::run_pages(len, ps))?;
        let header = overflow::header(first, self.txid, len, ps);
        let off = first.0 * ps as u64;
        let ops = [WriteOp { offset: off, data: &header }, WriteOp { offset: off + header.len() as u64, data: value }];
        self.db.io.write_batch(&ops).map_err(|e| Error::io("write overflow value", &self.db.path, Some(off), e))?;
        // We just wrote exactly what the reference describes.
        self.db.verified.set(first.0);
        Ok(OverflowRef { page: first, len: len as u32, crc: crc32fast::hash(value) })
    }

    /// The last key of a tree, if any.
    fn last_key(&self, root: Option<NodeRef>) -> Result<Option<Vec<u8>>> {
        let mut c = RawCursor::new(false);
        Ok(c.last(self, root, self.version)?.map(|(k, _)| k.to_vec()))
    }

    fn put_at(&mut self, bucket: Option<&Bucket>, key: &[u8], value: &[u8], flags: PutFlags) -> Result<()> {
        let slot = self.slot(bucket)?;
        check_key(key, self.db.max_key)?;
        if value.len() as u64 > MAX_VALUE_LEN {
            return Err(Error::ValueTooLarge { len: value.len() as u64, max: MAX_VALUE_LEN });
        }
        let root = self.buckets[slot as usize].keys.node;
        if flags.contains(PutFlags::APPEND) {
            if let Some(last) = self.last_key(root)? {
                if key <= last.as_slice() {
                    return Err(Error::invalid(format!(
                        "APPEND put of key {} not greater than the last key {}",
                        show_bytes(key),
                        show_bytes(&last)
                    )));
                }
            }
        } else if flags.contains(PutFlags::NO_OVERWRITE) && view::get(self, root, key)?.is_some() {
            return Err(Error::KeyExists);
        }
        let v = if value.len() > self.db.overflow_threshold {
            Value::Overflow(self.write_overflow(value)?)
        } else {
            Value::Inline(value)
        };
        let put = self.with_tree(slot, Tree::Keys, |t, root| t.put(root, key, v))?;
        if let Put::Replaced(Some(old)) = put {
            self.free_overflow(old)?;
        }
        self.touch(slot);
        Ok(())
    }

    pub(crate) fn delete_at(&mut self, bucket: Option<&Bucket>, key: &[u8]) -> Result<bool> {
        let slot = self.slot(bucket)?;
        check_key(key, self.db.max_key)?;
        match self.with_tree(slot, Tree::Keys, |t, root| t.delete(root, key))? {
            None => Ok(false),
            Some(old) => {
                if let Some(r) = old {
                    self.free_overflow(r)?;
                }
                self.touch(slot);
                Ok(true)
            }
        }
    }

    /// Stores `value` under `key` in the default keyspace.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.guarded(|tx| tx.put_at(None, key, value, PutFlags::NONE))
    }

    /// `put` with flags (`NO_OVERWRITE`, `APPEND`).
    pub fn put_with(&mut self, key: &[u8], value: &[u8], flags: PutFlags) -> Result<()> {
        self.guarded(|tx| tx.put_at(None, key, value, flags))
    }

    /// Stores `value` under `key` in `bucket`.
    pub fn put_in(&mut self, bucket: &Bucket, key: &[u8], value: &[u8]) -> Result<()> {
        self.guarded(|tx| tx.put_at(Some(bucket), key, value, PutFlags::NONE))
    }

    pub fn put_with_in(&mut self, bucket: &Bucket, key: &[u8], value: &[u8], flags: PutFlags) -> Result<()> {
        self.guarded(|tx| tx.put_at(Some(bucket), key, value, flags))
    }

    /// Removes `key` from the default keyspace; false if it was absent.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool> {
        self.guarded(|tx| tx.delete_at(None, key))
    }

    pub fn delete_in(&mut self, bucket: &Bucket, key: &[u8]) -> Result<bool> {
        self.guarded(|tx| tx.delete_at(Some(bucket), key))
    }

    /// `put_with` / `put_with_in` by an optional bucket, with the flags as
    /// C passes them: unknown bits are `InvalidArgument`, once the
    /// transaction is known not to have failed (the C layer's entry point).
    pub(crate) fn put_inner(&mut self, bucket: Option<&Bucket>, key: &[u8], value: &[u8], flags: u32) -> Result<()> {
        self.guarded(|tx| {
            let flags = PutFlags::from_bits(flags)
                .ok_or_else(|| Error::invalid(format!("argument `flags`: unknown bits {:#x}", flags & !3)))?;
            tx.put_at(bucket, key, value, flags)
        })
    }

    /// `delete` / `delete_in` by an optional bucket.
    pub(crate) fn delete_inner(&mut self, bucket: Option<&Bucket>, key: &[u8]) -> Result<bool> {
        self.guarded(|tx| tx.delete_at(bucket, key))
    }

    /// A cursor over `bucket` (None: the default keyspace) that can delete.
    pub fn write_cursor(&mut self, bucket: Option<&Bucket>) -> crate::cursor::WriteCursor<'_> {
        crate::cursor::WriteCursor::new(self, bucket.copied())
    }

    /// Deletes the item under `raw` (see `WriteCursor::delete`).
    pub(crate) fn cursor_delete(&mut self, bucket: Option<&Bucket>, raw: &mut RawCursor) -> Result<bool> {
        self.guarded(|tx| {
            tx.slot(bucket)?; // a deleted bucket says so before "no current item"
            let Some(key) = raw.current_key(&*tx, tx.version)? else { return Ok(false) };
            let deleted = tx.delete_at(bucket, &key)?;
            raw.mark_deleted(key);
            Ok(deleted)
        })
    }

    /// Ends the transaction, discarding its changes (the same as dropping it).
    pub fn rollback(mut self) {
        self.end(None);
    }

    /// Alias of `rollback`.
    pub fn abort(self) {
        self.rollback();
    }

    pub(crate) fn failure(&mut self) -> Option<Error> {
        self.failed.take()
    }

    pub(crate) fn has_changes(&self) -> bool {
        self.changed
    }

    /// Releases the writer: adopts a landed commit, or rolls back.
    pub(crate) fn end(&mut self, landed: Option<Persisted>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let alloc = std::mem::replace(&mut self.alloc, TxAlloc::new(TxId(0), 0, 0));
        match landed {
            Some(p) => alloc.adopt(&mut self.fl, p),
            None => alloc.rollback(&mut self.fl),
        }
        let fl = std::mem::take(&mut self.fl);
        self.db.free_pages.store(fl.free_pages(), std::sync::atomic::Ordering::Release);
        self.db.pending_pages.store(fl.pending_pages(), std::sync::atomic::Ordering::Release);
        self.db.release_writer(WriterState { freelist: Some(fl) });
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        self.end(None);
    }
}

impl NodeSource for WriteTx {
    fn view(&self, r: NodeRef) -> Result<NodeView<'_>> {
        match r {
            NodeRef::Dirty(id) => Ok(NodeView::Dirty(self.arena.get(id))),
            NodeRef::Page(p) => Ok(NodeView::Page(self.db.reader(self.alloc.hwm).node(p)?)),
        }
    }

    fn overflow(&self, r: &OverflowRef) -> Result<&[u8]> {
        self.db.reader(self.alloc.hwm).overflow(r)
    }
}

impl TxCore for WriteTx {
    fn version(&self) -> u64 {
        self.version
    }

    fn writable(&self) -> bool {
        true
    }

    fn max_key(&self) -> usize {
        self.db.max_key
    }

    fn tree_root(&self, bucket: Option<&Bucket>, tree: Tree) -> Result<Option<NodeRef>> {
        self.usable()?;
        let b = &self.buckets[self.slot(bucket)? as usize];
        Ok(match tree {
            Tree::Keys => b.keys.node,
            Tree::Children => b.children.node,
        })
    }
}

read_api!(WriteTx);
