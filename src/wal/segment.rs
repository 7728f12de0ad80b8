//! The log's writer. `WalWriter` appends one transaction's frames with one
//! write at the end of the current segment (no fsync), moving to a new
//! segment first when the current one holds records and would pass the
//! segment size: a transaction's records never span two segments. `sync`
//! fdatasyncs outside the append lock, so appends go on while a group's
//! sync runs; a segment left behind is synced before the move. Segment
//! files themselves (names, headers, listing, cutting, removing) are in
//! `files.rs`.
//!
//! The writer allocates the segment ahead of its appends, `PREALLOCATE`
//! bytes at a time: an fdatasync after an append that does not change the
//! file's size need not write its metadata, which made a small durable
//! append about a quarter faster on this project's test disk. The scan
//! reads the zeros past the last record as the end of the log.
//!
//! Appends and syncs go through the segment's `IoBackend` (`SegmentIo`).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::storage::{IoBackend, WriteOp};
use crate::types::Lsn;
use crate::wal::files::{
    create_dir_durable, create_segment, cut_segment, first_lsn, is_segment, live_bytes, seg_len, segment_name,
    segments, sync_dir, truncate_synced, SegmentIo, SEGMENT_HEADER,
};

/// Bytes a segment is allocated ahead of its appends.
const PREALLOCATE: u64 = 1 << 20;

/// Appends to the log; see the module doc.
pub(crate) struct WalWriter {
    dir: PathBuf,
    /// The database id new segment headers carry.
    db: u64,
    /// This attachment's id, which new segment headers carry (`open`).
    log_id: u32,
    segment_size: u64,
    seg_io: SegmentIo,
    cur: Mutex<Current>,
    /// Everything before this LSN is durable (a sync covered it).
    synced: AtomicU64,
    /// An append failed past the point where the log could go on as if it
    /// had not been made (`broken`).
    broken: std::sync::atomic::AtomicBool,
    /// Held around every fsync of a segment (after `cur` where both are):
    /// a sync that follows a rotation's failed fsync of the same file sees
    /// `broken` set, and does not take its own success (the kernel reports
    /// a writeback error once) for durability.
    fsyncs: Mutex<()>,
}

impl std::fmt::Debug for WalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalWriter")
            .field("dir", &self.dir)
            .field("segment_size", &self.segment_size)
            .field("cur", &self.cur)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Current {
    io: Arc<dyn IoBackend>,
    id: u32,
    /// Where the next frames go.
    offset: u64,
    /// The current segment's length: allocated ahead of `offset`.
    allocated: u64,
    /// Bytes of the segment files not yet removed (headers not counted):
    /// what their blocks hold, so the holes `remove_before` punched are
    /// not counted (see `stored_bytes`).
    bytes: u64,
}

/// Where a checkpoint's hole in its segment starts: the first block after
/// the header, which stays.
const HOLE_START: u64 = 4096;

