//! thunder_bucket: named, nestable keyspaces.
#![allow(unsafe_code, non_camel_case_types)]

use crate::error::{Error, Result};
use crate::ffi::access::{self, thunder_bytes};
use crate::ffi::args;
use crate::ffi::guard::guard;
use crate::ffi::handles::{self, closed, thunder_bucket, thunder_txn, TxnSlot};
use crate::ffi::status::thunder_status;
use crate::Bucket;

/// The parent bucket a call names, which must belong to `txn`.
///
/// # Safety
/// `parent` must be NULL or a live bucket handle.
pub(crate) unsafe fn parent_of(txn: &thunder_txn, parent: *const thunder_bucket) -> Result<Option<Bucket>> {
    if parent.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    let p = unsafe { handles::get("parent", parent)? };
    if !std::ptr::eq(&*p.shared, txn) {
        // A handle of an ended transaction is closed, whatever it is passed to.
        if matches!(*p.shared.lock_as_is()?, TxnSlot::Closed) {
            return Err(Error::TxnClosed("argument `parent`: its transaction was committed or aborted"));
        }
        return Err(Error::invalid("argument `parent` belongs to another transaction"));
    }
    Ok(Some(p.bucket))
}

enum Open {
    Existing,
    Create,
    CreateIfMissing,
}

/// The body of the three bucket-opening functions.
///
/// # Safety
/// As for thunder_bucket_open().
unsafe fn open(
    txn: *mut thunder_txn,
    parent: *mut thunder_bucket,
    name: *const u8,
    name_len: usize,
    out: *mut *mut thunder_bucket,
    how: Open,
) -> Result<()> {
    // SAFETY: forwarded contract. The bucket keeps the counted reference.
    let t = unsafe { handles::share_txn("txn", txn)? };
    // SAFETY: forwarded contract.
    let name = unsafe { args::bytes("name", name, name_len)? };
    // SAFETY: forwarded contract.
    let parent = unsafe { parent_of(&t, parent)? };
    if out.is_null() {
        return Err(args::null("out"));
    }
    let name = access::detach(name);
    let name = &*name;
    let b = {
        let mut slot = t.lock()?;
        match (&mut *slot, how) {
            (TxnSlot::Closed, _) => return Err(closed()),
            (TxnSlot::Read(tx), Open::Existing) => tx.bucket(parent.as_ref(), name)?,
            (TxnSlot::Write(tx), Open::Existing) => tx.bucket(parent.as_ref(), name)?,
            (TxnSlot::Read(_), _) => return Err(Error::ReadOnly("bucket creation in a read transaction")),
            (TxnSlot::Write(tx), Open::Create) => Some(tx.create_bucket(parent.as_ref(), name)?),
            (TxnSlot::Write(tx), Open::CreateIfMissing) => Some(tx.create_bucket_if_missing(parent.as_ref(), name)?),
        }
    };
    let b = b.ok_or_else(|| Error::BucketNotFound { name: crate::error::show_bytes(name) })?;
    // SAFETY: checked non-NULL above.
    unsafe { out.write(handles::into_raw(thunder_bucket::new(t, b))) };
    Ok(())
}

/// Creates child bucket `name` of `parent` (NULL: a top-level bucket).
///
/// @param txn borrowed for the call: a write transaction.
/// @param parent borrowed for the call: a bucket of `txn`, or NULL.
/// @param name borrowed for the call: the name, 1 to 255 bytes.
/// @param name_len its length.
/// @param out out (written on success, set to NULL on failure): the bucket;
/// owned by the caller, release with thunder_bucket_close() (also valid after
/// the transaction ended).
///
/// @return THUNDER_OK; THUNDER_BUCKET_EXISTS; THUNDER_INVALID_ARGUMENT (NULL
/// argument, name empty or over 255 bytes, `parent` of another open
/// transaction, `txn` already committed or aborted: released);
/// THUNDER_TXN_CLOSED (the transaction of `parent` ended); THUNDER_BUCKET_NOT_FOUND (`parent` was deleted); THUNDER_READ_ONLY (read
/// transaction); THUNDER_IO, THUNDER_NO_SPACE, THUNDER_CORRUPTED,
/// THUNDER_NO_MEMORY, THUNDER_INTERNAL (these fail the transaction).
///
/// # Safety
/// `txn` must be NULL or a live transaction handle, `parent` NULL or a live
/// bucket handle, `name` NULL or readable for `name_len`, `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn thunder_bucket_create(
    txn: *mut thunder_txn,
    parent: *mut thunder_bucket,
    name: *const u8,
    name_len: usize,
    out: *mut *mut thunder_bucket,
) -> thunder_status {
    // SAFETY: `out` is NULL or writable.
    unsafe { args::write_opt(out, std::ptr::null_mut()) };
    // SAFETY: forwarded contract.
    guard("thunder_bucket_create", || unsafe { open(txn, parent, name, name_len, out, Open::Create) })
}

