//! Bytes on disk: the page frame, the file and its lock, the mapping, the
//! per-page verified bits and the I/O backends. Outside this directory only
//! what is re-exported here is visible.

mod file;
mod frame;
mod io;
mod mmap;
mod verified;

pub(crate) use file::{
    lock as lock_file, lock_dir, open_file, punch_hole, sync_parent_dir, sync_parent_dir_if_readable,
};
pub(crate) use frame::{checksums, seal, stored_checksum, Header, PageType, HEADER_LEN};
#[cfg(test)]
pub(crate) use io::SyncIo;
pub(crate) use io::{open_auto, Backend, IoBackend, ReadOp, WriteOp, WriteSyncError};
#[cfg(test)]
pub(crate) use io::{Fault, FaultClock, FaultIo, Step};
pub(crate) use mmap::{prefetch, Mmap};
pub(crate) use verified::VerifiedBits;
