//! Transactions. `ReadTx` reads one committed snapshot; `WriteTx` is the one
//! writer. Both implement `TxCore`, over which the read API (get, cursors,
//! iterators) is written once.

mod buckets;
mod commit;
mod read;
mod write;

pub(crate) use read::decode_record;
pub use read::ReadTx;
pub use write::{PutFlags, WriteTx};

use crate::error::{Error, Result};
use crate::tree::cursor::RawCursor;
use crate::tree::node::NodeRef;
use crate::tree::record::BucketRecord;
use crate::tree::view::{self, NodeSource};

/// Bucket names are 1 to 255 bytes.
pub const MAX_BUCKET_NAME: usize = 255;

/// Which of a bucket's two trees.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Tree {
    /// The bucket's keys and values.
    Keys,
    /// The bucket's child buckets (names to records).
    Children,
}

/// A bucket opened in a transaction: pass it to the `*_in` methods of the
/// same transaction. A handle used in another transaction is rejected
/// (`InvalidArgument`); one whose bucket was deleted is `BucketNotFound`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub(crate) txn: u64,
    pub(crate) at: BucketAt,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum BucketAt {
    /// In a read transaction: the committed record.
    Record(BucketRecord),
    /// In a write transaction: the slot of the transaction's bucket table.
    Slot(u32),
}

/// What both transaction kinds provide to the shared read code. Public only
/// so it can bound the public cursor types; it cannot be named outside the
/// crate (a sealed trait).
pub trait TxCore: NodeSource {
    /// Changes so far; a cursor re-seeks when this moved.
    fn version(&self) -> u64;
    /// Whether trees can change under a cursor (write transactions).
    fn writable(&self) -> bool;
    fn max_key(&self) -> usize;
    /// The root of `bucket`'s tree (None: the default keyspace / top level).
    fn tree_root(&self, bucket: Option<&Bucket>, tree: Tree) -> Result<Option<NodeRef>>;
}

pub(crate) fn check_key(key: &[u8], max: usize) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("`key` is empty (keys are 1 byte or longer)"));
    }
    if key.len() > max {
        return Err(Error::KeyTooLarge { len: key.len(), max });
    }
    Ok(())
}

pub(crate) fn check_bucket_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name.len() > MAX_BUCKET_NAME {
        return Err(Error::invalid(format!(
            "bucket name of {} bytes (names are 1 to {MAX_BUCKET_NAME} bytes)",
            name.len()
        )));
    }
    Ok(())
}

/// The value of `key` in `bucket`, borrowed from the transaction.
pub(crate) fn get<'t, T: TxCore>(tx: &'t T, bucket: Option<&Bucket>, key: &[u8]) -> Result<Option<&'t [u8]>> {
    let root = tx.tree_root(bucket, Tree::Keys)?;
    check_key(key, tx.max_key())?;
    match view::get(tx, root, key)? {
        None => Ok(None),
        Some(v) => tx.resolve(v).map(Some),
    }
}

/// A cursor movement.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Move<'k> {
    First,
    Last,
    Next,
    Prev,
    Seek(&'k [u8]),
}

/// Moves `raw` over `bucket`'s tree; the item's value is resolved (empty for
/// the child-bucket tree).
pub(crate) fn move_cursor<'t, T: TxCore>(
    tx: &'t T,
    bucket: Option<&Bucket>,
    tree: Tree,
    raw: &mut RawCursor,
    m: Move<'_>,
) -> Result<Option<(&'t [u8], &'t [u8])>> {
    let root = tx.tree_root(bucket, tree)?;
    let ver = tx.version();
    let item = match m {
        Move::First => raw.first(tx, root, ver)?,
        Move::Last => raw.last(tx, root, ver)?,
        Move::Next => raw.next(tx, root, ver)?,
        Move::Prev => raw.prev(tx, root, ver)?,
        Move::Seek(k) => raw.seek(tx, root, ver, k)?,
    };
    match item {
        None => Ok(None),
        Some((k, _)) if tree == Tree::Children => Ok(Some((k, &[][..]))),
        Some((k, v)) => Ok(Some((k, tx.resolve(v)?))),
    }
}

