//! The write transaction: dirty trees over the snapshot it started from.
//!
//! Failure rule: an error of a kind that can leave the transaction half-done
//! (I/O, no space, corruption, internal) fails the transaction. Every later
//! call repeats that error, reads included, and commit rolls back.

use std::collections::HashMap;
use std::ops::BitOr;
use std::sync::Arc;

use crate::alloc::{AllocError, Freelist, Meta, TxAlloc};
use crate::env::{next_serial, Env, WriterState};
use crate::error::{show_bytes, Corruption, Error, Result};
use crate::storage::{Header, WriteOp, HEADER_LEN};
use crate::tree::{
    self, overflow_header, overflow_run_pages, Arena, Node, NodeCache, NodeRef, NodeSource, NodeView, OverflowRef,
    PageNode, PageReader, PageStore, Put, RawCursor, Root, TreeMut, Value, MAX_VALUE_LEN,
};
use crate::txn::deferred::{self, DeferredPuts};
use crate::txn::log::TxLog;
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

    /// Every flag.
    pub const ALL: PutFlags = PutFlags(3);

    /// Flags from their bits; None for unknown bits.
    pub fn from_bits(bits: u32) -> Option<PutFlags> {
        (bits & !PutFlags::ALL.0 == 0).then_some(PutFlags(bits))
    }

    pub fn bits(self) -> u32 {
        self.0
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
    pub(crate) env: Arc<Env>,
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
    /// Its records for the write-ahead log.
    pub(crate) log: TxLog,
    /// The meta of this commit once its allocator changes are adopted
    /// (nothing to roll back then); handed to the next writer.
    pub(crate) landed: Option<Meta>,
    /// The page buffer of the writer's last commit, for this one's.
    pub(crate) page_buf: Vec<u8>,
    /// Branches earlier commits wrote, decoded (`tree::cache`).
    pub(crate) nodes: NodeCache,
    /// Plain puts not applied yet (`put_deferred`).
    deferred: DeferredPuts,
    ended: bool,
}

/// Committed pages as the transaction's tree code sees them.
pub(crate) struct Store<'a> {
    reader: PageReader<'a>,
    alloc: &'a mut TxAlloc,
    fl: &'a mut Freelist,
    nodes: &'a mut NodeCache,
}

impl PageStore for Store<'_> {
    fn page(&self, id: PageId) -> Result<PageNode<'_>> {
        self.reader.node(id)
    }

    fn overflow(&self, r: &OverflowRef) -> Result<&[u8]> {
        self.reader.overflow(r)
    }

    fn prefetch(&self, id: PageId) {
        self.reader.prefetch(NodeRef::Page(id));
    }

    fn take_node(&mut self, id: PageId) -> Option<Node> {
        let header = self.reader.raw(id, 1).ok()?;
        self.nodes.take(id, &header[..HEADER_LEN])
    }

    fn free(&mut self, id: PageId, pages: u64) -> Result<()> {
        self.alloc.free(self.fl, id, pages).map_err(|o| freed_twice(o.page))
    }

    fn free_copied(&mut self, id: PageId) -> Result<()> {
        let born = Header::txid_of(self.reader.raw(id, 1)?);
        self.alloc.free_copied(self.fl, id, born).map_err(|o| freed_twice(o.page))
    }
}

fn freed_twice(page: u64) -> Error {
    Error::corrupted(PageId(page), Corruption::Structure { what: "page referenced twice (freed twice)".into() })
}

