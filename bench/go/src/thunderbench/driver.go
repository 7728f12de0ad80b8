// driver.go: the Go driver of `make bench` (bbolt). The same groups, workloads,
// checks and output lines as bench/c/driver.c, whose head documents them.
//
//	usage: bench-bbolt VARIANT GROUP DIR N
//	       bench-bbolt selftest
package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	engineName   = "bbolt"
	writePreload = 100000
	rangeLen     = 100
	preloadChunk = 50000
)

var variant string

func die(what, detail string) {
	fmt.Fprintf(os.Stderr, "%s %s: %s: %s\n", engineName, variant, what, detail)
	os.Exit(1)
}

func check(err error, what string) {
	if err != nil {
		die(what, err.Error())
	}
}

func result(wl string, ops uint64, secs float64, sum uint64) {
	fmt.Printf("RESULT %s %s %s %d %.6f %016x\n", engineName, variant, wl, ops, secs, sum)
}

func metric(name string, value uint64) {
	fmt.Printf("METRIC %s %s %s %d\n", engineName, variant, name, value)
}

func since(t0 time.Time) float64 { return time.Since(t0).Seconds() }

// diskUsage: bytes allocated on disk under dir.
func diskUsage(dir string) uint64 {
	var total uint64
	check(filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil {
			total += uint64(info.Sys().(*syscall.Stat_t).Blocks) * 512
		}
		return err
	}), "walk")
	return total
}

// peakRSSKB: VmHWM of this process, in KiB.
func peakRSSKB() uint64 {
	f, err := os.Open("/proc/self/status")
	check(err, "open /proc/self/status")
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) >= 2 && fields[0] == "VmHWM:" {
			kb, _ := strconv.ParseUint(fields[1], 10, 64)
			return kb
		}
	}
	return 0
}

func putRange(db backend, slot int, first, count uint64) {
	k, v := make([]byte, keyLen), make([]byte, valLen)
	t := db.begin(true, slot)
	for i := first; i < first+count; i++ {
		makeKey(i, k)
		makeValue(loadSeed+i, v)
		t.put(k, v)
	}
	t.commit()
}

// preload puts keys [0, n) with their loaded values, preloadChunk keys per
// transaction, and syncs.
func preload(db backend, n uint64) {
	for i := uint64(0); i < n; i += preloadChunk {
		count := n - i
		if count > preloadChunk {
			count = preloadChunk
		}
		putRange(db, 0, i, count)
	}
	db.sync()
}

// getChecked gets key i, which must hold a value made from seed (any value
// when seed is 0), and returns its digest.
func getChecked(t txn, i, seed uint64) uint64 {
	k := make([]byte, keyLen)
	makeKey(i, k)
	v, ok := t.get(k)
	if !ok {
		die("WRONG", fmt.Sprintf("key %d is missing", i))
	}
	if len(v) != valLen || (seed != 0 && getBE(v) != valueHead(seed)) {
		die("WRONG", fmt.Sprintf("key %d has a wrong value", i))
	}
	return digest(v)
}

func getBE(p []byte) uint64 {
	var v uint64
	for _, b := range p[:8] {
		v = v<<8 | uint64(b)
	}
	return v
}

func readerMain(db backend, slot int, seed, count, n uint64) uint64 {
	g := rng{seed}
	var sum uint64
	t := db.begin(false, slot)
	for c := uint64(0); c < count; c++ {
		i := g.below(n)
		sum += getChecked(t, i, loadSeed+i)
	}
	t.commit()
	return sum
}

func randomReads(db backend, wl string, threads int, total, n, seed uint64) {
	each := total / uint64(threads)
	var sum uint64
	var t0 time.Time
	if threads == 1 {
		t0 = time.Now()
		sum = readerMain(db, 0, seed, each, n)
	} else {
		sums := make([]uint64, threads)
		var ready, done sync.WaitGroup
		start := make(chan struct{})
		ready.Add(threads)
		done.Add(threads)
		for i := 0; i < threads; i++ {
			go func(i int) {
				defer done.Done()
				ready.Done()
				<-start
				sums[i] = readerMain(db, i, seed+uint64(i), each, n)
			}(i)
		}
		ready.Wait()
		t0 = time.Now()
		close(start)
		done.Wait()
		for _, s := range sums {
			sum += s
		}
	}
	result(wl, each*uint64(threads), since(t0), sum)
}

