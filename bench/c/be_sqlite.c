/* be_sqlite.c: SQLite, journal_mode=WAL, table kv(k BLOB PRIMARY KEY, v BLOB)
 * WITHOUT ROWID, prepared statements, other settings default. One connection
 * per thread slot (opened on first use), busy_timeout 60 s so concurrent
 * writers wait for each other. Write transactions are BEGIN IMMEDIATE.
 * Variants: durable (synchronous=FULL), nosync (synchronous=OFF). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define SLOTS 4

enum { S_READ, S_WRITE, S_COMMIT, S_PUT, S_GET, S_DEL, S_SEEK, S_FIRST, S_COUNT };
static const char *const SQL[S_COUNT] = {
    "BEGIN", "BEGIN IMMEDIATE", "COMMIT", "INSERT OR REPLACE INTO kv VALUES (?1, ?2)",
    "SELECT v FROM kv WHERE k = ?1", "DELETE FROM kv WHERE k = ?1",
    "SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k", "SELECT k, v FROM kv ORDER BY k",
};

struct be_txn { /* a connection; its transaction is the open one */
    sqlite3 *db;
    sqlite3_stmt *s[S_COUNT];
};
struct be_db {
    char path[4096];
    const char *sync;
    struct be_txn conn[SLOTS];
};
struct be_cur {
    struct be_txn *c;
    sqlite3_stmt *s;
};

static void check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) die(what, sqlite3_errmsg(db));
}

static void exec(sqlite3 *db, const char *sql) { check(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql); }

static void step_done(struct be_txn *c, int which)
{
    sqlite3_stmt *s = c->s[which];
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) check(c->db, rc == SQLITE_ROW ? SQLITE_MISUSE : rc, SQL[which]);
}

static struct be_txn *conn(be_db *db, int slot)
{
    struct be_txn *c = &db->conn[slot];
    if (c->db) return c;
    check(c->db, sqlite3_open(db->path, &c->db), "open");
    sqlite3_busy_timeout(c->db, 60000);
    exec(c->db, "PRAGMA journal_mode=WAL");
    exec(c->db, db->sync);
    exec(c->db, "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID");
    for (int i = 0; i < S_COUNT; i++) check(c->db, sqlite3_prepare_v2(c->db, SQL[i], -1, &c->s[i], NULL), SQL[i]);
    return c;
}

static be_db *q_open(const char *dir, const char *variant)
{
    be_db *db = xcalloc(sizeof *db);
    if (!strcmp(variant, "durable")) db->sync = "PRAGMA synchronous=FULL";
    else if (!strcmp(variant, "nosync")) db->sync = "PRAGMA synchronous=OFF";
    else die("unknown variant", variant);
    snprintf(db->path, sizeof db->path, "%s/sqlite.db", dir);
    conn(db, 0);
    return db;
}

static void q_close(be_db *db)
{
    for (int slot = SLOTS - 1; slot >= 0; slot--) {
        struct be_txn *c = &db->conn[slot];
        if (!c->db) continue;
        for (int i = 0; i < S_COUNT; i++) sqlite3_finalize(c->s[i]);
        check(c->db, sqlite3_close(c->db), "close");
    }
    free(db);
}

static be_txn *q_begin(be_db *db, int write, int slot)
{
    struct be_txn *c = conn(db, slot);
    step_done(c, write ? S_WRITE : S_READ);
    return c;
}

static void q_commit(be_txn *c)
{
    sqlite3_reset(c->s[S_GET]);
    step_done(c, S_COMMIT);
}

static void bind(be_txn *c, sqlite3_stmt *s, int i, be_buf b)
{
    check(c->db, sqlite3_bind_blob(s, i, b.p, (int)b.n, SQLITE_STATIC), "bind");
}

static void q_put(be_txn *c, be_buf k, be_buf v)
{
    bind(c, c->s[S_PUT], 1, k);
    bind(c, c->s[S_PUT], 2, v);
    step_done(c, S_PUT);
}

static int q_get(be_txn *c, be_buf k, be_buf *v)
{
    sqlite3_stmt *s = c->s[S_GET];
    sqlite3_reset(s);
    bind(c, s, 1, k);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return 0;
    check(c->db, rc, "SELECT v");
    *v = (be_buf){sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0)};
    return 1;
}

static void q_del(be_txn *c, be_buf k)
{
    bind(c, c->s[S_DEL], 1, k);
    step_done(c, S_DEL);
}

static be_cur *q_cursor(be_txn *c)
{
    be_cur *cur = xcalloc(sizeof *cur);
    cur->c = c;
    return cur;
}

static int q_row(be_cur *cur, be_buf *ko, be_buf *vo)
{
    int rc = sqlite3_step(cur->s);
    if (rc == SQLITE_DONE) return 0;
    check(cur->c->db, rc, "SELECT k, v");
    *ko = (be_buf){sqlite3_column_blob(cur->s, 0), (size_t)sqlite3_column_bytes(cur->s, 0)};
    *vo = (be_buf){sqlite3_column_blob(cur->s, 1), (size_t)sqlite3_column_bytes(cur->s, 1)};
    return 1;
}

static int q_seek(be_cur *cur, be_buf key, be_buf *ko, be_buf *vo)
{
    if (cur->s) sqlite3_reset(cur->s);
    cur->s = cur->c->s[key.n ? S_SEEK : S_FIRST];
    if (key.n) bind(cur->c, cur->s, 1, key);
    return q_row(cur, ko, vo);
}

static int q_next(be_cur *cur, be_buf *ko, be_buf *vo) { return q_row(cur, ko, vo); }

static void q_cursor_close(be_cur *cur)
{
    if (cur->s) sqlite3_reset(cur->s);
    free(cur);
}

static void q_sync(be_db *db) { exec(conn(db, 0)->db, "PRAGMA wal_checkpoint(TRUNCATE)"); }

const struct backend BACKEND = {"sqlite", q_open, q_close, q_begin, q_commit, q_put, q_get, q_del,
                                q_cursor, q_seek, q_next, q_cursor_close, q_sync};
