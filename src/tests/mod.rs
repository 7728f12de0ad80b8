//! Engine tests that need crate internals (fault-injecting I/O).

mod regressions;
