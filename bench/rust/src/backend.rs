//! What an engine gives the Rust driver (the Rust form of bench/c/backend.h):
//! transactions as scopes, cursors as bounded visits. Failures panic with
//! the engine's message, which ends the process (the runner reports it).

pub trait Backend: Sync {
    /// Runs f in a read transaction.
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTxn));
    /// Runs f in a write transaction, then commits it.
    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTxn));
    /// Makes everything committed durable and checkpointed.
    fn sync(&self);
}

pub trait ReadTxn {
    /// Calls f with the value of key; false when it is missing.
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool;
    /// Calls f with up to `limit` items from the first key >= start (from the
    /// first item when start is empty), in key order; returns how many.
    fn range(&self, start: &[u8], limit: u64, f: &mut dyn FnMut(&[u8], &[u8])) -> u64;
}

pub trait WriteTxn {
    fn put(&mut self, key: &[u8], val: &[u8]);
    fn get(&mut self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool;
    fn del(&mut self, key: &[u8]);
}
