//! The opaque handle types and the casts between them and C pointers.
//!
//! Every handle is a `Tagged<T>`: a magic number at offset 0, a tag, then
//! the handle; a `Box` for all but transactions, whose `Arc` C shares with
//! the transaction's buckets and cursors. The pointer C holds carries the
//! tag in its top 16 bits (user-space addresses on the 64-bit targets stay
//! below 2^48; C never dereferences a handle). The magic and the tag are
//! checked on entry, so a NULL, a handle of the wrong type, or one already
//! released is reported as `THUNDER_INVALID_ARGUMENT` instead of
//! corrupting memory; the tag catches a released handle whose address a
//! new handle of the same type reuses (a second commit of a transaction
//! would otherwise commit the next one, begun at the same address). The handle types
//! themselves stay plain Rust structs, which cbindgen declares opaque. Buckets and
//! cursors hold an `Arc` of their transaction's shared slot, never a pointer
//! to the transaction: when it ends the slot becomes `Closed` and they report
//! `THUNDER_TXN_CLOSED`. A panic while the slot is locked poisons its mutex,
//! which fails that transaction (`THUNDER_INTERNAL` from then on).
#![allow(unsafe_code, non_camel_case_types)]

use std::cell::UnsafeCell;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, TryLockError};

use crate::error::{Error, Result};
use crate::ffi::args;
use crate::options::Options;
use crate::{Bucket, CloseError, Database, OwnedCursor, ReadTx, WriteTx};

const DEAD: u64 = 0xdead_dead_dead_dead;

/// Where a handle's tag sits in the pointer C holds.
const TAG_SHIFT: u32 = 48;
const ADDR_MASK: usize = (1 << TAG_SHIFT) - 1;
/// The source of tags: consecutive handles get distinct tags, so a stale
/// handle is mistaken for a new one at its address only after 65,535
/// handles were made between the two.
static TAGS: AtomicU64 = AtomicU64::new(1);

/// The next tag: the low 16 bits of the next count, never 0.
fn next_tag() -> u64 {
    (TAGS.fetch_add(1, Ordering::Relaxed) & 0xffff).max(1)
}

/// The pointer C holds for the handle at `p` with tag `tag`.
fn to_c<T, U>(p: *mut Tagged<T>, tag: u64) -> *mut U {
    debug_assert_eq!(p.addr() & !ADDR_MASK, 0, "a user-space address below 2^48");
    p.map_addr(|a| (a & ADDR_MASK) | (tag as usize) << TAG_SHIFT).cast()
}

/// The allocation behind a pointer from `to_c`, and the tag it carries.
fn from_c<T, U>(p: *const U) -> (*const Tagged<T>, u64) {
    ((p.map_addr(|a| a & ADDR_MASK)).cast(), (p.addr() >> TAG_SHIFT) as u64)
}

/// An open database. Shared by any number of threads: each call on it
/// holds the read lock while it runs, and `thunder_close` takes the write
/// lock without waiting, so a refused close (`Busy`) never takes the
/// database away from under another thread's call.
#[derive(Debug)]
pub struct thunder_db {
    /// None only after a close that failed past its start (a panic): the
    /// handle then reports itself closed instead of reaching a torn database.
    db: RwLock<Option<Database>>,
}

/// The database behind a `thunder_db`, for one call (holds the read lock).
pub(crate) struct DbRef<'a>(RwLockReadGuard<'a, Option<Database>>);

impl Deref for DbRef<'_> {
    type Target = Database;

    fn deref(&self) -> &Database {
        // `thunder_db::db` hands out only guards over a database.
        self.0.as_ref().expect("a DbRef holds a database")
    }
}

/// Options for thunder_open().
#[derive(Debug)]
pub struct thunder_options {
    pub(crate) opts: Options,
    /// THUNDER_SYNC_* and the BATCHED interval, combined at open.
    pub(crate) sync_mode: u32,
    pub(crate) sync_interval_ms: u32,
}

// C's handle is one strong count of the `Arc` a transaction's buckets and
// cursors share (`TxnRc`), so a transaction is one allocation: a second
// one, and its free, were a fifth of a one-get read transaction's begin and
// end (callgrind).
/// A transaction (read or write).
#[derive(Debug)]
pub struct thunder_txn {
    slot: Mutex<TxnSlot>,
}

