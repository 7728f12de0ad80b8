/* sqlite_writes.c: the SQLite driver. journal_mode=WAL; table
 * kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID; BEGIN / INSERT OR REPLACE /
 * COMMIT with prepared statements; other settings default.
 * VARIANT: durable  synchronous=FULL
 *          nosync   synchronous=OFF */
#define ENGINE_NAME "sqlite"
#include "common.h"
#include <sqlite3.h>

struct engine {
    sqlite3 *db;
    sqlite3_stmt *begin, *commit, *put, *get;
};

static void check(engine *e, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) die(what, sqlite3_errmsg(e->db));
}

static void exec(engine *e, const char *sql) { check(e, sqlite3_exec(e->db, sql, NULL, NULL, NULL), sql); }

static void step(engine *e, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) check(e, rc == SQLITE_ROW ? SQLITE_MISUSE : rc, what);
}

static engine *eng_open(const char *dir, const char *variant, int *threads_ok)
{
    const char *sync;
    if (!strcmp(variant, "durable")) sync = "PRAGMA synchronous=FULL";
    else if (!strcmp(variant, "nosync")) sync = "PRAGMA synchronous=OFF";
    else die("unknown variant", variant);
    engine *e = calloc(1, sizeof *e);
    if (!e) die("calloc", NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/sqlite.db", dir);
    check(e, sqlite3_open(path, &e->db), "open");
    exec(e, "PRAGMA journal_mode=WAL");
    exec(e, sync);
    exec(e, "CREATE TABLE kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID");
    check(e, sqlite3_prepare_v2(e->db, "BEGIN", -1, &e->begin, NULL), "prepare");
    check(e, sqlite3_prepare_v2(e->db, "COMMIT", -1, &e->commit, NULL), "prepare");
    check(e, sqlite3_prepare_v2(e->db, "INSERT OR REPLACE INTO kv VALUES (?, ?)", -1, &e->put, NULL), "prepare");
    check(e, sqlite3_prepare_v2(e->db, "SELECT v FROM kv WHERE k = ?", -1, &e->get, NULL), "prepare");
    *threads_ok = 0;
    return e;
}

static void eng_commit(engine *e, uint64_t first, uint64_t count)
{
    step(e, e->begin, "BEGIN");
    for (uint64_t i = first; i < first + count; i++) {
        sqlite3_bind_blob(e->put, 1, key_of(i), KEY_LEN, SQLITE_STATIC);
        sqlite3_bind_blob(e->put, 2, val_of(i), VAL_LEN, SQLITE_STATIC);
        step(e, e->put, "INSERT");
    }
    step(e, e->commit, "COMMIT");
}

static void eng_settle(engine *e) { exec(e, "PRAGMA wal_checkpoint(TRUNCATE)"); }

static long eng_get(engine *e, const uint8_t *key, uint8_t *buf)
{
    sqlite3_bind_blob(e->get, 1, key, KEY_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(e->get);
    long n = -1;
    if (rc == SQLITE_ROW) {
        n = sqlite3_column_bytes(e->get, 0);
        memcpy(buf, sqlite3_column_blob(e->get, 0), n > VAL_LEN ? VAL_LEN + 1 : (size_t)n);
    } else if (rc != SQLITE_DONE) {
        check(e, rc, "SELECT");
    }
    sqlite3_reset(e->get);
    return n;
}

static void eng_close(engine *e)
{
    sqlite3_finalize(e->begin);
    sqlite3_finalize(e->commit);
    sqlite3_finalize(e->put);
    sqlite3_finalize(e->get);
    check(e, sqlite3_close(e->db), "close");
    free(e);
}
