/* dump and load: the text format of LMDB's mdb_dump and mdb_load.
 *
 * A dump is a sequence of sections, one per keyspace: the default keyspace
 * first (no database= line), then every bucket, parents before children,
 * with `database=` and its path (see BUCKET PATHS in thunder(1)):
 *
 *   VERSION=3
 *   format=bytevalue
 *   database=a/b          (buckets only)
 *   type=btree
 *   HEADER=END
 *    6b6579               (a key: one space, then two hex digits per byte)
 *    76616c7565           (its value; an empty value is a lone space)
 *   DATA=END
 *
 * load also reads mdb_dump's `format=print` (printable bytes as
 * themselves, `\\` for a backslash, `\xx` for other bytes) and ignores the
 * header lines LMDB writes that mean nothing to thunder (mapsize, ...). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"

/* Commit a load every this many bytes of keys and values. */
#define LOAD_BATCH ((uint64_t)32 << 20)

typedef struct {
  FILE *out;
  uint64_t items, bytes;
} dumper;

/* Writes one section: the header for `p` (NULL: the default keyspace) and
 * every key and value of `b`. */
static int dump_section(dumper *d, thunder_txn *t, thunder_bucket *b, const bucket_path *p) {
  thunder_cursor *c = NULL;
  thunder_bytes k, v;
  fputs("VERSION=3\nformat=bytevalue\n", d->out);
  if (p != NULL) {
    fputs("database=", d->out);
    path_write(d->out, p);
    fputc('\n', d->out);
  }
  fputs("type=btree\nHEADER=END\n", d->out);
  thunder_status s = thunder_cursor_open(t, b, &c);
  if (s != THUNDER_OK) return fail(NULL, s);
  while ((s = thunder_cursor_next(c, &k, &v)) == THUNDER_OK) {
    fputc(' ', d->out);
    hex_write(d->out, k.data, k.len);
    fputs("\n ", d->out);
    hex_write(d->out, v.data, v.len);
    fputc('\n', d->out);
    d->items++;
    d->bytes += k.len + v.len;
    progress("dump", d->items, d->bytes);
  }
  thunder_cursor_close(c);
  if (s != THUNDER_NOT_FOUND) return fail(NULL, s);
  fputs("DATA=END\n", d->out);
  return ferror(d->out) ? finish_output(d->out, "the dump") : 0;
}

static int dump_bucket(void *ctx, thunder_txn *t, thunder_bucket *b, const bucket_path *p) {
  return dump_section(ctx, t, b, p);
}

int cmd_dump(int argc, char **argv) {
  cli_opts o;
  session s;
  int code = 0, at = parse_options(argc, argv, "bdow", &o, &code);
  if (at < 0) return code;
  if (argc - at != 1) return usage_error(argv[0], "expected DB");
  if (o.bucket != NULL && o.default_only) return usage_error(argv[0], "--bucket and --default-only exclude each other");
  if ((code = session_begin(argv[0], argv[at], OPEN_READ, false, &o, &s)) != 0) return code;
  dumper d = {stdout, 0, 0};
  if (o.output != NULL && (d.out = fopen(o.output, "w")) == NULL) {
    fprintf(stderr, "thunder: cannot write %s: %s\n", o.output, strerror(errno));
    return session_end(&s, false, EXIT_OS);
  }
  code = dump_section(&d, s.txn, s.bucket, o.bucket ? &s.path : NULL);
  if (code == 0 && !o.default_only) code = walk_buckets(s.txn, s.bucket, &s.path, dump_bucket, &d);
  progress_end();
  if (code == 0) code = finish_output(d.out, o.output ? o.output : "standard output");
  if (d.out != stdout && fclose(d.out) != 0 && code == 0) {
    fprintf(stderr, "thunder: writing %s: %s\n", o.output, strerror(errno));
    code = EXIT_OS;
  }
  return session_end(&s, false, code);
}

/* ---- load ---- */

