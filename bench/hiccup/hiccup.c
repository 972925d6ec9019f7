/* How late this machine wakes a thread that sleeps 1 ms: a host's own scheduling hiccups, apart from the daemon.
 * Sleeps 1 ms at a time for SECONDS and counts the wake-ups that came more than 0.5, 1, 2, 5 and 10 ms late.
 *   gcc -O2 -o /tmp/hiccup bench/hiccup/hiccup.c && /tmp/hiccup 20
 * (docs/performance.md, issue 18's twelfth step: the p99 at 50,000 calls a second against what the host adds). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 20;
    const double limits[] = {0.5, 1, 2, 5, 10};
    long late[5] = {0}, wakes = 0;
    double worst = 0, end = now_ms() + seconds * 1e3;
    struct timespec one_ms = {0, 1000000};
    while (now_ms() < end) {
        double before = now_ms();
        nanosleep(&one_ms, NULL);
        double lateness = now_ms() - before - 1.0;
        wakes++;
        if (lateness > worst)
            worst = lateness;
        for (int i = 0; i < 5; i++)
            if (lateness > limits[i])
                late[i]++;
    }
    printf("wake-ups %ld  late > 0.5 ms %ld  > 1 ms %ld  > 2 ms %ld  > 5 ms %ld  > 10 ms %ld  worst %.2f ms\n",
           wakes, late[0], late[1], late[2], late[3], late[4], worst);
    return 0;
}
