//! The database: open, the reader table, the writer slot, durability.
//!
//! Concurrency model. `Database` is a cheap handle over `Arc<DbInner>`; every
//! transaction holds the same Arc, so the mapping outlives every view handed
//! out. The published meta and the reader table sit under one mutex
//! (`published`): a reader registers its txid under it, and the writer reads
//! the oldest registered txid under it, so a page is never reused while a
//! reader can see it. Writers take the writer slot (one at a time; the slot
//! records the owning thread so a second `begin` on that thread is `Busy`,
//! not a deadlock). Meta pages are written only under `sync`, which tracks
//! the slot of the last durable meta.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use crate::alloc::freelist::Freelist;
use crate::alloc::meta::{self, Meta, MetaRead, Selected};
use crate::error::{Corruption, Error, Result};
use crate::options::{IoBackendKind, Options, SyncMode};
use crate::storage::file;
use crate::storage::io::{IoBackend, ReadOp, SyncIo, WriteOp};
use crate::storage::mmap::Mmap;
use crate::storage::verified::VerifiedBits;
use crate::tree::ops::Root;
use crate::tree::page;
use crate::tree::view::{self, PageReader};
use crate::txn::{ReadTx, WriteTx};
use crate::types::{PageId, TxId};

/// Statistics of a database (the fields of the C `thunder_stats`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub page_size: u32,
    /// Pages up to the high-water mark.
    pub page_count: u64,
    /// Pages reusable now.
    pub free_page_count: u64,
    /// Pages freed but waiting for older readers (or the next durable sync).
    pub pending_page_count: u64,
    pub file_size: u64,
    pub last_txid: u64,
    /// Keys in the default keyspace.
    pub key_count: u64,
    /// All buckets, nested ones included.
    pub bucket_count: u64,
    /// Depth of the default keyspace's tree (0 when empty).
    pub tree_depth: u32,
    /// Open read transactions.
    pub reader_count: u32,
    pub wal_size: u64,
    pub checkpoint_lsn: u64,
}

/// An open database. Cheap to clone; share it between threads freely. The
/// database (its lock, mapping and syncer) stays open while any clone or
/// transaction of it is alive.
#[derive(Debug)]
pub struct Database {
    inner: Arc<DbInner>,
}

impl Clone for Database {
    fn clone(&self) -> Database {
        self.inner.handles.fetch_add(1, Ordering::AcqRel);
        Database { inner: self.inner.clone() }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if self.inner.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The syncer briefly holds a strong reference while it syncs; were
            // it left running, the database could be torn down (and the lock
            // released) on its thread after this drop returned.
            self.inner.stop_syncer();
        }
    }
}

/// The meta readers start from, and who is reading which snapshot.
#[derive(Debug)]
pub(crate) struct Published {
    pub meta: Meta,
    readers: BTreeMap<TxId, usize>,
    reader_count: usize,
}

/// Writer-only state that lives across write transactions.
#[derive(Debug, Default)]
pub(crate) struct WriterState {
    /// Loaded by the first write transaction (open stays O(1)).
    pub freelist: Option<Freelist>,
}

#[derive(Debug, Default)]
struct WriterSlot {
    owner: Option<ThreadId>,
    state: Option<WriterState>,
}

#[derive(Debug)]
struct SyncState {
    /// Slot (0 or 1) holding the last durable meta; the next meta goes to the other.
    durable_slot: u64,
    last_sync: Instant,
}

#[derive(Debug)]
struct Syncer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
pub(crate) struct DbInner {
    pub path: PathBuf,
    pub page_size: usize,
    pub max_pages: u64,
    pub read_only: bool,
    pub sync_mode: SyncMode,
    pub overflow_threshold: usize,
    pub max_key: usize,
    /// Keeps the flock for the life of the database.
    file: File,
    pub io: Arc<dyn IoBackend>,
    pub map: Mmap,
    pub verified: VerifiedBits,
    published: Mutex<Published>,
    writer: Mutex<WriterSlot>,
    writer_cv: Condvar,
    sync: Mutex<SyncState>,
    pub durable_txid: AtomicU64,
    /// Set after a failed fsync (pages written since the last good sync are
    /// suspect) or a failed meta write under `SyncMode::Full` (see
    /// `commit_durable`): writes are refused until the database is reopened.
    poison: Mutex<Option<String>>,
    pub open_txns: AtomicUsize,
    /// Free and pending page counts as the last write transaction left them
    /// (for `stat` while a writer holds the freelist).
    pub free_pages: AtomicU64,
    pub pending_pages: AtomicU64,
    syncer: Mutex<Option<Syncer>>,
    /// Live `Database` handles (clones); transactions are not counted.
    handles: AtomicUsize,
}

