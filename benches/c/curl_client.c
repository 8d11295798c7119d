/*
 * bench-curl: the same popup with libcurl, the way a careful C integrator
 * would write it: one easy handle reused (so one keep-alive connection), the
 * same URL, the same headers in the same order (liblsq's, byte for byte:
 * the driver checks), the same body, the same timeouts, no proxy; the
 * answer is collected, its status must be 200 and its body must say Success.
 *
 *   bench-curl serve URL       driven by stdin (common.h)
 *   bench-curl count URL N     N popups, then exit (for instruction counts)
 *   bench-curl cold URL K      K fresh handles: "ok" first-request ns..., "ok" second ns...
 *   bench-curl mem URL N       "rss <before handle> <idle handle> <after 1> <after N>" in KiB
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include "common.h"

#include <curl/curl.h>

struct answer {
    char buf[4096];
    size_t len;
};

struct popup_handle {
    CURL *easy;
    struct curl_slist *headers;
    struct answer answer;
    char error[CURL_ERROR_SIZE];
};

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    struct answer *a = user;
    size_t len = size * n;
    if (len > sizeof a->buf - 1 - a->len)
        return 0; /* too large: fail the transfer, as liblsq's body limit does */
    memcpy(a->buf + a->len, data, len);
    a->len += len;
    return len;
}

static void open_handle(struct popup_handle *h, const char *base)
{
    static char url[512], host[300], length[64];
    const char *authority = strstr(base, "://");
    authority = authority ? authority + 3 : base;
    snprintf(url, sizeof url, "%s%s%s", base, API_PATH, QUERY);
    snprintf(host, sizeof host, "host: %s", authority);
    snprintf(length, sizeof length, "content-length: %zu", sizeof POPUP_BODY - 1);
    memset(h, 0, sizeof *h);
    h->easy = curl_easy_init();
    if (!h->easy)
        die("curl_easy_init");
    /* liblsq's header block, in its order. */
    const char *lines[] = {length, "user-agent: " USER_AGENT, "accept: application/json", host,
                           "content-type: application/json"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        h->headers = curl_slist_append(h->headers, lines[i]);
    curl_easy_setopt(h->easy, CURLOPT_URL, url);
    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, POPUP_BODY);
    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE, (long)(sizeof POPUP_BODY - 1));
    curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, &h->answer);
    curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->error);
    curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h->easy, CURLOPT_PROXY, "");
    curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h->easy, CURLOPT_TCP_NODELAY, 1L);
}

static void close_handle(struct popup_handle *h)
{
    curl_easy_cleanup(h->easy);
    curl_slist_free_all(h->headers);
}

static int one_popup(void *ctx)
{
    struct popup_handle *h = ctx;
    h->answer.len = 0;
    CURLcode rc = curl_easy_perform(h->easy);
    if (rc != CURLE_OK) {
        fprintf(stderr, "bench-curl: %s\n", h->error[0] ? h->error : curl_easy_strerror(rc));
        return 1;
    }
    long code = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code);
    h->answer.buf[h->answer.len] = '\0';
    if (code != 200 || !strstr(h->answer.buf, "\"Status\":\"Success\"")) {
        fprintf(stderr, "bench-curl: HTTP %ld: %s\n", code, h->answer.buf);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: bench-curl serve|count|cold|mem URL [args]");
    const char *mode = argv[1], *url = argv[2];
    long a = argc > 3 ? atol(argv[3]) : 0;
    long before = rss_kib();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        die("curl_global_init");
    struct popup_handle h;
    if (strcmp(mode, "serve") == 0) {
        open_handle(&h, url);
        serve_loop(one_popup, &h);
        close_handle(&h);
    } else if (strcmp(mode, "count") == 0) {
        open_handle(&h, url);
        for (long i = 0; i < a; i++)
            if (one_popup(&h))
                die("popup failed");
        close_handle(&h);
    } else if (strcmp(mode, "cold") == 0) {
        uint64_t *first = malloc((size_t)a * sizeof *first), *warm = malloc((size_t)a * sizeof *warm);
        if (!first || !warm)
            die("out of memory");
        for (long i = 0; i < a; i++) {
            open_handle(&h, url);
            uint64_t t0 = now_ns();
            if (one_popup(&h))
                die("popup failed");
            uint64_t t1 = now_ns();
            if (one_popup(&h))
                die("popup failed");
            uint64_t t2 = now_ns();
            first[i] = t1 - t0;
            warm[i] = t2 - t1;
            close_handle(&h);
        }
        emit(first, a);
        emit(warm, a);
    } else if (strcmp(mode, "mem") == 0) {
        open_handle(&h, url);
        long idle = rss_kib();
        if (one_popup(&h))
            die("popup failed");
        long one = rss_kib();
        for (long i = 1; i < a; i++)
            if (one_popup(&h))
                die("popup failed");
        long after = rss_kib();
        close_handle(&h);
        printf("rss %ld %ld %ld %ld\n", before, idle, one, after);
    } else {
        die("unknown mode");
    }
    curl_global_cleanup();
    return 0;
}
