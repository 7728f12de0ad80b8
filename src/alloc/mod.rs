//! Where pages come from and go: the meta pages, the free page sets and the
//! persisted freelist, and loading the writer's free set. Outside this
//! directory only what is re-exported here is visible.

mod extents;
mod freelist;
mod horizon;
mod load;
mod meta;
mod store;

pub(crate) use freelist::{AllocError, Freelist, Persisted, TxAlloc};
pub(crate) use horizon::Horizon;
pub(crate) use load::{detached_snapshot, load_freelist, read_freelist, unreachable_pages};
pub(crate) use meta::{new_db_id, select as select_meta, LogMark, Meta, MetaRead, Selected, PAGE_SIZES};
#[cfg(test)]
pub(crate) use store::{decode_log, encode_log, snapshot_pages, stored_runs, LogEntry};