/// Source of transaction serial numbers (to reject handles of another txn).
static SERIAL: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_serial() -> u64 {
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// Builds the I/O backend for an opened file (tests substitute their own).
pub(crate) type BackendFactory<'a> = &'a dyn Fn(File, &Options) -> Result<Arc<dyn IoBackend>>;

fn default_backend(f: File, opts: &Options) -> Result<Arc<dyn IoBackend>> {
    match opts.io_backend {
        IoBackendKind::Auto | IoBackendKind::Sync => Ok(Arc::new(SyncIo::new(f, opts.write_buffer_size))),
        IoBackendKind::Uring => {
            Err(Error::Unsupported("the io_uring backend is not implemented in this version (use SYNC or AUTO)".into()))
        }
        IoBackendKind::Direct => {
            Err(Error::Unsupported("the O_DIRECT backend is not implemented in this version (use SYNC or AUTO)".into()))
        }
    }
}

impl Database {
    /// Opens (creating if missing) the database at `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with_options(path, Options::default())
    }

    pub fn open_with_options(path: impl AsRef<Path>, opts: Options) -> Result<Database> {
        Database::open_with_backend(path.as_ref(), opts, &default_backend)
    }

    pub(crate) fn open_with_backend(path: &Path, opts: Options, backend: BackendFactory<'_>) -> Result<Database> {
        let inner = Arc::new(DbInner::open(path, opts, backend)?);
        if let SyncMode::Batched(interval) = inner.sync_mode {
            if !inner.read_only {
                *inner.syncer.lock().expect("syncer lock") = Some(Syncer::start(Arc::downgrade(&inner), interval));
            }
        }
        Ok(Database { inner })
    }

    /// Starts a read transaction on the latest committed snapshot.
    pub fn begin_read(&self) -> Result<ReadTx> {
        ReadTx::begin(self.inner.clone())
    }

    /// Starts the write transaction, waiting while another one is open.
    /// `Busy` if this thread already holds it.
    pub fn begin_write(&self) -> Result<WriteTx> {
        WriteTx::begin(self.inner.clone(), true)
    }

    /// Starts the write transaction, or `Busy` at once if it is taken.
    pub fn try_begin_write(&self) -> Result<WriteTx> {
        WriteTx::begin(self.inner.clone(), false)
    }

    /// Alias of `begin_read`, the name the original notes use.
    pub fn read_tx(&self) -> Result<ReadTx> {
        self.begin_read()
    }

    /// Alias of `begin_write`.
    pub fn write_tx(&self) -> Result<WriteTx> {
        self.begin_write()
    }

    /// Makes every committed transaction durable (meaningful with
    /// `SyncMode::Batched` and `SyncMode::None`).
    pub fn sync(&self) -> Result<()> {
        self.inner.sync()
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn page_size(&self) -> usize {
        self.inner.page_size
    }

    /// Name of the I/O backend writing this database ("sync", ...).
    pub fn io_backend(&self) -> &'static str {
        self.inner.io.name()
    }

    /// Longest key accepted (grows with the page size; >= 1000).
    pub fn max_key_size(&self) -> usize {
        self.inner.max_key
    }

    /// Transactions currently open on this database.
    pub fn open_transactions(&self) -> usize {
        self.inner.open_txns.load(Ordering::Acquire)
    }

    pub fn stat(&self) -> Result<Stats> {
        self.inner.stat()
    }

    /// Verifies the file (see `check`): the meta pages on disk, then every
    /// page of the latest snapshot.
    pub fn check(&self) -> Result<crate::check::Report> {
        let spare_meta_damaged = self.inner.check_metas()?;
        let tx = self.begin_read()?;
        let report = crate::check::run(&tx.page_reader(), tx.meta())?;
        Ok(crate::check::Report { spare_meta_damaged, ..report })
    }

    /// Closes this handle and makes everything committed durable. Closing the
    /// last handle also stops the syncer and releases the lock; other clones
    /// keep the database open. `Busy` (nothing synced) while transactions are
    /// open; the handle is consumed either way, and a database whose last
    /// handle went closes when its last transaction ends.
    pub fn close(self) -> Result<()> {
        if self.open_transactions() > 0 {
            return Err(Error::Busy("close with transactions still open"));
        }
        let inner = self.inner.clone();
        drop(self); // the last handle stops the syncer
        let res = if inner.read_only { Ok(()) } else { inner.sync() };
        drop(inner);
        res
    }
}

