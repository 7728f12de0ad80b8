//! thunder_cursor: ordered movement over a keyspace or a bucket's children.
#![allow(unsafe_code, non_camel_case_types)]

use crate::error::{Error, Result};
use crate::ffi::access::thunder_bytes;
use crate::ffi::args;
use crate::ffi::bucket::parent_of;
use crate::ffi::guard::guard;
use crate::ffi::handles::{self, closed, thunder_bucket, thunder_cursor, thunder_txn, TxnSlot};
use crate::ffi::status::thunder_status;
use crate::{Bucket, OwnedCursor};

/// Which tree a C cursor walks.
#[derive(Copy, Clone, Debug)]
enum Over {
    Keys,
    BucketNames,
}

/// A cursor movement.
#[derive(Copy, Clone, Debug)]
enum Move<'k> {
    First,
    Last,
    Next,
    Prev,
    Seek(&'k [u8]),
}

/// The body of the two cursor-opening functions.
///
/// # Safety
/// As for thunder_cursor_open().
unsafe fn open(
    txn: *mut thunder_txn,
    bucket: *mut thunder_bucket,
    over: Over,
    out: *mut *mut thunder_cursor,
) -> Result<()> {
    // SAFETY: forwarded contract. The cursor keeps the counted reference.
    let t = unsafe { handles::share_txn("txn", txn)? };
    // SAFETY: forwarded contract.
    let bucket = unsafe { parent_of(&t, bucket)? };
    if out.is_null() {
        return Err(args::null("out"));
    }
    // A failed transaction or a deleted bucket is reported here rather than
    // by the first move.
    let pos = match &*t.lock()? {
        TxnSlot::Read(tx) => open_over(tx, bucket.as_ref(), over)?,
        TxnSlot::Write(tx) => open_over(&**tx, bucket.as_ref(), over)?,
        TxnSlot::Closed => return Err(closed()),
    };
    let c = thunder_cursor::new(t, pos);
    // SAFETY: checked non-NULL above.
    unsafe { out.write(handles::into_raw(c)) };
    Ok(())
}

fn open_over<T: crate::txn::TxCore>(tx: &T, bucket: Option<&Bucket>, over: Over) -> Result<OwnedCursor> {
    match over {
        Over::Keys => OwnedCursor::keys(tx, bucket),
        Over::BucketNames => OwnedCursor::bucket_names(tx, bucket),
    }
}

/// Opens a cursor over the keys of `bucket` (NULL: the default keyspace). A
/// fresh cursor is unpositioned: next acts as first, prev as last. In a write
/// transaction it sees the transaction's changes and stays ordered across
/// changes made through other calls.
///
/// @param txn borrowed for the call: the transaction.
/// @param bucket borrowed for the call: a bucket of `txn`, or NULL.
/// @param out out (written on success, set to NULL on failure): the cursor;
/// owned by the caller, release with thunder_cursor_close() (also valid after
/// the transaction ended).
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (NULL `txn`/`out`, `bucket` of
/// another transaction, `txn` already committed or aborted: released);
/// THUNDER_TXN_CLOSED (the transaction of `bucket` ended); THUNDER_BUCKET_NOT_FOUND
/// (`bucket` deleted by this transaction); on a write transaction failed by
/// an earlier THUNDER_IO, THUNDER_NO_SPACE, THUNDER_CORRUPTED,
/// THUNDER_NO_MEMORY or THUNDER_INTERNAL, or failing with one now applying
/// its plain puts (see thunder_put()), that status; THUNDER_INTERNAL.
///
/// # Safety
/// `txn` must be NULL or a live transaction handle, `bucket` NULL or a live
/// bucket handle, `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn thunder_cursor_open(
    txn: *mut thunder_txn,
    bucket: *mut thunder_bucket,
    out: *mut *mut thunder_cursor,
) -> thunder_status {
    // SAFETY: `out` is NULL or writable.
    unsafe { args::write_opt(out, std::ptr::null_mut()) };
    // SAFETY: forwarded contract.
    guard("thunder_cursor_open", || unsafe { open(txn, bucket, Over::Keys, out) })
}

