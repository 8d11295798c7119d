/*
 * The foundations' defects, each shown from C (tests/c_api.rs runs it):
 *  - "flush": lsq_flush on one thread returns when another thread's
 *    blocking popup ends (the harness makes every answer take 400 ms), not
 *    at its own timeout;
 *  - "dns": a popup to a host that does not resolve ends in LSQ_ERR_CONNECT
 *    with a message naming the host and the cause (run in an empty network
 *    namespace, so the DNS query goes nowhere);
 *  - "short_keys": keys of one letter are refused at creation with a
 *    reason, and never mangle any message.
 */
#include <pthread.h>
#include <time.h>

#include "check.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static lsq_client *flush_client;
static double popup_ended_ms;
static int popup_status = -1;

static void *blocking_popup(void *arg)
{
    lsq_popup p = documented_popup("flush-blocking");
    lsq_result r;
    (void)arg;
    popup_status = lsq_show_agent_popup(flush_client, &p, &r);
    popup_ended_ms = now_ms();
    return NULL;
}

static void flush_waits_for_a_blocking_popup(void)
{
    static const char *const settings[] = {"rate_limit", "0", NULL};
    pthread_t thread;
    lsq_stats s;
    lsq_status flushed;
    double flush_returned_ms;

    flush_client = test_client(settings);
    CHECK(pthread_create(&thread, NULL, blocking_popup, NULL) == 0);
    /* Wait (a condition, not a guess) until the popup is in flight. */
    do {
        struct timespec pause = {0, 1000000};
        CHECK_STATUS(lsq_client_stats(flush_client, &s), LSQ_OK);
        if (s.in_flight == 0 && popup_status < 0)
            nanosleep(&pause, NULL);
    } while (s.in_flight == 0 && popup_status < 0);
    flushed = lsq_flush(flush_client, 5000);
    flush_returned_ms = now_ms();
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK_STATUS(flushed, LSQ_OK);
    CHECK_STATUS(popup_status, LSQ_OK);
    printf("flush returned %.0f ms after the other thread's popup ended\n",
           flush_returned_ms - popup_ended_ms);
    /* Before the fix it returned 5000 ms after the start, ~4600 ms after the end. */
    CHECK(flush_returned_ms - popup_ended_ms < 500.0);
    lsq_free(flush_client);
}

static void dns_failure_names_the_host(void)
{
    lsq_client *c = lsq_client_new("https://no-such-host.invalid", test_env("LSQ_TEST_ACCESS_KEY"),
                                   test_env("LSQ_TEST_SECRET_KEY"));
    lsq_popup p = documented_popup("dns");
    lsq_result r;
    CHECK(c != NULL);
    if (c == NULL)
        return;
    CHECK_STATUS(lsq_show_agent_popup(c, &p, &r), LSQ_ERR_CONNECT);
    CHECK_CONTAINS(r.message, "no-such-host.invalid:443");
    CHECK_CONTAINS(r.message, "could not resolve");
    CHECK(strstr(r.message, "uncategorized") == NULL);
    CHECK_NO_KEY(r.message);
    printf("dns: %s\n", r.message);
    lsq_free(c);
}

static void short_keys_are_refused(void)
{
    static const char *const pairs[][2] = {{"e", "o"}, {"e", "a-long-enough-secret"}, {"a-long-enough-access", "o"}};
    size_t i;
    for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        lsq_client *c = lsq_client_new(test_env("LSQ_TEST_HOST"), pairs[i][0], pairs[i][1]);
        CHECK(c == NULL);
        CHECK_CONTAINS(lsq_last_error(), "too short for a LeadSquared key");
        /* The reason is whole: no letter of it was scrubbed away. */
        CHECK(strstr(lsq_last_error(), "***") == NULL);
        lsq_free(c);
    }
    {
        /* Keys as short as allowed: a connect failure still reads whole. */
        static const char *const settings[] = {"max_retries", "0", NULL};
        lsq_options *o = lsq_options_new();
        lsq_client *c;
        lsq_popup p = documented_popup("short-keys");
        lsq_result r;
        CHECK_STATUS(lsq_options_set(o, settings[0], settings[1]), LSQ_OK);
        c = lsq_client_new_with_options("http://127.0.0.1:1", "eeeeeeee", "oooooooo", o);
        lsq_options_free(o);
        CHECK(c != NULL);
        if (c != NULL) {
            CHECK_STATUS(lsq_show_agent_popup(c, &p, &r), LSQ_ERR_CONNECT);
            CHECK_CONTAINS(r.message, "127.0.0.1:1 refused the connection");
            lsq_free(c);
        }
    }
}

int main(void)
{
    const char *mode = test_env("LSQ_TEST_MODE");
    if (strcmp(mode, "flush") == 0)
        flush_waits_for_a_blocking_popup();
    else if (strcmp(mode, "dns") == 0)
        dns_failure_names_the_host();
    else if (strcmp(mode, "short_keys") == 0)
        short_keys_are_refused();
    else {
        fprintf(stderr, "unknown LSQ_TEST_MODE %s\n", mode);
        return 2;
    }
    CHECK_DONE();
}
