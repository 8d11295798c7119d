/*
 * connector: one whole call, as a PBX module would drive liblsq.
 *
 *   1. the caller's number is looked up (lsq_find_lead: what a dialplan
 *      would route on, e.g. to the lead's owner);
 *   2. a ring-all queue rings two agents at once (lsq_agent_ringing_async
 *      twice, one CallSessionId): each agent gets a popup, and the lead is
 *      looked up once for the whole call (step 1 cached it);
 *   3. after hangup the call log goes through a durable outbox
 *      (lsq_log_call_async: LSQ_OK means committed to disk), and the program
 *      waits until it is delivered (pending count before and after);
 *   4. the client's metrics are printed (lsq_client_metrics).
 *
 * Exit status 0 only when every step succeeded: the lead was found, both
 * popups were shown, the call log was delivered and the outbox is empty.
 *
 *   export LSQ_HOST=http://127.0.0.1:8080     (the emulator; or api-in21.leadsquared.com)
 *   export LSQ_ACCESS_KEY=...  LSQ_SECRET_KEY=...
 *   connector [OUTBOX_FILE]       (default $LSQ_OUTBOX, else ./connector-outbox.db)
 *
 * The numbers and agents are those of the emulator's sample data
 * (emulator/data/sample.json); LSQ_CALLER, LSQ_AGENT1 and LSQ_AGENT2 (an
 * e-mail or a UserId) override them.
 *
 * Build: cc -std=c99 -Wall -Wextra -Wpedantic connector.c $(pkg-config --cflags --libs lsq) -lpthread
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsq.h"

/* What the library's threads report back: guarded by `lock`, signalled on `changed`. */
struct call {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int popups_done, popups_shown;
    int log_done;
    lsq_status log_status;
};

static struct call the_call = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0};