/// A counted reference to a transaction: how buckets and cursors hold it.
#[derive(Clone, Debug)]
pub(crate) struct TxnRc(Arc<Tagged<thunder_txn>>);

impl Deref for TxnRc {
    type Target = thunder_txn;

    fn deref(&self) -> &thunder_txn {
        &self.0.handle
    }
}

/// A bucket opened in a transaction.
#[derive(Debug)]
pub struct thunder_bucket {
    pub(crate) shared: TxnRc,
    pub(crate) bucket: Bucket,
}

/// A cursor over a keyspace or over a bucket's child buckets.
pub struct thunder_cursor {
    shared: TxnRc,
    /// The position. Guarded by `shared`'s mutex, not one of its own: it is
    /// only reached through `with`, which holds that lock (one lock per
    /// cursor step instead of two; the pair was about 10% of a cursor_next).
    pos: UnsafeCell<OwnedCursor>,
}

impl std::fmt::Debug for thunder_cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("thunder_cursor").finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub(crate) enum TxnSlot {
    Read(ReadTx),
    Write(Box<WriteTx>),
    Closed,
}

impl thunder_txn {
    /// The slot, a write transaction's deferred puts applied (so that
    /// whatever the caller reads or changes next sees them); `Internal` if
    /// a panic poisoned the transaction, or the error that applying them
    /// failed the transaction with.
    #[inline]
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, TxnSlot>> {
        let mut slot = self.lock_as_is()?;
        if let TxnSlot::Write(tx) = &mut *slot {
            tx.flush_deferred()?;
        }
        Ok(slot)
    }

    /// The slot, deferred puts left as they are: for `thunder_put`.
    #[inline]
    pub(crate) fn lock_as_is(&self) -> Result<MutexGuard<'_, TxnSlot>> {
        self.slot.lock().map_err(|_| poisoned())
    }

    /// Ends the transaction, whatever state it is in; returns what it was,
    /// and whether a panic had poisoned it (one lock, where commit used to
    /// take one to ask and another to close).
    pub(crate) fn close(&self) -> (TxnSlot, bool) {
        let (mut slot, poisoned) = match self.slot.lock() {
            Ok(slot) => (slot, false),
            Err(p) => (p.into_inner(), true),
        };
        (std::mem::replace(&mut *slot, TxnSlot::Closed), poisoned)
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

#[cold]
fn poisoned() -> Error {
    Error::Internal("the transaction failed on an earlier internal error".into())
}

pub(crate) fn closed() -> Error {
    Error::TxnClosed("the handle's transaction was committed or aborted")
}

/// Implemented by each handle type.
pub(crate) trait Handle: Sized {
    const MAGIC: u64;
    const NAME: &'static str;
}

macro_rules! handle {
    ($t:ident, $magic:expr) => {
        impl Handle for $t {
            const MAGIC: u64 = $magic;
            const NAME: &'static str = stringify!($t);
        }
    };
}

/// What a C handle pointer points at. `repr(C)` puts `magic` at offset 0
/// whatever `T` is, so the first 8 bytes of any handle can be read to learn
/// its type. (The magic used to be a field of each handle struct, which Rust
/// is free to reorder: it sat at offset 64 of a bucket, so checking a 16-byte
/// transaction passed as a bucket read past the end of its allocation.)
#[repr(C)]
#[derive(Debug)]
struct Tagged<T> {
    /// Atomic because a transaction's handle is shared: its release clears
    /// the magic while buckets and cursors still hold the `Arc`.
    magic: AtomicU64,
    /// The tag the pointer C holds carries (`to_c`).
    tag: u64,
    handle: T,
}

impl<T: Handle> Tagged<T> {
    fn new(handle: T, tag: u64) -> Tagged<T> {
        Tagged { magic: AtomicU64::new(T::MAGIC), tag, handle }
    }
}

handle!(thunder_db, 0x7468_6e64_5f64_6201);
handle!(thunder_options, 0x7468_6e64_5f6f_7002);
handle!(thunder_txn, 0x7468_6e64_5f74_7803);
handle!(thunder_bucket, 0x7468_6e64_5f62_6b04);
handle!(thunder_cursor, 0x7468_6e64_5f63_7505);

impl thunder_db {
    pub(crate) fn new(db: Database) -> thunder_db {
        thunder_db { db: RwLock::new(Some(db)) }
    }

    /// The database, for the length of one call.
    pub(crate) fn db(&self) -> Result<DbRef<'_>> {
        let guard = self.db.read().unwrap_or_else(PoisonError::into_inner);
        match *guard {
            Some(_) => Ok(DbRef(guard)),
            None => Err(Error::invalid("the database handle was closed")),
        }
    }

    /// Closes the database (`Database::close`). `Err`: refused, the handle
    /// stays open: `Busy` while another thread's call on it is under way
    /// or transactions are open. `Ok`: the database is gone, with what the
    /// close returned; the caller releases the handle.
    pub(crate) fn close(&self) -> Result<Result<()>> {
        let mut slot = match self.db.try_write() {
            Ok(slot) => slot,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Busy("close while another thread's call on this database handle is under way"))
            }
        };
        let db = slot.take().ok_or_else(|| Error::invalid("the database handle was closed"))?;
        match db.close() {
            Err(CloseError { error, db: Some(db) }) => {
                *slot = Some(db);
                Err(error)
            }
            res => Ok(res.map_err(|e| e.error)),
        }
    }
}

