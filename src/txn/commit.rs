//! Commit, as a list of named phases (`WriteTx::commit_phases`):
//! 0. overflow values: written at put time, to freshly allocated runs
//!    (`WriteTx::write_overflow`), so commit never holds them in memory;
//! 1. records (`write_records`): every changed bucket (and each of its
//!    ancestors), deepest first, writes its dirty trees to new pages and its
//!    record into its parent's catalog; the root's record goes to the meta.
//!    Each branch node encoded is staged in the writer's `NodeCache`, which
//!    keeps it when the commit lands (`land`) for the next transaction that
//!    copies that page;
//! 2. freelist (`write_freelist`): the change to the free set (a log page or
//!    a fresh snapshot);
//! 3. pages (`PageSink::flush`): the file is grown and every new page
//!    written, then, when the commit makes itself durable, the data synced
//!    (linked after the writes where the backend can);
//! 4. log (`write_log`, with a WAL only): the transaction's records are
//!    appended to the log (no fsync). Under `SyncMode::Full` this comes
//!    first (`log_before_pages`): the disk writes the records while phases
//!    1 to 3 run, and a failure in them (a page write, a full disk growing
//!    the file) drops the commit from the log (`Env::log_retract`);
//! 5. make durable: without a WAL (`make_durable`), under `SyncMode::Full`,
//!    the meta is written to the slot not holding the durable meta and
//!    synced; with a WAL under `SyncMode::Full`, the commit
//!    lands, the writer slot is released, and it waits for its group's log
//!    sync (`Env::log_wait_durable`) before publishing; the weaker modes
//!    leave it to the next sync;
//! 6. publish (`publish`): new readers see the commit, and the pages it freed
//!    become pending at its txid (the allocator's changes are adopted).
//!
//! Then `end` releases the writer slot (rolling back if publish was not
//! reached), and `Env::after_commit` asks the syncer thread for a checkpoint
//! when the pages only the durable snapshot pins passed
//! `Options::autosync_bytes` (a steady point) or the log its size or
//! interval (making it here only when the syncer is twice behind), or syncs
//! when the batched interval passed.

use crate::alloc::{Meta, Persisted, TxAlloc};
use crate::env::{Env, Returning};
use crate::error::{Error, Result};
use crate::options::SyncMode;
use crate::storage::{stored_checksum, WriteOp};
use crate::tree::{BucketRecord, NodeRef, TreeRef, Value};
use crate::txn::{Tree, WriteTx};
use crate::types::{Lsn, PageId, TxId};

/// Pages are handed to the backend in batches of about this many bytes.
/// The batch buffer adds to a big commit's peak memory (all its dirty nodes
/// are still alive when the first batch fills); 2 MiB writes cost no more per
/// byte than 8 MiB ones did, and are 6 MiB less of a bulk load's peak RSS.
const FLUSH_BYTES: usize = 2 << 20;

/// A page buffer up to this size is kept for the writer's next commit.
/// A small commit used to grow a fresh one page by page: the reallocs and
/// the zeroing of each new page were 18% of a one-put commit's
/// instructions. A commit of 1,000 random puts (about 950 pages, flushed
/// every `FLUSH_BYTES`) then freed its 2 MiB buffer, and the next one grew
/// it again through reallocs and fresh pages: 2% of its time in the
/// copies alone. Larger buffers (a freelist snapshot's run) are freed.
const KEEP_BUF_BYTES: usize = FLUSH_BYTES + (256 << 10);

/// A commit needing more new pages than this grows the file to fit at once.
const GROW_AT_ONCE_MIN: u64 = 1024;
/// Pages allowed for the freelist's writes in that growth.
const FREELIST_MARGIN: u64 = 64;

/// What follows a `PageSink::flush`'s writes.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Then {
    /// Nothing now: a later steady point or checkpoint syncs them.
    Nothing,
    /// More pages of this commit, then its data sync: the disk starts on
    /// these now (`IoBackend::start_writeback`) rather than at the sync.
    /// Bulk loads, medians of 4 interleaved runs: the commit of 1M keys
    /// 0.67 s -> 0.57 s; 3 runs at 4M keys each 0.3-1.2 s shorter.
    Writeback,
    /// The data file's sync, linked where the backend can
    /// (`Env::write_synced`).
    Sync,
}

