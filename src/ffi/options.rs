//! thunder_options: a builder for thunder_open(). Every setter validates its
//! value alone; thunder_open() validates combinations.
#![allow(unsafe_code, non_camel_case_types)]

use std::ffi::c_char;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::ffi::args;
use crate::ffi::guard::guard;
use crate::ffi::handles::{self, thunder_options};
use crate::ffi::status::thunder_status;
use crate::options::{IoBackendKind, Options, SyncMode};

/// Sync mode, one of THUNDER_SYNC_*.
pub type thunder_sync_mode = u32;
/// Each commit returns once durable (default).
pub const THUNDER_SYNC_FULL: thunder_sync_mode = 0;
/// Commits become durable together, at most the sync interval apart.
pub const THUNDER_SYNC_BATCHED: thunder_sync_mode = 1;
/// Commits become durable at thunder_sync(), thunder_checkpoint() and close.
pub const THUNDER_SYNC_NONE: thunder_sync_mode = 2;

/// I/O backend, one of THUNDER_IO_*.
pub type thunder_io_backend = u32;
/// The default: the backend measured fastest, which is sync in this version
/// (io_uring was no faster; see the README), falling back to sync wherever
/// the preferred one is refused. thunder_io_backend_name() says which.
pub const THUNDER_IO_AUTO: thunder_io_backend = 0;
/// pwritev, adjacent pages coalesced into one call of at most the write
/// buffer size, and fdatasync.
pub const THUNDER_IO_SYNC: thunder_io_backend = 1;
/// io_uring: a commit's page writes in one submission with the data sync
/// linked after them; the log's appends and syncs too. thunder_open() gives
/// THUNDER_UNSUPPORTED where the build lacks it (cargo feature io_uring,
/// Linux) or the kernel or a sandbox refuses io_uring.
pub const THUNDER_IO_URING: thunder_io_backend = 2;
/// O_DIRECT on the data file and the log, written from page-aligned
/// buffers (reads still go through the mapping); thunder_open() gives
/// THUNDER_UNSUPPORTED where the filesystem refuses O_DIRECT.
pub const THUNDER_IO_DIRECT: thunder_io_backend = 3;

/// Runs a setter on a live options handle.
///
/// # Safety
/// `o` must be NULL or a live options handle used by no other thread.
unsafe fn set(
    name: &'static str,
    o: *mut thunder_options,
    f: impl FnOnce(&mut thunder_options) -> Result<()>,
) -> thunder_status {
    guard(name, || {
        // SAFETY: forwarded contract.
        let o = unsafe { handles::get_mut("o", o)? };
        f(o)
    })
}

/// Applies a fallible `Options` setter.
fn apply(o: &mut thunder_options, f: impl FnOnce(Options) -> Result<Options>) -> Result<()> {
    o.opts = f(o.opts.clone())?;
    Ok(())
}

impl thunder_options {
    /// The options to open with: the sync mode combined with its interval.
    pub(crate) fn resolve(&self) -> Result<Options> {
        let mode = match self.sync_mode {
            THUNDER_SYNC_FULL => SyncMode::Full,
            THUNDER_SYNC_BATCHED => SyncMode::Batched(Duration::from_millis(self.sync_interval_ms as u64)),
            _ => SyncMode::None,
        };
        self.opts.clone().sync_mode(mode)
    }
}

/// Creates an options object holding the defaults: 4096-byte pages for a new
/// file (an existing file's own size otherwise), overflow threshold 2048,
/// read-write, create, THUNDER_SYNC_FULL, max size 256 GiB, lock timeout 0,
/// write buffer 256 KiB, THUNDER_IO_AUTO.
///
/// @param out out (written on success, set to NULL on failure): the options;
/// owned by the caller, release with thunder_options_free().
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`out` NULL); THUNDER_INTERNAL.
///
/// # Safety
/// `out` must be NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_new(out: *mut *mut thunder_options) -> thunder_status {
    guard("thunder_options_new", || {
        // Checked before the handle is boxed: a handle made for a NULL `out`
        // could never be freed.
        if out.is_null() {
            return Err(crate::ffi::args::null("out"));
        }
        // SAFETY: non-NULL, and writable per the contract.
        unsafe { out.write(handles::into_raw(thunder_options::new())) };
        Ok(())
    })
}

