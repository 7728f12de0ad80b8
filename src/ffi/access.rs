//! Key-value access shared by the default-keyspace functions (thunder_get,
//! ...) and the bucket functions (thunder_bucket_get, ...): one code path
//! per operation, whichever handle names the keyspace.
#![allow(unsafe_code, non_camel_case_types)]

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::ffi::args;
use crate::ffi::handles::{closed, thunder_txn, TxnSlot};
use crate::{Bucket, PutFlags, MAX_IN_MEMORY_VIEW};

/// A view returned to C: pointer and length of bytes owned by the database.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct thunder_bytes {
    /// First byte; never NULL in a view thunder wrote (an empty view points
    /// at a static empty buffer).
    pub data: *const u8,
    /// Number of bytes.
    pub len: usize,
}

static EMPTY: [u8; 1] = [0];

impl thunder_bytes {
    pub(crate) fn of(b: &[u8]) -> thunder_bytes {
        thunder_bytes { data: if b.is_empty() { EMPTY.as_ptr() } else { b.as_ptr() }, len: b.len() }
    }
}

/// Put flags (bitwise or); unknown bits are THUNDER_INVALID_ARGUMENT.
pub const THUNDER_PUT_NO_OVERWRITE: u32 = 0x1;
/// The key is greater than every key in the keyspace (bulk load);
/// THUNDER_INVALID_ARGUMENT and nothing written if it is not. With
/// THUNDER_PUT_NO_OVERWRITE it behaves as THUNDER_PUT_APPEND.
pub const THUNDER_PUT_APPEND: u32 = 0x2;

/// Runs `f` on the value of `key`, under the transaction's lock.
fn with_value<R>(
    shared: &thunder_txn,
    bucket: Option<&Bucket>,
    key: &[u8],
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<R> {
    let slot = shared.lock()?;
    let v = match &*slot {
        TxnSlot::Read(tx) => match bucket {
            None => tx.get(key)?,
            Some(b) => tx.get_in(b, key)?,
        },
        TxnSlot::Write(tx) => match bucket {
            None => tx.get(key)?,
            Some(b) => tx.get_in(b, key)?,
        },
        TxnSlot::Closed => return Err(closed()),
    };
    let Some(v) = v else { return Err(Error::KeyNotFound) };
    f(v)
}

/// The body of thunder_get / thunder_bucket_get once the handle is checked.
///
/// # Safety
/// `val` must be NULL or writable.
pub(crate) unsafe fn get_into(
    shared: &thunder_txn,
    bucket: Option<&Bucket>,
    key: &[u8],
    val: *mut thunder_bytes,
) -> Result<()> {
    if val.is_null() {
        return Err(args::null("val"));
    }
    let v = with_value(shared, bucket, key, |v| Ok(thunder_bytes::of(v)))?;
    // SAFETY: checked non-NULL; writable per the contract.
    unsafe { val.write(v) };
    Ok(())
}

/// The body of thunder_get_copy / thunder_bucket_get_copy: the value as a
/// malloc'd copy.
///
/// # Safety
/// `val` and `val_len` must be NULL or writable.
pub(crate) unsafe fn get_copy_into(
    shared: &thunder_txn,
    bucket: Option<&Bucket>,
    key: &[u8],
    val: *mut *mut u8,
    val_len: *mut usize,
) -> Result<()> {
    if val.is_null() || val_len.is_null() {
        return Err(args::null(if val.is_null() { "val" } else { "val_len" }));
    }
    let (copy, len) = with_value(shared, bucket, key, |v| Ok((args::malloc_copy(v)?, v.len())))?;
    // SAFETY: checked non-NULL; writable per the contract.
    unsafe {
        val.write(copy);
        val_len.write(len);
    }
    Ok(())
}

/// An input of a modifying call, copied unless it is longer than anything a
/// view into the transaction's in-memory nodes can be. API.md lets a view be
/// passed to the next modifying call of its transaction, and such a view may
/// point into the very node the call edits (and moves or compacts) before it
/// is done reading its inputs. A longer input can only be a view of mapped
/// pages, which a call never writes while they are visible (it writes new
/// pages with pwrite), so it is passed through uncopied.
pub(crate) fn detach(b: &[u8]) -> Cow<'_, [u8]> {
    if b.len() <= MAX_IN_MEMORY_VIEW {
        Cow::Owned(b.to_vec())
    } else {
        Cow::Borrowed(b)
    }
}

/// Inputs that fit together in this many bytes are detached into a buffer
/// on the stack: two heap copies (a malloc and a free each) were a tenth
/// of a put in a bulk load (callgrind). The buffer is zeroed before the
/// copy, so small inputs get a small one (zeroing 1 KiB for a 24-byte key
/// was most of a delete's detach).
const DETACH_SMALL: usize = 256;
const DETACH_ON_STACK: usize = 1024;

