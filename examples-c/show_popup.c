/*
 * show_popup: show one LeadSquared agent popup, look a number up, or ring an
 * agent (lookup + popup) from the command line.
 *
 * Ops use it to test credentials, connectivity and lookups from a PBX box:
 *
 *   export LSQ_HOST=api-in21.leadsquared.com
 *   export LSQ_ACCESS_KEY=u$r...  LSQ_SECRET_KEY=...     (never on the command line: ps shows it)
 *   show_popup --lead-id f5c7e023-653c-11e7-b25c-023cca4497b9 \
 *              --user-id dd908e91-c5c9-11e5-8de3-22000aa5088d --source +91-8611795988
 *   show_popup --lookup "+91 86117 95988" --option default_country_code=91
 *   show_popup --ring "+91 86117 95988" --user agent@example.com --destination 1001
 *
 * It prints the result (and lsq_last_error() on failure) and exits with the
 * lsq_status, so scripts can tell LSQ_ERR_UNAUTHORIZED (3) from
 * LSQ_ERR_CONNECT (9). --async shows the same popup through the async API.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsq.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: show_popup [options]\n"
            "  --host HOST            LeadSquared API host or base URL (env LSQ_HOST)\n"
            "  --access-key KEY       access key (env LSQ_ACCESS_KEY; prefer the environment)\n"
            "  --secret-key KEY       secret key (env LSQ_SECRET_KEY; prefer the environment)\n"
            "  --source NUMBER        SourceNumber (default +91-8611795988)\n"
            "  --destination NUMBER   DestinationNumber (default +91-8971373363)\n"
            "  --display NUMBER       DisplayNumber, the IVR number (default +91-8611795989)\n"
            "  --direction DIR        inbound (default) or outbound\n"
            "  --call-session-id ID   CallSessionId (default show-popup-<time>)\n"
            "  --lead-id GUID         LeadId (default the API page's example)\n"
            "  --user-id GUID         UserId (default the API page's example)\n"
            "  --tag TAG              Tag (optional)\n"
            "  --lookup NUMBER        look the lead up by a caller's number (lsq_find_lead)\n"
            "  --ring NUMBER          an agent is ringing for NUMBER: lookup, agent, popup\n"
            "                         (lsq_agent_ringing; --destination is the agent's number)\n"
            "  --user GUID|EMAIL      the agent for --ring (default --user-id)\n"
            "  --option KEY=VALUE     any liblsq option, repeatable (e.g. timeout_ms=3000)\n"
            "  --async                use lsq_show_agent_popup_async and wait for the callback\n"
            "  --verbose              print liblsq's log lines to stderr\n"
            "exit status: the lsq_status (0 = shown)\n");
}

static const char *status_name(lsq_status status)
{
    static const char *const names[] = {
        "LSQ_OK", "LSQ_ERR_INVALID_ARGUMENT", "LSQ_ERR_BAD_REQUEST", "LSQ_ERR_UNAUTHORIZED",
        "LSQ_ERR_NOT_FOUND", "LSQ_ERR_RATE_LIMITED", "LSQ_ERR_SERVER", "LSQ_ERR_HTTP",
        "LSQ_ERR_TIMEOUT", "LSQ_ERR_CONNECT", "LSQ_ERR_TLS", "LSQ_ERR_RESPONSE",
        "LSQ_ERR_QUEUE_FULL", "LSQ_ERR_EXPIRED", "LSQ_ERR_CANCELLED", "LSQ_ERR_INTERNAL",
        "LSQ_DUPLICATE", "LSQ_NO_MATCH", "LSQ_ERR_STORAGE"};
    if (status >= 0 && status < (lsq_status)(sizeof names / sizeof names[0]))
        return names[status];
    return "unknown";
}

static void print_result(const lsq_result *r)
{
    printf("status:      %s (%d): %s\n", status_name(r->status), (int)r->status,
           lsq_status_str(r->status));
    printf("http_status: %u\n", (unsigned)r->http_status);
    printf("attempts:    %u\n", (unsigned)r->attempts);
    printf("elapsed_ms:  %lu\n", (unsigned long)r->elapsed_ms);
    if (r->status == LSQ_OK)
        printf("message_id:  %s\n", r->message_id);
    printf("message:     %s\n", r->message);
}

static void print_lead(const lsq_lead *l)
{
    printf("lead status: %s (%d): %s\n", status_name(l->status), (int)l->status,
           lsq_status_str(l->status));
    printf("http_status: %u, attempts: %u, elapsed_ms: %lu, cached: %u, created: %u\n",
           (unsigned)l->http_status, (unsigned)l->attempts, (unsigned long)l->elapsed_ms,
           (unsigned)l->cached, (unsigned)l->created);
    if (l->status == LSQ_OK) {
        printf("lead_id:     %s\n", l->lead_id);
        printf("name:        %s %s\n", l->first_name, l->last_name);
        printf("phone:       %s\n", l->phone);
        printf("email:       %s\n", l->email);
        printf("company:     %s\n", l->company);
        printf("stage:       %s\n", l->stage);
        printf("owner_id:    %s\n", l->owner_id);
    } else {
        printf("message:     %s\n", l->message);
    }
}

static void log_to_stderr(uint32_t level, const char *message, void *user_data)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    (void)user_data;
    fprintf(stderr, "liblsq %s: %s\n", level < 4 ? levels[level] : "?", message);
}

/* The async callback runs on a library thread; the main thread waits in
 * lsq_flush, which returns only after this has returned. */
