//! Transactions. `ReadTx` reads one committed snapshot; `WriteTx` is the one
//! writer. Both implement `TxCore`, over which the read API is written once
//! (`get` here; cursors and iterators in `cursor`).

mod buckets;
mod commit;
mod deferred;
mod log;
mod read;
mod read_api;
mod replay;
mod write;

pub use read::ReadTx;
pub(crate) use read_api::{check_bucket_name, check_key, get, read_api, BucketAt, Tree, TxCore};
pub use read_api::{Bucket, MAX_BUCKET_NAME, MAX_IN_MEMORY_VIEW};
pub(crate) use replay::recover;
pub use write::{PutFlags, WriteTx};