typedef struct {
  FILE *in;
  const char *name;
  size_t line_no;
  char *line;
  size_t cap;
  size_t len;
  /* The database side: the open transaction and the section's bucket. */
  session s;
  bucket_path path; /* the section's bucket (empty: default keyspace) */
  bool print;       /* format=print */
  buf key, val;
  uint64_t items, bytes, batch;
} loader;

/* Reads the next line into l->line without its newline: 1, or 0 at the
 * end of the input, or -1 after a read error (reported). */
static int next_line(loader *l) {
  errno = 0;
  ssize_t n = getline(&l->line, &l->cap, l->in);
  if (n < 0) {
    if (ferror(l->in)) {
      fprintf(stderr, "thunder: reading %s: %s\n", l->name, strerror(errno));
      return -1;
    }
    return 0;
  }
  l->line_no++;
  l->len = (size_t)n;
  if (l->len > 0 && l->line[l->len - 1] == '\n') l->line[--l->len] = '\0';
  if (l->len > 0 && l->line[l->len - 1] == '\r') l->line[--l->len] = '\0';
  return 1;
}

static int bad_input(loader *l, const char *what) {
  fprintf(stderr, "thunder: load: %s, line %zu: %s\n", l->name, l->line_no, what);
  return EXIT_DATA;
}

/* Header keywords of mdb_dump that mean nothing to thunder. */
static const char *const IGNORED[] = {"mapsize", "maxreaders", "db_pagesize", "mapaddr", NULL};
/* Database flags thunder cannot honour when set. */
static const char *const REFUSED[] = {"duplicates", "dupsort", "dupfixed", "integerkey", "integerdup",
                                      "reversekey", "reversedup", NULL};

static bool listed(const char *const *list, const char *word) {
  for (; *list != NULL; list++)
    if (strcmp(*list, word) == 0) return true;
  return false;
}

/* Applies one `key=value` header line. */
static int header_line(loader *l, char *key, const char *value) {
  if (strcmp(key, "format") == 0) {
    l->print = strcmp(value, "print") == 0;
    return l->print || strcmp(value, "bytevalue") == 0 ? 0 : bad_input(l, "format must be bytevalue or print");
  }
  if (strcmp(key, "database") == 0) {
    /* A second one would nest under the first (path_parse appends). */
    if (l->path.len > 0) return bad_input(l, "a second database= line in one header");
    return path_parse(value, &l->path) ? 0 : bad_input(l, "bad bucket path in database=");
  }
  if (strcmp(key, "type") == 0) return strcmp(value, "btree") == 0 ? 0 : bad_input(l, "type must be btree");
  if (listed(REFUSED, key))
    return strcmp(value, "0") == 0 ? 0 : bad_input(l, "thunder keeps one value per key, in byte order: flag not supported");
  if (!listed(IGNORED, key))
    fprintf(stderr, "thunder: load: %s, line %zu: unknown header %s ignored\n", l->name, l->line_no, key);
  return 0;
}

/* Reads a section header; sets `*eof` at the end of the input instead. */
static int read_header(loader *l, bool *eof) {
  int r = next_line(l);
  *eof = r == 0;
  if (r <= 0) return r < 0 ? EXIT_OS : 0;
  if (strcmp(l->line, "VERSION=3") != 0) return bad_input(l, "expected VERSION=3 (the start of a section)");
  l->path.len = 0;
  l->print = false;
  while ((r = next_line(l)) == 1 && strcmp(l->line, "HEADER=END") != 0) {
    char *eq = strchr(l->line, '=');
    if (eq == NULL) return bad_input(l, "expected key=value or HEADER=END");
    *eq = '\0';
    int code = header_line(l, l->line, eq + 1);
    if (code != 0) return code;
  }
  return r < 0 ? EXIT_OS : r == 0 ? bad_input(l, "input ends inside a header") : 0;
}