/// Opens child bucket `name` of `parent`, creating it if missing.
///
/// @param txn borrowed for the call: a write transaction.
/// @param parent borrowed for the call: a bucket of `txn`, or NULL.
/// @param name borrowed for the call: the name, 1 to 255 bytes.
/// @param name_len its length.
/// @param out out (written on success, set to NULL on failure): the bucket;
/// owned by the caller, release with thunder_bucket_close().
///
/// @return as thunder_bucket_create(), except THUNDER_BUCKET_EXISTS.
///
/// # Safety
/// As for thunder_bucket_create().
#[no_mangle]
pub unsafe extern "C" fn thunder_bucket_create_if_missing(
    txn: *mut thunder_txn,
    parent: *mut thunder_bucket,
    name: *const u8,
    name_len: usize,
    out: *mut *mut thunder_bucket,
) -> thunder_status {
    // SAFETY: `out` is NULL or writable.
    unsafe { args::write_opt(out, std::ptr::null_mut()) };
    // SAFETY: forwarded contract.
    guard("thunder_bucket_create_if_missing", || unsafe {
        open(txn, parent, name, name_len, out, Open::CreateIfMissing)
    })
}

/// Opens child bucket `name` of `parent` (NULL: a top-level bucket).
///
/// @param txn borrowed for the call: a read or write transaction.
/// @param parent borrowed for the call: a bucket of `txn`, or NULL.
/// @param name borrowed for the call: the name, 1 to 255 bytes.
/// @param name_len its length.
/// @param out out (written on success, set to NULL on failure): the bucket;
/// owned by the caller, release with thunder_bucket_close().
///
/// @return THUNDER_OK; THUNDER_BUCKET_NOT_FOUND; THUNDER_INVALID_ARGUMENT (NULL
/// argument, bad name, `parent` of another open transaction, `txn` already
/// committed or aborted: released); THUNDER_TXN_CLOSED (the transaction of
/// `parent` ended);
/// THUNDER_CORRUPTED;
/// THUNDER_IO, THUNDER_NO_SPACE, THUNDER_NO_MEMORY, THUNDER_INTERNAL (a write
/// transaction that failed earlier, or now applying its plain puts: see
/// thunder_put()); THUNDER_INTERNAL.
///
/// # Safety
/// As for thunder_bucket_create().
#[no_mangle]
pub unsafe extern "C" fn thunder_bucket_open(
    txn: *mut thunder_txn,
    parent: *mut thunder_bucket,
    name: *const u8,
    name_len: usize,
    out: *mut *mut thunder_bucket,
) -> thunder_status {
    // SAFETY: `out` is NULL or writable.
    unsafe { args::write_opt(out, std::ptr::null_mut()) };
    // SAFETY: forwarded contract.
    guard("thunder_bucket_open", || unsafe { open(txn, parent, name, name_len, out, Open::Existing) })
}

/// Deletes child bucket `name` of `parent` with all its keys and nested
/// buckets; their pages are freed. Open handles of deleted buckets report
/// THUNDER_BUCKET_NOT_FOUND from then on.
///
/// @param txn borrowed for the call: a write transaction.
/// @param parent borrowed for the call: a bucket of `txn`, or NULL.
/// @param name borrowed for the call: the name.
/// @param name_len its length.
///
/// @return THUNDER_OK; THUNDER_BUCKET_NOT_FOUND; THUNDER_INVALID_ARGUMENT
/// (NULL argument, bad name, `parent` of another open transaction, `txn`
/// already committed or aborted: released); THUNDER_TXN_CLOSED (the
/// transaction of `parent` ended);
/// THUNDER_READ_ONLY; THUNDER_IO, THUNDER_NO_SPACE, THUNDER_CORRUPTED,
/// THUNDER_NO_MEMORY, THUNDER_INTERNAL (these fail the transaction).
///
/// # Safety
/// `txn` must be NULL or a live transaction handle, `parent` NULL or a live
/// bucket handle, `name` NULL or readable for `name_len`.
#[no_mangle]
pub unsafe extern "C" fn thunder_bucket_delete(
    txn: *mut thunder_txn,
    parent: *mut thunder_bucket,
    name: *const u8,
    name_len: usize,
) -> thunder_status {
    guard("thunder_bucket_delete", || {
        // SAFETY: forwarded contracts.
        let (t, name) = unsafe { (handles::get("txn", txn)?, args::bytes("name", name, name_len)?) };
        // SAFETY: forwarded contract.
        let parent = unsafe { parent_of(t, parent)? };
        t.lock()?.write()?.delete_bucket(parent.as_ref(), &access::detach(name))
    })
}

/// Releases a bucket handle (at any time, also after its transaction ended).
///
/// @param b consumed: the bucket; NULL is fine.
///
/// # Safety
/// `b` must be NULL or a live bucket handle no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn thunder_bucket_close(b: *mut thunder_bucket) {
    guard("thunder_bucket_close", || {
        // SAFETY: forwarded contract.
        drop(unsafe { handles::release("b", b)? });
        Ok(())
    });
}

