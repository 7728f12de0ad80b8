"""One exception class per thunder_status, all under ThunderError."""

from ._lib import lib


class ThunderError(Exception):
    """A failed thunder call: `status` is the thunder_status code, `message`
    the library's description of this failure (thunder_last_error())."""

    status = None

    def __init__(self, message="", status=None):
        if status is not None:
            self.status = status
        self.message = message
        desc = lib.thunder_strerror(self.status if self.status is not None else -1).decode()
        super().__init__(f"{desc}: {message}" if message else desc)

    def __str__(self):
        # KeyError would show the repr of its argument.
        return Exception.__str__(self)


class NotFoundError(ThunderError, KeyError):
    status = 1


class KeyExistsError(ThunderError):
    status = 2


class BucketNotFoundError(ThunderError, KeyError):
    status = 3


class BucketExistsError(ThunderError):
    status = 4


class InvalidArgumentError(ThunderError, ValueError):
    status = 10


class KeyTooLargeError(ThunderError, ValueError):
    status = 11


class ValueTooLargeError(ThunderError, ValueError):
    status = 12


class ReadOnlyError(ThunderError):
    status = 13


class TxnClosedError(ThunderError):
    status = 14


class BusyError(ThunderError):
    status = 15


class LockedError(ThunderError):
    status = 16


class ThunderIOError(ThunderError):
    status = 20


class NoSpaceError(ThunderError):
    status = 21


class CorruptedError(ThunderError):
    status = 22


class IncompatibleError(ThunderError):
    status = 23


class UnsupportedError(ThunderError):
    status = 24


class NoMemoryError(ThunderError):
    status = 25


class InternalError(ThunderError):
    status = 99


BY_STATUS = {cls.status: cls for cls in ThunderError.__subclasses__()}


def check(status):
    """Raises the exception for a failed call. Called right after the call,
    on the same thread: thunder_last_error() is thread-local."""
    if status != 0:
        message = lib.thunder_last_error().decode("utf-8", "replace")
        raise BY_STATUS.get(status, ThunderError)(message, status=status)
