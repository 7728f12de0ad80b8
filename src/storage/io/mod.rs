//! The write path's I/O seam and its backends: `sync` (pwritev), `uring`
//! (io_uring, cargo feature `io_uring`), `direct` (O_DIRECT, with aligned
//! buffers from `aligned`), chosen by `kind`; and under test `fault`, which
//! wraps any of them and fails or cuts power at any step.

mod aligned;
mod backend;
mod direct;
#[cfg(test)]
mod fault;
mod kind;
mod sync;
#[cfg(all(feature = "io_uring", target_os = "linux"))]
mod uring;

pub(crate) use backend::{IoBackend, ReadOp, WriteOp, WriteSyncError};
pub(crate) use direct::DirectIo;
#[cfg(test)]
pub(crate) use fault::{Fault, FaultClock, FaultIo, Step};
pub(crate) use kind::{open_auto, Backend};
pub(crate) use sync::SyncIo;
#[cfg(all(feature = "io_uring", target_os = "linux"))]
pub(crate) use uring::UringIo;
