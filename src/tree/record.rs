//! The committed description of a bucket: the roots of its two trees (keys,
//! and child-bucket catalog) with their entry counts, and its sequence. The
//! root bucket's record lives in the meta page; every other bucket's record is
//! the value of its name in the parent's catalog tree.
//!
//! ```text
//! off size field
//!   0    8 keys root page (0: empty)
//!   8    8 keys count
//!  16    8 catalog root page (0: no child buckets)
//!  24    8 catalog count
//!  32    8 sequence (last value returned by next_sequence)
//! ```

use crate::error::{show_bytes, Corruption, Error, Result};
use crate::tree::page::Value;
use crate::types::{le, PageId};

pub const RECORD_LEN: usize = 40;

/// Bucket names are 1 to 255 bytes (a log record gives a name's length one
/// byte); `txn::MAX_BUCKET_NAME` is this.
pub const MAX_BUCKET_NAME: usize = 255;

/// A committed tree: its root page (`PageId::NONE` when empty) and entry count.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeRef {
    pub root: PageId,
    pub count: u64,
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketRecord {
    pub keys: TreeRef,
    pub children: TreeRef,
    pub sequence: u64,
}

impl BucketRecord {
    /// The record stored as the catalog value of bucket `name`.
    pub fn from_value(name: &[u8], v: Value<'_>) -> Result<BucketRecord> {
        let bad = || {
            let what = format!("record of bucket {} is malformed", show_bytes(name));
            Error::Corrupted { page: None, cause: Corruption::Structure { what } }
        };
        match v {
            Value::Inline(b) => BucketRecord::decode(b).ok_or_else(bad),
            Value::Overflow(_) => Err(bad()),
        }
    }

    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        le::put_u64(&mut b, 0, self.keys.root.0);
        le::put_u64(&mut b, 8, self.keys.count);
        le::put_u64(&mut b, 16, self.children.root.0);
        le::put_u64(&mut b, 24, self.children.count);
        le::put_u64(&mut b, 32, self.sequence);
        b
    }

    /// None unless `b` is exactly one record.
    pub fn decode(b: &[u8]) -> Option<BucketRecord> {
        if b.len() != RECORD_LEN {
            return None;
        }
        Some(BucketRecord {
            keys: TreeRef { root: PageId(le::u64_at(b, 0)), count: le::u64_at(b, 8) },
            children: TreeRef { root: PageId(le::u64_at(b, 16)), count: le::u64_at(b, 24) },
            sequence: le::u64_at(b, 32),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trip() {
        let r = BucketRecord {
            keys: TreeRef { root: PageId(5), count: 9 },
            children: TreeRef { root: PageId(0), count: 0 },
            sequence: u64::MAX,
        };
        assert_eq!(BucketRecord::decode(&r.encode()), Some(r));
        assert_eq!(BucketRecord::decode(&[0u8; 39]), None);
    }
}
