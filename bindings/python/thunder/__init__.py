"""thunder: an embedded, transactional, ordered key-value store (ctypes
binding of libthunder).

    import thunder

    with thunder.open("app.db") as db:
        with db.update() as tx:          # commits, or aborts on an exception
            users = tx.create_bucket(b"users", exist_ok=True)
            users[b"alice"] = b"admin"
        with db.view() as tx:
            print(tx.bucket(b"users")[b"alice"])

Keys, values and bucket names are bytes. Each failure raises the
ThunderError subclass of its status, carrying the library's message.
The library is loaded from $THUNDER_LIB, from next to this package, from
the repository's build/lib, or from the system's library path.
"""

from ._cursor import Cursor
from ._db import Database, Stats, open
from ._lib import lib as _cdll
from ._lib import lib_path as library_path
from ._txn import Bucket, Transaction
from .errors import (
    BucketExistsError,
    BucketNotFoundError,
    BusyError,
    CorruptedError,
    IncompatibleError,
    InternalError,
    InvalidArgumentError,
    KeyExistsError,
    KeyTooLargeError,
    LockedError,
    NoMemoryError,
    NoSpaceError,
    NotFoundError,
    ReadOnlyError,
    ThunderError,
    ThunderIOError,
    TxnClosedError,
    UnsupportedError,
    ValueTooLargeError,
)

__version__ = _cdll.thunder_version().decode()

__all__ = [
    "open", "library_path", "Database", "Transaction", "Bucket", "Cursor", "Stats", "ThunderError",
    "NotFoundError", "KeyExistsError", "BucketNotFoundError", "BucketExistsError",
    "InvalidArgumentError", "KeyTooLargeError", "ValueTooLargeError", "ReadOnlyError",
    "TxnClosedError", "BusyError", "LockedError", "ThunderIOError", "NoSpaceError",
    "CorruptedError", "IncompatibleError", "UnsupportedError", "NoMemoryError", "InternalError",
]
