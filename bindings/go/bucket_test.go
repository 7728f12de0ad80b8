package thunder

import (
	"strings"
	"testing"
)

func TestBucketsNestAndPersist(t *testing.T) {
	db := openTest(t, nil)
	must(t, db.Update(func(tx *Tx) error {
		users, err := tx.CreateBucket([]byte("users"))
		must(t, err)
		_, err = tx.CreateBucket([]byte("users"))
		wantErr(t, err, ErrBucketExists)
		admins, err := users.CreateBucketIfNotExists([]byte("admins"))
		must(t, err)
		must(t, admins.Put([]byte("alice"), []byte("root")))
		// Keys and child buckets are separate namespaces.
		return users.Put([]byte("admins"), []byte("a key"))
	}))
	must(t, db.View(func(tx *Tx) error {
		_, err := tx.Bucket([]byte("nope"))
		wantErr(t, err, ErrBucketNotFound)
		users, err := tx.Bucket([]byte("users"))
		must(t, err)
		admins, err := users.Bucket([]byte("admins"))
		must(t, err)
		v, err := admins.Get([]byte("alice"))
		must(t, err)
		k, err := users.Get([]byte("admins"))
		must(t, err)
		if string(v) != "root" || string(k) != "a key" {
			t.Errorf("alice=%q admins key=%q", v, k)
		}
		_, err = tx.Get([]byte("alice"))
		wantErr(t, err, ErrNotFound) // not in the default keyspace
		return nil
	}))
}

func TestDeleteBucketAndStaleHandle(t *testing.T) {
	db := openTest(t, nil)
	must(t, db.Update(func(tx *Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		must(t, err)
		must(t, b.Put([]byte("k"), []byte("v")))
		must(t, tx.DeleteBucket([]byte("b")))
		wantErr(t, b.Put([]byte("k"), []byte("v")), ErrBucketNotFound)
		wantErr(t, tx.DeleteBucket([]byte("b")), ErrBucketNotFound)
		return nil
	}))
}

// Handles the transaction released report ErrTxClosed, never reach C.
func TestHandlesAfterTxEnd(t *testing.T) {
	db := openTest(t, nil)
	var b *Bucket
	var c *Cursor
	must(t, db.Update(func(tx *Tx) error {
		var err error
		b, err = tx.CreateBucket([]byte("b"))
		must(t, err)
		c, err = b.Cursor()
		return err
	}))
	wantErr(t, b.Put([]byte("k"), []byte("v")), ErrTxClosed)
	_, err := b.Get([]byte("k"))
	wantErr(t, err, ErrTxClosed)
	_, err = b.Bucket([]byte("x"))
	wantErr(t, err, ErrTxClosed)
	if k, _ := c.First(); k != nil {
		t.Fatal("a move on a closed cursor returned a key")
	}
	wantErr(t, c.Err(), ErrTxClosed)
	wantErr(t, c.Delete(), ErrTxClosed)
	c.Close() // harmless
}

func TestNextSequence(t *testing.T) {
	db := openTest(t, nil)
	must(t, db.Update(func(tx *Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		must(t, err)
		for want := uint64(1); want <= 3; want++ {
			n, err := b.NextSequence()
			must(t, err)
			if n != want {
				t.Fatalf("sequence %d, want %d", n, want)
			}
		}
		_, err = tx.root().NextSequence()
		wantErr(t, err, ErrInvalidArgument)
		return nil
	}))
	must(t, db.Update(func(tx *Tx) error {
		b, err := tx.Bucket([]byte("b"))
		must(t, err)
		n, err := b.NextSequence()
		if n != 4 {
			t.Errorf("sequence after commit %d, want 4", n)
		}
		return err
	}))
}

func TestForEachBucket(t *testing.T) {
	db := openTest(t, nil)
	must(t, db.Update(func(tx *Tx) error {
		for _, n := range []string{"c", "a", "b"} {
			if _, err := tx.CreateBucket([]byte(n)); err != nil {
				return err
			}
		}
		return tx.Put([]byte("key"), []byte("not a bucket"))
	}))
	var names []string
	must(t, db.View(func(tx *Tx) error {
		return tx.ForEachBucket(func(name []byte) error {
			names = append(names, string(name))
			return nil
		})
	}))
	if strings.Join(names, ",") != "a,b,c" {
		t.Fatalf("buckets %v", names)
	}
}
