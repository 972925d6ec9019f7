/* What one journal flush costs this machine's CPU, apart from the daemon (issue 18, docs/performance.md).
 *
 *   gcc -O2 -o /tmp/flushcost bench/flushcost/flushcost.c
 *   /tmp/flushcost MODE COUNT [GAP_US] [FILE]
 *
 * Prepares a 64 MiB file of zeros (as the daemon prepares a journal file), then appends COUNT records of 600 bytes,
 * each made durable, sleeping GAP_US microseconds between them (0: back to back; 3500: about the daemon's flush rate
 * at 1,000 calls a second). Prints CPU (user + system) and wall time per record. MODE:
 *   0  buffered pwrite + fsync           (what the daemon does: RandomAccess.Write + FlushToDisk)
 *   1  buffered pwrite + fdatasync
 *   2  O_DIRECT pwrite of the 4 KiB blocks holding the record + fdatasync
 *   3  O_DIRECT | O_DSYNC pwrite of those blocks
 *   4  O_DSYNC buffered pwrite
 *   5  no write: the sleep and wake alone
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double cpu(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODE COUNT [GAP_US] [FILE]\n", argv[0]);
        return 2;
    }
    int mode = atoi(argv[1]), count = atoi(argv[2]), gap = argc > 3 ? atoi(argv[3]) : 0;
    const char *path = argc > 4 ? argv[4] : "flushcost.dat";
    const size_t record = 600, size = 64 << 20;
    if (mode < 0 || mode > 5 || count <= 0 || (size_t)count * record > size - 8192) {
        fprintf(stderr, "MODE 0-5, COUNT 1-%zu\n", (size - 8192) / record);
        return 2;
    }

    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    char *zeros = calloc(1, 1 << 20);
    for (size_t o = 0; fd >= 0 && o < size; o += 1 << 20)
        if (pwrite(fd, zeros, 1 << 20, o) != 1 << 20) { perror("prepare"); return 1; }
    if (fd < 0 || fsync(fd) != 0) { perror(path); return 1; }
    close(fd);

    int flags = O_WRONLY | (mode == 2 || mode == 3 ? O_DIRECT : 0) | (mode == 3 || mode == 4 ? O_DSYNC : 0);
    fd = open(path, flags);
    if (fd < 0) { perror("open"); return 1; }
    char *buf;
    if (posix_memalign((void **)&buf, 4096, 8192) != 0) return 1;
    memset(buf, 'x', 8192);

    double c0 = cpu(), t0 = now();
    off_t length = 0;
    for (int i = 0; i < count; i++) {
        if (gap > 0) {
            struct timespec g = { gap / 1000000, (gap % 1000000) * 1000L };
            nanosleep(&g, NULL);
        }
        ssize_t written = (ssize_t)record;
        if (mode == 2 || mode == 3) {
            off_t start = length & ~4095L, end = (length + record + 4095) & ~4095L;
            written = pwrite(fd, buf, end - start, start) == end - start ? (ssize_t)record : -1;
        } else if (mode != 5) {
            written = pwrite(fd, buf, record, length);
        }
        if (written != (ssize_t)record) { perror("pwrite"); return 1; }
        if ((mode == 0 && fsync(fd) != 0) || ((mode == 1 || mode == 2) && fdatasync(fd) != 0)) { perror("sync"); return 1; }
        length += record;
    }
    double c1 = cpu(), t1 = now();
    printf("mode %d, gap %d us: CPU %.1f us a record, wall %.1f us\n", mode, gap, (c1 - c0) / count * 1e6, (t1 - t0) / count * 1e6);
    close(fd);
    unlink(path);
    return 0;
}
