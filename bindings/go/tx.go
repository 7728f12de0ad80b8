package thunder

/*
#include <thunder.h>
*/
import "C"

import "runtime"

// Tx is a transaction: a read-only snapshot (View, Begin(false)) or the
// one write transaction (Update, Begin(true)). It must not be used by two
// goroutines at once. Buckets and cursors opened in it are released when
// it ends; using them afterwards returns ErrTxClosed.
type Tx struct {
	db       *DB
	h        *C.thunder_txn // nil once ended
	writable bool
	managed  bool // inside Update or View: they end it
	root     Bucket
	buckets  []*Bucket
	cursors  []*Cursor
}

// Begin starts a transaction; writable chooses the write transaction, which
// waits while another one is open. End it with Commit or Rollback.
//
// Begin(true) locks the calling goroutine to its OS thread until Commit or
// Rollback, which must be called from the same goroutine: the library ties
// a write transaction to the thread that began it, and another goroutine
// scheduled on that thread could not begin a write transaction meanwhile
// (ErrBusy). A goroutine that already holds the write transaction gets
// ErrBusy from a second Begin(true) instead of waiting for itself.
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
	tx := &Tx{db: db, h: txh, writable: writable}
	tx.root = Bucket{tx: tx}
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
	tx.managed = true
	defer func() {
		if tx.h != nil { // fn failed or panicked
			tx.managed = false
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	tx.managed = false
	if writable {
		return tx.Commit()
	}
	return tx.Rollback()
}

// DB is the database the transaction belongs to.
func (tx *Tx) DB() *DB { return tx.db }

// Writable says whether this is the write transaction.
func (tx *Tx) Writable() bool { return tx.writable }

// ID is, for a write transaction, the txid its commit will get; for a read
// transaction, the txid of its snapshot; 0 once ended.
func (tx *Tx) ID() uint64 {
	if tx.h == nil {
		return 0
	}
	return uint64(C.thunder_txn_id(tx.h))
}

// Commit commits a write transaction (durably under SyncFull) or ends a read
// transaction. The transaction ends whatever the result: a failed commit
// has rolled back.
func (tx *Tx) Commit() error {
	return tx.end(func() error {
		return call(func() C.enum_thunder_status { return C.thunder_txn_commit(tx.h) })
	})
}

// Rollback ends the transaction, discarding a write transaction's changes.
// On an ended transaction it returns ErrTxClosed and does nothing else, so
// it can be deferred after a Commit.
func (tx *Tx) Rollback() error {
	return tx.end(func() error {
		C.thunder_txn_abort(tx.h)
		return nil
	})
}

// end runs the releasing C call, then releases the buckets and cursors of
// the transaction and the goroutine's OS thread.
func (tx *Tx) end(release func() error) error {
	if tx.managed {
		return ErrTxManaged
	}
	if tx.h == nil {
		return closedError("transaction")
	}
	err := release()
	tx.h = nil
	for _, b := range tx.buckets {
		C.thunder_bucket_close(b.h)
		b.h = nil
	}
	for _, c := range tx.cursors {
		C.thunder_cursor_close(c.h)
		c.h = nil
	}
	tx.buckets, tx.cursors = nil, nil
	if tx.writable {
		runtime.UnlockOSThread()
	}
	return err
}

// The default keyspace, and the top level of buckets: Tx forwards to its
// root Bucket, which stands for both.

// Get returns a copy of the value of key in the default keyspace;
// ErrNotFound if it is absent.
func (tx *Tx) Get(key []byte) ([]byte, error) { return tx.root.Get(key) }

// GetView is Get without the copy; see Bucket.GetView for how long the
// result is valid.
func (tx *Tx) GetView(key []byte) ([]byte, error) { return tx.root.GetView(key) }

// Put stores value under key in the default keyspace.
func (tx *Tx) Put(key, value []byte) error { return tx.root.Put(key, value) }

// PutFlags is Put with NoOverwrite and/or Append.
func (tx *Tx) PutFlags(key, value []byte, flags PutFlag) error {
	return tx.root.PutFlags(key, value, flags)
}

// Delete removes key from the default keyspace; ErrNotFound if absent.
func (tx *Tx) Delete(key []byte) error { return tx.root.Delete(key) }

// Cursor opens a cursor over the default keyspace.
func (tx *Tx) Cursor() (*Cursor, error) { return tx.root.Cursor() }

// ForEach calls fn for each key of the default keyspace in order.
func (tx *Tx) ForEach(fn func(key, value []byte) error) error { return tx.root.ForEach(fn) }

// Bucket opens top-level bucket name; ErrBucketNotFound if it is missing.
func (tx *Tx) Bucket(name []byte) (*Bucket, error) { return tx.root.Bucket(name) }

// CreateBucket creates top-level bucket name; ErrBucketExists if present.
func (tx *Tx) CreateBucket(name []byte) (*Bucket, error) { return tx.root.CreateBucket(name) }

// CreateBucketIfNotExists opens top-level bucket name, creating it if missing.
func (tx *Tx) CreateBucketIfNotExists(name []byte) (*Bucket, error) {
	return tx.root.CreateBucketIfNotExists(name)
}

// DeleteBucket deletes top-level bucket name with everything in it.
func (tx *Tx) DeleteBucket(name []byte) error { return tx.root.DeleteBucket(name) }

// ForEachBucket calls fn with the name of each top-level bucket in order.
func (tx *Tx) ForEachBucket(fn func(name []byte) error) error { return tx.root.ForEachBucket(fn) }
