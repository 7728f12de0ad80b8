//! thunder_db: open, close, durability, statistics, integrity check,
//! backup and compaction.
#![allow(unsafe_code, non_camel_case_types)]

use std::ffi::c_char;

use crate::ffi::args;
use crate::ffi::guard::{guard, guard_value};
use crate::ffi::handles::{self, thunder_db, thunder_options};
use crate::ffi::status::thunder_status;
use crate::options::Options;
use crate::Database;

/// Database statistics, filled by thunder_stat().
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct thunder_stats {
    /// Bytes per page.
    pub page_size: u32,
    /// Pages in use up to the high-water mark.
    pub page_count: u64,
    /// Free pages reusable now.
    pub free_page_count: u64,
    /// Freed pages waiting for older readers or the next durable sync.
    pub pending_page_count: u64,
    /// The file's size on disk, in bytes.
    pub file_size: u64,
    /// Id of the last committed transaction.
    pub last_txid: u64,
    /// Keys in the default keyspace.
    pub key_count: u64,
    /// All buckets, nested ones included.
    pub bucket_count: u64,
    /// Depth of the default keyspace's tree (0 when empty).
    pub tree_depth: u32,
    /// Open read transactions.
    pub reader_count: u32,
    /// Bytes of write-ahead log records the log's files still hold: written
    /// and not yet given back by a checkpoint (0 without a WAL; space the
    /// log allocated ahead is not counted).
    pub wal_size: u64,
    /// LSN of the last checkpoint (0 without a WAL).
    pub checkpoint_lsn: u64,
}

/// Opens the database file at `path`, creating and initialising it when it is
/// missing (unless `create` is false or the options are read-only) or has
/// zero length (unless read-only).
///
/// @param path borrowed for the call: NUL-terminated file path.
/// @param opts borrowed for the call: options, or NULL for the defaults.
/// @param out out (written on success, set to NULL on failure): the database;
/// owned by the caller, release with thunder_close().
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`path` or `out` NULL, empty
/// path, overflow threshold above half the page size); THUNDER_NOT_FOUND
/// (missing file with `create` false or read-only); THUNDER_LOCKED (another
/// process or open handle holds the file, or another open database uses the
/// write-ahead log directory); THUNDER_INCOMPATIBLE (not a thunder
/// file, other format version, other page size than set, empty file opened
/// read-only, a write-ahead log that belongs to another database, as when a
/// backup or compacted copy replaced the file: nothing is replayed, and
/// moving the log directory away opens the file as it is; a new file
/// whose log directory holds another database's records: nothing is
/// created or cleared);
/// THUNDER_CORRUPTED (both meta pages damaged, file truncated, a write-ahead
/// log missing (see thunder_options_set_discard_missing_wal) or damaged
/// before its tail, naming the segment and offset);
/// THUNDER_READ_ONLY (opened read-only while the write-ahead log holds
/// commits the data file lacks: replaying them needs a read-write open
/// once; nothing is changed); THUNDER_UNSUPPORTED (I/O backend not
/// available); THUNDER_IO (among others:
/// the file cannot be created, for example in a missing directory);
/// THUNDER_NO_SPACE; THUNDER_NO_MEMORY; THUNDER_INTERNAL.
///
/// # Safety
/// `path` must be NULL or NUL-terminated; `opts` NULL or a live options
/// handle; `out` NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn thunder_open(
    path: *const c_char,
    opts: *const thunder_options,
    out: *mut *mut thunder_db,
) -> thunder_status {
    // SAFETY: `out` is NULL or writable.
    unsafe { args::write_opt(out, std::ptr::null_mut()) };
    guard("thunder_open", || {
        if out.is_null() {
            return Err(args::null("out"));
        }
        // SAFETY: forwarded contracts.
        let path = unsafe { args::path("path", path)? };
        let opts = if opts.is_null() {
            Options::default()
        } else {
            // SAFETY: forwarded contract.
            unsafe { handles::get("opts", opts)? }.resolve()?
        };
        let db = Database::open_with_options(path, opts)?;
        // SAFETY: checked non-NULL above.
        unsafe { out.write(handles::into_raw(thunder_db::new(db))) };
        Ok(())
    })
}

