/* thunder_backup and thunder_compact: a copy opens as a database of its own
 * that passes thunder_check and holds exactly what the source held (nested
 * buckets, binary keys, overflow values, sequences, commits that only the
 * write-ahead log held); compaction of a fragmented database is smaller;
 * an existing destination, the source itself and NULL arguments are
 * THUNDER_INVALID_ARGUMENT; copies taken while another thread commits, and
 * from the thread holding the write transaction, are consistent; a backup
 * put in place of its source refuses the source's log. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* A fingerprint of a whole database: FNV-1a over every bucket (depth and
 * name) and every key and value, depth first, and the number of items. */
typedef struct {
  uint64_t hash;
  uint64_t items;
} digest;

static void mix(digest *d, const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t len = n;
  for (size_t i = 0; i < sizeof len; i++) d->hash = (d->hash ^ ((len >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
  for (size_t i = 0; i < n; i++) d->hash = (d->hash ^ b[i]) * 0x100000001b3ULL;
}

static void digest_tree(thunder_txn *t, thunder_bucket *parent, uint8_t depth, digest *d) {
  thunder_cursor *c = NULL;
  thunder_bytes k, v;
  thunder_status s;
  CHECK_OK(thunder_cursor_open(t, parent, &c));
  while ((s = thunder_cursor_next(c, &k, &v)) == THUNDER_OK) {
    mix(d, k.data, k.len);
    mix(d, v.data, v.len);
    d->items++;
  }
  CHECK_STATUS(s, THUNDER_NOT_FOUND);
  thunder_cursor_close(c);
  CHECK_OK(thunder_bucket_cursor_open(t, parent, &c));
  while ((s = thunder_cursor_next(c, &k, NULL)) == THUNDER_OK) {
    thunder_bucket *b = NULL;
    mix(d, &depth, 1);
    mix(d, k.data, k.len);
    d->items++;
    CHECK_OK(thunder_bucket_open(t, parent, k.data, k.len, &b));
    digest_tree(t, b, (uint8_t)(depth + 1), d);
    thunder_bucket_close(b);
  }
  CHECK_STATUS(s, THUNDER_NOT_FOUND);
  thunder_cursor_close(c);
}

static digest digest_of(thunder_db *db) {
  digest d = {0xcbf29ce484222325ULL, 0};
  thunder_txn *t = NULL;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &t));
  digest_tree(t, NULL, 0, &d);
  thunder_txn_abort(t);
  return d;
}

/* The next value of bucket "seq"'s sequence, in a transaction rolled back. */
static uint64_t next_seq(thunder_db *db) {
  thunder_txn *w = NULL;
  thunder_bucket *b = NULL;
  uint64_t n = 0;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_bucket_open(w, NULL, K("seq"), &b));
  CHECK_OK(thunder_bucket_next_sequence(b, &n));
  thunder_bucket_close(b);
  thunder_txn_abort(w);
  return n;
}

static uint8_t big[300000];

/* Binary keys with values from empty to overflow size, a bucket and a key
 * sharing a name, buckets nested four deep, an empty bucket, a sequence. */
static void fill(thunder_db *db) {
  thunder_txn *w = NULL;
  thunder_bucket *b = NULL, *c = NULL;
  uint64_t seq;
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7 + i / 251);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  for (uint32_t i = 0; i < 400; i++) {
    uint8_t key[4] = {0xff, 0x00, (uint8_t)(i >> 8), (uint8_t)i};
    size_t len = (size_t[]){0, 9, 200, 5000, 70000}[i % 5];
    CHECK_OK(thunder_put(w, key, sizeof key, big + i, len, 0));
  }
  CHECK_OK(thunder_put(w, K("big"), big, sizeof big, 0));
  CHECK_OK(thunder_bucket_create(w, NULL, K("a"), &b));
  CHECK_OK(thunder_bucket_put(b, K("b"), K("a key named like the bucket below"), 0));
  for (int depth = 0; depth < 4; depth++) {
    uint8_t name[3] = {'n', (uint8_t)depth, 0xfe};
    for (uint8_t i = 0; i < 40; i++) {
      uint8_t key[2] = {i, (uint8_t)depth};
      CHECK_OK(thunder_bucket_put(b, key, sizeof key, big + i, (size_t)i * 101, 0));
    }
    CHECK_OK(thunder_bucket_create(w, b, name, sizeof name, &c));
    thunder_bucket_close(b);
    b = c;
  }
  thunder_bucket_close(b);
  CHECK_OK(thunder_bucket_create(w, NULL, K("empty"), &b));
  thunder_bucket_close(b);
  CHECK_OK(thunder_bucket_create(w, NULL, K("seq"), &b));
  for (int i = 0; i < 5; i++) CHECK_OK(thunder_bucket_next_sequence(b, &seq));
  thunder_bucket_close(b);
  CHECK_OK(thunder_txn_commit(w));
}

