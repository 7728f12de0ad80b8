//! `thunder_status`: the C view of `ErrorKind`, one value per kind.
#![allow(non_camel_case_types)]

use crate::error::ErrorKind;

/// The result of every fallible thunder function. `THUNDER_OK` (0) is success.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum thunder_status {
    /// Success.
    THUNDER_OK = 0,
    /// Key absent; cursor moved past either end; missing file.
    THUNDER_NOT_FOUND = 1,
    /// A put with THUNDER_PUT_NO_OVERWRITE found the key.
    THUNDER_KEY_EXISTS = 2,
    THUNDER_BUCKET_NOT_FOUND = 3,
    THUNDER_BUCKET_EXISTS = 4,
    /// NULL pointer, empty key, bad flag or option, handle of another
    /// transaction, or a length above PTRDIFF_MAX, which no buffer has (a
    /// negative length cast to size_t, say): that is this status, not
    /// THUNDER_KEY_TOO_LARGE or THUNDER_VALUE_TOO_LARGE.
    THUNDER_INVALID_ARGUMENT = 10,
    /// A key longer than thunder_max_key_size() (up to PTRDIFF_MAX bytes).
    THUNDER_KEY_TOO_LARGE = 11,
    /// A value longer than 4 GiB - 1 bytes (up to PTRDIFF_MAX bytes).
    THUNDER_VALUE_TOO_LARGE = 12,
    /// A write in a read transaction or on a read-only database.
    THUNDER_READ_ONLY = 13,
    /// A bucket or cursor handle used after its transaction ended.
    THUNDER_TXN_CLOSED = 14,
    /// Writer taken (NOWAIT), close with open transactions, second write
    /// transaction on the same thread.
    THUNDER_BUSY = 15,
    /// Another process (or another open handle) holds the file lock.
    THUNDER_LOCKED = 16,
    /// OS-level I/O failure.
    THUNDER_IO = 20,
    /// Disk full, or the configured max size reached.
    THUNDER_NO_SPACE = 21,
    /// Checksum mismatch, malformed page.
    THUNDER_CORRUPTED = 22,
    /// Not a thunder file, other format version or page size.
    THUNDER_INCOMPATIBLE = 23,
    /// Feature not available on this platform or build.
    THUNDER_UNSUPPORTED = 24,
    THUNDER_NO_MEMORY = 25,
    /// A bug: a caught panic or a broken invariant.
    THUNDER_INTERNAL = 99,
}

impl From<ErrorKind> for thunder_status {
    fn from(k: ErrorKind) -> thunder_status {
        use thunder_status::*;
        match k {
            ErrorKind::NotFound => THUNDER_NOT_FOUND,
            ErrorKind::KeyExists => THUNDER_KEY_EXISTS,
            ErrorKind::BucketNotFound => THUNDER_BUCKET_NOT_FOUND,
            ErrorKind::BucketExists => THUNDER_BUCKET_EXISTS,
            ErrorKind::InvalidArgument => THUNDER_INVALID_ARGUMENT,
            ErrorKind::KeyTooLarge => THUNDER_KEY_TOO_LARGE,
            ErrorKind::ValueTooLarge => THUNDER_VALUE_TOO_LARGE,
            ErrorKind::ReadOnly => THUNDER_READ_ONLY,
            ErrorKind::TxnClosed => THUNDER_TXN_CLOSED,
            ErrorKind::Busy => THUNDER_BUSY,
            ErrorKind::Locked => THUNDER_LOCKED,
            ErrorKind::Io => THUNDER_IO,
            ErrorKind::NoSpace => THUNDER_NO_SPACE,
            ErrorKind::Corrupted => THUNDER_CORRUPTED,
            ErrorKind::Incompatible => THUNDER_INCOMPATIBLE,
            ErrorKind::Unsupported => THUNDER_UNSUPPORTED,
            ErrorKind::NoMemory => THUNDER_NO_MEMORY,
            ErrorKind::Internal => THUNDER_INTERNAL,
        }
    }
}

/// The static description of a status code (any integer).
pub(crate) fn describe(code: i32) -> &'static std::ffi::CStr {
    match code {
        0 => c"success",
        1 => c"not found",
        2 => c"key already exists",
        3 => c"bucket not found",
        4 => c"bucket already exists",
        10 => c"invalid argument",
        11 => c"key too large",
        12 => c"value too large",
        13 => c"read-only transaction or database",
        14 => c"transaction closed",
        15 => c"busy",
        16 => c"locked by another process",
        20 => c"I/O error",
        21 => c"no space left (disk full or max size reached)",
        22 => c"database corrupted",
        23 => c"incompatible file",
        24 => c"unsupported",
        25 => c"out of memory",
        99 => c"internal error",
        _ => c"unknown status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numeric values are the C contract (API.md); pin every one.
    #[test]
    fn numeric_values_are_pinned() {
        use thunder_status::*;
        let pinned = [
            (THUNDER_OK, 0),
            (THUNDER_NOT_FOUND, 1),
            (THUNDER_KEY_EXISTS, 2),
            (THUNDER_BUCKET_NOT_FOUND, 3),
            (THUNDER_BUCKET_EXISTS, 4),
            (THUNDER_INVALID_ARGUMENT, 10),
            (THUNDER_KEY_TOO_LARGE, 11),
            (THUNDER_VALUE_TOO_LARGE, 12),
            (THUNDER_READ_ONLY, 13),
            (THUNDER_TXN_CLOSED, 14),
            (THUNDER_BUSY, 15),
            (THUNDER_LOCKED, 16),
            (THUNDER_IO, 20),
            (THUNDER_NO_SPACE, 21),
            (THUNDER_CORRUPTED, 22),
            (THUNDER_INCOMPATIBLE, 23),
            (THUNDER_UNSUPPORTED, 24),
            (THUNDER_NO_MEMORY, 25),
            (THUNDER_INTERNAL, 99),
        ];
        for (s, v) in pinned {
            assert_eq!(s as i32, v);
            assert_ne!(describe(v).to_bytes(), b"unknown status", "{s:?}");
        }
        assert_eq!(describe(5).to_bytes(), b"unknown status");
        assert_eq!(describe(-1).to_bytes(), b"unknown status");
    }

    #[test]
    fn every_kind_maps_to_its_status() {
        let kinds = [
            (ErrorKind::NotFound, 1),
            (ErrorKind::KeyExists, 2),
            (ErrorKind::BucketNotFound, 3),
            (ErrorKind::BucketExists, 4),
            (ErrorKind::InvalidArgument, 10),
            (ErrorKind::KeyTooLarge, 11),
            (ErrorKind::ValueTooLarge, 12),
            (ErrorKind::ReadOnly, 13),
            (ErrorKind::TxnClosed, 14),
            (ErrorKind::Busy, 15),
            (ErrorKind::Locked, 16),
            (ErrorKind::Io, 20),
            (ErrorKind::NoSpace, 21),
            (ErrorKind::Corrupted, 22),
            (ErrorKind::Incompatible, 23),
            (ErrorKind::Unsupported, 24),
            (ErrorKind::NoMemory, 25),
            (ErrorKind::Internal, 99),
        ];
        for (k, v) in kinds {
            assert_eq!(thunder_status::from(k) as i32, v, "{k:?}");
        }
    }
}