/// Calls `f` with `key` and `val` detached (see `detach`).
fn with_detached<R>(key: &[u8], val: &[u8], f: impl FnOnce(&[u8], &[u8]) -> R) -> R {
    match key.len() + val.len() {
        n if n <= DETACH_SMALL => on_stack::<DETACH_SMALL, R>(key, val, f),
        n if n <= DETACH_ON_STACK => on_stack::<DETACH_ON_STACK, R>(key, val, f),
        _ => {
            let (key, val) = (detach(key), detach(val));
            f(&key, &val)
        }
    }
}

/// `with_detached` through an `N`-byte stack buffer; `key` and `val` fit.
#[inline(always)]
fn on_stack<const N: usize, R>(key: &[u8], val: &[u8], f: impl FnOnce(&[u8], &[u8]) -> R) -> R {
    let n = key.len() + val.len();
    let mut buf = [0u8; N];
    buf[..key.len()].copy_from_slice(key);
    buf[key.len()..n].copy_from_slice(val);
    let (key, val) = buf[..n].split_at(key.len());
    f(key, val)
}

pub(crate) fn put(shared: &thunder_txn, bucket: Option<&Bucket>, key: &[u8], val: &[u8], flags: u32) -> Result<()> {
    with_detached(key, val, |key, val| put_detached(shared, bucket, key, val, flags))
}

/// A plain put is deferred (`WriteTx::put_deferred`): every other call on
/// the transaction applies the deferred puts first (`thunder_txn::lock`).
fn put_detached(shared: &thunder_txn, bucket: Option<&Bucket>, key: &[u8], val: &[u8], flags: u32) -> Result<()> {
    let mut slot = shared.lock_as_is()?;
    let tx = slot.write()?;
    // A failed transaction answers with its failure before the flags are read.
    tx.ensure_usable()?;
    let flags = PutFlags::from_bits(flags).ok_or_else(|| {
        Error::invalid(format!("argument `flags`: unknown bits {:#x}", flags & !PutFlags::ALL.bits()))
    })?;
    match (bucket, flags) {
        (_, PutFlags::NONE) => tx.put_deferred(bucket, key, val),
        (None, _) => tx.put_with(key, val, flags),
        (Some(b), _) => tx.put_with_in(b, key, val, flags),
    }
}

pub(crate) fn delete(shared: &thunder_txn, bucket: Option<&Bucket>, key: &[u8]) -> Result<()> {
    with_detached(key, &[], |key, _| delete_detached(shared, bucket, key))
}

