/* probe: an instruction-count and wall-clock probe of thunder's hot paths.
 *
 * Usage: probe <load|read|commit|missing|scan|range|delete|txread> <dbdir> <N>
 *
 *   load    N puts of new keys in one write transaction, then its commit.
 *   read    (after loading N keys, not measured) N gets of random existing
 *           keys in one read transaction, each value checked.
 *   commit  (after loading N keys, not measured) K = max(N / 100, 100)
 *           write transactions of one put each, committed durably
 *           (THUNDER_SYNC_FULL, the default).
 *   missing (after loading N keys) N gets of keys never written.
 *   txread  (after loading N keys) N read transactions of one get each (as
 *           YCSB C runs: a transaction per operation).
 *   scan    (after loading N keys) every item in key order, one cursor.
 *   range   (after loading N keys) N/10 seeks to a random key, then 99 nexts.
 *   delete  (after loading N keys) the even-numbered half deleted in one
 *           write transaction, then its commit.
 *
 * Key i is 24 hex digits: 16 of element i of a splitmix64 stream, then 8 of
 * i (so keys are unique and arrive in random order); its value is 150 bytes
 * of the splitmix64 stream seeded with that same element. Keys and values
 * are made before the measured phase, which so holds little besides the
 * thunder calls. Every run with the same N makes the same calls with the
 * same bytes.
 *
 * Environment: PROBE_SYNC=none|batched|full sets the sync mode (default
 * full), PROBE_WAL=1 turns the write-ahead log on: the write workloads
 * (commit above all) then measure those write paths.
 *
 * Only the measured phase runs instrumented under callgrind: it is bracketed
 * by CALLGRIND_ZERO_STATS + CALLGRIND_START_INSTRUMENTATION and
 * CALLGRIND_STOP_INSTRUMENTATION, so run it with --instr-atstart=no. The
 * database lives in <dbdir>/probe.db, created fresh (the directory must
 * exist; an old probe.db is removed). Afterwards it checks the key count
 * and runs thunder_check(), then prints one line:
 *   workload=W n=N ops=OPS checksum=X ns_per_op=T
 * checksum covers the first 8 bytes of each value read (0 but for read);
 * ns_per_op is the wall-clock time of the measured phase per op, 0 under
 * valgrind. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, unlink */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include "thunder.h"

#define KEY_LEN 24
#define VAL_LEN 150
#define MAX_SIZE ((uint64_t)4 << 30)

static void fail(const char *what, thunder_status s) {
  fprintf(stderr, "probe: %s failed: %s (%s)\n", what, thunder_strerror(s), thunder_last_error());
  exit(1);
}

#define TRY(what, call)                     \
  do {                                      \
    thunder_status s_ = (call);             \
    if (s_ != THUNDER_OK) fail((what), s_); \
  } while (0)

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* The random part of key i: element i of the splitmix64 stream from seed 0. */
static uint64_t key_random(uint64_t i) {
  uint64_t state = i * 0x9e3779b97f4a7c15u;
  return splitmix64(&state);
}

static void put_hex(uint8_t *out, uint64_t v, int digits) {
  static const char hex[] = "0123456789abcdef";
  for (int d = digits - 1; d >= 0; d--, v >>= 4) out[d] = (uint8_t)hex[v & 15];
}

/* Key i and its value, made before the measured phase. */
typedef struct item {
  uint8_t key[KEY_LEN];
  uint8_t val[(VAL_LEN + 7) / 8 * 8];
} item;

