//! Tests of the Zig binding, each on a fresh database in a temporary
//! directory that gets the full integrity check before it is closed.

const std = @import("std");
const testing = std.testing;
const thunder = @import("thunder.zig");

/// An absolute path to `name` in `tmp`; the caller frees it.
pub fn tmpPath(tmp: testing.TmpDir, name: []const u8) ![:0]u8 {
    const dir = try tmp.dir.realpathAlloc(testing.allocator, ".");
    defer testing.allocator.free(dir);
    return std.fs.path.joinZ(testing.allocator, &.{ dir, name });
}

const TestDb = struct {
    tmp: testing.TmpDir,
    path: [:0]u8,
    db: thunder.Db,

    fn open(options: thunder.Options) !TestDb {
        var tmp = testing.tmpDir(.{});
        errdefer tmp.cleanup();
        const path = try tmpPath(tmp, "test.db");
        errdefer testing.allocator.free(path);
        return .{ .tmp = tmp, .path = path, .db = try thunder.Db.open(path, options) };
    }

    fn close(self: *TestDb) void {
        self.db.check() catch |err| std.debug.panic("check: {} {s}", .{ err, thunder.lastError() });
        self.db.close() catch |err| std.debug.panic("close: {} {s}", .{ err, thunder.lastError() });
        testing.allocator.free(self.path);
        self.tmp.cleanup();
    }
};

test "put, commit, reopen, get" {
    var t = try TestDb.open(.{});
    defer t.close();
    var w = try t.db.begin(.write);
    try w.put("hello", "world");
    try w.put("empty", "");
    try w.commit();
    try t.db.close();
    t.db = try thunder.Db.open(t.path, .{ .create = false });

    var r = try t.db.begin(.read);
    defer r.abort();
    try testing.expectEqualStrings("world", try r.get("hello"));
    try testing.expectEqualStrings("", try r.get("empty"));
    const copy = try r.getAlloc(testing.allocator, "hello");
    defer testing.allocator.free(copy);
    try testing.expectEqualStrings("world", copy);
}

test "statuses become errors, with the message in lastError" {
    var t = try TestDb.open(.{});
    defer t.close();
    var r = try t.db.begin(.read);
    defer r.abort();
    try testing.expectError(error.NotFound, r.get("missing"));
    try testing.expect(std.mem.indexOf(u8, thunder.lastError(), "not found") != null);
    try testing.expectError(error.ReadOnly, r.put("k", "v"));
    try testing.expectError(error.InvalidArgument, r.get(""));
    try testing.expectError(error.BucketNotFound, r.bucket("nope"));
    try testing.expectError(error.Busy, t.db.close()); // a transaction is open
}

test "a missing file with create false names the path" {
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    const path = try tmpPath(tmp, "missing.db");
    defer testing.allocator.free(path);
    try testing.expectError(error.NotFound, thunder.Db.open(path, .{ .create = false }));
    try testing.expect(std.mem.indexOf(u8, thunder.lastError(), path) != null);
    try testing.expectError(error.InvalidArgument, thunder.Db.open(path, .{ .page_size = 1000 }));
}

test "abort discards, flags, second writer on the thread is busy" {
    var t = try TestDb.open(.{ .sync_mode = .none });
    defer t.close();
    var w = try t.db.begin(.write);
    try w.put("k", "v");
    try testing.expectError(error.Busy, t.db.begin(.write));
    try testing.expectError(error.KeyExists, w.putFlags("k", "x", thunder.c.THUNDER_PUT_NO_OVERWRITE));
    try testing.expectError(error.InvalidArgument, w.putFlags("a", "x", thunder.c.THUNDER_PUT_APPEND));
    w.abort();
    var r = try t.db.begin(.read);
    defer r.abort();
    try testing.expectError(error.NotFound, r.get("k"));
}

test "buckets nest and keep their sequence" {
    var t = try TestDb.open(.{});
    defer t.close();
    {
        var w = try t.db.begin(.write);
        var users = try w.createBucket("users");
        defer users.close();
        try testing.expectError(error.BucketExists, w.createBucket("users"));
        var admins = try users.createBucket("admins");
        defer admins.close();
        try admins.put("alice", "root");
        try testing.expectEqual(@as(u64, 1), try users.nextSequence());
        try testing.expectEqual(@as(u64, 2), try users.nextSequence());
        try w.commit();
        // Handles outlive their transaction, and say so.
        try testing.expectError(error.TxnClosed, users.put("k", "v"));
    }
    var r = try t.db.begin(.read);
    defer r.abort();
    var users = try r.bucket("users");
    defer users.close();
    var admins = try users.bucket("admins");
    defer admins.close();
    try testing.expectEqualStrings("root", try admins.get("alice"));
    try testing.expectError(error.NotFound, r.get("alice"));
}