impl WalWriter {
    /// Writes from `start` on in `dir` (created if missing): the segment
    /// holding it is cut there (a torn or unfinished tail goes), or created,
    /// and later segments are removed. `start` must be where the committed
    /// log ends. `seg_io` builds the backend of each segment file; `db` is
    /// the database's id, for the headers.
    ///
    /// Each writer is a new attachment of the log, with an id of its own
    /// (`log_id`) in the header of every segment it makes, and it makes
    /// one at once: a segment it resumes in (made by an earlier writer) is
    /// synced and left for the next. So the log directory that holds this
    /// writer's commits holds a segment naming it from now on, which the
    /// durable meta's log mark names too (`Env::settle_log_mark`): an open
    /// can tell that log from an older one left in another directory.
    pub fn open(dir: &Path, start: Lsn, segment_size: u64, seg_io: SegmentIo, db: u64) -> Result<WalWriter> {
        let log_id = new_log_id();
        create_dir_durable(dir)?;
        let start = first_lsn(start);
        let path = dir.join(segment_name(start.segment()));
        let io = |op, e| Error::io(op, &path, None, e);
        let resumed = path.exists();
        let seg = if resumed {
            seg_io(cut_segment(&path, start.segment(), start.offset() as u64, db, |_| log_id)?)?
        } else {
            let seg = create_segment(&path, start.segment(), db, log_id, &seg_io)?;
            if start.offset() > SEGMENT_HEADER {
                // The log resumes past the header (its segments went, as at
                // a clean close): the gap reads as zeros, a hole where the
                // filesystem makes one, not blocks allocated for nothing.
                let f = OpenOptions::new().write(true).open(&path).map_err(|e| io("open WAL segment", e))?;
                f.set_len(start.offset() as u64).map_err(|e| io("extend WAL segment", e))?;
                seg.sync().map_err(|e| io("fsync WAL segment", e))?;
            }
            seg
        };
        // Later segments hold nothing committed: only what the cut drops (a
        // torn transaction after a rotation), or nothing (the segment of an
        // open killed before its first commit). Behind a resumed segment
        // they are emptied in place, never removed, and this writer's own
        // segment follows them: one may be the segment of the writer the
        // durable meta names, which an open must find (`holds_log`) until
        // a meta names this writer. Segments past a gap in the ids are
        // removed: no scan reaches them (an open whose meta names a writer
        // refuses such a log). With no segment to resume in, this writer's
        // segment is `start`'s, and the ids after it must be free.
        let (mut last, mut kept) = (start.segment(), Vec::new());
        for (id, later) in segments(dir)? {
            if id > start.segment() && resumed && Some(id) == last.checked_add(1) {
                cut_segment(&later, id, SEGMENT_HEADER as u64, db, |named| named.unwrap_or(log_id))?;
                last = id;
            } else if id > start.segment() && is_segment(&later, id)? {
                std::fs::remove_file(&later).map_err(|e| Error::io("remove WAL segment", &later, None, e))?;
                continue;
            }
            kept.push((id, later));
        }
        sync_dir(dir)?;
        let bytes = live_bytes(&kept)?;
        let offset = start.offset() as u64;
        let cur = Current { io: seg, id: start.segment(), offset, allocated: offset, bytes };
        // The resume segment was synced above, earlier ones before their
        // rotation: everything before `start` is durable.
        let synced = AtomicU64::new(start.0);
        let w = WalWriter {
            dir: dir.to_path_buf(),
            db,
            log_id,
            segment_size,
            seg_io,
            cur: Mutex::new(cur),
            synced,
            broken: Default::default(),
            fsyncs: Mutex::new(()),
        };
        // A segment an earlier writer made (its header names that writer,
        // perhaps an older version or no database) gets no records of this
        // one: a new segment first.
        if resumed {
            let mut cur = w.cur.lock().unwrap_or_else(|p| p.into_inner());
            w.rotate_to(&mut cur, last)?;
        }
        Ok(w)
    }

    /// This writer's id, in the header of every segment it makes.
    pub fn log_id(&self) -> u32 {
        self.log_id
    }

    /// Appends one transaction's frames; returns the LSN past them. A
    /// failure leaves the log as it was when the segment could not be
    /// allocated (a full disk) or the transaction is too large for a
    /// segment; any other (a rotation's fsync, creation or directory sync,
    /// the write itself) marks the writer `broken`.
    #[cfg(test)]
    pub fn append(&self, frames: &[u8]) -> Result<Lsn> {
        self.append_then(frames, false)
    }

    /// `append`; with `sync_soon` (a sync of the log follows), the disk
    /// starts on the frames now (`IoBackend::start_writeback`), so the
    /// commit's other work overlaps their write and the sync waits only
    /// for what is left of it and the flush.
    pub fn append_then(&self, frames: &[u8], sync_soon: bool) -> Result<Lsn> {
        let mut cur = self.cur.lock().unwrap_or_else(|p| p.into_inner());
        let len = frames.len() as u64;
        // An LSN's offset is 32 bits: a 4 GiB segment holds one byte less.
        let size = self.segment_size.min(u32::MAX as u64);
        if cur.offset > SEGMENT_HEADER as u64 && cur.offset + len > size {
            self.rotate(&mut cur)?;
        }
        let end = cur.offset + len;
        if end > u32::MAX as u64 {
            return Err(Error::NoSpace {
                path: self.dir.clone(),
                what: format!("a transaction of {len} log bytes does not fit one WAL segment (4 GiB at most)"),
            });
        }
        // The segment's path is formatted only for an error: formatting it
        // on every append and sync was 3% of a logged one-put commit.
        let path = |id| self.dir.join(segment_name(id));
        if end > cur.allocated {
            let to = end.max((cur.offset + PREALLOCATE).min(self.segment_size)).min(u32::MAX as u64);
            cur.io.grow(to).map_err(|e| Error::io("allocate WAL segment", &path(cur.id), Some(cur.allocated), e))?;
            cur.bytes += to - cur.allocated;
            cur.allocated = to;
        }
        let op = WriteOp { offset: cur.offset, data: frames };
        if let Err(e) = cur.io.write_batch(&[op]) {
            // A failed write may still have landed, whole: zeros over it,
            // so that no later scan finds a transaction that failed (the
            // caller poisons the database, so nothing is appended after).
            let zeros = vec![0u8; frames.len()];
            let _ = cur.io.write_batch(&[WriteOp { offset: cur.offset, data: &zeros }]);
            self.broken.store(true, Ordering::Release);
            return Err(Error::io("write WAL", &path(cur.id), Some(cur.offset), e));
        }
        if sync_soon {
            // Only a hint: the sync reports any failure.
            let _ = cur.io.start_writeback(cur.offset..end);
        }
        cur.offset = end;
        Ok(Lsn::new(cur.id, end as u32))
    }

