//! The cursor and iterator methods of both transaction kinds (written once
//! for both, as `txn`'s `read_api` is), and `WriteTx::write_cursor`.

use crate::cursor::WriteCursor;
use crate::txn::{Bucket, ReadTx, WriteTx};

macro_rules! cursor_api {
    ($t:ty) => {
        impl $t {
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

cursor_api!(ReadTx);
cursor_api!(WriteTx);

impl WriteTx {
    /// A cursor over `bucket` (None: the default keyspace) that can delete.
    pub fn write_cursor(&mut self, bucket: Option<&Bucket>) -> WriteCursor<'_> {
        WriteCursor::new(self, bucket.copied())
    }
}