/// A logged commit's records, appended before its pages are written
/// (`WriteTx::log_before_pages`): the log holds the commit, and a group's
/// sync may make it durable at any moment. Unless it is kept (the pages are
/// written), the commit is dropped from the log (`Env::log_retract`), on an
/// error or a panic alike.
struct Appended<'a> {
    env: &'a Env,
    txid: TxId,
    /// Where the records end; None once kept or retracted (or for a
    /// transaction that logged nothing).
    end: Option<Lsn>,
}

impl Appended<'_> {
    fn keep(mut self) {
        self.end = None;
    }

    /// Drops the commit from the log, which failed with `e`. Dropping it
    /// failing too poisons the database, and the error says so: the commit
    /// may then come back at the next open.
    fn retract(mut self, e: Error) -> Error {
        let Some(end) = self.end.take() else { return e };
        match self.env.log_retract(self.txid, end) {
            Ok(()) => e,
            Err(r) => Error::Poisoned {
                op: "commit",
                cause: format!(
                    "{e}; dropping the commit from the write-ahead log failed too ({r}), so it may come back whole at the next open"
                ),
            },
        }
    }
}

impl Drop for Appended<'_> {
    fn drop(&mut self) {
        if let Some(end) = self.end.take() {
            let _ = self.env.log_retract(self.txid, end);
        }
    }
}

/// New pages waiting to be written.
struct PageSink {
    /// Pages waiting, in `buf[..len]`; the bytes past `len` are earlier
    /// batches' (or an earlier commit's), kept so that a page buffer is not
    /// zeroed before its writer overwrites it (the zeroing was 8% of a bulk
    /// load's instructions).
    buf: Vec<u8>,
    len: usize,
    ids: Vec<PageId>,
    /// Which of `ids` are tree nodes (`node`): marked verified once written.
    nodes: Vec<PageId>,
    page_size: usize,
}

impl PageSink {
    /// A sink writing through `buf`, whatever it holds.
    fn new(page_size: usize, buf: Vec<u8>) -> PageSink {
        PageSink { buf, len: 0, ids: Vec::new(), nodes: Vec::new(), page_size }
    }

    /// The buffer, to keep for the next commit when it is small.
    fn into_buffer(self) -> Vec<u8> {
        if self.buf.capacity() <= KEEP_BUF_BYTES {
            self.buf
        } else {
            Vec::new()
        }
    }

    /// A page buffer for page `id`, holding stale bytes: the caller writes
    /// every byte of it (`Node::encode` does, header to zeroed tail; `run`
    /// copies whole pages).
    fn page(&mut self, id: PageId) -> &mut [u8] {
        let at = self.len;
        self.ids.push(id);
        self.len += self.page_size;
        if self.buf.len() < self.len {
            // Doubling, but not past what a flush holds, so that the
            // buffer of a commit that flushes stays small enough to keep.
            let cap = (self.buf.capacity() * 2).min(FLUSH_BYTES + self.page_size).max(self.len);
            self.buf.reserve_exact(cap - self.buf.len());
            self.buf.resize(self.len, 0);
        }
        &mut self.buf[at..self.len]
    }

    /// `page` for a tree node's encoding. Once written, the page is marked
    /// verified: this process made it and can read it without checking its
    /// checksum. The next reader of each commit's new path used to verify
    /// it again: a CRC over each page, on the hot path of every workload
    /// that mixes reads with small commits.
    fn node(&mut self, id: PageId) -> &mut [u8] {
        self.nodes.push(id);
        self.page(id)
    }

    /// A run of pages starting at `first`.
    fn run(&mut self, first: PageId, bytes: &[u8]) {
        for (i, chunk) in bytes.chunks(self.page_size).enumerate() {
            self.page(PageId(first.0 + i as u64)).copy_from_slice(chunk);
        }
    }

