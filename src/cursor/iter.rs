//! `Iter`: the items of a key range in order, from both ends (two cursors
//! meeting in the middle), and the bounds of ranges and prefixes.

use std::ops::{Bound, RangeBounds};

use crate::cursor::owned::{Move, OwnedCursor};
use crate::error::{Error, Result};
use crate::txn::{Bucket, Tree, TxCore};

/// A key and its value, both borrowed from the transaction.
pub type KeyValue<'t> = (&'t [u8], &'t [u8]);

/// Turns borrowed range bounds into owned ones.
pub(crate) fn owned_bounds<K: AsRef<[u8]>, R: RangeBounds<K>>(r: &R) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let own = |b: Bound<&K>| match b {
        Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    };
    (own(r.start_bound()), own(r.end_bound()))
}

/// The range of keys starting with `prefix`.
pub(crate) fn prefix_bounds(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    // The first key after every key with this prefix: drop trailing 0xFF
    // bytes and increment the last remaining one.
    let mut end = prefix.to_vec();
    while end.last() == Some(&0xFF) {
        end.pop();
    }
    let hi = match end.last_mut() {
        Some(b) => {
            *b += 1;
            Bound::Excluded(end)
        }
        None => Bound::Unbounded,
    };
    (Bound::Included(prefix.to_vec()), hi)
}

/// An iterator over a range of a tree, from both ends.
#[derive(Debug)]
pub struct Iter<'t, T> {
    tx: &'t T,
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    front: OwnedCursor,
    back: OwnedCursor,
    front_key: Option<&'t [u8]>,
    back_key: Option<&'t [u8]>,
    done: bool,
}

impl<'t, T: TxCore> Iter<'t, T> {
    pub(crate) fn new(
        tx: &'t T,
        bucket: Option<Bucket>,
        tree: Tree,
        lo: Bound<Vec<u8>>,
        hi: Bound<Vec<u8>>,
    ) -> Iter<'t, T> {
        Iter {
            tx,
            lo,
            hi,
            front: OwnedCursor::new(tx, bucket, tree),
            back: OwnedCursor::new(tx, bucket, tree),
            front_key: None,
            back_key: None,
            done: false,
        }
    }

    fn step(&mut self, front: bool, m: Move<'_>) -> Result<Option<KeyValue<'t>>> {
        let pos = if front { &mut self.front } else { &mut self.back };
        pos.step(self.tx, m)
    }

    fn next_front(&mut self) -> Result<Option<KeyValue<'t>>> {
        if self.front_key.is_some() {
            return self.step(true, Move::Next);
        }
        let lo = std::mem::replace(&mut self.lo, Bound::Unbounded);
        let item = match &lo {
            Bound::Unbounded => self.step(true, Move::First)?,
            Bound::Included(k) => self.step(true, Move::Seek(k))?,
            Bound::Excluded(k) => match self.step(true, Move::Seek(k))? {
                Some((key, _)) if key == k.as_slice() => self.step(true, Move::Next)?,
                other => other,
            },
        };
        self.lo = lo;
        Ok(item)
    }

    fn next_back_item(&mut self) -> Result<Option<KeyValue<'t>>> {
        if self.back_key.is_some() {
            return self.step(false, Move::Prev);
        }
        let hi = std::mem::replace(&mut self.hi, Bound::Unbounded);
        let item = match &hi {
            Bound::Unbounded => self.step(false, Move::Last)?,
            Bound::Included(k) => match self.step(false, Move::Seek(k))? {
                Some(item) if item.0 == k.as_slice() => Some(item),
                _ => self.step(false, Move::Prev)?,
            },
            Bound::Excluded(k) => {
                self.step(false, Move::Seek(k))?;
                self.step(false, Move::Prev)?
            }
        };
        self.hi = hi;
        Ok(item)
    }

    fn below_hi(&self, k: &[u8]) -> bool {
        let in_range = match &self.hi {
            Bound::Unbounded => true,
            Bound::Included(h) => k <= h.as_slice(),
            Bound::Excluded(h) => k < h.as_slice(),
        };
        in_range && self.back_key.is_none_or(|b| k < b)
    }

    fn above_lo(&self, k: &[u8]) -> bool {
        let in_range = match &self.lo {
            Bound::Unbounded => true,
            Bound::Included(l) => k >= l.as_slice(),
            Bound::Excluded(l) => k > l.as_slice(),
        };
        in_range && self.front_key.is_none_or(|f| k > f)
    }

    fn finish(&mut self, r: Result<Option<KeyValue<'t>>>, front: bool) -> Option<Result<KeyValue<'t>>> {
        match r {
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
            Ok(Some((k, v))) if (front && self.below_hi(k)) || (!front && self.above_lo(k)) => {
                if front {
                    self.front_key = Some(k);
                } else {
                    self.back_key = Some(k);
                }
                Some(Ok((k, v)))
            }
            Ok(_) => {
                self.done = true;
                None
            }
        }
    }
}

impl<'t, T: TxCore> Iterator for Iter<'t, T> {
    type Item = Result<KeyValue<'t>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.next_front();
        self.finish(r, true)
    }
}

impl<'t, T: TxCore> DoubleEndedIterator for Iter<'t, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.next_back_item();
        self.finish(r, false)
    }
}

/// Collects an iterator's items into owned pairs, stopping at the first error.
pub fn collect_owned<'t, I: Iterator<Item = Result<KeyValue<'t>>>>(it: I) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    it.map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec()))).collect::<Result<Vec<_>, Error>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds_handle_ff() {
        assert_eq!(prefix_bounds(b"ab"), (Bound::Included(b"ab".to_vec()), Bound::Excluded(b"ac".to_vec())));
        assert_eq!(prefix_bounds(&[1, 0xFF]), (Bound::Included(vec![1, 0xFF]), Bound::Excluded(vec![2])));
        assert_eq!(prefix_bounds(&[0xFF, 0xFF]).1, Bound::Unbounded);
        assert_eq!(prefix_bounds(b"").1, Bound::Unbounded);
    }
}
