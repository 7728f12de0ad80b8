//! Zig binding of thunder, an embedded, transactional, ordered key-value
//! store: a thin layer over include/thunder.h (imported with @cImport) that
//! turns statuses into an error set and handles into structs with methods.
//!
//! Every call that fails returns an `Error`; `lastError()` then describes
//! the failure (path, page id, ...) until the next thunder call on the same
//! thread. Slices the calls return (values, cursor keys) are views into the
//! database: valid until the transaction ends or, in a write transaction,
//! until its next modifying call. Buckets and cursors are closed by their
//! owner (`defer b.close()`), also after their transaction ended.
//!
//! `Db`, `Txn`, `Bucket` and `Cursor` are handles: `Db.close`, `Txn.commit`,
//! `Txn.abort`, `Bucket.close` and `Cursor.close` take a pointer and clear
//! the handle, so that later calls through that variable fail (error.Closed,
//! error.TxnClosed) instead of handing the library a released handle. A copy
//! made before is not cleared: do not use copies after the original ended.
//! A Bucket reaches its Txn through a pointer, to see whether it ended: keep
//! the Txn at its address (not moved, in scope) while its buckets are used.

const std = @import("std");

pub const c = @cImport(@cInclude("thunder.h"));

/// One error per thunder_status other than THUNDER_OK.
pub const Error = error{
    NotFound,
    KeyExists,
    BucketNotFound,
    BucketExists,
    InvalidArgument,
    KeyTooLarge,
    ValueTooLarge,
    ReadOnly,
    TxnClosed,
    Busy,
    Locked,
    Io,
    NoSpace,
    Corrupted,
    Incompatible,
    Unsupported,
    OutOfMemory,
    Internal,
    /// A status this binding does not know (a newer library).
    Unknown,
    /// A Db, Bucket or Cursor used after its own close (the binding's own
    /// error: the library is not called, lastError() is not updated).
    Closed,
};

/// Maps a thunder_status to the error union: `try ok(c.thunder_sync(db))`.
pub fn ok(status: c.thunder_status) Error!void {
    return switch (status) {
        c.THUNDER_OK => {},
        c.THUNDER_NOT_FOUND => error.NotFound,
        c.THUNDER_KEY_EXISTS => error.KeyExists,
        c.THUNDER_BUCKET_NOT_FOUND => error.BucketNotFound,
        c.THUNDER_BUCKET_EXISTS => error.BucketExists,
        c.THUNDER_INVALID_ARGUMENT => error.InvalidArgument,
        c.THUNDER_KEY_TOO_LARGE => error.KeyTooLarge,
        c.THUNDER_VALUE_TOO_LARGE => error.ValueTooLarge,
        c.THUNDER_READ_ONLY => error.ReadOnly,
        c.THUNDER_TXN_CLOSED => error.TxnClosed,
        c.THUNDER_BUSY => error.Busy,
        c.THUNDER_LOCKED => error.Locked,
        c.THUNDER_IO => error.Io,
        c.THUNDER_NO_SPACE => error.NoSpace,
        c.THUNDER_CORRUPTED => error.Corrupted,
        c.THUNDER_INCOMPATIBLE => error.Incompatible,
        c.THUNDER_UNSUPPORTED => error.Unsupported,
        c.THUNDER_NO_MEMORY => error.OutOfMemory,
        c.THUNDER_INTERNAL => error.Internal,
        else => error.Unknown,
    };
}

/// The message of the last failure on this thread (thunder_last_error()),
/// valid until the next thunder call on this thread.
pub fn lastError() [:0]const u8 {
    return std.mem.span(c.thunder_last_error());
}

/// The library's version, "MAJOR.MINOR.PATCH".
pub fn version() [:0]const u8 {
    return std.mem.span(c.thunder_version());
}

pub const SyncMode = enum(u32) {
    full = c.THUNDER_SYNC_FULL,
    batched = c.THUNDER_SYNC_BATCHED,
    none = c.THUNDER_SYNC_NONE,
};