impl DbInner {
    fn open(path: &Path, opts: Options, backend: BackendFactory<'_>) -> Result<DbInner> {
        // A new file: validate against the page size it would get before
        // creating it, so a refused open leaves no file behind.
        if !path.exists() {
            opts.check_for_page_size(opts.page_size.unwrap_or(4096))?;
        }
        let f = file::open_file(path, opts.read_only, opts.create && !opts.read_only)?;
        file::lock(&f, path, !opts.read_only, opts.lock_timeout)?;
        let len = f.metadata().map_err(|e| Error::io("stat", path, None, e))?.len();
        let io = backend(f.try_clone().map_err(|e| Error::io("dup", path, None, e))?, &opts)?;
        let (meta, slot) = if len == 0 {
            if opts.read_only {
                return Err(Error::Incompatible { path: path.into(), what: "empty file opened read-only".into() });
            }
            let ps = opts.page_size.unwrap_or(4096);
            opts.check_for_page_size(ps)?;
            (init_file(&f, path, ps)?, 0)
        } else {
            read_meta(&*io, path)?
        };
        let ps = meta.page_size;
        if let Some(want) = opts.page_size {
            if want != ps {
                return Err(Error::Incompatible {
                    path: path.into(),
                    what: format!("file has {ps}-byte pages, options ask for {want}"),
                });
            }
        }
        opts.check_for_page_size(ps)?;
        let len = f.metadata().map_err(|e| Error::io("stat", path, None, e))?.len();
        let ps64 = ps as u64;
        if meta.page_count.checked_mul(ps64).is_none_or(|need| len < need) {
            return Err(Error::Corrupted {
                page: None,
                cause: Corruption::Truncated { len, pages: meta.page_count, page_size: ps64, txid: Some(meta.txid) },
            });
        }
        let reserve = opts.max_size_bytes().max(len).next_multiple_of(ps64);
        let map = Mmap::new(&f, reserve as usize, len).map_err(|e| Error::io("mmap", path, None, e))?;
        if !opts.read_only {
            // What we read may sit in the page cache only (a crash between a
            // meta write and its fsync): make it the durable snapshot.
            io.sync().map_err(|e| Error::io("fsync", path, None, e))?;
        }
        Ok(DbInner {
            path: path.to_path_buf(),
            page_size: ps as usize,
            max_pages: reserve / ps64,
            read_only: opts.read_only,
            sync_mode: opts.sync_mode,
            overflow_threshold: opts.overflow_threshold as usize,
            max_key: page::max_key_len(ps as usize),
            file: f,
            io,
            map,
            verified: VerifiedBits::new(reserve / ps64),
            published: Mutex::new(Published { meta, readers: BTreeMap::new(), reader_count: 0 }),
            writer: Mutex::new(WriterSlot { owner: None, state: Some(WriterState::default()) }),
            writer_cv: Condvar::new(),
            sync: Mutex::new(SyncState { durable_slot: slot, last_sync: Instant::now() }),
            durable_txid: AtomicU64::new(meta.txid.0),
            poison: Mutex::new(None),
            open_txns: AtomicUsize::new(0),
            free_pages: AtomicU64::new(meta.freelist.free_pages),
            pending_pages: AtomicU64::new(0),
            syncer: Mutex::new(None),
            handles: AtomicUsize::new(1),
        })
    }

