//! thunder_txn: begin, commit, abort, and the default keyspace.
#![allow(unsafe_code, non_camel_case_types)]

use crate::error::Error;
use crate::ffi::access::{self, thunder_bytes};
use crate::ffi::args;
use crate::ffi::guard::{guard, guard_value};
use crate::ffi::handles::{self, thunder_db, thunder_txn, TxnSlot};
use crate::ffi::status::thunder_status;

/// Transaction mode, one of THUNDER_TXN_*.
pub type thunder_txn_mode = u32;
/// A read transaction: a snapshot of the last commit.
pub const THUNDER_TXN_READ: thunder_txn_mode = 0;
/// The write transaction; blocks while another one is open.
pub const THUNDER_TXN_WRITE: thunder_txn_mode = 1;
/// The write transaction; THUNDER_BUSY instead of blocking.
pub const THUNDER_TXN_WRITE_NOWAIT: thunder_txn_mode = 2;

/// Begins a transaction. Any number of read transactions run alongside the
/// one write transaction; neither blocks the other. A write transaction
/// may move to another thread, but only the thread that began it is known
/// as its holder: on the thread it moved to, a blocking write begin waits
/// for it to end, which is for itself (as does thunder_sync() without a
/// write-ahead log under THUNDER_SYNC_BATCHED or THUNDER_SYNC_NONE).
///
/// @param db borrowed for the call: the database.
/// @param mode THUNDER_TXN_READ, THUNDER_TXN_WRITE or THUNDER_TXN_WRITE_NOWAIT.
/// @param out out (written on success, set to NULL on failure): the
/// transaction; owned by the caller, released by thunder_txn_commit() or
/// thunder_txn_abort() (exactly one of them, once).
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`db` or `out` NULL, unknown
/// mode); THUNDER_BUSY (NOWAIT and another write transaction is open, or
/// this thread began the open write transaction); THUNDER_READ_ONLY (write
/// on a read-only database); THUNDER_IO (the database refuses writes after a
/// failed fsync); THUNDER_CORRUPTED (the first write transaction after open
/// found the freelist and the tree damaged); THUNDER_INTERNAL.
///
/// # Safety
/// `db` must be NULL or a live database handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn thunder_txn_begin(
    db: *mut thunder_db,
    mode: thunder_txn_mode,
    out: *mut *mut thunder_txn,
) -> thunder_status {
    // SAFETY: `out` is NULL or writable.
    unsafe { args::write_opt(out, std::ptr::null_mut()) };
    guard("thunder_txn_begin", || {
        // SAFETY: forwarded contract.
        let db = unsafe { handles::get("db", db)? };
        if out.is_null() {
            return Err(args::null("out"));
        }
        let slot = match mode {
            THUNDER_TXN_READ => TxnSlot::Read(db.db()?.begin_read()?),
            THUNDER_TXN_WRITE => TxnSlot::Write(Box::new(db.db()?.begin_write()?)),
            THUNDER_TXN_WRITE_NOWAIT => TxnSlot::Write(Box::new(db.db()?.try_begin_write()?)),
            _ => return Err(Error::invalid(format!("argument `mode`: unknown transaction mode {mode}"))),
        };
        // SAFETY: checked non-NULL above.
        unsafe { out.write(handles::txn_into_raw(slot)) };
        Ok(())
    })
}

/// Commits a write transaction (durably under THUNDER_SYNC_FULL) or ends a
/// read transaction. Always releases the transaction: after a failed commit
/// it has rolled back. A write transaction without changes commits without
/// using a txid.
///
/// @param txn consumed: the transaction.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`txn` NULL or not a
/// transaction: nothing released); THUNDER_IO, THUNDER_NO_SPACE,
/// THUNDER_CORRUPTED, THUNDER_NO_MEMORY, THUNDER_INTERNAL (the commit failed,
/// or the transaction had failed earlier with that status: rolled back).
///
/// # Safety
/// `txn` must be NULL or a live transaction handle no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn thunder_txn_commit(txn: *mut thunder_txn) -> thunder_status {
    guard("thunder_txn_commit", || {
        // SAFETY: forwarded contract.
        let h = unsafe { handles::release_txn("txn", txn)? }.ok_or_else(|| args::null("txn"))?;
        match h.close() {
            (_, true) => {
                Err(Error::Internal("the transaction failed on an earlier internal error; rolled back".into()))
            }
            (TxnSlot::Write(tx), false) => tx.commit(),
            (TxnSlot::Read(_) | TxnSlot::Closed, false) => Ok(()),
        }
    })
}

/// Ends a transaction, discarding a write transaction's changes.
///
/// @param txn consumed: the transaction; NULL is fine.
///
/// # Safety
/// `txn` must be NULL or a live transaction handle no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn thunder_txn_abort(txn: *mut thunder_txn) {
    guard("thunder_txn_abort", || {
        // SAFETY: forwarded contract.
        if let Some(h) = unsafe { handles::release_txn("txn", txn)? } {
            drop(h.close().0);
        }
        Ok(())
    });
}