/// Releases an options object. Databases opened with it are not affected.
///
/// @param opts consumed: the options; NULL is fine.
///
/// # Safety
/// `opts` must be NULL or a live options handle.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_free(opts: *mut thunder_options) {
    guard("thunder_options_free", || {
        // SAFETY: forwarded contract. The released options drop here.
        unsafe { handles::release("opts", opts)? };
        Ok(())
    });
}

/// Sets the page size: 4096, 8192, 16384 or 65536. A new file gets it; an
/// existing file must have it (else thunder_open() gives THUNDER_INCOMPATIBLE).
/// Without this call an existing file's own page size is accepted.
///
/// @param o borrowed for the call: the options.
/// @param bytes the page size.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL, other size); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_page_size(o: *mut thunder_options, bytes: u32) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { set("thunder_options_set_page_size", o, |o| apply(o, |x| x.page_size(bytes))) }
}

/// Sets the overflow threshold: values longer than this many bytes are
/// stored in overflow pages. 64 to 32768 here, and at most half the page
/// size (checked by thunder_open()). Default 2048.
///
/// @param o borrowed for the call: the options.
/// @param bytes the threshold.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL, out of range); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_overflow_threshold(o: *mut thunder_options, bytes: u32) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { set("thunder_options_set_overflow_threshold", o, |o| apply(o, |x| x.overflow_threshold(bytes))) }
}

/// Opens the database read-only (shared file lock; write transactions give
/// THUNDER_READ_ONLY; a missing file is THUNDER_NOT_FOUND). Default false.
///
/// @param o borrowed for the call: the options.
/// @param read_only whether to open read-only.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_read_only(o: *mut thunder_options, read_only: bool) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe {
        set("thunder_options_set_read_only", o, |o| {
            o.opts = o.opts.clone().read_only(read_only);
            Ok(())
        })
    }
}

/// Whether thunder_open() creates a missing file (default true; false gives
/// THUNDER_NOT_FOUND for a missing file).
///
/// @param o borrowed for the call: the options.
/// @param create whether to create.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_create(o: *mut thunder_options, create: bool) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe {
        set("thunder_options_set_create", o, |o| {
            o.opts = o.opts.clone().create(create);
            Ok(())
        })
    }
}

/// Sets when commits become durable: THUNDER_SYNC_FULL (default),
/// THUNDER_SYNC_BATCHED or THUNDER_SYNC_NONE. No mode trades away
/// consistency: a crash leaves the last durable commit intact.
///
/// @param o borrowed for the call: the options.
/// @param m the mode.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL, unknown mode); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_sync_mode(
    o: *mut thunder_options,
    m: thunder_sync_mode,
) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe {
        set("thunder_options_set_sync_mode", o, |o| {
            if m > THUNDER_SYNC_NONE {
                return Err(Error::invalid(format!("argument `m`: unknown sync mode {m}")));
            }
            o.sync_mode = m;
            Ok(())
        })
    }
}

/// Sets the longest time between two syncs under THUNDER_SYNC_BATCHED, in
/// milliseconds (1 or more; default 100).
///
/// @param o borrowed for the call: the options.
/// @param ms the interval.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL, `ms` 0); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_sync_interval_ms(o: *mut thunder_options, ms: u32) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe {
        set("thunder_options_set_sync_interval_ms", o, |o| {
            if ms == 0 {
                return Err(Error::invalid("argument `ms`: the sync interval must be at least 1 ms"));
            }
            o.sync_interval_ms = ms;
            Ok(())
        })
    }
}

