//! Reading the log back at open: every record from an LSN on, across
//! consecutive segments, grouped into the transactions it committed.
//!
//! Where the log ends. Within the last segment, a record cut short by the
//! end of the file is a torn tail: reading stops there and nothing before
//! it is lost. So is a record that fails its checks unless the log proves
//! it was durable: a whole transaction (TxBegin to its TxCommit, every
//! frame intact) after it whose TxBegin says the log was synced past the
//! failed record's start. The unsynced part of a log may reach the disk in
//! any order (pages written back out of order, a group of commits appended
//! before one sync), so intact frames after a failed one prove nothing by
//! themselves; a TxBegin of a version-1 log, which has no watermark, counts
//! as synced past anything (the rule of that version). A failed record the
//! log proves durable is damage in the middle: `Corrupted` with its LSN.
//! In any other segment every failure is damage (a segment is synced before
//! the next is begun), and so is a gap in the segment ids or a header
//! naming another segment. A transaction with no TxCommit at the end of
//! the log is dropped, and so is one ended by a TxAbort (a commit that
//! failed after appending its records).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Corruption, Error, Result};
use crate::types::{Lsn, TxId};
use crate::wal::files::{check_header, first_lsn, foreign_segment, may_be_torn, segments, SEGMENT_HEADER};
use crate::wal::record::{read_frame, Frame, Rec};

/// One committed transaction as the log holds it.
#[derive(Debug)]
pub(crate) struct LoggedTxn {
    pub txid: TxId,
    /// The LSN just past its TxCommit: where replay of the next one starts.
    pub end: Lsn,
    /// Its frames, TxBegin to TxCommit.
    frames: Vec<u8>,
}

impl LoggedTxn {
    /// Its records in order (the frames were checked when the log was read).
    pub fn records(&self) -> impl Iterator<Item = Result<Rec<'_>>> {
        let mut at = 0;
        std::iter::from_fn(move || {
            if at >= self.frames.len() {
                return None;
            }
            match read_frame(&self.frames[at..]) {
                Frame::Rec(r, n) => {
                    at += n;
                    Some(Ok(r))
                }
                _ => {
                    at = self.frames.len();
                    Some(Err(Error::Internal("a checked WAL frame no longer reads".into())))
                }
            }
        })
    }
}

/// Where the readable log ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScanEnd {
    /// Just past the last intact record.
    pub end: Lsn,
    /// Bytes after `end` were cut off as a torn tail.
    pub torn: bool,
}

fn damaged(lsn: Lsn, what: impl Into<String>) -> Error {
    Error::Corrupted { page: None, cause: Corruption::WalRecord { lsn, what: what.into() } }
}

/// The committed transactions of the log in `dir` from `from` on, the log
/// of the database whose id is `db` (0: a file made before ids, whose log
/// is not checked).
pub(crate) fn committed(dir: &Path, from: Lsn, db: u64) -> Result<(Vec<LoggedTxn>, ScanEnd)> {
    let from = first_lsn(from);
    let all = segments(dir)?;
    check_owner(dir, &all, db)?;
    let segs: Vec<_> = all.iter().filter(|(id, _)| *id >= from.segment()).cloned().collect();
    // The checkpoint's segment exists from the rotation that made it until
    // a later checkpoint; older ones go before it. Older segments without
    // it: it was removed or moved, and the commits after the checkpoint
    // with it (a log with no segment at all was removed whole, as an open
    // with the log off does).
    if segs.is_empty() && !all.is_empty() {
        let what = "missing (the log has older segments)".to_string();
        return Err(Error::Corrupted { page: None, cause: Corruption::WalSegment { segment: from.segment(), what } });
    }
    let mut txns = Vec::new();
    let mut open: Option<(TxId, Vec<u8>)> = None;
    let mut end = ScanEnd { end: from, torn: false };
    for (i, (id, path)) in segs.iter().enumerate() {
        let want = from.segment() + i as u32;
        if *id != want {
            let what = "missing (the log has later segments)".to_string();
            return Err(Error::Corrupted { page: None, cause: Corruption::WalSegment { segment: want, what } });
        }
        let last = i + 1 == segs.len();
        let start = if i == 0 { from.offset() } else { SEGMENT_HEADER };
        let (header, tail) = read_from(path, start)?;
        if let Err(e) = check_header(&header, *id) {
            // A crash right after a rotation can leave the new, last segment
            // empty or with a torn header: the log ended before it.
            // (A header is synced before any record follows it: any whole
            // transaction after a bad one proves damage. The writer writes
            // this segment's header anew: only over what may be torn.)
            let rest = tail.as_deref().unwrap_or_default();
            if last && may_be_torn(&header, rest, *id) && !whole_txn_after(rest, 0, |_| true) {
                return Ok((txns, ScanEnd { end: Lsn::new(*id, SEGMENT_HEADER), torn: true }));
            }
            return Err(e);
        }
        end = read_segment(&tail, *id, start, last, &mut open, &mut txns)?;
        if open.is_some() && !last {
            return Err(damaged(end.end, "a transaction runs past the end of its segment"));
        }
    }
    Ok((txns, end))
}

