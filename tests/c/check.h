/*
 * check.h: the little assertion kit of liblsq's C tests. A failed check
 * prints where and why and counts; the program exits non-zero at the end
 * (CHECK_DONE) so one run shows every failure, not just the first.
 */
#ifndef LSQ_TEST_CHECK_H
#define LSQ_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsq.h"

static int check_failures = 0;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                       \
        }                                                                           \
    } while (0)

#define CHECK_STATUS(got, want)                                                          \
    do {                                                                                 \
        lsq_status check_got_ = (got);                                                   \
        if (check_got_ != (want)) {                                                      \
            fprintf(stderr, "%s:%d: %s gave %d (%s), want %s; last error: %s\n", __FILE__, \
                    __LINE__, #got, (int)check_got_, lsq_status_str(check_got_), #want,  \
                    lsq_last_error());                                                   \
            check_failures++;                                                            \
        }                                                                                \
    } while (0)

#define CHECK_CONTAINS(text, needle)                                                        \
    do {                                                                                    \
        const char *check_text_ = (text);                                                   \
        if (check_text_ == NULL || strstr(check_text_, (needle)) == NULL) {                 \
            fprintf(stderr, "%s:%d: %s = \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
                    #text, check_text_ ? check_text_ : "(null)", (needle));                 \
            check_failures++;                                                               \
        }                                                                                   \
    } while (0)

#define CHECK_DONE()                                                        \
    do {                                                                    \
        if (check_failures) {                                               \
            fprintf(stderr, "%d check(s) failed\n", check_failures);        \
            return 1;                                                       \
        }                                                                   \
        printf("all checks passed\n");                                      \
        return 0;                                                           \
    } while (0)

/* The test harness (tests/c_api.rs) passes the emulator's address and keys. */
static const char *test_env(const char *name)
{
    const char *value = getenv(name);
    if (value == NULL) {
        fprintf(stderr, "%s is not set: run me through cargo test\n", name);
        exit(2);
    }
    return value;
}

/* A valid popup, as LeadSquared's documentation shows it. */
static lsq_popup documented_popup(const char *call_session_id)
{
    lsq_popup p;
    memset(&p, 0, sizeof p);
    p.source_number = "+91-8611795988";
    p.destination_number = "+91-8971373363";
    p.display_number = "+91-8611795989";
    p.direction = LSQ_INBOUND;
    p.call_session_id = call_session_id;
    p.lead_id = "f5c7e023-653c-11e7-b25c-023cca4497b9";
    p.user_id = "dd908e91-c5c9-11e5-8de3-22000aa5088d";
    p.tag = "Tag - Lead";
    return p;
}

/* A client on the test emulator, with options as "key=value" pairs (NULL-terminated). */
static lsq_client *test_client(const char *const *settings)
{
    lsq_options *o = lsq_options_new();
    lsq_client *c;
    size_t i;
    for (i = 0; settings != NULL && settings[i] != NULL; i += 2) {
        if (lsq_options_set(o, settings[i], settings[i + 1]) != LSQ_OK) {
            fprintf(stderr, "option %s=%s refused: %s\n", settings[i], settings[i + 1], lsq_last_error());
            exit(2);
        }
    }
    c = lsq_client_new_with_options(test_env("LSQ_TEST_HOST"), test_env("LSQ_TEST_ACCESS_KEY"),
                                    test_env("LSQ_TEST_SECRET_KEY"), o);
    lsq_options_free(o);
    if (c == NULL) {
        fprintf(stderr, "client refused: %s\n", lsq_last_error());
        exit(2);
    }
    return c;
}

/* Fails the check if either key appears in text. */
#define CHECK_NO_KEY(text)                                                                    \
    do {                                                                                      \
        const char *check_key_text_ = (text);                                                 \
        CHECK(strstr(check_key_text_, test_env("LSQ_TEST_ACCESS_KEY")) == NULL);              \
        CHECK(strstr(check_key_text_, test_env("LSQ_TEST_SECRET_KEY")) == NULL);              \
    } while (0)

#endif
