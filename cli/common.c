/* What the commands share: options, opening a database, error reports,
 * bucket paths, the bucket walk, progress. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Every option of every command; a command accepts the letters it names. */
static const struct {
  struct option opt;
  const char *arg, *help;
} OPTIONS[] = {
    {{"bucket", required_argument, NULL, 'b'}, "PATH", "in bucket PATH (a/b/c), not the default keyspace"},
    {{"hex", no_argument, NULL, 'x'}, NULL, "keys and values as hex digits, in and out"},
    {{"prefix", required_argument, NULL, 'p'}, "PREFIX", "only keys that start with PREFIX"},
    {{"recursive", no_argument, NULL, 'r'}, NULL, "every bucket below, by full path"},
    {{"raw", no_argument, NULL, 'R'}, NULL, "the value's bytes exactly, no newline"},
    {{"stdin", no_argument, NULL, 'i'}, NULL, "the value is standard input (any bytes)"},
    {{"output", required_argument, NULL, 'o'}, "FILE", "write to FILE, not standard output"},
    {{"file", required_argument, NULL, 'f'}, "FILE", "read FILE, not standard input"},
    {{"default-only", no_argument, NULL, 'd'}, NULL, "only the default keyspace (for LMDB)"},
    {{"page-size", required_argument, NULL, 'P'}, "BYTES", "page size of a new database"},
    {{"wait", required_argument, NULL, 'w'}, "MS", "wait MS ms for a lock (default 0)"},
    {{"help", no_argument, NULL, 'h'}, NULL, "show this help"},
};
#define N_OPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

static bool parse_u32(const char *s, uint32_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v > UINT32_MAX || s[0] == '-') return false;
  *out = (uint32_t)v;
  return true;
}

/* Stores option `c`'s value; false on a bad number. */
static bool set_option(int c, const char *arg, cli_opts *o) {
  switch (c) {
    case 'b': o->bucket = arg; return true;
    case 'x': o->hex = true; return true;
    case 'p': o->prefix = arg; return true;
    case 'r': o->recursive = true; return true;
    case 'R': o->raw = true; return true;
    case 'i': o->stdin_value = true; return true;
    case 'o': o->output = arg; return true;
    case 'f': o->input = arg; return true;
    case 'd': o->default_only = true; return true;
    case 'P': return parse_u32(arg, &o->page_size);
    case 'w': return parse_u32(arg, &o->wait_ms);
    default: return false;
  }
}

int parse_options(int argc, char **argv, const char *allowed, cli_opts *o, int *exit_code) {
  struct option longs[N_OPTIONS + 1];
  char shorts[2 * N_OPTIONS + 1] = "";
  size_t n = 0;
  for (size_t i = 0; i < N_OPTIONS; i++) {
    int c = OPTIONS[i].opt.val;
    if (c != 'h' && strchr(allowed, c) == NULL) continue;
    longs[n++] = OPTIONS[i].opt;
    size_t at = strlen(shorts);
    shorts[at++] = (char)c;
    if (OPTIONS[i].opt.has_arg == required_argument) shorts[at++] = ':';
    shorts[at] = '\0';
  }
  longs[n] = (struct option){0};
  *o = (cli_opts){0};
  opterr = 1;
  int c;
  while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
    if (c == 'h') {
      command_help(stdout, argv[0]);
      *exit_code = finish_output(stdout, "standard output");
      return -1;
    }
    if (c == '?' || !set_option(c, optarg, o)) {
      if (c != '?') fprintf(stderr, "%s: bad number for -%c: %s\n", argv[0], c, optarg);
      fprintf(stderr, "Try 'thunder %s --help'.\n", argv[0]);
      *exit_code = EXIT_USAGE;
      return -1;
    }
  }
  return optind;
}

void options_help(FILE *f, const char *allowed) {
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const struct option *opt = &OPTIONS[i].opt;
    if (opt->val != 'h' && strchr(allowed, opt->val) == NULL) continue;
    char left[64];
    snprintf(left, sizeof left, "-%c, --%s%s%s", opt->val, opt->name, OPTIONS[i].arg ? " " : "",
             OPTIONS[i].arg ? OPTIONS[i].arg : "");
    fprintf(f, "  %-24s %s\n", left, OPTIONS[i].help);
  }
}

