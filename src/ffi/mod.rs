//! The C API (include/thunder.h is generated from this module by cbindgen).
//! Exports only: argument checks, the panic guard, handle casts and error
//! mapping. No engine logic lives here.

mod access;
mod args;
mod bucket;
mod cursor;
mod db;
#[cfg(test)]
mod deferred_tests;
mod guard;
mod handles;
mod library;
mod options;
mod status;
mod txn;

pub use access::{thunder_bytes, THUNDER_PUT_APPEND, THUNDER_PUT_NO_OVERWRITE};
pub use bucket::*;
pub use cursor::*;
pub use db::*;
pub use handles::{thunder_bucket, thunder_cursor, thunder_db, thunder_options, thunder_txn};
pub use library::*;
pub use options::*;
pub use status::thunder_status;
pub use txn::*;
