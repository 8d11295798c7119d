/*
 * Shared by the benchmark clients: the one popup every client sends, the
 * keys, the clock, and the line protocol the driver (benches/compare.rs)
 * speaks on stdin/stdout.
 *
 * Every client is started as `<client> <mode> <base-url> [args]`. In mode
 * `serve` it sets up once and then answers driver commands, one per line:
 *   run N   ->  "ok <ns> <ns> ... <ns>"  (N request latencies, nanoseconds)
 *   quit    ->  exits
 * so the driver can alternate clients round by round on warm connections.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The emulator's default keys (lsq_emulator::DEFAULT_*): realistic lengths, and a '$' that needs encoding. */
#define ACCESS_KEY "u$r0123456789abcdef0123456789abcdef"
#define SECRET_KEY "0123456789abcdef0123456789abcdef01234567"
#define ACCESS_KEY_ENCODED "u%24r0123456789abcdef0123456789abcdef"
#define API_PATH "/v2/Telephony.svc/ShowAgentPopup"
#define QUERY "?accessKey=" ACCESS_KEY_ENCODED "&secretKey=" SECRET_KEY
#define USER_AGENT "liblsq/0.1.0"

/* The popup of LeadSquared's API page, as liblsq serialises it. */
#define P_SOURCE "+91-8611795988"
#define P_DESTINATION "+91-8971373363"
#define P_DISPLAY "+91-8611795989"
#define P_CALL "12345"
#define P_LEAD "f5c7e023-653c-11e7-b25c-023cca4497b9"
#define P_TAG "Tag - Lead"
#define P_USER "dd908e91-c5c9-11e5-8de3-22000aa5088d"
#define POPUP_BODY                                                                                 \
    "{\"SourceNumber\":\"" P_SOURCE "\",\"DestinationNumber\":\"" P_DESTINATION                    \
    "\",\"DisplayNumber\":\"" P_DISPLAY "\",\"Direction\":\"Inbound\",\"CallSessionId\":\"" P_CALL \
    "\",\"LeadId\":\"" P_LEAD "\",\"Tag\":\"" P_TAG "\",\"UserId\":\"" P_USER "\"}"

static inline uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline void die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    exit(1);
}

/* Current resident set size in KiB, from /proc/self/status. */
static inline long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

/* Prints "ok" and the samples on one line, and flushes. */
static inline void emit(const uint64_t *ns, long n)
{
    fputs("ok", stdout);
    for (long i = 0; i < n; i++)
        printf(" %llu", (unsigned long long)ns[i]);
    putchar('\n');
    fflush(stdout);
}

/*
 * The driver loop of mode `serve`: one_request() sends one popup and
 * returns 0 on success.
 */
static inline int serve_loop(int (*one_request)(void *), void *ctx)
{
    char line[128];
    uint64_t *ns = NULL;
    long cap = 0;
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "quit", 4) == 0)
            break;
        long n = 0;
        if (sscanf(line, "run %ld", &n) != 1 || n <= 0)
            die("bad command");
        if (n > cap) {
            free(ns);
            ns = malloc((size_t)n * sizeof *ns);
            if (!ns)
                die("out of memory");
            cap = n;
        }
        for (long i = 0; i < n; i++) {
            uint64_t t0 = now_ns();
            if (one_request(ctx) != 0)
                die("request failed");
            ns[i] = now_ns() - t0;
        }
        emit(ns, n);
    }
    free(ns);
    return 0;
}

#endif