int fail(const char *context, thunder_status s) {
  fprintf(stderr, "thunder: %s%s%s\n", context ? context : "", context ? ": " : "", thunder_last_error());
  return (int)s;
}

int usage_error(const char *cmd, const char *msg) {
  fprintf(stderr, "thunder %s: %s\nTry 'thunder %s --help'.\n", cmd, msg, cmd);
  return EXIT_USAGE;
}

/* The options an open in `mode` takes. */
static thunder_status make_options(open_mode mode, const cli_opts *o, thunder_options **out) {
  thunder_options *opts = NULL;
  thunder_status s = thunder_options_new(&opts);
  if (s == THUNDER_OK) s = thunder_options_set_lock_timeout_ms(opts, o->wait_ms);
  if (s == THUNDER_OK) s = thunder_options_set_read_only(opts, mode == OPEN_READ);
  if (s == THUNDER_OK) s = thunder_options_set_create(opts, mode == OPEN_CREATE);
  if (s == THUNDER_OK && mode == OPEN_CREATE && o->page_size != 0)
    s = thunder_options_set_page_size(opts, o->page_size);
  if (s != THUNDER_OK) {
    thunder_options_free(opts);
    return s;
  }
  *out = opts;
  return THUNDER_OK;
}

int open_db(const char *path, open_mode mode, const cli_opts *o, thunder_db **out) {
  thunder_options *opts = NULL;
  thunder_status s = make_options(mode, o, &opts);
  if (s != THUNDER_OK) return fail(NULL, s);
  s = thunder_open(path, opts, out);
  thunder_options_free(opts);
  if (s == THUNDER_LOCKED) {
    fprintf(stderr,
            "thunder: %s is locked (THUNDER_LOCKED): another process has it open%s.\n"
            "  A database open read-write excludes every other open; read-only opens exclude\n"
            "  read-write ones. Stop that process (or close the database in it) and retry,\n"
            "  or wait for it with --wait MS. A program that keeps it open can copy it\n"
            "  while running with thunder_backup().\n",
            path, mode == OPEN_READ ? " read-write" : "");
    return (int)s;
  }
  if (s != THUNDER_OK) return fail(NULL, s);
  return 0;
}

int close_db(thunder_db *db, int code) {
  thunder_status s = thunder_close(db);
  if (s != THUNDER_OK) {
    int c = fail(NULL, s);
    return code ? code : c;
  }
  return code;
}

int open_bucket_path(thunder_txn *t, const bucket_path *p, bool create, thunder_bucket **out) {
  thunder_bucket *b = NULL;
  for (size_t i = 0; i < p->len; i++) {
    thunder_bucket *child = NULL;
    const buf *n = &p->names[i];
    thunder_status s = create ? thunder_bucket_create_if_missing(t, b, n->data, n->len, &child)
                              : thunder_bucket_open(t, b, n->data, n->len, &child);
    thunder_bucket_close(b);
    if (s != THUNDER_OK) {
      fprintf(stderr, "thunder: bucket ");
      path_write(stderr, p);
      fprintf(stderr, ": %s\n", thunder_last_error());
      return (int)s;
    }
    b = child;
  }
  *out = b;
  return 0;
}

int bucket_option(const char *cmd, const cli_opts *o, bucket_path *p) {
  if (o->bucket != NULL && !path_parse(o->bucket, p))
    return usage_error(cmd, "bad bucket path (names joined by '/', none empty; escapes are \\xx)");
  return 0;
}

int session_begin(const char *cmd, const char *db_path, open_mode mode, bool create_buckets, const cli_opts *o,
                  session *s) {
  *s = (session){0};
  int rc = bucket_option(cmd, o, &s->path);
  if (rc == 0) rc = open_db(db_path, mode, o, &s->db);
  if (rc != 0) {
    path_free(&s->path);
    return rc;
  }
  thunder_status st = thunder_txn_begin(s->db, mode == OPEN_READ ? THUNDER_TXN_READ : THUNDER_TXN_WRITE, &s->txn);
  rc = st == THUNDER_OK ? 0 : fail(NULL, st);
  if (rc == 0) rc = open_bucket_path(s->txn, &s->path, create_buckets, &s->bucket);
  return rc == 0 ? 0 : session_end(s, false, rc);
}

