import pytest

import thunder


@pytest.fixture
def filled(db):
    with db.update() as tx:
        b = tx.create_bucket(b"b")
        for i in range(10):
            b[b"k%02d" % i] = b"%d" % i
    return db


def keys(items):
    return [k for k, _ in items]


def test_iterates_in_order_both_ways(filled):
    with filled.view() as tx:
        b = tx.bucket(b"b")
        assert keys(b.cursor()) == [b"k%02d" % i for i in range(10)]
        assert keys(reversed(b.cursor())) == [b"k%02d" % i for i in reversed(range(10))]


def test_seek_then_iterate(filled):
    with filled.view() as tx:
        c = tx.bucket(b"b").cursor()
        assert c.seek(b"k04x") == (b"k05", b"5")
        assert keys(c) == [b"k05", b"k06", b"k07", b"k08", b"k09"]
        assert c.seek(b"z") is None
        assert list(c) == []
        assert c.prev() == (b"k09", b"9")  # from past the end, back to the last item
        assert c.seek(b"") == (b"k00", b"0")
        assert keys(reversed(c)) == [b"k00"]


def test_moves(filled):
    with filled.view() as tx:
        c = tx.bucket(b"b").cursor()
        assert c.next() == (b"k00", b"0")  # unpositioned: next is first
        assert c.last() == (b"k09", b"9")
        assert c.next() is None and c.next() is None
        assert c.first() == (b"k00", b"0") and c.prev() is None


def test_delete_while_iterating(filled):
    with filled.update() as tx:
        c = tx.bucket(b"b").cursor()
        for k, v in c:
            if int(v) % 2 == 0:
                c.delete()
                with pytest.raises(thunder.NotFoundError):
                    c.delete()
    with filled.view() as tx:
        assert keys(tx.bucket(b"b").cursor()) == [b"k01", b"k03", b"k05", b"k07", b"k09"]


def test_cursor_closed_with_transaction(filled):
    with filled.view() as tx:
        c = tx.cursor()
        with tx.cursor() as c2:
            pass
        with pytest.raises(thunder.TxnClosedError):
            c2.first()
    with pytest.raises(thunder.TxnClosedError):
        c.first()


def test_delete_in_read_transaction(filled):
    with filled.view() as tx:
        c = tx.bucket(b"b").cursor()
        c.first()
        with pytest.raises(thunder.ReadOnlyError):
            c.delete()
