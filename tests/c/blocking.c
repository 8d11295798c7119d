/*
 * The blocking call through the C ABI, against the emulator: success, every
 * invalid input the contract names, and every failure status. The harness
 * (tests/c_api.rs, blocking_statuses) queues the emulator's faults in the
 * order of the "faults" part below.
 */
#include "check.h"

static lsq_result result;

static void expect_invalid(lsq_client *c, lsq_popup p, const char *field)
{
    memset(&result, 0x5a, sizeof result);
    CHECK_STATUS(lsq_show_agent_popup(c, &p, &result), LSQ_ERR_INVALID_ARGUMENT);
    CHECK(result.status == LSQ_ERR_INVALID_ARGUMENT);
    CHECK(result.attempts == 0 && result.http_status == 0);
    CHECK(result.message_id[0] == '\0');
    CHECK_CONTAINS(lsq_last_error(), field);
    CHECK_CONTAINS(result.message, field);
}

static void invalid_inputs(lsq_client *c)
{
    lsq_popup p = documented_popup("invalid");
    char too_long[300];
    char bad_utf8[] = {'1', '2', (char)0xC3, (char)0x28, '\0'};
    char control[] = {'4', '2', '\t', '1', '\0'};

    memset(too_long, '1', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';

#define WITH(field, value, name)        \
    do {                                \
        lsq_popup q = p;                \
        q.field = value;                \
        expect_invalid(c, q, name);     \
    } while (0)

    WITH(source_number, NULL, "source_number");
    WITH(source_number, "", "source_number");
    WITH(source_number, "12a4", "source_number");
    WITH(source_number, "+-() .", "source_number");
    WITH(source_number, too_long, "source_number");
    WITH(source_number, bad_utf8, "source_number");
    WITH(source_number, control, "source_number");
    WITH(destination_number, NULL, "destination_number");
    WITH(destination_number, "", "destination_number");
    WITH(destination_number, "91#1", "destination_number");
    WITH(display_number, NULL, "display_number");
    WITH(display_number, "ivr", "display_number");
    WITH(call_session_id, NULL, "call_session_id");
    WITH(call_session_id, "", "call_session_id");
    WITH(call_session_id, too_long, "call_session_id");
    WITH(call_session_id, control, "call_session_id");
    WITH(call_session_id, bad_utf8, "call_session_id");
    WITH(lead_id, NULL, "lead_id");
    WITH(lead_id, "", "lead_id");
    WITH(lead_id, "f5c7e023653c11e7b25c023cca4497b9", "lead_id");
    WITH(lead_id, "f5c7e023-653c-11e7-b25c-023cca4497bz", "lead_id");
    WITH(lead_id, "{f5c7e023-653c-11e7-b25c-023cca4497b9}", "lead_id");
    WITH(user_id, NULL, "user_id");
    WITH(user_id, "dd908e91-c5c9-11e5-8de3", "user_id");
    WITH(tag, control, "tag");
    WITH(tag, too_long, "tag");
    WITH(tag, bad_utf8, "tag");
    WITH(direction, 2u, "direction");
    WITH(direction, 0xFFFFFFFFu, "direction");
#undef WITH

    CHECK_STATUS(lsq_show_agent_popup(NULL, &p, &result), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "client");
    CHECK_STATUS(lsq_show_agent_popup(c, NULL, &result), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "popup");
    CHECK_STATUS(lsq_show_agent_popup(c, NULL, NULL), LSQ_ERR_INVALID_ARGUMENT);
}

static void statics(void)
{
    lsq_status s;
    CHECK(strcmp(lsq_version(), "0.1.0") == 0);
    CHECK(strcmp(lsq_status_str(LSQ_OK), "ok") == 0);
    for (s = LSQ_ERR_INVALID_ARGUMENT; s <= LSQ_ERR_STORAGE; s++) {
        CHECK(lsq_status_str(s) != NULL);
        CHECK(strcmp(lsq_status_str(s), "unknown status") != 0);
    }
    CHECK(strcmp(lsq_status_str(19), "unknown status") == 0);
    CHECK(strcmp(lsq_status_str(-1), "unknown status") == 0);
    CHECK(strcmp(lsq_status_str((lsq_status)0x7fffffff), "unknown status") == 0);
    CHECK(LSQ_INBOUND == 0 && LSQ_OUTBOUND == 1);
    CHECK(LSQ_LOG_ERROR == 0 && LSQ_LOG_WARN == 1 && LSQ_LOG_INFO == 2 && LSQ_LOG_DEBUG == 3);
    CHECK(sizeof result.message_id == 64 && sizeof result.message == 256);
}

static void clients_refused(void)
{
    const char *ak = test_env("LSQ_TEST_ACCESS_KEY"), *sk = test_env("LSQ_TEST_SECRET_KEY");
    lsq_options *o = lsq_options_new();

    CHECK(lsq_client_new(NULL, ak, sk) == NULL);
    CHECK_CONTAINS(lsq_last_error(), "host");
    CHECK(lsq_client_new("https://h", NULL, sk) == NULL);
    CHECK_CONTAINS(lsq_last_error(), "access_key");
    CHECK(lsq_client_new("https://h", ak, NULL) == NULL);
    CHECK_CONTAINS(lsq_last_error(), "secret_key");
    CHECK(lsq_client_new("https://h", "", sk) == NULL);
    CHECK(lsq_client_new("http://api.leadsquared.com", ak, sk) == NULL);
    CHECK_CONTAINS(lsq_last_error(), "allow_http");
    CHECK_NO_KEY(lsq_last_error());
    CHECK(lsq_client_new("https://api.leadsquared.com/v2", ak, sk) == NULL);
    CHECK_CONTAINS(lsq_last_error(), "path");
    CHECK(lsq_client_new("https://api.leadsquared.com?x=1", ak, sk) == NULL);
    CHECK(lsq_client_new("https://api.leadsquared.com#x", ak, sk) == NULL);

    CHECK_STATUS(lsq_options_set(o, "allow_http", "true"), LSQ_OK);
    lsq_free(lsq_client_new_with_options("http://pbx.example:8080", ak, sk, o));
    CHECK(strcmp(lsq_last_error(), "") == 0);
    CHECK_STATUS(lsq_options_set(o, "no_such_option", "1"), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "no_such_option");
    CHECK_STATUS(lsq_options_set(o, "timeout_ms", "soon"), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(lsq_last_error(), "timeout_ms");
    CHECK_STATUS(lsq_options_set(o, "rate_limit", "25"), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_options_set(o, "user_agent", "pbx\r\nX-Evil: 1"), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_options_set(o, NULL, "1"), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_options_set(o, "timeout_ms", NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_options_set(NULL, "timeout_ms", "1"), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_options_set_log_callback(NULL, NULL, NULL), LSQ_ERR_INVALID_ARGUMENT);
    lsq_options_free(o);
    lsq_options_free(NULL);
    lsq_free(NULL);
}

/* Runs one popup on c and checks its status and the HTTP status seen. */
static void expect(lsq_client *c, const char *session, lsq_status want, unsigned http)
{
    lsq_popup p = documented_popup(session);
    lsq_status got = lsq_show_agent_popup(c, &p, &result);
    if (got != want || result.http_status != http) {
        fprintf(stderr, "%s: got %d (%s) http %u, want %d http %u; message: %s\n", session, (int)got,
                lsq_status_str(got), (unsigned)result.http_status, (int)want, http, result.message);
        check_failures++;
    }
    CHECK(result.status == got);
    CHECK_NO_KEY(result.message);
    CHECK_NO_KEY(lsq_last_error());
    if (got != LSQ_OK)
        CHECK(strcmp(lsq_last_error(), result.message) == 0 || strlen(lsq_last_error()) >= 255);
}

int main(void)
{
    static const char *const strict[] = {"max_retries", "0", "timeout_ms", "1000", "max_age_ms", "3000", NULL};
    static const char *const retrying[] = {"max_retries", "2", NULL};
    lsq_client *c = test_client(NULL);
    lsq_client *s = test_client(strict);
    lsq_client *r = test_client(retrying);
    lsq_client *wrong;
    lsq_stats st;

    statics();
    clients_refused();

    invalid_inputs(c);

    /* 401: the wrong secret key. The reason names no key. */
    wrong = lsq_client_new(test_env("LSQ_TEST_HOST"), test_env("LSQ_TEST_ACCESS_KEY"), "not-the-secret");
    CHECK(wrong != NULL);
    expect(wrong, "unauthorized", LSQ_ERR_UNAUTHORIZED, 401);
    CHECK(strstr(result.message, "not-the-secret") == NULL);
    lsq_free(wrong);

    /* Faults, in the order the harness queued them. */
    expect(s, "fault-400", LSQ_ERR_BAD_REQUEST, 400);
    CHECK(strcmp(result.message, "Invalid LeadId") == 0);
    expect(s, "fault-404", LSQ_ERR_NOT_FOUND, 404);
    expect(s, "fault-500", LSQ_ERR_SERVER, 500);
    CHECK(strcmp(result.message, "Object reference not set to an instance of an object.") == 0);
    expect(s, "fault-503", LSQ_ERR_SERVER, 503);
    CHECK(result.attempts == 1);
    expect(s, "fault-418", LSQ_ERR_HTTP, 418);
    expect(s, "fault-302", LSQ_ERR_HTTP, 302);
    expect(s, "fault-200-not-json", LSQ_ERR_RESPONSE, 200);
    expect(s, "fault-200-error-status", LSQ_ERR_RESPONSE, 200);
    CHECK_CONTAINS(result.message, "Lead not found");
    expect(s, "fault-drop", LSQ_ERR_CONNECT, 0);
    expect(s, "fault-trickle", LSQ_ERR_TIMEOUT, 200);
    expect(s, "fault-huge", LSQ_ERR_RESPONSE, 200);
    expect(s, "fault-403-limit", LSQ_ERR_RATE_LIMITED, 403);
    /* 502 (retried after a backoff), then 429 with Retry-After: 1 (waited), then shown. */
    expect(r, "fault-502-then-429-then-ok", LSQ_OK, 200);
    CHECK(result.attempts == 3);
    CHECK(result.elapsed_ms >= 1000);
    expect(s, "after-faults", LSQ_OK, 200);

    /* Success, with and without a result (after the faults: they apply to the next good requests). */
    {
        lsq_popup p = documented_popup("ok-1");
        CHECK_STATUS(lsq_show_agent_popup(c, &p, &result), LSQ_OK);
        CHECK(result.status == LSQ_OK && result.http_status == 200 && result.attempts == 1);
        CHECK(strlen(result.message_id) == 36);
        CHECK(strcmp(result.message, "Message broadcasted successfully") == 0);
        CHECK(strcmp(lsq_last_error(), "") == 0);
        p.tag = NULL;
        p.direction = LSQ_OUTBOUND;
        CHECK_STATUS(lsq_show_agent_popup(c, &p, NULL), LSQ_OK);
    }
    CHECK_STATUS(lsq_client_stats(r, &st), LSQ_OK);
    CHECK(st.submitted == 1 && st.succeeded == 1 && st.failed == 0);
    CHECK(st.retries == 2 && st.rate_limited == 1);
    CHECK_STATUS(lsq_client_stats(s, &st), LSQ_OK);
    CHECK(st.submitted == 13 && st.succeeded == 1 && st.failed == 12 && st.queued == 0 && st.in_flight == 0);
    CHECK(st.rate_limited == 1 && st.retries == 0);
    CHECK_STATUS(lsq_client_stats(c, &st), LSQ_OK);
    CHECK(st.submitted == 2 && st.succeeded == 2);
    CHECK_STATUS(lsq_client_stats(NULL, &st), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_client_stats(c, NULL), LSQ_ERR_INVALID_ARGUMENT);
    lsq_free(c);
    lsq_free(s);
    lsq_free(r);

    /* Nothing listens on port 1 of loopback. */
    {
        static const char *const none[] = {"max_retries", "1", NULL};
        lsq_options *o = lsq_options_new();
        lsq_popup p = documented_popup("refused");
        CHECK_STATUS(lsq_options_set(o, none[0], none[1]), LSQ_OK);
        c = lsq_client_new_with_options("http://127.0.0.1:1", test_env("LSQ_TEST_ACCESS_KEY"),
                                        test_env("LSQ_TEST_SECRET_KEY"), o);
        lsq_options_free(o);
        CHECK_STATUS(lsq_show_agent_popup(c, &p, &result), LSQ_ERR_CONNECT);
        CHECK(result.attempts == 2 && result.http_status == 0);
        CHECK_NO_KEY(result.message);
        lsq_free(c);
    }
    CHECK_DONE();
}
