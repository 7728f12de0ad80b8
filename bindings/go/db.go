package thunder

/*
#include <stdlib.h>
#include <thunder.h>
*/
import "C"

import (
	"math"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// SyncMode says when commits become durable.
type SyncMode uint32

const (
	// SyncFull: each commit is durable when it returns (the default).
	SyncFull SyncMode = C.THUNDER_SYNC_FULL
	// SyncBatched: commits become durable together, at most SyncInterval apart.
	SyncBatched SyncMode = C.THUNDER_SYNC_BATCHED
	// SyncNone: commits become durable at Sync, Checkpoint and Close.
	SyncNone SyncMode = C.THUNDER_SYNC_NONE
)

// Options for Open. The zero value of each field keeps the library's
// default (see thunder_options_new in thunder.h); nil Options means all
// defaults.
type Options struct {
	PageSize          uint32        // 4096, 8192, 16384 or 65536; for a new file
	OverflowThreshold uint32        // values longer than this go to overflow pages
	ReadOnly          bool          // shared lock; write transactions fail with ErrReadOnly
	NoCreate          bool          // a missing file is ErrNotFound instead of created
	SyncMode          SyncMode      // SyncFull by default
	SyncInterval      time.Duration // the longest time between syncs under SyncBatched
	WAL               bool          // commits go to a write-ahead log
	WALDir            string        // default: the path with ".wal" added
	DiscardMissingWAL bool          // open a file whose write-ahead log is lost, as of its checkpoint
	MaxSize           uint64        // upper bound of the file, at least 1 MiB
	LockTimeout       time.Duration // how long Open waits for a lock held elsewhere
}

// apply builds the C options; the caller frees them with thunder_options_free.
func (o *Options) apply() (*C.thunder_options, error) {
	var opts *C.thunder_options
	if err := call(func() C.enum_thunder_status { return C.thunder_options_new(&opts) }); err != nil {
		return nil, err
	}
	var err error
	setIf := func(cond bool, f func() C.enum_thunder_status) {
		if err == nil && cond {
			err = call(f)
		}
	}
	setIf(o.PageSize != 0, func() C.enum_thunder_status { return C.thunder_options_set_page_size(opts, C.uint32_t(o.PageSize)) })
	setIf(o.OverflowThreshold != 0, func() C.enum_thunder_status {
		return C.thunder_options_set_overflow_threshold(opts, C.uint32_t(o.OverflowThreshold))
	})
	setIf(o.ReadOnly, func() C.enum_thunder_status { return C.thunder_options_set_read_only(opts, true) })
	setIf(o.NoCreate, func() C.enum_thunder_status { return C.thunder_options_set_create(opts, false) })
	setIf(o.SyncMode != SyncFull, func() C.enum_thunder_status {
		return C.thunder_options_set_sync_mode(opts, C.thunder_sync_mode(o.SyncMode))
	})
	var syncMs, lockMs uint32
	if err == nil {
		syncMs, err = durationMs("SyncInterval", o.SyncInterval)
	}
	if err == nil {
		lockMs, err = durationMs("LockTimeout", o.LockTimeout)
	}
	if err == nil && strings.IndexByte(o.WALDir, 0) >= 0 {
		err = &Error{Status: ErrInvalidArgument, Message: "Options.WALDir contains a NUL byte"}
	}
	setIf(o.SyncInterval != 0, func() C.enum_thunder_status {
		return C.thunder_options_set_sync_interval_ms(opts, C.uint32_t(syncMs))
	})
	setIf(o.WAL, func() C.enum_thunder_status { return C.thunder_options_set_wal(opts, true) })
	setIf(o.WALDir != "", func() C.enum_thunder_status {
		dir := C.CString(o.WALDir)
		defer C.free(unsafe.Pointer(dir))
		return C.thunder_options_set_wal_dir(opts, dir)
	})
	setIf(o.DiscardMissingWAL, func() C.enum_thunder_status {
		return C.thunder_options_set_discard_missing_wal(opts, true)
	})
	setIf(o.MaxSize != 0, func() C.enum_thunder_status { return C.thunder_options_set_max_size(opts, C.uint64_t(o.MaxSize)) })
	setIf(o.LockTimeout != 0, func() C.enum_thunder_status {
		return C.thunder_options_set_lock_timeout_ms(opts, C.uint32_t(lockMs))
	})
	if err != nil {
		C.thunder_options_free(opts)
		return nil, err
	}
	return opts, nil
}

// durationMs is d in whole milliseconds for a uint32 option: a positive d
// under 1ms rounds up to 1ms; a negative d, or one past ~49.7 days, is
// ErrInvalidArgument (a plain conversion would wrap it).
func durationMs(name string, d time.Duration) (uint32, error) {
	ms := d.Milliseconds()
	if d > 0 && ms == 0 {
		ms = 1
	}
	if d < 0 || ms > math.MaxUint32 {
		return 0, &Error{Status: ErrInvalidArgument, Message: "Options." + name + " " + d.String() + " is out of range"}
	}
	return uint32(ms), nil
}

// DB is an open database. It may be shared by any number of goroutines.
type DB struct {
	path string

	mu    sync.Mutex
	h     *C.thunder_db // nil once closed
	calls int           // C calls on h in progress (Close refuses while any are)
}

// Open opens the database file at path, creating it unless opts says
// otherwise. opts may be nil. Close it with Close.
func Open(path string, opts *Options) (*DB, error) {
	if strings.IndexByte(path, 0) >= 0 {
		return nil, &Error{Status: ErrInvalidArgument, Message: "thunder: path contains a NUL byte"}
	}
	var copts *C.thunder_options
	if opts != nil {
		var err error
		if copts, err = opts.apply(); err != nil {
			return nil, err
		}
		defer C.thunder_options_free(copts)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var h *C.thunder_db
	if err := call(func() C.enum_thunder_status { return C.thunder_open(cpath, copts, &h) }); err != nil {
		return nil, err
	}
	return &DB{path: path, h: h}, nil
}

// Path is the path the database was opened with.
func (db *DB) Path() string { return db.path }

// use runs f with the C handle, which Close cannot release meanwhile.
func (db *DB) use(f func(h *C.thunder_db) error) error {
	db.mu.Lock()
	h := db.h
	if h != nil {
		db.calls++
	}
	db.mu.Unlock()
	if h == nil {
		return ErrDatabaseClosed
	}
	defer func() {
		db.mu.Lock()
		db.calls--
		db.mu.Unlock()
	}()
	return f(h)
}

// Close checkpoints and closes the database. It fails with ErrBusy, and the
// database stays open, while transactions are open or other calls on it are
// in progress (a Begin waiting for the writer, for one). A Tx dropped
// without Commit or Rollback counts as open until the garbage collector
// finalizes it (which rolls it back): end every Tx explicitly.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.h == nil {
		return ErrDatabaseClosed
	}
	if db.calls > 0 {
		return &Error{Status: ErrBusy, Message: "thunder: Close while other calls on the database are in progress"}
	}
	err := call(func() C.enum_thunder_status { return C.thunder_close(db.h) })
	if e, ok := err.(*Error); ok && e.Status == ErrBusy {
		e.Message += " (a Tx dropped without Commit or Rollback stays open until the garbage collector finalizes it)"
	}
	// The handle is released on every failure but BUSY and INVALID_ARGUMENT.
	if err == nil || !(isStatus(err, ErrBusy) || isStatus(err, ErrInvalidArgument)) {
		db.h = nil
	}
	return err
}

