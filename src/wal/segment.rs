//! Segment files: naming, the 32-byte header, and the writer. A segment is
//! `{id:08x}.wal` in the log's directory; its first record starts right
//! after the header. LSN = segment id << 32 | byte offset in the file.
//!
//! `WalWriter` appends one transaction's frames with one write at the end of
//! the current segment (no fsync), moving to a new segment first when the
//! current one holds records and would pass the segment size: a
//! transaction's records never span two segments. `sync` fdatasyncs outside
//! the append lock, so appends go on while a group's sync runs; a segment
//! left behind is synced before the move.
//!
//! The writer allocates the segment ahead of its appends, `PREALLOCATE`
//! bytes at a time: an fdatasync after an append that does not change the
//! file's size need not write its metadata, which made a small durable
//! append about a quarter faster on this project's test disk. The scan
//! reads the zeros past the last record as the end of the log.
//!
//! Appends, syncs and a new segment's header go through an `IoBackend`
//! built for each segment file by a `SegmentIo` factory (production: one
//! backend per segment, of the data file's kind; tests: a `FaultIo` that
//! can cut power at any step).
//! The truncation at open and directory fsyncs use the file and directory
//! directly.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Corruption, Error, Result};
use crate::storage::{Backend, IoBackend, WriteOp};
use crate::types::{le, Lsn};

/// Bytes of a segment header.
pub(crate) const SEGMENT_HEADER: u32 = 32;
const MAGIC: &[u8; 8] = b"thunderW";
/// Version 2: TxBegin carries the durable-log watermark. Version 1
/// segments (TxBegin without it) are still read.
const VERSION: u32 = 2;
/// Bytes a segment is allocated ahead of its appends.
const PREALLOCATE: u64 = 1 << 20;

/// The file name of segment `id`.
pub(crate) fn segment_name(id: u32) -> String {
    format!("{id:08x}.wal")
}

/// The segment id a file name denotes, if it is a segment's.
pub(crate) fn segment_id(name: &str) -> Option<u32> {
    let hex = name.strip_suffix(".wal")?;
    (hex.len() == 8 && hex.bytes().all(|c| c.is_ascii_hexdigit())).then(|| u32::from_str_radix(hex, 16).ok())?
}

/// The first record position at or after `lsn` (a position inside a
/// header, as LSN 0 of a database never logged, means the first record).
pub(crate) fn first_lsn(lsn: Lsn) -> Lsn {
    if lsn.offset() < SEGMENT_HEADER {
        Lsn::new(lsn.segment(), SEGMENT_HEADER)
    } else {
        lsn
    }
}

