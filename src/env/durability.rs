//! Durability: which meta slot is durable and at which txid, writing and
//! syncing metas, and the poison a failed fsync or meta write leaves.
//!
//! Meta pages are written only under the sync state's lock, which tracks the
//! slot of the last durable meta; the next meta goes to the other slot.
//! A failed fsync poisons the database (pages written since the last good
//! sync are suspect), and so does a failed meta write of a commit (see
//! `commit_durable`): writes are refused until the database is reopened.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::alloc::{LogMark, Meta, MetaRead};
use crate::env::lock_order::{Rank, RankedMutex};
use crate::env::syncer::Syncer;
use crate::env::Env;
use crate::error::{Corruption, Error, Result};
use crate::options::SyncMode;
use crate::storage::{WriteOp, WriteSyncError};
use crate::types::{Lsn, PageId, TxId};

/// Who asks for a sync or checkpoint, which decides whether it waits for
/// the writer slot when the latest meta's freelist must be written (see
/// `write_durable_meta`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum By {
    /// An API call: waits without a log; with one, never waits for a
    /// write transaction (which may be the caller's own, begun on another
    /// thread), the log keeping the commits after the meta it makes
    /// durable.
    Caller,
    /// The last handle's close, which then marks the log clean and cuts
    /// it: the newest commit must be durable, so it waits (a transaction
    /// begun on a clone may still be ending).
    Close,
    /// The syncer or a commit's steady point: never waits.
    Background,
}

#[derive(Debug)]
pub(crate) struct Durability {
    sync: RankedMutex<SyncState>,
    durable_txid: AtomicU64,
    /// The WAL position of the durable meta: replay starts there.
    checkpoint_lsn: AtomicU64,
    /// Pages freed by commits since the last durable meta (weak modes): the
    /// durable snapshot may still see them, so they cannot be reused yet.
    freed: FreedPages,
    /// When the last meta was written, in nanoseconds since `opened`: read
    /// without the sync lock, which a sync holds across its fsyncs (a
    /// commit asks `sync_due` while it holds the writer slot).
    opened: Instant,
    last_sync: AtomicU64,
    /// A checkpoint is handed to the syncer and not finished yet.
    checkpoint_queued: AtomicBool,
    /// The last handle is closing: the log takes no more appends, and the
    /// metas written from now on say so (`LogMark::Clean`).
    log_closed: AtomicBool,
    poison: RankedMutex<Option<String>>,
    syncer: RankedMutex<Option<Syncer>>,
}

/// Pages freed since the last durable meta, as two monotonic counters:
/// every page freed, and how many of them a durable meta covers. Two
/// steady points that read the count before either wrote its meta cannot
/// both take it off (they raise the second counter to what they read, so
/// the later one only adds what was freed in between): subtracting what
/// each read, as this did, took the first one's pages off twice and
/// wrapped the count, so every commit then found a steady point due.
#[derive(Debug, Default)]
struct FreedPages {
    total: AtomicU64,
    durable: AtomicU64,
}

impl FreedPages {
    fn note(&self, pages: u64) {
        self.total.fetch_add(pages, Ordering::AcqRel);
    }

    /// The count to hand to `made_durable` once the meta chosen after this
    /// call is durable.
    fn mark(&self) -> u64 {
        self.total.load(Ordering::Acquire)
    }

    fn made_durable(&self, mark: u64) {
        self.durable.fetch_max(mark, Ordering::AcqRel);
    }

    /// Pages freed that no durable meta covers yet.
    fn pinned(&self) -> u64 {
        let durable = self.durable.load(Ordering::Acquire);
        self.total.load(Ordering::Acquire).saturating_sub(durable)
    }
}

#[derive(Debug)]
struct SyncState {
    /// Slot (0 or 1) holding the last durable meta; the next meta goes to the other.
    durable_slot: u64,
    /// What the durable meta says of the log (`Meta::log`).
    log: LogMark,
}

impl Durability {
    /// `meta`, read from `slot`, is durable.
    pub fn new(meta: &Meta, slot: u64) -> Durability {
        Durability {
            sync: RankedMutex::new(Rank::Sync, SyncState { durable_slot: slot, log: meta.log }),
            opened: Instant::now(),
            last_sync: AtomicU64::new(0),
            durable_txid: AtomicU64::new(meta.txid.0),
            checkpoint_lsn: AtomicU64::new(meta.checkpoint_lsn),
            freed: FreedPages::default(),
            checkpoint_queued: AtomicBool::new(false),
            log_closed: AtomicBool::new(false),
            poison: RankedMutex::new(Rank::Poison, None),
            syncer: RankedMutex::new(Rank::Syncer, None),
        }
    }

