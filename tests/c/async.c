/*
 * The async API through the C ABI: exactly-once callbacks under 16
 * submitting threads, queue full, flush, dedup, misuse from a callback,
 * consistent stats. No sleeps: threads wait on conditions.
 */
#include <pthread.h>

#include "check.h"

#define THREADS 16
#define PER_THREAD 50
#define TOTAL (THREADS * PER_THREAD)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int calls[TOTAL];
static int ok_results;
static lsq_client *shared_client;

static void count_call(const lsq_result *r, void *user_data)
{
    int *slot = user_data;
    pthread_mutex_lock(&lock);
    (*slot)++;
    if (r->status == LSQ_OK && r->attempts == 1 && r->http_status == 200 && strlen(r->message_id) == 36)
        ok_results++;
    pthread_mutex_unlock(&lock);
}

static void *submitter(void *arg)
{
    int t = (int)(size_t)arg, i;
    for (i = 0; i < PER_THREAD; i++) {
        char session[32];
        lsq_popup p;
        int index = t * PER_THREAD + i;
        snprintf(session, sizeof session, "t%d-%d", t, i);
        p = documented_popup(session); /* copied by the call: session may go out of scope */
        if (lsq_show_agent_popup_async(shared_client, &p, count_call, &calls[index]) != LSQ_OK) {
            fprintf(stderr, "submit %d refused: %s\n", index, lsq_last_error());
            pthread_mutex_lock(&lock);
            calls[index] = -1000;
            pthread_mutex_unlock(&lock);
        }
    }
    return NULL;
}

static void exactly_once_from_16_threads(void)
{
    static const char *const settings[] = {"rate_limit", "0", "queue_capacity", "4096", "workers", "4",
                                           "max_in_flight", "4", NULL};
    pthread_t threads[THREADS];
    lsq_stats st;
    int i;

    shared_client = test_client(settings);
    for (i = 0; i < THREADS; i++)
        CHECK(pthread_create(&threads[i], NULL, submitter, (void *)(size_t)i) == 0);
    for (i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    CHECK_STATUS(lsq_flush(shared_client, 60000), LSQ_OK);
    for (i = 0; i < TOTAL; i++) {
        if (calls[i] != 1) {
            fprintf(stderr, "popup %d: callback called %d times\n", i, calls[i]);
            check_failures++;
        }
    }
    CHECK(ok_results == TOTAL);
    CHECK_STATUS(lsq_client_stats(shared_client, &st), LSQ_OK);
    CHECK(st.submitted == TOTAL && st.succeeded == TOTAL && st.failed == 0);
    CHECK(st.queued == 0 && st.in_flight == 0 && st.dropped == 0);
    lsq_free(shared_client);
}

/* A callback that holds its worker until released: lets the test fill the
 * queue deterministically. */
static int holding, released, in_callback_free_refused, in_callback_flush_refused, held_status;
static lsq_client *held_client;

static void hold_worker(const lsq_result *r, void *user_data)
{
    (void)user_data;
    pthread_mutex_lock(&lock);
    held_status = r->status;
    holding = 1;
    pthread_cond_broadcast(&changed);
    while (!released)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);

    /* Misuse from a callback: refused, not a deadlock. */
    lsq_free(held_client);
    in_callback_free_refused = strstr(lsq_last_error(), "callback") != NULL;
    in_callback_flush_refused = lsq_flush(held_client, 1000) == LSQ_ERR_INVALID_ARGUMENT;
}

static int plain_calls;
static void count_plain(const lsq_result *r, void *user_data)
{
    (void)r;
    (void)user_data;
    pthread_mutex_lock(&lock);
    plain_calls++;
    pthread_mutex_unlock(&lock);
}