/// `check_owner` of the segments in `dir`.
pub(crate) fn check_log_owner(dir: &Path, db: u64) -> Result<()> {
    check_owner(dir, &segments(dir)?, db)
}

/// Refuses a log whose segments name another database than `db`: a copy
/// (a backup, a compacted file, another database) put in place of the file
/// whose log this is. Replayed, its transactions would land in a database
/// they were never made in, past that one's txid. A segment from before ids
/// (0), or one whose header is damaged (the scan judges those), passes.
fn check_owner(dir: &Path, segs: &[(u32, PathBuf)], db: u64) -> Result<()> {
    if db == 0 {
        return Ok(());
    }
    // One intact header naming another database is enough; a segment that
    // cannot be read (one before the checkpoint is never read otherwise) or
    // is damaged says nothing here.
    match foreign_segment(segs, db) {
        None => Ok(()),
        Some((id, owner)) => Err(Error::Incompatible {
            path: dir.into(),
            what: format!(
                "the write-ahead log belongs to another database (segment {id} names database {owner:016x}, \
                 the file is database {db:016x}): was the file replaced by a copy, or is this directory \
                 another database's log (its <path>.wal, or the wal_dir it is set to)? Only if no database \
                 needs that log, move it away to open the file as it is"
            ),
        }),
    }
}

/// The header of the segment file at `path`, and its bytes from offset
/// `start` on (`None`: the file ends before `start`). Only the part replay
/// needs is read: at open, `start` is usually near the end of the segment.
fn read_from(path: &Path, start: u32) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let io = |e| Error::io("read WAL segment", path, Some(start as u64), e);
    let f = File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let read = |from: u64, to: u64| -> Result<Vec<u8>> {
        let mut buf = vec![0u8; to.saturating_sub(from) as usize];
        f.read_exact_at(&mut buf, from).map_err(io)?;
        Ok(buf)
    };
    let header = read(0, len.min(SEGMENT_HEADER as u64))?;
    let tail = (start as u64 <= len).then(|| read(start as u64, len)).transpose()?;
    Ok((header, tail))
}

/// Reads segment `id`'s bytes from offset `start` (`tail`; `None` when the
/// file ends before it), adding what they commit to `txns`.
fn read_segment(
    tail: &Option<Vec<u8>>,
    id: u32,
    start: u32,
    last: bool,
    open: &mut Option<(TxId, Vec<u8>)>,
    txns: &mut Vec<LoggedTxn>,
) -> Result<ScanEnd> {
    let Some(bytes) = tail else {
        // The durable meta's position past what the last segment kept: the
        // file holds everything before it, there is nothing to replay.
        if last {
            return Ok(ScanEnd { end: Lsn::new(id, start), torn: true });
        }
        return Err(damaged(Lsn::new(id, start), "the log position lies past the end of its segment"));
    };
    let mut at = 0;
    while at < bytes.len() {
        let lsn = Lsn::new(id, start + at as u32);
        let (rec, n) = match read_frame(&bytes[at..]) {
            Frame::Rec(r, n) => (r, n),
            // The segment was allocated ahead of its appends: zeros to the
            // end of the file are where the log ends.
            Frame::Short | Frame::Bad { .. } if bytes[at..].iter().all(|&b| b == 0) => {
                return Ok(ScanEnd { end: lsn, torn: false })
            }
            Frame::Short if last => return Ok(ScanEnd { end: lsn, torn: true }),
            // Searched from past the failed record when its length holds, so
            // that frames stored inside a torn value do not count.
            Frame::Bad { len, .. } if last && !whole_txn_after(bytes, at + len.unwrap_or(1), |synced| synced > lsn) => {
                return Ok(ScanEnd { end: lsn, torn: true })
            }
            Frame::Short => return Err(damaged(lsn, "record cut short before the end of its segment")),
            Frame::Bad { what, .. } => return Err(damaged(lsn, what)),
        };
        let frame = &bytes[at..at + n];
        at += n;
        group(rec, frame, Lsn::new(id, start + at as u32), lsn, open, txns)?;
    }
    Ok(ScanEnd { end: Lsn::new(id, start + at as u32), torn: false })
}