    /// The txid of the last durable meta.
    pub fn durable_txid(&self) -> TxId {
        TxId(self.durable_txid.load(Ordering::Acquire))
    }

    /// The WAL position the durable meta records.
    pub fn checkpoint_lsn(&self) -> Lsn {
        Lsn(self.checkpoint_lsn.load(Ordering::Acquire))
    }
}

impl Env {
    /// Starts the syncer where commits leave durability to later: the
    /// weak sync modes and the write-ahead log.
    pub fn start_syncer(self: &Arc<Env>) {
        let interval = match self.config.sync_mode {
            SyncMode::Batched(interval) => Some(interval),
            SyncMode::Full if self.log().is_none() => return,
            _ => None,
        };
        if !self.config.read_only {
            *self.durability.syncer.lock() = Some(Syncer::start(Arc::downgrade(self), interval));
        }
    }

    /// Stops and joins the syncer, if one runs.
    pub fn stop_syncer(&self) {
        let s = self.durability.syncer.lock().take();
        if let Some(s) = s {
            s.stop();
        }
    }

    pub fn check_poison(&self) -> Result<()> {
        match &*self.durability.poison.lock() {
            None => Ok(()),
            Some(cause) => Err(Error::Poisoned { op: "write", cause: cause.clone() }),
        }
    }

    pub fn poisoned(&self, what: &Error) {
        self.durability.poison.lock().get_or_insert_with(|| what.to_string());
    }

    /// fsync; a failure poisons the database.
    fn fsync(&self) -> Result<()> {
        self.pages.io.sync().map_err(|e| {
            let err = Error::io("fsync", &self.config.path, None, e);
            self.poisoned(&err);
            err
        })
    }