func missingReads(db backend, n uint64) {
	g := rng{2}
	k := make([]byte, keyLen)
	var sum uint64
	t0 := time.Now()
	t := db.begin(false, 0)
	for c := uint64(0); c < n; c++ {
		i := n + g.below(n)
		makeKey(i, k)
		if _, ok := t.get(k); ok {
			die("WRONG", "a key never written was found")
		}
		sum += i
	}
	t.commit()
	result("missing", n, since(t0), sum)
}

const fromFirst = ^uint64(0)

// readItems reads up to length items from the first key >= key(i) (from the
// first item when i is fromFirst), adds their digests to *sum, returns the count.
func readItems(c cursor, i, length uint64, sum *uint64) uint64 {
	k := make([]byte, keyLen)
	if i != fromFirst {
		makeKey(i, k)
	} else {
		k = k[:0]
	}
	var got uint64
	ko, vo, ok := c.seek(k)
	for ok && got < length {
		if len(vo) != valLen {
			die("WRONG", "a value of the wrong length")
		}
		*sum += digest(ko) + digest(vo)
		got++
		if got < length {
			ko, vo, ok = c.next()
		}
	}
	return got
}

func rangeReads(db backend, n uint64) {
	g := rng{3}
	ranges := n / 10
	if ranges == 0 {
		ranges = 1
	}
	var sum, items uint64
	t0 := time.Now()
	t := db.begin(false, 0)
	c := t.cursor()
	for r := uint64(0); r < ranges; r++ {
		items += readItems(c, g.below(n), rangeLen, &sum)
	}
	c.close()
	t.commit()
	result("range", ranges, since(t0), sum+items)
}

func fullScan(db backend, expect uint64) (uint64, float64) {
	var sum uint64
	t0 := time.Now()
	t := db.begin(false, 0)
	c := t.cursor()
	got := readItems(c, fromFirst, ^uint64(0), &sum)
	c.close()
	t.commit()
	secs := since(t0)
	if got != expect {
		die("WRONG", fmt.Sprintf("scan found %d items, not %d", got, expect))
	}
	return sum, secs
}

func groupCore(dir string, n uint64) {
	db := openBolt(dir, variant)
	preload(db, n)
	db.close()

	db = openBolt(dir, variant)
	randomReads(db, "read1", 1, n, n, 1)
	randomReads(db, "read2", 2, n, n, 10)
	missingReads(db, n)
	rangeReads(db, n)
	sum, secs := fullScan(db, n)
	result("scan", n, secs, sum)

	k := make([]byte, keyLen)
	var removed uint64
	t0 := time.Now()
	t := db.begin(true, 0)
	for i := uint64(0); i < n; i += 2 {
		makeKey(i, k)
		t.del(k)
		removed++
	}
	t.commit()
	result("delete", removed, since(t0), 0)
	sum, _ = fullScan(db, n-removed)
	fmt.Printf("CHECK %s %s after_delete %d %016x\n", engineName, variant, n-removed, sum)
	db.sync()
	db.close()
	metric("disk_delete", diskUsage(dir))
	metric("rss_kb", peakRSSKB())
}

const (
	opRead = iota
	opUpdate
	opInsert
	opScan
	opRMW
)

// ycsbOp: which operation of YCSB workload w the percentile p (0..99) picks.
func ycsbOp(w byte, p uint64) int {
	switch w {
	case 'A':
		if p < 50 {
			return opRead
		}
		return opUpdate
	case 'B':
		if p < 95 {
			return opRead
		}
		return opUpdate
	case 'C':
		return opRead
	case 'D':
		if p < 95 {
			return opRead
		}
		return opInsert
	case 'E':
		if p < 95 {
			return opScan
		}
		return opInsert
	}
	if p < 50 { // F
		return opRead
	}
	return opRMW
}

func ycsbWorkload(db backend, w byte, ops uint64, count *uint64, z *zipf) {
	g := rng{100 + uint64(w-'A')}
	k, v := make([]byte, keyLen), make([]byte, valLen)
	var sum uint64
	t0 := time.Now()
	for op := uint64(0); op < ops; op++ {
		kind := ycsbOp(w, g.below(100))
		if kind == opInsert {
			putRange(db, 0, *count, 1)
			*count++
			continue
		}
		rank := z.next(&g)
		i := rank
		if w == 'D' {
			i = *count - 1 - rank
		}
		seed := i + ((op + 1) << 32) + (uint64(w) << 56)
		switch kind {
		case opRead:
			t := db.begin(false, 0)
			sum += getChecked(t, i, 0)
			t.commit()
		case opScan:
			length := 1 + g.below(rangeLen)
			t := db.begin(false, 0)
			c := t.cursor()
			sum += readItems(c, i, length, &sum)
			c.close()
			t.commit()
		default: // opUpdate, opRMW
			t := db.begin(true, 0)
			if kind == opRMW {
				sum += getChecked(t, i, 0)
			}
			makeKey(i, k)
			makeValue(seed, v)
			t.put(k, v)
			t.commit()
		}
	}
	result("ycsb-"+string(w), ops, since(t0), sum)
}

