package raftstore

import (
	"encoding/binary"
	"errors"

	"github.com/hashicorp/raft"
)

// A stored log is its fields after the index (which is the key):
//
//	term       8 bytes, big-endian
//	type       1 byte (raft.LogType)
//	data       uvarint length, then the bytes
//	extensions uvarint length, then the bytes
//
// Nothing may follow.

var errMalformed = errors.New("malformed log record")

func encodeLog(l *raft.Log) []byte {
	buf := make([]byte, 0, 9+2*binary.MaxVarintLen64+len(l.Data)+len(l.Extensions))
	buf = binary.BigEndian.AppendUint64(buf, l.Term)
	buf = append(buf, byte(l.Type))
	buf = binary.AppendUvarint(buf, uint64(len(l.Data)))
	buf = append(buf, l.Data...)
	buf = binary.AppendUvarint(buf, uint64(len(l.Extensions)))
	return append(buf, l.Extensions...)
}

// decodeLog fills every field of l but the index; its byte slices are
// copies (nil when empty), so rec may be a view that dies with its
// transaction.
func decodeLog(rec []byte, l *raft.Log) error {
	if len(rec) < 9 {
		return errMalformed
	}
	l.Term = binary.BigEndian.Uint64(rec)
	l.Type = raft.LogType(rec[8])
	rest := rec[9:]
	var err error
	if l.Data, rest, err = chunk(rest); err != nil {
		return err
	}
	if l.Extensions, rest, err = chunk(rest); err != nil {
		return err
	}
	if len(rest) != 0 {
		return errMalformed
	}
	return nil
}

// chunk reads one length-prefixed byte string off b and copies it.
func chunk(b []byte) (out, rest []byte, err error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, errMalformed
	}
	b = b[w:]
	if n > 0 {
		out = append([]byte(nil), b[:n]...)
	}
	return out, b[n:], nil
}
