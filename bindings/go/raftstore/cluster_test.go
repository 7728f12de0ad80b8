package raftstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// The cluster test: three raft nodes in one process over in-memory
// transports, each with its log and stable store in its own thunder file.
// It applies 1,000 commands, shuts the leader down and closes its store,
// waits for a new leader, applies 1,000 more, restarts the old leader from
// its thunder file, and checks that every node applied the 2,000 commands
// in order and that, reopened from their files once more, all the stores
// hold the same committed log.
//
// The raft timeouts are short (100 ms) to keep the test fast, so on a busy
// machine leadership can also change at other moments than the planned
// one. An apply that fails then is retried on the new leader; as the failed
// entry may still have been committed, the FSM skips a command it has
// already applied, and the checks ask for each command exactly once in
// every FSM, in the same order on every node.

const (
	perPhase     = 1000
	applyTimeout = 10 * time.Second
	waitTimeout  = 60 * time.Second
	// The in-memory transport of raft 1.1.2 leaves the receiving node's main
	// loop blocked forever when an RPC's answer comes after this timeout
	// (its reply channel is unbuffered): keep it far above an fsync.
	rpcTimeout = 10 * time.Second
	maxRetries = 5
)

// listFSM records the distinct commands it applies, in order.
type listFSM struct {
	mu      sync.Mutex
	applied []string
	seen    map[string]bool
}

func (f *listFSM) Apply(l *raft.Log) interface{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cmd := string(l.Data); !f.seen[cmd] {
		f.seen[cmd] = true
		f.applied = append(f.applied, cmd)
	}
	return len(f.applied)
}

func (f *listFSM) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.applied...)
}

func (f *listFSM) Snapshot() (raft.FSMSnapshot, error) { return listSnapshot(f.commands()), nil }

func (f *listFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var applied []string
	if err := json.NewDecoder(rc).Decode(&applied); err != nil {
		return err
	}
	f.mu.Lock()
	f.applied, f.seen = applied, map[string]bool{}
	for _, cmd := range applied {
		f.seen[cmd] = true
	}
	f.mu.Unlock()
	return nil
}

type listSnapshot []string

func (s listSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode([]string(s)); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (listSnapshot) Release() {}

// syncBuffer collects the raft logs of all nodes, shown when the test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

type node struct {
	id    raft.ServerID
	path  string
	store *Store
	trans *raft.InmemTransport
	fsm   *listFSM
	raft  *raft.Raft
}

func (n *node) addr() raft.ServerAddress { return raft.ServerAddress(n.id) }

func (n *node) running() bool { return n.raft != nil }

type cluster struct {
	t     *testing.T
	nodes []*node
	logs  *syncBuffer
}

func newCluster(t *testing.T, size int) *cluster {
	c := &cluster{t: t, logs: &syncBuffer{}}
	dir := t.TempDir()
	var servers []raft.Server
	for i := 0; i < size; i++ {
		id := raft.ServerID(fmt.Sprintf("node%d", i))
		c.nodes = append(c.nodes, &node{id: id, path: filepath.Join(dir, string(id)+".db")})
		servers = append(servers, raft.Server{ID: id, Address: raft.ServerAddress(id)})
	}
	t.Cleanup(func() {
		c.stopAll()
		if t.Failed() {
			t.Logf("raft log:\n%s", c.logs.buf.String())
		}
	})
	for _, n := range c.nodes {
		c.start(n)
	}
	for _, n := range c.nodes {
		if err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
			t.Fatalf("bootstrap %s: %v", n.id, err)
		}
	}
	return c
}

func (c *cluster) config(id raft.ServerID) *raft.Config {
	conf := raft.DefaultConfig()
	conf.LocalID = id
	conf.HeartbeatTimeout = 100 * time.Millisecond
	conf.ElectionTimeout = 100 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	// No snapshots: the test wants every entry in every log store.
	conf.SnapshotThreshold = 1 << 40
	conf.SnapshotInterval = time.Hour
	conf.Logger = hclog.New(&hclog.LoggerOptions{Name: string(id), Output: c.logs, Level: hclog.Info})
	return conf
}