    /// Writes `ops`, then syncs the data file (chained after the writes
    /// where the backend can). A failed sync poisons the database, as
    /// `fsync` does; a failed write is `op`'s error (nothing was synced).
    pub fn write_synced(&self, op: &'static str, ops: &[WriteOp<'_>]) -> Result<()> {
        let at = ops.first().map(|o| o.offset);
        self.pages.io.write_and_sync(ops).map_err(|e| match e {
            WriteSyncError::Write(e) => Error::io(op, &self.config.path, at, e),
            WriteSyncError::Sync(e) => {
                let err = Error::io("fsync", &self.config.path, None, e);
                self.poisoned(&err);
                err
            }
        })
    }

    /// Reads both meta slots back from the file (for `check`). The durable
    /// slot must be intact and hold the durable txid. Returns the damage of
    /// the other slot, the next meta write's target, as an error, if it is
    /// damaged: harmless when a power cut tore the meta write in flight (the
    /// open then used this one), the loss of the commit it held when damage
    /// came at rest; rewritten by the next durable commit.
    pub fn check_metas(&self) -> Result<Option<Error>> {
        let st = self.durability.sync.lock();
        let durable = self.durability.durable_txid().0;
        let ps = self.config.page_size;
        let page = |slot: u64| -> Result<Vec<u8>> {
            let off = slot * ps as u64;
            self.pages.read_at(off, ps).map_err(|e| Error::io("read meta", &self.config.path, Some(off), e))
        };
        let decode = |page: &[u8], slot: u64| match Meta::decode(page, slot) {
            MetaRead::Valid(m) => match Meta::nonzero_reserved(page) {
                Some(at) => MetaRead::Damaged(format!("a byte that must be zero is not, at offset {at}")),
                None => MetaRead::Valid(m),
            },
            other => other,
        };
        let slot = st.durable_slot;
        let what = match decode(&page(slot)?, slot) {
            MetaRead::Valid(m) if m.txid.0 == durable => {
                // A spare slot of zeros beside txid 0 is a creation a power
                // cut cut short (FORMAT.md): the new, empty database, no
                // commit lost (a review saw check report it until the first
                // commit).
                let spare = 1 - slot;
                let spare_page = page(spare)?;
                if durable == 0 && spare_page.iter().all(|&b| b == 0) {
                    return Ok(None);
                }
                return Ok(spare_damage(decode(&spare_page, spare), slot, durable));
            }
            MetaRead::Valid(m) => format!("holds txid {} where txid {durable} was written", m.txid.0),
            MetaRead::Damaged(w) | MetaRead::Incompatible(w) => w,
            MetaRead::NotThunder => "has no thunder magic".into(),
        };
        let what = format!("meta page {slot}, the durable meta, on disk: {what}");
        Err(Error::corrupted(PageId(slot), Corruption::Meta { what }))
    }

    /// Makes `meta` the durable snapshot: its pages must be on disk already
    /// (written and synced). Writes the slot not holding the durable meta,
    /// with the log mark as the log stands.
    fn write_meta(&self, st: &mut SyncState, meta: &Meta) -> Result<()> {
        let slot = 1 - st.durable_slot;
        let meta = &Meta { log: self.log_now(), ..*meta };
        let page = meta.encode(slot);
        let off = slot * self.config.page_size as u64;
        self.write_synced("write meta", &[WriteOp { offset: off, data: &page }])?;
        st.durable_slot = slot;
        self.mark_synced();
        st.log = meta.log;
        self.durability.durable_txid.fetch_max(meta.txid.0, Ordering::AcqRel);
        self.durability.checkpoint_lsn.store(meta.checkpoint_lsn, Ordering::Release);
        Ok(())
    }

    /// What a meta written now says of the log (`Meta::log`): live when a
    /// log is attached and the last handle is not closing, naming that
    /// log's writer; else clean.
    fn log_now(&self) -> LogMark {
        match self.log() {
            Some(log) if !self.durability.log_closed.load(Ordering::Acquire) => LogMark::Live(log.writer.log_id()),
            _ => LogMark::Clean,
        }
    }

    /// What the durable meta says of the log (`Meta::log`).
    pub fn durable_log(&self) -> LogMark {
        self.durability.sync.lock().log
    }

    /// Makes the durable meta's log mark (`Meta::log`) say how the log
    /// stands, when it does not: after an open attached the log (an open
    /// must then find this writer's segments, whatever happens next), after
    /// an open with the log off replayed it (before its segments go), at a
    /// clean close. The durable meta is read back and written with the mark
    /// to both slots, the spare one first, each synced, its txid unchanged
    /// (the two are then equal, and a torn write leaves the other): no
    /// commit is needed for it.
    pub fn settle_log_mark(&self) -> Result<()> {
        let mark = self.log_now();
        let mut st = self.durability.sync.lock();
        if self.config.read_only || st.log == mark {
            return Ok(());
        }
        self.check_poison()?;
        let ps = self.config.page_size;
        let path = &self.config.path;
        let slot = st.durable_slot;
        let off = slot * ps as u64;
        let page = self.pages.read_at(off, ps).map_err(|e| Error::io("read meta", path, Some(off), e))?;
        let MetaRead::Valid(durable) = Meta::decode(&page, slot) else {
            let what = format!("meta page {slot}, the durable meta, no longer reads as one");
            return Err(Error::corrupted(PageId(slot), Corruption::Meta { what }));
        };
        let meta = Meta { log: mark, ..durable };
        for s in [1 - slot, slot] {
            let op = WriteOp { offset: s * ps as u64, data: &meta.encode(s) };
            self.write_synced("write meta (log mark)", &[op]).inspect_err(|e| self.poisoned(e))?;
        }
        st.log = mark;
        Ok(())
    }

    /// The last handle's close: everything checkpointed, and the durable
    /// meta then says the log holds nothing past it, so that an open that
    /// finds no log (moved or removed after a clean close) loses nothing.
    /// Its segments are then cut to their headers (`WalWriter::
    /// cut_to_headers`): they hold nothing an open reads, and a new database
    /// made at this path later (the file removed) may clear them.
    pub fn close_log(&self) -> Result<()> {
        self.durability.log_closed.store(true, Ordering::Release);
        self.checkpoint_by(By::Close)?;
        self.settle_log_mark()?;
        self.log().map_or(Ok(()), |log| log.writer.cut_to_headers())
    }

    /// The durable part of a commit under `SyncMode::Full`, once its data
    /// is written and synced (`write_synced`): the meta.
    ///
    /// A failed meta write poisons the database, as a failed fsync does: the
    /// commit rolls back and its pages return to the pool, but the write may
    /// have landed, leaving a meta newer than the durable one that describes
    /// those pages. Reusing them would corrupt the tree that meta opens.
    /// (`sync` needs no such rule: the commits it makes durable stay
    /// published, and their pages stay pinned until a meta is durable.)
    pub fn commit_durable(&self, meta: &Meta) -> Result<()> {
        let mut st = self.durability.sync.lock();
        self.write_meta(&mut st, meta).inspect_err(|e| self.poisoned(e))
    }

    /// Makes every commit durable: with a WAL, by syncing the log; without
    /// one, by writing the latest published commit's meta (`write_durable_meta`).
    pub fn sync(&self) -> Result<()> {
        self.sync_by(By::Caller)
    }

    /// `sync`, made by `by`.
    pub fn sync_by(&self, by: By) -> Result<()> {
        if self.config.read_only {
            return Ok(());
        }
        self.check_poison()?;
        if self.log().is_some() {
            // With a log, the batched interval runs from the last log sync:
            // timed from the last meta (a checkpoint), as it was, every
            // commit after the first interval synced the log itself, until
            // the next checkpoint (minutes later by default).
            return self.log_sync().map(|()| self.mark_synced());
        }
        self.write_durable_meta(by)
    }

    /// Starts the batched interval anew (`sync_due`).
    fn mark_synced(&self) {
        let since = self.durability.opened.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        self.durability.last_sync.store(since, Ordering::Release);
    }

    /// A checkpoint: the latest published commit becomes the data file's
    /// durable meta (data synced, meta written and synced), so the pages
    /// only older snapshots saw become reusable; with a WAL, the segments
    /// before that meta's LSN are removed. (With a WAL and a write
    /// transaction open, the newest commit whose freelist is written: see
    /// `By::Caller`.) Without a WAL this is `sync`.
    pub fn checkpoint(&self) -> Result<()> {
        self.checkpoint_by(By::Caller)
    }

    /// `checkpoint`, made by `by`.
    pub fn checkpoint_by(&self, by: By) -> Result<()> {
        if self.config.read_only {
            return Ok(());
        }
        self.check_poison()?;
        // The meta records a log position: the log must hold everything
        // before it first (under the weak modes appends are not synced).
        self.log_sync()?;
        self.write_durable_meta(by)?;
        if let Some(log) = self.log() {
            log.writer.remove_before(self.durability.checkpoint_lsn())?;
            log.checkpointed();
        }
        Ok(())
    }

    /// Syncs the data and writes the latest published meta, unless it is
    /// durable already. When that meta's freelist is deferred, it is
    /// written first (`pin_steady_meta`, which takes the writer slot,
    /// waiting for it as `by` says); where it does not wait and finds the
    /// slot held, the newest meta with its freelist written is made durable
    /// instead, and the holder's commits write the freelist once a steady
    /// point is due.
    fn write_durable_meta(&self, by: By) -> Result<()> {
        // Read before the meta: pages freed by a commit published after it
        // stay counted (an overcount only brings the next steady point
        // forward). A background steady point that makes an older meta
        // durable (the writer slot was taken) may leave uncounted the
        // pages of the few commits since; they wait for the next one.
        let mark = self.durability.freed.mark();
        let wait = match by {
            By::Caller => self.log().is_none(),
            By::Close => true,
            By::Background => false,
        };
        let meta = self.pin_steady_meta(wait)?;
        let res = self.make_meta_durable(&meta, mark);
        // After the durable txid is stored: a writer that finds the pin
        // gone finds the meta durable (`Horizon`).
        self.readers.unpin_steady(meta.txid);
        res
    }

    /// Syncs the data and writes `meta`, unless a meta as new is durable.
    fn make_meta_durable(&self, meta: &Meta, mark: u64) -> Result<()> {
        let mut st = self.durability.sync.lock();
        if meta.txid <= self.durability.durable_txid() {
            return Ok(());
        }
        // Again under the lock: the sync we waited for may have failed.
        // Its lost writes are clean pages now, so a second fsync would
        // succeed and this meta would point at pages that never reached
        // the disk.
        self.check_poison()?;
        self.fsync()?;
        self.write_meta(&mut st, meta)?;
        self.durability.freed.made_durable(mark);
        Ok(())
    }

    /// Records that a commit published under a weak sync mode freed `pages`.
    pub fn note_freed(&self, pages: u64) {
        if pages > 0 {
            self.durability.freed.note(pages);
        }
    }

    /// What a commit that just ended asks for: a checkpoint (the pages only
    /// the durable snapshot pins passed the threshold, or the log its size
    /// or interval), or a sync (the batched interval passed). The
    /// checkpoint goes to the syncer, so the writer does not wait for the
    /// disk, unless the syncer is so far behind that twice the threshold
    /// passed: then this thread makes it, which bounds the file. A failure
    /// poisons the database; later writes report it.
    pub fn after_commit(&self) {
        let log_due = self.log().map(|l| l.checkpoint_due());
        if self.steady_point_due(1) || log_due.is_some_and(|due| due.0) {
            let overdue = self.steady_point_due(2) || log_due.is_some_and(|due| due.1);
            if overdue || !self.queue_checkpoint() {
                let _ = self.checkpoint_by(By::Background);
            }
        } else if self.sync_due() {
            let _ = self.sync_by(By::Background);
        }
    }

    /// Hands a checkpoint to the syncer (once until it is done); false if
    /// no syncer runs.
    fn queue_checkpoint(&self) -> bool {
        if self.durability.checkpoint_queued.swap(true, Ordering::AcqRel) {
            return true;
        }
        let kicked = self.durability.syncer.lock().as_ref().is_some_and(|s| s.kick());
        if !kicked {
            self.durability.checkpoint_queued.store(false, Ordering::Release);
        }
        kicked
    }

    /// The syncer finished the checkpoint it was handed.
    pub fn checkpoint_done(&self) {
        self.durability.checkpoint_queued.store(false, Ordering::Release);
    }

    /// Whether the pages only the durable snapshot pins passed `times` the
    /// steady-point threshold (`Options::autosync_bytes`): the larger of
    /// the configured floor and a quarter of the file.
    pub fn steady_point_due(&self, times: u64) -> bool {
        self.pinned_pass(0, times)
    }

    /// Whether a commit freeing `pages` lands when a steady point is due
    /// and none is handed to the syncer yet: the steady point will make
    /// that commit durable, so it writes its freelist.
    pub fn steady_point_due_after(&self, pages: u64) -> bool {
        self.pinned_pass(pages, 1) && !self.durability.checkpoint_queued.load(Ordering::Acquire)
    }

    fn pinned_pass(&self, more: u64, times: u64) -> bool {
        let pages = self.durability.freed.pinned().saturating_add(more);
        let pinned = pages.saturating_mul(self.config.page_size as u64);
        pinned > 0 && pinned >= times.saturating_mul(self.config.autosync_bytes.max(self.pages.map.valid_len() / 4))
    }

    /// Whether a batched sync is due.
    pub fn sync_due(&self) -> bool {
        match self.config.sync_mode {
            SyncMode::Batched(interval) => {
                let last = Duration::from_nanos(self.durability.last_sync.load(Ordering::Acquire));
                self.durability.opened.elapsed().saturating_sub(last) >= interval
            }
            _ => false,
        }
    }
}

