"""Loading libthunder with ctypes and declaring the C functions used."""

import ctypes
import ctypes.util
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# bindings/python/thunder -> the repository root, whose build/lib `make lib` fills.
_REPO_BUILD = _HERE.parents[2] / "build" / "lib"


class Bytes(ctypes.Structure):
    """thunder_bytes: a view of bytes owned by the database."""

    _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class CStats(ctypes.Structure):
    """thunder_stats, field for field."""

    _fields_ = [
        ("page_size", ctypes.c_uint32),
        ("page_count", ctypes.c_uint64),
        ("free_page_count", ctypes.c_uint64),
        ("pending_page_count", ctypes.c_uint64),
        ("file_size", ctypes.c_uint64),
        ("last_txid", ctypes.c_uint64),
        ("key_count", ctypes.c_uint64),
        ("bucket_count", ctypes.c_uint64),
        ("tree_depth", ctypes.c_uint32),
        ("reader_count", ctypes.c_uint32),
        ("wal_size", ctypes.c_uint64),
        ("checkpoint_lsn", ctypes.c_uint64),
    ]


def _candidates():
    """Where the library is looked for, in order."""
    env = os.environ.get("THUNDER_LIB")
    if env:
        return [env]  # an explicit choice is never second-guessed
    found = ctypes.util.find_library("thunder")
    return [str(p) for p in (_HERE / "libthunder.so", _HERE.parent / "libthunder.so", _REPO_BUILD / "libthunder.so")
            if p.exists()] + ([found] if found else [])


def _load():
    tried = _candidates()
    errors = []
    for path in tried:
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError(
        "thunder: cannot load libthunder: set THUNDER_LIB to the library's path, put libthunder.so "
        f"next to the package, or run `make lib` in the repository ({'; '.join(errors) or 'nothing found'})"
    )


lib = _load()
lib_path = lib._name  # the file loaded, as found

_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_buf = ctypes.c_char_p
_n = ctypes.c_size_t
_st = ctypes.c_int
_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
_bytes = ctypes.POINTER(Bytes)

_SIGNATURES = {
    "thunder_version": (ctypes.c_char_p, []),
    "thunder_strerror": (ctypes.c_char_p, [ctypes.c_int32]),
    "thunder_last_error": (ctypes.c_char_p, []),
    "thunder_options_new": (_st, [_pp]),
    "thunder_options_free": (None, [_p]),
    "thunder_options_set_page_size": (_st, [_p, _u32]),
    "thunder_options_set_overflow_threshold": (_st, [_p, _u32]),
    "thunder_options_set_read_only": (_st, [_p, ctypes.c_bool]),
    "thunder_options_set_create": (_st, [_p, ctypes.c_bool]),
    "thunder_options_set_sync_mode": (_st, [_p, _u32]),
    "thunder_options_set_sync_interval_ms": (_st, [_p, _u32]),
    "thunder_options_set_io_backend": (_st, [_p, _u32]),
    "thunder_options_set_write_buffer_size": (_st, [_p, _n]),
    "thunder_options_set_max_size": (_st, [_p, _u64]),
    "thunder_options_set_autosync_bytes": (_st, [_p, _u64]),
    "thunder_options_set_wal": (_st, [_p, ctypes.c_bool]),
    "thunder_options_set_wal_dir": (_st, [_p, ctypes.c_char_p]),
    "thunder_options_set_wal_segment_size": (_st, [_p, _u64]),
    "thunder_options_set_checkpoint_interval_secs": (_st, [_p, _u32]),
    "thunder_options_set_checkpoint_wal_threshold": (_st, [_p, _u64]),
    "thunder_options_set_discard_missing_wal": (_st, [_p, ctypes.c_bool]),
    "thunder_options_set_lock_timeout_ms": (_st, [_p, _u32]),
    "thunder_options_preset_nvme": (_st, [_p]),
    "thunder_open": (_st, [ctypes.c_char_p, _p, _pp]),
    "thunder_close": (_st, [_p]),
    "thunder_sync": (_st, [_p]),
    "thunder_checkpoint": (_st, [_p]),
    "thunder_stat": (_st, [_p, ctypes.POINTER(CStats)]),
    "thunder_check": (_st, [_p]),
    "thunder_max_key_size": (_n, [_p]),
    "thunder_txn_begin": (_st, [_p, _u32, _pp]),
    "thunder_txn_commit": (_st, [_p]),
    "thunder_txn_abort": (None, [_p]),
    "thunder_txn_id": (_u64, [_p]),
    "thunder_get": (_st, [_p, _buf, _n, _bytes]),
    "thunder_put": (_st, [_p, _buf, _n, _buf, _n, _u32]),
    "thunder_delete": (_st, [_p, _buf, _n]),
    "thunder_bucket_create": (_st, [_p, _p, _buf, _n, _pp]),
    "thunder_bucket_create_if_missing": (_st, [_p, _p, _buf, _n, _pp]),
    "thunder_bucket_open": (_st, [_p, _p, _buf, _n, _pp]),
    "thunder_bucket_delete": (_st, [_p, _p, _buf, _n]),
    "thunder_bucket_close": (None, [_p]),
    "thunder_bucket_get": (_st, [_p, _buf, _n, _bytes]),
    "thunder_bucket_put": (_st, [_p, _buf, _n, _buf, _n, _u32]),
    "thunder_bucket_delete_key": (_st, [_p, _buf, _n]),
    "thunder_bucket_next_sequence": (_st, [_p, ctypes.POINTER(_u64)]),
    "thunder_cursor_open": (_st, [_p, _p, _pp]),
    "thunder_bucket_cursor_open": (_st, [_p, _p, _pp]),
    "thunder_cursor_first": (_st, [_p, _bytes, _bytes]),
    "thunder_cursor_last": (_st, [_p, _bytes, _bytes]),
    "thunder_cursor_next": (_st, [_p, _bytes, _bytes]),
    "thunder_cursor_prev": (_st, [_p, _bytes, _bytes]),
    "thunder_cursor_seek": (_st, [_p, _buf, _n, _bytes, _bytes]),
    "thunder_cursor_delete": (_st, [_p]),
    "thunder_cursor_close": (None, [_p]),
}

for _fn, (_res, _args) in _SIGNATURES.items():
    getattr(lib, _fn).restype = _res
    getattr(lib, _fn).argtypes = _args

PUT_NO_OVERWRITE = 1
PUT_APPEND = 2
TXN_READ, TXN_WRITE, TXN_WRITE_NOWAIT = 0, 1, 2
