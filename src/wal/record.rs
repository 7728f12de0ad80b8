//! The logical records of the write-ahead log and their frames (layout in
//! docs/FORMAT.md, "Write-ahead log"). A frame is a 13-byte header (payload
//! length, type, CRC32 of type and payload, CRC32 of the first 9 header
//! bytes) and the payload. Encoding appends to a buffer and allocates
//! nothing else; decoding borrows from the frame.

use crate::types::{le, Lsn, TxId};

/// Bytes of a frame header.
pub(crate) const FRAME_HEADER: usize = 13;

const T_BEGIN: u8 = 1;
const T_PUT: u8 = 2;
const T_DELETE: u8 = 3;
const T_CREATE: u8 = 4;
const T_DROP: u8 = 5;
const T_SEQUENCE: u8 = 6;
const T_COMMIT: u8 = 7;
const T_ABORT: u8 = 8;

/// A bucket path as logged: a u16 count, then each name as a u8 length and
/// its bytes, from the top level down (no names: the default keyspace).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct BucketPath<'a> {
    enc: &'a [u8],
}

impl<'a> BucketPath<'a> {
    /// Appends the encoding of `names` (each 1 to 255 bytes) to `out`.
    pub fn encode(names: &[&[u8]], out: &mut Vec<u8>) {
        out.extend_from_slice(&(names.len() as u16).to_le_bytes());
        for n in names {
            debug_assert!(!n.is_empty() && n.len() <= 255);
            out.push(n.len() as u8);
            out.extend_from_slice(n);
        }
    }

    /// A path over bytes `encode` wrote.
    pub fn new(enc: &'a [u8]) -> BucketPath<'a> {
        BucketPath { enc }
    }

    /// The path at the start of `b` and the bytes after it; None if it does
    /// not parse.
    fn parse(b: &'a [u8]) -> Option<(BucketPath<'a>, &'a [u8])> {
        let count = u16::from_le_bytes(b.get(..2)?.try_into().ok()?) as usize;
        let mut at = 2;
        for _ in 0..count {
            let n = *b.get(at)? as usize;
            if n == 0 || at + 1 + n > b.len() {
                return None;
            }
            at += 1 + n;
        }
        Some((BucketPath { enc: &b[..at] }, &b[at..]))
    }

    /// The names, from the top level down.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> {
        let enc = self.enc;
        let mut at = 2;
        std::iter::from_fn(move || {
            let n = *enc.get(at)? as usize;
            let name = &enc[at + 1..at + 1 + n];
            at += 1 + n;
            Some(name)
        })
    }
}

/// One logged record.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rec<'a> {
    /// A transaction's first record: its txid, and where the log was known
    /// durable when it was appended (`set_begin_synced`; `Lsn(u64::MAX)`
    /// for a TxBegin without it, as logs before version 2 wrote them).
    TxBegin(TxId, Lsn),
    Put {
        path: BucketPath<'a>,
        key: &'a [u8],
        value: &'a [u8],
    },
    Delete {
        path: BucketPath<'a>,
        key: &'a [u8],
    },
    /// A bucket created: its path, its own name last.
    CreateBucket {
        path: BucketPath<'a>,
    },
    /// A bucket deleted with everything in it: its path, its name last.
    DeleteBucket {
        path: BucketPath<'a>,
    },
    /// A bucket's sequence set to `value`.
    Sequence {
        path: BucketPath<'a>,
        value: u64,
    },
    TxCommit(TxId),
    /// Written over a transaction's TxCommit when the commit failed after
    /// appending its records (`WalWriter::retract`): the transaction is
    /// dropped. Its frame is as long as the TxCommit's.
    TxAbort(TxId),
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// A u32-length-prefixed byte string at the start of `b`, and the rest.
fn take_bytes(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let v = b.get(4..4usize.checked_add(n)?)?;
    Some((v, &b[4 + n..]))
}

fn take_u64(b: &[u8]) -> Option<(u64, &[u8])> {
    Some((le::u64_at(b.get(..8)?, 0), &b[8..]))
}