    fn published(&self) -> MutexGuard<'_, Published> {
        self.published.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current meta, pinned as a reader.
    pub fn pin_reader(&self) -> Meta {
        let mut p = self.published();
        let meta = p.meta;
        *p.readers.entry(meta.txid).or_default() += 1;
        p.reader_count += 1;
        self.open_txns.fetch_add(1, Ordering::AcqRel);
        meta
    }

    pub fn unpin_reader(&self, txid: TxId) {
        let mut p = self.published();
        if let Some(n) = p.readers.get_mut(&txid) {
            *n -= 1;
            if *n == 0 {
                p.readers.remove(&txid);
            }
            p.reader_count -= 1;
        }
        self.open_txns.fetch_sub(1, Ordering::AcqRel);
    }

    /// The current meta and the oldest txid any reader or the durable snapshot
    /// can still see: pages freed at or before it are reusable.
    pub fn current_and_horizon(&self) -> (Meta, TxId) {
        let p = self.published();
        let oldest_reader = p.readers.keys().next().copied().unwrap_or(TxId(u64::MAX));
        let durable = TxId(self.durable_txid.load(Ordering::Acquire));
        (p.meta, oldest_reader.min(durable))
    }

    pub fn publish(&self, meta: Meta) {
        self.published().meta = meta;
    }

