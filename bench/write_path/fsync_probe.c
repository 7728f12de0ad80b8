/* fsync_probe.c: the disk's durable-write latency right now: 100 appends of
 * 4 KiB to a fresh file, each followed by fdatasync; prints the median in
 * microseconds. run.sh runs it before each workload group to show how the
 * shared VM's fsync latency moved during the benchmark.
 *   usage: fsync_probe DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N 100

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    char path[4096], buf[4096];
    snprintf(path, sizeof path, "%s/probe", argv[1]);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0) return perror("open"), 1;
    memset(buf, 0xa5, sizeof buf);
    double us[N];
    for (int i = 0; i < N; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (pwrite(fd, buf, sizeof buf, (off_t)i * 4096) != (ssize_t)sizeof buf || fdatasync(fd) != 0)
            return perror("pwrite/fdatasync"), 1;
        clock_gettime(CLOCK_MONOTONIC, &b);
        us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
    }
    close(fd);
    unlink(path);
    qsort(us, N, sizeof us[0], cmp);
    printf("PROBE %.0f\n", us[N / 2]);
    return 0;
}