static const char *env_or(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

/* Runs on a library thread, once per agent. */
static void on_ringing(const lsq_ringing_result *res, void *user_data)
{
    const char *agent = user_data;
    if (res->popup.status == LSQ_OK)
        printf("connector: 2. %s: popup shown for %s %s (lead from the %s)\n", agent,
               res->lead.first_name, res->lead.last_name, res->lead.cached ? "cache" : "server");
    else
        printf("connector: 2. %s: no popup: %s: %s\n", agent, lsq_status_str(res->popup.status),
               res->popup.message);
    pthread_mutex_lock(&the_call.lock);
    the_call.popups_done++;
    if (res->popup.status == LSQ_OK)
        the_call.popups_shown++;
    pthread_cond_broadcast(&the_call.changed);
    pthread_mutex_unlock(&the_call.lock);
}

/* Runs on a library thread once the log is delivered or dead. */
static void on_logged(const lsq_result *r, void *user_data)
{
    (void)user_data;
    printf("connector: 3. call log %s (http %u, %u attempt(s))%s%s\n", lsq_status_str(r->status),
           (unsigned)r->http_status, (unsigned)r->attempts, r->message[0] ? ": " : "", r->message);
    pthread_mutex_lock(&the_call.lock);
    the_call.log_done = 1;
    the_call.log_status = r->status;
    pthread_cond_broadcast(&the_call.changed);
    pthread_mutex_unlock(&the_call.lock);
}

/* Waits until `*counter` reaches `n` or 30 s pass; returns whether it did. */
static int wait_for(const int *counter, int n)
{
    struct timespec deadline;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    pthread_mutex_lock(&the_call.lock);
    while (*counter < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&the_call.changed, &the_call.lock, &deadline);
    rc = *counter >= n;
    pthread_mutex_unlock(&the_call.lock);
    return rc;
}

int main(int argc, char **argv)
{
    const char *host = getenv("LSQ_HOST");
    const char *outbox = argc > 1 ? argv[1] : env_or("LSQ_OUTBOX", "connector-outbox.db");
    const char *caller = env_or("LSQ_CALLER", "+91 86117 95988");
    const char *agents[2];
    const char *extensions[2] = {"1001", "1002"};
    char session[64];
    int ok = 1;
    agents[0] = env_or("LSQ_AGENT1", "priya.sharma@example.com");
    agents[1] = env_or("LSQ_AGENT2", "rahul.verma@example.com");

    if (!host || !getenv("LSQ_ACCESS_KEY") || !getenv("LSQ_SECRET_KEY")) {
        fprintf(stderr, "connector: set LSQ_HOST, LSQ_ACCESS_KEY and LSQ_SECRET_KEY\n");
        return 2;
    }
    lsq_options *o = lsq_options_new();
    if (!o || lsq_options_set(o, "default_country_code", "91") != LSQ_OK ||
        lsq_options_set(o, "outbox", outbox) != LSQ_OK) {
        fprintf(stderr, "connector: options: %s\n", lsq_last_error());
        lsq_options_free(o);
        return 2;
    }
    lsq_client *c = lsq_client_new_with_options(host, getenv("LSQ_ACCESS_KEY"),
                                                getenv("LSQ_SECRET_KEY"), o);
    lsq_options_free(o); /* the client keeps a copy */
    if (!c) {
        fprintf(stderr, "connector: %s\n", lsq_last_error());
        return 2;
    }
    time_t start = time(NULL);
    snprintf(session, sizeof session, "connector-%lld", (long long)start);

    /* 1. Who is calling? Blocking: a dialplan routes on the answer. */
    lsq_lead lead;
    lsq_status st = lsq_find_lead(c, caller, &lead);
    if (st == LSQ_OK) {
        printf("connector: 1. %s is %s %s (LeadId %s, owner %s)\n", caller, lead.first_name,
               lead.last_name, lead.lead_id, lead.owner_id);
    } else {
        printf("connector: 1. %s: %s: %s\n", caller, lsq_status_str(st), lead.message);
        ok = 0;
    }

    /* 2. Ring-all: both agents ring at once for the same call. */
    for (int i = 0; i < 2; i++) {
        lsq_ringing r = {
            .caller_number = caller,
            .agent_number = extensions[i],
            .display_number = "+91-8611795989",
            .direction = LSQ_INBOUND,
            .call_session_id = session,
            .user = agents[i],
        };
        if (lsq_agent_ringing_async(c, &r, on_ringing, (void *)agents[i]) != LSQ_OK) {
            fprintf(stderr, "connector: 2. %s not queued: %s\n", agents[i], lsq_last_error());
            ok = 0;
        }
    }
    if (!wait_for(&the_call.popups_done, 2) || the_call.popups_shown != 2)
        ok = 0;

    /* 3. The first agent answered; 42 s later the call ends. */
    time_t answered = start + 3;
    lsq_call_log l = {
        .source_number = caller,
        .destination_number = extensions[0],
        .display_number = "+91-8611795989",
        .direction = LSQ_INBOUND,
        .call_session_id = session, /* the popups' */
        .status = LSQ_CALL_ANSWERED,
        .start_time = (int64_t)answered,
        .end_time = (int64_t)answered + 42,
        .duration_s = 42,
        .user = agents[0],
    };
    uint64_t pending = 0, dead = 0;
    if (lsq_log_call_async(c, &l, on_logged, NULL) != LSQ_OK) {
        fprintf(stderr, "connector: 3. call log not stored: %s\n", lsq_last_error());
        ok = 0;
    } else {
        lsq_outbox_count(c, &pending, &dead);
        printf("connector: 3. call log stored in %s: %" PRIu64 " pending, %" PRIu64 " dead\n",
               outbox, pending, dead);
        if (!wait_for(&the_call.log_done, 1) || the_call.log_status != LSQ_OK)
            ok = 0;
    }
    lsq_outbox_count(c, &pending, &dead);
    printf("connector: 3. outbox drained: %" PRIu64 " pending, %" PRIu64 " dead\n", pending, dead);
    if (pending != 0 || dead != 0)
        ok = 0;

    /* 4. What the client did, as Prometheus would scrape it. */
    static char metrics[32768];
    if (lsq_client_metrics(c, metrics, sizeof metrics) == LSQ_OK)
        printf("connector: 4. metrics:\n%s", metrics);
    else {
        fprintf(stderr, "connector: 4. metrics: %s\n", lsq_last_error());
        ok = 0;
    }

    lsq_free(c);
    printf("connector: %s\n", ok ? "the whole call went through" : "FAILED");
    return ok ? 0 : 1;
}