    /// Writes the waiting pages, and what follows them (`Then`).
    fn flush(&mut self, env: &Env, page_count: u64, then: Then) -> Result<()> {
        if self.ids.is_empty() && then != Then::Sync {
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
        if then == Then::Sync {
            env.write_synced("write pages", &ops)?;
        } else {
            env.pages
                .io
                .write_batch(&ops)
                .map_err(|e| Error::io("write pages", &env.config.path, Some(ops[0].offset), e))?;
            if then == Then::Writeback {
                // Only a hint: the commit's sync reports any failure.
                let (first, last) = (ops[0].offset, ops[ops.len() - 1].offset + ps as u64);
                let _ = env.pages.io.start_writeback(first..last);
            }
        }
        for id in self.nodes.drain(..) {
            env.pages.verified.set(id.0);
        }
        self.len = 0;
        self.ids.clear();
        Ok(())
    }
}

impl WriteTx {
    /// Makes the transaction's changes durable (per the sync mode) and
    /// visible. On error nothing is committed and the transaction is gone.
    pub fn commit(mut self) -> Result<()> {
        // A failure applying the deferred puts fails the transaction, and
        // commit reports it as the call that met it. Their buffer goes
        // before the pages are written: it would add to a bulk load's peak
        // memory.
        let applied = self.flush_deferred();
        self.drop_deferred();
        if let Some(e) = applied.err().or_else(|| self.failure()) {
            self.end();
            return Err(e);
        }
        if !self.has_changes() {
            self.end();
            return Ok(());
        }
        let res = self.commit_phases();
        // The writer slot is free from here: a logged commit waits for its
        // group's sync without holding it, still an open transaction.
        let _returning = Returning::new(&self.env);
        self.end();
        let res = match res {
            Ok(Some((meta, lsn))) => self.env.log_wait_durable(lsn).map(|()| self.env.readers.publish_newer(meta)),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if res.is_ok() {
            self.env.after_commit();
        }
        res
    }

    /// A logged commit under `SyncMode::Full` up to the point where it
    /// waits for its group's log sync: landed (the next writer builds on
    /// it) and the writer slot released, not yet published. The returned
    /// function does the rest of `commit` (the wait, then publishing).
    #[cfg(test)]
    pub(crate) fn commit_until_landed(mut self) -> Result<impl FnOnce() -> Result<()>> {
        self.flush_deferred()?;
        let res = self.commit_phases();
        let returning = Returning::new(&self.env);
        self.end();
        let (meta, lsn) =
            res?.ok_or_else(|| Error::Internal("the commit was published at once (no log, or a weak mode)".into()))?;
        let env = self.env.clone();
        Ok(move || {
            let _returning = returning;
            env.log_wait_durable(lsn).map(|()| env.readers.publish_newer(meta))
        })
    }

    /// The phases of the module doc, in order. Returns the meta and LSN a
    /// logged commit under `SyncMode::Full` must wait for before readers see
    /// it (phase 4 of a logged commit); None when it is published already.
    fn commit_phases(&mut self) -> Result<Option<(Meta, Lsn)>> {
        let env = self.env.clone();
        // A group commit leader waits for this commit to append (gathers).
        let under_way = env.log().filter(|_| !self.replaying()).map(|l| l.group.committing());
        let mut sink = PageSink::new(self.env.config.page_size, std::mem::take(&mut self.page_buf));
        let (root, persisted, logged) = if self.log_before_pages() {
            let logged = self.write_log(true)?;
            drop(under_way);
            let appended = Appended { env: &env, txid: self.txid, end: logged };
            match self.write_pages(&mut sink, Then::Nothing) {
                Ok((root, persisted)) => {
                    appended.keep();
                    (root, persisted, logged)
                }
                Err(e) => return Err(appended.retract(e)),
            }
        } else {
            let then = if self.durable_at_commit() { Then::Sync } else { Then::Nothing };
            let (root, persisted) = self.write_pages(&mut sink, then)?;
            let logged = self.write_log(false)?;
            drop(under_way);
            (root, persisted, logged)
        };
        self.page_buf = sink.into_buffer();
        let meta = Meta {
            txid: self.txid,
            page_size: self.base.page_size,
            page_count: self.alloc.hwm,
            root,
            bucket_count: self.bucket_count,
            freelist: persisted.meta_ref,
            checkpoint_lsn: logged.map_or(self.base.checkpoint_lsn, |l| l.0),
            db_id: self.base.db_id,
            // Set as the log stands when a meta is written (`write_meta`).
            log: crate::alloc::LogMark::Unknown,
            freelist_deferred: persisted.deferred(),
        };
        if let (Some(lsn), SyncMode::Full, false) = (logged, self.env.config.sync_mode, self.replaying()) {
            self.land(meta, persisted);
            return Ok(Some((meta, lsn)));
        }
        self.make_durable(&meta)?;
        self.publish(meta, persisted);
        Ok(None)
    }

    /// Phases 1 to 3.
    fn write_pages(&mut self, sink: &mut PageSink, then: Then) -> Result<(BucketRecord, Persisted)> {
        let root = self.write_records(sink)?;
        let persisted = self.write_freelist(sink)?;
        sink.flush(&self.env, self.alloc.hwm, then)?;
        Ok((root, persisted))
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

    /// Phase 1: writes every changed bucket's trees and records; returns
    /// the root bucket's record.
    fn write_records(&mut self, sink: &mut PageSink) -> Result<BucketRecord> {
        let mut root = self.base.root;
        // One run for the dirty nodes where the pool has one: one write.
        let live = self.arena.live() as u64;
        self.alloc.reserve(&mut self.fl, live);
        // Otherwise the file grows once, to what the nodes need past the pool
        // (and a little for the freelist's pages), rather than in the eighth-
        // of-the-file steps of page-by-page growth, which left a bulk load's
        // file up to an eighth larger than its pages (make bench: 298 MB for
        // 275 MB of pages, LMDB 276 MB).
        if self.alloc.reserved_pages() == 0 {
            let beyond = live.saturating_sub(self.fl.pool.pages());
            if beyond > GROW_AT_ONCE_MIN {
                self.env.ensure_pages(self.alloc.hwm + beyond + FREELIST_MARGIN)?;
            }
        }
        for s in self.commit_order() {
            let keys = self.spill(s, Tree::Keys, sink)?;
            let children = self.spill(s, Tree::Children, sink)?;
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
        self.alloc.unreserve(&mut self.fl);
        Ok(root)
    }

    /// Phase 2: the change to the free set, into `sink`; or nothing, when
    /// the commit may defer it (`defers_freelist`).
    fn write_freelist(&mut self, sink: &mut PageSink) -> Result<Persisted> {
        if self.defers_freelist() {
            return Ok(self.alloc.defer(self.base.freelist));
        }
        let persisted = self.alloc.persist(&mut self.fl, self.env.config.page_size).map_err(|e| self.no_space(e))?;
        for (id, bytes) in &persisted.pages {
            sink.run(*id, bytes);
        }
        Ok(persisted)
    }

    /// Whether this commit may leave its change to the free set unwritten:
    /// under the weak sync modes, and with a log, where no meta is made
    /// durable per commit, only the meta a steady point (or checkpoint)
    /// writes needs its freelist on disk. A profile of one-put commits under
    /// `SyncMode::None` had a quarter of the commit in writing the
    /// freelist (its log page, a second write per commit, and the
    /// snapshot rewrites); a logged commit wrote it too, for a meta only a
    /// checkpoint writes. A commit after which a steady point, the batched
    /// sync or a checkpoint is due writes it (carrying what earlier commits
    /// deferred), so the steady point finds the latest meta complete; so
    /// does one whose stored freelist was rebuilt. (Replay at open runs
    /// before the log is attached, as a commit of its own mode.)
    fn defers_freelist(&self) -> bool {
        let env = &self.env;
        let log = env.log();
        (env.config.sync_mode != SyncMode::Full || log.is_some())
            && !self.fl.force_compact
            && !env.steady_point_due_after(self.alloc.freed_pages())
            // A batched sync with a log syncs the log only: it needs no
            // freelist on disk.
            && (log.is_some() || !env.sync_due())
            && !log.is_some_and(|l| l.checkpoint_due().0)
    }

    /// Whether this commit appends its records to the log before it
    /// writes its pages (phases 1 to 3): a logged commit under
    /// `SyncMode::Full`, whose group sync follows. The disk then writes the
    /// records while the pages are encoded and written
    /// (`WalWriter::append_then`), and a leader's sync may start as soon as
    /// they are appended. One-put commits (make bench's w1, 5 interleaved
    /// runs each): 9,158 commits/s with the pages first, 9,753 with the
    /// records appended before the pages were written, 10,236 (against
    /// 9,836 in the same runs) appended before they were encoded.
    fn log_before_pages(&self) -> bool {
        self.env.log().is_some() && self.env.config.sync_mode == SyncMode::Full && !self.replaying()
    }

    /// Whether this commit makes itself durable (`SyncMode::Full` without a
    /// log): then phase 3 syncs the data after the pages, and phase 4
    /// writes and syncs the meta. A logged or replayed commit leaves that
    /// to checkpoints.
    fn durable_at_commit(&self) -> bool {
        self.env.config.sync_mode == SyncMode::Full && self.env.log().is_none() && !self.replaying()
    }

    /// Phase 4 without a log: under `SyncMode::Full`, the meta, synced
    /// (the data was synced by phase 3).
    fn make_durable(&self, meta: &Meta) -> Result<()> {
        if self.durable_at_commit() {
            self.env.commit_durable(meta)?;
        }
        Ok(())
    }

    /// Phase 5: new readers see `meta`, and the commit lands (`land`).
    fn publish(&mut self, meta: Meta, persisted: Persisted) {
        self.env.readers.publish(meta);
        debug_assert!(self.env.durability.durable_txid() <= meta.txid);
        self.land(meta, persisted);
    }

    /// The allocator's changes are adopted, so the pages this commit freed
    /// become pending at its txid, and `meta` is what the next writer
    /// builds on.
    fn land(&mut self, meta: Meta, persisted: Persisted) {
        let alloc = std::mem::replace(&mut self.alloc, TxAlloc::new(TxId(0), 0, 0));
        let freed = alloc.adopt(&mut self.fl, persisted);
        self.nodes.admit(meta.txid);
        if self.env.config.sync_mode != SyncMode::Full || self.env.log().is_some() {
            self.env.note_freed(freed);
        }
        self.landed = Some(meta);
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
            if let Some((j, child)) = self.arena.get(id).next_dirty_child(i) {
                stack.push((id, j + 1));
                stack.push((child, 0));
                continue;
            }
            let page = self.alloc_pages(1)?;
            let buf = sink.node(page);
            let node = self.arena.get(id);
            node.encode(buf, page, self.txid)?;
            // The page is marked verified once written (`PageSink::node`).
            #[cfg(debug_assertions)]
            if let Err(cause) = crate::tree::validate_page(buf, page) {
                panic!("node encoded to page {page} does not validate: {cause:?}");
            }
            // A leaf stays in the arena, freed with it once the commit is
            // done. Dropped here, one by one, their buffers went back to
            // malloc between the allocations of each flush, and each of
            // those first sorted the thousands of chunks freed since: a
            // 4M-key bulk load's commit spent 48% of its time in
            // `_int_malloc` under `PageSink::flush`.
            if !node.is_leaf() {
                self.nodes.stage(page, self.arena.take(id), stored_checksum(buf));
            }
            match stack.last() {
                Some(&(parent, next)) => self.arena.get_mut(parent).set_child(next - 1, NodeRef::Page(page)),
                None => root = page,
            }
            if sink.len >= FLUSH_BYTES {
                let then = if self.durable_at_commit() { Then::Writeback } else { Then::Nothing };
                sink.flush(&self.env, self.alloc.hwm, then)?;
            }
        }
        self.buckets[s as usize].tree(tree).node = Some(NodeRef::Page(root));
        Ok(root)
    }
}
