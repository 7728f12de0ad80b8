//! The database facade: open, close, stat, and the doors to transactions,
//! sync, check, backup and compaction. What a database holds lives in
//! `env`; transactions in `txn`; the copies in `copy`.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::check::{self, Report};
use crate::copy::{self, Staged};
use crate::env::{BackendFactory, Env};
use crate::error::{Error, Result};
use crate::options::{Options, SyncMode};
use crate::storage::Backend;
use crate::tree::{self, Root};
use crate::txn::{ReadTx, WriteTx};
use crate::wal::{self, SegmentIo};

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
    /// Bytes of write-ahead log records the log's files still hold: written
    /// and not yet given back by a checkpoint (0 without a log); the space
    /// allocated ahead of the appends is not counted.
    pub wal_size: u64,
    /// The log position the durable meta records (0 without a log).
    pub checkpoint_lsn: u64,
    /// The log position past the last record appended (0 without a log).
    pub wal_end_lsn: u64,
    /// Log syncs done by group commit leaders since open.
    pub group_commit_batches: u64,
    /// Commits made durable by those syncs.
    pub group_commit_commits: u64,
}

/// An open database. Cheap to clone; share it between threads freely. The
/// database (its lock, mapping and syncer) stays open while any clone or
/// transaction of it is alive.
#[derive(Debug)]
pub struct Database {
    pub(crate) env: Arc<Env>,
}

/// `Database::close` did not close: why, and the handle back when nothing
/// was done (`Busy`: transactions are still open).
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct CloseError {
    pub error: Error,
    /// The handle, still open, when the close was refused before doing anything.
    pub db: Option<Database>,
}

impl From<CloseError> for Error {
    fn from(e: CloseError) -> Error {
        e.error
    }
}

impl Clone for Database {
    fn clone(&self) -> Database {
        self.env.handles.fetch_add(1, Ordering::AcqRel);
        Database { env: self.env.clone() }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if self.env.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The syncer briefly holds a strong reference while it syncs; were
            // it left running, the database could be torn down (and the lock
            // released) on its thread after this drop returned.
            self.env.stop_syncer();
        }
    }
}

