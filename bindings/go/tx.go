package thunder

/*
#include <thunder.h>
*/
import "C"

import (
	"runtime"
	"sync"
)

// Tx is a transaction: a read-only snapshot (View, Begin(false)) or the
// one write transaction (Update, Begin(true)). Buckets and cursors opened in
// it are released when it ends; using them afterwards returns ErrTxClosed.
//
// A Tx is meant for one goroutine at a time. Another goroutine that uses it
// (or its buckets and cursors) while it ends gets ErrTxClosed: every call
// into the library through it is serialised with Commit and Rollback.
//
// A Tx that becomes unreachable without Commit or Rollback is rolled back
// by a finalizer when the garbage collector finds it; until then it holds
// its snapshot (or the writer), and DB.Close fails with ErrBusy. End every
// Tx explicitly; see Begin for what this costs a write transaction.
type Tx struct {
	// The state is an object of its own that points nowhere back to the
	// Tx (buckets and cursors point to the Tx, which keeps it alive while
	// they are in use): a finalizer runs only on an object outside any
	// reference cycle.
	t *txn
}

// txn is a Tx's state. mu guards h and the handles, and is held around
// every C call made with them, so that a release never races a use.
type txn struct {
	db       *DB
	writable bool

	mu      sync.Mutex
	h       *C.thunder_txn // nil once ended
	managed bool           // inside Update or View: they end it
	buckets []*C.thunder_bucket
	cursors map[*C.thunder_cursor]struct{} // open cursors (Cursor.Close removes one)
}

// Begin starts a transaction; writable chooses the write transaction, which
// waits while another one is open. End it with Commit or Rollback.
//
// Begin(true) locks the calling goroutine to its OS thread until Commit or
// Rollback, which must be called from the same goroutine: the library ties
// a write transaction to the thread that began it, and another goroutine
// scheduled on that thread could not begin a write transaction meanwhile
// (ErrBusy). The goroutine that began the write transaction gets ErrBusy
// from a second Begin(true) instead of waiting for itself; a goroutine the
// Tx was handed to is not known as its holder, and its Begin(true) waits.
//
// A write Tx abandoned without Commit or Rollback keeps the writer until
// the garbage collector finalizes it (other writers wait meanwhile), and
// its goroutine stays locked to its OS thread: the finalizer rolls the
// transaction back, but only the goroutine itself could unlock its thread.
func (db *DB) Begin(writable bool) (*Tx, error) {
	mode := C.thunder_txn_mode(C.THUNDER_TXN_READ)
	if writable {
		mode = C.THUNDER_TXN_WRITE
		runtime.LockOSThread()
	}
	var txh *C.thunder_txn // see Bucket.openChild
	err := db.use(func(h *C.thunder_db) error {
		return call(func() C.enum_thunder_status { return C.thunder_txn_begin(h, mode, &txh) })
	})
	if err != nil {
		if writable {
			runtime.UnlockOSThread()
		}
		return nil, err
	}
	tx := &Tx{t: &txn{db: db, h: txh, writable: writable, cursors: map[*C.thunder_cursor]struct{}{}}}
	// The library allows ending a transaction, the write one included, on
	// another thread than the one that began it (thunder.h: a transaction
	// may move between threads), so the finalizer's goroutine may.
	runtime.SetFinalizer(tx, (*Tx).finalize)
	return tx, nil
}

// Update runs fn in a write transaction and commits it if fn returns nil;
// if fn returns an error or panics, the transaction is rolled back (and the
// panic goes on). The error is fn's, or the commit's.
func (db *DB) Update(fn func(tx *Tx) error) error {
	return db.managed(true, fn)
}

// View runs fn in a read transaction, which then ends; the error is fn's.
func (db *DB) View(fn func(tx *Tx) error) error {
	return db.managed(false, fn)
}

