/* Buckets: named keyspaces that nest.
 *
 * Builds a small "shop" layout:
 *   users/                   a top-level bucket, one key per user
 *   orders/                  a top-level bucket with one child bucket per user
 *     alice/                 keys are order numbers from a bucket sequence
 *     bob/
 * then lists it, deletes a user's orders (a recursive bucket delete) and
 * shows what a bucket handle reports once its bucket is gone.
 *
 * Usage: buckets <database path> */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thunder.h"

static void fail(const char *what, thunder_status s) {
  fprintf(stderr, "%s failed: %s (%s)\n", what, thunder_strerror(s), thunder_last_error());
  exit(1);
}

#define TRY(what, call)                          \
  do {                                           \
    thunder_status s_ = (call);                  \
    if (s_ != THUNDER_OK) fail((what), s_);      \
  } while (0)

/* Byte-string helper for C strings. */
#define STR(s) (const uint8_t *)(s), strlen(s)

/* Adds an order to `user`'s bucket under orders/, keyed by the bucket's
 * sequence (1, 2, 3, ... per user), zero-padded so keys sort numerically. */
static void add_order(thunder_txn *txn, thunder_bucket *orders, const char *user, const char *item) {
  thunder_bucket *mine;
  uint64_t n;
  char key[32];
  /* create_if_missing: the first order creates the user's bucket. */
  TRY("create user orders", thunder_bucket_create_if_missing(txn, orders, STR(user), &mine));
  TRY("next sequence", thunder_bucket_next_sequence(mine, &n));
  snprintf(key, sizeof key, "%06" PRIu64, n);
  TRY("put order", thunder_bucket_put(mine, STR(key), STR(item), 0));
  printf("  orders/%s/%s = %s\n", user, key, item);
  thunder_bucket_close(mine); /* handles are closed by their owner */
}

/* Prints the keys of `b` (a key cursor) and the names of its child buckets
 * (a bucket cursor), indented by `depth`, recursing into each child. */
static void list(thunder_txn *txn, thunder_bucket *b, const char *name, int depth) {
  thunder_cursor *c;
  thunder_bytes k, v;
  thunder_status s;
  printf("%*s%s/\n", depth * 2, "", name);
  TRY("open key cursor", thunder_cursor_open(txn, b, &c));
  while ((s = thunder_cursor_next(c, &k, &v)) == THUNDER_OK)
    printf("%*s%.*s = %.*s\n", depth * 2 + 2, "", (int)k.len, (const char *)k.data, (int)v.len,
           (const char *)v.data);
  if (s != THUNDER_NOT_FOUND) fail("cursor next", s); /* NOT_FOUND: past the last key */
  thunder_cursor_close(c);

  TRY("open bucket cursor", thunder_bucket_cursor_open(txn, b, &c));
  while ((s = thunder_cursor_next(c, &k, NULL)) == THUNDER_OK) {
    char child_name[256]; /* bucket names are at most 255 bytes */
    thunder_bucket *child;
    snprintf(child_name, sizeof child_name, "%.*s", (int)k.len, (const char *)k.data);
    TRY("open child", thunder_bucket_open(txn, b, k.data, k.len, &child));
    list(txn, child, child_name, depth + 1);
    thunder_bucket_close(child);
  }
  if (s != THUNDER_NOT_FOUND) fail("bucket cursor next", s);
  thunder_cursor_close(c);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <database path>\n", argv[0]);
    return 2;
  }
  thunder_db *db;
  thunder_txn *txn;
  thunder_bucket *users, *orders;
  thunder_status s;
  TRY("open", thunder_open(argv[1], NULL, &db));
  printf("opened %s\n", argv[1]);

  /* One write transaction creates the layout and its first data. */
  TRY("begin write", thunder_txn_begin(db, THUNDER_TXN_WRITE, &txn));
  s = thunder_bucket_create(txn, NULL, STR("users"), &users); /* NULL parent: top level */
  if (s == THUNDER_BUCKET_EXISTS) {
    fprintf(stderr, "%s already holds this example's buckets: use a new file\n", argv[1]);
    thunder_txn_abort(txn);
    thunder_close(db);
    return 1;
  }
  if (s != THUNDER_OK) fail("create users", s);
  TRY("put user", thunder_bucket_put(users, STR("alice"), STR("Alice Liddell"), 0));
  TRY("put user", thunder_bucket_put(users, STR("bob"), STR("Bob Dobbs"), 0));
  TRY("create orders", thunder_bucket_create(txn, NULL, STR("orders"), &orders));
  printf("adding orders:\n");
  add_order(txn, orders, "alice", "teapot");
  add_order(txn, orders, "bob", "pipe");
  add_order(txn, orders, "alice", "looking glass");
  thunder_bucket_close(users);
  thunder_bucket_close(orders);
  TRY("commit", thunder_txn_commit(txn));

  /* Keys and child buckets are separate namespaces: orders/ may also hold a
   * key named "alice" next to the bucket "alice". */
  TRY("begin write", thunder_txn_begin(db, THUNDER_TXN_WRITE, &txn));
  TRY("open orders", thunder_bucket_open(txn, NULL, STR("orders"), &orders));
  TRY("put note", thunder_bucket_put(orders, STR("alice"), STR("ships on Fridays"), 0));
  thunder_bucket_close(orders);
  TRY("commit", thunder_txn_commit(txn));

  /* Read everything back in one snapshot. */
  printf("layout:\n");
  TRY("begin read", thunder_txn_begin(db, THUNDER_TXN_READ, &txn));
  thunder_cursor *top;
  thunder_bytes k;
  TRY("open top-level bucket cursor", thunder_bucket_cursor_open(txn, NULL, &top));
  while ((s = thunder_cursor_next(top, &k, NULL)) == THUNDER_OK) {
    char name[256];
    thunder_bucket *b;
    snprintf(name, sizeof name, "%.*s", (int)k.len, (const char *)k.data);
    TRY("open bucket", thunder_bucket_open(txn, NULL, k.data, k.len, &b));
    list(txn, b, name, 1);
    thunder_bucket_close(b);
  }
  if (s != THUNDER_NOT_FOUND) fail("bucket cursor next", s);
  thunder_cursor_close(top);
  thunder_txn_abort(txn);

  /* Delete bob's orders: the bucket and everything in it. A handle opened
   * before the delete now reports THUNDER_BUCKET_NOT_FOUND. */
  TRY("begin write", thunder_txn_begin(db, THUNDER_TXN_WRITE, &txn));
  thunder_bucket *bob;
  thunder_bytes v;
  TRY("open orders", thunder_bucket_open(txn, NULL, STR("orders"), &orders));
  TRY("open bob", thunder_bucket_open(txn, orders, STR("bob"), &bob));
  TRY("delete bob", thunder_bucket_delete(txn, orders, STR("bob")));
  s = thunder_bucket_get(bob, STR("000001"), &v);
  printf("after deleting orders/bob, its old handle says: %s\n", thunder_strerror(s));
  if (s != THUNDER_BUCKET_NOT_FOUND) fail("get from deleted bucket", s);
  thunder_bucket_close(bob);
  thunder_bucket_close(orders);
  TRY("commit", thunder_txn_commit(txn));

  thunder_stats st;
  TRY("stat", thunder_stat(db, &st));
  printf("%" PRIu64 " buckets remain (nested ones included)\n", st.bucket_count);
  TRY("check", thunder_check(db));
  TRY("close", thunder_close(db));
  printf("closed\n");
  return 0;
}