// start opens n's store from its file and starts raft on it, connected to
// every running node.
func (c *cluster) start(n *node) {
	var err error
	if n.store, err = New(n.path, nil); err != nil {
		c.t.Fatalf("open store of %s: %v", n.id, err)
	}
	_, n.trans = raft.NewInmemTransportWithTimeout(n.addr(), rpcTimeout)
	n.fsm = &listFSM{seen: map[string]bool{}}
	n.raft, err = raft.NewRaft(c.config(n.id), n.fsm, n.store, n.store, raft.NewInmemSnapshotStore(), n.trans)
	if err != nil {
		c.t.Fatalf("start %s: %v", n.id, err)
	}
	for _, o := range c.nodes {
		if o != n && o.running() {
			n.trans.Connect(o.addr(), o.trans)
			o.trans.Connect(n.addr(), n.trans)
		}
	}
}

// isolate cuts n off the others. New RPCs to or from it fail at once; the
// ones in flight are answered, since the receivers still run.
func (c *cluster) isolate(n *node) {
	for _, o := range c.nodes {
		if o != n && o.running() {
			o.trans.Disconnect(n.addr())
		}
	}
	n.trans.DisconnectAll()
}

// stop cuts n off, shuts its raft down and closes its store. Cutting it off
// first keeps any node from waiting out the RPC timeout on a node that no
// longer answers.
func (c *cluster) stop(n *node) {
	if !n.running() {
		return
	}
	c.isolate(n)
	if err := n.raft.Shutdown().Error(); err != nil {
		c.t.Errorf("shutdown %s: %v", n.id, err)
	}
	n.raft = nil
	if err := n.store.Close(); err != nil {
		c.t.Errorf("close store of %s: %v", n.id, err)
	}
}

func (c *cluster) stopAll() {
	for _, n := range c.nodes {
		if n.running() {
			c.isolate(n)
		}
	}
	for _, n := range c.nodes {
		c.stop(n)
	}
}