test "cursor walks, seeks and deletes" {
    var t = try TestDb.open(.{});
    defer t.close();
    var w = try t.db.begin(.write);
    var b = try w.createBucket("b");
    defer b.close();
    var buf: [8]u8 = undefined;
    for (0..10) |i| try b.put(try std.fmt.bufPrint(&buf, "k{d:0>2}", .{i}), "v");

    var cur = try b.cursor();
    defer cur.close();
    var n: usize = 0;
    while (try cur.next()) |e| : (n += 1) {
        try testing.expectEqualStrings(try std.fmt.bufPrint(&buf, "k{d:0>2}", .{n}), e.key);
        if (n % 2 == 0) try cur.delete();
    }
    try testing.expectEqual(@as(usize, 10), n);
    try testing.expectEqualStrings("k09", (try cur.prev()).?.key);
    try testing.expectEqualStrings("k05", (try cur.seek("k04")).?.key);
    try testing.expect((try cur.seek("z")) == null);
    try testing.expectEqualStrings("k01", (try cur.first()).?.key);
    try testing.expectEqualStrings("k09", (try cur.last()).?.key);
    try w.commit();
    try testing.expectError(error.TxnClosed, cur.next());
}

test "version and stats" {
    var t = try TestDb.open(.{ .page_size = 8192 });
    defer t.close();
    try testing.expect(std.mem.count(u8, thunder.version(), ".") == 2);
    const s = try t.db.stats();
    try testing.expectEqual(@as(u32, 8192), s.page_size);
}

// The README's Zig example (bindings/readme_check.sh keeps the two in sync).
test "readme example" {
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    const path = try tmpPath(tmp, "app.db");
    defer testing.allocator.free(path);
    var out = std.ArrayList(u8).init(testing.allocator);
    defer out.deinit();
    const stdout = out.writer();

    var db = try thunder.Db.open(path, .{});
    defer db.close() catch {};
    var w = try db.begin(.write);
    errdefer w.abort();
    try w.put("hello", "world");
    try w.commit();

    var r = try db.begin(.read);
    defer r.abort();
    const value = try r.get("hello"); // a view, valid until r ends
    try stdout.print("hello {s}\n", .{value});
    if (r.get("bob")) |_| unreachable else |err| {
        try stdout.print("{s}: {s}\n", .{ @errorName(err), thunder.lastError() });
    }

    try testing.expectEqualStrings("hello world\nNotFound: thunder_get: key not found\n", out.items);
}

test "the log in a directory of its own; a missing log refused unless discarded" {
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    const path = try tmpPath(tmp, "w.db");
    defer testing.allocator.free(path);
    const log = try tmpPath(tmp, "log");
    defer testing.allocator.free(log);
    const copy = try tmpPath(tmp, "copy.db");
    defer testing.allocator.free(copy);
    const opts: thunder.Options = .{ .wal = true, .wal_dir = log, .wal_segment_size = 1 << 20, .checkpoint_interval_secs = 3600 };

    var db = try thunder.Db.open(path, opts);
    var w = try db.begin(.write);
    try w.put("a", "1");
    try w.commit();
    // The log went where it was told, and the commit is in it, not yet in
    // a checkpoint: a copy of the file alone lacks it.
    var dir = try std.fs.openDirAbsolute(log, .{ .iterate = true });
    defer dir.close();
    var it = dir.iterate();
    try testing.expect((try it.next()) != null);
    try std.fs.copyFileAbsolute(path, copy, .{});
    try db.checkpoint();
    try testing.expect((try db.stats()).checkpoint_lsn > 0);
    try db.close();

    try testing.expectError(error.Corrupted, thunder.Db.open(copy, .{}));
    try testing.expect(std.mem.indexOf(u8, thunder.lastError(), "holds no write-ahead log") != null);
    var lost = try thunder.Db.open(copy, .{ .discard_missing_wal = true });
    try lost.check();
    try lost.close();

    var again = try thunder.Db.open(path, opts);
    defer again.close() catch unreachable;
    var r = try again.begin(.read);
    defer r.abort();
    try testing.expectEqualStrings("1", try r.get("a"));
}