impl thunder_options {
    pub(crate) fn new() -> thunder_options {
        thunder_options { opts: Options::default(), sync_mode: 0, sync_interval_ms: 100 }
    }
}

impl thunder_bucket {
    pub(crate) fn new(shared: TxnRc, bucket: Bucket) -> thunder_bucket {
        thunder_bucket { shared, bucket }
    }
}

impl thunder_cursor {
    pub(crate) fn new(shared: TxnRc, pos: OwnedCursor) -> thunder_cursor {
        thunder_cursor { shared, pos: UnsafeCell::new(pos) }
    }

    /// Runs `f` on the transaction's slot and the position, both under the
    /// transaction's lock.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut TxnSlot, &mut OwnedCursor) -> Result<R>) -> Result<R> {
        let mut slot = self.shared.lock()?;
        // SAFETY: `pos` is reached only here, and only while `slot` (the
        // transaction's mutex guard) is held, so at most one thread holds this
        // reference at a time, however callers misuse the handle across
        // threads; it ends before the guard is dropped. Release drops the
        // cursor through its Box, which the C contract makes the last use.
        let pos = unsafe { &mut *self.pos.get() };
        f(&mut slot, pos)
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
    // SAFETY: forwarded contract.
    Ok(unsafe { &(*live::<T>(arg, p)?).handle })
}

/// The `Tagged<T>` behind `p`, checked: not NULL, its magic `T`'s, its
/// tag the pointer's.
///
/// # Safety
/// As for `get`.
unsafe fn live<T: Handle>(arg: &str, p: *const T) -> Result<*const Tagged<T>> {
    if p.is_null() {
        return Err(args::null(arg));
    }
    let (t, tag) = from_c::<T, T>(p);
    // SAFETY: every handle, of whatever type, is a live `Tagged<_>` per the
    // caller's contract, so its first 8 bytes are its magic, an `AtomicU64`
    // (`repr(C)`, offset 0) that is only ever accessed atomically.
    let magic = unsafe { &*t.cast::<AtomicU64>() }.load(Ordering::Relaxed);
    if magic != T::MAGIC {
        return Err(bad_handle::<T>(arg));
    }
    // SAFETY: the magic says `t` came from `into_raw::<T>` or
    // `txn_into_raw`: a live `Tagged<T>`, whose tag is never written after
    // it is made.
    if unsafe { (*t).tag } != tag {
        return Err(bad_handle::<T>(arg));
    }
    Ok(t)
}

