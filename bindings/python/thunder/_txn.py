"""Transactions and buckets: the keyspaces."""

import ctypes
import threading
import weakref

from ._cursor import Cursor, _arg
from ._lib import PUT_APPEND, PUT_NO_OVERWRITE, Bytes, lib
from .errors import NotFoundError, TxnClosedError, check


class _Keyspace:
    """What a transaction's default keyspace and a bucket share: keys and
    values, child buckets, cursors. Subclasses give the C calls."""

    def _txn_handle(self):
        raise NotImplementedError

    def _parent(self):
        """The C parent handle of child buckets (NULL: the top level)."""
        raise NotImplementedError

    def get(self, key, default=None):
        """The value of key (bytes), or default if it is absent."""
        try:
            return self[key]
        except NotFoundError:  # not BucketNotFoundError (a deleted bucket), also a KeyError
            return default

    def __getitem__(self, key):
        key = _arg(key, "key")
        v = Bytes()
        with self._txn._lock:  # the handle stays live, and v valid, meanwhile
            check(self._c_get(key, ctypes.byref(v)))
            return ctypes.string_at(v.data, v.len)

    def __contains__(self, key):
        return self.get(key) is not None

    def put(self, key, value, *, no_overwrite=False, append=False):
        """Stores value under key. no_overwrite: KeyExistsError if present;
        append: the key is greater than every key here (InvalidArgumentError
        if not)."""
        key, value = _arg(key, "key"), _arg(value, "value")
        flags = (PUT_NO_OVERWRITE if no_overwrite else 0) | (PUT_APPEND if append else 0)
        with self._txn._lock:
            check(self._c_put(key, value, flags))

    def __setitem__(self, key, value):
        self.put(key, value)

    def delete(self, key):
        """Deletes key; NotFoundError (a KeyError) if it is absent."""
        key = _arg(key, "key")
        with self._txn._lock:
            check(self._c_delete(key))

    def __delitem__(self, key):
        self.delete(key)

    def _open_bucket(self, fn, name):
        name = _arg(name, "name")
        out = ctypes.c_void_p()
        with self._txn._lock:
            check(fn(self._txn_handle(), self._parent(), name, len(name), ctypes.byref(out)))
            return self._txn._adopt(Bucket(self._txn, out.value))

    def bucket(self, name):
        """Opens child bucket name; BucketNotFoundError if it is missing."""
        return self._open_bucket(lib.thunder_bucket_open, name)

    def create_bucket(self, name, exist_ok=False):
        """Creates child bucket name; BucketExistsError if it is present,
        unless exist_ok."""
        fn = lib.thunder_bucket_create_if_missing if exist_ok else lib.thunder_bucket_create
        return self._open_bucket(fn, name)

    def delete_bucket(self, name):
        """Deletes child bucket name with all it holds."""
        name = _arg(name, "name")
        with self._txn._lock:
            check(lib.thunder_bucket_delete(self._txn_handle(), self._parent(), name, len(name)))

    def _open_cursor(self, fn, arg):
        out = ctypes.c_void_p()
        with self._txn._lock:
            check(fn(self._txn_handle(), arg, ctypes.byref(out)))
            return self._txn._adopt(Cursor(self._txn, out.value))

    def cursor(self):
        """A cursor over the keys, released with the transaction."""
        with self._txn._lock:
            return self._open_cursor(lib.thunder_cursor_open, self._parent())

    def buckets(self):
        """The names of the child buckets, in order."""
        with self._txn._lock:
            c = self._open_cursor(lib.thunder_bucket_cursor_open, self._parent())
        with c:
            return [k for k, _ in c]

    def items(self):
        """All (key, value) pairs in key order, as a list."""
        with self.cursor() as c:
            return list(c)


class Transaction(_Keyspace):
    """A read or write transaction; its own keyspace is the default one.

    As a context manager it commits when the block ends normally and aborts
    when it raises. It must not be used by two threads at once. Buckets and
    cursors opened in it are released when it ends.
    """

    def __init__(self, db, handle, write):
        self._db = db
        self._h = handle
        self.writable = write
        # Weak: a bucket or cursor keeps its transaction alive, not the
        # other way round, so that nothing here is a reference cycle and an
        # abandoned transaction ends as soon as the last reference goes,
        # not when the cycle collector runs (a write transaction holds the
        # writer until then).
        self._children = []
        # Serialises each C call on this transaction's handles with its end:
        # another thread's commit must not release a handle in use.
        self._lock = threading.RLock()

    @property
    def _txn(self):
        # The transaction a keyspace belongs to: itself (a property, not an
        # attribute, which would be a reference cycle).
        return self

    def _adopt(self, child):
        self._children.append(weakref.ref(child))
        return child

    def _txn_handle(self):
        if self._h is None:
            raise TxnClosedError("transaction used after it ended")
        return self._h

    def _parent(self):
        self._txn_handle()
        return None

    def _c_get(self, key, out):
        return lib.thunder_get(self._txn_handle(), key, len(key), out)

    def _c_put(self, key, value, flags):
        return lib.thunder_put(self._txn_handle(), key, len(key), value, len(value), flags)

    def _c_delete(self, key):
        return lib.thunder_delete(self._txn_handle(), key, len(key))

    @property
    def id(self):
        """The txid a write transaction's commit will get, or the txid of a
        read transaction's snapshot; 0 once ended."""
        with self._lock:
            return lib.thunder_txn_id(self._h) if self._h is not None else 0

    @property
    def closed(self):
        return self._h is None

    def _end(self, release):
        with self._lock:
            h = self._txn_handle()
            self._h = None
            for ref in self._children:
                child = ref()
                if child is not None:
                    child.close()
            self._children = []
            release(h)

    def commit(self):
        """Commits (durably under the default sync mode); the transaction
        ends either way: a failed commit has rolled back."""
        self._end(lambda h: check(lib.thunder_txn_commit(h)))

    def abort(self):
        """Ends the transaction, discarding a write transaction's changes."""
        self._end(lib.thunder_txn_abort)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._h is None:
            return
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def __del__(self):
        # A forgotten transaction would hold the writer (or pin pages) forever.
        if getattr(self, "_h", None) is not None:
            self.abort()


class Bucket(_Keyspace):
    """A named keyspace in a transaction; buckets nest. Valid until its
    transaction ends."""

    def __init__(self, txn, handle):
        self._txn = txn
        self._h = handle

    def _handle(self):
        if self._h is None:
            raise TxnClosedError("bucket used after its transaction ended")
        return self._h

    def _txn_handle(self):
        self._handle()
        return self._txn._txn_handle()

    def _parent(self):
        return self._handle()

    def _c_get(self, key, out):
        return lib.thunder_bucket_get(self._handle(), key, len(key), out)

    def _c_put(self, key, value, flags):
        return lib.thunder_bucket_put(self._handle(), key, len(key), value, len(value), flags)

    def _c_delete(self, key):
        return lib.thunder_bucket_delete_key(self._handle(), key, len(key))

    def next_sequence(self):
        """Increments and returns the bucket's persisted sequence (1 first)."""
        out = ctypes.c_uint64()
        with self._txn._lock:
            check(lib.thunder_bucket_next_sequence(self._handle(), ctypes.byref(out)))
        return out.value

    def close(self):
        with self._txn._lock:
            lib.thunder_bucket_close(self._h)
            self._h = None

    def __del__(self):
        # Valid at any time, also after the transaction ended.
        if getattr(self, "_h", None) is not None:
            self.close()
