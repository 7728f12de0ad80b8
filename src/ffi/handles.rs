//! The opaque handle types and the casts between them and C pointers.
//!
//! Every handle is a `Box` with a magic number, checked on entry, so a NULL,
//! a handle of the wrong type, or (usually) one already released is reported
//! as `THUNDER_INVALID_ARGUMENT` instead of corrupting memory. Buckets and
//! cursors hold an `Arc` of their transaction's shared slot, never a pointer
//! to the transaction: when it ends the slot becomes `Closed` and they report
//! `THUNDER_TXN_CLOSED`. A panic while the slot is locked poisons its mutex,
//! which fails that transaction (`THUNDER_INTERNAL` from then on).
#![allow(unsafe_code, non_camel_case_types)]

use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::ffi::args;
use crate::options::Options;
use crate::tree::cursor::RawCursor;
use crate::txn::{Bucket, Tree};
use crate::{Database, ReadTx, WriteTx};

const DEAD: u64 = 0xdead_dead_dead_dead;

/// An open database. Shared by any number of threads.
#[derive(Debug)]
pub struct thunder_db {
    magic: u64,
    pub(crate) db: Database,
}

/// Options for thunder_open().
#[derive(Debug)]
pub struct thunder_options {
    magic: u64,
    pub(crate) opts: Options,
    /// THUNDER_SYNC_* and the BATCHED interval, combined at open.
    pub(crate) sync_mode: u32,
    pub(crate) sync_interval_ms: u32,
}

/// A transaction (read or write).
#[derive(Debug)]
pub struct thunder_txn {
    magic: u64,
    pub(crate) shared: Arc<TxnShared>,
}

/// A bucket opened in a transaction.
#[derive(Debug)]
pub struct thunder_bucket {
    magic: u64,
    pub(crate) shared: Arc<TxnShared>,
    pub(crate) bucket: Bucket,
}

/// A cursor over a keyspace or over a bucket's child buckets.
#[derive(Debug)]
pub struct thunder_cursor {
    magic: u64,
    pub(crate) shared: Arc<TxnShared>,
    pub(crate) bucket: Option<Bucket>,
    pub(crate) tree: Tree,
    pub(crate) raw: Mutex<RawCursor>,
}

/// A transaction as its handles share it.
#[derive(Debug)]
pub(crate) struct TxnShared {
    slot: Mutex<TxnSlot>,
}

#[derive(Debug)]
pub(crate) enum TxnSlot {
    Read(ReadTx),
    Write(Box<WriteTx>),
    Closed,
}

impl TxnShared {
    pub(crate) fn new(slot: TxnSlot) -> Arc<TxnShared> {
        Arc::new(TxnShared { slot: Mutex::new(slot) })
    }

    /// The slot; `Internal` if a panic poisoned the transaction.
    pub fn lock(&self) -> Result<MutexGuard<'_, TxnSlot>> {
        self.slot.lock().map_err(|_| Error::Internal("the transaction failed on an earlier internal error".into()))
    }

    /// Ends the transaction, whatever state it is in; returns what it was.
    pub fn close(&self) -> TxnSlot {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *slot, TxnSlot::Closed)
    }
}

impl TxnSlot {
    /// The write transaction, or why there is none.
    pub fn write(&mut self) -> Result<&mut WriteTx> {
        match self {
            TxnSlot::Write(tx) => Ok(tx),
            TxnSlot::Read(_) => Err(Error::ReadOnly("write in a read transaction")),
            TxnSlot::Closed => Err(closed()),
        }
    }
}

pub(crate) fn closed() -> Error {
    Error::TxnClosed("the handle's transaction was committed or aborted")
}

/// Implemented by each handle type.
pub(crate) trait Handle: Sized {
    const MAGIC: u64;
    const NAME: &'static str;
    fn magic(&self) -> u64;
    fn set_magic(&mut self, m: u64);
}

