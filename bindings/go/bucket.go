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
// valid until its transaction ends. A Tx's own root Bucket (h nil) stands
// for the default keyspace and the top level of buckets.
type Bucket struct {
	tx *Tx
	h  *C.thunder_bucket // nil for the root, and once the transaction ended
}

// root says whether b is its transaction's default keyspace.
func (b *Bucket) root() bool { return b == &b.tx.root }

// live returns ErrTxClosed once the transaction ended: the C handles are
// released then, and must not reach the library.
func (b *Bucket) live() error {
	if b.tx.h == nil || (!b.root() && b.h == nil) {
		return closedError("bucket")
	}
	return nil
}

// GetView returns the value of key without copying it: a slice of the
// database's memory (usually its read-only mapping). It is valid only until
// the transaction ends or, in a write transaction, until its next
// modifying call (Put, Delete, bucket and cursor changes); reading it later,
// or writing to it ever, is undefined behaviour. Copy what must outlive
// that. ErrNotFound if the key is absent.
func (b *Bucket) GetView(key []byte) ([]byte, error) {
	if err := b.live(); err != nil {
		return nil, err
	}
	var v C.thunder_bytes
	k, kn := cBytes(key)
	err := call(func() C.enum_thunder_status {
		if b.root() {
			return C.thunder_get(b.tx.h, k, kn, &v)
		}
		return C.thunder_bucket_get(b.h, k, kn, &v)
	})
	if err != nil {
		return nil, err
	}
	return view(v), nil
}

// Get returns a copy of the value of key; ErrNotFound if it is absent.
func (b *Bucket) Get(key []byte) ([]byte, error) {
	v, err := b.GetView(key)
	if err != nil {
		return nil, err
	}
	return clone(v), nil
}

// Put stores value under key (ErrReadOnly in a read transaction).
func (b *Bucket) Put(key, value []byte) error { return b.PutFlags(key, value, 0) }

// PutFlags is Put with NoOverwrite and/or Append.
func (b *Bucket) PutFlags(key, value []byte, flags PutFlag) error {
	if err := b.live(); err != nil {
		return err
	}
	k, kn := cBytes(key)
	v, vn := cBytes(value)
	return call(func() C.enum_thunder_status {
		if b.root() {
			return C.thunder_put(b.tx.h, k, kn, v, vn, C.uint32_t(flags))
		}
		return C.thunder_bucket_put(b.h, k, kn, v, vn, C.uint32_t(flags))
	})
}

// Delete removes key; ErrNotFound if it is absent.
func (b *Bucket) Delete(key []byte) error {
	if err := b.live(); err != nil {
		return err
	}
	k, kn := cBytes(key)
	return call(func() C.enum_thunder_status {
		if b.root() {
			return C.thunder_delete(b.tx.h, k, kn)
		}
		return C.thunder_bucket_delete_key(b.h, k, kn)
	})
}

// NextSequence increments and returns the bucket's persisted sequence (1
// first); write transactions only, and not on a Tx's default keyspace.
func (b *Bucket) NextSequence() (uint64, error) {
	if err := b.live(); err != nil {
		return 0, err
	}
	var n C.uint64_t
	// For the root b.h is NULL: the library answers ErrInvalidArgument.
	err := call(func() C.enum_thunder_status { return C.thunder_bucket_next_sequence(b.h, &n) })
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
	if err := b.live(); err != nil {
		return nil, err
	}
	n, nl := cBytes(name)
	// The out-pointer points at a variable of its own: cgo refuses a pointer
	// into a Go struct that holds Go pointers.
	var h *C.thunder_bucket
	if err := call(func() C.enum_thunder_status { return open(b.tx.h, b.h, n, nl, &h) }); err != nil {
		return nil, err
	}
	child := &Bucket{tx: b.tx, h: h}
	b.tx.buckets = append(b.tx.buckets, child)
	return child, nil
}

// DeleteBucket deletes child bucket name with all its keys and buckets.
func (b *Bucket) DeleteBucket(name []byte) error {
	if err := b.live(); err != nil {
		return err
	}
	n, nl := cBytes(name)
	return call(func() C.enum_thunder_status { return C.thunder_bucket_delete(b.tx.h, b.h, n, nl) })
}

// Cursor opens a cursor over the bucket's keys, released with the transaction.
func (b *Bucket) Cursor() (*Cursor, error) {
	return b.openCursor(func(out **C.thunder_cursor) C.enum_thunder_status {
		return C.thunder_cursor_open(b.tx.h, b.h, out)
	})
}

// bucketCursor opens a cursor over the names of the child buckets.
func (b *Bucket) bucketCursor() (*Cursor, error) {
	return b.openCursor(func(out **C.thunder_cursor) C.enum_thunder_status {
		return C.thunder_bucket_cursor_open(b.tx.h, b.h, out)
	})
}

func (b *Bucket) openCursor(open func(out **C.thunder_cursor) C.enum_thunder_status) (*Cursor, error) {
	if err := b.live(); err != nil {
		return nil, err
	}
	var h *C.thunder_cursor // see openChild
	if err := call(func() C.enum_thunder_status { return open(&h) }); err != nil {
		return nil, err
	}
	c := &Cursor{tx: b.tx, h: h}
	b.tx.cursors = append(b.tx.cursors, c)
	return c, nil
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
