//! Library-wide functions: version, status strings, last error, freeing.
#![allow(unsafe_code)]

use std::ffi::c_char;

use crate::ffi::{guard, status};

/// The library version, "MAJOR.MINOR.PATCH" (the THUNDER_VERSION_* macros
/// give the version of the header).
///
/// @return a static NUL-terminated string; never NULL; do not free.
#[no_mangle]
pub extern "C" fn thunder_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A short English description of a status code.
///
/// @param status any integer; codes thunder does not define give "unknown status".
///
/// @return a static NUL-terminated string; never NULL; do not free.
#[no_mangle]
pub extern "C" fn thunder_strerror(status: i32) -> *const c_char {
    status::describe(status).as_ptr()
}

/// The message of the most recent failure on the calling thread, with
/// context (function, path, page id, offset, expected vs found). Successful
/// calls leave it unchanged.
///
/// @return a NUL-terminated string, empty when no call has failed yet; never
/// NULL; owned by the library and valid until the next thunder call on this
/// thread; do not free.
#[no_mangle]
pub extern "C" fn thunder_last_error() -> *const c_char {
    guard::last_error()
}

/// Frees a buffer the library returned as owned (thunder_get_copy(),
/// thunder_bucket_get_copy()).
///
/// @param ptr consumed: the buffer; NULL is fine.
///
/// # Safety
/// `ptr` must be NULL or a buffer returned as owned by this library, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn thunder_free(ptr: *mut std::ffi::c_void) {
    // SAFETY: owned buffers are allocated with malloc (args::malloc_copy).
    unsafe { libc::free(ptr) }
}
