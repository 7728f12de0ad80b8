//! Reading the log back at open: every record from an LSN on, across
//! consecutive segments, grouped into the transactions it committed.
//!
//! Where the log ends. Within the last segment, a record cut short by the
//! end of the file, or one that fails its checks with nothing valid after
//! it, is a torn tail: reading stops there and nothing before it is lost. A
//! failed record with a valid frame anywhere after it is damage in the
//! middle: `Corrupted` with its LSN. In any other segment every failure is
//! damage, and so is a gap in the segment ids or a header naming another
//! segment. A transaction with no TxCommit at the end of the log is dropped.

use std::path::Path;

use crate::error::{Corruption, Error, Result};
use crate::types::{Lsn, TxId};
use crate::wal::record::{read_frame, Frame, Rec};
use crate::wal::segment::{check_header, first_lsn, segments, SEGMENT_HEADER};

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

/// The committed transactions of the log in `dir` from `from` on.
pub(crate) fn committed(dir: &Path, from: Lsn) -> Result<(Vec<LoggedTxn>, ScanEnd)> {
    let from = first_lsn(from);
    let segs: Vec<_> = segments(dir)?.into_iter().filter(|(id, _)| *id >= from.segment()).collect();
    let mut txns = Vec::new();
    let mut open: Option<(TxId, Vec<u8>)> = None;
    let mut end = ScanEnd { end: from, torn: false };
    for (i, (id, path)) in segs.iter().enumerate() {
        let want = from.segment() + i as u32;
        if *id != want {
            let what = "missing (the log has later segments)".to_string();
            return Err(Error::Corrupted { page: None, cause: Corruption::WalSegment { segment: want, what } });
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io("read WAL segment", path, None, e))?;
        check_header(&bytes, *id)?;
        let start = if i == 0 { from.offset() } else { SEGMENT_HEADER };
        let last = i + 1 == segs.len();
        end = read_segment(&bytes, *id, start, last, &mut open, &mut txns)?;
        if open.is_some() && !last {
            return Err(damaged(end.end, "a transaction runs past the end of its segment"));
        }
    }
    Ok((txns, end))
}

/// Reads segment `id` from offset `start`, adding what it commits to `txns`.
fn read_segment(
    bytes: &[u8],
    id: u32,
    start: u32,
    last: bool,
    open: &mut Option<(TxId, Vec<u8>)>,
    txns: &mut Vec<LoggedTxn>,
) -> Result<ScanEnd> {
    let mut at = start as usize;
    if at > bytes.len() {
        return Err(damaged(Lsn::new(id, start), "the log position lies past the end of its segment"));
    }
    while at < bytes.len() {
        let lsn = Lsn::new(id, at as u32);
        let (rec, n) = match read_frame(&bytes[at..]) {
            Frame::Rec(r, n) => (r, n),
            Frame::Short if last => return Ok(ScanEnd { end: lsn, torn: true }),
            Frame::Bad(_) if last && !valid_frame_after(bytes, at + 1) => return Ok(ScanEnd { end: lsn, torn: true }),
            Frame::Short => return Err(damaged(lsn, "record cut short before the end of its segment")),
            Frame::Bad(what) => return Err(damaged(lsn, what)),
        };
        let frame = &bytes[at..at + n];
        at += n;
        group(rec, frame, Lsn::new(id, at as u32), lsn, open, txns)?;
    }
    Ok(ScanEnd { end: Lsn::new(id, at as u32), torn: false })
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
        (Rec::TxBegin(t), None) => *open = Some((t, frame.to_vec())),
        (Rec::TxBegin(_), Some(_)) => return Err(damaged(lsn, "TxBegin inside an open transaction")),
        (_, None) => return Err(damaged(lsn, "a record outside any transaction")),
        (Rec::TxCommit(t), Some((begun, _))) if t != *begun => {
            return Err(damaged(lsn, format!("TxCommit of {} closes transaction {}", t.0, begun.0)))
        }
        (Rec::TxCommit(_), Some(_)) => {
            let (txid, mut frames) = open.take().expect("matched Some");
            frames.extend_from_slice(frame);
            txns.push(LoggedTxn { txid, end: after, frames });
        }
        (_, Some((_, frames))) => frames.extend_from_slice(frame),
    }
    Ok(())
}

/// Whether a whole, intact frame starts anywhere at or after `from`.
fn valid_frame_after(bytes: &[u8], from: usize) -> bool {
    (from..bytes.len()).any(|at| matches!(read_frame(&bytes[at..]), Frame::Rec(..)))
}
