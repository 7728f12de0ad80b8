//! What a write transaction logs when the database has a write-ahead log:
//! its records, framed as they go to the log and built as its changes
//! succeed (a change that fails leaves no record; one that fails the
//! transaction fails its commit too). A transaction replayed from the log at
//! open logs nothing: it carries the LSN its records ended at instead.

use std::mem;

use crate::error::Result;
use crate::txn::write::NO_PARENT;
use crate::txn::WriteTx;
use crate::types::{Lsn, TxId};
use crate::wal::{BucketPath, Rec};

/// A frame buffer up to this size is kept for the writer's next
/// transaction. Growing a fresh one frame by frame, and a fresh buffer for
/// each record's bucket path, were a tenth of a logged one-put commit's
/// instructions (callgrind: realloc and `RawVec::finish_grow`).
const KEEP_FRAMES_BYTES: usize = 256 << 10;

/// A write transaction's side of the log.
#[derive(Debug)]
pub(crate) enum TxLog {
    /// The database has no WAL.
    Off,
    /// The framed records so far, starting with TxBegin; `path`: room for
    /// one record's encoded bucket path.
    Recording { frames: Vec<u8>, path: Vec<u8> },
    /// Replaying a logged transaction whose records end at this LSN.
    Replaying(Lsn),
}

impl TxLog {
    /// The log of a new transaction `txid`, framed into `buf` (emptied
    /// first: a buffer an earlier transaction gave back with `into_buffer`).
    pub fn begin(logging: bool, txid: TxId, mut buf: Vec<u8>) -> TxLog {
        if !logging {
            return TxLog::Off;
        }
        buf.clear();
        // The durable-log watermark is set at the append (`Env::log_append`).
        Rec::TxBegin(txid, Lsn(0)).append_to(&mut buf);
        TxLog::Recording { frames: buf, path: Vec::new() }
    }

    /// The frame buffer, to keep for the next transaction when it is small.
    pub fn into_buffer(self) -> Vec<u8> {
        match self {
            TxLog::Recording { frames, .. } if frames.capacity() <= KEEP_FRAMES_BYTES => frames,
            _ => Vec::new(),
        }
    }
}

impl WriteTx {
    /// Whether this transaction replays a logged one.
    pub(crate) fn replaying(&self) -> bool {
        matches!(self.log, TxLog::Replaying(_))
    }

    /// Marks this transaction as the replay of one whose records end at `end`.
    pub(crate) fn replay_of(&mut self, end: Lsn) {
        self.log = TxLog::Replaying(end);
    }

    /// The names from the top level down to bucket `slot` (empty: the
    /// default keyspace).
    fn names(&self, mut slot: u32) -> Vec<&[u8]> {
        let mut names = Vec::new();
        while slot != 0 && slot != NO_PARENT {
            let b = &self.buckets[slot as usize];
            names.push(b.name.as_slice());
            slot = b.parent;
        }
        names.reverse();
        names
    }

    /// Appends the record `write` frames, given the path of bucket `slot`
    /// (with `extra` appended to the path: a child's name).
    #[inline]
    fn record(&mut self, slot: u32, extra: Option<&[u8]>, write: impl FnOnce(BucketPath<'_>, &mut Vec<u8>)) {
        if matches!(self.log, TxLog::Recording { .. }) {
            self.record_now(slot, extra, write);
        }
    }

    /// `record` when the transaction is recording.
    fn record_now(&mut self, slot: u32, extra: Option<&[u8]>, write: impl FnOnce(BucketPath<'_>, &mut Vec<u8>)) {
        let TxLog::Recording { frames, path } = &mut self.log else { return };
        let (mut frames, mut encoded) = (mem::take(frames), mem::take(path));
        let mut names = self.names(slot);
        names.extend(extra);
        encoded.clear();
        BucketPath::encode(&names, &mut encoded);
        write(BucketPath::new(&encoded), &mut frames);
        self.log = TxLog::Recording { frames, path: encoded };
    }

    #[inline]
    pub(crate) fn log_put(&mut self, slot: u32, key: &[u8], value: &[u8]) {
        self.record(slot, None, |path, out| Rec::Put { path, key, value }.append_to(out));
    }

    #[inline]
    pub(crate) fn log_delete(&mut self, slot: u32, key: &[u8]) {
        self.record(slot, None, |path, out| Rec::Delete { path, key }.append_to(out));
    }

    /// Child `name` of bucket `parent` was created.
    #[inline]
    pub(crate) fn log_create_bucket(&mut self, parent: u32, name: &[u8]) {
        self.record(parent, Some(name), |path, out| Rec::CreateBucket { path }.append_to(out));
    }

    /// Child `name` of bucket `parent` was deleted.
    #[inline]
    pub(crate) fn log_delete_bucket(&mut self, parent: u32, name: &[u8]) {
        self.record(parent, Some(name), |path, out| Rec::DeleteBucket { path }.append_to(out));
    }

    #[inline]
    pub(crate) fn log_sequence(&mut self, slot: u32, value: u64) {
        self.record(slot, None, |path, out| Rec::Sequence { path, value }.append_to(out));
    }

    /// Phase 4 (first of all under `SyncMode::Full`, see
    /// `WriteTx::log_before_pages`): appends the transaction's records and
    /// its TxCommit to the log; returns the LSN past them (a replayed
    /// transaction: where its records ended). None without a log.
    /// `sync_soon`: the log's sync follows (`WalWriter::append_then`).
    pub(crate) fn write_log(&mut self, sync_soon: bool) -> Result<Option<Lsn>> {
        match &mut self.log {
            TxLog::Off => Ok(None),
            TxLog::Replaying(end) => Ok(Some(*end)),
            TxLog::Recording { frames, .. } => {
                Rec::TxCommit(self.txid).append_to(frames);
                self.env.log_append(frames, sync_soon).map(Some)
            }
        }
    }
}
