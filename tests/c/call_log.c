/*
 * Call logs from C (tests/c_api.rs runs it against the emulator with its
 * sample data): lsq_log_call and lsq_log_call_async with an outbox file,
 * every status they can return, callbacks exactly once, lsq_outbox_count,
 * and lsq_client_metrics' Prometheus text.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static lsq_call_log call_log(const char *call_session_id)
{
    lsq_call_log l;
    time_t end = time(NULL) - 5;
    memset(&l, 0, sizeof l);
    l.source_number = "+91-8611795988";
    l.destination_number = "1001";
    l.display_number = "+91-8611795989";
    l.direction = LSQ_INBOUND;
    l.call_session_id = call_session_id;
    l.status = LSQ_CALL_ANSWERED;
    l.start_time = (int64_t)end - 95;
    l.end_time = (int64_t)end;
    l.duration_s = 80;
    return l;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int calls, ok_calls, dead_calls;

static void on_logged(const lsq_result *r, void *user_data)
{
    (void)user_data;
    pthread_mutex_lock(&lock);
    calls++;
    if (r->status == LSQ_OK)
        ok_calls++;
    else if (r->status == LSQ_ERR_BAD_REQUEST)
        dead_calls++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

int main(void)
{
    char path[256], settings_path[256];
    const char *settings[] = {"outbox", NULL, "log_retry_max_ms", "1000", NULL};
    lsq_client *c;
    lsq_call_log l;
    lsq_result r;
    uint64_t pending = 99, dead = 99;
    static char metrics[16384];
    int i;

    snprintf(path, sizeof path, "%s/c-call-log-%ld.db", test_env("LSQ_TEST_TMPDIR"), (long)getpid());
    snprintf(settings_path, sizeof settings_path, "%s", path);
    settings[1] = settings_path;
    c = test_client(settings);

    /* The harness scripted a 400 for the first log: a dead letter. */
    l = call_log("c-log-dead");
    CHECK_STATUS(lsq_log_call_async(c, &l, on_logged, NULL), LSQ_OK);
    pthread_mutex_lock(&lock);
    while (calls < 1)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    CHECK(dead_calls == 1);

    /* Blocking: stored, sent, delivered. */
    l = call_log("c-log-1");
    l.user = "priya.sharma@example.com";
    l.resource_url = "https://pbx.example.com/rec/c-log-1.wav";
    l.caller_source = "IVR";
    CHECK_STATUS(lsq_log_call(c, &l, &r), LSQ_OK);
    CHECK(r.http_status == 200 && r.attempts == 1);
    /* Missed, no optional fields. */
    l = call_log("c-log-2");
    l.status = LSQ_CALL_MISSED;
    l.duration_s = 0;
    CHECK_STATUS(lsq_log_call(c, &l, NULL), LSQ_OK);

    /* Invalid: nothing stored, the field named. */
    l = call_log("c-log-bad");
    l.status = 7;
    CHECK_STATUS(lsq_log_call(c, &l, &r), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "status");
    l = call_log("c-log-bad");
    l.end_time = l.start_time - 1;
    CHECK_STATUS(lsq_log_call_async(c, &l, on_logged, NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "end_time");
    l = call_log("c-log-bad");
    l.resource_url = "not a url";
    CHECK_STATUS(lsq_log_call_async(c, &l, on_logged, NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "resource_url");
    l = call_log("c-log-bad");
    l.caller_source = "a caller source that is much longer than fifty characters";
    CHECK_STATUS(lsq_log_call(c, &l, NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_log_call(c, NULL, NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_log_call(NULL, &l, NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_outbox_count(NULL, &pending, &dead), LSQ_ERR_INVALID_ARGUMENT);

    /* Async, callbacks exactly once. */
    for (i = 0; i < 10; i++) {
        char call[32];
        snprintf(call, sizeof call, "c-log-async-%d", i);
        l = call_log(call);
        CHECK_STATUS(lsq_log_call_async(c, &l, on_logged, NULL), LSQ_OK);
    }
    pthread_mutex_lock(&lock);
    while (calls < 11)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    CHECK(ok_calls == 10 && dead_calls == 1);
    CHECK_STATUS(lsq_outbox_count(c, &pending, &dead), LSQ_OK);
    printf("outbox: %lu pending, %lu dead\n", (unsigned long)pending, (unsigned long)dead);
    CHECK(pending == 0 && dead == 1);
    CHECK_STATUS(lsq_outbox_count(c, NULL, NULL), LSQ_OK);

    /* Metrics: Prometheus text; too small a buffer is refused with "". */
    CHECK_STATUS(lsq_client_metrics(c, metrics, sizeof metrics), LSQ_OK);
    CHECK_CONTAINS(metrics, "# TYPE lsq_call_logs_delivered_total counter");
    fputs(metrics, stdout);
    CHECK_CONTAINS(metrics, "lsq_call_logs_delivered_total 12");
    CHECK_CONTAINS(metrics, "lsq_call_logs_dead_stored 1");
    CHECK_CONTAINS(metrics, "lsq_requests_total{endpoint=\"LogCall\",status=\"400\"} 1");
    CHECK_CONTAINS(metrics, "lsq_rate_limit_requests 25");
    CHECK_CONTAINS(metrics, "lsq_queued{class=\"popup\"} 0");
    CHECK_NO_KEY(metrics);
    CHECK_STATUS(lsq_client_metrics(c, metrics, 16), LSQ_ERR_INVALID_ARGUMENT);
    CHECK(metrics[0] == '\0');
    CHECK_STATUS(lsq_client_metrics(c, NULL, 0), LSQ_ERR_INVALID_ARGUMENT);
    printf("metrics: %lu bytes\n", (unsigned long)strlen(lsq_last_error()));

    {
        /* A second client on the same outbox is refused with the reason. */
        const char *again[] = {"outbox", settings_path, NULL};
        lsq_options *o = lsq_options_new();
        lsq_client *second;
        CHECK_STATUS(lsq_options_set(o, again[0], again[1]), LSQ_OK);
        second = lsq_client_new_with_options(test_env("LSQ_TEST_HOST"), test_env("LSQ_TEST_ACCESS_KEY"),
                                             test_env("LSQ_TEST_SECRET_KEY"), o);
        CHECK(second == NULL);
        CHECK_CONTAINS(lsq_last_error(), "locked");
        CHECK_STATUS(lsq_options_set(o, "outbox", "/nonexistent-dir/x.db"), LSQ_OK);
        CHECK(lsq_client_new_with_options(test_env("LSQ_TEST_HOST"), test_env("LSQ_TEST_ACCESS_KEY"),
                                          test_env("LSQ_TEST_SECRET_KEY"), o) == NULL);
        CHECK_CONTAINS(lsq_last_error(), "/nonexistent-dir/x.db");
        lsq_options_free(o);
    }
    (void)documented_popup;
    lsq_free(c);
    CHECK_DONE();
}
