/*
 * bench-server: the fastest loopback stand-in for ShowAgentPopup that the
 * benchmark could write, so that it is never the bottleneck.
 *
 * One thread per connection (a blocked recv() wakes straight into the
 * handler: no event loop hop), TCP_NODELAY, HTTP/1.1 keep-alive and
 * pipelining, a canned documented success answer written with one send().
 * It checks the request line (POST to the documented path, else 404) and
 * reads exactly Content-Length body bytes; nothing else is parsed.
 *
 *   bench-server            listens on 127.0.0.1:<free port>, prints "PORT <n>"
 *   BENCH_CAPTURE_DIR=dir   also writes each connection's first request to
 *                           dir/<n>.req (to prove every client sends the same bytes)
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY                                                                                       \
    "{\"Status\":\"Success\",\"Message\":{\"Id\":\"b8c4d74f-17ed-4bae-9f05-c183496680f1\","       \
    "\"Message\":\"Message broadcasted successfully\"}}"

static char ok_answer[512];
static size_t ok_len;
static const char not_found[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
static const char *capture_dir;
static unsigned long conn_seq;
static pthread_mutex_t seq_lock = PTHREAD_MUTEX_INITIALIZER;

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The value of Content-Length in the head [p, end), or -1 when absent. */
static long content_length(const char *p, const char *end)
{
    static const char name[] = "\r\ncontent-length:";
    size_t n = sizeof name - 1;
    for (; p + n <= end; p++) {
        if (*p == '\r' && strncasecmp(p, name, n) == 0) {
            const char *v = p + n;
            while (v < end && *v == ' ')
                v++;
            long len = 0;
            while (v < end && *v >= '0' && *v <= '9')
                len = len * 10 + (*v++ - '0');
            return len;
        }
    }
    return -1;
}

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    unsigned long id;
    pthread_mutex_lock(&seq_lock);
    id = conn_seq++;
    pthread_mutex_unlock(&seq_lock);
    int captured = capture_dir == NULL;
    size_t cap = 1 << 16, have = 0;
    char *buf = malloc(cap);
    char *out = malloc(cap);
    if (!buf || !out)
        goto done;
    for (;;) {
        ssize_t r = recv(fd, buf + have, cap - have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
        /* Answer every complete request in the buffer (pipelining), in one send. */
        size_t used = 0, out_len = 0;
        for (;;) {
            char *head = buf + used;
            char *end = memmem(head, have - used, "\r\n\r\n", 4);
            if (!end)
                break;
            long len = content_length(head, end + 2);
            size_t total = (size_t)(end + 4 - head) + (size_t)(len < 0 ? 0 : len);
            if (total > have - used)
                break;
            if (!captured) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%lu.req", capture_dir, id);
                FILE *f = fopen(path, "wb");
                if (f) {
                    fwrite(head, 1, total, f);
                    fclose(f);
                }
                captured = 1;
            }
            static const char line[] = "POST /v2/Telephony.svc/ShowAgentPopup";
            int ok = strncmp(head, line, sizeof line - 1) == 0 &&
                     (head[sizeof line - 1] == '?' || head[sizeof line - 1] == ' ');
            const char *a = ok ? ok_answer : not_found;
            size_t alen = ok ? ok_len : sizeof not_found - 1;
            if (out_len + alen > cap) {
                if (send_all(fd, out, out_len) < 0)
                    goto done;
                out_len = 0;
            }
            memcpy(out + out_len, a, alen);
            out_len += alen;
            used += total;
        }
        if (out_len && send_all(fd, out, out_len) < 0)
            break;
        if (used) {
            memmove(buf, buf + used, have - used);
            have -= used;
        }
        if (have == cap)
            break; /* a head or body larger than 64 KiB: not a popup */
    }
done:
    free(buf);
    free(out);
    close(fd);
    return NULL;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    capture_dir = getenv("BENCH_CAPTURE_DIR");
    ok_len = (size_t)snprintf(ok_answer, sizeof ok_answer,
                              "HTTP/1.1 200 OK\r\n"
                              "Content-Type: application/json; charset=utf-8\r\n"
                              "Content-Length: %zu\r\n"
                              "\r\n" BODY,
                              sizeof BODY - 1);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const char *port = getenv("BENCH_PORT");
    a.sin_port = htons(port ? (unsigned short)atoi(port) : 0);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1024) < 0) {
        perror("bench-server: bind/listen");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            perror("bench-server: accept");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        if (pthread_create(&t, &attr, serve, (void *)(long)fd) != 0)
            close(fd);
    }
}
