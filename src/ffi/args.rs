//! Checked conversions of C arguments. Each check names the argument in its
//! message; a zero length never touches the pointer.
#![allow(unsafe_code)]

use std::ffi::{c_char, CStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result};

pub(crate) fn null(arg: &str) -> Error {
    Error::invalid(format!("argument `{arg}` is NULL"))
}

/// `len` bytes at `ptr`; NULL is allowed only when `len` is 0.
///
/// # Safety
/// Unless NULL or `len` is 0, `ptr` must point at `len` readable bytes that
/// stay valid and unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(arg: &str, ptr: *const u8, len: usize) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(null(arg));
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid(format!("argument `{arg}`: length {len} is impossible")));
    }
    // SAFETY: non-NULL with `len` readable bytes, per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A key: non-NULL. Its length is the engine's to check (an empty key is
/// `InvalidArgument` there), after it has answered for a failed transaction.
///
/// # Safety
/// As for `bytes`.
pub(crate) unsafe fn key<'a>(arg: &str, ptr: *const u8, len: usize) -> Result<&'a [u8]> {
    if ptr.is_null() {
        return Err(null(arg));
    }
    // SAFETY: forwarded contract.
    unsafe { bytes(arg, ptr, len) }
}

/// A NUL-terminated path.
///
/// # Safety
/// Unless NULL, `ptr` must point at a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn path<'a>(arg: &str, ptr: *const c_char) -> Result<&'a Path> {
    if ptr.is_null() {
        return Err(null(arg));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let s = unsafe { CStr::from_ptr(ptr) };
    if s.is_empty() {
        return Err(Error::invalid(format!("argument `{arg}` is an empty path")));
    }
    Ok(Path::new(std::ffi::OsStr::from_bytes(s.to_bytes())))
}

/// Writes `value` through an optional out-pointer.
///
/// # Safety
/// Unless NULL, `ptr` must be valid for writing a `T`.
pub(crate) unsafe fn write_opt<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        // SAFETY: non-NULL and writable per the caller's contract.
        unsafe { ptr.write(value) };
    }
}

/// Copies `bytes` into a malloc'd buffer the caller frees with thunder_free.
pub(crate) fn malloc_copy(bytes: &[u8]) -> Result<*mut u8> {
    // SAFETY: malloc of at least one byte; checked for NULL below.
    let p = unsafe { libc::malloc(bytes.len().max(1)) }.cast::<u8>();
    if p.is_null() {
        return Err(Error::NoMemory(format!("allocating {} bytes for a value copy", bytes.len())));
    }
    // SAFETY: `p` has room for `bytes.len()` bytes and does not overlap `bytes`.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
    Ok(p)
}