int session_end(session *s, bool commit, int code) {
  thunder_bucket_close(s->bucket);
  if (s->txn != NULL && code == 0 && commit) {
    thunder_status st = thunder_txn_commit(s->txn);
    if (st != THUNDER_OK) code = fail(NULL, st);
  } else {
    thunder_txn_abort(s->txn);
  }
  if (s->db != NULL) code = close_db(s->db, code);
  path_free(&s->path);
  *s = (session){0};
  return code;
}

/* One level of the bucket walk: a bucket and the cursor over its children. */
typedef struct {
  thunder_bucket *bucket;
  thunder_cursor *names;
} level;

static int push_level(thunder_txn *t, thunder_bucket *b, level **levels, size_t *n) {
  level *l = realloc(*levels, (*n + 1) * sizeof **levels);
  if (l == NULL) {
    fprintf(stderr, "thunder: out of memory\n");
    return THUNDER_NO_MEMORY;
  }
  *levels = l;
  l[*n] = (level){b, NULL};
  (*n)++;
  thunder_status s = thunder_bucket_cursor_open(t, b, &l[*n - 1].names);
  return s == THUNDER_OK ? 0 : fail(NULL, s);
}

/* Moves the walk one step: into the next child of the deepest level, or
 * out of that level when it has none left. */
static int walk_step(thunder_txn *t, level **levels, size_t *n, bucket_path *p, bucket_visitor visit,
                     void *ctx) {
  level *top = &(*levels)[*n - 1];
  thunder_bytes name;
  thunder_status s = thunder_cursor_next(top->names, &name, NULL);
  if (s == THUNDER_NOT_FOUND) {
    thunder_cursor_close(top->names);
    if (*n > 1) thunder_bucket_close(top->bucket);
    (*n)--;
    if (*n > 0) path_pop(p);
    return 0;
  }
  if (s != THUNDER_OK) return fail(NULL, s);
  thunder_bucket *child = NULL;
  s = thunder_bucket_open(t, top->bucket, name.data, name.len, &child);
  if (s != THUNDER_OK) return fail(NULL, s);
  path_push(p, name.data, name.len);
  int rc = visit(ctx, t, child, p);
  if (rc == 0) return push_level(t, child, levels, n);
  thunder_bucket_close(child);
  path_pop(p);
  return rc == WALK_SKIP ? 0 : rc;
}

int walk_buckets(thunder_txn *t, thunder_bucket *start, bucket_path *prefix, bucket_visitor visit, void *ctx) {
  level *levels = NULL;
  size_t n = 0, depth = prefix->len;
  int rc = push_level(t, start, &levels, &n);
  while (rc == 0 && n > 0) rc = walk_step(t, &levels, &n, prefix, visit, ctx);
  for (size_t i = n; i > 0; i--) {
    thunder_cursor_close(levels[i - 1].names);
    if (i > 1) thunder_bucket_close(levels[i - 1].bucket);
  }
  free(levels);
  prefix->len = depth;
  return rc;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double last_progress;
static bool progress_shown;

void progress(const char *verb, uint64_t items, uint64_t bytes) {
  double now = now_s();
  if (last_progress == 0) last_progress = now; /* nothing for quick runs */
  if (now - last_progress < 0.25 || !isatty(STDERR_FILENO)) return;
  last_progress = now;
  progress_shown = true;
  fprintf(stderr, "\r%s: %llu items, %.1f MiB\033[K", verb, (unsigned long long)items, (double)bytes / 1048576.0);
}

void progress_note(const char *verb, const char *what) {
  if (!isatty(STDERR_FILENO)) return;
  progress_shown = true;
  fprintf(stderr, "\r%s: %s...\033[K", verb, what);
}

void progress_end(void) {
  if (progress_shown) fprintf(stderr, "\r\033[K");
  progress_shown = false;
}

int finish_output(FILE *f, const char *name) {
  if (fflush(f) != 0 || ferror(f)) {
    fprintf(stderr, "thunder: writing %s: %s\n", name, strerror(errno));
    return EXIT_OS;
  }
  return 0;
}