/// Chooses the I/O backend of the data file and the write-ahead log:
/// THUNDER_IO_AUTO (default), THUNDER_IO_SYNC, THUNDER_IO_URING or
/// THUNDER_IO_DIRECT. This only checks the value; thunder_open() gives
/// THUNDER_UNSUPPORTED for a backend this build, the kernel or the
/// filesystem cannot provide, and thunder_io_backend_name() tells which
/// backend an open database uses.
///
/// @param o borrowed for the call: the options.
/// @param b the backend.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL, unknown value); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_io_backend(
    o: *mut thunder_options,
    b: thunder_io_backend,
) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe {
        set("thunder_options_set_io_backend", o, |o| {
            let kind = match b {
                THUNDER_IO_AUTO => IoBackendKind::Auto,
                THUNDER_IO_SYNC => IoBackendKind::Sync,
                THUNDER_IO_URING => IoBackendKind::Uring,
                THUNDER_IO_DIRECT => IoBackendKind::Direct,
                _ => return Err(Error::invalid(format!("argument `b`: unknown I/O backend {b}"))),
            };
            o.opts = o.opts.clone().io_backend(kind);
            Ok(())
        })
    }
}

/// Sets the largest single write the sync backend issues: 4 KiB to 1 GiB
/// (default 256 KiB).
///
/// @param o borrowed for the call: the options.
/// @param bytes the size.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL, out of range); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_write_buffer_size(
    o: *mut thunder_options,
    bytes: usize,
) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { set("thunder_options_set_write_buffer_size", o, |o| apply(o, |x| x.write_buffer_size(bytes))) }
}

/// Sets the upper bound of the file size: 0 for the default (256 GiB), else
/// at least 1 MiB. This much address space is reserved for the mapping;
/// commits that would grow the file past it fail with THUNDER_NO_SPACE.
///
/// @param o borrowed for the call: the options.
/// @param bytes the bound.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL, 1 to 1 MiB - 1); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_max_size(o: *mut thunder_options, bytes: u64) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { set("thunder_options_set_max_size", o, |o| apply(o, |x| x.max_size(bytes))) }
}

/// Bounds the file under THUNDER_SYNC_BATCHED and THUNDER_SYNC_NONE, and
/// with the WAL between checkpoints. Pages of the last durable commit's
/// snapshot that later commits free stay untouched until a newer commit is
/// durable (a crash must find the durable snapshot intact); pages written
/// after it are reused once no reader sees them. Once the untouched ones
/// reach `bytes`, or a quarter of the file if that is more, a background
/// thread makes the latest commit durable (data synced, meta written and
/// synced; with the WAL, a checkpoint) while commits go on; should they
/// reach twice the threshold first, the committing thread waits for it. So
/// a program that never calls thunder_sync() does not grow its file without
/// limit. Default 4 MiB; 0 leaves only the quarter-of-the-file rule. No
/// effect under THUNDER_SYNC_FULL without the WAL.
///
/// @param o borrowed for the call: the options.
/// @param bytes the floor of the threshold.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_autosync_bytes(o: *mut thunder_options, bytes: u64) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { set("thunder_options_set_autosync_bytes", o, |o| apply(o, |x| Ok(x.autosync_bytes(bytes)))) }
}

/// Turns the write-ahead log on or off (default off). With it, a commit
/// appends its changes to the log and a durable commit costs one log fsync,
/// shared with the other threads committing at the same time; the data file
/// is synced at checkpoints (thunder_checkpoint(), the checkpoint interval
/// and WAL size, and close). A database whose log holds commits not yet
/// checkpointed replays them at open, whatever this option says. With the
/// log on, one transaction's logged changes (keys and values included) must
/// fit 4 GiB: a larger commit fails with THUNDER_NO_SPACE and changes
/// nothing.
///
/// @param o borrowed for the call: the options.
/// @param enabled whether to log.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_wal(o: *mut thunder_options, enabled: bool) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { set("thunder_options_set_wal", o, |o| apply(o, |x| Ok(x.wal(enabled)))) }
}

/// Opens a database whose write-ahead log is missing (default off). A
/// database last used with a log and not closed cleanly since (a crash,
/// or a copy of the file taken while it was open) may have commits that
/// only its log holds. When `thunder_open` finds no segment in the log
/// directory it would use (the log was moved or removed, or the database
/// is opened with another wal_dir than it was used with, or with the log
/// off and the default directory), it returns THUNDER_CORRUPTED naming that
/// directory, rather than open the file without them. With this set, the
/// open goes on with the file as of its last checkpoint, those commits
/// gone: for a log lost for good. Segments of this database that are in
/// the directory (from the checkpoint's on) are still replayed.
///
/// @param o borrowed for the call: the options.
/// @param discard whether to open without the missing log.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_discard_missing_wal(
    o: *mut thunder_options,
    discard: bool,
) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { set("thunder_options_set_discard_missing_wal", o, |o| apply(o, |x| Ok(x.discard_missing_wal(discard)))) }
}

