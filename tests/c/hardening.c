/*
 * Hardening through the C ABI, for memcheck and the sanitizers: hostile
 * server answers (10 MB body, dropped and reset connections, redirects,
 * garbage, keys echoed back), TLS refused and trusted through ca_file, an
 * unusable ca_file, invalid input, and a free over pending popups. Every
 * status, reason and log line is printed (stdout, stderr) so the harness
 * (tests/support/hardening_c.rs) can grep them for the keys.
 *
 * The harness queues the emulator's faults in the order of the "faults"
 * part below, and passes:
 *   LSQ_TEST_HOST, LSQ_TEST_ACCESS_KEY, LSQ_TEST_SECRET_KEY  plain emulator
 *   LSQ_TEST_TLS_HOST                                        TLS emulator, self-signed
 *   LSQ_TEST_SLOW_HOST                                       plain emulator, answers after 30 s
 *   LSQ_TEST_CA_FILE                                         its certificate (PEM)
 *   LSQ_TEST_BAD_CA_FILE                                     a file that is no PEM
 */
#include <pthread.h>

#include "check.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int log_lines;

static void on_log(uint32_t level, const char *line, void *user_data)
{
    (void)user_data;
    pthread_mutex_lock(&lock);
    log_lines++;
    fprintf(stderr, "log[%u]: %s\n", (unsigned)level, line);
    pthread_mutex_unlock(&lock);
}

static int callbacks[16];
static lsq_status async_status[16];

static void on_done(const lsq_result *r, void *user_data)
{
    int i = (int)(size_t)user_data;
    pthread_mutex_lock(&lock);
    callbacks[i]++;
    async_status[i] = r->status;
    printf("async %d: %d (%s) http %u: %s\n", i, (int)r->status, lsq_status_str(r->status),
           (unsigned)r->http_status, r->message);
    pthread_mutex_unlock(&lock);
}

/* A client on `host` with the test keys, these settings and the printing log callback. */
static lsq_client *client_on(const char *host, const char *const *settings)
{
    lsq_options *o = lsq_options_new();
    lsq_client *c;
    size_t i;
    CHECK(o != NULL);
    CHECK_STATUS(lsq_options_set_log_callback(o, on_log, NULL), LSQ_OK);
    CHECK_STATUS(lsq_options_set(o, "proxy", "none"), LSQ_OK);
    for (i = 0; settings != NULL && settings[i] != NULL; i += 2)
        CHECK_STATUS(lsq_options_set(o, settings[i], settings[i + 1]), LSQ_OK);
    c = lsq_client_new_with_options(host, test_env("LSQ_TEST_ACCESS_KEY"), test_env("LSQ_TEST_SECRET_KEY"), o);
    printf("client on %s: %s\n", host, c != NULL ? "ok" : lsq_last_error());
    lsq_options_free(o);
    return c;
}

static lsq_result result;

/* One blocking popup: prints everything it sees and checks the status. */
static void expect(lsq_client *c, const char *session, lsq_status want)
{
    lsq_popup p = documented_popup(session);
    lsq_status got;
    memset(&result, 0x5a, sizeof result);
    got = lsq_show_agent_popup(c, &p, &result);
    printf("%s: %d (%s) http %u attempts %u: message \"%s\" last_error \"%s\"\n", session, (int)got,
           lsq_status_str(got), (unsigned)result.http_status, (unsigned)result.attempts, result.message,
           lsq_last_error());
    if (got != want) {
        fprintf(stderr, "%s: got %d (%s), want %d\n", session, (int)got, lsq_status_str(got), (int)want);
        check_failures++;
    }
    CHECK(result.status == got);
    CHECK(memchr(result.message, '\0', sizeof result.message) != NULL);
    CHECK(memchr(result.message_id, '\0', sizeof result.message_id) != NULL);
    CHECK_NO_KEY(result.message);
    CHECK_NO_KEY(lsq_last_error());
}

static void faults(void)
{
    static const char *const strict[] = {"max_retries", "0", "timeout_ms", "700", "max_age_ms", "3000",
                                         "rate_limit", "0", NULL};
    lsq_client *c = client_on(test_env("LSQ_TEST_HOST"), strict);
    if (c == NULL) {
        check_failures++;
        return;
    }
    /* In the order the harness queued them. */
    expect(c, "fault-huge", LSQ_ERR_RESPONSE);
    expect(c, "fault-drop", LSQ_ERR_CONNECT);
    expect(c, "fault-reset", LSQ_ERR_CONNECT);
    expect(c, "fault-redirect-302", LSQ_ERR_HTTP);
    expect(c, "fault-redirect-307", LSQ_ERR_HTTP);
    expect(c, "fault-garbage", LSQ_ERR_RESPONSE);
    expect(c, "fault-trickle", LSQ_ERR_TIMEOUT);
    expect(c, "fault-400-echo", LSQ_ERR_BAD_REQUEST);
    expect(c, "fault-400-echo-encoded", LSQ_ERR_BAD_REQUEST);
    expect(c, "fault-200-error-echo", LSQ_ERR_RESPONSE);
    expect(c, "fault-429-echo", LSQ_ERR_RATE_LIMITED);
    expect(c, "after-faults", LSQ_OK);
    CHECK(strlen(result.message_id) == 36);
    lsq_free(c);
}