/// Closes the database: checkpoints (every commit written to the data file
/// and made durable; with a write-ahead log, its segments trimmed) and
/// releases the file lock. Refused while transactions are open (the database stays open).
/// Bucket and cursor handles may outlive it (they report THUNDER_TXN_CLOSED).
///
/// @param db consumed on success (and on failures other than THUNDER_BUSY and
/// THUNDER_INVALID_ARGUMENT): the database; NULL is THUNDER_INVALID_ARGUMENT.
///
/// @return THUNDER_OK; THUNDER_BUSY (transactions open, or another thread's
/// call on `db` under way; `db` stays valid, the database open);
/// THUNDER_INVALID_ARGUMENT (`db` NULL or not a database); THUNDER_IO and
/// THUNDER_NO_SPACE (the final sync failed: the handle is released anyway and
/// commits after the last durable one may be lost); THUNDER_CORRUPTED (with a
/// write-ahead log: the durable meta no longer reads back when close marks
/// the log clean, the file damaged meanwhile; the handle is released);
/// THUNDER_INTERNAL.
///
/// # Safety
/// `db` must be NULL or a live database handle. While the close is
/// refused (a transaction is open) other threads' calls on `db` may run
/// alongside it; a close that can succeed frees the handle, and no call
/// may be under way or begin then.
#[no_mangle]
pub unsafe extern "C" fn thunder_close(db: *mut thunder_db) -> thunder_status {
    guard("thunder_close", || {
        // SAFETY: forwarded contract.
        let res = unsafe { handles::get("db", db)? }.close()?;
        // SAFETY: forwarded contract (no call on `db` begins once a close
        // got this far); checked live above.
        drop(unsafe { handles::release("db", db)? });
        res
    })
}

/// Makes every committed transaction durable. Needed only with
/// THUNDER_SYNC_BATCHED or THUNDER_SYNC_NONE; with THUNDER_SYNC_FULL every
/// commit already is. With a write-ahead log this syncs the log (the data
/// file waits for the next checkpoint); without one it syncs the data and
/// writes the meta.
///
/// @param db borrowed for the call: the database.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`db` NULL); THUNDER_BUSY
/// (called on the thread that began the open write transaction while a
/// weak-mode commit's free-set change still waits to be written, which
/// needs the writer: end the transaction, then call again; nothing
/// changed; on another thread the call waits for the transaction to end,
/// see thunder_txn_begin(); with a write-ahead log it needs no writer);
/// THUNDER_IO
/// (the database refuses writes from then on); THUNDER_NO_SPACE;
/// THUNDER_INTERNAL.
///
/// # Safety
/// `db` must be NULL or a live database handle.
#[no_mangle]
pub unsafe extern "C" fn thunder_sync(db: *mut thunder_db) -> thunder_status {
    guard("thunder_sync", || {
        // SAFETY: forwarded contract.
        unsafe { handles::get("db", db)? }.db()?.sync()
    })
}

/// Checkpoints: writes everything committed to the data file and makes it
/// the durable snapshot (data synced, meta written and synced). With a
/// write-ahead log, the space of the log records before it is given back
/// (older segments removed, a hole punched in the current one where the
/// filesystem can) and pages freed since the previous checkpoint become
/// reusable; without one this is thunder_sync().
///
/// @param db borrowed for the call: the database.
///
/// Called with a write-ahead log while a write transaction is open (on
/// any thread, this one included), it checkpoints the newest commit whose
/// free-set change is written, without waiting (the write transaction
/// would have to write the rest): the log keeps every later commit, so
/// everything committed stays durable.
///
/// @return as thunder_sync().
///
/// # Safety
/// `db` must be NULL or a live database handle.
#[no_mangle]
pub unsafe extern "C" fn thunder_checkpoint(db: *mut thunder_db) -> thunder_status {
    guard("thunder_checkpoint", || {
        // SAFETY: forwarded contract.
        unsafe { handles::get("db", db)? }.db()?.checkpoint()
    })
}

