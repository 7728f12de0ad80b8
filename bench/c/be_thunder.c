/* be_thunder.c: thunder through thunder.h. Variants: durable (the defaults:
 * THUNDER_SYNC_FULL, no write-ahead log), wal (THUNDER_SYNC_FULL with
 * thunder_options_set_wal), nosync (THUNDER_SYNC_NONE, no log). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "thunder.h"

struct be_db {
    thunder_db *db;
};
struct be_txn {
    thunder_txn *t;
};
struct be_cur {
    thunder_cursor *c;
};

static void check(thunder_status s, const char *what)
{
    if (s != THUNDER_OK) die(what, thunder_last_error());
}

static be_db *t_open(const char *dir, const char *variant)
{
    bool wal = false;
    thunder_sync_mode mode = THUNDER_SYNC_FULL;
    if (!strcmp(variant, "wal")) wal = true;
    else if (!strcmp(variant, "nosync")) mode = THUNDER_SYNC_NONE;
    else if (strcmp(variant, "durable")) die("unknown variant", variant);
    thunder_options *o;
    check(thunder_options_new(&o), "options_new");
    check(thunder_options_set_wal(o, wal), "set_wal");
    check(thunder_options_set_sync_mode(o, mode), "set_sync_mode");
    char path[4096];
    snprintf(path, sizeof path, "%s/thunder.db", dir);
    be_db *db = xcalloc(sizeof *db);
    check(thunder_open(path, o, &db->db), "open");
    thunder_options_free(o);
    return db;
}

static void t_close(be_db *db)
{
    check(thunder_close(db->db), "close");
    free(db);
}

static be_txn *t_begin(be_db *db, int write, int slot)
{
    (void)slot;
    be_txn *t = xcalloc(sizeof *t);
    check(thunder_txn_begin(db->db, write ? THUNDER_TXN_WRITE : THUNDER_TXN_READ, &t->t), "txn_begin");
    return t;
}

static void t_commit(be_txn *t)
{
    check(thunder_txn_commit(t->t), "commit");
    free(t);
}

static void t_put(be_txn *t, be_buf k, be_buf v) { check(thunder_put(t->t, k.p, k.n, v.p, v.n, 0), "put"); }

static int t_get(be_txn *t, be_buf k, be_buf *v)
{
    thunder_bytes b;
    thunder_status s = thunder_get(t->t, k.p, k.n, &b);
    if (s == THUNDER_NOT_FOUND) return 0;
    check(s, "get");
    *v = (be_buf){b.data, b.len};
    return 1;
}

static void t_del(be_txn *t, be_buf k)
{
    thunder_status s = thunder_delete(t->t, k.p, k.n);
    if (s != THUNDER_NOT_FOUND) check(s, "delete");
}

static be_cur *t_cursor(be_txn *t)
{
    be_cur *c = xcalloc(sizeof *c);
    check(thunder_cursor_open(t->t, NULL, &c->c), "cursor_open");
    return c;
}

static int t_item(thunder_status s, thunder_bytes k, thunder_bytes v, be_buf *ko, be_buf *vo, const char *what)
{
    if (s == THUNDER_NOT_FOUND) return 0;
    check(s, what);
    *ko = (be_buf){k.data, k.len};
    *vo = (be_buf){v.data, v.len};
    return 1;
}

static int t_seek(be_cur *c, be_buf key, be_buf *ko, be_buf *vo)
{
    thunder_bytes k, v;
    thunder_status s = key.n ? thunder_cursor_seek(c->c, key.p, key.n, &k, &v) : thunder_cursor_first(c->c, &k, &v);
    return t_item(s, k, v, ko, vo, "cursor_seek");
}

static int t_next(be_cur *c, be_buf *ko, be_buf *vo)
{
    thunder_bytes k, v;
    return t_item(thunder_cursor_next(c->c, &k, &v), k, v, ko, vo, "cursor_next");
}

static void t_cursor_close(be_cur *c)
{
    thunder_cursor_close(c->c);
    free(c);
}

static void t_sync(be_db *db)
{
    check(thunder_sync(db->db), "sync");
    check(thunder_checkpoint(db->db), "checkpoint");
}

const struct backend BACKEND = {"thunder", t_open, t_close, t_begin, t_commit, t_put, t_get, t_del,
                                t_cursor, t_seek, t_next, t_cursor_close, t_sync};
