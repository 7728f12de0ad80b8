/* io_probe BACKEND DIR: can a database in DIR be opened with BACKEND
 * ("sync", "uring" or "direct")? make check asks before it runs a
 * backend's suites. Exit 0: yes. Exit 2: THUNDER_UNSUPPORTED here, and the
 * reason on stdout (the suite is skipped, saying so). Exit 1: anything else
 * (the check fails). */
#include <stdio.h>
#include <string.h>

#include "thunder.h"

int main(int argc, char **argv) {
  const char *names[] = {"sync", "uring", "direct"};
  const thunder_io_backend kinds[] = {THUNDER_IO_SYNC, THUNDER_IO_URING, THUNDER_IO_DIRECT};
  int k = -1;
  for (int i = 0; argc == 3 && i < 3; i++)
    if (strcmp(argv[1], names[i]) == 0) k = i;
  if (k < 0) {
    fprintf(stderr, "usage: io_probe sync|uring|direct DIR\n");
    return 1;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/io_probe-%s.db", argv[2], names[k]);
  remove(path);
  thunder_options *o = NULL;
  thunder_db *db = NULL;
  thunder_status s = thunder_options_new(&o);
  if (s == THUNDER_OK) s = thunder_options_set_io_backend(o, kinds[k]);
  if (s == THUNDER_OK) s = thunder_open(path, o, &db);
  thunder_options_free(o);
  if (s == THUNDER_UNSUPPORTED) {
    printf("%s\n", thunder_last_error());
    return 2;
  }
  if (s != THUNDER_OK || strcmp(thunder_io_backend_name(db), names[k]) != 0) {
    printf("io_probe %s: %s (%s)\n", names[k], thunder_strerror(s), thunder_last_error());
    return 1;
  }
  s = thunder_close(db);
  remove(path);
  return s == THUNDER_OK ? 0 : 1;
}
