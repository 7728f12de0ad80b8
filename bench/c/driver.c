/*
 * driver.c: the C driver of `make bench`, linked with one engine (backend.h).
 * bench/go/src/thunderbench/driver.go and bench/rust/src/driver.rs run the
 * same workloads with the same logic; bench/run.py runs the groups, one
 * process and one fresh directory each, and compares checksums across engines.
 *
 *   usage: bench-ENGINE VARIANT GROUP DIR N      run one group, print its lines
 *          bench-ENGINE selftest                  print samples of the key stream
 *
 * GROUP:
 *   load   N puts in one transaction, durable commit (timed); sync, close,
 *          bytes on disk, peak RSS
 *   core   (N keys preloaded, not timed; sync, close, reopen)
 *          read1:    N random reads of loaded keys, one read transaction
 *          read2:    the same from 2 threads, N/2 each, a transaction each
 *          missing:  N reads of keys never written
 *          range:    N/10 seeks to a random loaded key, then up to 99 nexts
 *          scan:     every item in key order
 *          delete:   half the keys (even i) removed in one durable transaction
 *          (a scan checks what is left; sync, close, bytes on disk, peak RSS)
 *   ycsb   (N keys preloaded) YCSB A, B, C, F, D, E in that order,
 *          max(N/10, 1000) operations each, one transaction per operation
 *   w1 w2 w3 w4-1 w4-4   (min(N, 100000) keys preloaded and synced first)
 *          w1 1,000 commits of 1 put; w2 100 commits of 1,000 puts;
 *          w3 10,000 commits of 1 put; w4-1 1,000 commits of 1 put from 1
 *          thread; w4-4 the same 1,000 from 4 threads (250 each)
 * A preload commits every PRELOAD_CHUNK keys: bbolt splits nodes only at
 * commit, so one transaction of random puts costs it quadratic time, which
 * the timed load shows and the untimed preloads need not repeat.
 *
 * Output lines:
 *   RESULT engine variant workload ops seconds checksum
 *   CHECK  engine variant name count checksum       (untimed verification)
 *   METRIC engine variant name value    (disk_load, disk_delete: bytes; rss_load_kb, rss_kb: KiB)
 * Every read is checked (found or missing as it must be, the first word of
 * the value as loaded) and digested into the checksum.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "stream.h"

#define B BACKEND
#define WRITE_PRELOAD 100000u
#define RANGE_LEN 100
#define PRELOAD_CHUNK 50000u

static const char *g_variant = "";

void die(const char *what, const char *detail)
{
    fprintf(stderr, "%s %s: %s: %s\n", B.name, g_variant, what, detail ? detail : "");
    exit(1);
}

void *xcalloc(size_t n)
{
    void *p = calloc(1, n);
    if (!p) die("calloc", "out of memory");
    return p;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void result(const char *wl, uint64_t ops, double secs, uint64_t sum)
{
    printf("RESULT %s %s %s %llu %.6f %016llx\n", B.name, g_variant, wl, (unsigned long long)ops, secs,
           (unsigned long long)sum);
    fflush(stdout);
}

static void check_line(const char *name, uint64_t count, uint64_t sum)
{
    printf("CHECK %s %s %s %llu %016llx\n", B.name, g_variant, name, (unsigned long long)count,
           (unsigned long long)sum);
}

static void metric(const char *name, uint64_t value)
{
    printf("METRIC %s %s %s %llu\n", B.name, g_variant, name, (unsigned long long)value);
}

static uint64_t g_du;
static int du_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)path, (void)flag, (void)f;
    g_du += (uint64_t)st->st_blocks * 512;
    return 0;
}

/* Bytes allocated on disk under dir. */
static uint64_t disk_usage(const char *dir)
{
    g_du = 0;
    if (nftw(dir, du_one, 16, FTW_PHYS) != 0) die("nftw", dir);
    return g_du;
}

/* Peak resident set of this process (VmHWM), in KiB. */
static uint64_t peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %llu", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

static be_buf buf(const uint8_t *p, size_t n) { return (be_buf){p, n}; }

/* Puts keys [first, first + count) with their loaded values in one transaction. */
static void put_range(be_db *db, int slot, uint64_t first, uint64_t count)
{
    uint8_t k[KEY_LEN], v[VAL_LEN];
    be_txn *t = B.begin(db, 1, slot);
    for (uint64_t i = first; i < first + count; i++) {
        make_key(i, k);
        make_value(LOAD_SEED + i, v);
        B.put(t, buf(k, KEY_LEN), buf(v, VAL_LEN));
    }
    B.commit(t);
}

/* Keys [0, n) with their loaded values, PRELOAD_CHUNK keys per transaction. */
static void preload(be_db *db, uint64_t n)
{
    for (uint64_t i = 0; i < n; i += PRELOAD_CHUNK) put_range(db, 0, i, n - i < PRELOAD_CHUNK ? n - i : PRELOAD_CHUNK);
    B.sync(db);
}