    /// Drops the transaction whose frames end at `end`, the last appended:
    /// its TxCommit frame, the `abort.len()` bytes before `end`, is written
    /// over with `abort` (a TxAbort frame as long), and the log synced, so
    /// that no scan finds the commit, whatever sync covered it before. The
    /// caller holds the writer slot, so nothing was appended since. A
    /// failure marks the writer `broken`.
    pub fn retract(&self, end: Lsn, abort: &[u8]) -> Result<()> {
        {
            let cur = self.cur.lock().unwrap_or_else(|p| p.into_inner());
            let at = (end.offset() as u64).checked_sub(abort.len() as u64);
            let at = match at {
                Some(at)
                    if cur.id == end.segment() && end.offset() as u64 == cur.offset && at >= SEGMENT_HEADER as u64 =>
                {
                    at
                }
                _ => {
                    return Err(Error::Internal(format!(
                        "retracting a transaction ending at {end:?}, not the log's last"
                    )))
                }
            };
            if let Err(e) = cur.io.write_batch(&[WriteOp { offset: at, data: abort }]) {
                self.broken.store(true, Ordering::Release);
                return Err(Error::io("write WAL", &self.dir.join(segment_name(cur.id)), Some(at), e));
            }
        }
        self.sync().map(drop).inspect_err(|_| self.broken.store(true, Ordering::Release))
    }

    /// Moves to a new segment, the current one synced first. A failed
    /// fsync of the old segment marks the writer broken (poisoning the
    /// database), before a sync waiting for the fsync lock can count its
    /// own fsync of that segment: the commits whose records it held may be
    /// lost. Once it is synced, a failure to start the new segment (too
    /// many open files, a full disk, a failed fsync of the new file or of
    /// the directory) loses nothing: the new file goes, the writer stays on
    /// the old segment, whole and durable, and only the commit that asked
    /// for the rotation fails; the next one tries again. (That poisoned
    /// too, until a review met it with too many files open: every later
    /// commit, checkpoint and close then failed until a reopen.)
    fn rotate(&self, cur: &mut Current) -> Result<()> {
        self.rotate_to(cur, cur.id)
    }

    /// `rotate`, to the segment after `after` (`cur.id`, or a later one
    /// already in the directory).
    fn rotate_to(&self, cur: &mut Current, after: u32) -> Result<()> {
        let _fsync = self.fsyncs.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.dir.join(segment_name(cur.id));
        cur.io.sync().map_err(|e| {
            self.broken.store(true, Ordering::Release);
            Error::io("fsync WAL segment", &old, None, e)
        })?;
        self.synced.fetch_max(Lsn::new(cur.id, cur.offset as u32).0, Ordering::AcqRel);
        self.next_segment(cur, after)
    }

