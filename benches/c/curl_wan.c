/*
 * bench-curl-wan: libcurl popups over a slow link, for `cargo bench --bench wan`.
 *
 *   bench-curl-wan new|reuse|ring-new|ring-reuse URL CAFILE WAIT_MS GAP_MS
 *
 * After WAIT_MS (the process is "started"), one popup (start-up), one right
 * after it (warm), then GAP_MS of quiet and one more (after an idle close by
 * the server). `new`: a new easy handle for every popup, as Asterisk's
 * CURL() does; `reuse`: one handle for all three (keep-alive). Prints
 * "ok <ms> <ms> <ms>" (each popup's wall time, milliseconds).
 *
 * `ring-new` and `ring-reuse` do an agent ringing instead of a popup: a lead
 * lookup (GET RetrieveLeadByPhoneNumber, a different sample caller each
 * time), its ProspectID taken from the answer, then the popup for that lead;
 * `ring-new` with a new handle for each of the two requests (two CURL()
 * calls in a dialplan), `ring-reuse` with one handle for everything. The
 * time is the two requests together.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include "common.h"

#include <curl/curl.h>
#include <unistd.h>

static size_t sink(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    (void)user;
    return size * n;
}

/* The lookup's answer, kept to find the ProspectID in. */
struct answer {
    char text[8192];
    size_t len;
};

static size_t keep(char *data, size_t size, size_t n, void *user)
{
    struct answer *a = user;
    size_t room = sizeof a->text - 1 - a->len;
    size_t take = size * n < room ? size * n : room;
    memcpy(a->text + a->len, data, take);
    a->len += take;
    a->text[a->len] = 0;
    return size * n;
}

static CURL *handle(const char *url, const char *cafile, struct curl_slist *headers)
{
    CURL *easy = curl_easy_init();
    if (!easy)
        die("curl_easy_init");
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, POPUP_BODY);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)(sizeof POPUP_BODY - 1));
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_CAINFO, cafile);
    return easy;
}

static double popup(CURL *easy)
{
    uint64_t t = now_ns();
    CURLcode rc = curl_easy_perform(easy);
    double ms = (double)(now_ns() - t) / 1e6;
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK || code != 200) {
        fprintf(stderr, "bench-curl-wan: %s, HTTP %ld\n", curl_easy_strerror(rc), code);
        exit(1);
    }
    return ms;
}

/* The callers' digits, one per moment (sample leads, as in benches/wan.rs). */
static const char *const CALLERS[3] = {"918611795988", "919845012345", "917003012345"};

/* A lookup then the popup for the lead found, on `easy` (or on a new
 * handle for each request when `easy` is NULL); their wall time, in ms. */
static double ring(CURL *easy, const char *base, const char *cafile, struct curl_slist *headers,
                   int i)
{
    char lookup[512], popup_url[512], body[1024];
    snprintf(lookup, sizeof lookup, "%s/v2/LeadManagement.svc/RetrieveLeadByPhoneNumber%s&phone=%s",
             base, QUERY, CALLERS[i]);
    snprintf(popup_url, sizeof popup_url, "%s%s%s", base, API_PATH, QUERY);
    static struct answer a;
    a.len = 0;
    a.text[0] = 0;
    uint64_t t = now_ns();
    CURL *get = easy ? easy : handle(lookup, cafile, headers);
    curl_easy_setopt(get, CURLOPT_URL, lookup);
    curl_easy_setopt(get, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(get, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(get, CURLOPT_WRITEDATA, &a);
    CURLcode rc = curl_easy_perform(get);
    long code = 0;
    curl_easy_getinfo(get, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(get, CURLOPT_WRITEFUNCTION, sink);
    if (!easy)
        curl_easy_cleanup(get);
    const char *id = strstr(a.text, "\"ProspectID\":\"");
    if (rc != CURLE_OK || code != 200 || !id) {
        fprintf(stderr, "bench-curl-wan: lookup %s, HTTP %ld: %s\n", curl_easy_strerror(rc), code,
                a.text);
        exit(1);
    }
    id += strlen("\"ProspectID\":\"");
    snprintf(body, sizeof body,
             "{\"SourceNumber\":\"" P_SOURCE "\",\"DestinationNumber\":\"" P_DESTINATION
             "\",\"DisplayNumber\":\"" P_DISPLAY "\",\"Direction\":\"Inbound\",\"CallSessionId\":\"" P_CALL
             "\",\"LeadId\":\"%.36s\",\"UserId\":\"" P_USER "\"}",
             id);
    CURL *post = easy ? easy : handle(popup_url, cafile, headers);
    curl_easy_setopt(post, CURLOPT_URL, popup_url);
    curl_easy_setopt(post, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(post, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    (void)popup(post);
    if (!easy)
        curl_easy_cleanup(post);
    return (double)(now_ns() - t) / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 6)
        die("usage: bench-curl-wan new|reuse|ring-new|ring-reuse URL CAFILE WAIT_MS GAP_MS");
    int reuse = strcmp(argv[1], "reuse") == 0;
    if (strncmp(argv[1], "ring-", 5) == 0) {
        int keep_handle = strcmp(argv[1], "ring-reuse") == 0;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        struct curl_slist *headers = NULL;
        headers = curl_slist_append(headers, "Accept: application/json");
        headers = curl_slist_append(headers, "Content-Type: application/json");
        headers = curl_slist_append(headers, "User-Agent: " USER_AGENT);
        usleep((useconds_t)atol(argv[4]) * 1000);
        CURL *easy = keep_handle ? handle(argv[2], argv[3], headers) : NULL;
        double ms[3];
        for (int i = 0; i < 3; i++) {
            if (i == 2)
                usleep((useconds_t)atol(argv[5]) * 1000);
            ms[i] = ring(easy, argv[2], argv[3], headers, i);
        }
        if (easy)
            curl_easy_cleanup(easy);
        curl_slist_free_all(headers);
        curl_global_cleanup();
        printf("ok %.2f %.2f %.2f\n", ms[0], ms[1], ms[2]);
        return 0;
    }
    char url[512];
    snprintf(url, sizeof url, "%s%s%s", argv[2], API_PATH, QUERY);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "User-Agent: " USER_AGENT);
    usleep((useconds_t)atol(argv[4]) * 1000);
    double ms[3];
    CURL *easy = handle(url, argv[3], headers);
    for (int i = 0; i < 3; i++) {
        if (i == 2)
            usleep((useconds_t)atol(argv[5]) * 1000);
        if (!reuse && i > 0) {
            curl_easy_cleanup(easy);
            easy = handle(url, argv[3], headers);
        }
        ms[i] = popup(easy);
    }
    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    printf("ok %.2f %.2f %.2f\n", ms[0], ms[1], ms[2]);
    return 0;
}
