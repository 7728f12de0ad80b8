"""Misuse and bad input through the binding: each test failed before its fix."""

import threading
import time

import pytest

import thunder


# Bug: options are passed to ctypes c_uint32/c_uint64 without range checks,
# so out-of-range ints wrap silently.
def test_page_size_out_of_range_is_refused(tmp_path):
    with pytest.raises((ValueError, OverflowError, thunder.InvalidArgumentError)):
        db = thunder.open(tmp_path / "w.db", page_size=2**32 + 8192)
        ps = db.stats().page_size
        db.close()
        pytest.fail(f"page_size=2**32+8192 accepted, database created with page size {ps}")


def test_negative_lock_timeout_is_refused(tmp_path):
    with pytest.raises((ValueError, OverflowError, thunder.InvalidArgumentError)):
        # -1 wraps to 4294967295 ms (49.7 days) instead of failing
        thunder.open(tmp_path / "w.db", lock_timeout_ms=-1).close()


# Bug: a path with an embedded NUL is silently truncated by c_char_p.
def test_path_with_nul_is_refused(tmp_path):
    p = str(tmp_path / "a.db") + "\0suffix"
    with pytest.raises((ValueError, thunder.InvalidArgumentError)):
        thunder.open(p).close()
    assert not (tmp_path / "a.db").exists(), "opened/created the truncated path a.db"


# Bug: get()/in swallow BucketNotFoundError (a KeyError) of a deleted bucket.
def test_get_on_deleted_bucket_raises(db):
    with db.update() as tx:
        b = tx.create_bucket(b"b")
        b[b"k"] = b"v"
        tx.delete_bucket(b"b")
        with pytest.raises(thunder.BucketNotFoundError):
            b[b"k"]  # correct
        with pytest.raises(thunder.BucketNotFoundError):
            b.get(b"k")  # returns None instead


# Bug: iterating a cursor replays the cached current item, which is stale
# once the keyspace was changed through other calls.
def test_cursor_iteration_does_not_yield_deleted_item(db):
    with db.update() as tx:
        for k in (b"a", b"b", b"c"):
            tx[k] = b"old"
        c = tx.cursor()
        assert c.first() == (b"a", b"old")
        del tx[b"a"]
        tx[b"b"] = b"new"
        items = list(c)
        assert b"a" not in [k for k, _ in items], f"deleted key yielded: {items}"


def test_cursor_iteration_yields_current_value(db):
    with db.update() as tx:
        tx[b"a"] = b"old"
        tx[b"b"] = b"x"
        c = tx.cursor()
        assert c.first() == (b"a", b"old")
        tx[b"a"] = b"new"
        assert list(c)[0] == (b"a", b"new")


# Bug: Transaction has no lock: a commit on one thread releases the C handle
# while another thread is about to pass it to the library (use after free;
# the library's magic check "usually" catches it as InvalidArgument).
def test_concurrent_use_during_commit_gives_txn_closed_only(db):
    with db.update() as tx:
        tx[b"k"] = b"v"
    seen = {}
    for _ in range(3000):
        tx = db.view()

        def reader():
            for _ in range(20):
                try:
                    tx.get(b"k")
                except thunder.ThunderError as e:
                    seen[type(e).__name__] = seen.get(type(e).__name__, 0) + 1

        t = threading.Thread(target=reader)
        t.start()
        tx.commit()
        t.join()
    assert set(seen) <= {"TxnClosedError"}, f"stale C handle reached the library: {seen}"


# Bug: a transaction referred to itself (and its buckets and cursors to it,
# and it to them), so an abandoned one was freed only by the cycle
# collector: until that ran, an abandoned write transaction kept the writer
# and a read transaction its snapshot.
@pytest.mark.parametrize("opens", [(), ("bucket",), ("bucket", "cursor")])
def test_an_abandoned_write_transaction_gives_the_writer_back_at_once(db, opens):
    import gc

    gc.disable()
    try:
        tx = db.begin(write=True)
        held = []
        if "bucket" in opens:
            held.append(tx.create_bucket(b"b"))
        if "cursor" in opens:
            held.append(tx.cursor())
        del tx, held
        db.begin(write=True, wait=False).abort()  # BusyError while it lived
        assert db.stats().reader_count == 0
    finally:
        gc.enable()