/* Gets key i, which must hold a value made from `seed` (when seed != 0,
 * else any value); returns its digest. */
static uint64_t get_checked(be_txn *t, uint64_t i, uint64_t seed)
{
    uint8_t k[KEY_LEN];
    be_buf v;
    make_key(i, k);
    if (!B.get(t, buf(k, KEY_LEN), &v)) {
        char d[64];
        snprintf(d, sizeof d, "key %llu is missing", (unsigned long long)i);
        die("WRONG", d);
    }
    if (v.n != VAL_LEN || (seed && get64be(v.p) != value_head(seed))) {
        char d[64];
        snprintf(d, sizeof d, "key %llu has a wrong value", (unsigned long long)i);
        die("WRONG", d);
    }
    return digest(v.p, v.n);
}

struct reader {
    be_db *db;
    int slot;
    uint64_t seed, count, n, sum;
    pthread_barrier_t *go;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    rng g = {r->seed};
    if (r->go) pthread_barrier_wait(r->go);
    be_txn *t = B.begin(r->db, 0, r->slot);
    for (uint64_t c = 0; c < r->count; c++) {
        uint64_t i = rng_below(&g, r->n);
        r->sum += get_checked(t, i, LOAD_SEED + i);
    }
    B.commit(t);
    return NULL;
}

/* `threads` readers, `total` random reads of keys [0, n) in all. */
static void random_reads(be_db *db, const char *wl, int threads, uint64_t total, uint64_t n, uint64_t seed)
{
    struct reader r[4];
    pthread_t tid[4];
    pthread_barrier_t go;
    uint64_t sum = 0, each = total / (uint64_t)threads;
    double t0, t1;
    if (threads == 1) {
        r[0] = (struct reader){db, 0, seed, each, n, 0, NULL};
        t0 = now();
        reader_main(&r[0]);
        t1 = now();
        sum = r[0].sum;
    } else {
        pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
        for (int i = 0; i < threads; i++) {
            r[i] = (struct reader){db, i, seed + (uint64_t)i, each, n, 0, &go};
            if (pthread_create(&tid[i], NULL, reader_main, &r[i])) die("pthread_create", NULL);
        }
        t0 = now(); /* the readers start when this thread reaches the barrier */
        pthread_barrier_wait(&go);
        for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL), sum += r[i].sum;
        t1 = now();
        pthread_barrier_destroy(&go);
    }
    result(wl, each * (uint64_t)threads, t1 - t0, sum);
}

static void missing_reads(be_db *db, uint64_t n)
{
    rng g = {2};
    uint8_t k[KEY_LEN];
    be_buf v;
    uint64_t sum = 0;
    double t0 = now();
    be_txn *t = B.begin(db, 0, 0);
    for (uint64_t c = 0; c < n; c++) {
        uint64_t i = n + rng_below(&g, n);
        make_key(i, k);
        if (B.get(t, buf(k, KEY_LEN), &v)) die("WRONG", "a key never written was found");
        sum += i;
    }
    B.commit(t);
    result("missing", n, now() - t0, sum);
}

/* Reads up to `len` items from the first key >= key(i) (from the first item
 * when i is UINT64_MAX); adds their digests to *sum; returns the count. */
static uint64_t read_items(be_cur *c, uint64_t i, uint64_t len, uint64_t *sum)
{
    uint8_t k[KEY_LEN];
    be_buf ko, vo;
    uint64_t got = 0;
    if (i != UINT64_MAX) make_key(i, k);
    int ok = B.seek(c, buf(k, i == UINT64_MAX ? 0 : KEY_LEN), &ko, &vo);
    while (ok && got < len) {
        if (vo.n != VAL_LEN) die("WRONG", "a value of the wrong length");
        *sum += digest(ko.p, ko.n) + digest(vo.p, vo.n);
        got++;
        if (got < len) ok = B.next(c, &ko, &vo);
    }
    return got;
}

static void range_reads(be_db *db, uint64_t n)
{
    rng g = {3};
    uint64_t sum = 0, ranges = n / 10 ? n / 10 : 1, items = 0;
    double t0 = now();
    be_txn *t = B.begin(db, 0, 0);
    be_cur *c = B.cursor(t);
    for (uint64_t r = 0; r < ranges; r++) items += read_items(c, rng_below(&g, n), RANGE_LEN, &sum);
    B.cursor_close(c);
    B.commit(t);
    result("range", ranges, now() - t0, sum + items);
}