    pub fn reader(&self, page_count: u64) -> PageReader<'_> {
        PageReader { map: &self.map, verified: &self.verified, page_size: self.page_size, page_count }
    }

    /// Takes the writer slot. `wait`: block while another thread holds it.
    pub fn acquire_writer(&self, wait: bool) -> Result<WriterState> {
        if self.read_only {
            return Err(Error::ReadOnly("write transaction on a database opened read-only"));
        }
        self.check_poison()?;
        let me = std::thread::current().id();
        let mut slot = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(owner) = slot.owner {
            if owner == me {
                return Err(Error::Busy("this thread already holds the write transaction"));
            }
            if !wait {
                return Err(Error::Busy("another write transaction is open"));
            }
            slot = self.writer_cv.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
        // Again now that the slot is ours: the writer we waited for may have
        // poisoned the database (it does so before releasing the slot). The
        // wake-up is passed on so that other waiters see the poison too.
        if let Err(e) = self.check_poison() {
            drop(slot);
            self.writer_cv.notify_one();
            return Err(e);
        }
        slot.owner = Some(me);
        self.open_txns.fetch_add(1, Ordering::AcqRel);
        Ok(slot.state.take().unwrap_or_default())
    }

    pub fn release_writer(&self, state: WriterState) {
        let mut slot = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        slot.owner = None;
        slot.state = Some(state);
        self.open_txns.fetch_sub(1, Ordering::AcqRel);
        drop(slot);
        self.writer_cv.notify_one();
    }

    pub fn check_poison(&self) -> Result<()> {
        match &*self.poison.lock().unwrap_or_else(|p| p.into_inner()) {
            None => Ok(()),
            Some(cause) => Err(Error::Poisoned { op: "write", cause: cause.clone() }),
        }
    }

    fn poisoned(&self, what: &Error) {
        let mut p = self.poison.lock().unwrap_or_else(|p| p.into_inner());
        p.get_or_insert_with(|| what.to_string());
    }

    /// fsync; a failure poisons the database.
    fn fsync(&self) -> Result<()> {
        self.io.sync().map_err(|e| {
            let err = Error::io("fsync", &self.path, None, e);
            self.poisoned(&err);
            err
        })
    }

    /// Reads both meta slots back from the file (for `check`). The durable
    /// slot must be intact and hold the durable txid. Returns whether the
    /// other slot, the next sync's target, is damaged: harmless (a crash
    /// can tear the meta write in flight, and open then used this one) and
    /// rewritten by the next sync, but reported.
    pub(crate) fn check_metas(&self) -> Result<bool> {
        let st = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        let durable = self.durable_txid.load(Ordering::Acquire);
        let read = |slot: u64| -> Result<MetaRead> {
            let off = slot * self.page_size as u64;
            let page = read_at(&*self.io, off, self.page_size)
                .map_err(|e| Error::io("read meta", &self.path, Some(off), e))?;
            Ok(Meta::decode(&page, slot))
        };
        let slot = st.durable_slot;
        let what = match read(slot)? {
            MetaRead::Valid(m) if m.txid.0 == durable => return Ok(!matches!(read(1 - slot)?, MetaRead::Valid(_))),
            MetaRead::Valid(m) => format!("holds txid {} where txid {durable} was written", m.txid.0),
            MetaRead::Damaged(w) | MetaRead::Incompatible(w) => w,
            MetaRead::NotThunder => "has no thunder magic".into(),
        };
        let what = format!("meta page {slot}, the durable meta, on disk: {what}");
        Err(Error::corrupted(PageId(slot), Corruption::Meta { what }))
    }

    /// Makes `meta` the durable snapshot: its pages must be on disk already
    /// (written and synced). Writes the slot not holding the durable meta.
    fn write_meta(&self, st: &mut SyncState, meta: &Meta) -> Result<()> {
        let slot = 1 - st.durable_slot;
        let page = meta.encode(slot);
        let off = slot * self.page_size as u64;
        self.io
            .write_batch(&[WriteOp { offset: off, data: &page }])
            .map_err(|e| Error::io("write meta", &self.path, Some(off), e))?;
        self.fsync()?;
        st.durable_slot = slot;
        st.last_sync = Instant::now();
        self.durable_txid.fetch_max(meta.txid.0, Ordering::AcqRel);
        Ok(())
    }

    /// The durable part of a commit under `SyncMode::Full`: data, then meta.
    ///
    /// A failed meta write poisons the database, as a failed fsync does: the
    /// commit rolls back and its pages return to the pool, but the write may
    /// have landed, leaving a meta newer than the durable one that describes
    /// those pages. Reusing them would corrupt the tree that meta opens.
    /// (`sync` needs no such rule: the commits it makes durable stay
    /// published, and their pages stay pinned until a meta is durable.)
    pub fn commit_durable(&self, meta: &Meta) -> Result<()> {
        self.fsync()?;
        let mut st = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        self.write_meta(&mut st, meta).inspect_err(|e| self.poisoned(e))
    }

    /// Makes the latest published commit durable.
    pub fn sync(&self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.check_poison()?;
        let mut st = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        let meta = self.published().meta;
        if meta.txid.0 <= self.durable_txid.load(Ordering::Acquire) {
            return Ok(());
        }
        self.fsync()?;
        self.write_meta(&mut st, &meta)
    }

    /// Whether a batched sync is due.
    pub fn sync_due(&self) -> bool {
        match self.sync_mode {
            SyncMode::Batched(interval) => {
                self.sync.lock().unwrap_or_else(|p| p.into_inner()).last_sync.elapsed() >= interval
            }
            _ => false,
        }
    }

    /// Grows the file so that `pages` pages exist (in chunks, within max size).
    pub fn ensure_pages(&self, pages: u64) -> Result<()> {
        let ps = self.page_size as u64;
        let need = pages * ps;
        let have = self.map.valid_len();
        if need <= have {
            return Ok(());
        }
        let step = (have / 8).clamp(256 << 10, 64 << 20);
        let target = need.max(have + step).next_multiple_of(ps).min(self.max_pages * ps);
        self.io.grow(target).map_err(|e| Error::io("grow file", &self.path, Some(target), e))?;
        self.map.set_valid_len(target);
        Ok(())
    }

    fn stat(&self) -> Result<Stats> {
        let (free, pending) = self.free_and_pending();
        let readers = self.published().reader_count;
        let file_size = self.file.metadata().map_err(|e| Error::io("stat", &self.path, None, e))?.len();
        let meta = self.pin_reader();
        let depth = view::depth(&self.reader(meta.page_count), Root::from_page(meta.root.keys.root, 0).node);
        self.unpin_reader(meta.txid);
        let depth = depth?;
        Ok(Stats {
            page_size: self.page_size as u32,
            page_count: meta.page_count,
            free_page_count: free,
            pending_page_count: pending,
            file_size,
            last_txid: meta.txid.0,
            key_count: meta.root.keys.count,
            bucket_count: meta.bucket_count,
            tree_depth: depth,
            reader_count: readers as u32,
            wal_size: 0,
            checkpoint_lsn: meta.checkpoint_lsn,
        })
    }

    /// Free and pending page counts now. With the writer idle they come from
    /// its freelist, where pending pages that no reader and no durable
    /// snapshot can see any more count as free (the next write transaction
    /// releases them); otherwise as the last write transaction left them.
    fn free_and_pending(&self) -> (u64, u64) {
        let slot = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        match slot.state.as_ref().and_then(|s| s.freelist.as_ref()) {
            Some(fl) => {
                let ready = fl.releasable(self.current_and_horizon().1);
                (fl.free_pages() + ready, fl.pending_pages() - ready)
            }
            None => (self.free_pages.load(Ordering::Acquire), self.pending_pages.load(Ordering::Acquire)),
        }
    }

    fn stop_syncer(&self) {
        let s = self.syncer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(s) = s {
            s.stop();
        }
    }
}

