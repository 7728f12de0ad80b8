/* lmdb_writes.c: the LMDB driver.
 * VARIANT: durable  default flags (sync at every commit)
 *          nosync   MDB_NOSYNC
 * Map size 1 GiB; LMDB serializes writers, so no multi-writer workload. */
#define ENGINE_NAME "lmdb"
#include "common.h"
#include <lmdb.h>

struct engine {
    MDB_env *env;
    MDB_dbi dbi;
};

static void check(int rc, const char *what)
{
    if (rc != MDB_SUCCESS) die(what, mdb_strerror(rc));
}

static engine *eng_open(const char *dir, const char *variant, int *threads_ok)
{
    unsigned flags;
    if (!strcmp(variant, "durable")) flags = 0;
    else if (!strcmp(variant, "nosync")) flags = MDB_NOSYNC;
    else die("unknown variant", variant);
    engine *e = calloc(1, sizeof *e);
    if (!e) die("calloc", NULL);
    check(mdb_env_create(&e->env), "env_create");
    check(mdb_env_set_mapsize(e->env, 1ULL << 30), "set_mapsize");
    check(mdb_env_open(e->env, dir, flags, 0644), "env_open");
    MDB_txn *t;
    check(mdb_txn_begin(e->env, NULL, 0, &t), "txn_begin");
    check(mdb_dbi_open(t, NULL, 0, &e->dbi), "dbi_open");
    check(mdb_txn_commit(t), "commit");
    *threads_ok = 0;
    return e;
}

static void eng_commit(engine *e, uint64_t first, uint64_t count)
{
    MDB_txn *t;
    check(mdb_txn_begin(e->env, NULL, 0, &t), "txn_begin");
    for (uint64_t i = first; i < first + count; i++) {
        MDB_val k = {KEY_LEN, (void *)key_of(i)}, v = {VAL_LEN, (void *)val_of(i)};
        check(mdb_put(t, e->dbi, &k, &v, 0), "put");
    }
    check(mdb_txn_commit(t), "commit");
}

static void eng_settle(engine *e) { check(mdb_env_sync(e->env, 1), "env_sync"); }

static long eng_get(engine *e, const uint8_t *key, uint8_t *buf)
{
    MDB_txn *t;
    check(mdb_txn_begin(e->env, NULL, MDB_RDONLY, &t), "txn_begin(read)");
    MDB_val k = {KEY_LEN, (void *)key}, v;
    int rc = mdb_get(t, e->dbi, &k, &v);
    long n = -1;
    if (rc == MDB_SUCCESS) {
        n = (long)v.mv_size;
        memcpy(buf, v.mv_data, v.mv_size > VAL_LEN ? VAL_LEN + 1 : v.mv_size);
    } else if (rc != MDB_NOTFOUND) {
        check(rc, "get");
    }
    mdb_txn_abort(t);
    return n;
}

static void eng_close(engine *e)
{
    mdb_env_close(e->env);
    free(e);
}
