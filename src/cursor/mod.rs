//! Cursors and iterators over a keyspace (the default one or a bucket's) or
//! over a bucket's child-bucket names. `OwnedCursor` is the one that moves:
//! it owns a position and takes its transaction on each call; `Cursor`,
//! `WriteCursor` and `Iter` borrow a transaction and move through it.

mod borrowed;
mod iter;
mod methods;
mod owned;

pub use borrowed::{Cursor, WriteCursor};
pub use iter::{collect_owned, Iter, KeyValue};
pub(crate) use iter::{owned_bounds, prefix_bounds};
pub use owned::OwnedCursor;