func (db *DB) managed(writable bool, fn func(tx *Tx) error) (err error) {
	tx, err := db.Begin(writable)
	if err != nil {
		return err
	}
	tx.t.setManaged(true)
	defer func() {
		if tx.t.setManaged(false) { // fn failed or panicked
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	tx.t.setManaged(false)
	if writable {
		return tx.Commit()
	}
	return tx.Rollback()
}

// setManaged sets the managed flag and says whether the transaction is
// still open.
func (t *txn) setManaged(managed bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.managed = managed
	return t.h != nil
}

// use runs f with the transaction's C handle under its lock; ErrTxClosed,
// without calling f, once the transaction ended. what names the handle in
// the error.
func (t *txn) use(what string, f func(h *C.thunder_txn) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h == nil {
		return closedError(what)
	}
	return f(t.h)
}

// DB is the database the transaction belongs to.
func (tx *Tx) DB() *DB { return tx.t.db }

// Writable says whether this is the write transaction.
func (tx *Tx) Writable() bool { return tx.t.writable }

// ID is, for a write transaction, the txid its commit will get; for a read
// transaction, the txid of its snapshot; 0 once ended.
func (tx *Tx) ID() uint64 {
	var id uint64
	_ = tx.t.use("transaction", func(h *C.thunder_txn) error {
		id = uint64(C.thunder_txn_id(h))
		return nil
	})
	return id
}

// Commit commits a write transaction (durably under SyncFull) or ends a read
// transaction. The transaction ends whatever the result: a failed commit
// has rolled back.
func (tx *Tx) Commit() error {
	return tx.end(func(h *C.thunder_txn) error {
		return call(func() C.enum_thunder_status { return C.thunder_txn_commit(h) })
	})
}

// Rollback ends the transaction, discarding a write transaction's changes.
// On an ended transaction it returns ErrTxClosed and does nothing else, so
// it can be deferred after a Commit.
func (tx *Tx) Rollback() error {
	return tx.end(abort)
}

func abort(h *C.thunder_txn) error {
	C.thunder_txn_abort(h)
	return nil
}

// end runs the releasing C call, then releases the buckets and cursors of
// the transaction and the goroutine's OS thread.
func (tx *Tx) end(release func(h *C.thunder_txn) error) error {
	t := tx.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.managed {
		return ErrTxManaged
	}
	if t.h == nil {
		return closedError("transaction")
	}
	err := t.release(release)
	runtime.SetFinalizer(tx, nil)
	if t.writable {
		runtime.UnlockOSThread()
	}
	return err
}

// finalize rolls back a transaction that became unreachable while open. The
// OS thread of a write transaction's goroutine stays locked (see Begin).
func (tx *Tx) finalize() {
	t := tx.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h != nil {
		_ = t.release(abort)
	}
}

// release runs the releasing C call and closes the buckets and cursors;
// t.mu is held.
func (t *txn) release(f func(h *C.thunder_txn) error) error {
	err := f(t.h)
	t.h = nil
	for _, b := range t.buckets {
		C.thunder_bucket_close(b)
	}
	for c := range t.cursors {
		C.thunder_cursor_close(c)
	}
	t.buckets, t.cursors = nil, nil
	return err
}

// The default keyspace, and the top level of buckets: Tx forwards to its
// root Bucket, which stands for both.

// Get returns a copy of the value of key in the default keyspace;
// ErrNotFound if it is absent.
func (tx *Tx) Get(key []byte) ([]byte, error) { return tx.root().Get(key) }

// GetView is Get without the copy; see Bucket.GetView for how long the
// result is valid.
func (tx *Tx) GetView(key []byte) ([]byte, error) { return tx.root().GetView(key) }

// Put stores value under key in the default keyspace.
func (tx *Tx) Put(key, value []byte) error { return tx.root().Put(key, value) }

// PutFlags is Put with NoOverwrite and/or Append.
func (tx *Tx) PutFlags(key, value []byte, flags PutFlag) error {
	return tx.root().PutFlags(key, value, flags)
}

// Delete removes key from the default keyspace; ErrNotFound if absent.
func (tx *Tx) Delete(key []byte) error { return tx.root().Delete(key) }

// Cursor opens a cursor over the default keyspace.
func (tx *Tx) Cursor() (*Cursor, error) { return tx.root().Cursor() }

// ForEach calls fn for each key of the default keyspace in order.
func (tx *Tx) ForEach(fn func(key, value []byte) error) error { return tx.root().ForEach(fn) }

// Bucket opens top-level bucket name; ErrBucketNotFound if it is missing.
func (tx *Tx) Bucket(name []byte) (*Bucket, error) { return tx.root().Bucket(name) }

// CreateBucket creates top-level bucket name; ErrBucketExists if present.
func (tx *Tx) CreateBucket(name []byte) (*Bucket, error) { return tx.root().CreateBucket(name) }

// CreateBucketIfNotExists opens top-level bucket name, creating it if missing.
func (tx *Tx) CreateBucketIfNotExists(name []byte) (*Bucket, error) {
	return tx.root().CreateBucketIfNotExists(name)
}

// DeleteBucket deletes top-level bucket name with everything in it.
func (tx *Tx) DeleteBucket(name []byte) error { return tx.root().DeleteBucket(name) }

// ForEachBucket calls fn with the name of each top-level bucket in order.
func (tx *Tx) ForEachBucket(fn func(name []byte) error) error { return tx.root().ForEachBucket(fn) }

// root is the Bucket that stands for the default keyspace and the top level
// of buckets (a value of its own each time: a Tx holds no pointer to itself,
// see Tx).
func (tx *Tx) root() *Bucket { return &Bucket{tx: tx} }
