/* The thunder command-line tool: what its files share. It is written on
 * include/thunder.h alone (no engine internals), which is also the proof
 * that the C API is enough for these tools.
 *
 *   thunder.c  main, the command table, --help, exit statuses, options
 *   common.c   opening a database, error reports, progress, bucket paths
 *   text.c     byte buffers, hex, escaped text, bucket path syntax
 *   kv.c       stat, check, get, put, del, keys, buckets, backup, compact
 *   dump.c     dump and load (the mdb_dump text format) */
#ifndef THUNDER_CLI_H
#define THUNDER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "thunder.h"

/* Exit statuses besides the thunder_status values (0 to 99), which the tool
 * exits with when a library call fails. */
#define EXIT_USAGE 64 /* bad command line */
#define EXIT_DATA 65  /* malformed dump given to load */
#define EXIT_OS 74    /* reading or writing a file other than the database */

/* ---- text.c ---- */

/* A growable byte buffer. */
typedef struct {
  uint8_t *data;
  size_t len, cap;
} buf;

void buf_reserve(buf *b, size_t n);
void buf_push(buf *b, const void *p, size_t n);
void buf_free(buf *b);

/* Appends the bytes hex digits `s[0..n)` spell (even count, any case). */
bool hex_decode(const char *s, size_t n, buf *out);
void hex_write(FILE *f, const uint8_t *p, size_t n);
/* Appends the bytes of mdb_dump's print format: `\\` is a backslash, `\xx`
 * a byte in hex, anything else itself. */
bool print_decode(const char *s, size_t n, buf *out);
/* Writes bytes as text: printable ASCII as is except `\` and the bytes in
 * `also`, which (with every other byte) become `\xx`. */
void escaped_write(FILE *f, const uint8_t *p, size_t n, const char *also);

/* A bucket path: names, outermost first. In text, names are joined by '/';
 * a '/', a '\' and any byte outside printable ASCII are written `\xx`. */
typedef struct {
  buf *names;
  size_t len, cap;
} bucket_path;

bool path_parse(const char *text, bucket_path *out);
void path_push(bucket_path *p, const uint8_t *name, size_t n);
void path_pop(bucket_path *p);
void path_write(FILE *f, const bucket_path *p);
void path_free(bucket_path *p);

/* ---- common.c ---- */

typedef struct {
  const char *bucket;  /* -b: bucket path text, NULL for the default keyspace */
  bool hex;            /* -x: keys and values in hex */
  const char *prefix;  /* -p */
  bool recursive;      /* -r */
  bool raw;            /* -R */
  bool stdin_value;    /* -i */
  const char *output;  /* -o */
  const char *input;   /* -f */
  bool default_only;   /* -d */
  uint32_t page_size;  /* -P, 0: the library's default */
  uint32_t wait_ms;    /* -w */
} cli_opts;

typedef enum { OPEN_READ, OPEN_WRITE, OPEN_CREATE } open_mode;

/* Parses the options a command accepts (`allowed`: their short letters);
 * returns the index in argv of the first operand, or -1 after printing
 * help (exit 0) or a usage error (exit EXIT_USAGE): see `*exit_code`. */
int parse_options(int argc, char **argv, const char *allowed, cli_opts *o, int *exit_code);
/* Writes the option lines of `allowed` for a command's --help. */
void options_help(FILE *f, const char *allowed);

/* Reports a failed call by thunder_last_error() (after `context`, unless
 * NULL) and returns the exit status for `s`: its value. */
int fail(const char *context, thunder_status s);
/* Reports a usage problem of `cmd` and returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *msg);

/* Opens `path`; on failure reports it (THUNDER_LOCKED with what to do)
 * and returns the exit status, else 0. */
int open_db(const char *path, open_mode mode, const cli_opts *o, thunder_db **out);
/* Closes `db`, reporting a failure; returns `code` or the close's status. */
int close_db(thunder_db *db, int code);

/* Opens the bucket at `p` in `t` (NULL for an empty path), creating
 * missing ones when `create`. Returns 0 or the status, reported. */
int open_bucket_path(thunder_txn *t, const bucket_path *p, bool create, thunder_bucket **out);
/* Parses `o->bucket` into `p` (empty without -b); 0 or EXIT_USAGE, reported. */
int bucket_option(const char *cmd, const cli_opts *o, bucket_path *p);

/* An open database, a transaction, and the bucket -b names in it (NULL:
 * the default keyspace). */
typedef struct {
  thunder_db *db;
  thunder_txn *txn;
  thunder_bucket *bucket;
  bucket_path path;
} session;

/* Opens `db_path` in `mode`, begins a transaction (a write one unless
 * OPEN_READ) and opens the -b bucket (creating missing buckets when
 * `create_buckets`). 0 or the exit status, reported; on failure nothing
 * is left open. */
int session_begin(const char *cmd, const char *db_path, open_mode mode, bool create_buckets, const cli_opts *o,
                  session *s);
/* Commits (when `code` is 0 and `commit`) or aborts, and closes
 * everything; returns `code`, or the status of a failed commit or close. */
int session_end(session *s, bool commit, int code);

/* Calls `visit` for every bucket below `start` (NULL: top level), parents
 * before children, with its full path (`prefix` plus the names below
 * `start`). A visit returning WALK_SKIP skips that bucket's children; any
 * other non-zero return stops the walk and is returned. Iterative: any
 * nesting depth. */
#define WALK_SKIP (-1)
typedef int (*bucket_visitor)(void *ctx, thunder_txn *t, thunder_bucket *b, const bucket_path *p);
int walk_buckets(thunder_txn *t, thunder_bucket *start, bucket_path *prefix, bucket_visitor visit, void *ctx);

/* A progress line on stderr, only when stderr is a terminal, at most a few
 * times a second; progress_note shows `verb: what...` once; progress_end
 * clears the line. */
void progress(const char *verb, uint64_t items, uint64_t bytes);
void progress_note(const char *verb, const char *what);
void progress_end(void);
/* Flushes stdout (or `f`) and reports a write error: 0 or EXIT_OS. */
int finish_output(FILE *f, const char *name);

/* ---- commands ---- */

int cmd_stat(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_del(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_buckets(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_load(int argc, char **argv);

/* The --help text of command `name` (thunder.c). */
void command_help(FILE *f, const char *name);

#endif