static char dir_buf[2048];

/* A path under the test directory that does not exist yet. */
static const char *fresh(const char *name) {
  static char buf[4][4096];
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, sizeof buf[0], "%s/%s", dir_buf, name);
  remove(p);
  return p;
}

/* No copy, finished or failed, leaves its temporary file behind. */
static void expect_no_temporary_files(void) {
  DIR *d = opendir(dir_buf);
  struct dirent *e;
  CHECK(d != NULL);
  while ((e = readdir(d)) != NULL) {
    if (strstr(e->d_name, ".tmp-") != NULL) fprintf(stderr, "left behind: %s\n", e->d_name);
    CHECK(strstr(e->d_name, ".tmp-") == NULL);
  }
  closedir(d);
}

/* `copy` opens, passes the check, and holds what `db` holds. */
static void expect_same(thunder_db *db, const char *copy) {
  thunder_db *c = NULL;
  digest want = digest_of(db), got;
  CHECK_OK(open_test_db(copy, &c));
  CHECK_OK(thunder_check(c));
  got = digest_of(c);
  CHECK(got.items == want.items && got.hash == want.hash);
  CHECK(next_seq(c) == next_seq(db));
  CHECK_OK(thunder_close(c));
}

static void copies_hold_everything(thunder_db *db) {
  thunder_stats s;
  struct stat st;
  const char *b = fresh("backup.db"), *c;
  CHECK_OK(thunder_backup(db, b));
  expect_same(db, b);
  CHECK_OK(thunder_stat(db, &s));
  CHECK(stat(b, &st) == 0 && (uint64_t)st.st_size == s.page_count * s.page_size);
  c = fresh("compact.db");
  CHECK_OK(thunder_compact(db, c));
  expect_same(db, c);
  CHECK(next_seq(db) == 6);
}

