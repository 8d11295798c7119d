/*
 * The rate limiter through the C ABI. LSQ_TEST_MODE picks the scenario; the
 * harness (tests/c_api.rs) configures the emulator's limit and checks how
 * many rate-limit answers it gave.
 *   steady: server 5/1 s, client rate_limit=5/1: 15 popups take >= 2 s, all shown.
 *   learn:  server 3/1 s, client left at its default 25/5 with two requests
 *           in flight at most: 24 popups all shown, few rate-limit answers.
 */
#include <pthread.h>
#include <time.h>

#include "check.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int ok_count, done_count;

static void on_done(const lsq_result *r, void *user_data)
{
    (void)user_data;
    pthread_mutex_lock(&lock);
    done_count++;
    if (r->status == LSQ_OK)
        ok_count++;
    else
        fprintf(stderr, "popup failed: %s (%s)\n", lsq_status_str(r->status), r->message);
    pthread_mutex_unlock(&lock);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void run(lsq_client *c, int count)
{
    int i;
    for (i = 0; i < count; i++) {
        char session[32];
        lsq_popup p;
        snprintf(session, sizeof session, "call-%d", i);
        p = documented_popup(session);
        CHECK_STATUS(lsq_show_agent_popup_async(c, &p, on_done, NULL), LSQ_OK);
    }
    CHECK_STATUS(lsq_flush(c, 60000), LSQ_OK);
    CHECK(done_count == count);
    CHECK(ok_count == count);
}

int main(void)
{
    const char *mode = test_env("LSQ_TEST_MODE");
    lsq_stats st;

    if (strcmp(mode, "steady") == 0) {
        static const char *const settings[] = {"rate_limit", "5/1", NULL};
        lsq_client *c = test_client(settings);
        double start = now_ms(), took;
        run(c, 15);
        took = now_ms() - start;
        printf("15 popups at 5/1 s took %.0f ms\n", took);
        CHECK(took >= 2000.0);
        CHECK_STATUS(lsq_client_stats(c, &st), LSQ_OK);
        CHECK(st.rate_limited == 0 && st.succeeded == 15);
        lsq_free(c);
    } else if (strcmp(mode, "learn") == 0) {
        /* Two in flight, as a PBX with a steady trickle of calls has: the
         * first answer teaches the limit before more go out. (A burst of
         * many at once all leaves before any answer can teach it.) */
        static const char *const settings[] = {"max_in_flight", "2", "workers", "2", NULL};
        lsq_client *c = test_client(settings);
        run(c, 24);
        CHECK_STATUS(lsq_client_stats(c, &st), LSQ_OK);
        printf("24 popups, %lu rate-limit answers\n", (unsigned long)st.rate_limited);
        CHECK(st.succeeded == 24 && st.rate_limited <= 3);
        lsq_free(c);
    } else {
        fprintf(stderr, "unknown LSQ_TEST_MODE %s\n", mode);
        return 2;
    }
    CHECK_DONE();
}
