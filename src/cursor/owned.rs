//! `OwnedCursor`: a cursor position that borrows nothing. Each movement
//! takes the transaction it was opened in, so a handle (the C cursor) can
//! keep one beside its transaction. Fresh cursors are unpositioned: `next`
//! acts as `first`, `prev` as `last`. Moving off an end leaves the cursor
//! past it (`next` keeps returning None; `prev` then returns the last item).

use crate::cursor::KeyValue;
use crate::error::{Error, Result};
use crate::tree::{RawCursor, Value};
use crate::txn::{Bucket, Tree, TxCore, WriteTx};

/// A cursor movement.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Move<'k> {
    First,
    Last,
    Next,
    Prev,
    Seek(&'k [u8]),
}

/// A cursor over one tree of one transaction; see the module doc.
#[derive(Debug)]
pub struct OwnedCursor {
    /// The serial of the transaction it belongs to.
    txn: u64,
    bucket: Option<Bucket>,
    tree: Tree,
    raw: RawCursor,
}

impl OwnedCursor {
    /// A cursor over `tx`'s tree, not yet checked.
    pub(crate) fn new<T: TxCore>(tx: &T, bucket: Option<Bucket>, tree: Tree) -> OwnedCursor {
        OwnedCursor { txn: tx.serial(), bucket, tree, raw: RawCursor::new(tx.writable()) }
    }

    /// A cursor over the keys of `bucket` (None: the default keyspace). A
    /// failed transaction or a deleted bucket is reported now rather than by
    /// the first move.
    pub fn keys<T: TxCore>(tx: &T, bucket: Option<&Bucket>) -> Result<OwnedCursor> {
        tx.tree_root(bucket, Tree::Keys)?;
        Ok(OwnedCursor::new(tx, bucket.copied(), Tree::Keys))
    }

    /// A cursor over the names of `parent`'s child buckets (None: the
    /// top-level buckets); values are empty.
    pub fn bucket_names<T: TxCore>(tx: &T, parent: Option<&Bucket>) -> Result<OwnedCursor> {
        tx.tree_root(parent, Tree::Children)?;
        Ok(OwnedCursor::new(tx, parent.copied(), Tree::Children))
    }

    /// Fails as a move would on a failed transaction or a deleted bucket.
    pub(crate) fn check_tree<T: TxCore>(&self, tx: &T) -> Result<()> {
        if tx.serial() != self.txn {
            return Err(Error::invalid("cursor used with another transaction than its own"));
        }
        tx.tree_root(self.bucket.as_ref(), self.tree).map(drop)
    }

    /// Whether it walks child-bucket names rather than keys.
    pub fn over_bucket_names(&self) -> bool {
        self.tree == Tree::Children
    }

    /// Moves over the tree in `tx`; the item's value is resolved (empty for
    /// the child-bucket tree).
    pub(crate) fn step<'t, T: TxCore>(&mut self, tx: &'t T, m: Move<'_>) -> Result<Option<KeyValue<'t>>> {
        if tx.serial() != self.txn {
            return Err(Error::invalid("cursor used with another transaction than its own"));
        }
        let ver = tx.version();
        // A read transaction's trees cannot change or fail, so a step within
        // the current leaf needs neither the root nor its checks (a write
        // transaction checks them: it may have failed, or dropped the bucket).
        let fast = match m {
            Move::Next if !tx.writable() => self.raw.next_in_leaf(tx, ver),
            _ => None,
        };
        let item = match fast {
            Some(item) => Some(item),
            None => self.raw_step(tx, m, ver)?,
        };
        match item {
            None => Ok(None),
            Some((k, _)) if self.tree == Tree::Children => Ok(Some((k, &[][..]))),
            Some((k, v)) => Ok(Some((k, tx.resolve(v)?))),
        }
    }

