//! The environment's write-ahead log, when the database has one: the
//! segment writer, group commit, and what decides a checkpoint. A logged
//! commit appends its records under the writer slot (`append`), releases
//! the slot, and waits for its group's sync (`wait_durable`) before readers
//! see it; `Env::checkpoint` (durability.rs) writes the data file's meta and
//! drops the segments before it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::types::{Lsn, TxId};
use crate::wal::{self, GroupCommit, Rec, WalWriter};

#[derive(Debug)]
pub(crate) struct WalLog {
    pub writer: WalWriter,
    pub group: GroupCommit,
    last_checkpoint: Mutex<Instant>,
    interval: Duration,
    checkpoint_bytes: u64,
}

impl WalLog {
    pub fn new(writer: WalWriter, interval: Duration, checkpoint_bytes: u64) -> WalLog {
        let group = GroupCommit::new(writer.end());
        WalLog { writer, group, last_checkpoint: Mutex::new(Instant::now()), interval, checkpoint_bytes }
    }

    /// Whether the log asks for a checkpoint (its size passed the
    /// threshold, or the interval passed since the last one), and whether
    /// it is overdue (twice the size threshold).
    pub fn checkpoint_due(&self) -> (bool, bool) {
        let last = *self.last_checkpoint.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = self.writer.bytes();
        let due = bytes >= self.checkpoint_bytes || (!self.interval.is_zero() && last.elapsed() >= self.interval);
        (due, bytes >= self.checkpoint_bytes.saturating_mul(2))
    }

    pub fn checkpointed(&self) {
        *self.last_checkpoint.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }
}

impl Env {
    /// Appends one transaction's framed records (TxBegin first); returns
    /// the LSN past them. The TxBegin gets where the log is known durable
    /// now (a sync finishing meanwhile leaves it lower: still true).
    /// `sync_soon`: a group sync follows, and the disk starts on the records
    /// now, unless a sync is under way already (the next one writes them:
    /// starting each append's write while a sync ran made 4 committing
    /// threads about 5% slower, 6,000 commits, interleaved runs).
    pub fn log_append(&self, frames: &mut [u8], sync_soon: bool) -> Result<Lsn> {
        let log = self.log().ok_or_else(no_log)?;
        wal::set_begin_synced(frames, log.writer.synced());
        // A failed append poisons unless the log is as it was (a full disk
        // met allocating the segment: the commit rolls back, later ones may
        // go on): its write may have landed, or a rotation's fsync of the
        // segment before failed (records of commits waiting for their sync
        // may be lost, and a second fsync would not say so), or the new
        // segment's directory entry is not durable.
        log.writer.append_then(frames, sync_soon && !log.group.syncing()).inspect_err(|e| {
            if log.writer.broken() {
                self.poisoned(e)
            }
        })
    }

    /// Drops transaction `txid`, whose records end at `end`, the last
    /// appended, from the log (`WalWriter::retract`): a commit that failed
    /// after appending them. A failure poisons the database: the log may
    /// then hold a commit that reported an error.
    pub fn log_retract(&self, txid: TxId, end: Lsn) -> Result<()> {
        let log = self.log().ok_or_else(no_log)?;
        let mut abort = Vec::with_capacity(32);
        Rec::TxAbort(txid).append_to(&mut abort);
        log.writer.retract(end, &abort).inspect_err(|e| self.poisoned(e))
    }

    /// Returns once the log is durable up to `lsn` (group commit). A failed
    /// sync poisons the database.
    pub fn log_wait_durable(&self, lsn: Lsn) -> Result<()> {
        let log = self.log().ok_or_else(no_log)?;
        log.group.wait(lsn, || self.log_sync_now())
    }

    /// fsyncs the log; a failure poisons the database.
    fn log_sync_now(&self) -> Result<Lsn> {
        let log = self.log().ok_or_else(no_log)?;
        // Poisoned by a failed append or sync: a sync now could succeed
        // over writes the failure lost, and acknowledge commits not durable.
        self.check_poison()?;
        log.writer.sync().inspect_err(|e| self.poisoned(e))
    }

    /// Makes every appended record durable (`sync` with a WAL).
    pub fn log_sync(&self) -> Result<()> {
        match self.log() {
            None => Ok(()),
            Some(log) => self.log_wait_durable(log.writer.end()),
        }
    }
}

fn no_log() -> Error {
    Error::Internal("a log operation on a database without a write-ahead log".into())
}
