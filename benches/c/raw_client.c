/*
 * bench-raw: the wire's floor. A plain socket writes the prebuilt request
 * (liblsq's exact bytes: the driver checks) with one send() and reads the
 * answer until its head and Content-Length body are in. Nothing an HTTP
 * client could do is cheaper.
 *
 *   bench-raw serve URL          driven by stdin (common.h)
 *   bench-raw count URL N        N requests, then exit (for instruction counts)
 *   bench-raw cold URL K         K fresh connections: "ok" connect+first ns..., "ok" second ns...
 *   bench-raw capacity URL S D   the server's capacity: D requests pipelined per write for S
 *                                seconds over one connection: "capacity <requests/s>"
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

static char request[1024];
static size_t request_len;
static struct sockaddr_in server;

struct conn {
    int fd;
    char buf[1 << 16];
};

static void prepare(const char *base)
{
    const char *authority = strstr(base, "://");
    authority = authority ? authority + 3 : base;
    const char *colon = strrchr(authority, ':');
    if (!colon)
        die("URL needs host:port");
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_port = htons((unsigned short)atoi(colon + 1));
    char ip[64];
    snprintf(ip, sizeof ip, "%.*s", (int)(colon - authority), authority);
    if (inet_pton(AF_INET, ip, &server.sin_addr) != 1)
        die("URL host must be an IPv4 address");
    request_len = (size_t)snprintf(request, sizeof request,
                                   "POST %s%s HTTP/1.1\r\n"
                                   "content-length: %zu\r\n"
                                   "user-agent: " USER_AGENT "\r\n"
                                   "accept: application/json\r\n"
                                   "host: %s\r\n"
                                   "content-type: application/json\r\n"
                                   "\r\n" POPUP_BODY,
                                   API_PATH, QUERY, sizeof POPUP_BODY - 1, authority);
}

static void open_conn(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&server, sizeof server) != 0)
        die("connect");
}

static long content_length(const char *head, const char *end)
{
    for (const char *p = head; p + 16 < end; p++)
        if ((*p == 'C' || *p == 'c') && strncasecmp(p, "content-length:", 15) == 0)
            return strtol(p + 15, NULL, 10);
    return 0;
}

/* Reads one answer; returns its total length, or -1. */
static long read_answer(struct conn *c)
{
    size_t have = 0;
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + have, sizeof c->buf - have, 0);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        char *end = memmem(c->buf, have, "\r\n\r\n", 4);
        if (end) {
            size_t total = (size_t)(end + 4 - c->buf) + (size_t)content_length(c->buf, end);
            if (have >= total)
                return strncmp(c->buf, "HTTP/1.1 200", 12) == 0 ? (long)total : -1;
        }
    }
}

static int one_request(void *ctx)
{
    struct conn *c = ctx;
    if (send(c->fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len)
        return 1;
    return read_answer(c) < 0;
}

static struct conn conn;

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: bench-raw serve|count|cold|capacity URL [args]");
    const char *mode = argv[1];
    long a = argc > 3 ? atol(argv[3]) : 0, b = argc > 4 ? atol(argv[4]) : 0;
    prepare(argv[2]);
    if (strcmp(mode, "serve") == 0) {
        open_conn(&conn);
        serve_loop(one_request, &conn);
    } else if (strcmp(mode, "count") == 0) {
        open_conn(&conn);
        for (long i = 0; i < a; i++)
            if (one_request(&conn))
                die("request failed");
    } else if (strcmp(mode, "cold") == 0) {
        uint64_t *first = malloc((size_t)a * sizeof *first), *warm = malloc((size_t)a * sizeof *warm);
        if (!first || !warm)
            die("out of memory");
        for (long i = 0; i < a; i++) {
            uint64_t t0 = now_ns();
            open_conn(&conn);
            if (one_request(&conn))
                die("request failed");
            uint64_t t1 = now_ns();
            if (one_request(&conn))
                die("request failed");
            uint64_t t2 = now_ns();
            first[i] = t1 - t0;
            warm[i] = t2 - t1;
            close(conn.fd);
        }
        emit(first, a);
        emit(warm, a);
    } else if (strcmp(mode, "capacity") == 0) {
        long depth = b > 0 ? b : 64;
        open_conn(&conn);
        if (one_request(&conn))
            die("request failed");
        /* The answer is fixed: learn its length once, then count bytes. */
        if (send(conn.fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len)
            die("send");
        long answer_len = read_answer(&conn);
        if (answer_len < 0)
            die("bad answer");
        char *batch = malloc(request_len * (size_t)depth);
        if (!batch)
            die("out of memory");
        for (long i = 0; i < depth; i++)
            memcpy(batch + (size_t)i * request_len, request, request_len);
        uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)a * 1000000000u;
        long requests = 0;
        uint64_t t = t0;
        while (t < deadline) {
            size_t want = (size_t)answer_len * (size_t)depth, got = 0;
            if (send(conn.fd, batch, request_len * (size_t)depth, MSG_NOSIGNAL) < 0)
                die("send");
            while (got < want) {
                ssize_t r = recv(conn.fd, conn.buf, sizeof conn.buf, 0);
                if (r <= 0)
                    die("recv");
                got += (size_t)r;
            }
            requests += depth;
            t = now_ns();
        }
        printf("capacity %.0f\n", (double)requests * 1e9 / (double)(t - t0));
    } else {
        die("unknown mode");
    }
    return 0;
}
