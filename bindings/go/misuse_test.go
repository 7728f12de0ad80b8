package thunder

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Bug: a path with an embedded NUL is truncated by C.CString: Open opens
// (and creates) another file than the one named.
func TestMisuseOpenPathWithNUL(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "a.db")+"\x00suffix", nil)
	if err == nil {
		db.Close()
	}
	if _, statErr := os.Stat(filepath.Join(dir, "a.db")); statErr == nil {
		t.Fatalf("Open(\"a.db\\x00suffix\") = %v and created a.db (path silently truncated)", err)
	}
	if err == nil {
		t.Fatal("Open accepted a path with a NUL byte")
	}
}

// Bug: a negative LockTimeout wraps to ~49.7 days in uint32(ms): Open on a
// locked file hangs instead of failing.
func TestMisuseNegativeLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	holder, err := Open(path, nil)
	must(t, err)
	defer holder.Close()
	done := make(chan error, 1)
	go func() {
		db, err := Open(path, &Options{LockTimeout: -time.Millisecond})
		if err == nil {
			db.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("opened a locked file")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Open with LockTimeout -1ms still blocked after 3s (uint32 wrap to 4294967295 ms)")
	}
}

// Bug: a Tx has no synchronisation: a Rollback on one goroutine releases
// the C handle while another goroutine passes it to the library.
// Run with -race (as make go-test does): the race detector reports it; the
// library, handed a freed handle, answers InvalidArgument instead of TxClosed.
func TestMisuseConcurrentTxUseDuringRollback(t *testing.T) {
	db := openTest(t, nil)
	put(t, db, "k", "v")
	var mu sync.Mutex
	seen := map[Status]int{}
	for i := 0; i < 3000; i++ {
		tx, err := db.Begin(false)
		must(t, err)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if _, err := tx.Get([]byte("k")); err != nil {
					var e *Error
					if errors.As(err, &e) {
						mu.Lock()
						seen[e.Status]++
						mu.Unlock()
					}
				}
			}
		}()
		_ = tx.Rollback()
		wg.Wait()
	}
	for st := range seen {
		if st != ErrTxClosed {
			t.Fatalf("concurrent use reached the library with a released handle: %v", seen)
		}
	}
}

// Bug: an abandoned Tx (never ended) is never released: no finalizer, so
// the read snapshot stays registered and Close is refused for good.
func TestMisuseAbandonedTxIsReleased(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "x.db"), nil)
	must(t, err)
	func() {
		tx, err := db.Begin(false)
		must(t, err)
		_ = tx.ID()
	}()
	for i := 0; i < 5; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close after the only Tx became garbage: %v", err)
	}
}

// Bug, write transactions: the library lets a transaction end on another
// thread than the one that began it (thunder.h: a transaction may move
// between threads), so the finalizer rolls an abandoned write Tx back too.
// The goroutine that began it stays locked to its OS thread (only it could
// unlock it); here it exits, which ends that thread.
func TestMisuseAbandonedWriteTxIsReleased(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "x.db"), nil)
	must(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tx, err := db.Begin(true)
		if err != nil {
			t.Error(err)
			return
		}
		if err := tx.Put([]byte("k"), []byte("v")); err != nil {
			t.Error(err)
		}
	}()
	<-done
	for i := 0; i < 5; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	// The writer is free again and the abandoned write was rolled back.
	got := make(chan error, 1)
	go func() {
		tx, err := db.Begin(true)
		if err == nil {
			_, err = tx.Get([]byte("k"))
			if rerr := tx.Rollback(); rerr != nil {
				err = rerr
			}
		}
		got <- err
	}()
	select {
	case err := <-got:
		wantErr(t, err, ErrNotFound)
	case <-time.After(3 * time.Second):
		t.Fatal("Begin(true) still waits for the writer of the abandoned Tx after 3s")
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close after the write Tx became garbage: %v", err)
	}
}

// Bug: the finalizer must not end a transaction that is still in use
// through its buckets or cursors: they keep the Tx reachable.
func TestMisuseBucketAndCursorKeepTxAlive(t *testing.T) {
	db := openTest(t, nil)
	must(t, db.Update(func(tx *Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	}))
	b, c := func() (*Bucket, *Cursor) {
		tx, err := db.Begin(false)
		must(t, err)
		b, err := tx.Bucket([]byte("b"))
		must(t, err)
		c, err := b.Cursor()
		must(t, err)
		return b, c
	}()
	for i := 0; i < 5; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	v, err := b.Get([]byte("k"))
	must(t, err)
	if k, _ := c.First(); string(k) != "k" || string(v) != "v" {
		t.Fatalf("got %q=%q, want k=v (err %v)", k, v, c.Err())
	}
	must(t, b.tx.Rollback())
}