impl WriteTx {
    pub(crate) fn begin(env: Arc<Env>, wait: bool) -> Result<WriteTx> {
        let mut ws = env.acquire_writer(wait)?;
        let (published, horizon) = env.current_and_horizon();
        // A logged commit is handed over before readers see it. The head
        // stays in `ws` until the transaction takes the slot's state: an
        // early return below gives it back with the slot.
        let meta = ws.head.filter(|h| h.txid > published.txid).unwrap_or(published);
        let Some(txid) = meta.txid.0.checked_add(1).map(TxId) else {
            env.release_writer(ws);
            let what = format!("meta txid {} has no successor", meta.txid);
            return Err(Error::Corrupted { page: None, cause: Corruption::Meta { what } });
        };
        let mut fl = match ws.freelist.take() {
            Some(fl) => fl,
            None => match crate::alloc::load_freelist(&env.pages.reader(meta.page_count), &meta) {
                Ok(fl) => fl,
                Err(e) => {
                    env.release_writer(ws);
                    return Err(e);
                }
            },
        };
        // Young pages the release finds pinned by a durable snapshot count
        // toward the steady-point threshold from now on.
        env.note_freed(fl.release(&horizon));
        let mut alloc = TxAlloc::new(txid, meta.page_count, env.pages.max_pages);
        alloc.young_after(horizon.young_floor());
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
            alloc,
            fl,
            arena: Arena::default(),
            buckets: vec![root],
            open: HashMap::new(),
            bucket_count: meta.bucket_count,
            version: 0,
            changed: false,
            failed: None,
            log: TxLog::begin(env.log().is_some(), txid, std::mem::take(&mut ws.log_buf)),
            landed: None,
            page_buf: std::mem::take(&mut ws.page_buf),
            nodes: std::mem::take(&mut ws.nodes),
            deferred: DeferredPuts::default(),
            ended: false,
            env,
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
    pub fn ensure_usable(&self) -> Result<()> {
        match &self.failed {
            Some(e) => Err(e.replay()),
            None => Ok(()),
        }
    }

    /// Runs `f` unless the transaction failed, the deferred puts applied
    /// first; fails it on a fatal error.
    pub(crate) fn guarded<R>(&mut self, f: impl FnOnce(&mut WriteTx) -> Result<R>) -> Result<R> {
        self.flush_deferred()?;
        self.ensure_usable()?;
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
        let WriteTx { env, arena, alloc, fl, buckets, nodes, .. } = self;
        let reader = env.pages.reader(alloc.hwm);
        let mut store = Store { reader, alloc, fl, nodes };
        let mut tm = TreeMut::new(arena, &mut store, env.config.page_size);
        f(&mut tm, buckets[slot as usize].tree(tree))
    }

    /// Allocates `n` contiguous pages for new content.
    pub(crate) fn alloc_pages(&mut self, n: u64) -> Result<PageId> {
        let ps = self.env.config.page_size as u64;
        let p = self.alloc.alloc(&mut self.fl, n).map_err(|e| self.no_space(e))?;
        self.env.pages.verified.clear_run(p.0, n);
        self.env.ensure_pages(self.alloc.hwm)?;
        debug_assert!((p.0 + n) * ps <= self.env.pages.map.valid_len());
        Ok(p)
    }

    pub(crate) fn no_space(&self, e: AllocError) -> Error {
        let AllocError::Full { needed, max_pages } = e;
        Error::NoSpace {
            path: self.env.config.path.clone(),
            what: format!(
                "the database reached its max size of {} bytes ({needed} pages needed, {max_pages} allowed)",
                max_pages * self.env.config.page_size as u64
            ),
        }
    }

    /// Frees pages this transaction no longer references.
    pub(crate) fn free_pages(&mut self, id: PageId, n: u64) -> Result<()> {
        self.alloc.free(&mut self.fl, id, n).map_err(|o| freed_twice(o.page))
    }

    fn free_overflow(&mut self, r: OverflowRef) -> Result<()> {
        self.free_pages(r.page, overflow_run_pages(r.len as u64, self.env.config.page_size))
    }

    /// Writes `value` to a new overflow run.
    fn write_overflow(&mut self, value: &[u8]) -> Result<OverflowRef> {
        let ps = self.env.config.page_size;
        let len = value.len() as u64;
        let first = self.alloc_pages(overflow_run_pages(len, ps))?;
        let header = overflow_header(first, self.txid, len, ps);
        let off = first.0 * ps as u64;
        let ops = [WriteOp { offset: off, data: &header }, WriteOp { offset: off + header.len() as u64, data: value }];
        self.env
            .pages
            .io
            .write_batch(&ops)
            .map_err(|e| Error::io("write overflow value", &self.env.config.path, Some(off), e))?;
        // We just wrote exactly what the reference describes.
        self.env.pages.verified.set(first.0);
        Ok(OverflowRef { page: first, len: len as u32, crc: crc32fast::hash(value) })
    }

    /// The last key of a tree, if any.
    fn last_key(&self, root: Option<NodeRef>) -> Result<Option<Vec<u8>>> {
        let mut c = RawCursor::new(false);
        Ok(c.last(self, root, self.version)?.map(|(k, _)| k.to_vec()))
    }

    /// The bucket slot of a put, its key and value checked.
    fn check_put(&self, bucket: Option<&Bucket>, key: &[u8], value: &[u8]) -> Result<u32> {
        let slot = self.slot(bucket)?;
        check_key(key, self.env.config.max_key)?;
        if value.len() as u64 > MAX_VALUE_LEN {
            return Err(Error::ValueTooLarge { len: value.len() as u64, max: MAX_VALUE_LEN });
        }
        Ok(slot)
    }

    fn put_at(&mut self, bucket: Option<&Bucket>, key: &[u8], value: &[u8], flags: PutFlags) -> Result<()> {
        let slot = self.check_put(bucket, key, value)?;
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
        } else if flags.contains(PutFlags::NO_OVERWRITE) && tree::get(self, root, key)?.is_some() {
            return Err(Error::KeyExists);
        }
        let v = if value.len() > self.env.config.overflow_threshold {
            Value::Overflow(self.write_overflow(value)?)
        } else {
            Value::Inline(value)
        };
        self.apply_put(slot, key, v)?;
        self.log_put(slot, key, value);
        Ok(())
    }

    /// Puts `v` under `key` in bucket `slot`'s tree.
    fn apply_put(&mut self, slot: u32, key: &[u8], v: Value<'_>) -> Result<()> {
        let put = self.with_tree(slot, Tree::Keys, |t, root| t.put(root, key, v))?;
        if let Put::Replaced(Some(old)) = put {
            self.free_overflow(old)?;
        }
        self.touch(slot);
        Ok(())
    }

