package thunder

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func fill(t *testing.T, db *DB, bucket string, n int) {
	t.Helper()
	must(t, db.Update(func(tx *Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := b.Put([]byte(fmt.Sprintf("k%03d", i)), []byte(fmt.Sprint(i))); err != nil {
				return err
			}
		}
		return nil
	}))
}

func keys(c *Cursor, first func() ([]byte, []byte), step func() ([]byte, []byte)) string {
	var out []string
	for k, _ := first(); k != nil; k, _ = step() {
		out = append(out, string(k))
	}
	return strings.Join(out, ",")
}

func TestCursorWalksBothWaysAndSeeks(t *testing.T) {
	db := openTest(t, nil)
	fill(t, db, "b", 5)
	must(t, db.View(func(tx *Tx) error {
		b, err := tx.Bucket([]byte("b"))
		must(t, err)
		c, err := b.Cursor()
		must(t, err)
		if got := keys(c, c.First, c.Next); got != "k000,k001,k002,k003,k004" {
			t.Errorf("forward %s", got)
		}
		// Past the end it stays there; Prev comes back to the last item.
		if k, _ := c.Next(); k != nil {
			t.Errorf("Next past the end: %q", k)
		}
		if k, _ := c.Prev(); string(k) != "k004" {
			t.Errorf("Prev from past the end: %q", k)
		}
		if got := keys(c, c.Last, c.Prev); got != "k004,k003,k002,k001,k000" {
			t.Errorf("backward %s", got)
		}
		if k, v := c.Seek([]byte("k002x")); string(k) != "k003" || string(v) != "3" {
			t.Errorf("Seek: %q=%q", k, v)
		}
		if k, _ := c.Seek([]byte("z")); k != nil {
			t.Errorf("Seek past all keys: %q", k)
		}
		if k, _ := c.Seek(nil); string(k) != "k000" {
			t.Errorf("Seek(nil): %q", k)
		}
		return c.Err()
	}))
}

func TestFreshCursorNextIsFirst(t *testing.T) {
	db := openTest(t, nil)
	put(t, db, "a", "1", "b", "2")
	must(t, db.View(func(tx *Tx) error {
		c, err := tx.Cursor()
		must(t, err)
		if k, _ := c.Next(); string(k) != "a" {
			t.Errorf("Next on a fresh cursor: %q", k)
		}
		c2, _ := tx.Cursor()
		if k, _ := c2.Prev(); string(k) != "b" {
			t.Errorf("Prev on a fresh cursor: %q", k)
		}
		return nil
	}))
}

func TestCursorDeleteWhileWalking(t *testing.T) {
	db := openTest(t, nil)
	fill(t, db, "b", 10)
	must(t, db.Update(func(tx *Tx) error {
		b, _ := tx.Bucket([]byte("b"))
		c, err := b.Cursor()
		must(t, err)
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if k[3]%2 == 0 { // even numbers
				must(t, c.Delete())
				wantErr(t, c.Delete(), ErrNotFound)
			}
		}
		return c.Err()
	}))
	var got []string
	must(t, db.View(func(tx *Tx) error {
		b, _ := tx.Bucket([]byte("b"))
		return b.ForEach(func(k, v []byte) error {
			got = append(got, string(k)+"="+string(v))
			return nil
		})
	}))
	if strings.Join(got, " ") != "k001=1 k003=3 k005=5 k007=7 k009=9" {
		t.Fatalf("left %v", got)
	}
}

func TestForEachStopsOnError(t *testing.T) {
	db := openTest(t, nil)
	put(t, db, "a", "1", "b", "2", "c", "3")
	stop := errors.New("stop")
	n := 0
	err := db.View(func(tx *Tx) error {
		return tx.ForEach(func(k, v []byte) error {
			n++
			if string(k) == "b" {
				return stop
			}
			return nil
		})
	})
	if err != stop || n != 2 {
		t.Fatalf("err %v after %d items", err, n)
	}
}

func TestCursorOnReadOnlyTxCannotDelete(t *testing.T) {
	db := openTest(t, nil)
	put(t, db, "a", "1")
	must(t, db.View(func(tx *Tx) error {
		c, _ := tx.Cursor()
		c.First()
		wantErr(t, c.Delete(), ErrReadOnly)
		c.Close()
		if k, _ := c.Next(); k != nil || !errors.Is(c.Err(), ErrTxClosed) {
			t.Errorf("move after Close: %q %v", k, c.Err())
		}
		return nil
	}))
}