    /// `next` in a read transaction when the next item is in the current leaf
    /// and its value is stored inline: the step of nearly every item of a
    /// scan, with no `Result` to pass up through the layers above (which
    /// cost more than the step itself). None when it does not apply, with
    /// the cursor unchanged: take `next`.
    #[inline]
    pub(crate) fn next_inline<'t, T: TxCore>(&mut self, tx: &'t T) -> Option<KeyValue<'t>> {
        if tx.writable() || tx.serial() != self.txn {
            return None;
        }
        let (k, v) = self.raw.peek_next_in_leaf(tx, tx.version())?;
        let v = match v {
            _ if self.tree == Tree::Children => &[][..],
            Value::Inline(v) => v,
            Value::Overflow(_) => return None,
        };
        self.raw.advance_in_leaf(k);
        Some((k, v))
    }

    /// The movement on the raw cursor, from the tree's current root.
    fn raw_step<'t, T: TxCore>(&mut self, tx: &'t T, m: Move<'_>, ver: u64) -> Result<Option<crate::tree::Item<'t>>> {
        let root = tx.tree_root(self.bucket.as_ref(), self.tree)?;
        let raw = &mut self.raw;
        Ok(match m {
            Move::First => raw.first(tx, root, ver)?,
            Move::Last => raw.last(tx, root, ver)?,
            Move::Next => raw.next(tx, root, ver)?,
            Move::Prev => raw.prev(tx, root, ver)?,
            Move::Seek(k) => raw.seek(tx, root, ver, k)?,
        })
    }

    pub fn first<'t, T: TxCore>(&mut self, tx: &'t T) -> Result<Option<KeyValue<'t>>> {
        self.step(tx, Move::First)
    }

    pub fn last<'t, T: TxCore>(&mut self, tx: &'t T) -> Result<Option<KeyValue<'t>>> {
        self.step(tx, Move::Last)
    }

    pub fn next<'t, T: TxCore>(&mut self, tx: &'t T) -> Result<Option<KeyValue<'t>>> {
        self.step(tx, Move::Next)
    }

    pub fn prev<'t, T: TxCore>(&mut self, tx: &'t T) -> Result<Option<KeyValue<'t>>> {
        self.step(tx, Move::Prev)
    }

    /// Positions at the first key >= `key` (an empty key: the first item).
    pub fn seek<'t, T: TxCore>(&mut self, tx: &'t T, key: &[u8]) -> Result<Option<KeyValue<'t>>> {
        self.step(tx, Move::Seek(key))
    }

    /// Deletes the current item (see `WriteCursor::delete`). False when the
    /// cursor is not on an item; `InvalidArgument` on a cursor over bucket
    /// names (delete buckets with `delete_bucket`).
    pub fn delete(&mut self, tx: &mut WriteTx) -> Result<bool> {
        if tx.serial() != self.txn {
            return Err(Error::invalid("cursor used with another transaction than its own"));
        }
        if self.over_bucket_names() {
            // A failed transaction or a deleted bucket says so first, as on
            // every other call.
            self.check_tree(&*tx)?;
            return Err(Error::invalid(
                "delete on a bucket cursor (use thunder_bucket_delete or Transaction::delete_bucket)",
            ));
        }
        tx.cursor_delete(self.bucket.as_ref(), &mut self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;

    /// The C cursor's scan takes `next_inline` and falls back to `next`
    /// when it returns None: that walk must be the plain `next` walk, over
    /// inline and overflow values across many leaves, and over bucket names.
    #[test]
    fn next_inline_with_its_fallback_walks_as_next_does() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path().join("inline.db")).unwrap();
        let mut w = db.begin_write().unwrap();
        for i in 0..3000u32 {
            let len = if i % 7 == 3 { 9000 } else { (i % 200) as usize };
            w.put(format!("k{i:05}").as_bytes(), &vec![i as u8; len]).unwrap();
        }
        for i in 0..500u32 {
            w.create_bucket(None, format!("b{i:04}").as_bytes()).unwrap();
        }
        w.commit().unwrap();
        let r = db.begin_read().unwrap();
        for over_names in [false, true] {
            let open = || if over_names { OwnedCursor::bucket_names(&r, None) } else { OwnedCursor::keys(&r, None) };
            let (mut plain, mut fast) = (open().unwrap(), open().unwrap());
            let (mut n, mut inline) = (0, 0);
            loop {
                let want = plain.next(&r).unwrap();
                let got = match fast.next_inline(&r) {
                    Some(item) => {
                        inline += 1;
                        Some(item)
                    }
                    None => fast.next(&r).unwrap(),
                };
                assert_eq!(got, want, "item {n}");
                let Some(_) = want else { break };
                n += 1;
            }
            assert_eq!(n, if over_names { 500 } else { 3000 });
            assert!(inline > n / 2, "the fast path took {inline} of {n} steps");
        }
    }
}
