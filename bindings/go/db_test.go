package thunder

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionMatchesHeader(t *testing.T) {
	if v := Version(); v == "" || strings.Count(v, ".") != 2 {
		t.Fatalf("Version() = %q, want MAJOR.MINOR.PATCH", v)
	}
}

func TestReopenKeepsCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	db, err := Open(path, nil)
	must(t, err)
	put(t, db, "k", "v")
	must(t, db.Close())
	db, err = Open(path, &Options{NoCreate: true})
	must(t, err)
	defer db.Close()
	must(t, db.View(func(tx *Tx) error {
		v, err := tx.Get([]byte("k"))
		if err == nil && string(v) != "v" {
			t.Errorf("after reopen: %q", v)
		}
		return err
	}))
}

// The status and the thread-local message travel together in an *Error.
func TestOpenMissingFileCarriesLastError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	_, err := Open(path, &Options{NoCreate: true})
	wantErr(t, err, ErrNotFound)
	var e *Error
	if !errors.As(err, &e) || e.Status != ErrNotFound {
		t.Fatalf("error %v is not an *Error with ErrNotFound", err)
	}
	if !strings.Contains(e.Message, path) {
		t.Fatalf("message %q does not name the path %q", e.Message, path)
	}
	if errors.Is(err, ErrBucketNotFound) || errors.Is(err, ErrLocked) {
		t.Fatalf("%v matches another status", err)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	db := openTest(t, nil)
	_, err := Open(db.Path(), nil)
	wantErr(t, err, ErrLocked)
}

func TestInvalidOptions(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "a.db"), &Options{PageSize: 1000})
	wantErr(t, err, ErrInvalidArgument)
	_, err = Open(filepath.Join(t.TempDir(), "a.db"), &Options{MaxSize: 10})
	wantErr(t, err, ErrInvalidArgument)
}

func TestReadOnlyDatabaseRefusesWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	db, err := Open(path, &Options{PageSize: 8192, SyncMode: SyncNone})
	must(t, err)
	put(t, db, "k", "v")
	must(t, db.Close())
	ro, err := Open(path, &Options{ReadOnly: true})
	must(t, err)
	defer ro.Close()
	wantErr(t, ro.Update(func(tx *Tx) error { return nil }), ErrReadOnly)
	must(t, ro.View(func(tx *Tx) error { _, err := tx.Get([]byte("k")); return err }))
	st, err := ro.Stats()
	must(t, err)
	if st.PageSize != 8192 || st.KeyCount != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloseRefusedWhileTxOpen(t *testing.T) {
	db := openTest(t, nil)
	tx, err := db.Begin(false)
	must(t, err)
	wantErr(t, db.Close(), ErrBusy)
	must(t, tx.Rollback())
	must(t, db.Close())
	wantErr(t, db.Close(), ErrDatabaseClosed)
	_, err = db.Begin(false)
	wantErr(t, err, ErrDatabaseClosed)
	wantErr(t, db.Sync(), ErrDatabaseClosed)
	if db.MaxKeySize() != 0 {
		t.Fatal("MaxKeySize of a closed database")
	}
}

func TestWALSyncCheckpointStats(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, &Options{WAL: true, WALDir: filepath.Join(dir, "log"), SyncMode: SyncBatched})
	put(t, db, "a", "1", "b", "2")
	must(t, db.Sync())
	st, err := db.Stats()
	must(t, err)
	if st.WALSize == 0 || st.KeyCount != 2 || st.LastTxID == 0 {
		t.Fatalf("stats before checkpoint %+v", st)
	}
	must(t, db.Checkpoint())
	if db.MaxKeySize() < 1000 {
		t.Fatalf("MaxKeySize %d", db.MaxKeySize())
	}
}

// A copy of the file of an open logged database, without its log, is
// refused (the log may hold commits the file lacks) unless told the log
// is lost.
func TestAMissingLogIsRefusedUnlessDiscarded(t *testing.T) {
	dir := t.TempDir()
	path, copyPath := filepath.Join(dir, "w.db"), filepath.Join(dir, "copy.db")
	db, err := Open(path, &Options{WAL: true})
	must(t, err)
	put(t, db, "a", "1")
	data, err := os.ReadFile(path)
	must(t, err)
	must(t, os.WriteFile(copyPath, data, 0o600))
	must(t, db.Close())
	_, err = Open(copyPath, nil)
	wantErr(t, err, ErrCorrupted)
	c, err := Open(copyPath, &Options{DiscardMissingWAL: true})
	must(t, err)
	must(t, c.Check())
	must(t, c.Close())
}

// Every sentinel has its own library description, and an *Error matches
// its own sentinel only.
func TestEverySentinelIsDescribed(t *testing.T) {
	all := []Status{ErrNotFound, ErrKeyExists, ErrBucketNotFound, ErrBucketExists,
		ErrInvalidArgument, ErrKeyTooLarge, ErrValueTooLarge, ErrReadOnly, ErrTxClosed,
		ErrBusy, ErrLocked, ErrIO, ErrNoSpace, ErrCorrupted, ErrIncompatible,
		ErrUnsupported, ErrNoMemory, ErrInternal}
	seen := map[string]bool{}
	for _, s := range all {
		msg := s.Error()
		if strings.Contains(msg, "unknown") || seen[msg] {
			t.Errorf("status %d: %q", int32(s), msg)
		}
		seen[msg] = true
		e := error(&Error{Status: s, Message: "context"})
		for _, other := range all {
			if errors.Is(e, other) != (other == s) {
				t.Errorf("errors.Is(%v, %v) = %v", e, other, !(other == s))
			}
		}
	}
	if Status(12345).Error() != "thunder: unknown status" {
		t.Errorf("unknown code: %q", Status(12345).Error())
	}
}
