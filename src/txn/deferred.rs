//! Deferred puts: plain puts that a write transaction applies later, in key
//! order, rather than one by one as they arrive.
//!
//! A bulk load of random keys in one transaction spent its time waiting on
//! memory: each put descends to a leaf no recent put touched, and at 4M
//! keys (a gigabyte of dirty nodes) every leaf and most of the path to it
//! miss the caches and the TLB, so the cost per put grew with the tree
//! (make bench: 0.82 us at 250k keys, 1.38 us at 4M). Applied in key order,
//! consecutive puts share their path and land in the same or the next leaf,
//! which the puts before them made, in memory order.
//!
//! `WriteTx::put_deferred` validates the put at once (key and value
//! lengths, the bucket), logs it, and keeps it in `DeferredPuts` when it is
//! plain (no flags), its value inline and its bucket the one the buffer
//! holds puts for; anything else applies the buffer first. The buffer is
//! applied (`WriteTx::flush_deferred`) when it reaches its `limit`, before
//! every other change (`WriteTx::guarded`) and at commit; reads through
//! `&self` cannot apply it, so only callers that apply it before each read
//! may defer puts: the C API does, under its transaction lock. An error
//! applying it (no space, I/O, a damaged page) fails the transaction at
//! the call that applied it.

use crate::error::Result;
use crate::tree::key_head;

/// The buffer is applied once it holds more key and value bytes than a
/// 16th of the transaction's dirty nodes (at a page each), within these
/// bounds. Its locality is in how many puts land in each leaf, so it
/// grows with the tree. And it is alive with the dirty nodes, adding to a
/// bulk load's peak memory. make bench's load driver, 3 interleaved runs
/// each, us per put at 250k / 1M / 4M keys and peak RSS at 1M (LMDB's:
/// 267 MiB):
///
///   arrival order (before)    0.88 / 1.15 / 1.83   240 MiB
///   a 32nd of the dirty nodes 0.88 / 1.09 / 1.08   246 MiB
///   a 16th                    0.93 / 0.93 / 1.02   253 MiB
///   16 MiB fixed              (1M: 0.84 us, 262 MiB)
pub(crate) const MIN_LIMIT: usize = 1 << 20;
pub(crate) const MAX_LIMIT: usize = 64 << 20;

/// The buffer's limit for a transaction with `dirty` bytes of dirty nodes.
pub(crate) fn limit(dirty: usize) -> usize {
    (dirty / 16).clamp(MIN_LIMIT, MAX_LIMIT)
}

/// One deferred put: its key's order head, and where its key and value lie
/// in the buffer's bytes.
#[derive(Copy, Clone, Debug)]
struct Entry {
    head: u64,
    at: u32,
    klen: u32,
    vlen: u32,
}

/// Deferred puts into one tree, in arrival order.
#[derive(Debug, Default)]
pub(crate) struct DeferredPuts {
    /// The bucket slot they go to.
    slot: u32,
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

impl DeferredPuts {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a put into bucket `slot` of `len` key and value bytes may
    /// join the buffer (it holds puts for another bucket, or would pass
    /// `limit`: apply it first).
    pub fn admits(&self, slot: u32, len: usize, limit: usize) -> bool {
        self.entries.is_empty() || (self.slot == slot && self.bytes.len() + len <= limit)
    }

    pub fn push(&mut self, slot: u32, key: &[u8], value: &[u8]) {
        self.slot = slot;
        let at = self.bytes.len() as u32;
        self.bytes.extend_from_slice(key);
        self.bytes.extend_from_slice(value);
        self.entries.push(Entry { head: key_head(key), at, klen: key.len() as u32, vlen: value.len() as u32 });
    }

    /// Empties the buffer; `apply` gets its bucket slot and its puts in key
    /// order (a key put twice: in the order they came, so the last wins),
    /// and stops at its first error.
    pub fn drain(&mut self, mut apply: impl FnMut(u32, &[u8], &[u8]) -> Result<()>) -> Result<()> {
        let mut entries = std::mem::take(&mut self.entries);
        let bytes = std::mem::take(&mut self.bytes);
        let key = |e: &Entry| &bytes[e.at as usize..(e.at + e.klen) as usize];
        // Stable: equal keys keep their arrival order.
        entries.sort_by(|a, b| a.head.cmp(&b.head).then_with(|| key(a).cmp(key(b))));
        let res = entries.iter().enumerate().try_for_each(|(i, e)| {
            // The buffer is in arrival order: the entries a few steps ahead
            // lie anywhere in it.
            if let Some(n) = entries.get(i + 8) {
                crate::storage::prefetch(&bytes[n.at as usize..(n.at + n.klen + n.vlen) as usize]);
            }
            let v = (e.at + e.klen) as usize;
            apply(self.slot, key(e), &bytes[v..v + e.vlen as usize])
        });
        // The allocations are kept for the next puts unless they are large.
        entries.clear();
        self.entries = entries;
        if bytes.capacity() <= MAX_LIMIT {
            self.bytes = bytes;
            self.bytes.clear();
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drains_in_key_order_with_the_last_of_equal_keys_last() {
        let mut d = DeferredPuts::default();
        for (k, v) in [(&b"b"[..], &b"1"[..]), (b"a", b"2"), (b"b", b"3"), (b"aa", b""), (b"\xff\x00", b"4")] {
            assert!(d.admits(7, k.len() + v.len(), MIN_LIMIT));
            d.push(7, k, v);
        }
        assert!(!d.admits(8, 1, MIN_LIMIT), "another bucket's put waits for this bucket's to be applied");
        let mut got = Vec::new();
        d.drain(|slot, k, v| {
            got.push((slot, k.to_vec(), v.to_vec()));
            Ok(())
        })
        .unwrap();
        let want: Vec<(u32, Vec<u8>, Vec<u8>)> =
            [(&b"a"[..], &b"2"[..]), (b"aa", b""), (b"b", b"1"), (b"b", b"3"), (b"\xff\x00", b"4")]
                .iter()
                .map(|(k, v)| (7, k.to_vec(), v.to_vec()))
                .collect();
        assert_eq!(got, want);
        assert!(d.is_empty() && d.admits(8, 1, MIN_LIMIT));
    }

    #[test]
    fn a_full_buffer_admits_nothing_more_and_a_failed_drain_empties_it() {
        let mut d = DeferredPuts::default();
        let v = vec![0u8; 1 << 16];
        let mut n = 0;
        while d.admits(0, 4 + v.len(), 1 << 20) {
            d.push(0, &(n as u32).to_be_bytes(), &v);
            n += 1;
        }
        assert_eq!(n, (1 << 20) / (4 + v.len()));
        assert_eq!((limit(0), limit(1 << 29), limit(1 << 40)), (MIN_LIMIT, 32 << 20, MAX_LIMIT));
        let mut applied = 0;
        let e = d.drain(|_, _, _| {
            applied += 1;
            if applied == 3 {
                Err(crate::error::Error::invalid("stop"))
            } else {
                Ok(())
            }
        });
        assert!(e.is_err() && applied == 3);
        assert!(d.is_empty());
    }
}
