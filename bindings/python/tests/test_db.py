import shutil
import threading

import pytest

import thunder


def test_version():
    assert thunder.__version__.count(".") == 2


def test_context_manager_closes_and_reopen_keeps_data(tmp_path):
    path = tmp_path / "a.db"
    with thunder.open(path) as db:
        with db.update() as tx:
            tx[b"k"] = b"v"
    assert db.closed
    with pytest.raises(ValueError):
        db.begin()
    with thunder.open(str(path), create=False) as db:
        with db.view() as tx:
            assert tx[b"k"] == b"v"


def test_missing_file_error_carries_last_error(tmp_path):
    path = tmp_path / "missing.db"
    with pytest.raises(thunder.NotFoundError) as e:
        thunder.open(path, create=False)
    assert e.value.status == 1
    assert str(path) in e.value.message
    assert str(path) in str(e.value)
    assert isinstance(e.value, thunder.ThunderError) and isinstance(e.value, KeyError)


def test_second_open_is_locked(db):
    with pytest.raises(thunder.LockedError):
        thunder.open(db.path)


def test_options(tmp_path):
    with pytest.raises(TypeError):
        thunder.open(tmp_path / "a.db", page_sise=4096)
    with pytest.raises(thunder.InvalidArgumentError):
        thunder.open(tmp_path / "a.db", page_size=1000)
    with pytest.raises(ValueError):
        thunder.open(tmp_path / "a.db", sync_mode="sometimes")
    path = tmp_path / "b.db"
    opts = dict(page_size=8192, sync_mode="none", wal=True, wal_dir=tmp_path / "log",
                checkpoint_interval_secs=0, lock_timeout_ms=10, max_size=1 << 30)
    with thunder.open(path, **opts) as db:
        with db.update() as tx:
            tx[b"a"] = b"1"
        db.sync()
        s = db.stats()
        assert s.page_size == 8192 and s.key_count == 1 and s.wal_size > 0
        db.checkpoint()
        assert db.max_key_size > 1000
    with thunder.open(path, read_only=True) as db:
        with pytest.raises(thunder.ReadOnlyError):
            db.update()
        with db.view() as tx:
            assert tx[b"a"] == b"1"


def test_a_missing_log_is_refused_unless_discarded(tmp_path):
    """A copy of the file of an open logged database, without its log."""
    path, copy = tmp_path / "w.db", tmp_path / "copy.db"
    with thunder.open(path, wal=True) as db:
        with db.update() as tx:
            tx[b"a"] = b"1"
        shutil.copyfile(path, copy)
    with pytest.raises(thunder.CorruptedError, match="holds no write-ahead log"):
        thunder.open(copy)
    with thunder.open(copy, discard_missing_wal=True) as db:
        db.check()


def test_close_refused_with_open_transaction(db):
    tx = db.view()
    with pytest.raises(thunder.BusyError):
        db.close()
    tx.abort()
    db.close()
    db.close()  # twice is fine


def test_last_error_is_per_thread(tmp_path):
    """Failures on two threads at once each carry their own message."""
    results = {}
    barrier = threading.Barrier(2)

    def fail(name):
        barrier.wait()
        for _ in range(200):
            try:
                thunder.open(tmp_path / name, create=False)
            except thunder.NotFoundError as e:
                if name not in e.message:
                    results[name] = e.message
                    return
        results[name] = "ok"

    threads = [threading.Thread(target=fail, args=(n,)) for n in ("first.db", "second.db")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"first.db": "ok", "second.db": "ok"}