/// Looks up `key` in bucket `b`; as thunder_get().
///
/// @param b borrowed for the call: the bucket.
/// @param key borrowed for the call: the key.
/// @param key_len its length.
/// @param val out (written on success): a view of the value; valid as for thunder_get().
///
/// @return as thunder_get(), plus THUNDER_TXN_CLOSED (the transaction ended)
/// and THUNDER_BUCKET_NOT_FOUND (the bucket was deleted).
///
/// # Safety
/// `b` must be NULL or a live bucket handle; `key` NULL or readable; `val` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn thunder_bucket_get(
    b: *mut thunder_bucket,
    key: *const u8,
    key_len: usize,
    val: *mut thunder_bytes,
) -> thunder_status {
    guard("thunder_bucket_get", || {
        // SAFETY: forwarded contracts.
        let (h, key) = unsafe { (handles::get("b", b)?, args::key("key", key, key_len)?) };
        // SAFETY: `val` is NULL or writable per the contract.
        unsafe { access::get_into(&h.shared, Some(&h.bucket), key, val) }
    })
}

/// Looks up `key` in bucket `b` and returns a copy; as thunder_get_copy().
///
/// @param b borrowed for the call: the bucket.
/// @param key borrowed for the call: the key.
/// @param key_len its length.
/// @param val out (written on success): the copy; owned by the caller, free with thunder_free().
/// @param val_len out (written on success): its length.
///
/// @return as thunder_bucket_get(), plus THUNDER_NO_MEMORY.
///
/// # Safety
/// `b` must be NULL or a live bucket handle; `key` NULL or readable; `val`
/// and `val_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn thunder_bucket_get_copy(
    b: *mut thunder_bucket,
    key: *const u8,
    key_len: usize,
    val: *mut *mut u8,
    val_len: *mut usize,
) -> thunder_status {
    guard("thunder_bucket_get_copy", || {
        // SAFETY: forwarded contracts.
        let (h, key) = unsafe { (handles::get("b", b)?, args::key("key", key, key_len)?) };
        // SAFETY: `val` and `val_len` are NULL or writable per the contract.
        unsafe { access::get_copy_into(&h.shared, Some(&h.bucket), key, val, val_len) }
    })
}

/// Stores `val` under `key` in bucket `b`; as thunder_put() (a plain put
/// may be applied later, as there).
///
/// @param b borrowed for the call: a bucket of a write transaction.
/// @param key borrowed for the call: the key.
/// @param key_len its length.
/// @param val borrowed for the call: the value (NULL when `val_len` is 0).
/// @param val_len its length.
/// @param flags as for thunder_put().
///
/// @return as thunder_put(), plus THUNDER_TXN_CLOSED and THUNDER_BUCKET_NOT_FOUND.
///
/// # Safety
/// `b` must be NULL or a live bucket handle; `key` and `val` NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn thunder_bucket_put(
    b: *mut thunder_bucket,
    key: *const u8,
    key_len: usize,
    val: *const u8,
    val_len: usize,
    flags: u32,
) -> thunder_status {
    guard("thunder_bucket_put", || {
        // SAFETY: forwarded contracts.
        let (h, key, val) =
            unsafe { (handles::get("b", b)?, args::key("key", key, key_len)?, args::bytes("val", val, val_len)?) };
        access::put(&h.shared, Some(&h.bucket), key, val, flags)
    })
}

/// Deletes `key` from bucket `b`; as thunder_delete().
///
/// @param b borrowed for the call: a bucket of a write transaction.
/// @param key borrowed for the call: the key.
/// @param key_len its length.
///
/// @return as thunder_delete(), plus THUNDER_TXN_CLOSED and THUNDER_BUCKET_NOT_FOUND.
///
/// # Safety
/// `b` must be NULL or a live bucket handle; `key` NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn thunder_bucket_delete_key(
    b: *mut thunder_bucket,
    key: *const u8,
    key_len: usize,
) -> thunder_status {
    guard("thunder_bucket_delete_key", || {
        // SAFETY: forwarded contracts.
        let (h, key) = unsafe { (handles::get("b", b)?, args::key("key", key, key_len)?) };
        access::delete(&h.shared, Some(&h.bucket), key)
    })
}

/// Increments and returns bucket `b`'s persisted sequence: 1 on the first
/// call; an abort rolls it back; a re-created bucket starts again at 1.
///
/// @param b borrowed for the call: a bucket of a write transaction.
/// @param out out (written on success): the new value.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (NULL argument, sequence
/// exhausted); THUNDER_READ_ONLY (read transaction); THUNDER_TXN_CLOSED;
/// THUNDER_BUCKET_NOT_FOUND; THUNDER_IO, THUNDER_NO_SPACE, THUNDER_CORRUPTED,
/// THUNDER_NO_MEMORY, THUNDER_INTERNAL (a transaction that failed earlier,
/// or now applying its plain puts: see thunder_put()).
///
/// # Safety
/// `b` must be NULL or a live bucket handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn thunder_bucket_next_sequence(b: *mut thunder_bucket, out: *mut u64) -> thunder_status {
    guard("thunder_bucket_next_sequence", || {
        // SAFETY: forwarded contract.
        let h = unsafe { handles::get("b", b)? };
        if out.is_null() {
            return Err(args::null("out"));
        }
        let seq = h.shared.lock()?.write()?.next_sequence(&h.bucket)?;
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { out.write(seq) };
        Ok(())
    })
}