/// Adds one record to the transaction it belongs to.
fn group(
    rec: Rec<'_>,
    frame: &[u8],
    after: Lsn,
    lsn: Lsn,
    open: &mut Option<(TxId, Vec<u8>)>,
    txns: &mut Vec<LoggedTxn>,
) -> Result<()> {
    match (rec, open.as_mut()) {
        (Rec::TxBegin(t, _), None) => *open = Some((t, frame.to_vec())),
        (Rec::TxBegin(..), Some(_)) => return Err(damaged(lsn, "TxBegin inside an open transaction")),
        (_, None) => return Err(damaged(lsn, "a record outside any transaction")),
        (Rec::TxCommit(t), Some((begun, _))) if t != *begun => {
            return Err(damaged(lsn, format!("TxCommit of {} closes transaction {}", t.0, begun.0)))
        }
        (Rec::TxCommit(_), Some(_)) => {
            let (txid, mut frames) = open.take().expect("matched Some");
            frames.extend_from_slice(frame);
            txns.push(LoggedTxn { txid, end: after, frames });
        }
        (Rec::TxAbort(t), Some((begun, _))) if t != *begun => {
            return Err(damaged(lsn, format!("TxAbort of {} closes transaction {}", t.0, begun.0)))
        }
        (Rec::TxAbort(_), Some(_)) => *open = None,
        (_, Some((_, frames))) => frames.extend_from_slice(frame),
    }
    Ok(())
}

