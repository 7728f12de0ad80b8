// Package raftstore is a hashicorp/raft LogStore and StableStore on a
// thunder database: raft's log in one bucket, keyed by the big-endian
// index so that key order is index order, and raft's stable keys (current
// term, last vote) in another. Every call is one thunder transaction, so
// under the default thunder.SyncFull a call that returned is durable.
package raftstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"

	"thunder"
)

var (
	bucketLogs   = []byte("logs")
	bucketStable = []byte("stable")
)

// ErrKeyNotFound is what Get and GetUint64 return for a missing key. raft
// recognises a missing key by this exact message ("not found").
var ErrKeyNotFound = errors.New("not found")

// Store holds raft's log and stable keys in one thunder database.
type Store struct {
	db *thunder.DB
}

var (
	_ raft.LogStore    = (*Store)(nil)
	_ raft.StableStore = (*Store)(nil)
)

// New opens (or creates) the database at path and its two buckets. opts
// may be nil (thunder's defaults: every commit durable when it returns).
func New(path string, opts *thunder.Options) (*Store, error) {
	db, err := thunder.Open(path, opts)
	if err != nil {
		return nil, err
	}
	if opts == nil || !opts.ReadOnly {
		err = db.Update(func(tx *thunder.Tx) error {
			for _, name := range [][]byte{bucketLogs, bucketStable} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	return &Store{db: db}, nil
}

// Close closes the database; raft must be shut down first.
func (s *Store) Close() error { return s.db.Close() }

// DB is the underlying database.
func (s *Store) DB() *thunder.DB { return s.db }

func indexKey(i uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, i)
	return k
}

// inBucket runs fn on one bucket, in the write transaction if write, else
// in a read transaction.
func (s *Store) inBucket(write bool, bucket []byte, fn func(b *thunder.Bucket) error) error {
	run := s.db.View
	if write {
		run = s.db.Update
	}
	return run(func(tx *thunder.Tx) error {
		b, err := tx.Bucket(bucket)
		if err != nil {
			return err
		}
		return fn(b)
	})
}

// edgeIndex is the index of the first (first true) or last log, 0 if none.
func (s *Store) edgeIndex(first bool) (uint64, error) {
	var idx uint64
	err := s.inBucket(false, bucketLogs, func(b *thunder.Bucket) error {
		c, err := b.Cursor()
		if err != nil {
			return err
		}
		move := c.Last
		if first {
			move = c.First
		}
		if k, _ := move(); k != nil {
			idx = binary.BigEndian.Uint64(k)
		}
		return c.Err()
	})
	return idx, err
}

// FirstIndex is the index of the first stored log, 0 when there is none.
func (s *Store) FirstIndex() (uint64, error) { return s.edgeIndex(true) }

// LastIndex is the index of the last stored log, 0 when there is none.
func (s *Store) LastIndex() (uint64, error) { return s.edgeIndex(false) }

// GetLog reads the log at index into log; raft.ErrLogNotFound if absent.
func (s *Store) GetLog(index uint64, log *raft.Log) error {
	return s.inBucket(false, bucketLogs, func(b *thunder.Bucket) error {
		v, err := b.GetView(indexKey(index))
		if errors.Is(err, thunder.ErrNotFound) {
			return raft.ErrLogNotFound
		}
		if err != nil {
			return err
		}
		// decodeLog copies what it keeps: v is valid only in this transaction.
		if err := decodeLog(v, log); err != nil {
			return fmt.Errorf("raftstore: log %d: %w", index, err)
		}
		log.Index = index
		return nil
	})
}

// StoreLog stores one log.
func (s *Store) StoreLog(log *raft.Log) error { return s.StoreLogs([]*raft.Log{log}) }

// StoreLogs stores logs in one transaction: all of them or none.
func (s *Store) StoreLogs(logs []*raft.Log) error {
	return s.inBucket(true, bucketLogs, func(b *thunder.Bucket) error {
		for _, l := range logs {
			if err := b.Put(indexKey(l.Index), encodeLog(l)); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteRange deletes the logs with index min to max, both included.
func (s *Store) DeleteRange(min, max uint64) error {
	return s.inBucket(true, bucketLogs, func(b *thunder.Bucket) error {
		c, err := b.Cursor()
		if err != nil {
			return err
		}
		for k, _ := c.Seek(indexKey(min)); k != nil && binary.BigEndian.Uint64(k) <= max; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return c.Err()
	})
}

// Set stores a stable key.
func (s *Store) Set(key, val []byte) error {
	return s.inBucket(true, bucketStable, func(b *thunder.Bucket) error { return b.Put(key, val) })
}

// Get returns a stable key's value; ErrKeyNotFound if it was never set.
func (s *Store) Get(key []byte) ([]byte, error) {
	var val []byte
	err := s.inBucket(false, bucketStable, func(b *thunder.Bucket) error {
		var err error
		val, err = b.Get(key)
		if errors.Is(err, thunder.ErrNotFound) {
			return ErrKeyNotFound
		}
		return err
	})
	return val, err
}

// SetUint64 stores a stable key holding a uint64 (8 bytes, big-endian).
func (s *Store) SetUint64(key []byte, val uint64) error { return s.Set(key, indexKey(val)) }

// GetUint64 returns a stable key set by SetUint64; ErrKeyNotFound if it was
// never set.
func (s *Store) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("raftstore: key %q holds %d bytes, not a uint64", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}
