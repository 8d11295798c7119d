/*
 * bench-lsq: liblsq from C, as a PBX module would call it.
 *
 *   bench-lsq serve URL        blocking popups on one client, driven by stdin (common.h)
 *   bench-lsq count URL N      N blocking popups, then exit (for instruction counts)
 *   bench-lsq cold URL K       K fresh clients: "ok" first-popup ns..., then "ok" second-popup ns...
 *   bench-lsq async URL T M    T threads submit M popups each, timing every submit call:
 *                              "ok" submit ns..., then "rate <popups/s> <seconds>" (2 workers)
 *   bench-lsq mem URL N        "rss <before client> <idle client> <after 1> <after N>" in KiB
 *
 * Options everywhere: rate_limit=0 (the limiter off), proxy=none.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>

#include "lsq.h"

static const lsq_popup popup = {
    .source_number = P_SOURCE,
    .destination_number = P_DESTINATION,
    .display_number = P_DISPLAY,
    .direction = LSQ_INBOUND,
    .call_session_id = P_CALL,
    .lead_id = P_LEAD,
    .user_id = P_USER,
    .tag = P_TAG,
};

static void set(lsq_options *o, const char *k, const char *v)
{
    if (lsq_options_set(o, k, v) != LSQ_OK)
        die(lsq_last_error());
}

static lsq_client *new_client(const char *url, const char *workers, const char *queue)
{
    lsq_options *o = lsq_options_new();
    if (!o)
        die("lsq_options_new");
    set(o, "rate_limit", "0");
    set(o, "proxy", "none");
    if (workers)
        set(o, "workers", workers);
    if (queue)
        set(o, "queue_capacity", queue);
    lsq_client *c = lsq_client_new_with_options(url, ACCESS_KEY, SECRET_KEY, o);
    lsq_options_free(o);
    if (!c)
        die(lsq_last_error());
    return c;
}

static int one_popup(void *ctx)
{
    lsq_result r;
    lsq_status s = lsq_show_agent_popup((lsq_client *)ctx, &popup, &r);
    if (s != LSQ_OK)
        fprintf(stderr, "bench-lsq: %s: %s\n", lsq_status_str(s), r.message);
    return s != LSQ_OK;
}

static atomic_long done;

static void on_done(const lsq_result *r, void *user_data)
{
    (void)user_data;
    if (r->status != LSQ_OK)
        fprintf(stderr, "bench-lsq: async: %s: %s\n", lsq_status_str(r->status), r->message);
    atomic_fetch_add_explicit(&done, 1, memory_order_relaxed);
}

struct submitter {
    lsq_client *client;
    long count;
    uint64_t *ns;
    pthread_barrier_t *start;
};

static void *submit(void *arg)
{
    struct submitter *s = arg;
    pthread_barrier_wait(s->start);
    for (long i = 0; i < s->count; i++) {
        uint64_t t0 = now_ns();
        lsq_status st = lsq_show_agent_popup_async(s->client, &popup, on_done, NULL);
        s->ns[i] = now_ns() - t0;
        if (st != LSQ_OK)
            die(lsq_last_error());
    }
    return NULL;
}

static void run_async(const char *url, long threads, long per_thread)
{
    lsq_client *c = new_client(url, "2", "1000000");
    long total = threads * per_thread;
    uint64_t *ns = malloc((size_t)total * sizeof *ns);
    pthread_t *tid = malloc((size_t)threads * sizeof *tid);
    struct submitter *sub = malloc((size_t)threads * sizeof *sub);
    pthread_barrier_t start;
    if (!ns || !tid || !sub)
        die("out of memory");
    /* Warm up: both workers connected before anything is timed. */
    for (int i = 0; i < 8; i++)
        if (lsq_show_agent_popup_async(c, &popup, on_done, NULL) != LSQ_OK)
            die(lsq_last_error());
    if (lsq_flush(c, 10000) != LSQ_OK)
        die("flush (warm-up)");
    atomic_store(&done, 0);
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (long t = 0; t < threads; t++) {
        sub[t] = (struct submitter){c, per_thread, ns + t * per_thread, &start};
        if (pthread_create(&tid[t], NULL, submit, &sub[t]) != 0)
            die("pthread_create");
    }
    pthread_barrier_wait(&start);
    uint64_t t0 = now_ns();
    for (long t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    if (lsq_flush(c, 600000) != LSQ_OK)
        die("flush");
    uint64_t elapsed = now_ns() - t0;
    if (atomic_load(&done) != total)
        die("not every callback ran");
    lsq_stats st;
    lsq_client_stats(c, &st);
    if (st.failed != 0)
        die("some async popups failed");
    lsq_free(c);
    emit(ns, total);
    printf("rate %.0f %.3f\n", (double)total * 1e9 / (double)elapsed, (double)elapsed / 1e9);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: bench-lsq serve|count|cold|async|mem URL [args]");
    const char *mode = argv[1], *url = argv[2];
    long a = argc > 3 ? atol(argv[3]) : 0, b = argc > 4 ? atol(argv[4]) : 0;
    if (strcmp(mode, "serve") == 0) {
        lsq_client *c = new_client(url, NULL, NULL);
        serve_loop(one_popup, c);
        lsq_free(c);
    } else if (strcmp(mode, "count") == 0) {
        lsq_client *c = new_client(url, NULL, NULL);
        for (long i = 0; i < a; i++)
            if (one_popup(c))
                die("popup failed");
        lsq_free(c);
    } else if (strcmp(mode, "cold") == 0) {
        uint64_t *first = malloc((size_t)a * sizeof *first), *warm = malloc((size_t)a * sizeof *warm);
        if (!first || !warm)
            die("out of memory");
        for (long i = 0; i < a; i++) {
            lsq_client *c = new_client(url, NULL, NULL);
            uint64_t t0 = now_ns();
            if (one_popup(c))
                die("popup failed");
            uint64_t t1 = now_ns();
            if (one_popup(c))
                die("popup failed");
            uint64_t t2 = now_ns();
            first[i] = t1 - t0;
            warm[i] = t2 - t1;
            lsq_free(c);
        }
        emit(first, a);
        emit(warm, a);
    } else if (strcmp(mode, "async") == 0) {
        run_async(url, a, b);
    } else if (strcmp(mode, "mem") == 0) {
        long before = rss_kib();
        lsq_client *c = new_client(url, NULL, NULL);
        long idle = rss_kib();
        if (one_popup(c))
            die("popup failed");
        long one = rss_kib();
        for (long i = 1; i < a; i++)
            if (one_popup(c))
                die("popup failed");
        long after = rss_kib();
        lsq_free(c);
        printf("rss %ld %ld %ld %ld\n", before, idle, one, after);
    } else {
        die("unknown mode");
    }
    return 0;
}