/// Opens a cursor over the names of `parent`'s child buckets (NULL: the
/// top-level buckets), in order; values are empty. thunder_cursor_delete() on
/// it is THUNDER_INVALID_ARGUMENT (use thunder_bucket_delete()).
///
/// @param txn borrowed for the call: the transaction.
/// @param parent borrowed for the call: a bucket of `txn`, or NULL.
/// @param out out (written on success, set to NULL on failure): the cursor;
/// owned by the caller, release with thunder_cursor_close().
///
/// @return as thunder_cursor_open().
///
/// # Safety
/// As for thunder_cursor_open().
#[no_mangle]
pub unsafe extern "C" fn thunder_bucket_cursor_open(
    txn: *mut thunder_txn,
    parent: *mut thunder_bucket,
    out: *mut *mut thunder_cursor,
) -> thunder_status {
    // SAFETY: `out` is NULL or writable.
    unsafe { args::write_opt(out, std::ptr::null_mut()) };
    // SAFETY: forwarded contract.
    guard("thunder_bucket_cursor_open", || unsafe { open(txn, parent, Over::BucketNames, out) })
}

fn go<'t, T: crate::txn::TxCore>(
    pos: &mut OwnedCursor,
    tx: &'t T,
    m: Move<'_>,
) -> Result<Option<(&'t [u8], &'t [u8])>> {
    match m {
        Move::First => pos.first(tx),
        Move::Last => pos.last(tx),
        Move::Next => pos.next(tx),
        Move::Prev => pos.prev(tx),
        Move::Seek(k) => pos.seek(tx, k),
    }
}

/// Writes an item through the optional out-pointers.
///
/// # Safety
/// `key`/`val` NULL or writable.
#[inline]
unsafe fn write_item(key: *mut thunder_bytes, val: *mut thunder_bytes, k: &[u8], v: &[u8]) {
    // SAFETY: NULL or writable per the contract.
    unsafe {
        args::write_opt(key, thunder_bytes::of(k));
        args::write_opt(val, thunder_bytes::of(v));
    }
}

/// Any movement, in any transaction: the path `step` takes when the fast
/// one does not apply. Kept out of line so that the fast path stays small.
///
/// # Safety
/// `key`/`val` NULL or writable.
#[inline(never)]
unsafe fn step_any(
    slot: &TxnSlot,
    pos: &mut OwnedCursor,
    m: Move<'_>,
    key: *mut thunder_bytes,
    val: *mut thunder_bytes,
) -> Result<()> {
    let item = match slot {
        TxnSlot::Read(tx) => go(pos, tx, m)?,
        TxnSlot::Write(tx) => go(pos, &**tx, m)?,
        TxnSlot::Closed => return Err(closed()),
    };
    let Some((k, v)) = item else { return Err(Error::KeyNotFound) };
    // SAFETY: forwarded contract.
    unsafe { write_item(key, val, k, v) };
    Ok(())
}

/// One cursor movement; writes the item through the optional out-pointers.
///
/// # Safety
/// `c` NULL or a live cursor; `key`/`val` NULL or writable.
unsafe fn step(
    name: &'static str,
    c: *mut thunder_cursor,
    m: Move<'_>,
    key: *mut thunder_bytes,
    val: *mut thunder_bytes,
) -> thunder_status {
    guard(name, || {
        // SAFETY: forwarded contract.
        let c = unsafe { handles::get("c", c)? };
        c.with(|slot, pos| {
            // The step of a scan (a next within a leaf of a read
            // transaction) takes a path without Results; it was about half
            // of a scan's instructions.
            if let (TxnSlot::Read(tx), Move::Next) = (&*slot, m) {
                if let Some((k, v)) = pos.next_inline(tx) {
                    // SAFETY: forwarded contract.
                    unsafe { write_item(key, val, k, v) };
                    return Ok(());
                }
            }
            // SAFETY: forwarded contract.
            unsafe { step_any(slot, pos, m, key, val) }
        })
    })
}

