//! Engine tests that need crate internals (fault-injecting I/O).

mod background_sync;
mod crafted;
mod crash;
mod damage_fuzz;
mod deferred;
mod faults;
mod freelist_io;
mod node_cache;
mod regressions;
mod support;
mod torn_meta;
mod wal_crash;
mod wal_faults;
mod workload;
mod writeback;
mod young_pages;

pub(crate) use deferred::damaged_root;
pub(crate) use support::Rng;