/// The damage `check_metas` reports of the spare slot, as read, beside the
/// durable meta in `slot` at txid `durable`; None if it is intact.
fn spare_damage(spare: MetaRead, slot: u64, durable: u64) -> Option<Error> {
    let what = match spare {
        MetaRead::Valid(_) => return None,
        MetaRead::Damaged(w) | MetaRead::Incompatible(w) => w,
        MetaRead::NotThunder => "has no thunder magic".into(),
    };
    let what = format!(
        "meta page {spare}, the spare one, on disk: {what} (the database opened at meta page {slot}, txid {durable}: \
         a power cut during a meta write leaves this and loses nothing acknowledged; damage at rest may have lost \
         the commit that slot held; the next durable commit rewrites it)",
        spare = 1 - slot
    );
    Some(Error::corrupted(PageId(1 - slot), Corruption::Meta { what }))
}

#[cfg(test)]
mod tests {
    use super::FreedPages;

    /// Two steady points read the count before either made its meta
    /// durable, and finish in either order: the pages freed after the later
    /// read stay counted, nothing is taken off twice.
    #[test]
    fn overlapping_steady_points_take_pages_off_once() {
        for later_first in [false, true] {
            let f = FreedPages::default();
            f.note(100);
            let a = f.mark();
            f.note(30);
            let b = f.mark();
            f.note(7);
            if later_first {
                f.made_durable(b);
                f.made_durable(a);
            } else {
                f.made_durable(a);
                f.made_durable(b);
            }
            assert_eq!(f.pinned(), 7, "later first: {later_first}");
        }
    }
}