func (c *cluster) leader() *node {
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			if n.running() && n.raft.State() == raft.Leader {
				return n
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no leader elected")
	return nil
}

func command(i int) string { return fmt.Sprintf("cmd-%04d", i) }

// apply submits commands from to to-1 to the leader and waits until each
// is committed; commands whose apply failed (leadership changed) are
// submitted again to the new leader.
func (c *cluster) apply(from, to int) {
	var pending []string
	for i := from; i < to; i++ {
		pending = append(pending, command(i))
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		leader := c.leader()
		if attempt == maxRetries {
			c.t.Fatalf("%d commands still failing after %d attempts, leader %s", len(pending), attempt, leader.id)
		}
		futures := make([]raft.ApplyFuture, len(pending))
		for i, cmd := range pending {
			futures[i] = leader.raft.Apply([]byte(cmd), applyTimeout)
		}
		var failed []string
		for i, f := range futures {
			if err := f.Error(); err != nil {
				c.t.Logf("apply %s on %s: %v (retrying)", pending[i], leader.id, err)
				failed = append(failed, pending[i])
			}
		}
		pending = failed
	}
}

// waitApplied waits until every running node's FSM has applied n commands,
// then checks they applied the same ones in the same order.
func (c *cluster) waitApplied(n int) []string {
	deadline := time.Now().Add(waitTimeout)
	for {
		behind := ""
		for _, node := range c.nodes {
			if node.running() && len(node.fsm.commands()) < n {
				behind = string(node.id)
			}
		}
		if behind == "" {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s did not apply %d commands in %v", behind, n, waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var ref []string
	for _, node := range c.nodes {
		if !node.running() {
			continue
		}
		got := node.fsm.commands()
		if len(got) != n {
			c.t.Fatalf("%s applied %d commands, want %d", node.id, len(got), n)
		}
		if ref == nil {
			ref = got
		} else if !reflect.DeepEqual(got, ref) {
			c.t.Fatalf("%s applied the commands in another order", node.id)
		}
	}
	return ref
}

// sameCommands says whether got holds exactly the commands 0 to n-1, each once.
func sameCommands(got []string, n int) bool {
	sorted := append([]string(nil), got...)
	sort.Strings(sorted)
	if len(sorted) != n {
		return false
	}
	for i, cmd := range sorted {
		if cmd != command(i) {
			return false
		}
	}
	return true
}

// waitCommitted waits until every running node has applied the log up to
// the leader's applied index, which it returns: the entries every node's
// store must hold. (Entries past it may be on some nodes only: a late
// election's no-op, for one.)
func (c *cluster) waitCommitted(leader *node) uint64 {
	if err := leader.raft.Barrier(applyTimeout).Error(); err != nil {
		c.t.Fatal(err)
	}
	committed := leader.raft.AppliedIndex()
	deadline := time.Now().Add(waitTimeout)
	for _, n := range c.nodes {
		for n.running() && n.raft.AppliedIndex() < committed {
			if time.Now().After(deadline) {
				c.t.Fatalf("%s applied up to %d, not %d", n.id, n.raft.AppliedIndex(), committed)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return committed
}

// committedLog reads a store's log from 1 to committed back, checking that
// it has no holes and that no snapshot compacted it.
func committedLog(t *testing.T, s *Store, committed uint64) []raft.Log {
	first, err := s.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	last, err := s.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	if first != 1 || last < committed {
		t.Fatalf("log from %d to %d, want 1 to at least %d", first, last, committed)
	}
	logs := make([]raft.Log, 0, committed)
	for i := first; i <= committed; i++ {
		var l raft.Log
		if err := s.GetLog(i, &l); err != nil {
			t.Fatalf("log %d: %v", i, err)
		}
		logs = append(logs, l)
	}
	return logs
}

func TestClusterSurvivesLeaderLossAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test skipped in -short mode")
	}
	start := time.Now()
	phase := func(what string) {
		t.Logf("%-40s at %v", what, time.Since(start).Round(time.Millisecond))
	}
	c := newCluster(t, 3)

	first := c.leader()
	c.apply(0, perPhase)
	if applied := c.waitApplied(perPhase); !sameCommands(applied, perPhase) {
		t.Fatalf("the FSMs applied other commands than the first %d", perPhase)
	}

	phase("first 1,000 applied on every node")
	c.stop(first) // raft shut down, store closed mid-run
	second := c.leader()
	phase("new leader " + string(second.id))
	if second == first {
		t.Fatal("the stopped node is still the leader")
	}
	c.apply(perPhase, 2*perPhase)

	phase("next 1,000 applied on the leader")
	c.start(first) // from its thunder file: raft finds its term, vote and log there
	if applied := c.waitApplied(2 * perPhase); !sameCommands(applied, 2*perPhase) {
		t.Fatalf("the FSMs applied other commands than the %d submitted", 2*perPhase)
	}
	committed := c.waitCommitted(c.leader())
	phase("restarted node caught up")
	c.stopAll()

	// Every store, reopened from its file, holds the same committed log,
	// with every command submitted.
	var reference []raft.Log
	for _, n := range c.nodes {
		s, err := New(n.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		logs := committedLog(t, s, committed)
		if err := s.DB().Check(); err != nil {
			t.Errorf("%s: %v", n.id, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		distinct := map[string]bool{}
		for _, l := range logs {
			if l.Type == raft.LogCommand {
				distinct[string(l.Data)] = true
			}
		}
		var commands []string
		for cmd := range distinct {
			commands = append(commands, cmd)
		}
		if !sameCommands(commands, 2*perPhase) {
			t.Fatalf("%s: the log holds %d distinct commands, not the %d applied", n.id, len(commands), 2*perPhase)
		}
		if reference == nil {
			reference = logs
		} else if !reflect.DeepEqual(logs, reference) {
			t.Fatalf("%s: its log (%d entries) differs from %s's (%d entries)",
				n.id, len(logs), c.nodes[0].id, len(reference))
		}
	}
	t.Logf("%d log entries on each of %d nodes, leader %s then %s, in %v",
		len(reference), len(c.nodes), first.id, second.id, time.Since(start).Round(time.Millisecond))
}
