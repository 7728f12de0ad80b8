package thunder

import (
	"errors"
	"path/filepath"
	"testing"
)

// openTest opens a fresh database in a temporary directory; at the end of
// the test it runs the full integrity check and closes it.
func openTest(t *testing.T, opts *Options) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "test.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil && !errors.Is(err, ErrDatabaseClosed) {
			t.Errorf("Check: %v", err)
		}
		if err := db.Close(); err != nil && !errors.Is(err, ErrDatabaseClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// must fails the test at once on an error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr fails the test unless errors.Is(err, want).
func wantErr(t *testing.T, err error, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func put(t *testing.T, db *DB, kv ...string) {
	t.Helper()
	must(t, db.Update(func(tx *Tx) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if err := tx.Put([]byte(kv[i]), []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	}))
}
