/* The commands on single keys and on the database as a whole: stat,
 * check, get, put, del, keys, buckets, backup, compact. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Parses options and checks that exactly `want` operands follow; returns
 * the index of the first operand, or -1 with `*code` set. */
static int operands(int argc, char **argv, const char *allowed, cli_opts *o, int want, int *code) {
  int first = parse_options(argc, argv, allowed, o, code);
  if (first < 0) return -1;
  if (argc - first != want) {
    char msg[64];
    snprintf(msg, sizeof msg, "expected %d operand%s, got %d", want, want == 1 ? "" : "s", argc - first);
    *code = usage_error(argv[0], msg);
    return -1;
  }
  return first;
}

/* A key or value operand: its text, or the bytes its hex spells with -x. */
static int bytes_operand(const char *cmd, const char *text, bool hex, buf *out) {
  if (!hex) {
    buf_push(out, text, strlen(text));
    return 0;
  }
  return hex_decode(text, strlen(text), out) ? 0 : usage_error(cmd, "bad hex digits (two per byte)");
}

/* Writes a key or value: hex with -x, else escaped (keys) or as is. */
static void write_bytes(FILE *f, thunder_bytes v, bool hex, bool escape) {
  if (hex)
    hex_write(f, v.data, v.len);
  else if (escape)
    escaped_write(f, v.data, v.len, "");
  else
    fwrite(v.data, 1, v.len, f);
}

int cmd_stat(int argc, char **argv) {
  cli_opts o;
  thunder_db *db = NULL;
  thunder_stats s;
  int code, at = operands(argc, argv, "w", &o, 1, &code);
  if (at < 0) return code;
  if ((code = open_db(argv[at], OPEN_READ, &o, &db)) != 0) return code;
  thunder_status st = thunder_stat(db, &s);
  if (st != THUNDER_OK) return close_db(db, fail(NULL, st));
  printf("path: %s\nversion: %s\npage_size: %u\npage_count: %llu\nfree_page_count: %llu\n", argv[at],
         thunder_version(), s.page_size, (unsigned long long)s.page_count, (unsigned long long)s.free_page_count);
  printf("pending_page_count: %llu\nfile_size: %llu\nlast_txid: %llu\nkey_count: %llu\nbucket_count: %llu\n",
         (unsigned long long)s.pending_page_count, (unsigned long long)s.file_size, (unsigned long long)s.last_txid,
         (unsigned long long)s.key_count, (unsigned long long)s.bucket_count);
  printf("tree_depth: %u\nmax_key_size: %zu\nwal_size: %llu\ncheckpoint_lsn: %llu\n", s.tree_depth,
         thunder_max_key_size(db), (unsigned long long)s.wal_size, (unsigned long long)s.checkpoint_lsn);
  return close_db(db, finish_output(stdout, "standard output"));
}

int cmd_check(int argc, char **argv) {
  cli_opts o;
  thunder_db *db = NULL;
  int code, at = operands(argc, argv, "w", &o, 1, &code);
  if (at < 0) return code;
  if ((code = open_db(argv[at], OPEN_READ, &o, &db)) != 0) return code;
  progress_note("check", argv[at]);
  thunder_status st = thunder_check(db);
  progress_end();
  if (st != THUNDER_OK) return close_db(db, fail(NULL, st));
  printf("%s: ok\n", argv[at]);
  return close_db(db, finish_output(stdout, "standard output"));
}

/* What get and del do with their key, in the session -b opened. */
typedef int (*key_action)(session *s, const buf *key, const cli_opts *o);

/* get and del: DB KEY operands, a session, the action; a write session
 * commits when the action succeeds. */
static int with_key(int argc, char **argv, const char *allowed, open_mode mode, key_action act) {
  cli_opts o;
  session s;
  buf key = {0};
  int code, at = operands(argc, argv, allowed, &o, 2, &code);
  if (at < 0) return code;
  if ((code = bytes_operand(argv[0], argv[at + 1], o.hex, &key)) == 0 &&
      (code = session_begin(argv[0], argv[at], mode, false, &o, &s)) == 0)
    code = session_end(&s, mode != OPEN_READ, act(&s, &key, &o));
  buf_free(&key);
  return code;
}

static int get_value(session *s, const buf *key, const cli_opts *o) {
  thunder_bytes v;
  thunder_status st = s->bucket ? thunder_bucket_get(s->bucket, key->data, key->len, &v)
                                : thunder_get(s->txn, key->data, key->len, &v);
  if (st != THUNDER_OK) return fail(NULL, st);
  write_bytes(stdout, v, o->hex, false);
  if (!o->raw) fputc('\n', stdout);
  return finish_output(stdout, "standard output");
}

int cmd_get(int argc, char **argv) {
  return with_key(argc, argv, "bxRw", OPEN_READ, get_value);
}

static int delete_key(session *s, const buf *key, const cli_opts *o) {
  (void)o;
  thunder_status st = s->bucket ? thunder_bucket_delete_key(s->bucket, key->data, key->len)
                                : thunder_delete(s->txn, key->data, key->len);
  return st == THUNDER_OK ? 0 : fail(NULL, st);
}

int cmd_del(int argc, char **argv) {
  return with_key(argc, argv, "bxw", OPEN_WRITE, delete_key);
}