/// Fills `out` with statistics of the latest committed state.
///
/// @param db borrowed for the call: the database.
/// @param out out (written on success): the statistics.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`db` or `out` NULL);
/// THUNDER_CORRUPTED (the default keyspace's tree is damaged); THUNDER_IO;
/// THUNDER_INTERNAL.
///
/// # Safety
/// `db` must be NULL or a live database handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn thunder_stat(db: *mut thunder_db, out: *mut thunder_stats) -> thunder_status {
    guard("thunder_stat", || {
        // SAFETY: forwarded contract.
        let db = unsafe { handles::get("db", db)? };
        if out.is_null() {
            return Err(args::null("out"));
        }
        let s = db.db()?.stat()?;
        let stats = thunder_stats {
            page_size: s.page_size,
            page_count: s.page_count,
            free_page_count: s.free_page_count,
            pending_page_count: s.pending_page_count,
            file_size: s.file_size,
            last_txid: s.last_txid,
            key_count: s.key_count,
            bucket_count: s.bucket_count,
            tree_depth: s.tree_depth,
            reader_count: s.reader_count,
            wal_size: s.wal_size,
            checkpoint_lsn: s.checkpoint_lsn,
        };
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { out.write(stats) };
        Ok(())
    })
}

/// Verifies the whole latest committed state: the durable meta page as it
/// is on disk, every reachable page's checksum, type and layout, key order,
/// tree depth, counts, and that every page is exactly one of reachable or
/// free (none both, none leaked).
///
/// @param db borrowed for the call: the database.
///
/// @return THUNDER_OK; THUNDER_CORRUPTED (the first problem found, with the
/// page id, in thunder_last_error(); also, once the rest passed, the spare
/// meta page damaged: what a power cut during a meta write leaves, losing
/// nothing acknowledged, or damage at rest that may have lost the commit it
/// held; the next durable commit rewrites it); THUNDER_INVALID_ARGUMENT (`db` NULL);
/// THUNDER_IO (reading the meta pages); THUNDER_NO_MEMORY; THUNDER_INTERNAL.
///
/// # Safety
/// `db` must be NULL or a live database handle.
#[no_mangle]
pub unsafe extern "C" fn thunder_check(db: *mut thunder_db) -> thunder_status {
    guard("thunder_check", || {
        // SAFETY: forwarded contract.
        unsafe { handles::get("db", db)? }.db()?.check_strict().map(drop)
    })
}

