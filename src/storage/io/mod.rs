//! The write path's I/O seam and its backends: `sync` (pwritev), and under
//! test `fault`, which fails or cuts power at any step.

mod backend;
#[cfg(test)]
mod fault;
mod sync;

pub(crate) use backend::{IoBackend, ReadOp, WriteOp};
#[cfg(test)]
pub(crate) use fault::{Fault, FaultClock, FaultIo, Step};
pub(crate) use sync::SyncIo;