/// Sets the directory of the write-ahead log's segment files (default: the
/// database path with ".wal" added). It is created if missing. One
/// directory serves one database: `thunder_open` of another database set to
/// it returns THUNDER_LOCKED while the first is open and
/// THUNDER_INCOMPATIBLE after (its segments name their database), so that
/// neither replays nor clears the other's log. A new file is refused too
/// (THUNDER_INCOMPATIBLE) where its log directory, the default one
/// included, holds another database's records: those may be that
/// database's only copy of its last commits.
///
/// @param o borrowed for the call: the options.
/// @param dir borrowed for the call: a NUL-terminated path.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` or `dir` NULL, `dir`
/// empty); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread;
/// `dir` NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_wal_dir(o: *mut thunder_options, dir: *const c_char) -> thunder_status {
    // SAFETY: `dir` is NULL or NUL-terminated per the contract.
    let dir = unsafe { args::path("dir", dir) };
    // SAFETY: forwarded contract.
    unsafe { set("thunder_options_set_wal_dir", o, |o| apply(o, |x| Ok(x.wal_dir(dir?)))) }
}

/// Sets the size at which the write-ahead log moves to a new segment file:
/// 1 MiB to 4 GiB (default 64 MiB). A transaction's records never span two
/// segments, so one larger than this gets a segment of its own.
///
/// @param o borrowed for the call: the options.
/// @param bytes the segment size.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL, out of range);
/// THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_wal_segment_size(o: *mut thunder_options, bytes: u64) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { set("thunder_options_set_wal_segment_size", o, |o| apply(o, |x| x.wal_segment_size(bytes))) }
}

/// Sets the longest time between two checkpoints of a database with a
/// write-ahead log, in seconds (default 300; checked when a commit ends); 0
/// checkpoints only by WAL size, thunder_checkpoint() and close.
///
/// @param o borrowed for the call: the options.
/// @param secs the interval.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_checkpoint_interval_secs(
    o: *mut thunder_options,
    secs: u32,
) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe {
        set("thunder_options_set_checkpoint_interval_secs", o, |o| {
            apply(o, |x| Ok(x.checkpoint_interval(Duration::from_secs(secs as u64))))
        })
    }
}

/// Sets the write-ahead log size that triggers a checkpoint, in bytes (at
/// least 1 MiB; default 128 MiB).
///
/// @param o borrowed for the call: the options.
/// @param bytes the threshold.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL, under 1 MiB);
/// THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_checkpoint_wal_threshold(
    o: *mut thunder_options,
    bytes: u64,
) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { set("thunder_options_set_checkpoint_wal_threshold", o, |o| apply(o, |x| x.checkpoint_wal_bytes(bytes))) }
}

/// Sets how long thunder_open() waits for a file lock held elsewhere, in
/// milliseconds (default 0: fail at once with THUNDER_LOCKED).
///
/// @param o borrowed for the call: the options.
/// @param ms the timeout.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_set_lock_timeout_ms(o: *mut thunder_options, ms: u32) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe {
        set("thunder_options_set_lock_timeout_ms", o, |o| {
            o.opts = o.opts.clone().lock_timeout(Duration::from_millis(ms as u64));
            Ok(())
        })
    }
}

/// Applies the NVMe preset: 16 KiB pages and a 4 KiB overflow threshold.
///
/// @param o borrowed for the call: the options.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`o` NULL); THUNDER_INTERNAL.
///
/// # Safety
/// `o` must be NULL or a live options handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn thunder_options_preset_nvme(o: *mut thunder_options) -> thunder_status {
    // SAFETY: forwarded contract.
    unsafe { set("thunder_options_preset_nvme", o, |o| apply(o, |x| x.page_size(16384)?.overflow_threshold(4096))) }
}
