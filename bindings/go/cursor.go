package thunder

/*
#include <thunder.h>

// The moves without an argument, chosen by number: cgo cannot pass a C
// function as a value.
enum { MOVE_FIRST, MOVE_LAST, MOVE_NEXT, MOVE_PREV };

static enum thunder_status cursor_move(thunder_cursor *c, int move, thunder_bytes *k, thunder_bytes *v) {
	switch (move) {
	case MOVE_FIRST: return thunder_cursor_first(c, k, v);
	case MOVE_LAST: return thunder_cursor_last(c, k, v);
	case MOVE_NEXT: return thunder_cursor_next(c, k, v);
	default: return thunder_cursor_prev(c, k, v);
	}
}
*/
import "C"

// Cursor walks a keyspace in key order. The moves return the key and value
// they land on, copied into Go memory, and a nil key past either end or on
// a failure; Err tells the two apart. A fresh cursor is unpositioned: Next
// acts as First and Prev as Last. In a write transaction the cursor sees the
// transaction's own changes and stays ordered across them.
//
//	c, _ := tx.Cursor()
//	for k, v := c.First(); k != nil; k, v = c.Next() { ... }
//	if err := c.Err(); err != nil { ... }
type Cursor struct {
	tx  *Tx               // keeps the Tx, and so the transaction, alive
	h   *C.thunder_cursor // nil once closed; released when the transaction ends
	err error
}

type moveFunc func(c *C.thunder_cursor, k, v *C.thunder_bytes) C.enum_thunder_status

// use runs f with the cursor's C handle under the transaction's lock:
// ErrTxClosed once the cursor is closed or the transaction ended.
func (c *Cursor) use(f func(h *C.thunder_cursor) error) error {
	return c.tx.t.use("cursor", func(*C.thunder_txn) error {
		if c.h == nil {
			return closedError("cursor")
		}
		return f(c.h)
	})
}

// move runs one cursor move; ErrNotFound (past an end) is not an error. The
// key and value are copied before the transaction can end.
func (c *Cursor) move(f moveFunc) (key, value []byte) {
	err := c.use(func(h *C.thunder_cursor) error {
		var k, v C.thunder_bytes
		if err := call(func() C.enum_thunder_status { return f(h, &k, &v) }); err != nil {
			return err
		}
		key, value = clone(view(k)), clone(view(v))
		return nil
	})
	if err != nil {
		if !isStatus(err, ErrNotFound) {
			c.err = err
		}
		return nil, nil
	}
	c.err = nil
	return key, value
}

func (c *Cursor) step(move C.int) (key, value []byte) {
	return c.move(func(h *C.thunder_cursor, k, v *C.thunder_bytes) C.enum_thunder_status {
		return C.cursor_move(h, move, k, v)
	})
}

// First moves to the first item.
func (c *Cursor) First() (key, value []byte) { return c.step(C.MOVE_FIRST) }

// Last moves to the last item.
func (c *Cursor) Last() (key, value []byte) { return c.step(C.MOVE_LAST) }

// Next moves to the next item. Past the last one it returns a nil key and
// stays past the end: Prev then returns the last item.
func (c *Cursor) Next() (key, value []byte) { return c.step(C.MOVE_NEXT) }

// Prev moves to the previous item; symmetric to Next.
func (c *Cursor) Prev() (key, value []byte) { return c.step(C.MOVE_PREV) }

// Seek moves to the first item whose key is >= seek (an empty seek: the
// first item); a nil key if there is none.
func (c *Cursor) Seek(seek []byte) (key, value []byte) {
	s, sn := cBytes(seek)
	return c.move(func(h *C.thunder_cursor, k, v *C.thunder_bytes) C.enum_thunder_status {
		return C.thunder_cursor_seek(h, s, sn, k, v)
	})
}

// Delete deletes the item under the cursor. Afterwards there is no current
// item: Next returns the item after it, Prev the one before it.
// ErrNotFound if there is no current item.
func (c *Cursor) Delete() error {
	return c.use(func(h *C.thunder_cursor) error {
		return call(func() C.enum_thunder_status { return C.thunder_cursor_delete(h) })
	})
}

// Err is the failure that ended the last move, nil if it succeeded or only
// ran past an end.
func (c *Cursor) Err() error { return c.err }

// Close releases the cursor before its transaction ends (which releases it
// anyway). Moves after Close fail with ErrTxClosed.
func (c *Cursor) Close() {
	t := c.tx.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, open := t.cursors[c.h]; open { // not yet released by the transaction's end
		C.thunder_cursor_close(c.h)
		delete(t.cursors, c.h)
	}
	c.h = nil
}

// each calls fn for every item from the first on, then closes the cursor.
func (c *Cursor) each(fn func(k, v []byte) error) error {
	defer c.Close()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return c.Err()
}