macro_rules! handle {
    ($t:ident, $magic:expr) => {
        impl Handle for $t {
            const MAGIC: u64 = $magic;
            const NAME: &'static str = stringify!($t);
            fn magic(&self) -> u64 {
                self.magic
            }
            fn set_magic(&mut self, m: u64) {
                self.magic = m;
            }
        }
    };
}

handle!(thunder_db, 0x7468_6e64_5f64_6201);
handle!(thunder_options, 0x7468_6e64_5f6f_7002);
handle!(thunder_txn, 0x7468_6e64_5f74_7803);
handle!(thunder_bucket, 0x7468_6e64_5f62_6b04);
handle!(thunder_cursor, 0x7468_6e64_5f63_7505);

impl thunder_db {
    pub(crate) fn new(db: Database) -> thunder_db {
        thunder_db { magic: Self::MAGIC, db }
    }
}

impl thunder_options {
    pub(crate) fn new() -> thunder_options {
        thunder_options { magic: Self::MAGIC, opts: Options::default(), sync_mode: 0, sync_interval_ms: 100 }
    }
}

impl thunder_txn {
    pub(crate) fn new(shared: Arc<TxnShared>) -> thunder_txn {
        thunder_txn { magic: Self::MAGIC, shared }
    }
}

impl thunder_bucket {
    pub(crate) fn new(shared: Arc<TxnShared>, bucket: Bucket) -> thunder_bucket {
        thunder_bucket { magic: Self::MAGIC, shared, bucket }
    }
}

impl thunder_cursor {
    pub(crate) fn new(shared: Arc<TxnShared>, bucket: Option<Bucket>, tree: Tree, writable: bool) -> thunder_cursor {
        thunder_cursor { magic: Self::MAGIC, shared, bucket, tree, raw: Mutex::new(RawCursor::new(writable)) }
    }
}

fn bad_handle<T: Handle>(arg: &str) -> Error {
    Error::invalid(format!("argument `{arg}` is not a live {} (released, or another type)", T::NAME))
}

/// Borrows the handle behind `p`.
///
/// # Safety
/// `p` must be NULL or a pointer obtained from this library for a handle of
/// some type that has not been released.
pub(crate) unsafe fn get<'a, T: Handle>(arg: &str, p: *const T) -> Result<&'a T> {
    if p.is_null() {
        return Err(args::null(arg));
    }
    // SAFETY: a live handle per the caller's contract; every handle type
    // starts with its magic, so a handle of another type reads as a mismatch.
    let h = unsafe { &*p };
    if h.magic() != T::MAGIC {
        return Err(bad_handle::<T>(arg));
    }
    Ok(h)
}

/// Borrows the handle behind `p` mutably (options only: never shared).
///
/// # Safety
/// As for `get`, and no other reference to the handle may be in use.
pub(crate) unsafe fn get_mut<'a, T: Handle>(arg: &str, p: *mut T) -> Result<&'a mut T> {
    // SAFETY: forwarded contract; checks NULL and magic.
    unsafe { get(arg, p)? };
    // SAFETY: checked above; exclusive per the caller's contract.
    Ok(unsafe { &mut *p })
}

/// Hands a new handle to C.
pub(crate) fn into_raw<T: Handle>(h: T) -> *mut T {
    Box::into_raw(Box::new(h))
}

/// Takes back a handle for release; None for NULL.
///
/// # Safety
/// As for `get`; the pointer is dangling afterwards.
pub(crate) unsafe fn release<T: Handle>(arg: &str, p: *mut T) -> Result<Option<Box<T>>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: checks the magic of a live handle per the caller's contract.
    unsafe { get::<T>(arg, p)? };
    // SAFETY: the pointer came from `into_raw` and is released only once
    // (the magic is cleared so a second release is caught, usually).
    let mut b = unsafe { Box::from_raw(p) };
    b.set_magic(DEAD);
    Ok(Some(b))
}