impl Database {
    /// Opens (creating if missing) the database at `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Database::open_with_options(path, Options::default())
    }

    /// Opens with `opts`. A write-ahead log holding commits past the file's
    /// checkpoint is replayed first, whatever `opts` says about the log.
    pub fn open_with_options(path: impl AsRef<Path>, opts: Options) -> Result<Database> {
        Database::open_with_backend(path.as_ref(), opts, &Env::default_backend)
    }

    pub(crate) fn open_with_backend(path: &Path, opts: Options, backend: BackendFactory<'_>) -> Result<Database> {
        Database::open_with_backends(path, opts, backend, None)
    }

    /// `open_with_backend`, with `segments` building the backend of each
    /// write-ahead log segment (None: one of the data file's kind).
    pub(crate) fn open_with_backends(
        path: &Path,
        opts: Options,
        backend: BackendFactory<'_>,
        segments: Option<SegmentIo>,
    ) -> Result<Database> {
        // Absolute from here on, the log directory too: a process that
        // changes its working directory later must not make the log's
        // segments, or sync the file's directory, under the new one.
        let path = &crate::options::absolute(path)?;
        let opts = opts.with_absolute_wal_dir()?;
        let wal_dir = opts.wal_dir_for(path);
        let (env, made_dir) = Env::open(path, opts.clone(), backend)?;
        let env = Arc::new(env);
        // The log's segments are written by the data file's kind of backend.
        let kind = Backend::named(env.pages.io.name()).unwrap_or(Backend::Sync);
        let segments = segments.unwrap_or_else(|| wal::segment_io(kind, opts.write_buffer_size));
        let db = Database { env };
        if let Err(e) = crate::txn::recover(&db.env, &wal_dir, &opts, Some(segments)) {
            // Under the file's lock still: a log directory this open made
            // goes with it.
            drop(made_dir);
            return Err(e);
        }
        made_dir.keep();
        db.env.start_syncer();
        Ok(db)
    }

    /// Starts a read transaction on the latest committed snapshot.
    pub fn begin_read(&self) -> Result<ReadTx> {
        ReadTx::begin(self.env.clone())
    }

    /// Starts the write transaction, waiting while another one is open.
    /// `Busy` if this thread began the open one (a thread it moved to
    /// waits for it, that is for itself).
    pub fn begin_write(&self) -> Result<WriteTx> {
        WriteTx::begin(self.env.clone(), true)
    }

    /// Starts the write transaction, or `Busy` at once if another write
    /// transaction is open (a steady point's brief hold of the writer slot
    /// is waited out).
    pub fn try_begin_write(&self) -> Result<WriteTx> {
        WriteTx::begin(self.env.clone(), false)
    }

    /// Makes every committed transaction durable (meaningful with
    /// `SyncMode::Batched` and `SyncMode::None`): with a write-ahead log by
    /// syncing the log, without one by writing the data file's meta. That
    /// may need the writer (a weak-mode commit's free-set change still to
    /// write): it waits for an open write transaction, or is `Busy` on the
    /// thread that began it (as `begin_write` says).
    pub fn sync(&self) -> Result<()> {
        self.env.sync()
    }

    /// Writes everything committed to the data file and makes it the durable
    /// snapshot (data synced, meta written and synced); with a write-ahead
    /// log, the log segments before it are removed, and an open write
    /// transaction is not waited for: the newest commit whose free-set
    /// change is written is checkpointed, the log keeping the later ones.
    /// Without a log this is `sync`.
    pub fn checkpoint(&self) -> Result<()> {
        self.env.checkpoint()
    }

    pub fn path(&self) -> &Path {
        &self.env.config.path
    }

    pub fn page_size(&self) -> usize {
        self.env.config.page_size
    }

    /// Name of the I/O backend writing this database and its log: "sync",
    /// "uring" or "direct" (what `IoBackendKind::Auto` chose, or the kind
    /// asked for).
    pub fn io_backend(&self) -> &'static str {
        self.env.pages.io.name()
    }

    /// Longest key accepted (grows with the page size; >= 1000).
    pub fn max_key_size(&self) -> usize {
        self.env.config.max_key
    }

    /// Transactions currently open on this database.
    pub fn open_transactions(&self) -> usize {
        self.env.readers.count() + self.env.open_writers.load(Ordering::Acquire)
    }

    /// Verifies the file (see `check`): the meta pages on disk, then every
    /// page of the latest snapshot.
    pub fn check(&self) -> Result<Report> {
        self.check_with_spare().map(|(report, _)| report)
    }

    /// `check`, with a damaged spare meta slot an error too (`Corrupted`,
    /// saying what it may mean) once the rest passed, rather than a flag in
    /// the report: for callers that get no report (the C API's
    /// `thunder_check`).
    pub fn check_strict(&self) -> Result<Report> {
        match self.check_with_spare()? {
            (_, Some(spare)) => Err(spare),
            (report, None) => Ok(report),
        }
    }

    fn check_with_spare(&self) -> Result<(Report, Option<Error>)> {
        let spare = self.env.check_metas()?;
        let (tx, meta) = ReadTx::begin_internal(self.env.clone());
        let report = check::run(&tx.page_reader(), &meta)?;
        Ok((Report { spare_meta_damaged: spare.is_some(), ..report }, spare))
    }

    /// Writes a standalone copy of the latest committed snapshot to the new
    /// file `dest`: its pages as they are (free pages left as holes), with
    /// a meta that needs no write-ahead log, so commits not yet
    /// checkpointed are included. Readers and the writer go on meanwhile,
    /// and a thread holding the write transaction may call it (the copy
    /// reads a snapshot). The file appears under `dest` only complete and
    /// synced (see `copy::Staged`). `InvalidArgument` if `dest` exists or
    /// is this database. Returns the copy's size in bytes.
    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<u64> {
        let (tx, meta) = ReadTx::begin_internal(self.env.clone());
        let staged = Staged::new(self.path(), dest.as_ref())?;
        let len = copy::write_snapshot(&tx, &meta, staged.file(), staged.temp_path())?;
        staged.install()?;
        Ok(len)
    }

    /// Writes the latest committed snapshot to the new file `dest` as a
    /// fresh, densely packed database: every bucket and key rebuilt in key
    /// order with full pages, free pages dropped, bucket sequences kept,
    /// same page size, overflow threshold and max size. Otherwise as
    /// `backup`. Returns the new file's size in bytes.
    pub fn compact(&self, dest: impl AsRef<Path>) -> Result<u64> {
        let (tx, _) = ReadTx::begin_internal(self.env.clone());
        let staged = Staged::new(self.path(), dest.as_ref())?;
        let ps = self.page_size() as u64;
        let opts = Options::new()
            .page_size(ps as u32)?
            .overflow_threshold(self.env.config.overflow_threshold as u32)?
            .max_size(self.env.pages.max_pages * ps)?
            .sync_mode(SyncMode::None)?;
        let target = Database::open_with_options(staged.temp_path(), opts)?;
        copy::copy_trees(&tx, || target.begin_write(), copy::BATCH_BYTES)?;
        // Durable first: the sync writes the freelist the last commit
        // deferred, which may take pages past the count read below.
        target.sync()?;
        let len = target.stat()?.page_count * ps;
        target.close()?;
        // The file grows in chunks: cut what the last one left unused.
        staged.file().set_len(len).map_err(|e| Error::io("truncate", staged.temp_path(), Some(len), e))?;
        staged.install()?;
        Ok(len)
    }

    /// Closes this handle and checkpoints everything committed. Closing the
    /// last handle also stops the syncer and releases the lock; other clones
    /// keep the database open, and a database whose last handle went closes
    /// when its last transaction ends. While transactions are open nothing is
    /// done: `Busy`, with the handle given back in the error.
    pub fn close(self) -> std::result::Result<(), CloseError> {
        if self.open_transactions() > 0 {
            let error = Error::Busy("close with transactions still open (commit or abort them first)");
            return Err(CloseError { error, db: Some(self) });
        }
        let env = self.env.clone();
        drop(self); // the last handle stops the syncer
        let res = match (env.config.read_only, env.handles.load(Ordering::Acquire)) {
            (true, _) => Ok(()),
            // The last handle: nothing appends to the log any more.
            (false, 0) => env.close_log(),
            (false, _) => env.checkpoint(),
        };
        drop(env);
        res.map_err(|error| CloseError { error, db: None })
    }

    pub fn stat(&self) -> Result<Stats> {
        let env = &*self.env;
        let (free, pending) = self.free_and_pending();
        let readers = env.readers.count();
        let file_size = env.pages.file.metadata().map_err(|e| Error::io("stat", &env.config.path, None, e))?.len();
        let (tx, meta) = ReadTx::begin_internal(self.env.clone());
        let depth = tree::depth(&tx.page_reader(), Root::from_page(meta.root.keys.root, 0).node)?;
        let log = env.log();
        let (batches, commits) = log.map_or((0, 0), |l| l.group.counts());
        Ok(Stats {
            page_size: env.config.page_size as u32,
            page_count: meta.page_count,
            free_page_count: free,
            pending_page_count: pending,
            file_size,
            last_txid: meta.txid.0,
            key_count: meta.root.keys.count,
            bucket_count: meta.bucket_count,
            tree_depth: depth,
            reader_count: readers as u32,
            wal_size: log.map_or(0, |l| l.writer.record_bytes()),
            checkpoint_lsn: log.map_or(0, |_| env.durability.checkpoint_lsn().0),
            wal_end_lsn: log.map_or(0, |l| l.writer.end().0),
            group_commit_batches: batches,
            group_commit_commits: commits,
        })
    }

    /// Free and pending page counts now. With the writer idle they come from
    /// its freelist, where pending pages that no reader and no durable
    /// snapshot can see any more count as free (the next write transaction
    /// releases them); otherwise as the last write transaction left them.
    fn free_and_pending(&self) -> (u64, u64) {
        let env = &*self.env;
        env.writer.with_idle_state(|state| match state.and_then(|s| s.freelist.as_ref()) {
            Some(fl) => {
                let ready = fl.releasable(&env.current_and_horizon().1);
                (fl.free_pages() + ready, fl.pending_pages() - ready)
            }
            None => (env.free_pages.load(Ordering::Acquire), env.pending_pages.load(Ordering::Acquire)),
        })
    }
}
