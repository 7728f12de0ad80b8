/* rocksdb_writes.c: the RocksDB driver (C API). Default options plus
 * create_if_missing; each commit is one rocksdb_write of a WriteBatch.
 * VARIANT: durable  WriteOptions sync=true
 *          nosync   WriteOptions sync=false (the WAL is still written)
 * The DB is thread-safe, so it also runs the multi-writer workload. */
#define ENGINE_NAME "rocksdb"
#include "common.h"
#include <rocksdb/c.h>

struct engine {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
};

static void check(char *err, const char *what)
{
    if (err) die(what, err);
}

static engine *eng_open(const char *dir, const char *variant, int *threads_ok)
{
    unsigned char sync;
    if (!strcmp(variant, "durable")) sync = 1;
    else if (!strcmp(variant, "nosync")) sync = 0;
    else die("unknown variant", variant);
    engine *e = calloc(1, sizeof *e);
    if (!e) die("calloc", NULL);
    e->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(e->opts, 1);
    e->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(e->wo, sync);
    e->ro = rocksdb_readoptions_create();
    char *err = NULL, path[4096];
    snprintf(path, sizeof path, "%s/rocksdb", dir);
    e->db = rocksdb_open(e->opts, path, &err);
    check(err, "open");
    *threads_ok = 1;
    return e;
}

static void eng_commit(engine *e, uint64_t first, uint64_t count)
{
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    for (uint64_t i = first; i < first + count; i++)
        rocksdb_writebatch_put(b, (const char *)key_of(i), KEY_LEN, (const char *)val_of(i), VAL_LEN);
    char *err = NULL;
    rocksdb_write(e->db, e->wo, b, &err);
    rocksdb_writebatch_destroy(b);
    check(err, "write");
}

static void eng_settle(engine *e)
{
    rocksdb_flushoptions_t *f = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(f, 1);
    char *err = NULL;
    rocksdb_flush(e->db, f, &err);
    rocksdb_flushoptions_destroy(f);
    check(err, "flush");
}

static long eng_get(engine *e, const uint8_t *key, uint8_t *buf)
{
    size_t n;
    char *err = NULL;
    char *v = rocksdb_get(e->db, e->ro, (const char *)key, KEY_LEN, &n, &err);
    check(err, "get");
    if (!v) return -1;
    memcpy(buf, v, n > VAL_LEN ? VAL_LEN + 1 : n);
    rocksdb_free(v);
    return (long)n;
}

static void eng_close(engine *e)
{
    rocksdb_close(e->db);
    rocksdb_readoptions_destroy(e->ro);
    rocksdb_writeoptions_destroy(e->wo);
    rocksdb_options_destroy(e->opts);
    free(e);
}
