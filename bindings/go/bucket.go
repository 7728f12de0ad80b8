package thunder

/*
#include <thunder.h>
*/
import "C"

// PutFlag modifies a put.
type PutFlag uint32

const (
	// NoOverwrite: ErrKeyExists, and nothing written, if the key is present.
	NoOverwrite PutFlag = C.THUNDER_PUT_NO_OVERWRITE
	// Append: the caller promises the key is greater than every key of the
	// keyspace (fast bulk loads); ErrInvalidArgument if it is not.
	Append PutFlag = C.THUNDER_PUT_APPEND
)

// Bucket is a named keyspace opened in a transaction; buckets nest. It is
// valid until its transaction ends. A Bucket with h nil stands for its
// transaction's default keyspace and the top level of buckets (Tx.root).
type Bucket struct {
	tx *Tx               // keeps the Tx, and so the transaction, alive
	h  *C.thunder_bucket // nil for the root; released when the transaction ends
}

// root says whether b is its transaction's default keyspace.
func (b *Bucket) root() bool { return b.h == nil }

// use runs f with the transaction's C handle under its lock: ErrTxClosed
// once the transaction ended (the C handles are released then, and must not
// reach the library), also when another goroutine ends it meanwhile.
func (b *Bucket) use(f func(t *C.thunder_txn) error) error {
	return b.tx.t.use("bucket", f)
}

// GetView returns the value of key without copying it: a slice of the
// database's memory (usually its read-only mapping). It is valid only until
// the transaction ends or, in a write transaction, until its next
// modifying call (Put, Delete, bucket and cursor changes); reading it later,
// or writing to it ever, is undefined behaviour. Keep the Tx reachable while
// using it (an unreachable Tx may be rolled back by its finalizer), and copy
// what must outlive that. ErrNotFound if the key is absent.
func (b *Bucket) GetView(key []byte) ([]byte, error) { return b.get(key, false) }

// Get returns a copy of the value of key; ErrNotFound if it is absent.
func (b *Bucket) Get(key []byte) ([]byte, error) { return b.get(key, true) }