static void on_done(const lsq_result *result, void *user_data)
{
    *(lsq_result *)user_data = *result;
}

int main(int argc, char **argv)
{
    const char *host = getenv("LSQ_HOST");
    const char *access_key = getenv("LSQ_ACCESS_KEY");
    const char *secret_key = getenv("LSQ_SECRET_KEY");
    char session[64];
    int use_async = 0, verbose = 0, i;
    const char *lookup = NULL, *ring = NULL, *user = NULL, *lead_given = NULL;
    lsq_options *options = lsq_options_new();
    lsq_popup popup;
    lsq_result result;
    lsq_client *client;

    if (options == NULL) {
        fprintf(stderr, "show_popup: out of memory\n");
        return LSQ_ERR_INTERNAL;
    }
    snprintf(session, sizeof session, "show-popup-%ld", (long)time(NULL));
    memset(&popup, 0, sizeof popup);
    popup.source_number = "+91-8611795988";
    popup.destination_number = "+91-8971373363";
    popup.display_number = "+91-8611795989";
    popup.direction = LSQ_INBOUND;
    popup.call_session_id = session;
    popup.lead_id = "f5c7e023-653c-11e7-b25c-023cca4497b9";
    popup.user_id = "dd908e91-c5c9-11e5-8de3-22000aa5088d";

    for (i = 1; i < argc; i++) {
        const char *flag = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        int takes_value = 1;
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
            usage(stdout);
            lsq_options_free(options);
            return 0;
        } else if (strcmp(flag, "--async") == 0) {
            use_async = 1;
            takes_value = 0;
        } else if (strcmp(flag, "--verbose") == 0) {
            verbose = 1;
            takes_value = 0;
        } else if (value == NULL) {
            fprintf(stderr, "show_popup: %s needs a value (see --help)\n", flag);
            lsq_options_free(options);
            return LSQ_ERR_INVALID_ARGUMENT;
        } else if (strcmp(flag, "--host") == 0) {
            host = value;
        } else if (strcmp(flag, "--access-key") == 0) {
            access_key = value;
        } else if (strcmp(flag, "--secret-key") == 0) {
            secret_key = value;
        } else if (strcmp(flag, "--source") == 0) {
            popup.source_number = value;
        } else if (strcmp(flag, "--destination") == 0) {
            popup.destination_number = value;
        } else if (strcmp(flag, "--display") == 0) {
            popup.display_number = value;
        } else if (strcmp(flag, "--direction") == 0) {
            if (strcmp(value, "inbound") == 0) {
                popup.direction = LSQ_INBOUND;
            } else if (strcmp(value, "outbound") == 0) {
                popup.direction = LSQ_OUTBOUND;
            } else {
                fprintf(stderr, "show_popup: --direction is inbound or outbound\n");
                lsq_options_free(options);
                return LSQ_ERR_INVALID_ARGUMENT;
            }
        } else if (strcmp(flag, "--call-session-id") == 0) {
            popup.call_session_id = value;
        } else if (strcmp(flag, "--lead-id") == 0) {
            popup.lead_id = value;
            lead_given = value;
        } else if (strcmp(flag, "--lookup") == 0) {
            lookup = value;
        } else if (strcmp(flag, "--ring") == 0) {
            ring = value;
        } else if (strcmp(flag, "--user") == 0) {
            user = value;
        } else if (strcmp(flag, "--user-id") == 0) {
            popup.user_id = value;
        } else if (strcmp(flag, "--tag") == 0) {
            popup.tag = value;
        } else if (strcmp(flag, "--option") == 0) {
            char key[128];
            const char *eq = strchr(value, '=');
            size_t len = eq ? (size_t)(eq - value) : 0;
            if (eq == NULL || len == 0 || len >= sizeof key) {
                fprintf(stderr, "show_popup: --option takes KEY=VALUE\n");
                lsq_options_free(options);
                return LSQ_ERR_INVALID_ARGUMENT;
            }
            memcpy(key, value, len);
            key[len] = '\0';
            if (lsq_options_set(options, key, eq + 1) != LSQ_OK) {
                fprintf(stderr, "show_popup: %s\n", lsq_last_error());
                lsq_options_free(options);
                return LSQ_ERR_INVALID_ARGUMENT;
            }
        } else {
            fprintf(stderr, "show_popup: unknown argument %s (see --help)\n", flag);
            lsq_options_free(options);
            return LSQ_ERR_INVALID_ARGUMENT;
        }
        i += takes_value;
    }
    if (host == NULL || access_key == NULL || secret_key == NULL) {
        fprintf(stderr, "show_popup: set LSQ_HOST, LSQ_ACCESS_KEY and LSQ_SECRET_KEY (or the flags)\n");
        lsq_options_free(options);
        return LSQ_ERR_INVALID_ARGUMENT;
    }
    if (verbose)
        lsq_options_set_log_callback(options, log_to_stderr, NULL);

    client = lsq_client_new_with_options(host, access_key, secret_key, options);
    lsq_options_free(options); /* the client keeps its own copy */
    if (client == NULL) {
        fprintf(stderr, "show_popup: cannot create the client: %s\n", lsq_last_error());
        return LSQ_ERR_INVALID_ARGUMENT;
    }

    if (lookup != NULL) {
        lsq_lead lead;
        printf("liblsq %s: looking up %s through %s\n", lsq_version(), lookup, host);
        lsq_find_lead(client, lookup, &lead);
        print_lead(&lead);
        lsq_free(client);
        return lead.status;
    }
    if (ring != NULL) {
        lsq_ringing r;
        lsq_ringing_result rr;
        memset(&r, 0, sizeof r);
        r.caller_number = ring;
        r.agent_number = popup.destination_number;
        r.display_number = popup.display_number;
        r.direction = popup.direction;
        r.call_session_id = popup.call_session_id;
        r.user = user != NULL ? user : popup.user_id;
        r.lead_id = lead_given;
        r.tag = popup.tag;
        printf("liblsq %s: agent %s ringing for %s through %s\n", lsq_version(), r.user, ring, host);
        lsq_agent_ringing(client, &r, &rr);
        print_lead(&rr.lead);
        print_result(&rr.popup);
        lsq_free(client);
        return rr.popup.status;
    }
    printf("liblsq %s: showing a popup through %s\n", lsq_version(), host);
    if (use_async) {
        lsq_status queued = lsq_show_agent_popup_async(client, &popup, on_done, &result);
        if (queued != LSQ_OK) {
            memset(&result, 0, sizeof result);
            result.status = queued;
            snprintf(result.message, sizeof result.message, "%s", lsq_last_error());
        } else if (lsq_flush(client, 60000) != LSQ_OK) {
            fprintf(stderr, "show_popup: %s\n", lsq_last_error());
        }
    } else if (lsq_show_agent_popup(client, &popup, &result) != LSQ_OK) {
        fprintf(stderr, "show_popup: failed: %s\n", lsq_last_error());
    }
    print_result(&result);
    lsq_free(client);
    return result.status;
}