/// Moves to the first item.
///
/// @param c borrowed for the call: the cursor.
/// @param key out (written on success; may be NULL): the key, a view valid as
/// for thunder_get().
/// @param val out (written on success; may be NULL): the value, likewise
/// (empty for a bucket cursor).
///
/// @return THUNDER_OK; THUNDER_NOT_FOUND (empty); THUNDER_INVALID_ARGUMENT
/// (`c` NULL); THUNDER_TXN_CLOSED; THUNDER_BUCKET_NOT_FOUND (its bucket was
/// deleted); THUNDER_CORRUPTED; THUNDER_IO, THUNDER_NO_SPACE,
/// THUNDER_NO_MEMORY, THUNDER_INTERNAL (a write transaction that failed
/// earlier, or now applying its plain puts: see thunder_put()).
///
/// # Safety
/// `c` must be NULL or a live cursor handle; `key`, `val` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn thunder_cursor_first(
    c: *mut thunder_cursor,
    key: *mut thunder_bytes,
    val: *mut thunder_bytes,
) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { step("thunder_cursor_first", c, Move::First, key, val) }
}

/// Moves to the last item.
///
/// @param c borrowed for the call: the cursor.
/// @param key out (written on success; may be NULL): the key.
/// @param val out (written on success; may be NULL): the value.
///
/// @return as thunder_cursor_first().
///
/// # Safety
/// As for thunder_cursor_first().
#[no_mangle]
pub unsafe extern "C" fn thunder_cursor_last(
    c: *mut thunder_cursor,
    key: *mut thunder_bytes,
    val: *mut thunder_bytes,
) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { step("thunder_cursor_last", c, Move::Last, key, val) }
}

/// Moves to the next item (the first when unpositioned). Past the last item
/// it returns THUNDER_NOT_FOUND and stays past the end (prev then returns
/// the last item). After thunder_cursor_delete() it returns the item after
/// the deleted one.
///
/// @param c borrowed for the call: the cursor.
/// @param key out (written on success; may be NULL): the key.
/// @param val out (written on success; may be NULL): the value.
///
/// @return as thunder_cursor_first().
///
/// # Safety
/// As for thunder_cursor_first().
#[no_mangle]
pub unsafe extern "C" fn thunder_cursor_next(
    c: *mut thunder_cursor,
    key: *mut thunder_bytes,
    val: *mut thunder_bytes,
) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { step("thunder_cursor_next", c, Move::Next, key, val) }
}

/// Moves to the previous item (the last when unpositioned); symmetric to
/// thunder_cursor_next().
///
/// @param c borrowed for the call: the cursor.
/// @param key out (written on success; may be NULL): the key.
/// @param val out (written on success; may be NULL): the value.
///
/// @return as thunder_cursor_first().
///
/// # Safety
/// As for thunder_cursor_first().
#[no_mangle]
pub unsafe extern "C" fn thunder_cursor_prev(
    c: *mut thunder_cursor,
    key: *mut thunder_bytes,
    val: *mut thunder_bytes,
) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { step("thunder_cursor_prev", c, Move::Prev, key, val) }
}

/// Moves to the first item whose key is >= `key` (an empty key: the first item).
///
/// @param c borrowed for the call: the cursor.
/// @param key borrowed for the call: the key to seek (NULL when `key_len` is 0).
/// @param key_len its length.
/// @param key_out out (written on success; may be NULL): the found key.
/// @param val_out out (written on success; may be NULL): its value.
///
/// @return as thunder_cursor_first() (THUNDER_NOT_FOUND: no key >= `key`).
///
/// # Safety
/// As for thunder_cursor_first(); `key` NULL or readable for `key_len`.
#[no_mangle]
pub unsafe extern "C" fn thunder_cursor_seek(
    c: *mut thunder_cursor,
    key: *const u8,
    key_len: usize,
    key_out: *mut thunder_bytes,
    val_out: *mut thunder_bytes,
) -> thunder_status {
    // SAFETY: forwarded contract.
    let key = match unsafe { args::bytes("key", key, key_len) } {
        Ok(k) => k,
        Err(e) => return guard("thunder_cursor_seek", || Err(e)),
    };
    // SAFETY: forwarded contract.
    unsafe { step("thunder_cursor_seek", c, Move::Seek(key), key_out, val_out) }
}

