/* thunder: the command-line tool of the thunder key-value store.
 *
 *   thunder COMMAND [OPTIONS] DB [OPERANDS]
 *
 * Every command opens the database itself through include/thunder.h: read
 * commands read-only, put/del/load read-write. Exit status: 0, or the
 * thunder_status of the call that failed, or 64/65/74 (see cli.h and
 * EXIT STATUS in docs/thunder.1). */
#include <ctype.h>
#include <string.h>

#include "cli.h"

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *operands; /* after the options */
  const char *options;  /* the letters it accepts (see common.c) */
  const char *summary;
  const char *details;
} command;

static const command COMMANDS[] = {
    {"stat", cmd_stat, "DB", "w", "print statistics of the database",
     "One 'name: value' line each: page size and counts, file size, last\n"
     "transaction id, keys in the default keyspace, buckets, tree depth, the\n"
     "longest key, write-ahead log size and checkpoint position.\n"},
    {"check", cmd_check, "DB", "w", "verify every page of the database",
     "Runs thunder_check(): checksums, page layout, key order, counts, and that\n"
     "every page is used or free exactly once. Prints 'DB: ok', or the first\n"
     "problem and exits 22 (THUNDER_CORRUPTED).\n"},
    {"get", cmd_get, "DB KEY", "bxRw", "print the value of KEY",
     "Writes the value followed by a newline (none with --raw); exits 1\n"
     "(THUNDER_NOT_FOUND) when KEY is absent.\n"},
    {"put", cmd_put, "DB KEY [VALUE]", "bxiw", "store VALUE under KEY",
     "Replaces any value KEY had. Creates DB when it is missing and, with\n"
     "--bucket, missing buckets on the path. With --stdin the value is\n"
     "standard input, any bytes.\n"},
    {"del", cmd_del, "DB KEY", "bxw", "delete KEY", "Exits 1 (THUNDER_NOT_FOUND) when KEY is absent.\n"},
    {"keys", cmd_keys, "DB", "bxpw", "list the keys, in order",
     "One key per line; bytes outside printable ASCII, and '\\', as \\xx\n"
     "(with --hex, every key in hex).\n"},
    {"buckets", cmd_buckets, "DB", "brw", "list the buckets",
     "The child buckets of the top level (or of --bucket), one path per line in\n"
     "the syntax --bucket takes; with --recursive every bucket below.\n"},
    {"dump", cmd_dump, "DB", "bdow", "write the database as text (mdb_dump format)",
     "Sections for the default keyspace and every bucket (parents first), in\n"
     "the format of LMDB's mdb_dump with format=bytevalue; a bucket's section\n"
     "names it with database=PATH. With --bucket, that bucket and those below\n"
     "it; with --default-only, the default keyspace alone, which LMDB's mdb_load\n"
     "reads as its main database. A dump is sorted: two dumps of the same data\n"
     "are identical.\n"},
    {"load", cmd_load, "DB", "fPw", "read text in the mdb_dump format into the database",
     "Creates DB if missing, and the buckets the sections name. Takes\n"
     "format=bytevalue and format=print (what mdb_dump writes by default).\n"
     "Existing keys are overwritten. Commits every 32 MiB: after a failure the\n"
     "sections before it may be in DB.\n"},
    {"backup", cmd_backup, "DB DEST", "w", "write a consistent copy of the database to DEST",
     "thunder_backup(): the newest committed state, copied page by page to the\n"
     "new file DEST (never overwritten), which is then checked.\n"},
    {"compact", cmd_compact, "DB DEST", "w", "write a compacted copy of the database to DEST",
     "thunder_compact(): the newest committed state rebuilt with full pages and\n"
     "no free space in the new file DEST (never overwritten), which is then\n"
     "checked. DB itself is not changed: replace it with DEST when no program\n"
     "has it open.\n"},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static const char EXIT_STATUS[] =
    "Exit status:\n"
    "  0      success\n"
    "  1-99   the thunder_status of the call that failed, among them 1 NOT_FOUND\n"
    "         (key or database file), 3 BUCKET_NOT_FOUND, 10 INVALID_ARGUMENT,\n"
    "         13 READ_ONLY, 16 LOCKED, 20 IO, 21 NO_SPACE, 22 CORRUPTED,\n"
    "         23 INCOMPATIBLE (see thunder.h)\n"
    "  64     bad command line\n"
    "  65     malformed input to load\n"
    "  74     a file other than the database could not be read or written\n";

static const char BUCKET_PATHS[] =
    "Bucket paths: bucket names joined by '/', outermost first (a/b/c). In a\n"
    "name, '/', '\\' and bytes outside printable ASCII are written \\xx (two hex\n"
    "digits): the bucket \"x/y\" inside \"a\" is a/x\\2fy.\n";

static const command *find(const char *name) {
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp(COMMANDS[i].name, name) == 0) return &COMMANDS[i];
  return NULL;
}

void command_help(FILE *f, const char *name) {
  const command *c = find(name);
  if (c == NULL) return;
  fprintf(f, "Usage: thunder %s [OPTIONS] %s\n\n%c%s.\n%s\nOptions:\n", c->name, c->operands,
          toupper((unsigned char)c->summary[0]), c->summary + 1, c->details);
  options_help(f, c->options);
  fprintf(f, "\n%s%s%s", strchr(c->options, 'b') ? BUCKET_PATHS : "", strchr(c->options, 'b') ? "\n" : "",
          EXIT_STATUS);
}

static int main_help(FILE *f) {
  fprintf(f, "Usage: thunder COMMAND [OPTIONS] DB [OPERANDS]\n\n"
             "The command-line tool of thunder, an embedded transactional key-value store.\n\n"
             "Commands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++) {
    char left[40];
    snprintf(left, sizeof left, "%s %s", COMMANDS[i].name, COMMANDS[i].operands);
    fprintf(f, "  %-22s %s\n", left, COMMANDS[i].summary);
  }
  fprintf(f, "\nRead commands open DB read-only; put, del and load open it read-write (put\n"
             "and load create it). A database another process has open read-write is\n"
             "reported as locked (exit 16) at once, or after --wait MS.\n\n%s\n%s\n"
             "'thunder COMMAND --help' shows a command's options; 'man thunder' says more.\n",
          BUCKET_PATHS, EXIT_STATUS);
  return finish_output(f, "standard output");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    main_help(stderr);
    return EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) return main_help(stdout);
  if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
    printf("thunder %s\n", thunder_version());
    return finish_output(stdout, "standard output");
  }
  if (strcmp(name, "help") == 0) {
    if (argc < 3) return main_help(stdout);
    if (find(argv[2]) == NULL) {
      fprintf(stderr, "thunder: unknown command '%s'\nTry 'thunder --help'.\n", argv[2]);
      return EXIT_USAGE;
    }
    command_help(stdout, argv[2]);
    return finish_output(stdout, "standard output");
  }
  const command *c = find(name);
  if (c == NULL) {
    fprintf(stderr, "thunder: unknown command '%s'\nTry 'thunder --help'.\n", name);
    return EXIT_USAGE;
  }
  return c->run(argc - 1, argv + 1);
}