fn delete_detached(shared: &thunder_txn, bucket: Option<&Bucket>, key: &[u8]) -> Result<()> {
    let mut slot = shared.lock()?;
    let tx = slot.write()?;
    let deleted = match bucket {
        None => tx.delete(key)?,
        Some(b) => tx.delete_in(b, key)?,
    };
    match deleted {
        true => Ok(()),
        false => Err(Error::KeyNotFound),
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::ptr::null_mut;

    use crate::ffi::*;

    const OK: thunder_status = thunder_status::THUNDER_OK;
    const EMPTY: thunder_bytes = thunder_bytes { data: std::ptr::null(), len: 0 };

    /// Every size class of `with_detached` (the small and the large stack
    /// buffer, the heap) hands `f` copies equal to its inputs, at the
    /// boundaries between them.
    #[test]
    fn detached_inputs_equal_their_originals_at_every_size_class() {
        use super::{with_detached, DETACH_ON_STACK, DETACH_SMALL};
        for total in
            [0, 1, DETACH_SMALL - 1, DETACH_SMALL, DETACH_SMALL + 1, DETACH_ON_STACK, DETACH_ON_STACK + 1, 5000]
        {
            for klen in [0, 1, total / 2, total].into_iter().filter(|&k| k <= total) {
                let key: Vec<u8> = (0..klen).map(|i| (i * 7 + 1) as u8).collect();
                let val: Vec<u8> = (0..total - klen).map(|i| (i * 13 + 5) as u8).collect();
                let (k, v) = with_detached(&key, &val, |k, v| (k.to_vec(), v.to_vec()));
                assert_eq!((k, v), (key.clone(), val), "total {total}, key {klen}");
            }
        }
    }

    fn view(b: &thunder_bytes) -> &[u8] {
        // SAFETY: a view thunder wrote, used while it is valid.
        unsafe { std::slice::from_raw_parts(b.data, b.len) }
    }

    /// Opens the database at `path` and begins a write transaction on it.
    fn open_with_write_txn(path: &CString) -> (*mut thunder_db, *mut thunder_txn) {
        let (mut db, mut txn) = (null_mut(), null_mut());
        // SAFETY: a valid path and out pointers.
        unsafe {
            assert_eq!(thunder_open(path.as_ptr(), std::ptr::null(), &mut db), OK);
            assert_eq!(thunder_txn_begin(db, THUNDER_TXN_WRITE, &mut txn), OK);
        }
        (db, txn)
    }

    /// Puts `v0` at "a", then copies the value along a chain of keys, each time from a view.
    ///
    /// # Safety
    /// `txn` is a live write transaction.
    unsafe fn copy_along_a_chain_of_keys(txn: *mut thunder_txn, v0: &[u8]) {
        // SAFETY: a live transaction and valid buffers.
        unsafe {
            assert_eq!(thunder_put(txn, b"a".as_ptr(), 1, v0.as_ptr(), v0.len(), 0), OK);
            let mut src = b"a".to_vec();
            for i in 0..200u32 {
                let dst = format!("k{i:05}").into_bytes();
                let mut v = EMPTY;
                assert_eq!(thunder_get(txn, src.as_ptr(), src.len(), &mut v), OK);
                assert_eq!(thunder_put(txn, dst.as_ptr(), dst.len(), v.data, v.len, 0), OK);
                assert_eq!(thunder_get(txn, dst.as_ptr(), dst.len(), &mut v), OK);
                assert_eq!(view(&v), v0, "the copy to {}", String::from_utf8_lossy(&dst));
                src = dst;
            }
        }
    }

    /// Updates every item through a cursor, with its own key view, then
    /// deletes every other one by its key view.
    ///
    /// # Safety
    /// `txn` is a live write transaction.
    unsafe fn update_and_delete_through_key_views(txn: *mut thunder_txn, v0: &[u8]) {
        // SAFETY: a live transaction, the cursor it opens, and valid buffers.
        unsafe {
            let mut c = null_mut();
            assert_eq!(thunder_cursor_open(txn, null_mut(), &mut c), OK);
            let (mut k, mut v) = (EMPTY, EMPTY);
            let mut n = 0;
            while thunder_cursor_next(c, &mut k, &mut v) == OK {
                let mut new = view(&v).to_vec();
                new.push(n as u8);
                assert_eq!(thunder_put(txn, k.data, k.len, new.as_ptr(), new.len(), 0), OK);
                n += 1;
            }
            assert_eq!(n, 201);
            let mut n = 0;
            while thunder_cursor_prev(c, &mut k, &mut v) == OK {
                assert_eq!(view(&v)[..100], v0[..], "item {n} from the end");
                if n % 2 == 0 {
                    let key = view(&k).to_vec();
                    assert_eq!(thunder_delete(txn, k.data, k.len), OK);
                    let mut gone = EMPTY;
                    assert_eq!(thunder_get(txn, key.as_ptr(), key.len(), &mut gone), thunder_status::THUNDER_NOT_FOUND);
                }
                n += 1;
            }
            thunder_cursor_close(c);
        }
    }

    /// Creates buckets b1..b3 and deletes one by a view of the catalog.
    ///
    /// # Safety
    /// `txn` is a live write transaction.
    unsafe fn delete_a_bucket_named_by_a_catalog_view(txn: *mut thunder_txn) {
        // SAFETY: a live transaction, the handles it opens, and valid buffers.
        unsafe {
            let (mut b, mut c) = (null_mut(), null_mut());
            for name in [&b"b1"[..], b"b2", b"b3"] {
                assert_eq!(thunder_bucket_create(txn, null_mut(), name.as_ptr(), name.len(), &mut b), OK);
                thunder_bucket_close(b);
            }
            let mut k = EMPTY;
            assert_eq!(thunder_bucket_cursor_open(txn, null_mut(), &mut c), OK);
            assert_eq!(thunder_cursor_first(c, &mut k, null_mut()), OK);
            assert_eq!(thunder_bucket_delete(txn, null_mut(), k.data, k.len), OK);
            assert_eq!(thunder_cursor_next(c, &mut k, null_mut()), OK);
            assert_eq!(view(&k), b"b2");
            thunder_cursor_close(c);
        }
    }

    /// Bug: a view (`thunder_bytes`) may be passed to the next modifying
    /// call of its write transaction (API.md: it is valid until that call),
    /// but `thunder_put` handed the engine the caller's pointer as is. When
    /// the view was a value or key of a leaf this transaction had already
    /// changed, it pointed into that leaf's in-memory heap, which the put
    /// grows (moving it) before copying the value in: the value was read
    /// from freed memory, so "copy a value to another key" stored garbage
    /// (and was undefined behaviour: a `&[u8]` aliasing a node under
    /// `&mut`). Fixed in `access::put`/`access::delete` and the bucket
    /// calls (src/ffi), which copy inputs that can be such views.
    #[test]
    fn views_of_the_transaction_can_be_passed_to_its_next_modifying_call() {
        let dir = tempfile::tempdir().unwrap();
        let path = CString::new(dir.path().join("views.db").to_str().unwrap()).unwrap();
        let (db, txn) = open_with_write_txn(&path);
        let v0: Vec<u8> = (0..100u8).collect();
        // SAFETY: the calls get live handles and valid buffers.
        unsafe {
            copy_along_a_chain_of_keys(txn, &v0);
            update_and_delete_through_key_views(txn, &v0);
            delete_a_bucket_named_by_a_catalog_view(txn);
            assert_eq!(thunder_txn_commit(txn), OK);
            assert_eq!(thunder_check(db), OK);
            assert_eq!(thunder_close(db), OK);
        }
    }
}
