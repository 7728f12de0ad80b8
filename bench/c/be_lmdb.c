/* be_lmdb.c: LMDB. Variants: durable (default flags: sync at commit),
 * nosync (MDB_NOSYNC). The map size is set to 64 GiB (address space only; the
 * file grows with the data); LMDB serializes writers itself. */
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

struct be_db {
    MDB_env *env;
    MDB_dbi dbi;
};
struct be_txn {
    MDB_txn *t;
    MDB_dbi dbi;
};
struct be_cur {
    MDB_cursor *c;
};

static void check(int rc, const char *what)
{
    if (rc != MDB_SUCCESS) die(what, mdb_strerror(rc));
}

static be_db *l_open(const char *dir, const char *variant)
{
    unsigned flags = 0;
    if (!strcmp(variant, "nosync")) flags = MDB_NOSYNC;
    else if (strcmp(variant, "durable")) die("unknown variant", variant);
    be_db *db = xcalloc(sizeof *db);
    check(mdb_env_create(&db->env), "env_create");
    check(mdb_env_set_mapsize(db->env, 64ULL << 30), "set_mapsize");
    check(mdb_env_open(db->env, dir, flags, 0644), "env_open");
    MDB_txn *t;
    check(mdb_txn_begin(db->env, NULL, 0, &t), "txn_begin");
    check(mdb_dbi_open(t, NULL, 0, &db->dbi), "dbi_open");
    check(mdb_txn_commit(t), "commit");
    return db;
}

static void l_close(be_db *db)
{
    mdb_env_close(db->env);
    free(db);
}

static be_txn *l_begin(be_db *db, int write, int slot)
{
    (void)slot;
    be_txn *t = xcalloc(sizeof *t);
    check(mdb_txn_begin(db->env, NULL, write ? 0 : MDB_RDONLY, &t->t), "txn_begin");
    t->dbi = db->dbi;
    return t;
}

static void l_commit(be_txn *t)
{
    check(mdb_txn_commit(t->t), "commit");
    free(t);
}

static MDB_val val(be_buf b) { return (MDB_val){b.n, (void *)b.p}; }
static be_buf buf(MDB_val v) { return (be_buf){v.mv_data, v.mv_size}; }

static void l_put(be_txn *t, be_buf k, be_buf v)
{
    MDB_val mk = val(k), mv = val(v);
    check(mdb_put(t->t, t->dbi, &mk, &mv, 0), "put");
}

static int l_get(be_txn *t, be_buf k, be_buf *v)
{
    MDB_val mk = val(k), mv;
    int rc = mdb_get(t->t, t->dbi, &mk, &mv);
    if (rc == MDB_NOTFOUND) return 0;
    check(rc, "get");
    *v = buf(mv);
    return 1;
}

static void l_del(be_txn *t, be_buf k)
{
    MDB_val mk = val(k);
    int rc = mdb_del(t->t, t->dbi, &mk, NULL);
    if (rc != MDB_NOTFOUND) check(rc, "del");
}

static be_cur *l_cursor(be_txn *t)
{
    be_cur *c = xcalloc(sizeof *c);
    check(mdb_cursor_open(t->t, t->dbi, &c->c), "cursor_open");
    return c;
}

static int l_move(be_cur *c, MDB_val *mk, MDB_cursor_op op, be_buf *ko, be_buf *vo)
{
    MDB_val mv;
    int rc = mdb_cursor_get(c->c, mk, &mv, op);
    if (rc == MDB_NOTFOUND) return 0;
    check(rc, "cursor_get");
    *ko = buf(*mk);
    *vo = buf(mv);
    return 1;
}

static int l_seek(be_cur *c, be_buf key, be_buf *ko, be_buf *vo)
{
    MDB_val mk = val(key);
    return l_move(c, &mk, key.n ? MDB_SET_RANGE : MDB_FIRST, ko, vo);
}

static int l_next(be_cur *c, be_buf *ko, be_buf *vo)
{
    MDB_val mk;
    return l_move(c, &mk, MDB_NEXT, ko, vo);
}

static void l_cursor_close(be_cur *c)
{
    mdb_cursor_close(c->c);
    free(c);
}

static void l_sync(be_db *db) { check(mdb_env_sync(db->env, 1), "env_sync"); }

const struct backend BACKEND = {"lmdb", l_open, l_close, l_begin, l_commit, l_put, l_get, l_del,
                                l_cursor, l_seek, l_next, l_cursor_close, l_sync};
