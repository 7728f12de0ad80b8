package thunder

/*
#include <thunder.h>
*/
import "C"

import (
	"errors"
	"runtime"
)

// Status is a thunder_status code other than THUNDER_OK. The exported
// constants double as the sentinels errors.Is matches an *Error against:
//
//	if errors.Is(err, thunder.ErrNotFound) { ... }
type Status int32

// The statuses of include/thunder.h, one sentinel each.
const (
	ErrNotFound        Status = C.THUNDER_NOT_FOUND
	ErrKeyExists       Status = C.THUNDER_KEY_EXISTS
	ErrBucketNotFound  Status = C.THUNDER_BUCKET_NOT_FOUND
	ErrBucketExists    Status = C.THUNDER_BUCKET_EXISTS
	ErrInvalidArgument Status = C.THUNDER_INVALID_ARGUMENT
	ErrKeyTooLarge     Status = C.THUNDER_KEY_TOO_LARGE
	ErrValueTooLarge   Status = C.THUNDER_VALUE_TOO_LARGE
	ErrReadOnly        Status = C.THUNDER_READ_ONLY
	ErrTxClosed        Status = C.THUNDER_TXN_CLOSED
	ErrBusy            Status = C.THUNDER_BUSY
	ErrLocked          Status = C.THUNDER_LOCKED
	ErrIO              Status = C.THUNDER_IO
	ErrNoSpace         Status = C.THUNDER_NO_SPACE
	ErrCorrupted       Status = C.THUNDER_CORRUPTED
	ErrIncompatible    Status = C.THUNDER_INCOMPATIBLE
	ErrUnsupported     Status = C.THUNDER_UNSUPPORTED
	ErrNoMemory        Status = C.THUNDER_NO_MEMORY
	ErrInternal        Status = C.THUNDER_INTERNAL
)

// Errors of the Go layer itself, for misuse the C library never sees.
var (
	// ErrDatabaseClosed: the DB was used after Close succeeded.
	ErrDatabaseClosed = errors.New("thunder: database closed")
	// ErrTxManaged: Commit or Rollback called inside Update or View, which
	// end the transaction themselves.
	ErrTxManaged = errors.New("thunder: Commit and Rollback are not allowed inside Update or View")
)

// Error is the library's description of the status (thunder_strerror).
func (s Status) Error() string {
	return "thunder: " + C.GoString(C.thunder_strerror(C.int32_t(s)))
}

// Error is a failed library call: its status and the library's message
// about it (thunder_last_error: function, path, page id, ...).
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Status.Error()
	}
	return e.Status.Error() + ": " + e.Message
}

// Unwrap returns the status, so that errors.Is(err, ErrNotFound) holds for
// an *Error with that status.
func (e *Error) Unwrap() error { return e.Status }

// call runs one C call and, when it fails, reads thunder_last_error() on the
// same OS thread: the message is thread-local and the goroutine could move
// to another thread between two cgo calls.
func call(f func() C.enum_thunder_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if st := f(); st != C.THUNDER_OK {
		return &Error{Status: Status(st), Message: C.GoString(C.thunder_last_error())}
	}
	return nil
}

// closedError is the error of a transaction, bucket or cursor used after its
// transaction ended: the Go layer has released the C handle by then, so it
// answers without calling the library.
func closedError(what string) error {
	return &Error{Status: ErrTxClosed, Message: what + " used after its transaction ended"}
}