impl Drop for DbInner {
    fn drop(&mut self) {
        self.stop_syncer();
        if !self.read_only {
            // Errors cannot be reported from drop; `Database::close` reports them.
            let _ = self.sync();
        }
    }
}

impl Syncer {
    fn start(db: Weak<DbInner>, interval: Duration) -> Syncer {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("thunder-sync".into())
            .spawn(move || loop {
                let (lock, cv) = &*flag;
                let stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                // The flag is checked before waiting: a stop requested before
                // this thread first got here, or while it was syncing, must
                // not be lost (close joins this thread).
                let (stopped, _) = cv.wait_timeout_while(stopped, interval, |s| !*s).unwrap_or_else(|p| p.into_inner());
                if *stopped {
                    return;
                }
                drop(stopped);
                let Some(db) = db.upgrade() else { return };
                // A failure poisons the database; writers then report it.
                let _ = db.sync();
            })
            .ok();
        Syncer { stop, thread }
    }

    fn stop(mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            // The last reference may be dropped on the sync thread itself.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// Writes the two metas of a new database into an empty file.
fn init_file(f: &File, path: &Path, page_size: u32) -> Result<Meta> {
    let meta = Meta::empty(page_size);
    for slot in 0..2 {
        let off = slot * page_size as u64;
        f.write_all_at(&meta.encode(slot), off).map_err(|e| Error::io("write meta", path, Some(off), e))?;
    }
    f.sync_all().map_err(|e| Error::io("fsync", path, None, e))?;
    file::sync_parent_dir(path)?;
    Ok(meta)
}

/// `len` bytes of the file at `offset`, through the backend.
fn read_at(io: &dyn IoBackend, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    io.read_batch(&mut [ReadOp { offset, buf: &mut buf }])?;
    Ok(buf)
}

/// Reads and picks the meta of an existing file. A read past the end of the
/// file (`UnexpectedEof`, see `IoBackend::read_batch`) is no meta there; any
/// other read error is the error.
fn read_meta(io: &dyn IoBackend, path: &Path) -> Result<(Meta, u64)> {
    let read = |offset, len| match read_at(io, offset, len) {
        Ok(page) => Ok(Some(page)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(Error::io("read meta", path, Some(offset), e)),
    };
    match meta::select(read)? {
        Selected::Meta(m, slot) => Ok((m, slot)),
        Selected::NotThunder => Err(Error::Incompatible { path: path.into(), what: "not a thunder database".into() }),
        Selected::Incompatible(what) => Err(Error::Incompatible { path: path.into(), what }),
        Selected::Damaged(what) => Err(Error::Corrupted { page: None, cause: Corruption::Meta { what } }),
    }
}