/// The transaction's id: for a write transaction the txid its commit will get
/// (last txid + 1), for a read transaction the txid of its snapshot.
///
/// @param txn borrowed for the call: the transaction.
///
/// @return the id; 0 when `txn` is NULL or not a live transaction.
///
/// # Safety
/// `txn` must be NULL or a live transaction handle.
#[no_mangle]
pub unsafe extern "C" fn thunder_txn_id(txn: *const thunder_txn) -> u64 {
    guard_value("thunder_txn_id", 0, || {
        // SAFETY: forwarded contract.
        let h = unsafe { handles::get("txn", txn)? };
        // The kept puts are left as they are: the id does not depend on
        // them, and this call has no status to report their failure with.
        Ok(match &*h.lock_as_is()? {
            TxnSlot::Read(tx) => tx.id(),
            TxnSlot::Write(tx) => tx.id(),
            TxnSlot::Closed => 0,
        })
    })
}

/// Looks up `key` in the default keyspace.
///
/// @param txn borrowed for the call: the transaction.
/// @param key borrowed for the call: the key, `key_len` bytes (1 or more).
/// @param key_len its length.
/// @param val out (written on success): a view of the value, owned by the
/// database, valid until the transaction ends or, in a write transaction,
/// until its next modifying call; never free it.
///
/// @return THUNDER_OK; THUNDER_NOT_FOUND; THUNDER_INVALID_ARGUMENT (NULL
/// argument, empty key); THUNDER_KEY_TOO_LARGE; THUNDER_CORRUPTED (the page
/// holding it is damaged, or, in a write transaction, one that a plain put
/// it kept goes to: see thunder_put()); THUNDER_IO, THUNDER_NO_SPACE,
/// THUNDER_NO_MEMORY, THUNDER_INTERNAL (a write transaction that failed
/// earlier, or now applying its plain puts: see thunder_put());
/// THUNDER_INTERNAL.
///
/// # Safety
/// `txn` must be NULL or a live transaction handle; `key` NULL or `key_len`
/// readable bytes; `val` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn thunder_get(
    txn: *mut thunder_txn,
    key: *const u8,
    key_len: usize,
    val: *mut thunder_bytes,
) -> thunder_status {
    guard("thunder_get", || {
        // SAFETY: forwarded contracts.
        let (h, key) = unsafe { (handles::get("txn", txn)?, args::key("key", key, key_len)?) };
        // SAFETY: `val` is NULL or writable per the contract.
        unsafe { access::get_into(h, None, key, val) }
    })
}

/// Looks up `key` in the default keyspace and returns a copy of its value.
///
/// @param txn borrowed for the call: the transaction.
/// @param key borrowed for the call: the key, `key_len` bytes (1 or more).
/// @param key_len its length.
/// @param val out (written on success): the copy; owned by the caller, free
/// with thunder_free() (never NULL on success, also for an empty value).
/// @param val_len out (written on success): its length.
///
/// @return as thunder_get(), plus THUNDER_NO_MEMORY.
///
/// # Safety
/// `txn` must be NULL or a live transaction handle; `key` NULL or `key_len`
/// readable bytes; `val` and `val_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn thunder_get_copy(
    txn: *mut thunder_txn,
    key: *const u8,
    key_len: usize,
    val: *mut *mut u8,
    val_len: *mut usize,
) -> thunder_status {
    guard("thunder_get_copy", || {
        // SAFETY: forwarded contracts.
        let (h, key) = unsafe { (handles::get("txn", txn)?, args::key("key", key, key_len)?) };
        // SAFETY: `val` and `val_len` are NULL or writable per the contract.
        unsafe { access::get_copy_into(h, None, key, val, val_len) }
    })
}

/// Stores `val` under `key` in the default keyspace.
///
/// A plain put (flags 0) of a value up to the overflow threshold is checked
/// at once but may be applied later, together with the plain puts after it,
/// in key order (so that a bulk load of keys in random order touches its
/// pages in order); the transaction's next other call applies them first,
/// and sees them. A failure applying them (THUNDER_NO_SPACE, THUNDER_IO,
/// THUNDER_CORRUPTED, THUNDER_NO_MEMORY, THUNDER_INTERNAL) is returned by
/// the call that applied them, a later put or the commit included, and
/// fails the transaction.
///
/// @param txn borrowed for the call: a write transaction.
/// @param key borrowed for the call: the key, 1 to thunder_max_key_size() bytes.
/// @param key_len its length.
/// @param val borrowed for the call: the value, 0 to 4 GiB - 1 bytes (NULL
/// when `val_len` is 0).
/// @param val_len its length.
/// @param flags 0, or THUNDER_PUT_NO_OVERWRITE and/or THUNDER_PUT_APPEND.
///
/// @return THUNDER_OK; THUNDER_KEY_EXISTS (NO_OVERWRITE and the key is
/// present); THUNDER_INVALID_ARGUMENT (NULL argument, empty key, unknown flag
/// bits, APPEND with a key not greater than the last); THUNDER_KEY_TOO_LARGE;
/// THUNDER_VALUE_TOO_LARGE; THUNDER_READ_ONLY (read transaction);
/// THUNDER_NO_SPACE (disk full or max size reached); THUNDER_IO;
/// THUNDER_CORRUPTED; THUNDER_NO_MEMORY; THUNDER_INTERNAL. The last five fail
/// the transaction: every later call on it returns the same status.
///
/// # Safety
/// `txn` must be NULL or a live transaction handle; `key` and `val` NULL or
/// readable for their lengths.
#[no_mangle]
pub unsafe extern "C" fn thunder_put(
    txn: *mut thunder_txn,
    key: *const u8,
    key_len: usize,
    val: *const u8,
    val_len: usize,
    flags: u32,
) -> thunder_status {
    guard("thunder_put", || {
        // SAFETY: forwarded contracts.
        let (h, key, val) =
            unsafe { (handles::get("txn", txn)?, args::key("key", key, key_len)?, args::bytes("val", val, val_len)?) };
        access::put(h, None, key, val, flags)
    })
}