// get is GetView, or Get when copy is set: the copy is made before the
// transaction can end.
func (b *Bucket) get(key []byte, copy bool) (out []byte, err error) {
	k, kn := cBytes(key)
	err = b.use(func(t *C.thunder_txn) error {
		var v C.thunder_bytes
		err := call(func() C.enum_thunder_status {
			if b.root() {
				return C.thunder_get(t, k, kn, &v)
			}
			return C.thunder_bucket_get(b.h, k, kn, &v)
		})
		if err == nil {
			out = view(v)
			if copy {
				out = clone(out)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Put stores value under key (ErrReadOnly in a read transaction).
func (b *Bucket) Put(key, value []byte) error { return b.PutFlags(key, value, 0) }

// PutFlags is Put with NoOverwrite and/or Append.
func (b *Bucket) PutFlags(key, value []byte, flags PutFlag) error {
	k, kn := cBytes(key)
	v, vn := cBytes(value)
	return b.use(func(t *C.thunder_txn) error {
		return call(func() C.enum_thunder_status {
			if b.root() {
				return C.thunder_put(t, k, kn, v, vn, C.uint32_t(flags))
			}
			return C.thunder_bucket_put(b.h, k, kn, v, vn, C.uint32_t(flags))
		})
	})
}

// Delete removes key; ErrNotFound if it is absent.
func (b *Bucket) Delete(key []byte) error {
	k, kn := cBytes(key)
	return b.use(func(t *C.thunder_txn) error {
		return call(func() C.enum_thunder_status {
			if b.root() {
				return C.thunder_delete(t, k, kn)
			}
			return C.thunder_bucket_delete_key(b.h, k, kn)
		})
	})
}

// NextSequence increments and returns the bucket's persisted sequence (1
// first); write transactions only, and not on a Tx's default keyspace.
func (b *Bucket) NextSequence() (uint64, error) {
	var n C.uint64_t
	// For the root b.h is NULL: the library answers ErrInvalidArgument.
	err := b.use(func(*C.thunder_txn) error {
		return call(func() C.enum_thunder_status { return C.thunder_bucket_next_sequence(b.h, &n) })
	})
	return uint64(n), err
}

// Bucket opens child bucket name; ErrBucketNotFound if it is missing.
func (b *Bucket) Bucket(name []byte) (*Bucket, error) {
	return b.openChild(name, func(t *C.thunder_txn, p *C.thunder_bucket, n *C.uint8_t, nl C.size_t, out **C.thunder_bucket) C.enum_thunder_status {
		return C.thunder_bucket_open(t, p, n, nl, out)
	})
}

// CreateBucket creates child bucket name; ErrBucketExists if it is present.
func (b *Bucket) CreateBucket(name []byte) (*Bucket, error) {
	return b.openChild(name, func(t *C.thunder_txn, p *C.thunder_bucket, n *C.uint8_t, nl C.size_t, out **C.thunder_bucket) C.enum_thunder_status {
		return C.thunder_bucket_create(t, p, n, nl, out)
	})
}

// CreateBucketIfNotExists opens child bucket name, creating it if missing.
func (b *Bucket) CreateBucketIfNotExists(name []byte) (*Bucket, error) {
	return b.openChild(name, func(t *C.thunder_txn, p *C.thunder_bucket, n *C.uint8_t, nl C.size_t, out **C.thunder_bucket) C.enum_thunder_status {
		return C.thunder_bucket_create_if_missing(t, p, n, nl, out)
	})
}

type openFunc func(*C.thunder_txn, *C.thunder_bucket, *C.uint8_t, C.size_t, **C.thunder_bucket) C.enum_thunder_status

// openChild runs one of the bucket-opening calls with b as the parent and
// registers the new handle with the transaction, which releases it.
func (b *Bucket) openChild(name []byte, open openFunc) (*Bucket, error) {
	n, nl := cBytes(name)
	// The out-pointer points at a variable of its own: cgo refuses a pointer
	// into a Go struct that holds Go pointers.
	var h *C.thunder_bucket
	err := b.use(func(t *C.thunder_txn) error {
		if err := call(func() C.enum_thunder_status { return open(t, b.h, n, nl, &h) }); err != nil {
			return err
		}
		b.tx.t.buckets = append(b.tx.t.buckets, h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Bucket{tx: b.tx, h: h}, nil
}

// DeleteBucket deletes child bucket name with all its keys and buckets.
func (b *Bucket) DeleteBucket(name []byte) error {
	n, nl := cBytes(name)
	return b.use(func(t *C.thunder_txn) error {
		return call(func() C.enum_thunder_status { return C.thunder_bucket_delete(t, b.h, n, nl) })
	})
}

// Cursor opens a cursor over the bucket's keys, released with the transaction.
func (b *Bucket) Cursor() (*Cursor, error) {
	return b.openCursor(func(t *C.thunder_txn, out **C.thunder_cursor) C.enum_thunder_status {
		return C.thunder_cursor_open(t, b.h, out)
	})
}

// bucketCursor opens a cursor over the names of the child buckets.
func (b *Bucket) bucketCursor() (*Cursor, error) {
	return b.openCursor(func(t *C.thunder_txn, out **C.thunder_cursor) C.enum_thunder_status {
		return C.thunder_bucket_cursor_open(t, b.h, out)
	})
}

func (b *Bucket) openCursor(open func(t *C.thunder_txn, out **C.thunder_cursor) C.enum_thunder_status) (*Cursor, error) {
	var h *C.thunder_cursor // see openChild
	err := b.use(func(t *C.thunder_txn) error {
		if err := call(func() C.enum_thunder_status { return open(t, &h) }); err != nil {
			return err
		}
		b.tx.t.cursors[h] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Cursor{tx: b.tx, h: h}, nil
}

// ForEach calls fn for each key and value (copies) in key order; an error
// from fn stops the walk and is returned.
func (b *Bucket) ForEach(fn func(key, value []byte) error) error {
	c, err := b.Cursor()
	if err != nil {
		return err
	}
	return c.each(func(k, v []byte) error { return fn(k, v) })
}

// ForEachBucket calls fn with the name of each child bucket in order.
func (b *Bucket) ForEachBucket(fn func(name []byte) error) error {
	c, err := b.bucketCursor()
	if err != nil {
		return err
	}
	return c.each(func(k, _ []byte) error { return fn(k) })
}
