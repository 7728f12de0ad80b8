//! The log's directory and its segment files: a segment is `{id:08x}.wal`,
//! its first record right after the 32-byte header; LSN = segment id << 32
//! | byte offset in the file. Naming, the header, what a file under a
//! segment's name holds (`inspect`: a segment, one a kill left torn, or
//! another file), listing, creating, cutting and removing segments, and
//! making the directory durable. The writer that appends to them is in
//! `segment.rs`; reading them back in `scan.rs`.
//!
//! A new segment's header goes through an `IoBackend` built by a
//! `SegmentIo` factory (production: one backend per segment, of the data
//! file's kind; tests: a `FaultIo` that can cut power at any step). Cuts
//! and directory fsyncs use the file and directory directly.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Corruption, Error, Result};
use crate::storage::{Backend, IoBackend, WriteOp};
use crate::types::{le, Lsn};

/// Bytes of a segment header.
pub(crate) const SEGMENT_HEADER: u32 = 32;
const MAGIC: &[u8; 8] = b"thunderW";
/// Version 2: TxBegin carries the durable-log watermark. Version 1
/// segments (TxBegin without it) are still read.
const VERSION: u32 = 2;

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
pub(super) fn is_segment(path: &Path, id: u32) -> Result<bool> {
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
pub(super) fn cut_segment(
    path: &Path,
    id: u32,
    at: u64,
    db: u64,
    writer: impl FnOnce(Option<u32>) -> u32,
) -> Result<File> {
    match inspect(path, id)? {
        SegmentFile::Intact(_) => {}
        SegmentFile::Torn(named) => rewrite_header(path, id, db, writer(named))?,
        SegmentFile::Foreign => {
            let what = "no segment header (another file under a segment's name?)".to_string();
            return Err(Error::Corrupted { page: None, cause: Corruption::WalSegment { segment: id, what } });
        }
    }
    truncate_synced(path, at)
}

/// Cuts the segment file at `path` to `at` bytes, synced; returns it open.
pub(super) fn truncate_synced(path: &Path, at: u64) -> Result<File> {
    let io = |op, e| Error::io(op, path, None, e);
    let f = OpenOptions::new().read(true).write(true).open(path).map_err(|e| io("open WAL segment", e))?;
    f.set_len(at).map_err(|e| io("truncate WAL segment", e))?;
    f.sync_all().map_err(|e| io("fsync WAL segment", e))?;
    Ok(f)
}

/// Writes segment `id`'s header over the start of the file at `path`, synced.
fn rewrite_header(path: &Path, id: u32, db: u64, log: u32) -> Result<()> {
    let io = |op, e| Error::io(op, path, Some(0), e);
    let f = OpenOptions::new().write(true).open(path).map_err(|e| io("open WAL segment", e))?;
    std::os::unix::fs::FileExt::write_all_at(&f, &encode_header(id, db, log), 0)
        .map_err(|e| io("write WAL segment header", e))?;
    f.sync_all().map_err(|e| io("fsync WAL segment", e))
}

pub(super) fn create_segment(
    path: &Path,
    id: u32,
    db: u64,
    log: u32,
    seg_io: &SegmentIo,
) -> Result<Arc<dyn IoBackend>> {
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
pub(super) fn seg_len(path: &Path) -> Result<u64> {
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
pub(super) fn live_bytes(segs: &[(u32, PathBuf)]) -> Result<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The log directory and its missing parents are made (each parent
    /// synced, which this cannot observe: a review's power-loss emulator
    /// lost a new wal_dir's name, and the commits in it, before);
    /// `create_dir_durable` says whether it made the directory itself.
    #[test]
    fn a_log_directory_is_made_with_its_parents() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("a/b/log");
        assert!(create_dir_durable(&dir).unwrap());
        assert!(dir.is_dir());
        assert!(!create_dir_durable(&dir).unwrap(), "there already");
        std::fs::write(t.path().join("file"), b"x").unwrap();
        let e = create_dir_durable(&t.path().join("file")).unwrap_err();
        assert!(e.to_string().contains("create WAL directory"), "{e}");
    }
}