func groupYCSB(dir string, n uint64) {
	db := openBolt(dir, variant)
	preload(db, n)
	ops := n / 10
	if ops < 1000 {
		ops = 1000
	}
	count := n
	z := newZipf(n)
	for _, w := range []byte("ABCFDE") {
		ycsbWorkload(db, w, ops, &count, z)
	}
	db.sync()
	db.close()
}

// sampleBack reads back about 256 keys spread over [first, first+count) and the last.
func sampleBack(db backend, first, count uint64) uint64 {
	var sum uint64
	step := count / 256
	if step == 0 {
		step = 1
	}
	t := db.begin(false, 0)
	for i := first; i < first+count; i += step {
		sum += getChecked(t, i, loadSeed+i)
	}
	last := first + count - 1
	sum += getChecked(t, last, loadSeed+last)
	t.commit()
	return sum
}

func groupWrites(dir, wl string, n uint64) {
	var commits, per, threads uint64 = 0, 1, 1
	switch wl {
	case "w1", "w4-1":
		commits = 1000
	case "w2":
		commits, per = 100, 1000
	case "w3":
		commits = 10000
	case "w4-4":
		commits, threads = 1000, 4
	default:
		die("unknown group", wl)
	}
	pre := n
	if pre > writePreload {
		pre = writePreload
	}
	ops := commits * per
	db := openBolt(dir, variant)
	preload(db, pre)

	each := commits / threads
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(int(threads))
	done.Add(int(threads))
	for i := uint64(0); i < threads; i++ {
		go func(i uint64) {
			defer done.Done()
			ready.Done()
			<-start
			for c := uint64(0); c < each; c++ {
				putRange(db, int(i), pre+i*each*per+c*per, per)
			}
		}(i)
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	secs := since(t0)
	result(wl, ops, secs, sampleBack(db, pre, ops)+sampleBack(db, 0, pre))
	db.sync()
	db.close()
}

func groupLoad(dir string, n uint64) {
	db := openBolt(dir, variant)
	t0 := time.Now()
	putRange(db, 0, 0, n)
	result("load", n, since(t0), 0)
	db.sync()
	db.close()
	metric("disk_load", diskUsage(dir))
	metric("rss_load_kb", peakRSSKB())
}

func selftest() {
	k, v := make([]byte, keyLen), make([]byte, valLen)
	for i := uint64(0); i < 3; i++ {
		makeKey(i, k)
		makeValue(loadSeed+i, v)
		fmt.Printf("key %d %x value %016x\n", i, k, digest(v))
	}
	g := rng{1}
	fmt.Print("below")
	for i := 0; i < 8; i++ {
		fmt.Printf(" %d", g.below(1000000))
	}
	fmt.Println()
	z := newZipf(100000)
	fmt.Printf("zeta %016x eta %016x\nzipf", math.Float64bits(z.zetan), math.Float64bits(z.eta))
	h := rng{100}
	var sum, zeros uint64
	for i := 0; i < 200000; i++ {
		r := z.next(&h)
		if i < 12 {
			fmt.Printf(" %d", r)
		}
		sum = sum*31 + r
		if r == 0 {
			zeros++
		}
	}
	fmt.Printf("\nzipf 200000 draws: hash %016x, rank 0 drawn %d times\n", sum, zeros)
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "selftest" {
		selftest()
		return
	}
	if len(os.Args) != 5 {
		fmt.Fprintf(os.Stderr, "usage: %s VARIANT core|ycsb|w1|w2|w3|w4-1|w4-4|load DIR N\n       %s selftest\n", os.Args[0], os.Args[0])
		os.Exit(2)
	}
	variant = os.Args[1]
	group, dir := os.Args[2], os.Args[3]
	n, err := strconv.ParseUint(os.Args[4], 10, 64)
	if err != nil || n < 16 {
		die("N must be at least 16", os.Args[4])
	}
	switch group {
	case "core":
		groupCore(dir, n)
	case "ycsb":
		groupYCSB(dir, n)
	case "load":
		groupLoad(dir, n)
	default:
		groupWrites(dir, group, n)
	}
}
