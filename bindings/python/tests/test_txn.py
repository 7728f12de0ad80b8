import threading

import pytest

import thunder


def test_put_get_delete(db):
    with db.update() as tx:
        tx.put(b"a", b"1")
        tx[b"b"] = bytearray(b"2")
        tx.put(b"empty", b"")
        assert tx[b"a"] == b"1"
    with db.view() as tx:
        assert tx.get(b"a") == b"1" and tx[b"b"] == b"2"
        assert tx[b"empty"] == b"" and b"empty" in tx
        assert tx.get(b"zz") is None and tx.get(b"zz", b"d") == b"d" and b"zz" not in tx
        with pytest.raises(KeyError):
            tx[b"zz"]
    with db.update() as tx:
        del tx[b"a"]
        with pytest.raises(thunder.NotFoundError):
            tx.delete(b"a")
    with db.view() as tx:
        assert tx.get(b"a") is None


def test_exception_aborts(db):
    with pytest.raises(RuntimeError):
        with db.update() as tx:
            tx[b"k"] = b"v"
            raise RuntimeError("boom")
    with db.view() as tx:
        assert tx.get(b"k") is None
    with db.update() as tx:  # the writer was released
        tx[b"k"] = b"v"


def test_explicit_commit_and_abort(db):
    tx = db.begin(write=True)
    assert tx.writable and tx.id > 0
    tx[b"k"] = b"v"
    tx.abort()
    assert tx.closed and tx.id == 0
    with pytest.raises(thunder.TxnClosedError):
        tx[b"k"] = b"v"
    tx = db.begin(write=True)
    tx[b"k"] = b"v2"
    tx.commit()
    with db.view() as tx:
        assert tx[b"k"] == b"v2"


def test_bytes_only(db):
    with db.update() as tx:
        with pytest.raises(TypeError):
            tx["str"] = b"v"
        with pytest.raises(TypeError):
            tx[b"k"] = "str"
        with pytest.raises(thunder.InvalidArgumentError):
            tx[b""] = b"empty key"
        with pytest.raises(thunder.KeyTooLargeError):
            tx[b"x" * 100000] = b""


def test_flags(db):
    with db.update() as tx:
        tx.put(b"b", b"1", no_overwrite=True)
        with pytest.raises(thunder.KeyExistsError):
            tx.put(b"b", b"2", no_overwrite=True)
        with pytest.raises(thunder.InvalidArgumentError):
            tx.put(b"a", b"x", append=True)
        tx.put(b"c", b"3", append=True)
    with db.view() as tx:
        assert tx.items() == [(b"b", b"1"), (b"c", b"3")]


def test_read_transaction_refuses_writes(db):
    with db.view() as tx:
        with pytest.raises(thunder.ReadOnlyError):
            tx[b"k"] = b"v"


def test_snapshot_isolation(db):
    with db.update() as tx:
        tx[b"k"] = b"old"
    with db.view() as old:
        with db.update() as tx:
            tx[b"k"] = b"new"
        assert old[b"k"] == b"old"


def test_second_writer_on_same_thread_is_busy(db):
    with db.update():
        with pytest.raises(thunder.BusyError):
            db.update()
        with db.view():
            pass


def test_writer_nowait(db):
    holder = db.update()
    errors = []
    t = threading.Thread(target=lambda: errors.append(_try_nowait(db)))
    t.start()
    t.join()
    holder.abort()
    assert errors == ["busy"]


def _try_nowait(db):
    try:
        db.begin(write=True, wait=False).abort()
        return "began"
    except thunder.BusyError:
        return "busy"


def test_concurrent_writers(tmp_path):
    with thunder.open(tmp_path / "c.db", sync_mode="none") as db:
        def work():
            for _ in range(50):
                with db.update() as tx:
                    tx[b"n"] = str(int(tx.get(b"n", b"0")) + 1).encode()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with db.view() as tx:
            assert tx[b"n"] == b"200"