/* Decodes the current line, a data line, into `out`. */
static int decode_line(loader *l, buf *out) {
  out->len = 0;
  if (l->line[0] != ' ') return bad_input(l, "expected a data line (one space, then the bytes) or DATA=END");
  bool ok = l->print ? print_decode(l->line + 1, l->len - 1, out) : hex_decode(l->line + 1, l->len - 1, out);
  return ok ? 0 : bad_input(l, l->print ? "bad escape" : "bad hex digits");
}

/* Commits the batch and begins the next transaction, reopening the bucket. */
static int next_batch(loader *l) {
  thunder_bucket_close(l->s.bucket);
  l->s.bucket = NULL;
  thunder_status s = thunder_txn_commit(l->s.txn);
  l->s.txn = NULL;
  if (s == THUNDER_OK) s = thunder_txn_begin(l->s.db, THUNDER_TXN_WRITE, &l->s.txn);
  if (s != THUNDER_OK) return fail(NULL, s);
  l->batch = 0;
  return open_bucket_path(l->s.txn, &l->path, true, &l->s.bucket);
}

static thunder_status put_with(loader *l, uint32_t flags) {
  const buf *k = &l->key, *v = &l->val;
  return l->s.bucket ? thunder_bucket_put(l->s.bucket, k->data, k->len, v->data, v->len, flags)
                     : thunder_put(l->s.txn, k->data, k->len, v->data, v->len, flags);
}

/* Puts one pair, appending when it sorts after the last key (dumps are
 * sorted, so a load into an empty keyspace fills pages densely). */
static int put_pair(loader *l) {
  thunder_status s = put_with(l, THUNDER_PUT_APPEND);
  if (s == THUNDER_INVALID_ARGUMENT) s = put_with(l, 0); /* not after the last key */
  if (s != THUNDER_OK) {
    char what[64];
    snprintf(what, sizeof what, "load: line %zu", l->line_no);
    return fail(what, s);
  }
  l->items++;
  l->bytes += l->key.len + l->val.len;
  l->batch += l->key.len + l->val.len;
  progress("load", l->items, l->bytes);
  return l->batch >= LOAD_BATCH ? next_batch(l) : 0;
}

/* Reads the next line of a section: `*end` at DATA=END, else decodes it
 * into `out`. */
static int section_line(loader *l, buf *out, bool *end) {
  int r = next_line(l);
  if (r < 0) return EXIT_OS;
  if (r == 0) return bad_input(l, "input ends inside a section (no DATA=END)");
  *end = strcmp(l->line, "DATA=END") == 0;
  return *end ? 0 : decode_line(l, out);
}

/* Loads the pairs of one section into its bucket, created if missing. */
static int load_section(loader *l) {
  bool end = false;
  int code = open_bucket_path(l->s.txn, &l->path, true, &l->s.bucket);
  while (code == 0 && !end) {
    code = section_line(l, &l->key, &end);
    if (code != 0 || end) break;
    code = section_line(l, &l->val, &end);
    if (code == 0) code = end ? bad_input(l, "a key without a value") : put_pair(l);
  }
  thunder_bucket_close(l->s.bucket);
  l->s.bucket = NULL;
  return code;
}

int cmd_load(int argc, char **argv) {
  cli_opts o;
  loader l = {.in = stdin, .name = "standard input"};
  bool eof = false;
  int code = 0, at = parse_options(argc, argv, "fPw", &o, &code);
  if (at < 0) return code;
  if (argc - at != 1) return usage_error(argv[0], "expected DB");
  if (o.input != NULL && (l.in = fopen(o.input, "r")) == NULL) {
    fprintf(stderr, "thunder: cannot read %s: %s\n", o.input, strerror(errno));
    return EXIT_OS;
  }
  if (o.input != NULL) l.name = o.input;
  code = session_begin(argv[0], argv[at], OPEN_CREATE, false, &o, &l.s);
  while (code == 0 && (code = read_header(&l, &eof)) == 0 && !eof) code = load_section(&l);
  progress_end();
  code = session_end(&l.s, true, code);
  if (l.in != stdin) fclose(l.in);
  free(l.line);
  path_free(&l.path);
  buf_free(&l.key);
  buf_free(&l.val);
  return code;
}