/// The header of segment `id` of the log of database `db` (its meta's id),
/// made by the writer attached as log `log` (`WalWriter::log_id`).
pub(crate) fn encode_header(id: u32, db: u64, log: u32) -> [u8; SEGMENT_HEADER as usize] {
    let mut h = [0u8; SEGMENT_HEADER as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&id.to_le_bytes());
    h[16..24].copy_from_slice(&db.to_le_bytes());
    h[24..28].copy_from_slice(&log.to_le_bytes());
    let crc = crc32fast::hash(&h[..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks the header of segment `id` at the start of `b`.
pub(crate) fn check_header(b: &[u8], id: u32) -> Result<()> {
    let bad = |what: String| Error::Corrupted { page: None, cause: Corruption::WalSegment { segment: id, what } };
    let h = b.get(..SEGMENT_HEADER as usize).ok_or_else(|| bad("shorter than its header".into()))?;
    if &h[..8] != MAGIC {
        return Err(bad("no segment header (another file under a segment's name?)".into()));
    }
    if crc32fast::hash(&h[..28]) != le::u32_at(h, 28) {
        return Err(bad("damaged header".into()));
    }
    if !(1..=VERSION).contains(&le::u32_at(h, 8)) {
        return Err(bad(format!("format version {}", le::u32_at(h, 8))));
    }
    if le::u32_at(h, 12) != id {
        return Err(bad(format!("the header names segment {} (renamed or moved?)", le::u32_at(h, 12))));
    }
    Ok(())
}

/// Whether segment `id`'s file, whose header fails `check_header`, may be
/// one that a kill while creating it left (the file is made empty, then
/// its header written and synced before any record), or whose header took
/// a flipped bit: zeros throughout (`header` and `rest`, the bytes after
/// it that were read); shorter than a header, with what it has of the
/// magic; or a whole header failing its checksum with two of its magic,
/// version and segment id right (a flipped bit spoils one). Not a header
/// whose checksum holds (it names another segment or version), nor bytes
/// that are no header at all: another file under a segment's name, such
/// as a user's or the database file itself (a log directory that is the
/// database's directory). Those are refused, never written over.
pub(crate) fn may_be_torn(header: &[u8], rest: &[u8], id: u32) -> bool {
    let zeros = |b: &[u8]| b.iter().all(|&x| x == 0);
    if zeros(header) {
        return zeros(rest);
    }
    if header.len() < SEGMENT_HEADER as usize {
        let n = header.len().min(MAGIC.len());
        return header[..n] == MAGIC[..n];
    }
    let right = [&header[..8] == MAGIC, (1..=VERSION).contains(&le::u32_at(header, 8)), le::u32_at(header, 12) == id];
    crc32fast::hash(&header[..28]) != le::u32_at(header, 28) && right.iter().filter(|&&r| r).count() >= 2
}

/// fsyncs a directory, so that files created or removed in it stay so.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io("fsync directory", dir, None, e))
}

/// Creates the log directory `dir` and any missing parents, each new entry
/// made durable (its parent synced: a review lost a log set by option in
/// another directory, and its acknowledged commits, to a power cut that
/// kept the segments' data but not the new directory's name). Returns
/// whether `dir` itself was made here (false: it was there, or another
/// process made it meanwhile).
pub(crate) fn create_dir_durable(dir: &Path) -> Result<bool> {
    if dir.is_dir() {
        return Ok(false);
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_durable(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {
            let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            sync_dir(parent)?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(false),
        Err(e) => Err(Error::io("create WAL directory", dir, None, e)),
    }
}

/// Builds the backend that writes and syncs one segment file.
pub(crate) type SegmentIo = Arc<dyn Fn(File) -> Result<Arc<dyn IoBackend>> + Send + Sync>;

/// The production segment backend: one of `kind` per segment (the data
/// file's kind), writing at most `write_buffer` bytes per call.
pub(crate) fn segment_io(kind: Backend, write_buffer: usize) -> SegmentIo {
    Arc::new(move |f: File| kind.open(f, write_buffer))
}

/// `segment_io` of the `sync` kind.
pub(crate) fn sync_segment_io(write_buffer: usize) -> SegmentIo {
    segment_io(Backend::Sync, write_buffer)
}

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
                let io = |op, e| Error::io(op, &path, None, e);
                let f = OpenOptions::new().write(true).open(&path).map_err(|e| io("open WAL segment", e))?;
                f.set_len(SEGMENT_HEADER as u64).map_err(|e| io("truncate WAL segment", e))?;
                f.sync_data().map_err(|e| io("fsync WAL segment", e))?;
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

/// The database id the header of segment `id` in `dir` names (0: a segment
/// made before ids); None when the segment is missing or its header torn or
/// damaged.
pub(crate) fn segment_owner(dir: &Path, id: u32) -> Option<u64> {
    header_owner(&dir.join(segment_name(id)), id)
}

/// The first of `segs` whose intact header names a database other than
/// `db` (the segment's id and that database's); segments from before ids
/// (0) and torn or damaged headers name none. `db` 0: any named database.
pub(crate) fn foreign_segment(segs: &[(u32, PathBuf)], db: u64) -> Option<(u32, u64)> {
    segs.iter().find_map(|(id, path)| header_owner(path, *id).filter(|&o| o != 0 && o != db).map(|o| (*id, o)))
}

/// Why a new database may not clear a segment file from a log directory
/// set by option (which another database may use).
#[derive(Debug)]
pub(crate) enum Kept {
    /// Its intact header names this database (its log, which may hold
    /// commits only it has).
    Named(u64),
    /// It is no segment (`may_be_torn` says no): another file under a
    /// segment's name.
    NotASegment,
}

/// The first segment file in `dir` a new database must leave alone, with
/// its id and why. Segments made before ids, and those a kill left torn,
/// may be cleared; so may segments holding only their header (what a clean
/// close leaves), unless `headers_too`.
pub(crate) fn kept_segment(dir: &Path, headers_too: bool) -> Result<Option<(u32, Kept)>> {
    for (id, path) in segments(dir)? {
        match inspect(&path, id)? {
            SegmentFile::Intact(h) if h.db != 0 && (headers_too || seg_len(&path)? > SEGMENT_HEADER as u64) => {
                return Ok(Some((id, Kept::Named(h.db))))
            }
            SegmentFile::Foreign => return Ok(Some((id, Kept::NotASegment))),
            _ => {}
        }
    }
    Ok(None)
}

/// What a file under segment `id`'s name holds, judged on its first bytes.
#[derive(Copy, Clone, Debug)]
enum SegmentFile {
    /// A segment with an intact header.
    Intact(SegmentHeader),
    /// A segment whose header a kill or a flipped bit spoilt
    /// (`may_be_torn`, judged on the header and the bytes after it up to
    /// 4 KiB, enough to tell a torn segment's zeros from another file);
    /// the writer a whole spoilt header still names. Also what is no file
    /// (a directory under a segment's name): no one's data, and removing
    /// it fails, which says so.
    Torn(Option<u32>),
    /// Another file under a segment's name: never written over or removed
    /// with the log.
    Foreign,
}

/// What an intact segment header names.
#[derive(Copy, Clone, Debug)]
struct SegmentHeader {
    db: u64,
    /// The writer that made the segment (0: made before log ids).
    log: u32,
}

/// Reads the file at `path`, named as segment `id`, once and says what it
/// holds (`SegmentFile`).
fn inspect(path: &Path, id: u32) -> Result<SegmentFile> {
    if !std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(SegmentFile::Torn(None));
    }
    let mut head = vec![0u8; 4096];
    let n = File::open(path)
        .and_then(|f| read_up_to(&f, &mut head))
        .map_err(|e| Error::io("read WAL segment", path, Some(0), e))?;
    let (h, rest) = head[..n].split_at(n.min(SEGMENT_HEADER as usize));
    Ok(if check_header(h, id).is_ok() {
        SegmentFile::Intact(SegmentHeader { db: le::u64_at(h, 16), log: le::u32_at(h, 24) })
    } else if may_be_torn(h, rest, id) {
        SegmentFile::Torn((h.len() == SEGMENT_HEADER as usize).then(|| le::u32_at(h, 24)))
    } else {
        SegmentFile::Foreign
    })
}

/// Whether the file at `path`, named as segment `id`, is a segment
/// (`inspect`): files under a segment's name that are not are never
/// removed with the log.
fn is_segment(path: &Path, id: u32) -> Result<bool> {
    Ok(!matches!(inspect(path, id)?, SegmentFile::Foreign))
}

/// Reads from the start of `f` into `buf` until it is full or the file
/// ends; the bytes read.
fn read_up_to(f: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match std::os::unix::fs::FileExt::read_at(f, &mut buf[n..], n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// `segment_owner` of segment `id`, the file at `path`.
fn header_owner(path: &Path, id: u32) -> Option<u64> {
    match inspect(path, id).ok()? {
        SegmentFile::Intact(h) => Some(h.db),
        _ => None,
    }
}

/// Whether `dir` holds a segment, from `from` on, that writer `log` made
/// (`WalWriter::log_id`): the log an open must find when the durable meta
/// names that writer (its live log mark). A whole header a flipped bit
/// spoilt counts when it still names the writer; an empty or short one
/// does not: a kill while an open made its segment leaves that before the
/// meta names the writer, and the writer the meta names had synced its
/// segment's header first. `log` 0 (a meta from before log ids): any
/// segment.
pub(crate) fn holds_log(dir: &Path, from: u32, log: u32) -> Result<bool> {
    if !dir.exists() {
        return Ok(false);
    }
    Ok(segments(dir)?.iter().any(|(id, path)| {
        log == 0
            || (*id >= from
                && match inspect(path, *id) {
                    Ok(SegmentFile::Intact(h)) => h.log == log,
                    Ok(SegmentFile::Torn(named)) => named == Some(log),
                    _ => false,
                })
    }))
}

/// Whether `dir` holds a segment `from` or later.
pub(crate) fn segments_from(dir: &Path, from: u32) -> Result<bool> {
    Ok(dir.exists() && segments(dir)?.iter().any(|&(id, _)| id >= from))
}

/// Cuts segment `id`, the file at `path`, at `at`, synced, and returns it
/// open: what a new writer keeps of the segment it resumes in (cut at
/// where the log resumes) and of those after it (emptied to their
/// headers). A header that is torn or damaged (a kill while creating the
/// segment, a flipped bit) is written anew in place first, naming the
/// writer `writer` picks from what a whole spoilt header still names (the
/// file never goes missing; records appended after a bad header would read
/// as damage at the next open). A file that is no segment is refused,
/// never written over (the scan refuses one; an open whose meta says no
/// log is to be read does not scan).
fn cut_segment(path: &Path, id: u32, at: u64, db: u64, writer: impl FnOnce(Option<u32>) -> u32) -> Result<File> {
    match inspect(path, id)? {
        SegmentFile::Intact(_) => {}
        SegmentFile::Torn(named) => rewrite_header(path, id, db, writer(named))?,
        SegmentFile::Foreign => {
            let what = "no segment header (another file under a segment's name?)".to_string();
            return Err(Error::Corrupted { page: None, cause: Corruption::WalSegment { segment: id, what } });
        }
    }
    let io = |op, e| Error::io(op, path, None, e);
    let f = OpenOptions::new().read(true).write(true).open(path).map_err(|e| io("open WAL segment", e))?;
    f.set_len(at).map_err(|e| io("truncate WAL segment", e))?;
    f.sync_all().map_err(|e| io("fsync WAL segment", e))?;
    Ok(f)
}

/// A random, nonzero id for a new log writer.
fn new_log_id() -> u32 {
    let id = crate::alloc::new_db_id();
    match (id ^ (id >> 32)) as u32 {
        0 => 1,
        x => x,
    }
}

/// Writes segment `id`'s header over the start of the file at `path`, synced.
fn rewrite_header(path: &Path, id: u32, db: u64, log: u32) -> Result<()> {
    let io = |op, e| Error::io(op, path, Some(0), e);
    let f = OpenOptions::new().write(true).open(path).map_err(|e| io("open WAL segment", e))?;
    std::os::unix::fs::FileExt::write_all_at(&f, &encode_header(id, db, log), 0)
        .map_err(|e| io("write WAL segment header", e))?;
    f.sync_all().map_err(|e| io("fsync WAL segment", e))
}

fn create_segment(path: &Path, id: u32, db: u64, log: u32, seg_io: &SegmentIo) -> Result<Arc<dyn IoBackend>> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("create WAL segment", path, None, e))?;
    let made = seg_io(f).and_then(|io| {
        let header = encode_header(id, db, log);
        io.write_batch(&[WriteOp { offset: 0, data: &header }])
            .map_err(|e| Error::io("write WAL segment header", path, Some(0), e))?;
        // The header is durable before the directory entry is (the caller
        // syncs the directory next).
        io.sync().map_err(|e| Error::io("fsync WAL segment", path, None, e))?;
        Ok(io)
    });
    if made.is_err() {
        // Not left behind: a later rotation creates this id anew.
        let _ = std::fs::remove_file(path);
    }
    made
}

/// The length of the segment file at `path`.
fn seg_len(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path).map_err(|e| Error::io("stat WAL segment", path, None, e))?.len())
}

/// The segment files in `dir`, by id.
pub(crate) fn segments(dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io("read WAL directory", dir, None, e))?;
    for e in rd {
        let e = e.map_err(|e| Error::io("read WAL directory", dir, None, e))?;
        if let Some(id) = e.file_name().to_str().and_then(segment_id) {
            out.push((id, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Record bytes in the segment files `segs` (`segments`).
fn live_bytes(segs: &[(u32, PathBuf)]) -> Result<u64> {
    let mut n = 0;
    for (_, path) in segs {
        n += stored_bytes(&std::fs::metadata(path).map_err(|e| Error::io("stat WAL segment", path, None, e))?);
    }
    Ok(n)
}

/// What a segment file holds, its header not counted: its length, less
/// the holes a checkpoint punched (the blocks it has, where fewer).
fn stored_bytes(m: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    m.len().min(m.blocks() * 512).saturating_sub(SEGMENT_HEADER as u64)
}

/// Removes every segment of the log in `dir` (files under a segment's name
/// that are no segment stay, see `is_segment`), and the directory if it is
/// empty then and not `keep_dir` (a database whose log is on keeps the
/// directory it holds locked, `Env::wal_lock`). `keep_last`: the segment of the data file's checkpoint,
/// removed last, after the older ones and then the newer ones from the top
/// down (each removal of those synced), so that a kill or power cut part-way
/// leaves a log the scan reads: the checkpoint's segment and the ones after
/// it, consecutive. (None: nothing reads the log, as when a new database
/// replaces a former one whose file went.)
pub(crate) fn remove_log(dir: &Path, keep_last: Option<u32>, keep_dir: bool) -> Result<()> {
    let mut segs = Vec::new();
    for (id, path) in segments(dir)? {
        if is_segment(&path, id)? {
            segs.push((id, path));
        }
    }
    let remove = |path: &Path| std::fs::remove_file(path).map_err(|e| Error::io("remove WAL segment", path, None, e));
    let last = keep_last.unwrap_or(u32::MAX);
    for (_, path) in segs.iter().filter(|(id, _)| *id < last) {
        remove(path)?;
    }
    for (_, path) in segs.iter().rev().filter(|(id, _)| *id > last) {
        sync_dir(dir)?;
        remove(path)?;
    }
    if let Some((_, path)) = segs.iter().find(|(id, _)| *id == last) {
        sync_dir(dir)?;
        remove(path)?;
    }
    // The removals are durable before whatever the caller does next (a new
    // database's metas): a power cut must not bring the segments back.
    if !segs.is_empty() {
        sync_dir(dir)?;
    }
    if !keep_dir {
        let _ = std::fs::remove_dir(dir);
    }
    Ok(())
}
