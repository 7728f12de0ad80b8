/*
 * common.h: the harness shared by the write-path drivers. Each driver
 * defines the engine hooks declared below and includes this file once; it
 * supplies main(), the key stream, the workloads, timing and verification.
 *
 *   usage: <driver> VARIANT WORKLOAD DIR
 *     WORKLOAD: w1  1,000 commits of 1 put       (durable variants)
 *               w2  100 commits of 1,000 puts     (durable variants)
 *               w3  10,000 commits of 1 put       (no-sync variants)
 *               w4-1 / w4-4  1,000 commits of 1 put from 1 / 4 threads
 *               load  bulk load: the preload itself is timed, its one
 *                     transaction and the settle that makes it durable
 *     DIR: a fresh directory for this run only.
 *   prints one line: RESULT <engine> <variant> <workload> <ops> <secs> <ops/s>
 *
 * Every run preloads keys 0..N-1 in one transaction, makes them durable
 * (eng_settle: checkpoint / flush), and only then times the workload, which
 * writes the next keys N, N+1, ... (all new). The timed window ends when the
 * last commit returns; closing the engine is not timed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_LEN 24
#define VAL_LEN 150
#define PRELOAD 100000u

typedef struct engine engine;

/* Engine hooks: each driver #defines ENGINE_NAME before including this
 * file and defines these after it; failures call die(). */
static engine *eng_open(const char *dir, const char *variant, int *threads_ok);
/* Commits keys first..first+count-1 in one transaction. Called from several
 * threads at once only when eng_open set *threads_ok. */
static void eng_commit(engine *e, uint64_t first, uint64_t count);
/* Makes everything committed so far durable and checkpointed. */
static void eng_settle(engine *e);
/* Copies the value of `key` into buf (VAL_LEN + 1 bytes); returns its
 * length, or -1 when the key is missing. */
static long eng_get(engine *e, const uint8_t *key, uint8_t *buf);
static void eng_close(engine *e);

static uint8_t *g_keys, *g_vals; /* index i at g_keys + i*KEY_LEN etc. */

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s: %s\n", ENGINE_NAME, what, detail ? detail : "");
    exit(1);
}

static uint64_t mix(uint64_t z) /* splitmix64's output step of state z */
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int b = 0; b < 8; b++) p[b] = (uint8_t)(v >> (56 - 8 * b));
}

/* Key i: three splitmix64 words of the stream 3i, 3i+1, 3i+2 (the first is
 * a bijection of i, so keys are distinct). Value i: 150 bytes of the stream
 * seeded at i + 2^63. */
static void make_stream(uint64_t n)
{
    g_keys = malloc(n * KEY_LEN);
    g_vals = malloc(n * VAL_LEN);
    if (!g_keys || !g_vals) die("malloc", "key stream");
    for (uint64_t i = 0; i < n; i++) {
        for (int w = 0; w < 3; w++) put64(g_keys + i * KEY_LEN + 8 * w, mix((3 * i + (uint64_t)w) * 0x9e3779b97f4a7c15ULL));
        uint8_t v[152];
        for (int w = 0; w < 19; w++) put64(v + 8 * w, mix((i + (1ULL << 63)) * 0x9e3779b97f4a7c15ULL + (uint64_t)w));
        memcpy(g_vals + i * VAL_LEN, v, VAL_LEN);
    }
}

static const uint8_t *key_of(uint64_t i) { return g_keys + i * KEY_LEN; }
static const uint8_t *val_of(uint64_t i) { return g_vals + i * VAL_LEN; }

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Reads back ~256 keys spread over [first, first+count) and compares. */
static void verify(engine *e, uint64_t first, uint64_t count)
{
    uint8_t buf[VAL_LEN + 1];
    uint64_t step = count / 256 ? count / 256 : 1;
    for (uint64_t i = first; i < first + count; i += step) {
        long n = eng_get(e, key_of(i), buf);
        if (n != VAL_LEN || memcmp(buf, val_of(i), VAL_LEN) != 0) {
            char d[96];
            snprintf(d, sizeof d, "key %llu: %s", (unsigned long long)i, n < 0 ? "missing" : "wrong value");
            die("verify FAILED", d);
        }
    }
    uint64_t last = first + count - 1;
    if (eng_get(e, key_of(last), buf) != VAL_LEN || memcmp(buf, val_of(last), VAL_LEN) != 0) die("verify FAILED", "last key");
}

struct worker {
    engine *e;
    uint64_t first, commits;
    pthread_barrier_t *go;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(w->go);
    for (uint64_t c = 0; c < w->commits; c++) eng_commit(w->e, w->first + c, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s VARIANT w1|w2|w3|w4-1|w4-4|load DIR\n", argv[0]);
        return 2;
    }
    const char *variant = argv[1], *wl = argv[2], *dir = argv[3];
    uint64_t commits, per, threads = 1;
    if (!strcmp(wl, "w1")) commits = 1000, per = 1;
    else if (!strcmp(wl, "w2")) commits = 100, per = 1000;
    else if (!strcmp(wl, "w3")) commits = 10000, per = 1;
    else if (!strcmp(wl, "w4-1")) commits = 1000, per = 1;
    else if (!strcmp(wl, "w4-4")) commits = 1000, per = 1, threads = 4;
    else if (!strcmp(wl, "load")) commits = 0, per = 0;
    else die("unknown workload", wl);
    uint64_t ops = commits * per;
    make_stream(PRELOAD + ops);

    int threads_ok = 0;
    engine *e = eng_open(dir, variant, &threads_ok);
    if (threads > 1 && !threads_ok) die("variant is not multi-writer", variant);
    double t_load = now();
    eng_commit(e, 0, PRELOAD);
    eng_settle(e);
    if (ops == 0) {
        double secs = now() - t_load;
        verify(e, 0, PRELOAD);
        eng_close(e);
        printf("RESULT %s %s %s %u %.6f %.1f\n", ENGINE_NAME, variant, wl, PRELOAD, secs, PRELOAD / secs);
        free(g_keys);
        free(g_vals);
        return 0;
    }
    verify(e, 0, PRELOAD);

    double t0 = now(), t1;
    if (threads == 1) {
        for (uint64_t c = 0; c < commits; c++) eng_commit(e, PRELOAD + c * per, per);
        t1 = now();
    } else {
        pthread_t tid[4];
        struct worker w[4];
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
        uint64_t each = commits / threads;
        for (uint64_t t = 0; t < threads; t++) {
            w[t] = (struct worker){e, PRELOAD + t * each, each, &go};
            if (pthread_create(&tid[t], NULL, worker_main, &w[t])) die("pthread_create", NULL);
        }
        pthread_barrier_wait(&go);
        t0 = now();
        for (uint64_t t = 0; t < threads; t++) pthread_join(tid[t], NULL);
        t1 = now();
        pthread_barrier_destroy(&go);
    }
    verify(e, PRELOAD, ops);
    verify(e, 0, PRELOAD);
    eng_close(e);
    printf("RESULT %s %s %s %llu %.6f %.1f\n", ENGINE_NAME, variant, wl, (unsigned long long)ops, t1 - t0,
           (double)ops / (t1 - t0));
    free(g_keys);
    free(g_vals);
    return 0;
}
