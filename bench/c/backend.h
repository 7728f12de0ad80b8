/*
 * backend.h: what an engine gives the C driver (driver.c). Each engine file
 * (be_thunder.c, be_lmdb.c, be_rocksdb.c, be_sqlite.c) defines BACKEND and is
 * linked with driver.c into its own program. Every call succeeds or dies.
 *
 * Variants: "durable" (the engine's durable default), "nosync" (its no-sync
 * mode), and for thunder also "wal" (durable, with its write-ahead log).
 * A transaction belongs to the thread that began it; `slot` (0..3) names
 * that thread, for engines that need one connection per thread (SQLite).
 * Views returned by get/seek/next stay valid until the next call on the same
 * transaction or cursor.
 */
#ifndef BENCH_BACKEND_H
#define BENCH_BACKEND_H
#include <stddef.h>
#include <stdint.h>

typedef struct be_db be_db;
typedef struct be_txn be_txn;
typedef struct be_cur be_cur;

typedef struct be_buf {
    const uint8_t *p;
    size_t n;
} be_buf;

struct backend {
    const char *name;
    be_db *(*open)(const char *dir, const char *variant);
    void (*close)(be_db *db);
    be_txn *(*begin)(be_db *db, int write, int slot);
    void (*commit)(be_txn *t); /* ends a read transaction too */
    void (*put)(be_txn *t, be_buf key, be_buf val);
    int (*get)(be_txn *t, be_buf key, be_buf *val); /* 1 found, 0 missing */
    void (*del)(be_txn *t, be_buf key);
    be_cur *(*cursor)(be_txn *t);
    int (*seek)(be_cur *c, be_buf key, be_buf *k, be_buf *v); /* first key >= key; key.n == 0: first */
    int (*next)(be_cur *c, be_buf *k, be_buf *v);             /* 0 past the end */
    void (*cursor_close)(be_cur *c);
    void (*sync)(be_db *db); /* everything committed durable and checkpointed */
};

extern const struct backend BACKEND;

/* Prints "<engine>: what: detail" and exits 1. */
void die(const char *what, const char *detail);
void *xcalloc(size_t n);
#endif