    fn next_segment(&self, cur: &mut Current, after: u32) -> Result<()> {
        let id = after.checked_add(1).ok_or_else(|| Error::Internal("WAL segment ids exhausted".into()))?;
        let path = self.dir.join(segment_name(id));
        let io = create_segment(&path, id, self.db, self.log_id, &self.seg_io)?;
        if let Err(e) = sync_dir(&self.dir) {
            // Its name may not last: not used, not left for the next try
            // (which creates it anew).
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        // Only now, all at once: a failure above leaves the writer on the
        // old segment, whole (id, file and offset agree).
        cur.io = io;
        cur.id = id;
        cur.offset = SEGMENT_HEADER as u64;
        cur.allocated = cur.offset;
        Ok(())
    }

    /// Makes everything appended before the call durable; returns the LSN
    /// up to which it is.
    pub fn sync(&self) -> Result<Lsn> {
        let (io, end) = {
            let cur = self.cur.lock().unwrap_or_else(|p| p.into_inner());
            (cur.io.clone(), Lsn::new(cur.id, cur.offset as u32))
        };
        let _fsync = self.fsyncs.lock().unwrap_or_else(|p| p.into_inner());
        let name = || self.dir.join(segment_name(end.segment()));
        io.sync().map_err(|e| Error::io("fsync WAL", &name(), None, e))?;
        if self.broken() {
            let e = std::io::Error::other("an earlier append or rotation of the log failed");
            return Err(Error::io("fsync WAL", &name(), None, e));
        }
        self.synced.fetch_max(end.0, Ordering::AcqRel);
        Ok(end)
    }

    /// Cuts every segment in the directory to its header: at a clean close,
    /// once the durable meta says no log holds anything past it. The
    /// headers stay, naming the database whose directory this is; the
    /// records go, so a new database made at this path later (the file
    /// removed) may clear them (`kept_segment`). Each cut is synced: one
    /// a power cut lost would leave records, and a new file made there would
    /// be refused (a review saw that; nothing was lost).
    pub fn cut_to_headers(&self) -> Result<()> {
        for (id, path) in segments(&self.dir)? {
            if is_segment(&path, id)? && seg_len(&path)? > SEGMENT_HEADER as u64 {
                truncate_synced(&path, SEGMENT_HEADER as u64)?;
            }
        }
        Ok(())
    }

    /// Whether an append failed in a way that leaves the log unfit to go
    /// on (see `append`): the database must be poisoned.
    pub fn broken(&self) -> bool {
        self.broken.load(Ordering::Acquire)
    }

    /// Everything before this LSN is durable. A commit logs it in its
    /// TxBegin (`record::set_begin_synced`): the scan at open tells damage
    /// in what was durable from a tail whose writes reached the disk out
    /// of order by it.
    pub fn synced(&self) -> Lsn {
        Lsn(self.synced.load(Ordering::Acquire))
    }

    /// Where the next frames go.
    pub fn end(&self) -> Lsn {
        let cur = self.cur.lock().unwrap_or_else(|p| p.into_inner());
        Lsn::new(cur.id, cur.offset as u32)
    }

    /// Bytes of the segment files not yet removed (allocated ahead included,
    /// headers not).
    pub fn bytes(&self) -> u64 {
        self.cur.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    /// Bytes of records in the segment files not yet removed: `bytes`
    /// without the space allocated ahead in the current segment (an older
    /// segment's unused tail, shorter than the transaction that moved to
    /// the next one, still counts).
    pub fn record_bytes(&self) -> u64 {
        let cur = self.cur.lock().unwrap_or_else(|p| p.into_inner());
        cur.bytes.saturating_sub(cur.allocated - cur.offset)
    }

    /// Gives back the space of the records before `lsn`, the checkpoint
    /// of the durable meta: removes the segments before the one holding
    /// it, and punches a hole in that one from its second block to the
    /// last whole block before `lsn` (where the filesystem can), so that
    /// a checkpoint frees the log's space even while its segment is the
    /// current one (a 64 MiB segment used to keep everything until the log
    /// moved on: a full disk stayed full). Nothing reads a segment before
    /// the checkpoint: the scan starts there, and only headers are read
    /// otherwise.
    pub fn remove_before(&self, lsn: Lsn) -> Result<()> {
        // Without the writer's lock: appends go past `lsn`, never before.
        let end = lsn.offset() as u64 / HOLE_START * HOLE_START;
        if end > HOLE_START {
            let path = self.dir.join(segment_name(lsn.segment()));
            let io = |e| Error::io("punch a hole in WAL segment", &path, Some(HOLE_START), e);
            match OpenOptions::new().write(true).open(&path) {
                Ok(file) => crate::storage::punch_hole(&file, HOLE_START..end).map_err(io)?,
                // A later checkpoint, overlapping this one, removed it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        let mut cur = self.cur.lock().unwrap_or_else(|p| p.into_inner());
        let (mut kept, mut removed) = (Vec::new(), false);
        for (id, path) in segments(&self.dir)? {
            if id < lsn.segment() && id < cur.id && is_segment(&path, id)? {
                std::fs::remove_file(&path).map_err(|e| Error::io("remove WAL segment", &path, None, e))?;
                removed = true;
            } else {
                kept.push((id, path));
            }
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        // Counted again from what the files hold, holes out: appends count
        // what they allocate meanwhile.
        cur.bytes = live_bytes(&kept)?;
        Ok(())
    }
}

/// A random, nonzero id for a new log writer.
fn new_log_id() -> u32 {
    let id = crate::alloc::new_db_id();
    match (id ^ (id >> 32)) as u32 {
        0 => 1,
        x => x,
    }
}