/// Borrows the handle behind `p` mutably (options, never shared, and a
/// database being closed, which no other call may use).
///
/// # Safety
/// As for `get`, and no other reference to the handle may be in use.
pub(crate) unsafe fn get_mut<'a, T: Handle>(arg: &str, p: *mut T) -> Result<&'a mut T> {
    // SAFETY: forwarded contract; checks NULL, magic and tag.
    let t = unsafe { live(arg, p)? }.cast_mut();
    // SAFETY: checked above (a live `Tagged<T>`); exclusive per the caller's contract.
    Ok(unsafe { &mut (*t).handle })
}

/// Hands a new handle to C.
pub(crate) fn into_raw<T: Handle>(h: T) -> *mut T {
    let tag = next_tag();
    to_c(Box::into_raw(Box::new(Tagged::new(h, tag))), tag)
}

/// Hands a new transaction to C: the `Arc`'s first strong count. Inlined:
/// out of line, the transaction was built on the stack and copied in with
/// a memcpy (a tenth of a read transaction's begin, callgrind).
#[inline(always)]
pub(crate) fn txn_into_raw(slot: TxnSlot) -> *mut thunder_txn {
    let tag = next_tag();
    to_c(Arc::into_raw(Arc::new(Tagged::new(thunder_txn { slot: Mutex::new(slot) }, tag))).cast_mut(), tag)
}

/// A counted reference to the transaction behind `p`, for a bucket or
/// cursor opened in it.
///
/// # Safety
/// As for `get`.
pub(crate) unsafe fn share_txn(arg: &str, p: *const thunder_txn) -> Result<TxnRc> {
    // SAFETY: forwarded contract; checks NULL, magic and tag.
    let p = unsafe { live(arg, p)? };
    // SAFETY: a live transaction handle is a pointer from `Arc::into_raw`
    // (`txn_into_raw`) whose count C still holds, so the count is at least
    // one while it is incremented.
    unsafe { Arc::increment_strong_count(p) };
    // SAFETY: the same pointer; the count just added is the returned Arc's.
    Ok(TxnRc(unsafe { Arc::from_raw(p) }))
}

/// Takes back C's count of a transaction, for commit or abort; None for NULL.
///
/// # Safety
/// As for `get`; the pointer is dangling for C afterwards.
pub(crate) unsafe fn release_txn(arg: &str, p: *mut thunder_txn) -> Result<Option<TxnRc>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: checks magic and tag of a live handle per the caller's contract.
    let p = unsafe { live::<thunder_txn>(arg, p)? };
    // SAFETY: a live `Tagged<thunder_txn>` from `txn_into_raw`. The magic is
    // cleared first so a second release is caught while buckets or cursors
    // keep the allocation alive (and by the tag once a new transaction
    // reuses the address).
    unsafe { (*p).magic.store(DEAD, Ordering::Relaxed) };
    // SAFETY: the pointer came from `Arc::into_raw` and C's count is taken
    // back once: the magic check above refuses a second release.
    Ok(Some(TxnRc(unsafe { Arc::from_raw(p) })))
}