impl<'a> Rec<'a> {
    fn kind(&self) -> u8 {
        match self {
            Rec::TxBegin(..) => T_BEGIN,
            Rec::Put { .. } => T_PUT,
            Rec::Delete { .. } => T_DELETE,
            Rec::CreateBucket { .. } => T_CREATE,
            Rec::DeleteBucket { .. } => T_DROP,
            Rec::Sequence { .. } => T_SEQUENCE,
            Rec::TxCommit(_) => T_COMMIT,
            Rec::TxAbort(_) => T_ABORT,
        }
    }

    /// Appends this record's frame to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + FRAME_HEADER, 0);
        out[start + 4] = self.kind();
        match *self {
            Rec::TxBegin(t, synced) => {
                out.extend_from_slice(&t.0.to_le_bytes());
                out.extend_from_slice(&synced.0.to_le_bytes());
            }
            Rec::TxCommit(t) | Rec::TxAbort(t) => out.extend_from_slice(&t.0.to_le_bytes()),
            Rec::Put { path, key, value } => {
                out.extend_from_slice(path.enc);
                put_bytes(out, key);
                put_bytes(out, value);
            }
            Rec::Delete { path, key } => {
                out.extend_from_slice(path.enc);
                put_bytes(out, key);
            }
            Rec::CreateBucket { path } | Rec::DeleteBucket { path } => out.extend_from_slice(path.enc),
            Rec::Sequence { path, value } => {
                out.extend_from_slice(path.enc);
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        let len = (out.len() - start - FRAME_HEADER) as u32;
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
        seal(&mut out[start..]);
    }

    /// The record of type `kind` with `payload`; None if it does not parse
    /// exactly.
    pub fn decode(kind: u8, payload: &'a [u8]) -> Option<Rec<'a>> {
        let (rec, rest) = match kind {
            T_BEGIN => {
                let (t, rest) = take_u64(payload)?;
                match take_u64(rest) {
                    Some((synced, rest)) => (Rec::TxBegin(TxId(t), Lsn(synced)), rest),
                    None => (Rec::TxBegin(TxId(t), Lsn(u64::MAX)), rest),
                }
            }
            T_COMMIT | T_ABORT => {
                let (t, rest) = take_u64(payload)?;
                (if kind == T_COMMIT { Rec::TxCommit(TxId(t)) } else { Rec::TxAbort(TxId(t)) }, rest)
            }
            T_PUT => {
                let (path, rest) = BucketPath::parse(payload)?;
                let (key, rest) = take_bytes(rest)?;
                let (value, rest) = take_bytes(rest)?;
                (Rec::Put { path, key, value }, rest)
            }
            T_DELETE => {
                let (path, rest) = BucketPath::parse(payload)?;
                let (key, rest) = take_bytes(rest)?;
                (Rec::Delete { path, key }, rest)
            }
            T_CREATE | T_DROP => {
                let (path, rest) = BucketPath::parse(payload)?;
                (if kind == T_CREATE { Rec::CreateBucket { path } } else { Rec::DeleteBucket { path } }, rest)
            }
            T_SEQUENCE => {
                let (path, rest) = BucketPath::parse(payload)?;
                let (value, rest) = take_u64(rest)?;
                (Rec::Sequence { path, value }, rest)
            }
            _ => return None,
        };
        rest.is_empty().then_some(rec)
    }
}

/// Sets the two CRCs of the frame at the start of `frame` (its length and
/// type set, its payload in place).
fn seal(frame: &mut [u8]) {
    let len = le::u32_at(frame, 0) as usize;
    let mut h = crc32fast::Hasher::new();
    h.update(&frame[4..5]);
    h.update(&frame[FRAME_HEADER..FRAME_HEADER + len]);
    let payload_crc = h.finalize();
    frame[5..9].copy_from_slice(&payload_crc.to_le_bytes());
    let header_crc = crc32fast::hash(&frame[..9]);
    frame[9..13].copy_from_slice(&header_crc.to_le_bytes());
}

/// Sets the durable-log watermark of the TxBegin that starts `frames` (as
/// `Rec::TxBegin(_, _).append_to` framed it) and reseals its frame.
pub(crate) fn set_begin_synced(frames: &mut [u8], synced: Lsn) {
    debug_assert_eq!((frames[4], le::u32_at(frames, 0)), (T_BEGIN, 16));
    frames[FRAME_HEADER + 8..FRAME_HEADER + 16].copy_from_slice(&synced.0.to_le_bytes());
    seal(frames);
}

/// What lies at the start of some bytes of a segment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// A whole, intact record and its frame's length.
    Rec(Rec<'a>, usize),
    /// The bytes end inside the frame (or its header).
    Short,
    /// A frame that fails its checks; `len` is its length when its header
    /// is intact (only the payload failed).
    Bad { what: String, len: Option<usize> },
}

/// Reads the frame at the start of `b`.
pub(crate) fn read_frame(b: &[u8]) -> Frame<'_> {
    if b.len() < FRAME_HEADER {
        return Frame::Short;
    }
    let stored_header = le::u32_at(b, 9);
    if crc32fast::hash(&b[..9]) != stored_header {
        return Frame::Bad { what: "frame header checksum mismatch".into(), len: None };
    }
    let len = le::u32_at(b, 0) as usize;
    let Some(frame) = b.get(..FRAME_HEADER + len) else { return Frame::Short };
    let mut h = crc32fast::Hasher::new();
    h.update(&frame[4..5]);
    h.update(&frame[FRAME_HEADER..]);
    if h.finalize() != le::u32_at(b, 5) {
        return Frame::Bad { what: "record checksum mismatch".into(), len: Some(frame.len()) };
    }
    match Rec::decode(b[4], &frame[FRAME_HEADER..]) {
        Some(r) => Frame::Rec(r, frame.len()),
        None => Frame::Bad { what: format!("record of type {} does not parse", b[4]), len: Some(frame.len()) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(names: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        BucketPath::encode(names, &mut v);
        v
    }

    #[test]
    fn every_record_type_round_trips() {
        let (p0, p2) = (path(&[]), path(&[b"a", b"bee"]));
        let recs = [
            Rec::TxBegin(TxId(7), Lsn(0x1_0000_0040)),
            Rec::Put { path: BucketPath::new(&p2), key: b"k", value: b"" },
            Rec::Put { path: BucketPath::new(&p0), key: b"key", value: &[9; 300] },
            Rec::Delete { path: BucketPath::new(&p2), key: b"gone" },
            Rec::CreateBucket { path: BucketPath::new(&p2) },
            Rec::DeleteBucket { path: BucketPath::new(&p2) },
            Rec::Sequence { path: BucketPath::new(&p2), value: u64::MAX },
            Rec::TxCommit(TxId(7)),
            Rec::TxAbort(TxId(7)),
        ];
        let mut buf = Vec::new();
        for r in &recs {
            r.append_to(&mut buf);
        }
        let mut at = 0;
        for r in &recs {
            match read_frame(&buf[at..]) {
                Frame::Rec(got, n) => {
                    assert_eq!(&got, r);
                    at += n;
                }
                other => panic!("{r:?}: {other:?}"),
            }
        }
        assert_eq!(at, buf.len());
        // A version-1 TxBegin (the txid alone) reads as synced past anything.
        assert_eq!(Rec::decode(T_BEGIN, &7u64.to_le_bytes()), Some(Rec::TxBegin(TxId(7), Lsn(u64::MAX))));
        let names: Vec<&[u8]> = BucketPath::new(&p2).iter().collect();
        assert_eq!(names, vec![&b"a"[..], &b"bee"[..]]);
        assert_eq!(BucketPath::new(&p0).iter().count(), 0);
    }

    #[test]
    fn cut_or_damaged_frames_are_short_or_bad() {
        let p = path(&[b"x"]);
        let mut buf = Vec::new();
        Rec::Put { path: BucketPath::new(&p), key: b"k", value: b"value" }.append_to(&mut buf);
        for cut in 0..buf.len() {
            assert_eq!(read_frame(&buf[..cut]), Frame::Short, "cut at {cut}");
        }
        for at in 0..buf.len() {
            let mut b = buf.clone();
            b[at] ^= 0x40;
            assert!(matches!(read_frame(&b), Frame::Bad { .. } | Frame::Short), "flip at {at}");
        }
    }
}
