//! `OwnedCursor`: a cursor position that borrows nothing. Each movement
//! takes the transaction it was opened in, so a handle (the C cursor) can
//! keep one beside its transaction. Fresh cursors are unpositioned: `next`
//! acts as `first`, `prev` as `last`. Moving off an end leaves the cursor
//! past it (`next` keeps returning None; `prev` then returns the last item).

use crate::cursor::KeyValue;
use crate::error::{Error, Result};
use crate::tree::RawCursor;
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
            Move::Next if !tx.writable() => self.raw.next_in_leaf(tx, ver)?,
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
            return Err(Error::invalid("delete on a cursor over bucket names (delete the bucket instead)"));
        }
        tx.cursor_delete(self.bucket.as_ref(), &mut self.raw)
    }
}
