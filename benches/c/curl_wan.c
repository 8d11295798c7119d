/*
 * bench-curl-wan: libcurl popups over a slow link, for `cargo bench --bench wan`.
 *
 *   bench-curl-wan new|reuse URL CAFILE WAIT_MS GAP_MS
 *
 * After WAIT_MS (the process is "started"), one popup (start-up), one right
 * after it (warm), then GAP_MS of quiet and one more (after an idle close by
 * the server). `new`: a new easy handle for every popup, as Asterisk's
 * CURL() does; `reuse`: one handle for all three (keep-alive). Prints
 * "ok <ms> <ms> <ms>" (each popup's wall time, milliseconds).
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

int main(int argc, char **argv)
{
    if (argc != 6)
        die("usage: bench-curl-wan new|reuse URL CAFILE WAIT_MS GAP_MS");
    int reuse = strcmp(argv[1], "reuse") == 0;
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
