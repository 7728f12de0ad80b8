//! The panic boundary and the thread-local last error. Every export runs its
//! body through `guard`: errors become a status plus a message, and a panic
//! becomes `THUNDER_INTERNAL` instead of unwinding into C.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::Error;
use crate::ffi::status::thunder_status;

/// This thread's last error. A failure stores its function name and error
/// as they are; the message is formatted only when thunder_last_error() asks
/// for it. Expected failures such as THUNDER_NOT_FOUND are common in hot
/// loops (missing-key reads, the end of a cursor), and formatting them
/// eagerly was about 40% of a missing-key read's instructions.
#[derive(Default)]
struct LastError {
    pending: Option<(&'static str, Error)>,
    text: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError::default());
}

/// `msg` without its NULs, as a C string.
fn c_string(msg: String) -> CString {
    CString::new(msg).unwrap_or_else(|e| {
        let mut b = e.into_vec();
        b.retain(|&c| c != 0);
        CString::new(b).expect("NULs removed")
    })
}

/// Records `msg` as this thread's last error.
pub(crate) fn set_last_error(msg: String) {
    let c = c_string(msg);
    // A thread being torn down (a thread-local destructor calling thunder)
    // has no slot left: the message is dropped rather than panicking.
    let _ = LAST_ERROR.try_with(|e| {
        let mut e = e.borrow_mut();
        e.pending = None;
        e.text = c;
    });
}

/// Records that `name` failed with `err`; formatted on demand.
fn set_last_failure(name: &'static str, err: Error) {
    // As in set_last_error: no slot left, nothing recorded.
    let _ = LAST_ERROR.try_with(|e| e.borrow_mut().pending = Some((name, err)));
}

/// This thread's last error message (valid until the next failing call);
/// the empty string on a thread whose thread-locals are already gone.
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|e| {
            let mut e = e.borrow_mut();
            if let Some((name, err)) = e.pending.take() {
                e.text = c_string(format!("{name}: {err}"));
            }
            e.text.as_ptr()
        })
        .unwrap_or(c"".as_ptr())
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs an export's body. `name` is the C function, for messages.
pub(crate) fn guard(name: &'static str, body: impl FnOnce() -> Result<(), Error>) -> thunder_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => thunder_status::THUNDER_OK,
        Ok(Err(e)) => {
            let status = thunder_status::from(e.kind());
            set_last_failure(name, e);
            status
        }
        Err(p) => {
            set_last_error(format!("{name}: internal error (a bug in thunder): panic: {}", panic_message(&*p)));
            thunder_status::THUNDER_INTERNAL
        }
    }
}

/// `guard` for exports that return a value instead of a status; `fallback`
/// is returned on error or panic.
pub(crate) fn guard_value<T>(name: &'static str, fallback: T, body: impl FnOnce() -> Result<T, Error>) -> T {
    let mut out = None;
    let status = guard(name, || {
        out = Some(body()?);
        Ok(())
    });
    match (status, out) {
        (thunder_status::THUNDER_OK, Some(v)) => v,
        _ => fallback,
    }
}
