// bolt.go: bbolt (go.etcd.io/bbolt, Debian's golang-github-coreos-bbolt-dev),
// one bucket "kv", default options. Variants: durable (the default: fsync at
// commit), nosync (DB.NoSync = true).

package main

import (
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

var bucketName = []byte("kv")

type boltDB struct{ db *bolt.DB }

func openBolt(dir, variant string) backend {
	if variant != "durable" && variant != "nosync" {
		die("unknown variant", variant)
	}
	db, err := bolt.Open(filepath.Join(dir, "bbolt.db"), 0644, nil)
	check(err, "open")
	db.NoSync = variant == "nosync"
	check(db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketName)
		return err
	}), "create bucket")
	return &boltDB{db}
}

func (b *boltDB) begin(write bool, slot int) txn {
	tx, err := b.db.Begin(write)
	check(err, "begin")
	return &boltTxn{tx, tx.Bucket(bucketName), write}
}

func (b *boltDB) sync() { check(b.db.Sync(), "sync") }

func (b *boltDB) close() { check(b.db.Close(), "close") }

type boltTxn struct {
	tx    *bolt.Tx
	b     *bolt.Bucket
	write bool
}

// put copies: bbolt keeps the slices it is given until the commit.
func (t *boltTxn) put(k, v []byte) {
	check(t.b.Put(append([]byte(nil), k...), append([]byte(nil), v...)), "put")
}

func (t *boltTxn) get(k []byte) ([]byte, bool) {
	v := t.b.Get(k)
	return v, v != nil
}

func (t *boltTxn) del(k []byte) { check(t.b.Delete(k), "delete") }

func (t *boltTxn) cursor() cursor { return &boltCursor{t.b.Cursor()} }

func (t *boltTxn) commit() {
	if t.write {
		check(t.tx.Commit(), "commit")
	} else {
		check(t.tx.Rollback(), "end read")
	}
}

type boltCursor struct{ c *bolt.Cursor }

func (c *boltCursor) seek(k []byte) ([]byte, []byte, bool) {
	var key, val []byte
	if len(k) == 0 {
		key, val = c.c.First()
	} else {
		key, val = c.c.Seek(k)
	}
	return key, val, key != nil
}

func (c *boltCursor) next() ([]byte, []byte, bool) {
	key, val := c.c.Next()
	return key, val, key != nil
}

func (c *boltCursor) close() {}
