"""Cursors: ordered walks over a keyspace."""

import ctypes

from ._lib import Bytes, lib
from .errors import NotFoundError, TxnClosedError, check


def _item(k, v):
    return ctypes.string_at(k.data, k.len), ctypes.string_at(v.data, v.len)


class Cursor:
    """A position in a keyspace, in key order. The moves (first, last, next,
    prev, seek) return the (key, value) they land on as bytes, or None past
    either end. Iterating a cursor yields items forward from its current
    item (from the first when it is unpositioned); reversed() yields them
    backward. Released when its transaction ends, or by close().

        with db.view() as tx:
            c = tx.cursor()
            c.seek(b"m")
            for key, value in c:   # from the first key >= b"m"
                ...
    """

    def __init__(self, txn, handle):
        self._txn = txn
        self._h = handle
        self._current = None  # the item under the cursor, if any

    def _live(self):
        if self._h is None:
            raise TxnClosedError("cursor used after its transaction ended or close()")
        return self._h

    def _move(self, fn, *args):
        with self._txn._lock:
            h = self._live()
            k, v = Bytes(), Bytes()
            try:
                check(fn(h, *args, ctypes.byref(k), ctypes.byref(v)))
            except NotFoundError:
                self._current = None
                return None
            self._current = _item(k, v)
            return self._current

    def first(self):
        return self._move(lib.thunder_cursor_first)

    def last(self):
        return self._move(lib.thunder_cursor_last)

    def next(self):
        """The next item (the first when unpositioned); None past the end,
        where the cursor stays (prev() then returns the last item)."""
        return self._move(lib.thunder_cursor_next)

    def prev(self):
        return self._move(lib.thunder_cursor_prev)

    def seek(self, key):
        """Moves to the first item whose key is >= key (b"": the first item)."""
        key = _arg(key, "key")
        return self._move(lib.thunder_cursor_seek, key, len(key))

    def delete(self):
        """Deletes the current item; afterwards there is none, and next()
        returns the item after it. NotFoundError without a current item."""
        with self._txn._lock:
            check(lib.thunder_cursor_delete(self._live()))
            self._current = None

    def _walk(self, step):
        if self._current is not None:
            # The cached item may be stale (changed or deleted through other
            # calls since the move): read it again from the library.
            key = self._current[0]
            item = self.seek(key)
            if step == self.prev and (item is None or item[0] != key):
                item = self.prev()  # key deleted: seek passed it; go back before it
            if item is not None:
                yield item
        while (item := step()) is not None:
            yield item

    def __iter__(self):
        return self._walk(self.next)

    def __reversed__(self):
        return self._walk(self.prev)

    def close(self):
        """Releases the cursor now instead of at the end of its transaction."""
        with self._txn._lock:
            lib.thunder_cursor_close(self._h)
            self._h = None

    def __del__(self):
        # Valid at any time, also after the transaction ended.
        if getattr(self, "_h", None) is not None:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _arg(b, what):
    """Keys, values and names are bytes-like; str is refused, not encoded."""
    if isinstance(b, bytes):
        return b
    if isinstance(b, (bytearray, memoryview)):
        return bytes(b)
    raise TypeError(f"thunder: {what} must be bytes, not {type(b).__name__}")
