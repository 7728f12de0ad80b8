//! thunder: an embedded, transactional, ordered key-value store.
//!
//! One database is one file of fixed-size pages holding a copy-on-write B+
//! tree, read through a memory mapping. Transactions see snapshots: any number
//! of readers run alongside the one writer, and neither blocks the other.
//! Buckets are named, nestable keyspaces. The C API (`include/thunder.h`) is a
//! thin layer over this crate's Rust API.
//!
//! ```no_run
//! # fn main() -> thunder::Result<()> {
//! let db = thunder::Database::open("example.db")?;
//! let mut tx = db.begin_write()?;
//! tx.put(b"hello", b"world")?;
//! tx.commit()?;
//! let tx = db.begin_read()?;
//! assert_eq!(tx.get(b"hello")?, Some(&b"world"[..]));
//! # Ok(()) }
//! ```

mod alloc;
pub mod check;
mod copy;
mod cursor;
mod db;
mod env;
mod error;
pub mod ffi;
mod options;
mod storage;
mod tree;
mod txn;
mod types;
mod wal;

pub use cursor::{collect_owned, Cursor, Iter, KeyValue, OwnedCursor, WriteCursor};
pub use db::{CloseError, Database, Stats};
pub use error::{Corruption, Error, ErrorKind, Result};
pub use options::{IoBackendKind, Options, SyncMode};
pub use tree::MAX_VALUE_LEN;
pub use txn::{Bucket, PutFlags, ReadTx, WriteTx, MAX_BUCKET_NAME, MAX_IN_MEMORY_VIEW};

#[cfg(test)]
mod tests;
/// The tests' random generator and damage tools, for the test modules
/// outside `tests`.
#[cfg(test)]
pub(crate) use tests::{damaged_root, Rng};
