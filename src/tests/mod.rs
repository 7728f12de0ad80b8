//! Engine tests that need crate internals (fault-injecting I/O).

mod crash;
mod faults;
mod regressions;
mod support;
mod torn_meta;
mod workload;