/// Options for Db.open; null keeps the library's default.
pub const Options = struct {
    page_size: ?u32 = null,
    read_only: bool = false,
    create: bool = true,
    sync_mode: SyncMode = .full,
    /// Interval of SyncMode.batched's background sync.
    sync_interval_ms: ?u32 = null,
    /// Pages pinned only by the durable snapshot that make a steady point.
    autosync_bytes: ?u64 = null,
    wal: bool = false,
    /// The log's directory (default: `<path>.wal`).
    wal_dir: ?[:0]const u8 = null,
    wal_segment_size: ?u64 = null,
    checkpoint_interval_secs: ?u32 = null,
    checkpoint_wal_threshold: ?u64 = null,
    /// Open a database whose log is lost for good as of its checkpoint
    /// (see thunder_options_set_discard_missing_wal).
    discard_missing_wal: bool = false,
    max_size: ?u64 = null,
    lock_timeout_ms: ?u32 = null,

    fn build(self: Options) Error!*c.thunder_options {
        var o: ?*c.thunder_options = null;
        try ok(c.thunder_options_new(&o));
        errdefer c.thunder_options_free(o);
        if (self.page_size) |v| try ok(c.thunder_options_set_page_size(o, v));
        try ok(c.thunder_options_set_read_only(o, self.read_only));
        try ok(c.thunder_options_set_create(o, self.create));
        try ok(c.thunder_options_set_sync_mode(o, @intFromEnum(self.sync_mode)));
        if (self.sync_interval_ms) |v| try ok(c.thunder_options_set_sync_interval_ms(o, v));
        if (self.autosync_bytes) |v| try ok(c.thunder_options_set_autosync_bytes(o, v));
        try ok(c.thunder_options_set_wal(o, self.wal));
        if (self.wal_dir) |v| try ok(c.thunder_options_set_wal_dir(o, v.ptr));
        if (self.wal_segment_size) |v| try ok(c.thunder_options_set_wal_segment_size(o, v));
        if (self.checkpoint_interval_secs) |v| try ok(c.thunder_options_set_checkpoint_interval_secs(o, v));
        if (self.checkpoint_wal_threshold) |v| try ok(c.thunder_options_set_checkpoint_wal_threshold(o, v));
        try ok(c.thunder_options_set_discard_missing_wal(o, self.discard_missing_wal));
        if (self.max_size) |v| try ok(c.thunder_options_set_max_size(o, v));
        if (self.lock_timeout_ms) |v| try ok(c.thunder_options_set_lock_timeout_ms(o, v));
        return o.?;
    }
};

/// A key and value a cursor landed on (views).
pub const Entry = struct { key: []const u8, value: []const u8 };

fn slice(b: c.thunder_bytes) []const u8 {
    return b.data[0..b.len];
}

/// An open database; shared by any number of threads. close clears
/// `handle`; every call through a closed Db is error.Closed.
pub const Db = struct {
    handle: ?*c.thunder_db,

    fn live(self: Db) Error!*c.thunder_db {
        return self.handle orelse error.Closed;
    }

    pub fn open(path: [:0]const u8, options: Options) Error!Db {
        const o = try options.build();
        defer c.thunder_options_free(o);
        var h: ?*c.thunder_db = null;
        try ok(c.thunder_open(path.ptr, o, &h));
        return .{ .handle = h.? };
    }

    /// Checkpoints and closes; error.Busy (and the database stays open)
    /// while transactions are open. Clears `handle` unless the database
    /// stays open (error.Busy); error.Closed if already closed. Close a Db
    /// shared between threads once, after every other user is done: the
    /// other threads' copies are not cleared.
    pub fn close(self: *Db) Error!void {
        const h = try self.live();
        ok(c.thunder_close(h)) catch |err| {
            // The library releases the handle on every failure but these.
            if (err != error.Busy and err != error.InvalidArgument) self.handle = null;
            return err;
        };
        self.handle = null;
    }

    pub const Mode = enum(u32) {
        read = c.THUNDER_TXN_READ,
        write = c.THUNDER_TXN_WRITE,
        write_nowait = c.THUNDER_TXN_WRITE_NOWAIT,
    };

    /// Begins a transaction; end it with commit or abort.
    pub fn begin(self: Db, mode: Mode) Error!Txn {
        var h: ?*c.thunder_txn = null;
        try ok(c.thunder_txn_begin(try self.live(), @intFromEnum(mode), &h));
        return .{ .handle = h.? };
    }

    pub fn sync(self: Db) Error!void {
        try ok(c.thunder_sync(try self.live()));
    }

    /// Syncs the data file and writes a meta that makes everything
    /// committed durable without the log (thunder_checkpoint).
    pub fn checkpoint(self: Db) Error!void {
        try ok(c.thunder_checkpoint(try self.live()));
    }

    /// The full integrity check.
    pub fn check(self: Db) Error!void {
        try ok(c.thunder_check(try self.live()));
    }

    pub fn stats(self: Db) Error!c.thunder_stats {
        var s: c.thunder_stats = undefined;
        try ok(c.thunder_stat(try self.live(), &s));
        return s;
    }
};

