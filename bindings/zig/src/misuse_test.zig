//! Misuse through the binding (closed and ended handles): each test failed before its fix.

const std = @import("std");
const testing = std.testing;
const thunder = @import("thunder.zig");

const tmpPath = @import("thunder_test.zig").tmpPath;

// Bug: Bucket keeps the raw thunder_txn pointer; after the transaction ended
// it is passed to the library as if live. The contract (and the Go/Python
// bindings) give TxnClosed for a handle used after its transaction ended.
test "misuse: child bucket and cursor of a bucket after commit are TxnClosed" {
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    const path = try tmpPath(tmp, "z1.db");
    defer testing.allocator.free(path);
    var db = try thunder.Db.open(path, .{});
    defer db.close() catch unreachable;

    var w = try db.begin(.write);
    var b = try w.createBucket("b");
    defer b.close();
    _ = try b.createBucket("child");
    try w.commit();

    try testing.expectError(error.TxnClosed, b.get("k")); // passes: bucket handle checked by C
    try testing.expectError(error.TxnClosed, b.bucket("child")); // stale txn pointer
    try testing.expectError(error.TxnClosed, b.cursor()); // stale txn pointer
}

// Bug: Db.close takes Db by value and cannot clear the handle: a closed Db
// still holds the freed thunder_db pointer, and every later call hands
// freed memory to the library. When the allocator hands the same block to
// the next database opened, the stale Db silently operates on that other
// database.
test "misuse: a closed Db must not reach another database" {
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    const pa = try tmpPath(tmp, "a.db");
    defer testing.allocator.free(pa);
    const pb = try tmpPath(tmp, "b.db");
    defer testing.allocator.free(pb);

    var a = try thunder.Db.open(pa, .{});
    try a.close();
    var b = try thunder.Db.open(pb, .{});
    defer b.close() catch {};

    // Misuse: a after close. Must be an error, and must not write into b.
    if (a.begin(.write)) |tx_const| {
        var tx = tx_const;
        try tx.put("written-through-a", "x");
        try tx.commit();
    } else |_| {}

    var r = try b.begin(.read);
    defer r.abort();
    try testing.expectError(error.NotFound, r.get("written-through-a"));
}

// Bug, the other handles: close clears them, so that a later call is
// error.Closed instead of a released handle reaching the library (a closed
// Bucket passed as a parent would otherwise be NULL: the top level).
test "misuse: closed Db, Bucket and Cursor are error.Closed" {
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    const path = try tmpPath(tmp, "z2.db");
    defer testing.allocator.free(path);
    var db = try thunder.Db.open(path, .{});

    var w = try db.begin(.write);
    errdefer w.abort();
    _ = try w.createBucket("top"); // a top-level bucket a NULL parent would reach
    var b = try w.createBucket("b");
    try b.put("k", "v");
    var cur = try b.cursor();
    try testing.expectEqualStrings("k", (try cur.first()).?.key);
    cur.close();
    try testing.expectError(error.Closed, cur.next());
    try testing.expectError(error.Closed, cur.delete());
    cur.close(); // a no-op
    b.close();
    try testing.expectError(error.Closed, b.get("k"));
    try testing.expectError(error.Closed, b.put("k", "v"));
    try testing.expectError(error.Closed, b.bucket("top"));
    try testing.expectError(error.Closed, b.cursor());
    b.close(); // a no-op
    try w.commit();

    try db.close();
    try testing.expectError(error.Closed, db.close());
    try testing.expectError(error.Closed, db.begin(.read));
    try testing.expectError(error.Closed, db.sync());
    try testing.expectError(error.Closed, db.check());
    try testing.expectError(error.Closed, db.stats());
}