/// The read API, the same on `ReadTx` and `WriteTx` (a write transaction
/// sees its own uncommitted changes).
macro_rules! read_api {
    ($t:ty) => {
        impl $t {
            /// The value of `key` in the default keyspace, borrowed from the
            /// transaction (zero-copy for committed data).
            pub fn get(&self, key: &[u8]) -> $crate::error::Result<Option<&[u8]>> {
                $crate::txn::get(self, None, key)
            }

            /// The value of `key` in `bucket`.
            pub fn get_in(&self, bucket: &$crate::txn::Bucket, key: &[u8]) -> $crate::error::Result<Option<&[u8]>> {
                $crate::txn::get(self, Some(bucket), key)
            }

            /// `get` / `get_in` by an optional bucket (the C layer's entry point).
            pub(crate) fn get_inner(
                &self,
                bucket: Option<&$crate::txn::Bucket>,
                key: &[u8],
            ) -> $crate::error::Result<Option<&[u8]>> {
                $crate::txn::get(self, bucket, key)
            }

            /// `get`, copied into an owned buffer.
            pub fn get_copy(&self, key: &[u8]) -> $crate::error::Result<Option<Vec<u8>>> {
                Ok(self.get(key)?.map(<[u8]>::to_vec))
            }

            /// `get_in`, copied into an owned buffer.
            pub fn get_copy_in(
                &self,
                bucket: &$crate::txn::Bucket,
                key: &[u8],
            ) -> $crate::error::Result<Option<Vec<u8>>> {
                Ok(self.get_in(bucket, key)?.map(<[u8]>::to_vec))
            }

            /// A cursor over the default keyspace.
            pub fn cursor(&self) -> $crate::cursor::Cursor<'_, Self> {
                $crate::cursor::Cursor::new(self, None, $crate::txn::Tree::Keys)
            }

            /// A cursor over `bucket`'s keys.
            pub fn cursor_in(&self, bucket: &$crate::txn::Bucket) -> $crate::cursor::Cursor<'_, Self> {
                $crate::cursor::Cursor::new(self, Some(*bucket), $crate::txn::Tree::Keys)
            }

            /// A cursor over the names of `parent`'s child buckets (None: the
            /// top-level buckets); values are empty.
            pub fn bucket_cursor(&self, parent: Option<&$crate::txn::Bucket>) -> $crate::cursor::Cursor<'_, Self> {
                $crate::cursor::Cursor::new(self, parent.copied(), $crate::txn::Tree::Children)
            }

            /// Every key and value of the default keyspace in key order.
            pub fn iter(&self) -> $crate::cursor::Iter<'_, Self> {
                $crate::cursor::Iter::new(
                    self,
                    None,
                    $crate::txn::Tree::Keys,
                    ::std::ops::Bound::Unbounded,
                    ::std::ops::Bound::Unbounded,
                )
            }

            /// Every key and value of `bucket` in key order.
            pub fn iter_in(&self, bucket: &$crate::txn::Bucket) -> $crate::cursor::Iter<'_, Self> {
                $crate::cursor::Iter::new(
                    self,
                    Some(*bucket),
                    $crate::txn::Tree::Keys,
                    ::std::ops::Bound::Unbounded,
                    ::std::ops::Bound::Unbounded,
                )
            }

            /// Keys of the default keyspace within `range` (either direction: `.rev()`).
            pub fn range<K: AsRef<[u8]>, R: ::std::ops::RangeBounds<K>>(
                &self,
                range: R,
            ) -> $crate::cursor::Iter<'_, Self> {
                let (lo, hi) = $crate::cursor::owned_bounds(&range);
                $crate::cursor::Iter::new(self, None, $crate::txn::Tree::Keys, lo, hi)
            }

            /// Keys of `bucket` within `range`.
            pub fn range_in<K: AsRef<[u8]>, R: ::std::ops::RangeBounds<K>>(
                &self,
                bucket: &$crate::txn::Bucket,
                range: R,
            ) -> $crate::cursor::Iter<'_, Self> {
                let (lo, hi) = $crate::cursor::owned_bounds(&range);
                $crate::cursor::Iter::new(self, Some(*bucket), $crate::txn::Tree::Keys, lo, hi)
            }

            /// Keys of the default keyspace that start with `prefix`.
            pub fn prefix(&self, prefix: &[u8]) -> $crate::cursor::Iter<'_, Self> {
                let (lo, hi) = $crate::cursor::prefix_bounds(prefix);
                $crate::cursor::Iter::new(self, None, $crate::txn::Tree::Keys, lo, hi)
            }

            /// Keys of `bucket` that start with `prefix`.
            pub fn prefix_in(&self, bucket: &$crate::txn::Bucket, prefix: &[u8]) -> $crate::cursor::Iter<'_, Self> {
                let (lo, hi) = $crate::cursor::prefix_bounds(prefix);
                $crate::cursor::Iter::new(self, Some(*bucket), $crate::txn::Tree::Keys, lo, hi)
            }

            /// Names of `parent`'s child buckets (None: top level), in order.
            pub fn bucket_names(&self, parent: Option<&$crate::txn::Bucket>) -> $crate::error::Result<Vec<Vec<u8>>> {
                $crate::cursor::Iter::new(
                    self,
                    parent.copied(),
                    $crate::txn::Tree::Children,
                    ::std::ops::Bound::Unbounded,
                    ::std::ops::Bound::Unbounded,
                )
                .map(|item| item.map(|(k, _)| k.to_vec()))
                .collect()
            }
        }
    };
}
pub(crate) use read_api;