/// A read or write transaction; its own keyspace is the default one.
/// commit and abort end it and clear `handle`, so that
/// `var tx = try db.begin(.write); errdefer tx.abort();` is safe also when
/// commit fails (a failed commit has rolled back and released it). Buckets
/// opened through it keep a pointer to it: keep it in place while they are
/// in use.
pub const Txn = struct {
    handle: ?*c.thunder_txn,

    fn live(self: Txn) Error!*c.thunder_txn {
        return self.handle orelse error.TxnClosed;
    }

    /// Commits (durably under SyncMode.full). The transaction ends either
    /// way: a failed commit has rolled back.
    pub fn commit(self: *Txn) Error!void {
        const h = try self.live();
        self.handle = null;
        try ok(c.thunder_txn_commit(h));
    }

    /// Ends the transaction, discarding a write transaction's changes; a
    /// no-op on an ended one.
    pub fn abort(self: *Txn) void {
        c.thunder_txn_abort(self.handle);
        self.handle = null;
    }

    /// The txid (see thunder_txn_id); 0 once ended.
    pub fn id(self: Txn) u64 {
        return c.thunder_txn_id(self.handle);
    }

    /// The value of key, a view; error.NotFound if absent.
    pub fn get(self: Txn, key: []const u8) Error![]const u8 {
        var v: c.thunder_bytes = undefined;
        try ok(c.thunder_get(try self.live(), key.ptr, key.len, &v));
        return slice(v);
    }

    /// A copy of the value of key, owned by the caller.
    pub fn getAlloc(self: Txn, allocator: std.mem.Allocator, key: []const u8) (Error || std.mem.Allocator.Error)![]u8 {
        return allocator.dupe(u8, try self.get(key));
    }

    pub fn put(self: Txn, key: []const u8, value: []const u8) Error!void {
        try self.putFlags(key, value, 0);
    }

    /// put with c.THUNDER_PUT_NO_OVERWRITE and/or c.THUNDER_PUT_APPEND.
    pub fn putFlags(self: Txn, key: []const u8, value: []const u8, flags: u32) Error!void {
        try ok(c.thunder_put(try self.live(), key.ptr, key.len, value.ptr, value.len, flags));
    }

    /// Deletes key; error.NotFound if absent.
    pub fn delete(self: Txn, key: []const u8) Error!void {
        try ok(c.thunder_delete(try self.live(), key.ptr, key.len));
    }

    /// Opens top-level bucket name; close it with Bucket.close.
    pub fn bucket(self: *const Txn, name: []const u8) Error!Bucket {
        return Bucket.openIn(self, null, name, c.thunder_bucket_open);
    }

    pub fn createBucket(self: *const Txn, name: []const u8) Error!Bucket {
        return Bucket.openIn(self, null, name, c.thunder_bucket_create);
    }

    pub fn createBucketIfMissing(self: *const Txn, name: []const u8) Error!Bucket {
        return Bucket.openIn(self, null, name, c.thunder_bucket_create_if_missing);
    }

    pub fn deleteBucket(self: Txn, name: []const u8) Error!void {
        try ok(c.thunder_bucket_delete(try self.live(), null, name.ptr, name.len));
    }

    /// A cursor over the default keyspace; close it with Cursor.close.
    pub fn cursor(self: Txn) Error!Cursor {
        return Cursor.open(try self.live(), null);
    }
};

