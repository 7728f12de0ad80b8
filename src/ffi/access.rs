//! Key-value access shared by the default-keyspace functions (thunder_get,
//! ...) and the bucket functions (thunder_bucket_get, ...): one code path
//! per operation, whichever handle names the keyspace.
#![allow(unsafe_code, non_camel_case_types)]

use crate::error::{Error, Result};
use crate::ffi::args;
use crate::ffi::handles::{closed, TxnShared, TxnSlot};
use crate::txn::{Bucket, PutFlags};

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

/// Looks `key` up; the value as a view into the database.
pub(crate) fn get(shared: &TxnShared, bucket: Option<&Bucket>, key: &[u8]) -> Result<thunder_bytes> {
    let slot = shared.lock()?;
    let v = match &*slot {
        TxnSlot::Read(tx) => tx.get_inner(bucket, key)?,
        TxnSlot::Write(tx) => tx.get_inner(bucket, key)?,
        TxnSlot::Closed => return Err(closed()),
    };
    v.map(thunder_bytes::of).ok_or(Error::KeyNotFound)
}

/// The body of thunder_get / thunder_bucket_get once the handle is checked.
///
/// # Safety
/// `val` must be NULL or writable.
pub(crate) unsafe fn get_into(
    shared: &TxnShared,
    bucket: Option<&Bucket>,
    key: &[u8],
    val: *mut thunder_bytes,
) -> Result<()> {
    if val.is_null() {
        return Err(args::null("val"));
    }
    let v = get(shared, bucket, key)?;
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
    shared: &TxnShared,
    bucket: Option<&Bucket>,
    key: &[u8],
    val: *mut *mut u8,
    val_len: *mut usize,
) -> Result<()> {
    if val.is_null() || val_len.is_null() {
        return Err(args::null(if val.is_null() { "val" } else { "val_len" }));
    }
    let v = get(shared, bucket, key)?;
    // SAFETY: the view points into the database and stays valid while no
    // other call runs in this transaction, which holds for this thread here.
    let bytes = unsafe { std::slice::from_raw_parts(v.data, v.len) };
    let copy = args::malloc_copy(bytes)?;
    // SAFETY: checked non-NULL; writable per the contract.
    unsafe {
        val.write(copy);
        val_len.write(v.len);
    }
    Ok(())
}

pub(crate) fn put(shared: &TxnShared, bucket: Option<&Bucket>, key: &[u8], val: &[u8], flags: u32) -> Result<()> {
    let flags = PutFlags::from_bits(flags)
        .ok_or_else(|| Error::invalid(format!("argument `flags`: unknown bits {:#x}", flags & !3)))?;
    shared.lock()?.write()?.put_inner(bucket, key, val, flags)
}

pub(crate) fn delete(shared: &TxnShared, bucket: Option<&Bucket>, key: &[u8]) -> Result<()> {
    match shared.lock()?.write()?.delete_inner(bucket, key)? {
        true => Ok(()),
        false => Err(Error::KeyNotFound),
    }
}
