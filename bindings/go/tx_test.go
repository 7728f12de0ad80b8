package thunder

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

func TestUpdateCommitsViewReads(t *testing.T) {
	db := openTest(t, nil)
	put(t, db, "a", "1", "b", "")
	must(t, db.View(func(tx *Tx) error {
		if tx.Writable() {
			t.Error("View gave a writable transaction")
		}
		a, err := tx.Get([]byte("a"))
		must(t, err)
		b, err := tx.Get([]byte("b"))
		must(t, err)
		if string(a) != "1" || b == nil || len(b) != 0 {
			t.Errorf("a=%q b=%q (want an empty, non-nil value)", a, b)
		}
		_, err = tx.Get([]byte("c"))
		wantErr(t, err, ErrNotFound)
		return nil
	}))
}

func TestUpdateErrorRollsBack(t *testing.T) {
	db := openTest(t, nil)
	boom := errors.New("boom")
	err := db.Update(func(tx *Tx) error {
		must(t, tx.Put([]byte("k"), []byte("v")))
		return boom
	})
	if err != boom {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	must(t, db.View(func(tx *Tx) error {
		_, err := tx.Get([]byte("k"))
		wantErr(t, err, ErrNotFound)
		return nil
	}))
}

func TestUpdatePanicRollsBackAndRepanics(t *testing.T) {
	db := openTest(t, nil)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v", r)
			}
		}()
		_ = db.Update(func(tx *Tx) error {
			must(t, tx.Put([]byte("k"), []byte("v")))
			panic("boom")
		})
	}()
	// The writer was released: a new write transaction begins at once.
	must(t, db.Update(func(tx *Tx) error {
		_, err := tx.Get([]byte("k"))
		wantErr(t, err, ErrNotFound)
		return nil
	}))
}

func TestManagedTxRefusesCommitAndRollback(t *testing.T) {
	db := openTest(t, nil)
	must(t, db.Update(func(tx *Tx) error {
		wantErr(t, tx.Commit(), ErrTxManaged)
		wantErr(t, tx.Rollback(), ErrTxManaged)
		return tx.Put([]byte("k"), []byte("v"))
	}))
	must(t, db.View(func(tx *Tx) error { _, err := tx.Get([]byte("k")); return err }))
}

func TestWriteInReadTxIsReadOnly(t *testing.T) {
	db := openTest(t, nil)
	must(t, db.View(func(tx *Tx) error {
		wantErr(t, tx.Put([]byte("k"), []byte("v")), ErrReadOnly)
		_, err := tx.CreateBucket([]byte("b"))
		wantErr(t, err, ErrReadOnly)
		return nil
	}))
}

// A second write transaction on the goroutine that holds one is ErrBusy,
// not a deadlock; a read transaction is fine.
func TestNestedUpdateIsBusy(t *testing.T) {
	db := openTest(t, nil)
	must(t, db.Update(func(tx *Tx) error {
		wantErr(t, db.Update(func(*Tx) error { return nil }), ErrBusy)
		return db.View(func(*Tx) error { return nil })
	}))
}

func TestManualBeginCommit(t *testing.T) {
	db := openTest(t, nil)
	tx, err := db.Begin(true)
	must(t, err)
	id := tx.ID()
	must(t, tx.Put([]byte("k"), []byte("v")))
	must(t, tx.Commit())
	wantErr(t, tx.Rollback(), ErrTxClosed) // deferred Rollback after Commit is harmless
	wantErr(t, tx.Put([]byte("k"), []byte("v")), ErrTxClosed)
	if tx.ID() != 0 {
		t.Fatal("ID of an ended transaction")
	}
	rtx, err := db.Begin(false)
	must(t, err)
	defer rtx.Rollback()
	if rtx.ID() != id {
		t.Fatalf("snapshot txid %d, want the commit's %d", rtx.ID(), id)
	}
}

func TestSnapshotIsolation(t *testing.T) {
	db := openTest(t, nil)
	put(t, db, "k", "old")
	old, err := db.Begin(false)
	must(t, err)
	defer old.Rollback()
	put(t, db, "k", "new")
	v, err := old.Get([]byte("k"))
	must(t, err)
	if string(v) != "old" {
		t.Fatalf("snapshot sees %q", v)
	}
}

// Get copies into Go memory; GetView returns the database's own bytes.
func TestGetCopiesGetViewDoesNot(t *testing.T) {
	db := openTest(t, nil)
	put(t, db, "k", "value")
	var kept []byte
	must(t, db.View(func(tx *Tx) error {
		a, _ := tx.Get([]byte("k"))
		b, _ := tx.Get([]byte("k"))
		v1, err := tx.GetView([]byte("k"))
		must(t, err)
		v2, _ := tx.GetView([]byte("k"))
		if &a[0] == &b[0] {
			t.Error("two Gets share memory")
		}
		if &v1[0] != &v2[0] || string(v1) != "value" {
			t.Error("GetView copied")
		}
		kept = a
		return nil
	}))
	put(t, db, "k", "VALUE")
	if string(kept) != "value" {
		t.Fatalf("copy changed to %q", kept)
	}
}

func TestPutFlagsAndBadKeys(t *testing.T) {
	db := openTest(t, nil)
	must(t, db.Update(func(tx *Tx) error {
		must(t, tx.PutFlags([]byte("b"), []byte("1"), NoOverwrite))
		wantErr(t, tx.PutFlags([]byte("b"), []byte("2"), NoOverwrite), ErrKeyExists)
		wantErr(t, tx.PutFlags([]byte("a"), []byte("x"), Append), ErrInvalidArgument)
		must(t, tx.PutFlags([]byte("c"), nil, Append))
		wantErr(t, tx.Put(nil, []byte("v")), ErrInvalidArgument)
		wantErr(t, tx.Put(make([]byte, 100000), nil), ErrKeyTooLarge)
		wantErr(t, tx.Delete([]byte("zz")), ErrNotFound)
		must(t, tx.Delete([]byte("c")))
		// The transaction is still usable after all of these.
		return tx.Put([]byte("d"), []byte("4"))
	}))
	must(t, db.View(func(tx *Tx) error {
		v, err := tx.Get([]byte("b"))
		if string(v) != "1" {
			t.Errorf("b = %q", v)
		}
		return err
	}))
}

// Goroutines migrate between OS threads; the library ties a write
// transaction to the thread that began it. Many writers that yield inside
// their transactions must neither see ErrBusy nor lose an increment.
func TestConcurrentWritersAndReaders(t *testing.T) {
	db := openTest(t, &Options{SyncMode: SyncNone})
	const writers, rounds = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	for w := 0; w < writers; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				err := db.Update(func(tx *Tx) error {
					n := 0
					if v, err := tx.Get([]byte("n")); err == nil {
						n, _ = strconv.Atoi(string(v))
					} else if !errors.Is(err, ErrNotFound) {
						return err
					}
					runtime.Gosched()
					return tx.Put([]byte("n"), []byte(strconv.Itoa(n+1)))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				err := db.View(func(tx *Tx) error {
					_, err := tx.Get([]byte("n"))
					if errors.Is(err, ErrNotFound) {
						err = nil
					}
					runtime.Gosched()
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("reader: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	must(t, db.View(func(tx *Tx) error {
		v, err := tx.Get([]byte("n"))
		if string(v) != strconv.Itoa(writers*rounds) {
			t.Errorf("counter %q, want %d", v, writers*rounds)
		}
		return err
	}))
}