static void refusals(thunder_db *db, const char *src) {
  FILE *f;
  const char *taken = fresh("taken");
  CHECK((f = fopen(taken, "w")) != NULL && fputs("keep", f) >= 0 && fclose(f) == 0);
  CHECK_STATUS(thunder_backup(db, taken), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("exists");
  CHECK_STATUS(thunder_compact(db, taken), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("exists");
  CHECK_STATUS(thunder_backup(db, src), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("is the source database itself");
  CHECK_STATUS(thunder_compact(db, src), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("is the source database itself");
  CHECK_STATUS(thunder_backup(NULL, fresh("x.db")), THUNDER_INVALID_ARGUMENT);
  CHECK_STATUS(thunder_compact(NULL, fresh("x.db")), THUNDER_INVALID_ARGUMENT);
  CHECK_STATUS(thunder_backup(db, NULL), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("dest_path");
  CHECK_STATUS(thunder_compact(db, NULL), THUNDER_INVALID_ARGUMENT);
  CHECK_STATUS(thunder_backup(db, ""), THUNDER_INVALID_ARGUMENT);
  CHECK_STATUS(thunder_compact(db, fresh("missing-dir/x.db")), THUNDER_IO);
  CHECK((f = fopen(taken, "r")) != NULL && fgetc(f) == 'k' && fclose(f) == 0);
}

/* Deleting most keys leaves free pages behind; the compacted copy has none. */
static void compaction_is_smaller(thunder_db *db) {
  thunder_txn *w = NULL;
  thunder_stats src, dst;
  thunder_db *c = NULL;
  const char *path = fresh("compact-small.db");
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  for (uint32_t i = 0; i < 20000; i++) {
    char key[16];
    snprintf(key, sizeof key, "frag%08u", i);
    CHECK_OK(thunder_put(w, K(key), big + i % 1000, 100, 0));
  }
  CHECK_OK(thunder_txn_commit(w));
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  for (uint32_t i = 0; i < 20000; i++) {
    char key[16];
    snprintf(key, sizeof key, "frag%08u", i);
    if (i % 10 != 0) CHECK_OK(thunder_delete(w, K(key)));
  }
  CHECK_OK(thunder_txn_commit(w));
  CHECK_OK(thunder_compact(db, path));
  expect_same(db, path);
  CHECK_OK(thunder_stat(db, &src));
  CHECK_OK(open_test_db(path, &c));
  CHECK_OK(thunder_stat(c, &dst));
  CHECK_OK(thunder_close(c));
  CHECK(dst.page_count < src.page_count && dst.file_size < src.file_size);
  CHECK(dst.free_page_count < src.free_page_count);
}

/* The writer thread commits "a" and "b" equal, with churn in between. */
static atomic_int stop_writer;
static atomic_ullong writer_commits;

static void *writer(void *arg) {
  thunder_db *db = arg;
  for (uint64_t n = 1; !atomic_load(&stop_writer); n++) {
    thunder_txn *w = NULL;
    char key[32];
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
    CHECK_OK(thunder_put(w, K("a"), (const uint8_t *)&n, sizeof n, 0));
    snprintf(key, sizeof key, "churn%llu", (unsigned long long)(n % 500));
    CHECK_OK(thunder_put(w, K(key), big, 100 + n % 5000, 0));
    CHECK_OK(thunder_put(w, K("b"), (const uint8_t *)&n, sizeof n, 0));
    CHECK_OK(thunder_txn_commit(w));
    atomic_store(&writer_commits, n);
  }
  return NULL;
}

static void expect_a_equals_b(const char *path) {
  thunder_db *c = NULL;
  thunder_txn *r = NULL;
  thunder_bytes a, b;
  CHECK_OK(open_test_db(path, &c));
  CHECK_OK(thunder_check(c));
  CHECK_OK(thunder_txn_begin(c, THUNDER_TXN_READ, &r));
  CHECK_OK(thunder_get(r, K("a"), &a));
  CHECK_OK(thunder_get(r, K("b"), &b));
  CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  thunder_txn_abort(r);
  CHECK_OK(thunder_close(c));
}

static void copies_while_writing(thunder_db *db) {
  pthread_t t;
  char name[32];
  atomic_store(&stop_writer, 0);
  atomic_store(&writer_commits, 0);
  CHECK(pthread_create(&t, NULL, writer, db) == 0);
  for (int i = 0; i < 4; i++) {
    /* Copy once the writer is going, a few commits after the last copy. */
    unsigned long long at = atomic_load(&writer_commits);
    for (int waited = 0; atomic_load(&writer_commits) < at + 3; waited++) {
      CHECK(waited < 30000); /* 30 s: the writer is stuck */
      nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    snprintf(name, sizeof name, "live-%d.db", i);
    const char *path = fresh(name);
    CHECK_OK(i % 2 ? thunder_compact(db, path) : thunder_backup(db, path));
    expect_a_equals_b(path);
  }
  atomic_store(&stop_writer, 1);
  CHECK(pthread_join(t, NULL) == 0);
}

/* From the thread holding the write transaction: its changes are not in
 * the copies, and nothing blocks. */
static void copies_from_the_writer_thread(thunder_db *db) {
  thunder_txn *w = NULL, *r = NULL;
  thunder_db *c = NULL;
  thunder_bytes v;
  const char *paths[2] = {fresh("from-writer-backup.db"), fresh("from-writer-compact.db")};
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("uncommitted"), K("x"), 0));
  CHECK_OK(thunder_backup(db, paths[0]));
  CHECK_OK(thunder_compact(db, paths[1]));
  CHECK_OK(thunder_txn_commit(w));
  for (int i = 0; i < 2; i++) {
    CHECK_OK(open_test_db(paths[i], &c));
    CHECK_OK(thunder_check(c));
    CHECK_OK(thunder_txn_begin(c, THUNDER_TXN_READ, &r));
    CHECK_STATUS(thunder_get(r, K("uncommitted"), &v), THUNDER_NOT_FOUND);
    thunder_txn_abort(r);
    CHECK_OK(thunder_close(c));
  }
}

/* Commits only the write-ahead log holds are in the copies, which open
 * without a log. */
static void copies_of_a_logged_database(void) {
  thunder_options *o = NULL;
  thunder_db *db = NULL, *c = NULL;
  thunder_txn *w = NULL;
  thunder_stats s;
  const char *src = fresh("logged.db"), *copy = fresh("logged-backup.db");
  char wal[4096];
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_page_size(o, test_page_size()));
  CHECK_OK(thunder_options_set_wal(o, true));
  CHECK_OK(thunder_open(src, o, &db));
  thunder_options_free(o);
  fill(db);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("logged"), K("only in the log"), 0));
  CHECK_OK(thunder_txn_commit(w));
  CHECK_OK(thunder_stat(db, &s));
  CHECK(s.wal_size > 0);
  CHECK_OK(thunder_backup(db, copy));
  expect_same(db, copy);
  CHECK_OK(open_test_db(copy, &c));
  CHECK_OK(thunder_stat(c, &s));
  CHECK(s.checkpoint_lsn == 0 && s.wal_size == 0);
  CHECK_OK(thunder_close(c));
  snprintf(wal, sizeof wal, "%s.wal", copy);
  CHECK(access(wal, F_OK) != 0);
  CHECK_OK(thunder_close(db));
}

/* A backup put in place of its source keeps the source's log out: the open
 * is THUNDER_INCOMPATIBLE (before, the source's later logged commits were
 * replayed into the restored copy), and with the log moved away the file
 * opens as it was backed up. */
static void a_restored_backup_refuses_the_old_log(void) {
  thunder_options *o = NULL;
  thunder_db *db = NULL;
  thunder_txn *w = NULL;
  thunder_bytes v;
  char name[64], wal[4096], aside[4096];
  const char *src, *copy = fresh("restored-backup.db");
  /* A name of this process's own: the log set aside stays behind. */
  snprintf(name, sizeof name, "restored-%ld.db", (long)getpid());
  src = fresh(name);
  snprintf(wal, sizeof wal, "%s.wal", src);
  snprintf(aside, sizeof aside, "%s.wal.aside", src);
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_page_size(o, test_page_size()));
  CHECK_OK(thunder_options_set_wal(o, true));
  CHECK_OK(thunder_open(src, o, &db));
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("before"), K("backed up"), 0));
  CHECK_OK(thunder_txn_commit(w));
  CHECK_OK(thunder_backup(db, copy));
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("after"), K("not in the backup"), 0));
  CHECK_OK(thunder_txn_commit(w));
  CHECK_OK(thunder_close(db));
  CHECK(access(wal, F_OK) == 0);
  CHECK(rename(copy, src) == 0);
  db = NULL;
  CHECK_STATUS(thunder_open(src, o, &db), THUNDER_INCOMPATIBLE);
  CHECK(db == NULL);
  CHECK(strstr(thunder_last_error(), "another database") != NULL);
  CHECK(rename(wal, aside) == 0);
  CHECK_OK(thunder_open(src, o, &db));
  thunder_options_free(o);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &w));
  CHECK_OK(thunder_get(w, K("before"), &v));
  CHECK_STATUS(thunder_get(w, K("after"), &v), THUNDER_NOT_FOUND);
  thunder_txn_abort(w);
  CHECK_OK(thunder_close(db));
}

int main(void) {
  thunder_db *db = NULL;
  char src[4096];
  const char *dir = getenv("THUNDER_TEST_DIR");
  snprintf(dir_buf, sizeof dir_buf, "%s", dir ? dir : "/tmp");
  snprintf(src, sizeof src, "%s", test_path("backup-src.db"));
  CHECK_OK(open_test_db(src, &db));
  fill(db);
  copies_hold_everything(db);
  refusals(db, src);
  compaction_is_smaller(db);
  copies_while_writing(db);
  copies_from_the_writer_thread(db);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
  copies_of_a_logged_database();
  a_restored_backup_refuses_the_old_log();
  expect_no_temporary_files();
  return 0;
}
