//! Copies of one committed snapshot into a new file: `backup` copies its
//! pages, `compact` rebuilds its trees densely in a fresh database. Both
//! write to a temporary file beside the destination (`dest::Staged`) and
//! put it in place only once it is complete and synced. Outside this
//! directory only what is re-exported here is visible.

mod backup;
mod compact;
mod dest;

pub(crate) use backup::write_snapshot;
pub(crate) use compact::{copy_trees, BATCH_BYTES};
pub(crate) use dest::Staged;