static void tls(void)
{
    static const char *const strict[] = {"max_retries", "0", "rate_limit", "0", NULL};
    const char *host = test_env("LSQ_TEST_TLS_HOST");
    lsq_client *c = client_on(host, strict);
    lsq_options *o;
    if (c != NULL) {
        /* Self-signed: refused by the built-in roots. */
        expect(c, "tls-untrusted", LSQ_ERR_TLS);
        CHECK(result.http_status == 0);
        lsq_free(c);
    } else {
        check_failures++;
    }
    {
        static const char *trusted[] = {"max_retries", "0", "rate_limit", "0", "ca_file", NULL, NULL};
        trusted[5] = test_env("LSQ_TEST_CA_FILE");
        c = client_on(host, trusted);
        if (c != NULL) {
            expect(c, "tls-trusted", LSQ_OK);
            lsq_free(c);
        } else {
            check_failures++;
        }
    }
    /* An unusable ca_file fails client creation, with a reason naming it. */
    o = lsq_options_new();
    CHECK_STATUS(lsq_options_set(o, "ca_file", test_env("LSQ_TEST_BAD_CA_FILE")), LSQ_OK);
    c = lsq_client_new_with_options(host, test_env("LSQ_TEST_ACCESS_KEY"), test_env("LSQ_TEST_SECRET_KEY"), o);
    CHECK(c == NULL);
    printf("bad ca_file: %s\n", lsq_last_error());
    CHECK_CONTAINS(lsq_last_error(), "ca_file");
    CHECK_NO_KEY(lsq_last_error());
    CHECK_STATUS(lsq_options_set(o, "ca_file", "/nonexistent/ca.pem"), LSQ_OK);
    CHECK(lsq_client_new_with_options(host, "an-access-key", "a-secret-key", o) == NULL);
    CHECK_CONTAINS(lsq_last_error(), "ca_file");
    lsq_options_free(o);
    lsq_free(c);
}

static void invalid_input(void)
{
    static const char *const settings[] = {"rate_limit", "0", "proxy", "none", NULL};
    lsq_client *c = test_client(settings);
    lsq_options *o = lsq_options_new();
    char big[70000];
    char bad_utf8[] = {'1', (char)0xC3, (char)0x28, '\0'};
    lsq_popup p = documented_popup("invalid");
    lsq_status s;

    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    p.source_number = big;
    CHECK_STATUS(lsq_show_agent_popup(c, &p, &result), LSQ_ERR_INVALID_ARGUMENT);
    p = documented_popup("invalid");
    p.user_id = bad_utf8;
    CHECK_STATUS(lsq_show_agent_popup_async(c, &p, on_done, NULL), LSQ_ERR_INVALID_ARGUMENT);
    p = documented_popup("invalid");
    p.direction = 7;
    CHECK_STATUS(lsq_show_agent_popup(c, &p, NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_show_agent_popup(c, NULL, NULL), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_options_set(o, "user_agent", "pbx\r\nX-Injected: 1"), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_options_set(o, "proxy", "http://p:1\r\nX-Injected: 1"), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_options_set(o, "user_agent", big), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_options_set(o, big, "1"), LSQ_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(lsq_options_set(o, "timeout_ms", bad_utf8), LSQ_ERR_INVALID_ARGUMENT);
    CHECK(lsq_client_new(big, "an-access-key", "a-secret-key") == NULL);
    CHECK(lsq_client_new("https://h", big, "a-secret-key") == NULL);
    CHECK(lsq_client_new("https://h", "an-access-key\r\n", "a-secret-key") == NULL);
    for (s = -3; s < 20; s++)
        CHECK(lsq_status_str(s) != NULL);
    printf("invalid input: last error \"%.80s\"\n", lsq_last_error());
    lsq_options_free(o);
    lsq_free(c);
}

/* A free over popups stuck on a server that answers nothing for 30 s, with
 * more queued behind: it returns, and every callback ran exactly once. */
static void free_over_pending(void)
{
    static const char *const settings[] = {"rate_limit", "0", "workers", "2", "shutdown_timeout_ms", "300",
                                           "timeout_ms", "20000", NULL};
    lsq_client *c = client_on(test_env("LSQ_TEST_SLOW_HOST"), settings);
    int i;
    if (c == NULL) {
        check_failures++;
        return;
    }
    for (i = 0; i < 8; i++) {
        char session[32];
        lsq_popup p;
        snprintf(session, sizeof session, "pending-%d", i);
        p = documented_popup(session);
        CHECK_STATUS(lsq_show_agent_popup_async(c, &p, on_done, (void *)(size_t)i), LSQ_OK);
    }
    lsq_free(c);
    for (i = 0; i < 8; i++) {
        CHECK(callbacks[i] == 1);
        CHECK(async_status[i] == LSQ_ERR_CANCELLED);
    }
}

int main(void)
{
    faults();
    tls();
    invalid_input();
    free_over_pending();
    printf("%d log lines\n", log_lines);
    CHECK(log_lines > 0);
    CHECK_DONE();
}
