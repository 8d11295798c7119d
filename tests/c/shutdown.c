/*
 * lsq_free over pending popups on a slow server (the harness makes every
 * answer take 1 s): it returns within shutdown_timeout_ms (plus slack),
 * every callback is called exactly once, some popups completed, the rest
 * were cancelled.
 */
#include <pthread.h>
#include <time.h>

#include "check.h"

#define COUNT 60

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int calls[COUNT], ok_count, cancelled_count, other_count;

static void on_done(const lsq_result *r, void *user_data)
{
    int *slot = user_data;
    pthread_mutex_lock(&lock);
    (*slot)++;
    if (r->status == LSQ_OK)
        ok_count++;
    else if (r->status == LSQ_ERR_CANCELLED)
        cancelled_count++;
    else
        other_count++;
    pthread_mutex_unlock(&lock);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int main(void)
{
    /* Two in flight at most, so most popups are still queued when the grace ends. */
    static const char *const settings[] = {"shutdown_timeout_ms", "1500", "rate_limit", "0",
                                           "max_in_flight", "2", NULL};
    lsq_client *c = test_client(settings);
    double start, took;
    int i;

    for (i = 0; i < COUNT; i++) {
        char session[32];
        lsq_popup p;
        snprintf(session, sizeof session, "pending-%d", i);
        p = documented_popup(session);
        CHECK_STATUS(lsq_show_agent_popup_async(c, &p, on_done, &calls[i]), LSQ_OK);
    }
    start = now_ms();
    lsq_free(c);
    took = now_ms() - start;
    printf("lsq_free took %.0f ms: %d shown, %d cancelled, %d other\n", took, ok_count, cancelled_count,
           other_count);
    CHECK(took < 1500.0 + 1000.0);
    for (i = 0; i < COUNT; i++)
        CHECK(calls[i] == 1);
    CHECK(ok_count >= 1);
    CHECK(cancelled_count >= 1);
    CHECK(ok_count + cancelled_count == COUNT);
    CHECK_DONE();
}