static item *make_items(uint64_t count) {
  item *items = malloc(count * sizeof *items);
  if (!items) {
    fprintf(stderr, "probe: out of memory\n");
    exit(1);
  }
  for (uint64_t i = 0; i < count; i++) {
    uint64_t r = key_random(i), state = r;
    put_hex(items[i].key, r, 16);
    put_hex(items[i].key + 16, i, 8);
    for (size_t off = 0; off < VAL_LEN; off += 8) {
      uint64_t w = splitmix64(&state);
      memcpy(items[i].val + off, &w, 8);
    }
  }
  return items;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t measure_start(void) {
  CALLGRIND_ZERO_STATS;
  CALLGRIND_START_INSTRUMENTATION;
  return now_ns();
}

static uint64_t measure_stop(uint64_t start) {
  uint64_t elapsed = now_ns() - start;
  CALLGRIND_STOP_INSTRUMENTATION;
  return elapsed;
}

/* Puts items [first, first + n) in one write transaction and commits it. */
static void put_range(thunder_db *db, const item *items, uint64_t first, uint64_t n) {
  thunder_txn *txn;
  TRY("begin write", thunder_txn_begin(db, THUNDER_TXN_WRITE, &txn));
  for (uint64_t i = first; i < first + n; i++)
    TRY("put", thunder_put(txn, items[i].key, KEY_LEN, items[i].val, VAL_LEN, 0));
  TRY("commit", thunder_txn_commit(txn));
}

/* Gets `ops` random items of [0, n), checks each value, returns a checksum
 * of their first 8 bytes; in one read transaction, or (per_get) in one
 * read transaction per get, as YCSB runs. */
static uint64_t read_random(thunder_db *db, const item *items, uint64_t n, uint64_t ops, int per_get) {
  uint64_t pick = per_get ? 11 : 42, sum = 0;
  thunder_txn *txn = NULL;
  thunder_bytes got;
  for (uint64_t op = 0; op < ops; op++) {
    uint64_t i = splitmix64(&pick) % n, w;
    if (!txn) TRY("begin read", thunder_txn_begin(db, THUNDER_TXN_READ, &txn));
    TRY("get", thunder_get(txn, items[i].key, KEY_LEN, &got));
    if (got.len != VAL_LEN || memcmp(got.data, items[i].val, VAL_LEN) != 0) {
      fprintf(stderr, "probe: wrong value for key %" PRIu64 "\n", i);
      exit(1);
    }
    memcpy(&w, got.data, 8);
    sum = (sum ^ w) * 0x100000001b3u;
    if (per_get) {
      TRY("end read", thunder_txn_commit(txn));
      txn = NULL;
    }
  }
  if (txn) TRY("end read", thunder_txn_commit(txn));
  return sum;
}

/* N gets of keys never written (key i of [n, 2n) made on the fly). */
static uint64_t read_missing(thunder_db *db, uint64_t n) {
  uint64_t pick = 7, sum = 0;
  thunder_txn *txn;
  thunder_bytes got;
  uint8_t key[KEY_LEN];
  TRY("begin read", thunder_txn_begin(db, THUNDER_TXN_READ, &txn));
  for (uint64_t op = 0; op < n; op++) {
    uint64_t i = n + splitmix64(&pick) % n;
    put_hex(key, key_random(i), 16);
    put_hex(key + 16, i, 8);
    thunder_status s = thunder_get(txn, key, KEY_LEN, &got);
    if (s != THUNDER_NOT_FOUND) fail("get of a missing key", s);
    sum += i;
  }
  TRY("end read", thunder_txn_commit(txn));
  return sum;
}

/* `ranges` seeks (0: one scan from the first item) each followed by up to
 * `len` - 1 nexts; returns a checksum of the first 8 bytes of every value. */
static uint64_t read_ranges(thunder_db *db, const item *items, uint64_t n, uint64_t ranges, uint64_t len) {
  uint64_t pick = 3, sum = 0;
  thunder_txn *txn;
  thunder_cursor *c;
  thunder_bytes k, v;
  TRY("begin read", thunder_txn_begin(db, THUNDER_TXN_READ, &txn));
  TRY("cursor", thunder_cursor_open(txn, NULL, &c));
  for (uint64_t r = 0; r < (ranges ? ranges : 1); r++) {
    thunder_status s = ranges ? thunder_cursor_seek(c, items[splitmix64(&pick) % n].key, KEY_LEN, &k, &v)
                              : thunder_cursor_first(c, &k, &v);
    for (uint64_t got = 0; s == THUNDER_OK && got < len; got++) {
      uint64_t w;
      memcpy(&w, v.data, 8);
      sum = (sum ^ w) * 0x100000001b3u;
      if (got + 1 < len) s = thunder_cursor_next(c, &k, &v);
    }
    if (s != THUNDER_OK && s != THUNDER_NOT_FOUND) fail("cursor", s);
  }
  thunder_cursor_close(c);
  TRY("end read", thunder_txn_commit(txn));
  return sum;
}

int main(int argc, char **argv) {
  const char *w = argc == 4 ? argv[1] : "";
  int is_load = !strcmp(w, "load"), is_read = !strcmp(w, "read"), is_commit = !strcmp(w, "commit");
  int is_missing = !strcmp(w, "missing"), is_scan = !strcmp(w, "scan"), is_range = !strcmp(w, "range");
  int is_delete = !strcmp(w, "delete"), is_txread = !strcmp(w, "txread");
  uint64_t n = argc == 4 ? strtoull(argv[3], NULL, 10) : 0;
  if (!(is_load || is_read || is_commit || is_missing || is_scan || is_range || is_delete || is_txread) || n == 0) {
    fprintf(stderr, "usage: %s <load|read|commit|missing|scan|range|delete|txread> <dbdir> <N>\n",
            argc > 0 ? argv[0] : "probe");
    return 2;
  }
  char path[4096];
  if (snprintf(path, sizeof path, "%s/probe.db", argv[2]) >= (int)sizeof path) {
    fprintf(stderr, "probe: path too long\n");
    return 2;
  }
  unlink(path);
  /* Default options but the max size: valgrind cannot reserve 256 GiB. */
  thunder_options *opts;
  thunder_db *db;
  TRY("options", thunder_options_new(&opts));
  TRY("max size", thunder_options_set_max_size(opts, MAX_SIZE));
  const char *sync = getenv("PROBE_SYNC"), *wal = getenv("PROBE_WAL");
  if (sync && strcmp(sync, "full")) {
    if (strcmp(sync, "none") && strcmp(sync, "batched")) {
      fprintf(stderr, "probe: PROBE_SYNC must be none, batched or full\n");
      return 2;
    }
    TRY("sync mode", thunder_options_set_sync_mode(opts, strcmp(sync, "none") ? THUNDER_SYNC_BATCHED : THUNDER_SYNC_NONE));
  }
  if (wal && !strcmp(wal, "1")) TRY("wal", thunder_options_set_wal(opts, true));
  TRY("open", thunder_open(path, opts, &db));
  thunder_options_free(opts);

  uint64_t ops = is_commit ? (n / 100 < 100 ? 100 : n / 100) : n, sum = 0, start, elapsed, keys = n;
  if (is_range) ops = n / 10 ? n / 10 : 1;
  if (is_delete) ops = (n + 1) / 2, keys = n - ops;
  if (is_commit) keys = n + ops;
  item *items = make_items(is_commit ? n + ops : n);
  if (!is_load) put_range(db, items, 0, n);
  /* The read workloads start with every page checked once, as after any
   * earlier read of the process (thunder verifies a page's checksum on its
   * first read in a process, then remembers it). */
  if (is_read || is_missing || is_scan || is_range || is_txread) read_ranges(db, items, n, 0, UINT64_MAX);
  /* PROBE_REPEAT=R (read workloads): the measured phase runs R times, so a
   * profiler sampling the whole process sees mostly that phase. */
  const char *rep = getenv("PROBE_REPEAT");
  uint64_t repeat = rep && !is_load && !is_commit && !is_delete ? strtoull(rep, NULL, 10) : 1;
  start = measure_start();
  for (uint64_t r = 1; r < repeat; r++) {
    if (is_read || is_txread) read_random(db, items, n, ops, is_txread);
    if (is_missing) read_missing(db, n);
    if (is_scan) read_ranges(db, items, n, 0, UINT64_MAX);
    if (is_range) read_ranges(db, items, n, ops, 100);
  }
  if (is_load)
    put_range(db, items, 0, n);
  else if (is_read)
    sum = read_random(db, items, n, ops, 0);
  else if (is_missing)
    sum = read_missing(db, n);
  else if (is_txread)
    sum = read_random(db, items, n, ops, 1);
  else if (is_scan)
    sum = read_ranges(db, items, n, 0, UINT64_MAX);
  else if (is_range)
    sum = read_ranges(db, items, n, ops, 100);
  else if (is_delete) {
    thunder_txn *txn;
    TRY("begin write", thunder_txn_begin(db, THUNDER_TXN_WRITE, &txn));
    for (uint64_t i = 0; i < n; i += 2) TRY("delete", thunder_delete(txn, items[i].key, KEY_LEN));
    TRY("commit", thunder_txn_commit(txn));
  } else
    for (uint64_t k = 0; k < ops; k++) put_range(db, items, n + k, 1);
  elapsed = measure_stop(start);
  free(items);

  thunder_stats st;
  TRY("stat", thunder_stat(db, &st));
  if (st.key_count != keys) {
    fprintf(stderr, "probe: %" PRIu64 " keys in the database\n", st.key_count);
    return 1;
  }
  TRY("check", thunder_check(db));
  TRY("close", thunder_close(db));
  printf("workload=%s n=%" PRIu64 " ops=%" PRIu64 " checksum=%016" PRIx64 " ns_per_op=%" PRIu64 "\n",
         w, n, ops, sum, RUNNING_ON_VALGRIND ? 0 : elapsed / (ops * (repeat ? repeat : 1)));
  return 0;
}