func isStatus(err error, s Status) bool {
	e, ok := err.(*Error)
	return ok && e.Status == s
}

// Sync makes every committed transaction durable (needed only with
// SyncBatched or SyncNone).
func (db *DB) Sync() error {
	return db.use(func(h *C.thunder_db) error {
		return call(func() C.enum_thunder_status { return C.thunder_sync(h) })
	})
}

// Checkpoint writes everything committed to the data file and makes it durable.
func (db *DB) Checkpoint() error {
	return db.use(func(h *C.thunder_db) error {
		return call(func() C.enum_thunder_status { return C.thunder_checkpoint(h) })
	})
}

// Check verifies the whole latest committed state; ErrCorrupted names the
// first problem found.
func (db *DB) Check() error {
	return db.use(func(h *C.thunder_db) error {
		return call(func() C.enum_thunder_status { return C.thunder_check(h) })
	})
}

// MaxKeySize is the longest key the database accepts, in bytes (0 once closed).
func (db *DB) MaxKeySize() int {
	n := 0
	_ = db.use(func(h *C.thunder_db) error {
		n = int(C.thunder_max_key_size(h))
		return nil
	})
	return n
}

// Stats are statistics of the latest committed state (thunder_stats).
type Stats struct {
	PageSize         uint32
	PageCount        uint64 // pages in use up to the high-water mark
	FreePageCount    uint64 // reusable now
	PendingPageCount uint64 // freed, waiting for older readers or the next durable sync
	FileSize         uint64 // bytes
	LastTxID         uint64
	KeyCount         uint64 // default keyspace
	BucketCount      uint64 // all buckets, nested ones included
	TreeDepth        uint32 // default keyspace
	ReaderCount      uint32 // open read transactions
	WALSize          uint64 // bytes, 0 without a WAL
	CheckpointLSN    uint64
}

// Stats returns statistics of the latest committed state.
func (db *DB) Stats() (Stats, error) {
	var s C.thunder_stats
	err := db.use(func(h *C.thunder_db) error {
		return call(func() C.enum_thunder_status { return C.thunder_stat(h, &s) })
	})
	if err != nil {
		return Stats{}, err
	}
	return Stats{
		PageSize: uint32(s.page_size), PageCount: uint64(s.page_count),
		FreePageCount: uint64(s.free_page_count), PendingPageCount: uint64(s.pending_page_count),
		FileSize: uint64(s.file_size), LastTxID: uint64(s.last_txid), KeyCount: uint64(s.key_count),
		BucketCount: uint64(s.bucket_count), TreeDepth: uint32(s.tree_depth),
		ReaderCount: uint32(s.reader_count), WALSize: uint64(s.wal_size),
		CheckpointLSN: uint64(s.checkpoint_lsn),
	}, nil
}