/// Writes a consistent copy of the latest committed state to the new file
/// `dest_path`: a standalone database (no write-ahead log needed) holding
/// every commit, those not yet checkpointed included, with bucket sequences.
/// The pages are copied as they are (free pages become holes), so the copy
/// is as large as the database's used part; thunder_compact() writes a
/// smaller one. Readers and writers go on meanwhile, and the thread holding
/// the write transaction may call it: the copy reads a snapshot, as a read
/// transaction does (that transaction's uncommitted changes are not in it).
/// The copy is written to a temporary file beside `dest_path`
/// ("<dest_path>.tmp-<pid>-<n>"), synced, and only then linked to
/// `dest_path`, so a crash never leaves a partial copy under that name; on
/// failure the temporary file is removed. Nothing is ever overwritten.
/// The copy is a database of its own, with a new id: put in place of the
/// database (a restore) while the old "<path>.wal" directory is still
/// there, it refuses that log (THUNDER_INCOMPATIBLE from thunder_open())
/// rather than replay commits it does not hold; move the log away first.
///
/// @param db borrowed for the call: the database.
/// @param dest_path borrowed for the call: NUL-terminated path of the copy;
/// must not exist.
///
/// @return THUNDER_OK; THUNDER_INVALID_ARGUMENT (`db` or `dest_path` NULL,
/// empty path, `dest_path` exists, is the database itself, is named as a
/// log segment is ("NNNNNNNN.wal"), or "<dest_path>.wal" exists); THUNDER_IO (among others: a missing
/// directory, or a file system without hard links); THUNDER_NO_SPACE;
/// THUNDER_CORRUPTED (a page the copy needs is damaged; a damaged
/// freelist is not one: the copy gets a freelist of its own);
/// THUNDER_NO_MEMORY; THUNDER_INTERNAL.
///
/// # Safety
/// `db` must be NULL or a live database handle; `dest_path` NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn thunder_backup(db: *mut thunder_db, dest_path: *const c_char) -> thunder_status {
    guard("thunder_backup", || {
        // SAFETY: forwarded contracts.
        let (db, dest) = unsafe { (handles::get("db", db)?, args::path("dest_path", dest_path)?) };
        db.db()?.backup(dest).map(drop)
    })
}

/// Writes the latest committed state to the new file `dest_path` as a fresh,
/// densely packed database, as thunder_backup() but rebuilt rather than
/// copied: every bucket and key written again in key order so pages are
/// full, free space dropped, bucket sequences kept, same page size. Every
/// value is read and checked on the way (a damaged page or value fails it
/// with THUNDER_CORRUPTED). Takes longer than thunder_backup(); the result
/// is usually smaller.
///
/// @param db borrowed for the call: the database.
/// @param dest_path borrowed for the call: NUL-terminated path of the new
/// database; must not exist.
///
/// @return as thunder_backup().
///
/// # Safety
/// `db` must be NULL or a live database handle; `dest_path` NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn thunder_compact(db: *mut thunder_db, dest_path: *const c_char) -> thunder_status {
    guard("thunder_compact", || {
        // SAFETY: forwarded contracts.
        let (db, dest) = unsafe { (handles::get("db", db)?, args::path("dest_path", dest_path)?) };
        db.db()?.compact(dest).map(drop)
    })
}

/// The longest key this database accepts, in bytes: at least 1000 at 4 KiB
/// pages, growing with the page size.
///
/// @param db borrowed for the call: the database.
///
/// @return the size; 0 when `db` is NULL or not a database.
///
/// # Safety
/// `db` must be NULL or a live database handle.
#[no_mangle]
pub unsafe extern "C" fn thunder_max_key_size(db: *const thunder_db) -> usize {
    guard_value("thunder_max_key_size", 0, || {
        // SAFETY: forwarded contract.
        Ok(unsafe { handles::get("db", db)? }.db()?.max_key_size())
    })
}

/// The I/O backend writing this database and its write-ahead log: "sync",
/// "uring" or "direct". Under THUNDER_IO_AUTO this says which one was
/// chosen (sync in this version; see THUNDER_IO_AUTO); otherwise it is the
/// backend asked for.
///
/// @param db borrowed for the call: the database.
///
/// @return a static NUL-terminated string; never NULL; do not free. An
/// empty string when `db` is NULL or not a database (thunder_last_error()
/// then says why).
///
/// # Safety
/// `db` must be NULL or a live database handle.
#[no_mangle]
pub unsafe extern "C" fn thunder_io_backend_name(db: *const thunder_db) -> *const c_char {
    let name = guard_value("thunder_io_backend_name", c"", || {
        // SAFETY: forwarded contract.
        let name = unsafe { handles::get("db", db)? }.db()?.io_backend();
        Ok(match name {
            "sync" => c"sync",
            "uring" => c"uring",
            "direct" => c"direct",
            _ => c"",
        })
    });
    name.as_ptr()
}
