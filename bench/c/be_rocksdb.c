/* be_rocksdb.c: RocksDB through its C API (rocksdb/c.h), default options plus
 * create_if_missing. A write transaction is a WriteBatch written at commit;
 * a read transaction reads one snapshot. Variants: durable (WriteOptions
 * sync=true), nosync (sync=false; the WAL is still written). */
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

struct be_db {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
};
struct be_txn {
    be_db *db;
    rocksdb_writebatch_t *batch; /* write transactions */
    const rocksdb_snapshot_t *snap; /* read transactions */
    rocksdb_readoptions_t *ro;
    rocksdb_pinnableslice_t *last; /* the view get returned */
};
struct be_cur {
    rocksdb_iterator_t *it;
};

static void check(char *err, const char *what)
{
    if (err) die(what, err);
}

static be_db *r_open(const char *dir, const char *variant)
{
    unsigned char sync = 1;
    if (!strcmp(variant, "nosync")) sync = 0;
    else if (strcmp(variant, "durable")) die("unknown variant", variant);
    be_db *db = xcalloc(sizeof *db);
    db->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(db->opts, 1);
    db->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(db->wo, sync);
    db->ro = rocksdb_readoptions_create();
    char *err = NULL, path[4096];
    snprintf(path, sizeof path, "%s/rocksdb", dir);
    db->db = rocksdb_open(db->opts, path, &err);
    check(err, "open");
    return db;
}

static void r_close(be_db *db)
{
    rocksdb_close(db->db);
    rocksdb_readoptions_destroy(db->ro);
    rocksdb_writeoptions_destroy(db->wo);
    rocksdb_options_destroy(db->opts);
    free(db);
}

static be_txn *r_begin(be_db *db, int write, int slot)
{
    (void)slot;
    be_txn *t = xcalloc(sizeof *t);
    t->db = db;
    if (write) {
        t->batch = rocksdb_writebatch_create();
        t->ro = db->ro;
    } else {
        t->snap = rocksdb_create_snapshot(db->db);
        t->ro = rocksdb_readoptions_create();
        rocksdb_readoptions_set_snapshot(t->ro, t->snap);
    }
    return t;
}

static void r_commit(be_txn *t)
{
    if (t->last) rocksdb_pinnableslice_destroy(t->last);
    if (t->batch) {
        char *err = NULL;
        rocksdb_write(t->db->db, t->db->wo, t->batch, &err);
        check(err, "write");
        rocksdb_writebatch_destroy(t->batch);
    } else {
        rocksdb_readoptions_destroy(t->ro);
        rocksdb_release_snapshot(t->db->db, t->snap);
    }
    free(t);
}

static void r_put(be_txn *t, be_buf k, be_buf v)
{
    rocksdb_writebatch_put(t->batch, (const char *)k.p, k.n, (const char *)v.p, v.n);
}

/* In a write transaction this reads the database, not the batch: the
 * driver never reads a key its own transaction wrote. */
static int r_get(be_txn *t, be_buf k, be_buf *v)
{
    char *err = NULL;
    if (t->last) rocksdb_pinnableslice_destroy(t->last);
    t->last = rocksdb_get_pinned(t->db->db, t->ro, (const char *)k.p, k.n, &err);
    check(err, "get");
    if (!t->last) return 0;
    size_t n;
    const char *p = rocksdb_pinnableslice_value(t->last, &n);
    *v = (be_buf){(const uint8_t *)p, n};
    return 1;
}

static void r_del(be_txn *t, be_buf k) { rocksdb_writebatch_delete(t->batch, (const char *)k.p, k.n); }

static be_cur *r_cursor(be_txn *t)
{
    be_cur *c = xcalloc(sizeof *c);
    c->it = rocksdb_create_iterator(t->db->db, t->ro);
    return c;
}

static int r_item(be_cur *c, be_buf *ko, be_buf *vo)
{
    if (!rocksdb_iter_valid(c->it)) {
        char *err = NULL;
        rocksdb_iter_get_error(c->it, &err);
        check(err, "iterator");
        return 0;
    }
    size_t kn, vn;
    const char *k = rocksdb_iter_key(c->it, &kn), *v = rocksdb_iter_value(c->it, &vn);
    *ko = (be_buf){(const uint8_t *)k, kn};
    *vo = (be_buf){(const uint8_t *)v, vn};
    return 1;
}

static int r_seek(be_cur *c, be_buf key, be_buf *ko, be_buf *vo)
{
    if (key.n) rocksdb_iter_seek(c->it, (const char *)key.p, key.n);
    else rocksdb_iter_seek_to_first(c->it);
    return r_item(c, ko, vo);
}

static int r_next(be_cur *c, be_buf *ko, be_buf *vo)
{
    rocksdb_iter_next(c->it);
    return r_item(c, ko, vo);
}

static void r_cursor_close(be_cur *c)
{
    rocksdb_iter_destroy(c->it);
    free(c);
}

static void r_sync(be_db *db)
{
    rocksdb_flushoptions_t *f = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(f, 1);
    char *err = NULL;
    rocksdb_flush(db->db, f, &err);
    rocksdb_flushoptions_destroy(f);
    check(err, "flush");
}

const struct backend BACKEND = {"rocksdb", r_open, r_close, r_begin, r_commit, r_put, r_get, r_del,
                                r_cursor, r_seek, r_next, r_cursor_close, r_sync};