/// Deletes the item under the cursor. Afterwards there is no current item:
/// next returns the item after it, prev the one before it; a second delete
/// without a move returns THUNDER_NOT_FOUND.
///
/// @param c borrowed for the call: a key cursor of a write transaction.
///
/// @return THUNDER_OK; THUNDER_NOT_FOUND (no current item); THUNDER_READ_ONLY
/// (read transaction); THUNDER_INVALID_ARGUMENT (`c` NULL, bucket cursor);
/// THUNDER_TXN_CLOSED; THUNDER_BUCKET_NOT_FOUND; THUNDER_IO, THUNDER_NO_SPACE,
/// THUNDER_CORRUPTED, THUNDER_NO_MEMORY, THUNDER_INTERNAL (these fail the transaction).
///
/// # Safety
/// `c` must be NULL or a live cursor handle.
#[no_mangle]
pub unsafe extern "C" fn thunder_cursor_delete(c: *mut thunder_cursor) -> thunder_status {
    guard("thunder_cursor_delete", || {
        // SAFETY: forwarded contract.
        let c = unsafe { handles::get("c", c)? };
        c.with(|slot, pos| {
            // An ended transaction answers TXN_CLOSED, whatever the cursor
            // (API.md: every use after the end but close); a write
            // transaction's failure or a deleted bucket is reported before
            // a bucket cursor is refused, as by its moves.
            let tx = match slot {
                TxnSlot::Closed => return Err(closed()),
                TxnSlot::Read(_) if pos.over_bucket_names() => {
                    return Err(Error::invalid("delete on a bucket cursor (use thunder_bucket_delete)"))
                }
                slot => slot.write()?,
            };
            match pos.delete(tx)? {
                true => Ok(()),
                false => Err(Error::NoCurrentItem),
            }
        })
    })
}