/// A named keyspace of a transaction; buckets nest. Once the transaction
/// ended, every call but close is error.TxnClosed; after close, error.Closed.
pub const Bucket = struct {
    /// The transaction it was opened in, for its liveness: the raw
    /// thunder_txn would be released (and could be reused) once it ends.
    txn: *const Txn,
    handle: ?*c.thunder_bucket,

    const OpenFn = fn (?*c.thunder_txn, ?*c.thunder_bucket, [*c]const u8, usize, [*c]?*c.thunder_bucket) callconv(.c) c.thunder_status;

    fn openIn(txn: *const Txn, parent: ?*c.thunder_bucket, name: []const u8, comptime f: OpenFn) Error!Bucket {
        var h: ?*c.thunder_bucket = null;
        try ok(f(try txn.live(), parent, name.ptr, name.len, &h));
        return .{ .txn = txn, .handle = h.? };
    }

    fn live(self: Bucket) Error!*c.thunder_bucket {
        return self.handle orelse error.Closed;
    }

    /// Releases the handle (also valid after the transaction ended) and
    /// clears it; a no-op on a closed one.
    pub fn close(self: *Bucket) void {
        c.thunder_bucket_close(self.handle);
        self.handle = null;
    }

    pub fn get(self: Bucket, key: []const u8) Error![]const u8 {
        var v: c.thunder_bytes = undefined;
        try ok(c.thunder_bucket_get(try self.live(), key.ptr, key.len, &v));
        return slice(v);
    }

    pub fn put(self: Bucket, key: []const u8, value: []const u8) Error!void {
        try ok(c.thunder_bucket_put(try self.live(), key.ptr, key.len, value.ptr, value.len, 0));
    }

    pub fn delete(self: Bucket, key: []const u8) Error!void {
        try ok(c.thunder_bucket_delete_key(try self.live(), key.ptr, key.len));
    }

    /// Increments and returns the bucket's persisted sequence (1 first).
    pub fn nextSequence(self: Bucket) Error!u64 {
        var n: u64 = 0;
        try ok(c.thunder_bucket_next_sequence(try self.live(), &n));
        return n;
    }

    pub fn bucket(self: Bucket, name: []const u8) Error!Bucket {
        return openIn(self.txn, try self.live(), name, c.thunder_bucket_open);
    }

    pub fn createBucket(self: Bucket, name: []const u8) Error!Bucket {
        return openIn(self.txn, try self.live(), name, c.thunder_bucket_create);
    }

    pub fn cursor(self: Bucket) Error!Cursor {
        const b = try self.live();
        return Cursor.open(try self.txn.live(), b);
    }
};

/// A position in a keyspace, in key order. Moves return the entry landed
/// on, or null past either end. Once the transaction ended, every call but
/// close is error.TxnClosed; after close, error.Closed.
pub const Cursor = struct {
    handle: ?*c.thunder_cursor,

    fn open(txn: *c.thunder_txn, b: ?*c.thunder_bucket) Error!Cursor {
        var h: ?*c.thunder_cursor = null;
        try ok(c.thunder_cursor_open(txn, b, &h));
        return .{ .handle = h.? };
    }

    fn live(self: Cursor) Error!*c.thunder_cursor {
        return self.handle orelse error.Closed;
    }

    /// Releases the handle (also valid after the transaction ended) and
    /// clears it; a no-op on a closed one.
    pub fn close(self: *Cursor) void {
        c.thunder_cursor_close(self.handle);
        self.handle = null;
    }

    const MoveFn = fn (?*c.thunder_cursor, [*c]c.thunder_bytes, [*c]c.thunder_bytes) callconv(.c) c.thunder_status;

    fn move(self: Cursor, comptime f: MoveFn) Error!?Entry {
        var k: c.thunder_bytes = undefined;
        var v: c.thunder_bytes = undefined;
        return entry(f(try self.live(), &k, &v), k, v);
    }

    fn entry(status: c.thunder_status, k: c.thunder_bytes, v: c.thunder_bytes) Error!?Entry {
        ok(status) catch |err| return if (err == error.NotFound) null else err;
        return .{ .key = slice(k), .value = slice(v) };
    }

    pub fn first(self: Cursor) Error!?Entry {
        return self.move(c.thunder_cursor_first);
    }

    pub fn last(self: Cursor) Error!?Entry {
        return self.move(c.thunder_cursor_last);
    }

    /// The next entry (the first when unpositioned): `while (try cur.next()) |e| ...`.
    pub fn next(self: Cursor) Error!?Entry {
        return self.move(c.thunder_cursor_next);
    }

    pub fn prev(self: Cursor) Error!?Entry {
        return self.move(c.thunder_cursor_prev);
    }

    /// Moves to the first entry whose key is >= key.
    pub fn seek(self: Cursor, key: []const u8) Error!?Entry {
        var k: c.thunder_bytes = undefined;
        var v: c.thunder_bytes = undefined;
        return entry(c.thunder_cursor_seek(try self.live(), key.ptr, key.len, &k, &v), k, v);
    }

    /// Deletes the entry under the cursor; next() then returns the one after it.
    pub fn delete(self: Cursor) Error!void {
        try ok(c.thunder_cursor_delete(try self.live()));
    }
};

test {
    _ = @import("thunder_test.zig");
    _ = @import("misuse_test.zig");
}