/* Every item in key order: the count must be `expect`. */
static uint64_t full_scan(be_db *db, uint64_t expect, double *secs)
{
    uint64_t sum = 0;
    double t0 = now();
    be_txn *t = B.begin(db, 0, 0);
    be_cur *c = B.cursor(t);
    uint64_t got = read_items(c, UINT64_MAX, UINT64_MAX, &sum);
    B.cursor_close(c);
    B.commit(t);
    *secs = now() - t0;
    if (got != expect) {
        char d[96];
        snprintf(d, sizeof d, "scan found %llu items, not %llu", (unsigned long long)got, (unsigned long long)expect);
        die("WRONG", d);
    }
    return sum;
}

static void group_core(const char *dir, uint64_t n)
{
    be_db *db = B.open(dir, g_variant);
    preload(db, n);
    B.close(db);

    db = B.open(dir, g_variant);
    random_reads(db, "read1", 1, n, n, 1);
    random_reads(db, "read2", 2, n, n, 10);
    missing_reads(db, n);
    range_reads(db, n);
    double secs;
    uint64_t sum = full_scan(db, n, &secs);
    result("scan", n, secs, sum);

    uint8_t k[KEY_LEN];
    uint64_t removed = 0;
    double t0 = now();
    be_txn *t = B.begin(db, 1, 0);
    for (uint64_t i = 0; i < n; i += 2, removed++) {
        make_key(i, k);
        B.del(t, buf(k, KEY_LEN));
    }
    B.commit(t);
    result("delete", removed, now() - t0, 0);
    check_line("after_delete", n - removed, full_scan(db, n - removed, &secs));
    B.sync(db);
    B.close(db);
    metric("disk_delete", disk_usage(dir));
    metric("rss_kb", peak_rss_kb());
}

enum { OP_READ, OP_UPDATE, OP_INSERT, OP_SCAN, OP_RMW };

/* YCSB's core workloads: which operation the percentile p (0..99) picks. */
static int ycsb_op(char w, uint64_t p)
{
    switch (w) {
    case 'A': return p < 50 ? OP_READ : OP_UPDATE;
    case 'B': return p < 95 ? OP_READ : OP_UPDATE;
    case 'C': return OP_READ;
    case 'D': return p < 95 ? OP_READ : OP_INSERT;
    case 'E': return p < 95 ? OP_SCAN : OP_INSERT;
    default: return p < 50 ? OP_READ : OP_RMW; /* F */
    }
}

static void ycsb_workload(be_db *db, char w, uint64_t ops, uint64_t *count, const zipf *z)
{
    rng g = {100 + (uint64_t)(w - 'A')};
    uint8_t k[KEY_LEN], v[VAL_LEN];
    uint64_t sum = 0;
    char name[8];
    double t0 = now();
    for (uint64_t op = 0; op < ops; op++) {
        int kind = ycsb_op(w, rng_below(&g, 100));
        if (kind == OP_INSERT) {
            put_range(db, 0, (*count)++, 1);
            continue;
        }
        uint64_t rank = zipf_next(z, &g), i = w == 'D' ? *count - 1 - rank : rank;
        uint64_t seed = i + ((op + 1) << 32) + ((uint64_t)w << 56); /* an update's value */
        be_txn *t;
        switch (kind) {
        case OP_READ:
            t = B.begin(db, 0, 0);
            sum += get_checked(t, i, 0);
            B.commit(t);
            break;
        case OP_SCAN: {
            uint64_t len = 1 + rng_below(&g, RANGE_LEN);
            t = B.begin(db, 0, 0);
            be_cur *c = B.cursor(t);
            sum += read_items(c, i, len, &sum);
            B.cursor_close(c);
            B.commit(t);
            break;
        }
        default: /* OP_UPDATE, OP_RMW */
            t = B.begin(db, 1, 0);
            if (kind == OP_RMW) sum += get_checked(t, i, 0);
            make_key(i, k);
            make_value(seed, v);
            B.put(t, buf(k, KEY_LEN), buf(v, VAL_LEN));
            B.commit(t);
        }
    }
    snprintf(name, sizeof name, "ycsb-%c", w);
    result(name, ops, now() - t0, sum);
}

static void group_ycsb(const char *dir, uint64_t n)
{
    be_db *db = B.open(dir, g_variant);
    preload(db, n);
    uint64_t ops = n / 10 > 1000 ? n / 10 : 1000, count = n;
    zipf z;
    zipf_init(&z, n);
    for (const char *w = "ABCFDE"; *w; w++) ycsb_workload(db, *w, ops, &count, &z);
    B.sync(db);
    B.close(db);
}

struct writer {
    be_db *db;
    int slot;
    uint64_t first, commits, per;
    pthread_barrier_t *go;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    if (w->go) pthread_barrier_wait(w->go);
    for (uint64_t c = 0; c < w->commits; c++) put_range(w->db, w->slot, w->first + c * w->per, w->per);
    return NULL;
}