/* All of standard input, for put --stdin. */
static int read_stdin(buf *out) {
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) buf_push(out, chunk, n);
  if (ferror(stdin)) {
    fprintf(stderr, "thunder: reading standard input failed\n");
    return EXIT_OS;
  }
  return 0;
}

int cmd_put(int argc, char **argv) {
  cli_opts o;
  session s;
  buf key = {0}, val = {0};
  int code = 0, first = parse_options(argc, argv, "bxiw", &o, &code);
  if (first < 0) return code;
  int want = o.stdin_value ? 2 : 3;
  if (argc - first != want)
    return usage_error(argv[0], o.stdin_value ? "expected DB KEY (the value comes from standard input)"
                                              : "expected DB KEY VALUE");
  code = bytes_operand(argv[0], argv[first + 1], o.hex, &key);
  if (code == 0) code = o.stdin_value ? read_stdin(&val) : bytes_operand(argv[0], argv[first + 2], o.hex, &val);
  if (code == 0 && (code = session_begin(argv[0], argv[first], OPEN_CREATE, true, &o, &s)) == 0) {
    thunder_status st = s.bucket ? thunder_bucket_put(s.bucket, key.data, key.len, val.data, val.len, 0)
                                 : thunder_put(s.txn, key.data, key.len, val.data, val.len, 0);
    code = session_end(&s, true, st == THUNDER_OK ? 0 : fail(NULL, st));
  }
  buf_free(&key);
  buf_free(&val);
  return code;
}

/* Lists the keys of the session's keyspace that start with `prefix`. */
static int list_keys(session *s, const buf *prefix, bool hex) {
  thunder_cursor *c = NULL;
  thunder_bytes k;
  thunder_status st = thunder_cursor_open(s->txn, s->bucket, &c);
  if (st != THUNDER_OK) return fail(NULL, st);
  st = thunder_cursor_seek(c, prefix->data, prefix->len, &k, NULL);
  while (st == THUNDER_OK && (prefix->len == 0 || (k.len >= prefix->len && memcmp(k.data, prefix->data, prefix->len) == 0))) {
    write_bytes(stdout, k, hex, true);
    fputc('\n', stdout);
    st = thunder_cursor_next(c, &k, NULL);
  }
  thunder_cursor_close(c);
  if (st != THUNDER_OK && st != THUNDER_NOT_FOUND) return fail(NULL, st);
  return finish_output(stdout, "standard output");
}

int cmd_keys(int argc, char **argv) {
  cli_opts o;
  session s;
  buf prefix = {0};
  int code = 0, at = operands(argc, argv, "bxpw", &o, 1, &code);
  if (at < 0) return code;
  if (o.prefix != NULL) code = bytes_operand(argv[0], o.prefix, o.hex, &prefix);
  if (code == 0 && (code = session_begin(argv[0], argv[at], OPEN_READ, false, &o, &s)) == 0)
    code = session_end(&s, false, list_keys(&s, &prefix, o.hex));
  buf_free(&prefix);
  return code;
}

static int print_path(void *ctx, thunder_txn *t, thunder_bucket *b, const bucket_path *p) {
  (void)t;
  (void)b;
  path_write(stdout, p);
  fputc('\n', stdout);
  return *(bool *)ctx ? 0 : WALK_SKIP;
}

int cmd_buckets(int argc, char **argv) {
  cli_opts o;
  session s;
  int code, at = operands(argc, argv, "brw", &o, 1, &code);
  if (at < 0) return code;
  if ((code = session_begin(argv[0], argv[at], OPEN_READ, false, &o, &s)) != 0) return code;
  code = walk_buckets(s.txn, s.bucket, &s.path, print_path, &o.recursive);
  return session_end(&s, false, code ? code : finish_output(stdout, "standard output"));
}

/* Opens the copy `dest` read-only and checks it; prints what was written. */
static int verify_copy(const char *verb, const char *src, const char *dest, const cli_opts *o) {
  thunder_db *db = NULL;
  thunder_stats s;
  int code = open_db(dest, OPEN_READ, o, &db);
  if (code != 0) return code;
  progress_note("check", dest);
  thunder_status st = thunder_check(db);
  progress_end();
  if (st == THUNDER_OK) st = thunder_stat(db, &s);
  if (st != THUNDER_OK) return close_db(db, fail("the copy", st));
  printf("%s: %s -> %s: %llu bytes, %llu pages, checked\n", verb, src, dest, (unsigned long long)s.file_size,
         (unsigned long long)s.page_count);
  return close_db(db, finish_output(stdout, "standard output"));
}

/* backup and compact: the same but for the call. */
static int copy_command(int argc, char **argv, thunder_status (*copy)(thunder_db *, const char *)) {
  cli_opts o;
  thunder_db *db = NULL;
  int code, at = operands(argc, argv, "w", &o, 2, &code);
  if (at < 0) return code;
  if ((code = open_db(argv[at], OPEN_READ, &o, &db)) != 0) return code;
  progress_note(argv[0], argv[at + 1]);
  thunder_status st = copy(db, argv[at + 1]);
  progress_end();
  code = close_db(db, st == THUNDER_OK ? 0 : fail(NULL, st));
  return code ? code : verify_copy(argv[0], argv[at], argv[at + 1], &o);
}

int cmd_backup(int argc, char **argv) {
  return copy_command(argc, argv, thunder_backup);
}

int cmd_compact(int argc, char **argv) {
  return copy_command(argc, argv, thunder_compact);
}