/// Deletes `key` from the default keyspace.
///
/// @param txn borrowed for the call: a write transaction.
/// @param key borrowed for the call: the key.
/// @param key_len its length.
///
/// @return THUNDER_OK; THUNDER_NOT_FOUND (absent); THUNDER_INVALID_ARGUMENT
/// (NULL argument, empty key); THUNDER_KEY_TOO_LARGE; THUNDER_READ_ONLY;
/// THUNDER_IO, THUNDER_NO_SPACE, THUNDER_CORRUPTED, THUNDER_NO_MEMORY,
/// THUNDER_INTERNAL (these fail the transaction).
///
/// # Safety
/// `txn` must be NULL or a live transaction handle; `key` NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn thunder_delete(txn: *mut thunder_txn, key: *const u8, key_len: usize) -> thunder_status {
    guard("thunder_delete", || {
        // SAFETY: forwarded contracts.
        let (h, key) = unsafe { (handles::get("txn", txn)?, args::key("key", key, key_len)?) };
        access::delete(h, None, key)
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::{CStr, CString};
    use std::ptr::null_mut;

    use crate::ffi::guard::guard;
    use crate::ffi::handles;
    use crate::ffi::*;

    /// A panic in an export's body while it holds its transaction (as every
    /// call on a transaction does) is THUNDER_INTERNAL with a message naming
    /// the function; the transaction is failed from then on: every call on
    /// it is THUNDER_INTERNAL, commit rolls back, and the writer is free.
    #[test]
    fn a_panic_in_an_export_fails_its_transaction_and_commit_rolls_back() {
        use thunder_status::{THUNDER_INTERNAL, THUNDER_NOT_FOUND, THUNDER_OK};
        let dir = tempfile::tempdir().unwrap();
        let path = CString::new(dir.path().join("panic.db").to_str().unwrap()).unwrap();
        // SAFETY: every call gets live handles and valid buffers.
        unsafe {
            let (mut db, mut w) = (null_mut(), null_mut());
            assert_eq!(thunder_open(path.as_ptr(), std::ptr::null(), &mut db), THUNDER_OK);
            assert_eq!(thunder_txn_begin(db, THUNDER_TXN_WRITE, &mut w), THUNDER_OK);
            assert_eq!(thunder_put(w, b"k".as_ptr(), 1, b"v".as_ptr(), 1, 0), THUNDER_OK);
            let h = handles::get("txn", w).unwrap();
            let status = guard("thunder_planted", || {
                let _slot = h.lock()?;
                panic!("planted panic");
            });
            assert_eq!(status, THUNDER_INTERNAL);
            let msg = CStr::from_ptr(thunder_last_error()).to_str().unwrap();
            assert!(msg.starts_with("thunder_planted:") && msg.contains("planted panic"), "{msg}");

            let mut v = thunder_bytes { data: std::ptr::null(), len: 0 };
            assert_eq!(thunder_get(w, b"k".as_ptr(), 1, &mut v), THUNDER_INTERNAL);
            assert_eq!(thunder_put(w, b"x".as_ptr(), 1, b"v".as_ptr(), 1, 0), THUNDER_INTERNAL);
            let mut c = null_mut();
            assert_eq!(thunder_cursor_open(w, null_mut(), &mut c), THUNDER_INTERNAL);
            assert_eq!(thunder_txn_commit(w), THUNDER_INTERNAL);

            assert_eq!(thunder_txn_begin(db, THUNDER_TXN_WRITE_NOWAIT, &mut w), THUNDER_OK, "writer not released");
            assert_eq!(thunder_get(w, b"k".as_ptr(), 1, &mut v), THUNDER_NOT_FOUND, "the failed commit landed");
            thunder_txn_abort(w);
            assert_eq!(thunder_check(db), THUNDER_OK);
            assert_eq!(thunder_close(db), THUNDER_OK);
        }
    }
}
