// Package thunder is the Go binding of thunder, an embedded, transactional,
// ordered key-value store, over its C library (libthunder, include/thunder.h).
//
// A DB is one database file. Work happens in transactions: any number of
// read transactions (View) run alongside one write transaction (Update);
// each sees a snapshot as of its begin. Keys live in the default keyspace
// of a transaction or in named, nestable buckets, and are kept in byte
// order; cursors walk them.
//
//	db, err := thunder.Open("app.db", nil)
//	err = db.Update(func(tx *thunder.Tx) error {
//		users, err := tx.CreateBucketIfNotExists([]byte("users"))
//		if err != nil {
//			return err
//		}
//		return users.Put([]byte("alice"), []byte("admin"))
//	})
//
// Values come back copied into Go memory. GetView returns a slice of the
// database's own memory instead: valid only until the transaction ends or,
// in a write transaction, until its next modifying call, and never to be
// written to.
//
// Errors from the library are *Error values that carry the status and the
// library's message (thunder_last_error); errors.Is matches them against the
// exported sentinels (ErrNotFound, ErrBusy, ...).
//
// Threads: a Tx, and the buckets and cursors opened in it, are meant for one
// goroutine at a time; a use racing with Commit or Rollback on another
// goroutine gets ErrTxClosed. A write transaction is tied by the library to
// the OS thread that began it, so Begin(true) locks the calling goroutine to
// its OS thread until Commit or Rollback, which must be called by that same
// goroutine (Update does all of this). A Tx dropped without Commit or
// Rollback is rolled back by a finalizer once the garbage collector finds it.
package thunder

/*
#cgo LDFLAGS: -lthunder
#include <thunder.h>
*/
import "C"

import "unsafe"

// Version is the version of the loaded library, "MAJOR.MINOR.PATCH".
func Version() string {
	return C.GoString(C.thunder_version())
}

// cBytes is the (pointer, length) pair the C API takes for a key or value.
// An empty slice gives a NULL pointer, which the library never reads.
func cBytes(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// view is the Go slice over a thunder_bytes view: the library's memory, not
// Go's; valid only as long as the library says the view is.
func view(b C.thunder_bytes) []byte {
	if b.len == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(b.data)), int(b.len))
}

// clone copies a view into Go memory.
func clone(v []byte) []byte {
	out := make([]byte, len(v))
	copy(out, v)
	return out
}
