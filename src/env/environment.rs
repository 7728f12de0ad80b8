//! `Env`: what a database holds between transactions. `Database` is a cheap
//! handle over `Arc<Env>`; every transaction holds the same Arc, so the
//! mapping outlives every view handed out.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::env::durability::Durability;
use crate::env::pages::Pages;
use crate::env::readers::Readers;
use crate::env::wal_log::WalLog;
use crate::env::writer::Writer;
use crate::options::SyncMode;

/// Settings fixed at open.
#[derive(Debug)]
pub(crate) struct Config {
    pub path: PathBuf,
    pub page_size: usize,
    pub read_only: bool,
    pub sync_mode: SyncMode,
    pub overflow_threshold: usize,
    /// Longest key accepted at this page size.
    pub max_key: usize,
    /// Floor of the steady-point rule (`Options::autosync_bytes`).
    pub autosync_bytes: u64,
}

#[derive(Debug)]
pub(crate) struct Env {
    pub config: Config,
    pub pages: Pages,
    pub readers: Readers,
    pub writer: Writer,
    pub durability: Durability,
    /// The write-ahead log, when the database has one (attached after open
    /// has replayed what the log held).
    pub wal: OnceLock<WalLog>,
    /// Open write transactions (0 or 1; open read transactions are the
    /// reader table's count, kept under its lock, which costs a read
    /// transaction no atomic counter of its own).
    pub open_writers: AtomicUsize,
    /// Free and pending page counts as the last write transaction left them
    /// (for `stat` while a writer holds the freelist).
    pub free_pages: AtomicU64,
    pub pending_pages: AtomicU64,
    /// Live `Database` handles (clones); transactions are not counted.
    pub handles: AtomicUsize,
    /// The write-ahead log directory, open and flock'ed (exclusive, shared
    /// when read-only) while it exists at open or the log is on, so that a
    /// second database configured with the same directory is `Locked`
    /// instead of removing this one's segments or replaying them as its own.
    pub _wal_lock: Option<std::fs::File>,
}

/// Source of transaction serial numbers (to reject handles of another txn).
static SERIAL: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_serial() -> u64 {
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

impl Env {
    /// The write-ahead log, if the database has one.
    pub fn log(&self) -> Option<&WalLog> {
        self.wal.get()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.stop_syncer();
        if !self.config.read_only {
            // Errors cannot be reported from drop; `Database::close` reports them.
            let _ = self.checkpoint();
        }
    }
}
