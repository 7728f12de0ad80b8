"""Opening a database, its options, and the database object."""

import ctypes
import os
import threading
from collections import namedtuple

from ._lib import TXN_READ, TXN_WRITE, TXN_WRITE_NOWAIT, CStats, lib
from ._txn import Transaction
from .errors import BusyError, InvalidArgumentError, check

SYNC_MODES = {"full": 0, "batched": 1, "none": 2}
IO_BACKENDS = {"auto": 0, "sync": 1, "uring": 2, "direct": 3}


def _named(table, what):
    def convert(v):
        if isinstance(v, str):
            if v not in table:
                raise ValueError(f"thunder: unknown {what} {v!r} (one of {', '.join(table)})")
            return table[v]
        return int(v)

    return convert


# open() keyword -> (thunder_options_set_* suffix, converter)
_OPTIONS = {
    "page_size": ("page_size", int),
    "overflow_threshold": ("overflow_threshold", int),
    "read_only": ("read_only", bool),
    "create": ("create", bool),
    "sync_mode": ("sync_mode", _named(SYNC_MODES, "sync mode")),
    "sync_interval_ms": ("sync_interval_ms", int),
    "io_backend": ("io_backend", _named(IO_BACKENDS, "I/O backend")),
    "write_buffer_size": ("write_buffer_size", int),
    "max_size": ("max_size", int),
    "autosync_bytes": ("autosync_bytes", int),
    "wal": ("wal", bool),
    "wal_dir": ("wal_dir", os.fsencode),
    "wal_segment_size": ("wal_segment_size", int),
    "checkpoint_interval_secs": ("checkpoint_interval_secs", int),
    "checkpoint_wal_threshold": ("checkpoint_wal_threshold", int),
    "discard_missing_wal": ("discard_missing_wal", bool),
    "lock_timeout_ms": ("lock_timeout_ms", int),
}

Stats = namedtuple("Stats", [name for name, _ in CStats._fields_])


_UNSIGNED_BITS = {ctypes.c_uint32: 32, ctypes.c_uint64: 64, ctypes.c_size_t: 8 * ctypes.sizeof(ctypes.c_size_t)}


def _check_range(key, value, ctype):
    """ctypes wraps out-of-range ints silently (-1 -> 2**32 - 1): refuse them."""
    if ctype is ctypes.c_char_p:
        if b"\0" in value:
            raise ValueError(f"thunder.open: {key} contains a NUL byte")
        return
    bits = _UNSIGNED_BITS.get(ctype)
    if bits is not None and not 0 <= value < 2**bits:
        raise ValueError(f"thunder.open: {key}={value} is out of range (0 to {2**bits - 1})")


def _options(options):
    """Builds thunder_options from open()'s keywords; the caller frees them."""
    unknown = set(options) - set(_OPTIONS) - {"preset_nvme"}
    if unknown:
        raise TypeError(f"thunder.open: unknown option(s) {', '.join(sorted(unknown))}")
    opts = ctypes.c_void_p()
    check(lib.thunder_options_new(ctypes.byref(opts)))
    try:
        if options.get("preset_nvme"):
            check(lib.thunder_options_preset_nvme(opts))
        for key, value in options.items():
            if key in _OPTIONS:
                setter, convert = _OPTIONS[key]
                fn = getattr(lib, "thunder_options_set_" + setter)
                value = convert(value)
                _check_range(key, value, fn.argtypes[1])
                check(fn(opts, value))
    except BaseException:
        lib.thunder_options_free(opts)
        raise
    return opts


def open(path, **options):  # noqa: A001 - the module's entry point, like io.open
    """Opens (by default creating) the database file at path.

    Options are keywords named after the thunder_options_set_* functions:
    page_size, overflow_threshold, read_only, create, sync_mode ("full",
    "batched", "none"), sync_interval_ms, io_backend ("auto", "sync",
    "uring", "direct"), write_buffer_size, max_size, autosync_bytes, wal,
    wal_dir, wal_segment_size, checkpoint_interval_secs,
    checkpoint_wal_threshold, discard_missing_wal, lock_timeout_ms, and
    preset_nvme=True.
    """
    cpath = os.fsencode(path)
    if b"\0" in cpath:
        raise ValueError("thunder.open: path contains a NUL byte")
    opts = _options(options) if options else None
    try:
        out = ctypes.c_void_p()
        check(lib.thunder_open(cpath, opts, ctypes.byref(out)))
    finally:
        lib.thunder_options_free(opts)
    return Database(os.fspath(path), out.value)


class Database:
    """An open database; any number of threads may share it. Use it as a
    context manager, or call close()."""

    def __init__(self, path, handle):
        self.path = path
        self._h = handle
        self._lock = threading.Lock()
        self._calls = 0  # C calls in progress on the handle (close refuses while any)

    def _call(self, fn, *args):
        """Runs fn(handle, *args) with the handle kept alive meanwhile."""
        with self._lock:
            if self._h is None:
                raise ValueError("thunder: operation on a closed database")
            self._calls += 1
            h = self._h
        try:
            return fn(h, *args)
        finally:
            with self._lock:
                self._calls -= 1

    def close(self):
        """Checkpoints and closes. BusyError (and the database stays open)
        while transactions are open. Closing twice is fine."""
        with self._lock:
            if self._h is None:
                return
            if self._calls:
                raise BusyError("close while other calls on the database are in progress")
            status = lib.thunder_close(self._h)
            if status not in (BusyError.status, InvalidArgumentError.status):  # else released
                self._h = None
            check(status)

    @property
    def closed(self):
        return self._h is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_h", None) is not None:
            try:
                self.close()
            except Exception:
                pass

    def begin(self, write=False, wait=True):
        """Begins a transaction: a read snapshot, or with write=True the write
        transaction (which waits for another to end, or with wait=False
        raises BusyError). Use it as a context manager, or end it with
        commit() or abort()."""
        mode = (TXN_WRITE if wait else TXN_WRITE_NOWAIT) if write else TXN_READ
        out = ctypes.c_void_p()
        self._call(lambda h: check(lib.thunder_txn_begin(h, mode, ctypes.byref(out))))
        return Transaction(self, out.value, write)

    def view(self):
        """A read transaction: `with db.view() as tx: ...`."""
        return self.begin(write=False)

    def update(self):
        """The write transaction: `with db.update() as tx: ...` commits at the
        end of the block, or aborts if it raises."""
        return self.begin(write=True)

    def sync(self):
        self._call(lambda h: check(lib.thunder_sync(h)))

    def checkpoint(self):
        self._call(lambda h: check(lib.thunder_checkpoint(h)))

    def check(self):
        """The full integrity check; CorruptedError names the first problem."""
        self._call(lambda h: check(lib.thunder_check(h)))

    def stats(self):
        s = CStats()
        self._call(lambda h: check(lib.thunder_stat(h, ctypes.byref(s))))
        return Stats(*(getattr(s, name) for name in Stats._fields))

    @property
    def max_key_size(self):
        return self._call(lib.thunder_max_key_size)
