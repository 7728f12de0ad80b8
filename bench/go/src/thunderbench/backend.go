// backend.go: what an engine gives the Go driver (the Go form of
// bench/c/backend.h). Every call succeeds or ends the process through die.

package main

type backend interface {
	// begin starts a transaction owned by the goroutine numbered slot.
	begin(write bool, slot int) txn
	sync() // everything committed durable and checkpointed
	close()
}

// Views returned by get, seek and next stay valid until the transaction ends.
type txn interface {
	put(k, v []byte)
	get(k []byte) ([]byte, bool)
	del(k []byte)
	cursor() cursor
	commit() // ends a read transaction too
}

type cursor interface {
	seek(k []byte) (key, val []byte, ok bool) // first key >= k; empty k: the first item
	next() (key, val []byte, ok bool)
	close()
}
