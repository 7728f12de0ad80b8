package raftstore

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"

	"thunder"
)

// newStore opens a store in a temporary directory; the test's end checks
// the database file and closes it.
func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "raft.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.DB().Check(); err != nil {
			t.Errorf("Check: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func testLog(idx uint64, data string) *raft.Log {
	return &raft.Log{Index: idx, Term: idx/10 + 1, Type: raft.LogCommand, Data: []byte(data)}
}

func storeRange(t *testing.T, s *Store, from, to uint64) {
	t.Helper()
	var logs []*raft.Log
	for i := from; i <= to; i++ {
		logs = append(logs, testLog(i, "entry"))
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
}

func wantIndexes(t *testing.T, s *Store, first, last uint64) {
	t.Helper()
	f, err := s.FirstIndex()
	if err != nil || f != first {
		t.Fatalf("FirstIndex = %d, %v; want %d", f, err, first)
	}
	l, err := s.LastIndex()
	if err != nil || l != last {
		t.Fatalf("LastIndex = %d, %v; want %d", l, err, last)
	}
}

func TestIndexesOfEmptyStore(t *testing.T) {
	wantIndexes(t, newStore(t), 0, 0)
}

func TestIndexesOfFilledStore(t *testing.T) {
	s := newStore(t)
	storeRange(t, s, 5, 9)
	wantIndexes(t, s, 5, 9)
}

// Keys are big-endian, so index order survives byte boundaries (little-
// endian keys would put 256 before 255).
func TestIndexOrderAcrossByteBoundaries(t *testing.T) {
	s := newStore(t)
	for _, i := range []uint64{256, 255, 1 << 32, 65535} {
		if err := s.StoreLog(testLog(i, "x")); err != nil {
			t.Fatal(err)
		}
	}
	wantIndexes(t, s, 255, 1<<32)
}

func TestGetLog(t *testing.T) {
	s := newStore(t)
	var got raft.Log
	if err := s.GetLog(1, &got); err != raft.ErrLogNotFound {
		t.Fatalf("missing log: %v", err)
	}
	want := &raft.Log{Index: 2, Term: 7, Type: raft.LogConfiguration, Data: []byte("conf"), Extensions: []byte("ext")}
	storeRange(t, s, 1, 1)
	if err := s.StoreLog(want); err != nil {
		t.Fatal(err)
	}
	if err := s.GetLog(2, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("got %+v, want %+v", got, *want)
	}
}

func TestStoreLogOverwrites(t *testing.T) {
	s := newStore(t)
	if err := s.StoreLog(testLog(1, "first")); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLog(testLog(1, "second")); err != nil {
		t.Fatal(err)
	}
	var got raft.Log
	if err := s.GetLog(1, &got); err != nil || string(got.Data) != "second" {
		t.Fatalf("got %q, %v", got.Data, err)
	}
}

func TestStoreLogsMany(t *testing.T) {
	s := newStore(t)
	storeRange(t, s, 1, 500)
	wantIndexes(t, s, 1, 500)
	for _, i := range []uint64{1, 250, 500} {
		var got raft.Log
		if err := s.GetLog(i, &got); err != nil || !reflect.DeepEqual(&got, testLog(i, "entry")) {
			t.Fatalf("log %d: %+v, %v", i, got, err)
		}
	}
}

func TestDeleteRange(t *testing.T) {
	s := newStore(t)
	storeRange(t, s, 1, 20)
	if err := s.DeleteRange(1, 5); err != nil {
		t.Fatal(err)
	}
	wantIndexes(t, s, 6, 20)
	if err := s.DeleteRange(15, 20); err != nil { // raft's suffix truncation
		t.Fatal(err)
	}
	wantIndexes(t, s, 6, 14)
	var got raft.Log
	for _, gone := range []uint64{1, 5, 15, 20} {
		if err := s.GetLog(gone, &got); err != raft.ErrLogNotFound {
			t.Fatalf("log %d after DeleteRange: %v", gone, err)
		}
	}
	if err := s.DeleteRange(100, 200); err != nil { // nothing there
		t.Fatal(err)
	}
	if err := s.DeleteRange(6, 14); err != nil {
		t.Fatal(err)
	}
	wantIndexes(t, s, 0, 0)
}

func TestSetGet(t *testing.T) {
	s := newStore(t)
	_, err := s.Get([]byte("missing"))
	if err != ErrKeyNotFound || err.Error() != "not found" {
		t.Fatalf("missing key: %v", err)
	}
	if err := s.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	v, err := s.Get([]byte("k"))
	if err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

func TestSetGetUint64(t *testing.T) {
	s := newStore(t)
	if _, err := s.GetUint64([]byte("CurrentTerm")); err != ErrKeyNotFound {
		t.Fatalf("missing key: %v", err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 1<<40+3); err != nil {
		t.Fatal(err)
	}
	v, err := s.GetUint64([]byte("CurrentTerm"))
	if err != nil || v != 1<<40+3 {
		t.Fatalf("GetUint64 = %d, %v", v, err)
	}
	if err := s.Set([]byte("short"), []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUint64([]byte("short")); err == nil {
		t.Fatal("a 3-byte value read as a uint64")
	}
}

// Logs and stable keys are in separate buckets and survive a reopen.
func TestReopenReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	s, err := New(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	storeRange(t, s, 1, 3)
	if err := s.SetUint64([]byte("LastVoteTerm"), 9); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = New(path, &thunder.Options{NoCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantIndexes(t, s, 1, 3)
	if v, err := s.GetUint64([]byte("LastVoteTerm")); err != nil || v != 9 {
		t.Fatalf("LastVoteTerm = %d, %v", v, err)
	}
	if _, err := s.Get([]byte{0, 0, 0, 0, 0, 0, 0, 1}); err != ErrKeyNotFound {
		t.Fatalf("a log key read as a stable key: %v", err)
	}
}

func TestCodecRoundTripAndDamage(t *testing.T) {
	for _, l := range []*raft.Log{
		{Term: 1, Type: raft.LogNoop},
		{Term: 1<<63 + 5, Type: raft.LogCommand, Data: make([]byte, 300), Extensions: []byte{1}},
	} {
		rec := encodeLog(l)
		var got raft.Log
		if err := decodeLog(rec, &got); err != nil || !reflect.DeepEqual(&got, l) {
			t.Fatalf("round trip of %+v: %+v, %v", l, got, err)
		}
		for cut := 0; cut < len(rec); cut++ {
			if err := decodeLog(rec[:cut], &got); !errors.Is(err, errMalformed) {
				t.Fatalf("record cut to %d bytes: %v", cut, err)
			}
		}
		if err := decodeLog(append(rec, 0), &got); !errors.Is(err, errMalformed) {
			t.Fatalf("trailing byte: %v", err)
		}
	}
}
