//! What both transaction kinds share: the bucket handle, the `TxCore`
//! trait the read code is written over, argument checks, `get`, and the
//! `read_api!` macro that gives both kinds the same read methods.

use crate::error::{Error, Result};
use crate::options::MAX_OVERFLOW_THRESHOLD;
use crate::tree::{self, BucketRecord, NodeRef, NodeSource};

/// Bucket names are 1 to 255 bytes.
pub const MAX_BUCKET_NAME: usize = crate::tree::MAX_BUCKET_NAME;

/// The longest slice a view into a write transaction's own memory (its
/// dirty nodes) can be: no key, bucket name or inline value is longer. A
/// longer view points into the mapped file.
pub const MAX_IN_MEMORY_VIEW: usize = MAX_OVERFLOW_THRESHOLD as usize;

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
    /// This transaction's serial number (handles of another are refused).
    fn serial(&self) -> u64;
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
    match tree::get(tx, root, key)? {
        None => Ok(None),
        Some(v) => tx.resolve(v).map(Some),
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
        }
    };
}
pub(crate) use read_api;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::PAGE_SIZES;
    use crate::tree::max_key_len;

    #[test]
    fn no_key_or_bucket_name_outgrows_the_in_memory_view_limit() {
        let largest = *PAGE_SIZES.iter().max().unwrap() as usize;
        assert!(max_key_len(largest) <= MAX_IN_MEMORY_VIEW);
        const { assert!(MAX_BUCKET_NAME <= MAX_IN_MEMORY_VIEW) };
    }
}