static void queue_full_flush_and_misuse(void)
{
    static const char *const settings[] = {"workers", "1", "max_in_flight", "1", "queue_capacity", "2",
                                           "rate_limit", "0", NULL};
    lsq_popup p = documented_popup("hold");
    lsq_stats st;

    held_client = test_client(settings);
    CHECK_STATUS(lsq_show_agent_popup_async(held_client, &p, hold_worker, NULL), LSQ_OK);
    pthread_mutex_lock(&lock);
    while (!holding)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    CHECK(held_status == LSQ_OK);

    /* The only worker is held: two fit in the queue, the third does not. */
    p.call_session_id = "q1";
    CHECK_STATUS(lsq_show_agent_popup_async(held_client, &p, count_plain, NULL), LSQ_OK);
    p.call_session_id = "q2";
    CHECK_STATUS(lsq_show_agent_popup_async(held_client, &p, count_plain, NULL), LSQ_OK);
    p.call_session_id = "q3";
    CHECK_STATUS(lsq_show_agent_popup_async(held_client, &p, count_plain, NULL), LSQ_ERR_QUEUE_FULL);
    CHECK_CONTAINS(lsq_last_error(), "queue full");
    CHECK_STATUS(lsq_flush(held_client, 20), LSQ_ERR_TIMEOUT);
    CHECK_STATUS(lsq_client_stats(held_client, &st), LSQ_OK);
    CHECK(st.submitted == 3 && st.queued == 2 && st.in_flight == 1 && st.dropped == 1);
    CHECK(st.submitted == st.succeeded + st.failed + st.queued + st.in_flight);

    pthread_mutex_lock(&lock);
    released = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    CHECK_STATUS(lsq_flush(held_client, 60000), LSQ_OK);
    CHECK(plain_calls == 2);
    CHECK(in_callback_free_refused);
    CHECK(in_callback_flush_refused);
    CHECK_STATUS(lsq_client_stats(held_client, &st), LSQ_OK);
    CHECK(st.submitted == 3 && st.succeeded == 3 && st.queued == 0 && st.in_flight == 0);
    lsq_free(held_client);
}

static int never_called;
static void must_not_be_called(const lsq_result *r, void *user_data)
{
    (void)r;
    (void)user_data;
    never_called++;
}

static void dedup_and_invalid(void)
{
    static const char *const settings[] = {"dedup_window_ms", "60000", NULL};
    lsq_client *c = test_client(settings);
    lsq_popup p = documented_popup("dedup-1");
    lsq_result r;
    lsq_stats st;

    CHECK_STATUS(lsq_show_agent_popup_async(c, &p, NULL, NULL), LSQ_OK);
    CHECK_STATUS(lsq_show_agent_popup_async(c, &p, must_not_be_called, NULL), LSQ_DUPLICATE);
    CHECK_STATUS(lsq_show_agent_popup(c, &p, &r), LSQ_DUPLICATE);
    CHECK(r.status == LSQ_DUPLICATE && r.attempts == 0);
    p.user_id = "11111111-2222-3333-4444-555555555555"; /* another agent's phone rings */
    CHECK_STATUS(lsq_show_agent_popup_async(c, &p, NULL, NULL), LSQ_OK);

    CHECK_STATUS(lsq_show_agent_popup_async(c, NULL, must_not_be_called, NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_show_agent_popup_async(NULL, &p, must_not_be_called, NULL), LSQ_ERR_INVALID_ARGUMENT);
    p.lead_id = "not-a-guid";
    CHECK_STATUS(lsq_show_agent_popup_async(c, &p, must_not_be_called, NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "lead_id");
    p.lead_id = "f5c7e023-653c-11e7-b25c-023cca4497b9";
    p.direction = 7;
    CHECK_STATUS(lsq_show_agent_popup_async(c, &p, must_not_be_called, NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "direction");

    CHECK_STATUS(lsq_flush(c, 60000), LSQ_OK);
    CHECK_STATUS(lsq_flush(NULL, 0), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_client_stats(c, &st), LSQ_OK);
    CHECK(st.submitted == 2 && st.succeeded == 2 && st.duplicates == 2);
    lsq_free(c);
    CHECK(never_called == 0);
}

int main(void)
{
    exactly_once_from_16_threads();
    queue_full_flush_and_misuse();
    dedup_and_invalid();
    CHECK_DONE();
}
