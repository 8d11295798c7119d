/*
 * Lead lookup and agent ringing from C (tests/c_api.rs runs it against the
 * emulator with its sample data and a per-endpoint fault script): every
 * status lsq_find_lead and lsq_agent_ringing can return, the lsq_lead
 * fields, the cache, and the async calls' callbacks exactly once.
 */
#include <pthread.h>

#include "check.h"

#define ANANYA "e6293922-cabc-4f87-a045-86f60b4ebdaf"
#define PRIYA "a484b8fc-0425-48f6-abf8-15af4cb65137"

static lsq_ringing ringing(const char *call_session_id, const char *user)
{
    lsq_ringing r;
    memset(&r, 0, sizeof r);
    r.caller_number = "+91 86117 95988";
    r.agent_number = "1001";
    r.display_number = "+91-8611795989";
    r.direction = LSQ_INBOUND;
    r.call_session_id = call_session_id;
    r.user = user;
    return r;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int lead_calls, ringing_calls;
static lsq_status last_lead_status = -1, last_ringing_status = -1;
static char last_first_name[LSQ_LEAD_NAME_SIZE];

static void on_lead(const lsq_lead *lead, void *user_data)
{
    (void)user_data;
    pthread_mutex_lock(&lock);
    lead_calls++;
    last_lead_status = lead->status;
    memcpy(last_first_name, lead->first_name, sizeof last_first_name);
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_ringing(const lsq_ringing_result *result, void *user_data)
{
    (void)user_data;
    pthread_mutex_lock(&lock);
    ringing_calls++;
    last_ringing_status = result->popup.status;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void wait_calls(int *counter, int n)
{
    pthread_mutex_lock(&lock);
    while (*counter < n)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

static void find_lead_statuses(void)
{
    static const char *const settings[] = {"default_country_code", "91", "max_retries", "0", "rate_limit", "0",
                                           "timeout_ms", "1000", "max_age_ms", "3000", NULL};
    lsq_client *c = test_client(settings);
    lsq_lead lead;

    /* The fault script, one per lookup (first: the harness scripted them for the first lookups). */
    CHECK_STATUS(lsq_find_lead(c, "+91 98765 43210", &lead), LSQ_ERR_NOT_FOUND);
    CHECK(lead.http_status == 404);
    CHECK_STATUS(lsq_find_lead(c, "+91 98765 43210", &lead), LSQ_ERR_SERVER);
    CHECK_STATUS(lsq_find_lead(c, "+91 98765 43210", &lead), LSQ_ERR_HTTP);
    CHECK_STATUS(lsq_find_lead(c, "+91 98765 43210", &lead), LSQ_ERR_RESPONSE);
    CHECK_STATUS(lsq_find_lead(c, "+91 98765 43210", &lead), LSQ_ERR_RATE_LIMITED);
    CHECK_STATUS(lsq_find_lead(c, "+91 98765 43210", &lead), LSQ_ERR_TIMEOUT);
    CHECK_STATUS(lsq_find_lead(c, "+91 98765 43210", &lead), LSQ_ERR_CONNECT);
    CHECK_STATUS(lsq_find_lead(c, "+91 98765 43210", &lead), LSQ_OK);
    CHECK(strcmp(lead.first_name, "Rohan") == 0);
    /* Found, with every field. */
    CHECK_STATUS(lsq_find_lead(c, "+91 86117 95988", &lead), LSQ_OK);
    CHECK(strcmp(lead.lead_id, ANANYA) == 0);
    CHECK(strcmp(lead.owner_id, PRIYA) == 0);
    CHECK(strcmp(lead.first_name, "Ananya") == 0);
    CHECK(strcmp(lead.phone, "+91-8611795988") == 0);
    CHECK(lead.http_status == 200 && lead.attempts == 1 && lead.cached == 0 && lead.created == 0);
    CHECK(strcmp(lead.message, "") == 0);
    /* The cache. */
    CHECK_STATUS(lsq_find_lead(c, "08611795988", &lead), LSQ_OK);
    CHECK(lead.cached == 1 && lead.attempts == 0 && lead.http_status == 0);
    /* No lead: nothing failed. */
    CHECK_STATUS(lsq_find_lead(c, "+91 70000 00001", &lead), LSQ_NO_MATCH);
    CHECK_CONTAINS(lead.message, "917000000001");
    CHECK_CONTAINS(lsq_last_error(), "917000000001");
    /* Invalid input: nothing sent. */
    CHECK_STATUS(lsq_find_lead(c, "12", &lead), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lead.message, "phone");
    CHECK_STATUS(lsq_find_lead(c, "1800-FLOWERS", &lead), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_find_lead(c, NULL, &lead), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "phone");
    CHECK_STATUS(lsq_find_lead(c, "+918611795988", NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "lead");
    CHECK_STATUS(lsq_find_lead(NULL, "+918611795988", &lead), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_NO_KEY(lead.message);
    lsq_free(c);

    {
        /* A wrong key: LSQ_ERR_UNAUTHORIZED. */
        lsq_client *wrong = lsq_client_new(test_env("LSQ_TEST_HOST"), test_env("LSQ_TEST_ACCESS_KEY"), "not-the-secret");
        CHECK_STATUS(lsq_find_lead(wrong, "+918611795988", &lead), LSQ_ERR_UNAUTHORIZED);
        CHECK_NO_KEY(lead.message);
        lsq_free(wrong);
    }
    {
        /* Unknown callers created, once. */
        static const char *const create[] = {"default_country_code", "91", "unknown_caller", "create", NULL};
        lsq_client *cc = test_client(create);
        CHECK_STATUS(lsq_find_lead(cc, "07000 000009", &lead), LSQ_OK);
        CHECK(lead.created == 1 && strlen(lead.lead_id) == 36);
        CHECK(strcmp(lead.phone, "+91-7000000009") == 0);
        lsq_free(cc);
    }
}

static void ringing_statuses(void)
{
    static const char *const settings[] = {"default_country_code", "91", "dedup_window_ms", "10000", NULL};
    lsq_client *c = test_client(settings);
    lsq_ringing r = ringing("c-ring-1", "priya.sharma@example.com");
    lsq_ringing_result result;

    CHECK_STATUS(lsq_agent_ringing(c, &r, &result), LSQ_OK);
    CHECK(result.popup.status == LSQ_OK && result.popup.http_status == 200);
    CHECK(strcmp(result.lead.lead_id, ANANYA) == 0);
    CHECK(strcmp(result.lead.first_name, "Ananya") == 0);
    /* Same call, same agent: a duplicate, no lookup. */
    CHECK_STATUS(lsq_agent_ringing(c, &r, &result), LSQ_DUPLICATE);
    /* No lead: no popup. */
    r = ringing("c-ring-2", PRIYA);
    r.caller_number = "+91 70000 00002";
    CHECK_STATUS(lsq_agent_ringing(c, &r, &result), LSQ_NO_MATCH);
    CHECK(result.lead.status == LSQ_NO_MATCH);
    /* No such user: no popup, the e-mail named. */
    r = ringing("c-ring-3", "nobody@example.com");
    CHECK_STATUS(lsq_agent_ringing(c, &r, &result), LSQ_NO_MATCH);
    CHECK_CONTAINS(result.popup.message, "nobody@example.com");
    /* A lead_id given: no lookup needed. */
    r = ringing("c-ring-4", PRIYA);
    r.lead_id = ANANYA;
    CHECK_STATUS(lsq_agent_ringing(c, &r, NULL), LSQ_OK);
    /* Invalid input, each field named. */
    r = ringing("c-ring-5", "agent");
    CHECK_STATUS(lsq_agent_ringing(c, &r, &result), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "user");
    r = ringing("c-ring-5", PRIYA);
    r.lead_id = "not-a-guid";
    CHECK_STATUS(lsq_agent_ringing(c, &r, &result), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "lead_id");
    r = ringing("c-ring-5", PRIYA);
    r.direction = 9;
    CHECK_STATUS(lsq_agent_ringing(c, &r, &result), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "direction");
    r = ringing("c-ring-5", PRIYA);
    r.caller_number = "12";
    CHECK_STATUS(lsq_agent_ringing(c, &r, &result), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "caller_number");
    r = ringing("c-ring-5", PRIYA);
    r.call_session_id = NULL;
    CHECK_STATUS(lsq_agent_ringing(c, &r, &result), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_agent_ringing(c, NULL, &result), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_agent_ringing_async(c, NULL, on_ringing, NULL), LSQ_ERR_INVALID_ARGUMENT);

    /* Async: callbacks exactly once. */
    {
        int i;
        for (i = 0; i < 10; i++) {
            char call[32];
            snprintf(call, sizeof call, "c-async-%d", i);
            r = ringing(call, PRIYA);
            CHECK_STATUS(lsq_agent_ringing_async(c, &r, on_ringing, NULL), LSQ_OK);
        }
        CHECK_STATUS(lsq_find_lead_async(c, "+91 98450 12345", on_lead, NULL), LSQ_OK);
        CHECK_STATUS(lsq_find_lead_async(c, "x", on_lead, NULL), LSQ_ERR_INVALID_ARGUMENT);
        wait_calls(&ringing_calls, 10);
        wait_calls(&lead_calls, 1);
        CHECK_STATUS(lsq_flush(c, 10000), LSQ_OK);
        CHECK(ringing_calls == 10 && lead_calls == 1);
        CHECK_STATUS(last_ringing_status, LSQ_OK);
        CHECK_STATUS(last_lead_status, LSQ_OK);
        CHECK(strcmp(last_first_name, "Karthik") == 0);
    }
    printf("status names: %s / %s\n", lsq_status_str(LSQ_NO_MATCH), lsq_status_str(LSQ_ERR_STORAGE));
    lsq_free(c);
}

int main(void)
{
    (void)documented_popup;
    find_lead_statuses();
    ringing_statuses();
    CHECK_DONE();
}