/* Reads back about 256 keys spread over [first, first + count) and the last. */
static uint64_t sample_back(be_db *db, uint64_t first, uint64_t count)
{
    uint64_t sum = 0, step = count / 256 ? count / 256 : 1;
    be_txn *t = B.begin(db, 0, 0);
    for (uint64_t i = first; i < first + count; i += step) sum += get_checked(t, i, LOAD_SEED + i);
    sum += get_checked(t, first + count - 1, LOAD_SEED + first + count - 1);
    B.commit(t);
    return sum;
}

static void group_writes(const char *dir, const char *wl, uint64_t n)
{
    uint64_t commits, per = 1, threads = 1;
    if (!strcmp(wl, "w1") || !strcmp(wl, "w4-1")) commits = 1000;
    else if (!strcmp(wl, "w2")) commits = 100, per = 1000;
    else if (!strcmp(wl, "w3")) commits = 10000;
    else if (!strcmp(wl, "w4-4")) commits = 1000, threads = 4;
    else die("unknown group", wl);
    uint64_t pre = n < WRITE_PRELOAD ? n : WRITE_PRELOAD, ops = commits * per;
    be_db *db = B.open(dir, g_variant);
    preload(db, pre);

    struct writer w[4];
    pthread_t tid[4];
    pthread_barrier_t go;
    uint64_t each = commits / threads;
    double t0, t1;
    if (threads == 1) {
        w[0] = (struct writer){db, 0, pre, commits, per, NULL};
        t0 = now();
        writer_main(&w[0]);
        t1 = now();
    } else {
        pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
        for (uint64_t i = 0; i < threads; i++) {
            w[i] = (struct writer){db, (int)i, pre + i * each * per, each, per, &go};
            if (pthread_create(&tid[i], NULL, writer_main, &w[i])) die("pthread_create", NULL);
        }
        t0 = now(); /* the writers start when this thread reaches the barrier */
        pthread_barrier_wait(&go);
        for (uint64_t i = 0; i < threads; i++) pthread_join(tid[i], NULL);
        t1 = now();
        pthread_barrier_destroy(&go);
    }
    result(wl, ops, t1 - t0, sample_back(db, pre, ops) + sample_back(db, 0, pre));
    B.sync(db);
    B.close(db);
}

static void group_load(const char *dir, uint64_t n)
{
    be_db *db = B.open(dir, g_variant);
    double t0 = now();
    put_range(db, 0, 0, n);
    result("load", n, now() - t0, 0);
    B.sync(db);
    B.close(db);
    metric("disk_load", disk_usage(dir));
    metric("rss_load_kb", peak_rss_kb());
}

/* Samples of every generator, printed the same way by the Go and Rust drivers. */
static void selftest(void)
{
    uint8_t k[KEY_LEN], v[VAL_LEN];
    for (uint64_t i = 0; i < 3; i++) {
        make_key(i, k);
        printf("key %llu ", (unsigned long long)i);
        for (int b = 0; b < KEY_LEN; b++) printf("%02x", k[b]);
        make_value(LOAD_SEED + i, v);
        printf(" value %016llx\n", (unsigned long long)digest(v, VAL_LEN));
    }
    rng g = {1};
    printf("below");
    for (int i = 0; i < 8; i++) printf(" %llu", (unsigned long long)rng_below(&g, 1000000));
    printf("\n");
    zipf z;
    zipf_init(&z, 100000);
    uint64_t zb, eb;
    memcpy(&zb, &z.zetan, 8);
    memcpy(&eb, &z.eta, 8);
    printf("zeta %016llx eta %016llx\nzipf", (unsigned long long)zb, (unsigned long long)eb);
    rng h = {100};
    uint64_t sum = 0, zeros = 0;
    for (int i = 0; i < 200000; i++) {
        uint64_t r = zipf_next(&z, &h);
        if (i < 12) printf(" %llu", (unsigned long long)r);
        sum = sum * 31 + r, zeros += r == 0;
    }
    printf("\nzipf 200000 draws: hash %016llx, rank 0 drawn %llu times\n", (unsigned long long)sum,
           (unsigned long long)zeros);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "selftest")) {
        selftest();
        return 0;
    }
    if (argc != 5) {
        fprintf(stderr, "usage: %s VARIANT core|ycsb|w1|w2|w3|w4-1|w4-4|load DIR N\n       %s selftest\n",
                argv[0], argv[0]);
        return 2;
    }
    g_variant = argv[1];
    const char *group = argv[2], *dir = argv[3];
    uint64_t n = strtoull(argv[4], NULL, 10);
    if (n < 16) die("N must be at least 16", argv[4]);
    if (!strcmp(group, "core")) group_core(dir, n);
    else if (!strcmp(group, "ycsb")) group_ycsb(dir, n);
    else if (!strcmp(group, "load")) group_load(dir, n);
    else group_writes(dir, group, n);
    return 0;
}