/// Releases a cursor (at any time, also after its transaction ended).
///
/// @param c consumed: the cursor; NULL is fine.
///
/// # Safety
/// `c` must be NULL or a live cursor handle no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn thunder_cursor_close(c: *mut thunder_cursor) {
    guard("thunder_cursor_close", || {
        // SAFETY: forwarded contract.
        drop(unsafe { handles::release("c", c)? });
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::ptr::null_mut;

    use crate::ffi::*;

    use thunder_status::*;

    const EMPTY: thunder_bytes = thunder_bytes { data: std::ptr::null(), len: 0 };

    fn open(dir: &std::path::Path, opts: *const thunder_options) -> *mut thunder_db {
        let path = CString::new(dir.join("rev.db").to_str().unwrap()).unwrap();
        let mut db = null_mut();
        // SAFETY: a valid path, options NULL or live, and an out pointer.
        assert_eq!(unsafe { thunder_open(path.as_ptr(), opts, &mut db) }, THUNDER_OK);
        db
    }

    /// Bug: thunder_cursor_delete() on a bucket cursor answered
    /// THUNDER_INVALID_ARGUMENT before looking at its transaction, so a
    /// bucket cursor used after its transaction ended, after its bucket was
    /// deleted, or in a write transaction that had failed did not report
    /// THUNDER_TXN_CLOSED / THUNDER_BUCKET_NOT_FOUND / the failure (API.md:
    /// "every other use of them after the transaction ended returns
    /// THUNDER_TXN_CLOSED"; a failed transaction repeats its status on every
    /// later call), unlike every other call on the same cursor.
    #[test]
    fn bucket_cursor_delete_reports_the_transaction_state_first() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: every call gets live handles or handles it is meant to refuse.
        unsafe {
            let mut o = null_mut();
            assert_eq!(thunder_options_new(&mut o), THUNDER_OK);
            assert_eq!(thunder_options_set_max_size(o, 1 << 20), THUNDER_OK);
            let db = open(dir.path(), o);
            thunder_options_free(o);
            let (mut w, mut p, mut bc, mut kc) = (null_mut(), null_mut(), null_mut(), null_mut());
            let (mut k, mut v) = (EMPTY, EMPTY);

            // 1. After the transaction ended.
            assert_eq!(thunder_txn_begin(db, THUNDER_TXN_WRITE, &mut w), THUNDER_OK);
            assert_eq!(thunder_bucket_create(w, null_mut(), b"P".as_ptr(), 1, &mut p), THUNDER_OK);
            assert_eq!(thunder_bucket_cursor_open(w, null_mut(), &mut bc), THUNDER_OK);
            assert_eq!(thunder_cursor_open(w, null_mut(), &mut kc), THUNDER_OK);
            assert_eq!(thunder_txn_commit(w), THUNDER_OK);
            assert_eq!(thunder_cursor_next(bc, &mut k, &mut v), THUNDER_TXN_CLOSED);
            assert_eq!(thunder_cursor_delete(kc), THUNDER_TXN_CLOSED, "a key cursor");
            assert_eq!(thunder_cursor_delete(bc), THUNDER_TXN_CLOSED, "a bucket cursor");
            thunder_cursor_close(bc);
            thunder_cursor_close(kc);
            thunder_bucket_close(p);

            // 2. Its bucket deleted in the same transaction.
            assert_eq!(thunder_txn_begin(db, THUNDER_TXN_WRITE, &mut w), THUNDER_OK);
            assert_eq!(thunder_bucket_open(w, null_mut(), b"P".as_ptr(), 1, &mut p), THUNDER_OK);
            assert_eq!(thunder_bucket_cursor_open(w, p, &mut bc), THUNDER_OK);
            assert_eq!(thunder_bucket_delete(w, null_mut(), b"P".as_ptr(), 1), THUNDER_OK);
            assert_eq!(thunder_cursor_next(bc, &mut k, &mut v), THUNDER_BUCKET_NOT_FOUND);
            assert_eq!(thunder_cursor_delete(bc), THUNDER_BUCKET_NOT_FOUND);
            thunder_cursor_close(bc);
            thunder_bucket_close(p);

            // 3. A write transaction failed by THUNDER_NO_SPACE.
            assert_eq!(thunder_bucket_cursor_open(w, null_mut(), &mut bc), THUNDER_OK);
            let big = vec![7u8; 100_000];
            let mut status = THUNDER_OK;
            for i in 0..100u32 {
                let key = format!("k{i}");
                status = thunder_put(w, key.as_ptr(), key.len(), big.as_ptr(), big.len(), 0);
                if status != THUNDER_OK {
                    break;
                }
            }
            assert_eq!(status, THUNDER_NO_SPACE);
            assert_eq!(thunder_cursor_next(bc, &mut k, &mut v), THUNDER_NO_SPACE);
            assert_eq!(thunder_cursor_delete(bc), THUNDER_NO_SPACE);
            assert_eq!(thunder_txn_commit(w), THUNDER_NO_SPACE);
            thunder_cursor_close(bc);

            // Still refused on a live transaction (API.md), read or write.
            for mode in [THUNDER_TXN_READ, THUNDER_TXN_WRITE] {
                assert_eq!(thunder_txn_begin(db, mode, &mut w), THUNDER_OK);
                assert_eq!(thunder_bucket_cursor_open(w, null_mut(), &mut bc), THUNDER_OK);
                assert_eq!(thunder_cursor_delete(bc), THUNDER_INVALID_ARGUMENT);
                assert_eq!(
                    thunder_cursor_first(bc, &mut k, &mut v),
                    THUNDER_OK,
                    "P: the failed transaction rolled back"
                );
                assert_eq!(thunder_cursor_delete(bc), THUNDER_INVALID_ARGUMENT);
                thunder_cursor_close(bc);
                thunder_txn_abort(w);
            }
            assert_eq!(thunder_check(db), THUNDER_OK);
            assert_eq!(thunder_close(db), THUNDER_OK);
        }
    }
}
