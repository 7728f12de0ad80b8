//! The environment under the transactions: everything a database holds
//! between transactions, one concern per file.
//!
//! - `environment`: the `Env` itself (configuration and the parts below) and
//!   the transaction counters;
//! - `open`: opening or creating the file, choosing the meta;
//! - `pages`: the file, its mapping, the verified bits, growth;
//! - `readers`: the published meta, the reader table, the reuse horizon;
//! - `writer`: the writer slot and the state that outlives write transactions;
//! - `durability`: the durable meta slot and txid, meta writes, fsync and
//!   the poison a failed one leaves, `sync`;
//! - `steady`: writing the freelist the latest meta deferred, before a
//!   steady point makes that meta durable;
//! - `syncer`: the background thread that makes the checkpoints commits
//!   hand over (weak modes, WAL) and the `SyncMode::Batched` interval sync;
//! - `wal_log`: the write-ahead log when there is one: appends, group
//!   commit, when to checkpoint (the checkpoint itself is durability's);
//! - `lock_order`: the ranked mutex that asserts the lock order.
//!
//! Lock order (a thread holding one of these takes only later ones; asserted
//! in debug builds by `lock_order`):
//!   1. `writer`: the writer slot's mutex (not the slot: a write transaction
//!      holds the slot across calls, the mutex only while taking or
//!      returning it);
//!   2. `durability` sync state (durable slot, last sync);
//!   3. `readers` published meta and reader table;
//!   4. `durability` poison;
//!   5. `syncer` handle.

mod durability;
mod environment;
mod lock_order;
mod open;
mod pages;
mod readers;
mod steady;
mod syncer;
mod wal_log;
mod writer;

pub(crate) use environment::{next_serial, Config, Env};
pub(crate) use open::BackendFactory;
pub(crate) use wal_log::WalLog;
pub(crate) use writer::{Returning, WriterState};
