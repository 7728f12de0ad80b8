import pytest

import thunder


def test_buckets_nest(db):
    with db.update() as tx:
        users = tx.create_bucket(b"users")
        with pytest.raises(thunder.BucketExistsError):
            tx.create_bucket(b"users")
        assert tx.create_bucket(b"users", exist_ok=True) is not None
        admins = users.create_bucket(b"admins")
        admins[b"alice"] = b"root"
        users[b"admins"] = b"a key"  # keys and buckets are separate namespaces
        tx.create_bucket(b"groups")
    with db.view() as tx:
        assert tx.buckets() == [b"groups", b"users"]
        users = tx.bucket(b"users")
        assert users.buckets() == [b"admins"]
        assert users.bucket(b"admins")[b"alice"] == b"root"
        assert users[b"admins"] == b"a key"
        assert tx.get(b"alice") is None
        with pytest.raises(thunder.BucketNotFoundError):
            tx.bucket(b"nope")


def test_delete_bucket_and_stale_handles(db):
    with db.update() as tx:
        b = tx.create_bucket(b"b")
        b[b"k"] = b"v"
        tx.delete_bucket(b"b")
        with pytest.raises(thunder.BucketNotFoundError):
            b[b"k"] = b"v"
    with pytest.raises(thunder.TxnClosedError):
        b.get(b"k")
    with pytest.raises(thunder.TxnClosedError):
        b.bucket(b"x")


def test_next_sequence(db):
    with db.update() as tx:
        b = tx.create_bucket(b"b")
        assert [b.next_sequence() for _ in range(3)] == [1, 2, 3]
    with db.update() as tx:
        assert tx.bucket(b"b").next_sequence() == 4
        tx.abort()
    with db.update() as tx:
        assert tx.bucket(b"b").next_sequence() == 4