/// Takes back a handle for release; None for NULL.
///
/// # Safety
/// As for `get`; the pointer is dangling afterwards.
pub(crate) unsafe fn release<T: Handle>(arg: &str, p: *mut T) -> Result<Option<T>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: checks magic and tag of a live handle per the caller's contract.
    let p = unsafe { live::<T>(arg, p)? }.cast_mut();
    // SAFETY: a live `Tagged<T>` from `into_raw`. The magic is cleared first
    // so a second release is caught (by the tag once the memory is reused
    // by a handle of the same type).
    unsafe { (*p).magic.store(DEAD, Ordering::Relaxed) };
    // SAFETY: the pointer came from `Box::into_raw` and is released only once.
    Ok(Some(unsafe { Box::from_raw(p) }.handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the magic used to be a field of each handle struct, at
    /// offset 8 of a transaction and 64 of a bucket, cursor or options, so
    /// checking a small handle passed as a large one read out of bounds.
    #[test]
    fn the_magic_is_at_offset_zero_of_every_handle() {
        assert_eq!(std::mem::offset_of!(Tagged<thunder_db>, magic), 0);
        assert_eq!(std::mem::offset_of!(Tagged<thunder_db>, tag), 8);
        assert_eq!(std::mem::offset_of!(Tagged<thunder_options>, magic), 0);
        assert_eq!(std::mem::offset_of!(Tagged<thunder_txn>, magic), 0);
        assert_eq!(std::mem::offset_of!(Tagged<thunder_bucket>, magic), 0);
        assert_eq!(std::mem::offset_of!(Tagged<thunder_cursor>, magic), 0);
    }

    /// Bug: a released transaction's handle, used again once a new
    /// transaction had the same address, passed the magic check and acted
    /// on the new transaction (a second commit of t1 committed t2). The tag
    /// in the pointer tells them apart.
    #[test]
    fn a_released_handle_is_refused_when_a_new_one_reuses_its_address() {
        let stale = txn_into_raw(TxnSlot::Closed);
        // SAFETY: `stale` is live until released here; afterwards it is only
        // checked, and its address is taken by a live handle of the same
        // type before each check (the test's premise).
        unsafe {
            drop(release_txn("txn", stale).unwrap());
            let mut made = Vec::new();
            // The allocator hands the freed block back at once, unless a
            // test on another thread of this process takes it first.
            let same = loop {
                let t = txn_into_raw(TxnSlot::Closed);
                if from_c::<thunder_txn, _>(t).0 == from_c::<thunder_txn, _>(stale).0 {
                    break Some(t);
                }
                made.push(t);
                if made.len() == 1024 {
                    println!("SKIP the reuse: the allocator gave the address to another thread");
                    break None;
                }
            };
            let err = get::<thunder_txn>("txn", stale).unwrap_err();
            assert!(err.to_string().contains("not a live thunder_txn"), "{err}");
            assert!(release_txn("txn", stale).is_err(), "a stale handle does not release the new one");
            if let Some(same) = same {
                assert!(get::<thunder_txn>("txn", same).is_ok());
            }
            for t in made.into_iter().chain(same) {
                drop(release_txn("txn", t).unwrap());
            }
            // The same for a boxed handle.
            let o = into_raw(thunder_options::new());
            release::<thunder_options>("o", o).unwrap();
            let o2 = into_raw(thunder_options::new());
            if from_c::<thunder_options, _>(o2).0 == from_c::<thunder_options, _>(o).0 {
                assert!(get::<thunder_options>("o", o).is_err());
            }
            release::<thunder_options>("o", o2).unwrap();
        }
    }

    #[test]
    fn a_handle_of_another_type_is_rejected_and_survives() {
        let o = into_raw(thunder_options::new());
        // SAFETY: `o` is a live handle; it is checked as the wrong types.
        unsafe {
            let err = get::<thunder_cursor>("c", o.cast()).unwrap_err();
            assert!(err.to_string().contains("`c` is not a live thunder_cursor"), "{err}");
            assert!(release::<thunder_txn>("txn", o.cast()).is_err());
            assert!(get_mut::<thunder_options>("o", o).is_ok());
            assert!(release::<thunder_options>("o", o).unwrap().is_some());
        }
    }

    /// A transaction is one `Arc` shared by C and its buckets and cursors:
    /// sharing counts, release takes back C's count once, and the released
    /// handle, still allocated while a cursor holds it, is refused.
    #[test]
    fn a_transaction_handle_is_shared_and_released_once() {
        let t = txn_into_raw(TxnSlot::Closed);
        // SAFETY: `t` is live until its release below; after it, the cursor's
        // count keeps the allocation alive for the checks that follow.
        unsafe {
            let held = share_txn("txn", t).unwrap();
            let arc = |r: &TxnRc| Arc::strong_count(&r.0);
            assert_eq!(arc(&held), 2);
            let released = release_txn("txn", t).unwrap().unwrap();
            assert_eq!(arc(&held), 2, "C's count, now in `released`");
            assert!(get::<thunder_txn>("txn", t).unwrap_err().to_string().contains("not a live thunder_txn"));
            assert!(release_txn("txn", t).is_err(), "a second release is refused");
            assert!(share_txn("txn", t).is_err());
            drop(released);
            assert_eq!(arc(&held), 1);
            assert!(matches!(held.close(), (TxnSlot::Closed, false)));
        }
    }
}