/// Whether a whole transaction (an intact TxBegin, intact frames, and its
/// TxCommit or TxAbort) whose durable-log watermark satisfies `proves` starts anywhere
/// at or after `from`.
fn whole_txn_after(bytes: &[u8], from: usize, proves: impl Fn(Lsn) -> bool) -> bool {
    (from..bytes.len()).any(|at| {
        let Frame::Rec(Rec::TxBegin(t, synced), n) = read_frame(&bytes[at..]) else { return false };
        if !proves(synced) {
            return false;
        }
        let mut p = at + n;
        while let Frame::Rec(r, m) = read_frame(&bytes[p..]) {
            match r {
                Rec::TxCommit(c) | Rec::TxAbort(c) => return c == t,
                Rec::TxBegin(..) => return false,
                _ => p += m,
            }
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::wal::files::segment_name;
    use crate::wal::record::BucketPath;
    use crate::wal::segment::WalWriter;

    /// Transaction `txid`'s frames: TxBegin (its watermark says the log
    /// was synced past anything, as a version-1 TxBegin reads), one Put,
    /// TxCommit.
    fn txn(txid: u64, value_len: usize) -> Vec<u8> {
        let mut path = Vec::new();
        BucketPath::encode(&[b"b"], &mut path);
        let value = vec![txid as u8; value_len];
        let mut f = Vec::new();
        Rec::TxBegin(TxId(txid), Lsn(u64::MAX)).append_to(&mut f);
        Rec::Put { path: BucketPath::new(&path), key: b"key", value: &value }.append_to(&mut f);
        Rec::TxCommit(TxId(txid)).append_to(&mut f);
        f
    }

    /// A log in a fresh directory with `n` transactions, segments of `seg`
    /// bytes, each synced after its append (as `SyncMode::Full` commits
    /// one at a time), its TxBegin carrying the watermark as a commit's does.
    fn log(n: u64, value_len: usize, seg: u64) -> (tempfile::TempDir, Vec<Lsn>) {
        log_synced_every(n, value_len, seg, 1)
    }

    /// `log`, synced after every `every` transactions (and at the end).
    fn log_synced_every(n: u64, value_len: usize, seg: u64, every: u64) -> (tempfile::TempDir, Vec<Lsn>) {
        let dir = tempfile::tempdir().unwrap();
        let w = WalWriter::open(dir.path(), Lsn(0), seg, crate::wal::sync_segment_io(1 << 16), 0).unwrap();
        let mut ends = Vec::new();
        for t in 1..=n {
            let mut f = txn(t, value_len);
            crate::wal::set_begin_synced(&mut f, w.synced());
            ends.push(w.append(&f).unwrap());
            if t % every == 0 {
                w.sync().unwrap();
            }
        }
        w.sync().unwrap();
        (dir, ends)
    }

    fn txids(dir: &Path) -> Result<Vec<u64>> {
        Ok(committed(dir, Lsn(0), 0)?.0.iter().map(|t| t.txid.0).collect())
    }

    #[test]
    fn rotation_spreads_transactions_over_segments_read_back_in_order() {
        let (dir, ends) = log(40, 60_000, 1 << 20);
        assert!(ends.last().unwrap().segment() >= 2, "{:?}", ends.last());
        assert_eq!(txids(dir.path()).unwrap(), (1..=40).collect::<Vec<_>>());
        // From a later LSN on: only what follows it.
        let (txns, end) = committed(dir.path(), ends[19], 0).unwrap();
        assert_eq!(txns.first().map(|t| t.txid.0), Some(21));
        assert_eq!(end, ScanEnd { end: *ends.last().unwrap(), torn: false });
        let recs: Vec<_> = txns[0].records().collect::<Result<_>>().unwrap();
        assert!(matches!(recs[1], Rec::Put { key: b"key", .. }));
    }

    #[test]
    fn a_cut_at_every_byte_of_the_last_transaction_keeps_the_ones_before() {
        let (dir, ends) = log(3, 40, 1 << 20);
        let path = dir.path().join(segment_name(0));
        let full = std::fs::read(&path).unwrap();
        assert!(full.len() > ends[2].offset() as usize, "the segment is allocated ahead of its records");
        for cut in ends[1].offset() as usize..ends[2].offset() as usize {
            // The file cut there, or its allocated tail zeros from there on.
            let mut zeroed = full.clone();
            zeroed[cut..].fill(0);
            let changed = full[cut..ends[2].offset() as usize].iter().any(|&b| b != 0);
            let cases = [("cut", &full[..cut]), ("zeroed", &zeroed[..])];
            // (Zeroing bytes that were zeros leaves the records intact.)
            for (how, bytes) in cases.into_iter().filter(|(how, _)| *how == "cut" || changed) {
                std::fs::write(&path, bytes).unwrap();
                let (txns, end) = committed(dir.path(), Lsn(0), 0).unwrap();
                assert_eq!(txns.len(), 2, "{how} at {cut}");
                assert_eq!(txns[1].end, ends[1], "{how} at {cut}: replay resumes after the second");
                // Zeroed, intact records before the first changed byte count.
                assert!(how == "zeroed" || end.end.offset() as usize <= cut, "cut at {cut}: log ends at {}", end.end);
            }
        }
    }

    #[test]
    fn a_flipped_byte_in_a_middle_record_is_damage_in_the_last_a_torn_tail() {
        let (dir, ends) = log(4, 40, 1 << 20);
        let path = dir.path().join(segment_name(0));
        let full = std::fs::read(&path).unwrap();
        // Every byte of transaction 2 (a middle one).
        for at in ends[0].offset() as usize..ends[1].offset() as usize {
            let mut b = full.clone();
            b[at] ^= 0x21;
            std::fs::write(&path, &b).unwrap();
            let e = committed(dir.path(), Lsn(0), 0).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Corrupted, "flip at {at}");
            assert!(e.to_string().contains("WAL record at 0:"), "{e}");
        }
        // Any byte of the last transaction: a torn tail, the three before kept.
        for at in ends[2].offset() as usize..ends[3].offset() as usize {
            let mut b = full.clone();
            b[at] ^= 0x21;
            std::fs::write(&path, &b).unwrap();
            let (txns, end) = committed(dir.path(), Lsn(0), 0).unwrap();
            assert_eq!((txns.len(), end.torn), (3, true), "flip at {at}");
        }
    }

    /// The unsynced part of a log may reach the disk in any order: a page
    /// of it missing (zeros) with whole transactions after it is a torn
    /// tail when their TxBegins say the log was not synced past it, and
    /// damage when one says it was.
    #[test]
    fn a_hole_in_the_unsynced_tail_is_torn_and_in_the_synced_part_damage() {
        // 12 transactions of ~1.5 KiB, synced after every fourth.
        let (dir, ends) = log_synced_every(12, 1500, 1 << 20, 4);
        let path = dir.path().join(segment_name(0));
        let full = std::fs::read(&path).unwrap();
        let hole = |t: usize| {
            // Transaction t + 1's bytes (t from 0) are zeros.
            let mut b = full.clone();
            let from = if t == 0 { SEGMENT_HEADER as usize } else { ends[t - 1].offset() as usize };
            b[from..ends[t].offset() as usize].fill(0);
            std::fs::write(&path, &b).unwrap();
            committed(dir.path(), Lsn(0), 0)
        };
        // Transactions 10 to 12 were appended after the last sync but one
        // (which covered 1 to 8): their TxBegins say synced up to 8's end.
        // A hole in 9 or 10: a torn tail (9 was not durable when 10 to 12
        // were appended), everything before it kept.
        for t in [8, 9] {
            let (txns, end) = hole(t).unwrap_or_else(|e| panic!("hole in {}: {e}", t + 1));
            assert_eq!((txns.len(), end.torn), (t, true), "hole in {}", t + 1);
        }
        // A hole in 7 (synced before 9 to 12 were appended): damage.
        let e = hole(6).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupted, "{e}");
        assert!(e.to_string().contains(&format!("WAL record at {}", ends[5])), "{e}");
    }

    #[test]
    fn a_missing_or_renamed_segment_is_a_clear_error() {
        let (dir, _) = log(40, 60_000, 1 << 20);
        let (s1, s2) = (dir.path().join(segment_name(1)), dir.path().join(segment_name(2)));
        let tmp = dir.path().join("swap");
        std::fs::rename(&s1, &tmp).unwrap();
        std::fs::rename(&s2, &s1).unwrap();
        std::fs::rename(&tmp, &s2).unwrap();
        let e = txids(dir.path()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupted);
        assert!(e.to_string().contains("WAL segment 1") && e.to_string().contains("names segment 2"), "{e}");
        std::fs::remove_file(&s1).unwrap();
        let e = txids(dir.path()).unwrap_err();
        assert!(e.to_string().contains("WAL segment 1: missing"), "{e}");
    }

    /// A log resumed in a version-1 segment (written by an older build)
    /// gets its new records, of version 2, in a new segment: that segment's
    /// header says which TxBegin layout it holds.
    #[test]
    fn a_writer_resumed_in_a_version_1_segment_appends_to_a_new_one() {
        let (dir, ends) = log(2, 40, 1 << 20);
        let seg0 = dir.path().join(segment_name(0));
        let mut b = std::fs::read(&seg0).unwrap();
        b[8..12].copy_from_slice(&1u32.to_le_bytes());
        let crc = crc32fast::hash(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b.truncate(ends[1].offset() as usize);
        std::fs::write(&seg0, &b).unwrap();
        let w = WalWriter::open(dir.path(), ends[1], 1 << 20, crate::wal::sync_segment_io(1 << 16), 0).unwrap();
        let end = w.append(&txn(3, 10)).unwrap();
        assert_eq!(end.segment(), 1, "appended at {end}");
        assert_eq!(std::fs::read(&seg0).unwrap(), b, "the version-1 segment is left as it was");
        assert_eq!(txids(dir.path()).unwrap(), vec![1, 2, 3]);
    }

    #[test]
    fn a_writer_reopened_mid_log_cuts_the_tail_and_appends_after_it() {
        let (dir, ends) = log(3, 40, 1 << 20);
        let w = WalWriter::open(dir.path(), ends[1], 1 << 20, crate::wal::sync_segment_io(1 << 16), 0).unwrap();
        let end = w.append(&txn(9, 10)).unwrap();
        assert_eq!(end.segment(), 1, "a new writer appends to a segment of its own");
        assert_eq!(txids(dir.path()).unwrap(), vec![1, 2, 9]);
        assert!(w.bytes() > 0);
        w.remove_before(Lsn::new(2, 0)).unwrap();
        let (left, _) = committed(dir.path(), Lsn::new(1, 0), 0).unwrap();
        assert_eq!(left.iter().map(|t| t.txid.0).collect::<Vec<_>>(), vec![9], "the current segment stays");
    }

    /// Regression: of two overlapping checkpoints, the older one's call came
    /// second and found its segment removed by the newer one: its hole
    /// punch failed (ENOENT), and thunder_checkpoint reported THUNDER_IO
    /// for a checkpoint whose meta was durable (a review, 4 committing
    /// threads and 2 checkpointing ones).
    #[test]
    fn a_checkpoint_behind_a_newer_one_gives_back_nothing_more_and_no_error() {
        let dir = tempfile::tempdir().unwrap();
        let w = WalWriter::open(dir.path(), Lsn(0), 64 << 10, crate::wal::sync_segment_io(1 << 16), 0).unwrap();
        let ends: Vec<Lsn> = (1..=40).map(|t| w.append(&txn(t, 5_000)).unwrap()).collect();
        w.sync().unwrap();
        let old = *ends.iter().find(|e| e.segment() == 0 && e.offset() > 8192).expect("an end in segment 0");
        let new = *ends.iter().rev().nth(1).unwrap();
        assert!(new.segment() >= 2, "{new}");
        w.remove_before(new).unwrap();
        assert!(!dir.path().join(segment_name(0)).exists());
        let bytes = w.bytes();
        w.remove_before(old).expect("a checkpoint behind the last one");
        assert_eq!(w.bytes(), bytes);
        let (left, _) = committed(dir.path(), new, 0).unwrap();
        assert_eq!(left.iter().map(|t| t.txid.0).collect::<Vec<_>>(), vec![40]);
    }

    /// A commit that failed after appending its records is retracted: its
    /// TxCommit becomes a TxAbort, and the scan drops it, though the
    /// transactions after it (the next taking the same txid) are read.
    #[test]
    fn a_retracted_transaction_is_dropped_and_the_log_goes_on_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let w = WalWriter::open(dir.path(), Lsn(0), 1 << 20, crate::wal::sync_segment_io(1 << 16), 0).unwrap();
        w.append(&txn(1, 10)).unwrap();
        let failed = w.append(&txn(2, 10)).unwrap();
        w.sync().unwrap();
        assert_eq!(txids(dir.path()).unwrap(), vec![1, 2], "synced, the failed commit is in the log");
        let mut abort = Vec::new();
        Rec::TxAbort(TxId(2)).append_to(&mut abort);
        let err = w.retract(Lsn::new(0, failed.offset() - 1), &abort).unwrap_err();
        assert!(err.to_string().contains("not the log's last"), "{err}");
        w.retract(failed, &abort).unwrap();
        assert_eq!(txids(dir.path()).unwrap(), vec![1]);
        w.append(&txn(2, 20)).unwrap();
        w.sync().unwrap();
        let (txns, _) = committed(dir.path(), Lsn(0), 0).unwrap();
        assert_eq!(txns.iter().map(|t| t.txid.0).collect::<Vec<_>>(), vec![1, 2]);
        let recs: Vec<_> = txns[1].records().collect::<Result<_>>().unwrap();
        assert!(matches!(recs[1], Rec::Put { value, .. } if value.len() == 20), "the second txid 2 is read");
        // A TxAbort of another transaction is damage.
        let mut f = txn(3, 10);
        let at = f.len() - abort.len();
        f.truncate(at);
        Rec::TxAbort(TxId(4)).append_to(&mut f);
        w.append(&f).unwrap();
        w.append(&txn(3, 10)).unwrap();
        w.sync().unwrap();
        let e = txids(dir.path()).unwrap_err();
        assert!(e.to_string().contains("TxAbort of 4 closes transaction 3"), "{e}");
    }

    #[test]
    fn frames_inside_a_torn_value_do_not_make_it_damage() {
        let dir = tempfile::tempdir().unwrap();
        let w = WalWriter::open(dir.path(), Lsn(0), 1 << 20, crate::wal::sync_segment_io(1 << 16), 0).unwrap();
        let first = w.append(&txn(1, 40)).unwrap();
        // Transaction 2 stores a whole logged transaction as its value.
        let inner = txn(99, 10);
        let mut path = Vec::new();
        BucketPath::encode(&[], &mut path);
        let mut f = Vec::new();
        Rec::TxBegin(TxId(2), Lsn(u64::MAX)).append_to(&mut f);
        Rec::Put { path: BucketPath::new(&path), key: b"k", value: &inner }.append_to(&mut f);
        Rec::TxCommit(TxId(2)).append_to(&mut f);
        w.append(&f).unwrap();
        let seg = dir.path().join(segment_name(0));
        let mut b = std::fs::read(&seg).unwrap();
        // A byte of the value before the inner frames: the payload CRC fails.
        let value_start = first.offset() as usize + 29 + 13 + 2 + 4 + 1 + 4;
        b[value_start - 1] ^= 0x10;
        std::fs::write(&seg, &b).unwrap();
        let (txns, end) = committed(dir.path(), Lsn(0), 0).unwrap();
        assert_eq!(txns.iter().map(|t| t.txid.0).collect::<Vec<_>>(), vec![1]);
        assert!(end.torn);
    }

    #[test]
    fn a_position_past_the_last_segment_is_an_empty_log() {
        let (dir, ends) = log(2, 40, 1 << 20);
        let past = Lsn::new(0, ends[1].offset() + 100);
        let (txns, end) = committed(dir.path(), past, 0).unwrap();
        assert!(txns.is_empty());
        assert_eq!(end.end, past);
    }

    #[test]
    fn a_writer_reopened_before_later_segments_empties_them_and_follows() {
        let (dir, ends) = log(40, 60_000, 1 << 20);
        let later = ends.last().unwrap().segment();
        assert!(later >= 2);
        let w = WalWriter::open(dir.path(), ends[0], 1 << 20, crate::wal::sync_segment_io(1 << 16), 0).unwrap();
        // Segment 0, cut after transaction 1; the later ones, emptied to
        // their headers (never removed: one may name the writer a durable
        // meta names); and the writer's own after them.
        let segs = crate::wal::files::segments(dir.path()).unwrap();
        assert_eq!(segs.iter().map(|(id, _)| *id).collect::<Vec<_>>(), (0..=later + 1).collect::<Vec<_>>());
        for (_, path) in &segs[1..segs.len() - 1] {
            assert_eq!(std::fs::metadata(path).unwrap().len(), SEGMENT_HEADER as u64, "{}", path.display());
        }
        for t in 2..=40 {
            w.append(&txn(t, 60_000)).unwrap();
        }
        assert_eq!(txids(dir.path()).unwrap(), (1..=40).collect::<Vec<_>>());
    }

    /// A later segment whose whole header a flipped bit spoilt still names
    /// its writer (`holds_log`), which the durable meta may name: emptied
    /// behind a writer resuming before it, its header is written anew
    /// naming that writer, not the new one.
    #[test]
    fn a_spoilt_later_header_keeps_naming_its_writer() {
        let (dir, ends) = log(2, 40, 1 << 20);
        let io = || crate::wal::sync_segment_io(1 << 16);
        let named = WalWriter::open(dir.path(), ends[1], 1 << 20, io(), 0).unwrap().log_id();
        let seg1 = dir.path().join(crate::wal::files::segment_name(1));
        let mut bytes = std::fs::read(&seg1).unwrap();
        bytes[28] ^= 1;
        std::fs::write(&seg1, &bytes).unwrap();
        assert!(crate::wal::files::holds_log(dir.path(), 0, named).unwrap(), "a spoilt header counts");
        let w = WalWriter::open(dir.path(), ends[1], 1 << 20, io(), 0).unwrap();
        assert!(crate::wal::files::holds_log(dir.path(), 0, named).unwrap(), "segment 1 no longer names its writer");
        assert_eq!(std::fs::metadata(&seg1).unwrap().len(), SEGMENT_HEADER as u64);
        w.append(&txn(3, 40)).unwrap();
        w.sync().unwrap();
        assert_eq!(txids(dir.path()).unwrap(), vec![1, 2, 3]);
    }

    /// What `may_be_torn` lets the writer write a header over, and what
    /// it refuses.
    #[test]
    fn only_a_segment_a_kill_or_a_flipped_bit_left_may_be_torn() {
        use crate::wal::files::{encode_header, may_be_torn};
        let h = encode_header(3, 7, 9);
        let zeros = [0u8; 64];
        assert!(may_be_torn(&[], &[], 3), "empty");
        assert!(may_be_torn(&h[..5], &[], 3), "a header cut short");
        assert!(may_be_torn(&zeros[..32], &zeros, 3), "zeros throughout");
        assert!(!may_be_torn(&zeros[..32], b"data", 3), "a zero header with data after it");
        for bit in [0usize, 9 * 8 + 1, 12 * 8 + 3, 20 * 8, 29 * 8] {
            let mut b = h;
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(may_be_torn(&b, &[], 3), "bit {bit} flipped");
        }
        assert!(!may_be_torn(&h, &[], 4), "a whole header of segment 3 named 4");
        assert!(!may_be_torn(b"0123456789abcdef0123456789abcdef", &[], 3), "another file");
        assert!(!may_be_torn(&b"thunderWxxxxxxxxxxxxxxxxxxxxxxxx"[..], &[], 3), "magic alone");
    }

    #[test]
    fn an_empty_or_torn_last_segment_after_a_rotation_ends_the_log() {
        let (dir, ends) = log(40, 60_000, 1 << 20);
        let last = ends.last().unwrap().segment();
        let path = dir.path().join(segment_name(last));
        let kept = ends.iter().filter(|e| e.segment() < last).count() as u64;
        for len in [0u64, 10, SEGMENT_HEADER as u64 - 1] {
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(len).unwrap();
            let (txns, end) = committed(dir.path(), Lsn(0), 0).unwrap();
            assert_eq!(txns.len() as u64, kept, "last segment cut to {len} bytes");
            assert!(end.torn);
        }
        // A damaged header with whole transactions after it is damage.
        let (dir, ends) = log(40, 60_000, 1 << 20);
        let path = dir.path().join(segment_name(ends.last().unwrap().segment()));
        let mut b = std::fs::read(&path).unwrap();
        b[3] ^= 1;
        std::fs::write(&path, &b).unwrap();
        assert_eq!(committed(dir.path(), Lsn(0), 0).unwrap_err().kind(), ErrorKind::Corrupted);
    }

    /// A transaction whose frames would end past 4 GiB into a segment (LSN
    /// offsets are 32 bits) goes to the next segment, also where the
    /// segment size is 4 GiB (the largest the option takes), and nothing is
    /// written to the full one. Found by review: at exactly 4 GiB the
    /// writer did not rotate for a transaction ending at 2^32 and refused
    /// it as too large for any segment (NoSpace).
    #[test]
    fn a_transaction_past_the_32_bit_offset_goes_to_the_next_segment() {
        for size in [4u64 << 30, u64::MAX] {
            let dir = tempfile::tempdir().unwrap();
            // A sparse segment whose end is just short of the limit (made
            // here, so the writer only truncates it: growing would
            // allocate 4 GiB).
            let f = std::fs::File::create(dir.path().join(segment_name(0))).unwrap();
            std::os::unix::fs::FileExt::write_all_at(&f, &crate::wal::files::encode_header(0, 0, 0), 0).unwrap();
            f.set_len((u32::MAX - 100) as u64).unwrap();
            drop(f);
            let w =
                WalWriter::open(dir.path(), Lsn::new(0, u32::MAX - 100), size, crate::wal::sync_segment_io(1 << 16), 0)
                    .unwrap();
            let frames = txn(1, 200);
            let end = w.append(&frames).unwrap_or_else(|e| panic!("segment size {size}: {e}"));
            assert_eq!(end, Lsn::new(1, SEGMENT_HEADER + frames.len() as u32), "segment size {size}");
            let len = std::fs::metadata(dir.path().join(segment_name(0))).unwrap().len();
            assert_eq!(len, (u32::MAX - 100) as u64, "nothing written to the full segment");
        }
    }

    /// A log whose segments name database 7 is refused for database 5
    /// (`Incompatible`, nothing read); database 7, and a file made before
    /// ids (0), read it.
    #[test]
    fn a_log_of_another_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let w = WalWriter::open(dir.path(), Lsn(0), 1 << 20, crate::wal::sync_segment_io(1 << 16), 7).unwrap();
        w.append(&txn(1, 10)).unwrap();
        w.sync().unwrap();
        let e = committed(dir.path(), Lsn(0), 5).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Incompatible, "{e}");
        assert!(e.to_string().contains("another database"), "{e}");
        for db in [7, 0] {
            assert_eq!(committed(dir.path(), Lsn(0), db).unwrap().0.len(), 1, "database {db}");
        }
    }
}
