/* Prefix and range scans with a cursor.
 *
 * Keys are kept in byte order, so related keys that share a prefix sit next
 * to each other. This example stores readings as "sensor/<name>/<time>" and
 * shows:
 *   - a prefix scan: seek to the prefix, step forward while keys start with it;
 *   - a half-open range scan [from, to): seek to `from`, stop at `to`;
 *   - a backward scan of the last N entries of a prefix, starting from the
 *     first key after the prefix ("prefix" with its last byte incremented);
 *   - deleting a range with thunder_cursor_delete in a write transaction.
 *
 * Usage: cursor_scan <database path> */
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

/* Whether view `k` starts with `prefix`. */
static int has_prefix(thunder_bytes k, const char *prefix) {
  size_t n = strlen(prefix);
  return k.len >= n && memcmp(k.data, prefix, n) == 0;
}

/* memcmp order of a view and a C string, as thunder orders keys. */
static int compare(thunder_bytes k, const char *s) {
  size_t n = strlen(s), m = k.len < n ? k.len : n;
  int c = memcmp(k.data, s, m);
  return c != 0 ? c : (k.len > n) - (k.len < n);
}

static void print_item(thunder_bytes k, thunder_bytes v) {
  printf("  %.*s = %.*s\n", (int)k.len, (const char *)k.data, (int)v.len, (const char *)v.data);
}

/* Every key starting with `prefix`, in order. Returns how many. */
static int prefix_scan(thunder_txn *txn, const char *prefix) {
  thunder_cursor *c;
  thunder_bytes k, v;
  thunder_status s;
  int n = 0;
  printf("prefix scan \"%s\":\n", prefix);
  TRY("cursor open", thunder_cursor_open(txn, NULL, &c)); /* NULL: default keyspace */
  /* seek lands on the first key >= prefix; NOT_FOUND if there is none. */
  for (s = thunder_cursor_seek(c, (const uint8_t *)prefix, strlen(prefix), &k, &v);
       s == THUNDER_OK && has_prefix(k, prefix); s = thunder_cursor_next(c, &k, &v)) {
    print_item(k, v);
    n++;
  }
  if (s != THUNDER_OK && s != THUNDER_NOT_FOUND) fail("prefix scan", s);
  thunder_cursor_close(c);
  return n;
}

/* Keys in [from, to). */
static int range_scan(thunder_txn *txn, const char *from, const char *to) {
  thunder_cursor *c;
  thunder_bytes k, v;
  thunder_status s;
  int n = 0;
  printf("range scan [\"%s\", \"%s\"):\n", from, to);
  TRY("cursor open", thunder_cursor_open(txn, NULL, &c));
  for (s = thunder_cursor_seek(c, (const uint8_t *)from, strlen(from), &k, &v);
       s == THUNDER_OK && compare(k, to) < 0; s = thunder_cursor_next(c, &k, &v)) {
    print_item(k, v);
    n++;
  }
  if (s != THUNDER_OK && s != THUNDER_NOT_FOUND) fail("range scan", s);
  thunder_cursor_close(c);
  return n;
}

/* The last `limit` keys with `prefix`, newest first: seek to the first key
 * past the prefix and step back. If no key follows the prefix, seek returns
 * NOT_FOUND and leaves the cursor past the end, so prev gives the last key. */
static int last_n(thunder_txn *txn, const char *prefix, int limit) {
  char end[64];
  thunder_cursor *c;
  thunder_bytes k, v;
  thunder_status s;
  int n = 0;
  size_t len = strlen(prefix);
  if (len == 0 || len >= sizeof end) return 0;
  memcpy(end, prefix, len);
  end[len - 1]++; /* "sensor/b/" -> "sensor/b0": just past every "sensor/b/..." key */
  printf("last %d of \"%s\", newest first:\n", limit, prefix);
  TRY("cursor open", thunder_cursor_open(txn, NULL, &c));
  s = thunder_cursor_seek(c, (const uint8_t *)end, len, NULL, NULL);
  if (s != THUNDER_OK && s != THUNDER_NOT_FOUND) fail("seek", s);
  while (n < limit && (s = thunder_cursor_prev(c, &k, &v)) == THUNDER_OK && has_prefix(k, prefix)) {
    print_item(k, v);
    n++;
  }
  if (s != THUNDER_OK && s != THUNDER_NOT_FOUND) fail("backward scan", s);
  thunder_cursor_close(c);
  return n;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <database path>\n", argv[0]);
    return 2;
  }
  thunder_db *db;
  thunder_txn *txn;
  TRY("open", thunder_open(argv[1], NULL, &db));
  printf("opened %s\n", argv[1]);

  /* Three sensors, six readings each, plus unrelated keys around them. */
  const char *sensors[] = {"a", "b", "c"};
  char key[64], val[32];
  TRY("begin write", thunder_txn_begin(db, THUNDER_TXN_WRITE, &txn));
  for (int s = 0; s < 3; s++)
    for (int t = 0; t < 6; t++) {
      int kl = snprintf(key, sizeof key, "sensor/%s/%04d", sensors[s], 1000 + t * 15);
      int vl = snprintf(val, sizeof val, "%d.%d C", 18 + s + t, t * 3 % 10);
      TRY("put", thunder_put(txn, (const uint8_t *)key, (size_t)kl, (const uint8_t *)val, (size_t)vl, 0));
    }
  TRY("put", thunder_put(txn, (const uint8_t *)"config", 6, (const uint8_t *)"v1", 2, 0));
  TRY("put", thunder_put(txn, (const uint8_t *)"zone", 4, (const uint8_t *)"north", 5, 0));
  TRY("commit", thunder_txn_commit(txn));
  printf("stored 18 readings of 3 sensors and 2 other keys\n");

  /* Scans run in a read transaction: one consistent snapshot. */
  TRY("begin read", thunder_txn_begin(db, THUNDER_TXN_READ, &txn));
  int n = prefix_scan(txn, "sensor/b/");
  printf("-> %d readings\n", n);
  n = range_scan(txn, "sensor/a/1030", "sensor/b/1015");
  printf("-> %d readings\n", n);
  n = last_n(txn, "sensor/c/", 2);
  printf("-> %d readings\n", n);
  thunder_txn_abort(txn);

  /* Delete sensor a's readings before 1045 while scanning: after
   * thunder_cursor_delete the cursor has no current item, and next moves to
   * the item after the deleted one. */
  TRY("begin write", thunder_txn_begin(db, THUNDER_TXN_WRITE, &txn));
  thunder_cursor *c;
  thunder_bytes k;
  thunder_status s;
  int deleted = 0;
  TRY("cursor open", thunder_cursor_open(txn, NULL, &c));
  for (s = thunder_cursor_seek(c, (const uint8_t *)"sensor/a/", 9, &k, NULL);
       s == THUNDER_OK && compare(k, "sensor/a/1045") < 0; s = thunder_cursor_next(c, &k, NULL)) {
    TRY("cursor delete", thunder_cursor_delete(c));
    deleted++;
  }
  if (s != THUNDER_OK && s != THUNDER_NOT_FOUND) fail("delete scan", s);
  thunder_cursor_close(c);
  TRY("commit", thunder_txn_commit(txn));
  printf("deleted %d old readings of sensor a\n", deleted);

  TRY("begin read", thunder_txn_begin(db, THUNDER_TXN_READ, &txn));
  n = prefix_scan(txn, "sensor/a/");
  printf("-> %d readings\n", n);
  thunder_txn_abort(txn);

  TRY("close", thunder_close(db));
  printf("closed\n");
  return 0;
}
