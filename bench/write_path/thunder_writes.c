/* thunder_writes.c: the thunder driver (thunder.h only).
 * VARIANT: nowal  THUNDER_SYNC_FULL, no write-ahead log
 *          wal    THUNDER_SYNC_FULL, write-ahead log
 *          nosync THUNDER_SYNC_NONE, no write-ahead log
 * each optionally followed by +sync, +uring or +direct: that I/O backend
 * (the run dies if the database reports another one).
 * Everything else is the library's defaults. */
#define ENGINE_NAME "thunder"
#include "common.h"
#include "thunder.h"

struct engine {
    thunder_db *db;
};

static void check(thunder_status s, const char *what)
{
    if (s != THUNDER_OK) die(what, thunder_last_error());
}

static engine *eng_open(const char *dir, const char *variant, int *threads_ok)
{
    bool wal;
    thunder_sync_mode mode;
    char base[64];
    const char *backend = strchr(variant, '+');
    snprintf(base, sizeof base, "%.*s", backend ? (int)(backend - variant) : (int)strlen(variant), variant);
    thunder_io_backend io = THUNDER_IO_AUTO;
    if (backend && !strcmp(backend, "+sync")) io = THUNDER_IO_SYNC;
    else if (backend && !strcmp(backend, "+uring")) io = THUNDER_IO_URING;
    else if (backend && !strcmp(backend, "+direct")) io = THUNDER_IO_DIRECT;
    else if (backend) die("unknown backend", backend);
    variant = base;
    if (!strcmp(variant, "nowal")) wal = false, mode = THUNDER_SYNC_FULL;
    else if (!strcmp(variant, "wal")) wal = true, mode = THUNDER_SYNC_FULL;
    else if (!strcmp(variant, "nosync")) wal = false, mode = THUNDER_SYNC_NONE;
    else die("unknown variant", variant);
    thunder_options *o;
    check(thunder_options_new(&o), "options_new");
    check(thunder_options_set_wal(o, wal), "set_wal");
    check(thunder_options_set_sync_mode(o, mode), "set_sync_mode");
    check(thunder_options_set_io_backend(o, io), "set_io_backend");
    char path[4096];
    snprintf(path, sizeof path, "%s/thunder.db", dir);
    engine *e = calloc(1, sizeof *e);
    if (!e) die("calloc", NULL);
    check(thunder_open(path, o, &e->db), "open");
    thunder_options_free(o);
    if (backend && strcmp(thunder_io_backend_name(e->db), backend + 1)) die("backend", thunder_io_backend_name(e->db));
    *threads_ok = 1;
    return e;
}

static void eng_commit(engine *e, uint64_t first, uint64_t count)
{
    thunder_txn *t;
    check(thunder_txn_begin(e->db, THUNDER_TXN_WRITE, &t), "txn_begin");
    for (uint64_t i = first; i < first + count; i++) {
        thunder_status s = thunder_put(t, key_of(i), KEY_LEN, val_of(i), VAL_LEN, 0);
        if (s != THUNDER_OK) {
            thunder_txn_abort(t);
            check(s, "put");
        }
    }
    check(thunder_txn_commit(t), "commit");
}

static void eng_settle(engine *e) { check(thunder_checkpoint(e->db), "checkpoint"); }

static long eng_get(engine *e, const uint8_t *key, uint8_t *buf)
{
    thunder_txn *t;
    thunder_bytes v;
    check(thunder_txn_begin(e->db, THUNDER_TXN_READ, &t), "txn_begin(read)");
    thunder_status s = thunder_get(t, key, KEY_LEN, &v);
    long n = -1;
    if (s == THUNDER_OK) {
        n = (long)v.len;
        memcpy(buf, v.data, v.len > VAL_LEN ? VAL_LEN + 1 : v.len);
    } else if (s != THUNDER_NOT_FOUND) {
        thunder_txn_abort(t);
        check(s, "get");
    }
    check(thunder_txn_commit(t), "txn_commit(read)");
    return n;
}

static void eng_close(engine *e)
{
    check(thunder_close(e->db), "close");
    free(e);
}