    /// `put_in` (or `put` with no bucket), applied later (`txn::deferred`):
    /// checked and logged now, kept when it is a put of an inline value
    /// into the bucket the deferred puts go to. Reads through `&self` do
    /// not see it until `flush_deferred` applies it, which every other
    /// change and commit do first: a caller deferring puts applies them
    /// before each read.
    pub(crate) fn put_deferred(&mut self, bucket: Option<&Bucket>, key: &[u8], value: &[u8]) -> Result<()> {
        self.ensure_usable()?;
        if value.len() > self.env.config.overflow_threshold {
            return self.guarded(|tx| tx.put_at(bucket, key, value, PutFlags::NONE));
        }
        let slot = self.check_put(bucket, key, value)?;
        let limit = deferred::limit(self.arena.live() * self.env.config.page_size);
        if !self.deferred.admits(slot, key.len() + value.len(), limit) {
            self.flush_deferred()?;
        }
        self.deferred.push(slot, key, value);
        self.touch(slot);
        self.log_put(slot, key, value);
        Ok(())
    }

    /// Frees the (applied) deferred puts' buffer.
    pub(crate) fn drop_deferred(&mut self) {
        debug_assert!(self.deferred.is_empty() || self.failed.is_some());
        self.deferred = DeferredPuts::default();
    }

    /// Applies the deferred puts. An error fails the transaction, whatever
    /// its kind: the puts were acknowledged and logged.
    pub(crate) fn flush_deferred(&mut self) -> Result<()> {
        if self.deferred.is_empty() {
            return Ok(());
        }
        self.ensure_usable()?;
        let mut puts = std::mem::take(&mut self.deferred);
        let res = puts.drain(|slot, key, value| self.apply_put(slot, key, Value::Inline(value)));
        self.deferred = puts;
        if let Err(e) = &res {
            self.failed = Some(e.replay());
        }
        res
    }

    pub(crate) fn delete_at(&mut self, bucket: Option<&Bucket>, key: &[u8]) -> Result<bool> {
        let slot = self.slot(bucket)?;
        check_key(key, self.env.config.max_key)?;
        match self.with_tree(slot, Tree::Keys, |t, root| t.delete(root, key))? {
            None => Ok(false),
            Some(old) => {
                if let Some(r) = old {
                    self.free_overflow(r)?;
                }
                self.touch(slot);
                self.log_delete(slot, key);
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
    pub fn abort(mut self) {
        self.end();
    }

    pub(crate) fn failure(&mut self) -> Option<Error> {
        self.failed.take()
    }

    pub(crate) fn has_changes(&self) -> bool {
        self.changed
    }

    /// Releases the writer slot, rolling back unless the commit published.
    pub(crate) fn end(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        if self.landed.is_none() {
            let alloc = std::mem::replace(&mut self.alloc, TxAlloc::new(TxId(0), 0, 0));
            alloc.rollback(&mut self.fl);
            self.nodes.discard();
        }
        let fl = std::mem::take(&mut self.fl);
        self.env.free_pages.store(fl.free_pages(), std::sync::atomic::Ordering::Release);
        self.env.pending_pages.store(fl.pending_pages(), std::sync::atomic::Ordering::Release);
        let page_buf = std::mem::take(&mut self.page_buf);
        let nodes = std::mem::take(&mut self.nodes);
        let log_buf = std::mem::replace(&mut self.log, TxLog::Off).into_buffer();
        // Rolled back, the transaction hands on the meta it built on: that
        // may be a logged commit that landed and waits for its log sync,
        // whose changes the free set holds (`begin` ignores a head that is
        // not newer than the published meta).
        let head = Some(self.landed.unwrap_or(self.base));
        self.env.release_writer(WriterState { freelist: Some(fl), head, page_buf, nodes, log_buf });
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        self.end();
    }
}

impl NodeSource for WriteTx {
    fn view(&self, r: NodeRef) -> Result<NodeView<'_>> {
        match r {
            NodeRef::Dirty(id) => Ok(NodeView::Dirty(self.arena.get(id))),
            NodeRef::Page(p) => Ok(NodeView::Page(self.env.pages.reader(self.alloc.hwm).node(p)?)),
        }
    }

    fn overflow(&self, r: &OverflowRef) -> Result<&[u8]> {
        self.env.pages.reader(self.alloc.hwm).overflow(r)
    }

    #[inline]
    fn prefetch(&self, r: NodeRef) {
        self.env.pages.reader(self.alloc.hwm).prefetch(r);
    }
}

impl TxCore for WriteTx {
    fn serial(&self) -> u64 {
        self.serial
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn writable(&self) -> bool {
        true
    }

    fn max_key(&self) -> usize {
        self.env.config.max_key
    }

    fn tree_root(&self, bucket: Option<&Bucket>, tree: Tree) -> Result<Option<NodeRef>> {
        self.ensure_usable()?;
        let b = &self.buckets[self.slot(bucket)? as usize];
        Ok(match tree {
            Tree::Keys => b.keys.node,
            Tree::Children => b.children.node,
        })
    }
}

read_api!(WriteTx);
