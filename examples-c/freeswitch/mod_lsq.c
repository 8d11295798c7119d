/*
 * mod_lsq -- LeadSquared's telephony flow from the FreeSWITCH dialplan, through
 * liblsq: look the caller up, pop the lead up on every ringing agent, route to
 * the lead's owner, log every call.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * Applications and API commands:
 *   lsq_popup [lead_id|-] [user] ...   an agent's leg rings (execute_on_ring):
 *                                      look the caller up unless lead_id is
 *                                      given, pop the lead up; never waits.
 *   lsq_lookup [number]                app: find the lead for routing, waiting
 *                                      at most lookup_timeout_ms; sets
 *                                      lsq_lead_id, lsq_lead_name,
 *                                      lsq_lead_owner, lsq_owner_agent, lsq_status.
 *   lsq_lookup <uuid> [number]         API: the same, on the channel <uuid>.
 *   lsq_answered [agent]               app for execute_on_answer on the agent's
 *                                      leg: records the agent on the call's A leg.
 *   lsq_log_call [direction] ...       app: logs the call when this leg hangs up
 *                                      (through api_hangup_hook), durably.
 *   lsq status | reload | metrics      API.
 *
 * Threads and locking, in one place:
 *
 *  - liblsq's client is thread-safe; every *_async call validates, copies and
 *    queues and returns at once, never waiting on the network.
 *
 *  - The current client (and the lsq.conf settings that go with it) lives in
 *    one `struct lsq_state`, reached through globals.current under
 *    globals.lock (a switch_thread_rwlock_t).  Readers hold the read lock only
 *    to submit.  "lsq reload" and the module's shutdown hold the write lock
 *    while the old client is freed and (reload) the new one created: two
 *    clients may not open one outbox file at once.  That takes at most
 *    shutdown_timeout_ms: queued popups get that long, then are cancelled;
 *    call logs stay in the outbox and the new client sends them.  Meanwhile
 *    lsq_popup does not wait (the popup is skipped, lsq_status=ERROR),
 *    lsq_lookup waits at most its timeout, and the call log waits, so that
 *    no log is lost to a reload.
 *
 *  - Results arrive on liblsq's own threads.  Callbacks only log, signal a
 *    waiting lookup and free their own context; they never take globals.lock
 *    and never call lsq_free() or lsq_flush().  lsq_free() returns only after
 *    every callback has returned, so once the shutdown function is done no
 *    code of this module runs any more.  The call log is triggered through
 *    api_hangup_hook (an API command looked up by name at hangup), never a
 *    state handler pointing into this module, so unloading it with calls up
 *    is safe.
 *
 *  - Each outcome is logged once, by this module, with the leg's uuid and the
 *    agent; liblsq's own per-popup failure line is logged at DEBUG only.
 *
 *  - The access key and the secret key are read from lsq.conf.xml, handed to
 *    liblsq and never logged, printed or kept by this module.
 */

#include <switch.h>

#include <lsq.h>

#define CONFIG_FILE "lsq.conf"

/* A field longer than liblsq's limit (256 bytes) is kept at 257 bytes, so that
 * liblsq refuses it as too long rather than this module cutting it. */
#define FIELD_BUF 258
#define HOST_BUF 256
#define URL_BUF 2100
#define PATH_BUF 4096
#define METRICS_BUF 16384
#define SUMMARY_BUF 600

SWITCH_MODULE_LOAD_FUNCTION(mod_lsq_load);
SWITCH_MODULE_SHUTDOWN_FUNCTION(mod_lsq_shutdown);
SWITCH_MODULE_DEFINITION(mod_lsq, mod_lsq_load, mod_lsq_shutdown, NULL);

#define POPUP_SYNTAX "[lead_id|-] [user] [source] [destination] [display] [inbound|outbound] [tag]"
#define LOOKUP_APP_SYNTAX "[number]"
#define LOOKUP_API_SYNTAX "<uuid> [number]"
#define ANSWERED_SYNTAX "[agent]"
#define LOG_SYNTAX "[inbound|outbound] [lead_number] [agent] [display] [tag]"
#define API_SYNTAX "status|metrics|reload|lookup <number>|log_call <uuid> " LOG_SYNTAX

/* An agent mapping of <users>: extension => UserId GUID or e-mail. */
struct lsq_user {
	char key[FIELD_BUF];
	char value[FIELD_BUF];
	int is_email;
};

/* What the applications need from one load of lsq.conf.  Immutable once
 * published through globals.current, so readers need only the read lock. */
struct lsq_state {
	lsq_client *client;
	char host[HOST_BUF];             /* shown by "lsq status"; not a secret */
	char outbox[PATH_BUF];           /* "" when call logs are kept in memory only */
	char default_display[FIELD_BUF]; /* may be "" */
	char default_tag[FIELD_BUF];     /* may be "" */
	char recording_url[URL_BUF];     /* template with {file}, may be "" */
	unsigned int lookup_timeout_ms;
	int use_uuid;                    /* CallSessionId: 0 = the call's id, 1 = this leg's uuid */
	struct lsq_user *users;
	unsigned int user_count;
};

static struct {
	switch_thread_rwlock_t *lock;    /* guards `current` */
	struct lsq_state *current;       /* NULL while not configured */
	switch_mutex_t *reload_mutex;    /* "lsq reload" may be run by two clients at once */
	switch_memory_pool_t *pool;
} globals;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

/* The short name of a status, as lsq_status and the log lines print it and
 * the README's troubleshooting lists it. */
static const char *status_name(lsq_status s)
{
	switch (s) {
	case LSQ_OK: return "OK";
	case LSQ_ERR_INVALID_ARGUMENT: return "INVALID";
	case LSQ_ERR_BAD_REQUEST: return "BAD_REQUEST";
	case LSQ_ERR_UNAUTHORIZED: return "UNAUTHORIZED";
	case LSQ_ERR_NOT_FOUND: return "NOT_FOUND";
	case LSQ_ERR_RATE_LIMITED: return "RATE_LIMITED";
	case LSQ_ERR_SERVER: return "SERVER";
	case LSQ_ERR_HTTP: return "HTTP";
	case LSQ_ERR_TIMEOUT: return "TIMEOUT";
	case LSQ_ERR_CONNECT: return "CONNECT";
	case LSQ_ERR_TLS: return "TLS";
	case LSQ_ERR_RESPONSE: return "RESPONSE";
	case LSQ_ERR_QUEUE_FULL: return "QUEUE_FULL";
	case LSQ_ERR_EXPIRED: return "EXPIRED";
	case LSQ_ERR_CANCELLED: return "CANCELLED";
	case LSQ_ERR_INTERNAL: return "INTERNAL";
	case LSQ_DUPLICATE: return "DUPLICATE";
	case LSQ_NO_MATCH: return "NO_MATCH";
	case LSQ_ERR_STORAGE: return "STORAGE";
	default: return "ERROR";
	}
}

/* 8-4-4-4-12 hexadecimal digits. */
static int is_guid(const char *s)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	size_t g;
	int i;

	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (i = 0; i < groups[g]; i++, s++) {
			if (!isxdigit((unsigned char) *s)) {
				return 0;
			}
		}
		if (*s != (g + 1 < sizeof(groups) / sizeof(groups[0]) ? '-' : '\0')) {
			return 0;
		}
		s++;
	}
	return 1;
}

static int is_email(const char *s)
{
	const char *at = strchr(s, '@');

	return at && at != s && at[1] && !strpbrk(s, " \t") && !strchr(at + 1, '@');
}

static int has_digit(const char *s)
{
	for (; *s; s++) {
		if (isdigit((unsigned char) *s)) {
			return 1;
		}
	}
	return 0;
}

/* An argument left out, or given as "-" to reach a later one, takes its default. */
static const char *arg_or(const char *arg, const char *fallback)
{
	return (zstr(arg) || !strcmp(arg, "-")) ? fallback : arg;
}

static void wipe(char *buf, size_t len)
{
	volatile char *p = buf;

	while (len--) {
		*p++ = '\0';
	}
}

/* liblsq's own log lines.  Called on any thread: it only logs. */
static void lsq_log_cb(uint32_t level, const char *message, void *user_data)
{
	switch_log_level_t fs_level;

	(void) user_data;
	/* "call X: popup failed after N attempt(s): ..." is said again, with the
	 * leg and the agent, by popup_done(): keep one of the two. */
	if (level == LSQ_LOG_ERROR && !strncmp(message, "call ", 5) && strstr(message, ": popup failed")) {
		level = LSQ_LOG_DEBUG;
	}
	switch (level) {
	case LSQ_LOG_ERROR:
		fs_level = SWITCH_LOG_ERROR;
		break;
	case LSQ_LOG_WARN:
		fs_level = SWITCH_LOG_WARNING;
		break;
	case LSQ_LOG_INFO:
		fs_level = SWITCH_LOG_INFO;
		break;
	default: /* LSQ_LOG_DEBUG, and any level a newer liblsq may add */
		fs_level = SWITCH_LOG_DEBUG;
		break;
	}
	switch_log_printf(SWITCH_CHANNEL_LOG, fs_level, "liblsq: %s\n", message);
}

static void state_free(struct lsq_state *state)
{
	if (!state) {
		return;
	}
	/* Waits for queued work (up to shutdown_timeout_ms) and for every
	 * callback to return.  Callbacks never take globals.lock. */
	lsq_free(state->client);
	free(state->users);
	free(state);
}

static const struct lsq_user *find_user(const struct lsq_state *state, const char *key)
{
	unsigned int i;

	for (i = state->user_count; i-- > 0;) {
		if (!strcmp(state->users[i].key, key)) {
			return &state->users[i];
		}
	}
	return NULL;
}

/* The `user` for liblsq: the <users> value of `agent`, else `agent` itself
 * when it is a GUID or an e-mail; NULL when it is neither. */
static const char *resolve_user(const struct lsq_state *state, const char *agent)
{
	const struct lsq_user *u = find_user(state, agent);

	if (u) {
		return u->value;
	}
	if (is_guid(agent) || is_email(agent)) {
		return agent;
	}
	return NULL;
}

/* The read lock without waiting (ms == 0), waiting at most ms, or as long as
 * a reload takes (ms < 0). */
static switch_status_t state_rdlock(int ms)
{
	if (ms < 0) {
		return switch_thread_rwlock_rdlock(globals.lock);
	}
	for (;;) {
		if (switch_thread_rwlock_tryrdlock(globals.lock) == SWITCH_STATUS_SUCCESS) {
			return SWITCH_STATUS_SUCCESS;
		}
		if (ms <= 0) {
			return SWITCH_STATUS_FALSE;
		}
		switch_yield(10000);
		ms -= 10;
	}
}

/*
 * The call's own id, the same on every leg of a call: ${call_uuid} (the A
 * leg's uuid on the legs it originates).  A leg reached through loopback/
 * has the loopback B leg as its "A leg", which has its own uuid: then the id
 * of the call that originated the loopback (other_loopback_from_uuid) is
 * taken instead, so that the loopback legs and the agent's phone all use the
 * caller's id (and dedup_window_ms sends one popup).  Returns a copy in the
 * session's pool.
 */
static const char *call_id(switch_core_session_t *session)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	const char *id = switch_channel_get_variable(channel, "call_uuid");
	const char *from;
	int hops;

	if (zstr(id)) {
		id = switch_core_session_get_uuid(session);
	}
	if (!strcmp(switch_str_nil(switch_channel_get_variable(channel, "loopback_leg")), "B")
		&& !zstr(from = switch_channel_get_variable(channel, "other_loopback_from_uuid"))) {
		id = from;
	}
	/* A leg originated by a loopback B leg: follow it (a few hops at most). */
	for (hops = 0; hops < 3; hops++) {
		switch_core_session_t *other;
		const char *next = NULL;

		if (!strcmp(id, switch_core_session_get_uuid(session)) || !(other = switch_core_session_locate(id))) {
			break;
		}
		{
			switch_channel_t *oc = switch_core_session_get_channel(other);

			if (!strcmp(switch_str_nil(switch_channel_get_variable_dup(oc, "loopback_leg", SWITCH_FALSE, -1)), "B")) {
				const char *f = switch_channel_get_variable_dup(oc, "other_loopback_from_uuid", SWITCH_FALSE, -1);

				if (!zstr(f)) {
					next = switch_core_session_strdup(session, f);
				}
			}
		}
		switch_core_session_rwunlock(other);
		if (!next || !strcmp(next, id)) {
			break;
		}
		id = next;
	}
	return id;
}

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */

/* Reads lsq.conf.xml into a new state with its liblsq options (the client is
 * created by state_replace()).  NULL when the file is missing or wrong; every
 * problem is logged. */
static struct lsq_state *state_from_config(lsq_options **opts_out, char *ak, char *sk, size_t key_len)
{
	switch_xml_t xml, cfg, settings, users, param;
	struct lsq_state *state = NULL;
	lsq_options *opts = NULL;
	int bad = 0, have_outbox = 0;
	unsigned int n;

	*opts_out = NULL;
	if (!(xml = switch_xml_open_cfg(CONFIG_FILE, &cfg, NULL))) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR,
			"%s is missing or unreadable: mod_lsq answers lsq_status=ERROR until it is fixed and reloaded\n",
			CONFIG_FILE);
		return NULL;
	}
	if (!(state = calloc(1, sizeof(*state))) || !(opts = lsq_options_new())) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_CRIT, "%s: out of memory\n", CONFIG_FILE);
		goto fail;
	}
	state->lookup_timeout_ms = 2000;
	if (lsq_options_set_log_callback(opts, lsq_log_cb, NULL) != LSQ_OK) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR, "%s: cannot route liblsq's log: %s\n",
			CONFIG_FILE, lsq_last_error());
		goto fail;
	}

	if ((settings = switch_xml_child(cfg, "settings"))) {
		for (param = switch_xml_child(settings, "param"); param; param = param->next) {
			const char *name = switch_xml_attr_soft(param, "name");
			const char *value = switch_xml_attr_soft(param, "value");

			if (!strcasecmp(name, "host")) {
				switch_copy_string(state->host, value, sizeof(state->host));
			} else if (!strcasecmp(name, "access_key")) {
				switch_copy_string(ak, value, key_len);
			} else if (!strcasecmp(name, "secret_key")) {
				switch_copy_string(sk, value, key_len);
			} else if (!strcasecmp(name, "default_display")) {
				switch_copy_string(state->default_display, value, sizeof(state->default_display));
			} else if (!strcasecmp(name, "default_tag")) {
				switch_copy_string(state->default_tag, value, sizeof(state->default_tag));
			} else if (!strcasecmp(name, "recording_url")) {
				switch_copy_string(state->recording_url, value, sizeof(state->recording_url));
			} else if (!strcasecmp(name, "lookup_timeout_ms")) {
				if (sscanf(value, "%u", &n) != 1 || n < 1 || n > 60000) {
					switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR,
						"%s: lookup_timeout_ms must be 1 to 60000\n", CONFIG_FILE);
					bad = 1;
				} else {
					state->lookup_timeout_ms = n;
				}
			} else if (!strcasecmp(name, "call_session_id")) {
				if (!strcasecmp(value, "call_uuid")) {
					state->use_uuid = 0;
				} else if (!strcasecmp(value, "uuid")) {
					state->use_uuid = 1;
				} else {
					switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR,
						"%s: call_session_id must be call_uuid or uuid\n", CONFIG_FILE);
					bad = 1;
				}
			} else if (!strcasecmp(name, "outbox")) {
				have_outbox = 1;
				if (!strcasecmp(value, "none")) {
					state->outbox[0] = '\0';
				} else if (lsq_options_set(opts, "outbox", value) != LSQ_OK) {
					switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR, "%s: param 'outbox': %s\n",
						CONFIG_FILE, lsq_last_error());
					bad = 1;
				} else {
					switch_copy_string(state->outbox, value, sizeof(state->outbox));
				}
			} else if (lsq_options_set(opts, name, value) != LSQ_OK) {
				/* Any other param is a liblsq option.  The value is not
				 * logged: a proxy URL may carry a password. */
				switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR, "%s: param '%s': %s\n",
					CONFIG_FILE, name, lsq_last_error());
				bad = 1;
			}
		}
	}

	if ((users = switch_xml_child(cfg, "users"))) {
		for (param = switch_xml_child(users, "user"); param; param = param->next) {
			const char *extension = switch_xml_attr_soft(param, "extension");
			const char *id = switch_xml_attr_soft(param, "id");
			struct lsq_user *u;

			if (zstr(id)) {
				id = switch_xml_attr_soft(param, "email");
			}
			/* A bad row only costs that agent, so it is skipped, not fatal. */
			if (zstr(extension) || (!is_guid(id) && !is_email(id))) {
				switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING,
					"%s: <user extension=\"%s\"> needs an extension and, in id, a UserId GUID or an e-mail address: skipped\n",
					CONFIG_FILE, extension);
				continue;
			}
			if (!(u = realloc(state->users, (state->user_count + 1) * sizeof(*u)))) {
				goto fail;
			}
			state->users = u;
			switch_copy_string(u[state->user_count].key, extension, FIELD_BUF);
			switch_copy_string(u[state->user_count].value, id, FIELD_BUF);
			u[state->user_count].is_email = !is_guid(id);
			state->user_count++;
		}
	}

	if (zstr(state->host) || zstr(ak) || zstr(sk)) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR,
			"%s: <settings> needs host, access_key and secret_key\n", CONFIG_FILE);
		bad = 1;
	}
	if (!have_outbox && !bad) {
		/* Default: under FreeSWITCH's storage directory, so that call logs
		 * survive restarts. */
		char dir[PATH_BUF - 16];

		switch_snprintf(dir, sizeof(dir), "%s%slsq", SWITCH_GLOBAL_dirs.storage_dir, SWITCH_PATH_SEPARATOR);
		if (switch_dir_make_recursive(dir, SWITCH_DEFAULT_DIR_PERMS, globals.pool) != SWITCH_STATUS_SUCCESS) {
			switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR,
				"%s: cannot create %s for the call-log outbox (set the param outbox to a writable path)\n",
				CONFIG_FILE, dir);
			bad = 1;
		} else {
			switch_snprintf(state->outbox, sizeof(state->outbox), "%s%soutbox.db", dir, SWITCH_PATH_SEPARATOR);
			if (lsq_options_set(opts, "outbox", state->outbox) != LSQ_OK) {
				switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR, "%s: outbox %s: %s\n", CONFIG_FILE,
					state->outbox, lsq_last_error());
				bad = 1;
			}
		}
	}
	if (bad) {
		goto fail;
	}
	switch_xml_free(xml);
	*opts_out = opts;
	return state;

fail:
	lsq_options_free(opts);
	state_free(state);
	switch_xml_free(xml);
	return NULL;
}

/*
 * Replaces the configuration under the write lock: the old client is freed
 * first (its queued popups get shutdown_timeout_ms; its pending call logs stay
 * in the outbox), then the new one is created on the same outbox.  `state`
 * may be NULL (shutdown).  Returns 0, or -1 if the new client failed.
 */
static int state_replace(struct lsq_state *state, lsq_options *opts, const char *ak, const char *sk)
{
	struct lsq_state *old;
	int res = 0;

	switch_thread_rwlock_wrlock(globals.lock);
	old = globals.current;
	globals.current = NULL;
	state_free(old);
	if (state) {
		/* No network I/O: creating a client never blocks. */
		state->client = lsq_client_new_with_options(state->host, ak, sk, opts);
		if (!state->client) {
			switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR, "%s: cannot create the liblsq client: %s\n",
				CONFIG_FILE, lsq_last_error());
			state_free(state);
			state = NULL;
			res = -1;
		}
	}
	lsq_options_free(opts);
	globals.current = state;
	switch_thread_rwlock_unlock(globals.lock);
	return res;
}

/* Re-reads lsq.conf.xml; a file with errors leaves the running configuration alone. */
static switch_status_t do_reload(void)
{
	struct lsq_state *state;
	lsq_options *opts;
	char ak[FIELD_BUF] = "", sk[FIELD_BUF] = "";
	switch_status_t status = SWITCH_STATUS_SUCCESS;

	switch_mutex_lock(globals.reload_mutex);
	if ((state = state_from_config(&opts, ak, sk, sizeof(ak))) && !state_replace(state, opts, ak, sk)) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_NOTICE, "mod_lsq: %s reloaded (liblsq %s)\n",
			CONFIG_FILE, lsq_version());
	} else {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR,
			"%s has errors: %s\n", CONFIG_FILE, state ? "mod_lsq is now NOT configured"
			: "the previous configuration (if any) stays in use");
		status = SWITCH_STATUS_FALSE;
	}
	wipe(ak, sizeof(ak));
	wipe(sk, sizeof(sk));
	switch_mutex_unlock(globals.reload_mutex);
	return status;
}

static void set_status(switch_channel_t *channel, const char *value)
{
	switch_channel_set_variable(channel, "lsq_status", value);
}

/* ------------------------------------------------------------------------ */
/* lsq_popup                                                                 */

/* Everything the result callback logs, copied at submit time. */
struct popup_ctx {
	char uuid[SWITCH_UUID_FORMATTED_LENGTH + 1]; /* this leg, for uuid-filtered logs */
	char session_id[FIELD_BUF];
	char agent[FIELD_BUF];
	char caller[FIELD_BUF];
};

/* The final result of one ringing: exactly once, on a liblsq thread. */
static void popup_done(const lsq_ringing_result *r, void *user_data)
{
	struct popup_ctx *ctx = user_data;
	const lsq_result *p = &r->popup;
	const lsq_lead *lead = &r->lead;

	if (p->status == LSQ_OK) {
		switch_log_printf(SWITCH_CHANNEL_UUID_LOG(ctx->uuid), SWITCH_LOG_INFO,
			"lsq_popup: shown to agent %s (session %s): lead %s %s%s%s [%u ms]\n",
			ctx->agent, ctx->session_id, lead->lead_id, lead->first_name, *lead->last_name ? " " : "",
			lead->last_name, (unsigned int) p->elapsed_ms);
	} else if (p->status == LSQ_NO_MATCH) {
		switch_log_printf(SWITCH_CHANNEL_UUID_LOG(ctx->uuid), SWITCH_LOG_INFO,
			"lsq_popup: no lead has the number %s: no popup for agent %s (session %s)\n",
			ctx->caller, ctx->agent, ctx->session_id);
	} else if (p->status == LSQ_ERR_CANCELLED && p->attempts > 0) {
		switch_log_printf(SWITCH_CHANNEL_UUID_LOG(ctx->uuid), SWITCH_LOG_WARNING,
			"lsq_popup: popup for agent %s (session %s) was interrupted by a reload or unload while being sent: LeadSquared may or may not have shown it\n",
			ctx->agent, ctx->session_id);
	} else if (p->status == LSQ_ERR_CANCELLED) {
		switch_log_printf(SWITCH_CHANNEL_UUID_LOG(ctx->uuid), SWITCH_LOG_WARNING,
			"lsq_popup: popup for agent %s (session %s) was dropped by a reload or unload before it was sent (not sent within shutdown_timeout_ms: still queued, or waiting for the lead lookup)\n",
			ctx->agent, ctx->session_id);
	} else {
		switch_log_printf(SWITCH_CHANNEL_UUID_LOG(ctx->uuid), SWITCH_LOG_WARNING,
			"lsq_popup: not shown to agent %s (session %s): %s: %s [HTTP %u, %u attempt(s), %u ms]\n",
			ctx->agent, ctx->session_id, status_name(p->status), p->message,
			(unsigned int) p->http_status, (unsigned int) p->attempts, (unsigned int) p->elapsed_ms);
	}
	free(ctx);
}

static const char *popup_status_var(lsq_status res)
{
	switch (res) {
	case LSQ_OK:
		return "QUEUED";
	case LSQ_ERR_INVALID_ARGUMENT:
		return "INVALID";
	case LSQ_ERR_QUEUE_FULL:
		return "QUEUE_FULL";
	case LSQ_DUPLICATE:
		return "DUPLICATE";
	default:
		return "ERROR";
	}
}

/* lsq_popup [lead_id|-] [user] [source] [destination] [display] [direction] [tag]
 * Separated by spaces (quote a value with spaces in '...'), or by commas with
 * FreeSWITCH's "^^," prefix. */
SWITCH_STANDARD_APP(lsq_popup_function)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	char *argv[7] = { 0 };
	char *mydata;
	const char *uuid = switch_core_session_get_uuid(session);
	const char *user, *agent, *session_id, *direction, *result, *source, *destination;
	const char *cid_num, *dest_num, *dialed_user;
	struct popup_ctx *ctx;
	lsq_ringing ringing = { 0 };
	lsq_status res;

	if (!zstr(data) && (mydata = switch_core_session_strdup(session, data))) {
		switch_separate_string(mydata, ' ', argv, sizeof(argv) / sizeof(argv[0]));
	}
	direction = arg_or(argv[5], "inbound");
	if (!strcasecmp(direction, "inbound")) {
		ringing.direction = LSQ_INBOUND;
	} else if (!strcasecmp(direction, "outbound")) {
		ringing.direction = LSQ_OUTBOUND;
	} else {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_popup: direction must be inbound or outbound, not '%s'\n", direction);
		set_status(channel, "INVALID");
		return;
	}

	cid_num = switch_channel_get_variable(channel, "caller_id_number");
	dest_num = switch_channel_get_variable(channel, "destination_number");
	/* On a leg rung through user/1001 (bridge, originate), dialed_user is the
	 * agent being rung: the default agent and DestinationNumber there.  This
	 * lets one "{execute_on_ring='lsq_popup'}user/1001,user/1002" serve every
	 * agent. */
	dialed_user = switch_channel_get_variable(channel, "dialed_user");
	agent = arg_or(argv[1], switch_str_nil(dialed_user));
	if (zstr(agent)) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_popup: no agent given, and no ${dialed_user} on this leg (usage: lsq_popup %s)\n", POPUP_SYNTAX);
		set_status(channel, "INVALID");
		return;
	}
	source = arg_or(argv[2], switch_str_nil(cid_num));
	destination = arg_or(argv[3], !zstr(dialed_user) ? dialed_user : switch_str_nil(dest_num));
	session_id = call_id(session);

	if (!(ctx = calloc(1, sizeof(*ctx)))) {
		set_status(channel, "ERROR");
		return;
	}
	switch_copy_string(ctx->uuid, uuid, sizeof(ctx->uuid));
	switch_copy_string(ctx->agent, agent, sizeof(ctx->agent));

	ringing.caller_number = ringing.direction == LSQ_INBOUND ? source : destination;
	ringing.agent_number = ringing.direction == LSQ_INBOUND ? destination : source;
	ringing.lead_id = arg_or(argv[0], NULL);
	switch_copy_string(ctx->caller, ringing.caller_number, sizeof(ctx->caller));

	/* Never wait here (this may run on the signalling thread, from
	 * execute_on_ring): during a reload the popup is skipped. */
	if (state_rdlock(0) != SWITCH_STATUS_SUCCESS) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_popup: %s is being reloaded: no popup for agent %s\n", CONFIG_FILE, agent);
		free(ctx);
		set_status(channel, "ERROR");
		return;
	}
	if (!globals.current) {
		switch_thread_rwlock_unlock(globals.lock);
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_popup: not configured (fix %s.xml, then 'lsq reload')\n", CONFIG_FILE);
		free(ctx);
		set_status(channel, "ERROR");
		return;
	}
	if (!(user = resolve_user(globals.current, agent))) {
		switch_thread_rwlock_unlock(globals.lock);
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_popup: agent '%s' is missing from <users> in %s.xml (and is neither a UserId nor an e-mail): no popup\n",
			agent, CONFIG_FILE);
		free(ctx);
		set_status(channel, "INVALID");
		return;
	}
	ringing.user = user;
	ringing.display_number = arg_or(argv[4],
		!zstr(globals.current->default_display) ? globals.current->default_display : switch_str_nil(dest_num));
	ringing.tag = arg_or(argv[6], globals.current->default_tag);
	if (globals.current->use_uuid) {
		session_id = uuid;
	}
	ringing.call_session_id = session_id;
	switch_copy_string(ctx->session_id, session_id, sizeof(ctx->session_id));

	res = lsq_agent_ringing_async(globals.current->client, &ringing, popup_done, ctx);
	switch_thread_rwlock_unlock(globals.lock);

	result = popup_status_var(res);
	switch (res) {
	case LSQ_OK:
		/* ctx now belongs to popup_done(), which may already have run. */
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_DEBUG,
			"lsq_popup: queued (session %s, agent %s)\n", session_id, agent);
		break;
	case LSQ_DUPLICATE:
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_INFO,
			"lsq_popup: agent %s already has this call's popup (session %s): not sent again\n", agent, session_id);
		free(ctx);
		break;
	default:
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_popup: no popup for agent %s: %s\n", agent, lsq_last_error());
		free(ctx);
		break;
	}
	set_status(channel, result);
}

/* ------------------------------------------------------------------------ */
/* lsq_lookup                                                                */

/* Shared by the waiting thread and the callback; the last to let go frees it. */
struct lookup_wait {
	switch_mutex_t *mutex;
	switch_thread_cond_t *cond;
	switch_memory_pool_t *pool;
	int refs;
	int done;
	lsq_lead lead;
	char number[FIELD_BUF];
};

static void lookup_unref(struct lookup_wait *w)
{
	int last;

	switch_mutex_lock(w->mutex);
	last = --w->refs == 0;
	switch_mutex_unlock(w->mutex);
	if (last) {
		switch_memory_pool_t *pool = w->pool;

		switch_core_destroy_memory_pool(&pool);
	}
}

static void lookup_done(const lsq_lead *lead, void *user_data)
{
	struct lookup_wait *w = user_data;

	if (lead->status != LSQ_OK && lead->status != LSQ_NO_MATCH) {
		/* Logged here, once, also when nobody waits any more. */
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING,
			"lsq_lookup: lookup of %s failed: %s: %s [HTTP %u, %u attempt(s), %u ms]\n", w->number,
			status_name(lead->status), lead->message, (unsigned int) lead->http_status,
			(unsigned int) lead->attempts, (unsigned int) lead->elapsed_ms);
	}
	switch_mutex_lock(w->mutex);
	w->lead = *lead;
	w->done = 1;
	switch_thread_cond_signal(w->cond);
	switch_mutex_unlock(w->mutex);
	lookup_unref(w);
}

/* Looks `number` up, waiting at most lookup_timeout_ms.  Returns the value
 * for lsq_status; fills lead (FOUND) and agent (the owner's <users> key). */
static const char *lookup(const char *number, lsq_lead *lead, char *agent, size_t agent_len, unsigned int *waited_ms)
{
	switch_memory_pool_t *pool = NULL;
	struct lookup_wait *w;
	switch_time_t start = switch_micro_time_now(), now;
	unsigned int timeout_ms;
	lsq_status res;
	int done;

	agent[0] = '\0';
	*waited_ms = 0;
	if (zstr(number)) {
		return "INVALID";
	}
	if (switch_core_new_memory_pool(&pool) != SWITCH_STATUS_SUCCESS) {
		return "ERROR";
	}
	w = switch_core_alloc(pool, sizeof(*w));
	w->pool = pool;
	switch_mutex_init(&w->mutex, SWITCH_MUTEX_NESTED, pool);
	switch_thread_cond_create(&w->cond, pool);
	w->refs = 2;
	switch_copy_string(w->number, number, sizeof(w->number));

	if (state_rdlock(2000) != SWITCH_STATUS_SUCCESS) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING, "lsq_lookup: %s is being reloaded: %s not looked up\n",
			CONFIG_FILE, number);
		w->refs = 1;
		lookup_unref(w);
		return "ERROR";
	}
	if (!globals.current) {
		switch_thread_rwlock_unlock(globals.lock);
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING, "lsq_lookup: not configured (fix %s.xml, then 'lsq reload')\n",
			CONFIG_FILE);
		w->refs = 1;
		lookup_unref(w);
		return "ERROR";
	}
	timeout_ms = globals.current->lookup_timeout_ms;
	res = lsq_find_lead_async(globals.current->client, number, lookup_done, w);
	switch_thread_rwlock_unlock(globals.lock);
	if (res != LSQ_OK) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING, "lsq_lookup: %s not looked up: %s\n", number,
			lsq_last_error());
		w->refs = 1;
		lookup_unref(w);
		return res == LSQ_ERR_INVALID_ARGUMENT ? "INVALID" : "ERROR";
	}

	switch_mutex_lock(w->mutex);
	while (!w->done) {
		now = switch_micro_time_now();
		if (now - start >= (switch_time_t) timeout_ms * 1000) {
			break;
		}
		switch_thread_cond_timedwait(w->cond, w->mutex, (switch_interval_time_t) timeout_ms * 1000 - (now - start));
	}
	done = w->done;
	if (done) {
		*lead = w->lead;
	}
	switch_mutex_unlock(w->mutex);
	lookup_unref(w);
	*waited_ms = (unsigned int) ((switch_micro_time_now() - start) / 1000);

	if (!done) {
		return "TIMEOUT";
	}
	if (lead->status == LSQ_NO_MATCH) {
		return "NOT_FOUND";
	}
	if (lead->status != LSQ_OK) {
		return lead->status == LSQ_ERR_INVALID_ARGUMENT ? "INVALID" : "ERROR";
	}
	/* The owner's agent: a <users> row whose id is the owner's UserId (rows
	 * given as an e-mail cannot be matched: liblsq has no call that returns
	 * an e-mail's UserId). */
	if (!zstr(lead->owner_id) && state_rdlock(0) == SWITCH_STATUS_SUCCESS) {
		if (globals.current) {
			unsigned int i;

			for (i = globals.current->user_count; i-- > 0;) {
				const struct lsq_user *u = &globals.current->users[i];

				if (!u->is_email && !strcasecmp(u->value, lead->owner_id)) {
					switch_copy_string(agent, u->key, agent_len);
					break;
				}
			}
		}
		switch_thread_rwlock_unlock(globals.lock);
	}
	return "FOUND";
}

static void lookup_to_channel(switch_core_session_t *session, const char *number, switch_stream_handle_t *stream)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	lsq_lead lead;
	char agent[FIELD_BUF], name[2 * LSQ_LEAD_NAME_SIZE + 1];
	unsigned int waited_ms;
	const char *status = lookup(number, &lead, agent, sizeof(agent), &waited_ms);
	int found = !strcmp(status, "FOUND");

	name[0] = '\0';
	if (found) {
		switch_snprintf(name, sizeof(name), "%s%s%s", lead.first_name,
			*lead.first_name && *lead.last_name ? " " : "", lead.last_name);
	}
	switch_channel_set_variable(channel, "lsq_lead_id", found ? lead.lead_id : NULL);
	switch_channel_set_variable(channel, "lsq_lead_name", found ? name : NULL);
	switch_channel_set_variable(channel, "lsq_lead_owner", found && *lead.owner_id ? lead.owner_id : NULL);
	switch_channel_set_variable(channel, "lsq_owner_agent", found && *agent ? agent : NULL);
	set_status(channel, status);
	if (found) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_INFO,
			"lsq_lookup: %s is lead %s (%s), owner %s%s%s%s [%s, %u ms]\n", number, lead.lead_id, name,
			*lead.owner_id ? lead.owner_id : "none", *agent ? " (agent " : "", agent, *agent ? ")" : "",
			lead.cached ? "cached" : "looked up", waited_ms);
	} else if (!strcmp(status, "TIMEOUT")) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_INFO,
			"lsq_lookup: no answer for %s within lookup_timeout_ms (%u ms): routing without it\n", number, waited_ms);
	} else if (!strcmp(status, "NOT_FOUND")) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_INFO,
			"lsq_lookup: no lead has the number %s\n", number);
	}
	if (stream) {
		stream->write_function(stream, "+OK %s%s%s\n", status, found ? " " : "", found ? lead.lead_id : "");
	}
}

SWITCH_STANDARD_APP(lsq_lookup_app_function)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	const char *number = !zstr(data) ? data : switch_channel_get_variable(channel, "caller_id_number");

	lookup_to_channel(session, switch_str_nil(number), NULL);
}

/* lsq_lookup <uuid> [number]: sets the variables on that channel. */
SWITCH_STANDARD_API(lsq_lookup_api_function)
{
	char *mycmd = NULL, *argv[2] = { 0 };
	switch_core_session_t *target;
	const char *number;

	(void) session;
	if (zstr(cmd) || !(mycmd = strdup(cmd)) || switch_separate_string(mycmd, ' ', argv, 2) < 1) {
		stream->write_function(stream, "-USAGE: lsq_lookup %s\n", LOOKUP_API_SYNTAX);
		switch_safe_free(mycmd);
		return SWITCH_STATUS_SUCCESS;
	}
	if (!(target = switch_core_session_locate(argv[0]))) {
		stream->write_function(stream, "-ERR no such channel %s\n", argv[0]);
		free(mycmd);
		return SWITCH_STATUS_SUCCESS;
	}
	number = !zstr(argv[1]) ? argv[1]
		: switch_channel_get_variable(switch_core_session_get_channel(target), "caller_id_number");
	lookup_to_channel(target, switch_str_nil(number), stream);
	switch_core_session_rwunlock(target);
	free(mycmd);
	return SWITCH_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* lsq_answered: on the agent's leg (execute_on_answer)                      */

SWITCH_STANDARD_APP(lsq_answered_function)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	const char *agent = arg_or(data, switch_str_nil(switch_channel_get_variable(channel, "dialed_user")));
	const char *id = call_id(session);
	switch_core_session_t *a_leg;

	if (zstr(agent)) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_answered: no agent given, and no ${dialed_user} on this leg\n");
		return;
	}
	if (strcmp(id, switch_core_session_get_uuid(session)) && (a_leg = switch_core_session_locate(id))) {
		switch_channel_set_variable(switch_core_session_get_channel(a_leg), "lsq_agent", agent);
		switch_core_session_rwunlock(a_leg);
	}
	switch_channel_set_variable(channel, "lsq_agent", agent);
}

/* ------------------------------------------------------------------------ */
/* The call log                                                              */

struct log_ctx {
	char session_id[FIELD_BUF];
	char summary[SUMMARY_BUF];
};

static void log_done(const lsq_result *r, void *user_data)
{
	struct log_ctx *ctx = user_data;

	if (r->status == LSQ_OK) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_INFO,
			"lsq_log_call: call %s (%s) logged in LeadSquared: %s [%u attempt(s), %u ms]\n", ctx->session_id,
			ctx->summary, r->message, (unsigned int) r->attempts, (unsigned int) r->elapsed_ms);
	} else if (r->status == LSQ_ERR_CANCELLED) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_INFO,
			"lsq_log_call: call %s (%s) not sent yet at unload/reload: it stays in the outbox and is sent after the next load\n",
			ctx->session_id, ctx->summary);
	} else {
		/* liblsq has logged the dead log at ERROR with its reason. */
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_INFO,
			"lsq_log_call: call %s (%s) was not accepted by LeadSquared: %s\n", ctx->session_id, ctx->summary,
			status_name(r->status));
	}
	free(ctx);
}

static void recording_url(const char *template, const char *path, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *base = strrchr(path, '/');
	const char *mark = strstr(template, "{file}");
	size_t n;

	base = base ? base + 1 : path;
	if (!mark) {
		switch_copy_string(buf, template, len);
		return;
	}
	n = (size_t) (mark - template);
	if (n >= len) {
		n = len - 1;
	}
	memcpy(buf, template, n);
	for (; *base && n + 4 < len; base++) {
		unsigned char c = (unsigned char) *base;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			buf[n++] = (char) c;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[c >> 4];
			buf[n++] = hex[c & 15];
		}
	}
	buf[n] = '\0';
	switch_copy_string(buf + n, mark + 6, len - n);
}

static int64_t var_epoch(switch_channel_t *channel, const char *name)
{
	const char *v = switch_channel_get_variable(channel, name);

	return zstr(v) ? 0 : (int64_t) strtoll(v, NULL, 10);
}

/* Logs the call of `session`, which is hanging up (its *_epoch variables
 * are set).  args: [direction] [lead_number] [agent] [display] [tag]. */
static const char *log_call(switch_core_session_t *session, char **argv)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	const char *direction = arg_or(argv[0], "inbound");
	const char *cid_num = switch_str_nil(switch_channel_get_variable(channel, "caller_id_number"));
	const char *dest_num = switch_str_nil(switch_channel_get_variable(channel, "destination_number"));
	const char *lead_number, *agent, *user = NULL, *lead_id, *url_var, *rec_file, *session_id;
	char url[URL_BUF], agent_number[FIELD_BUF], summary[SUMMARY_BUF];
	int64_t start, end, bridged;
	int answered;
	lsq_call_log log = { 0 };
	struct log_ctx *ctx;
	lsq_status res;

	if (!strcasecmp(direction, "inbound")) {
		log.direction = LSQ_INBOUND;
	} else if (!strcasecmp(direction, "outbound")) {
		log.direction = LSQ_OUTBOUND;
	} else {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_log_call: direction must be inbound or outbound, not '%s': call not logged\n", direction);
		return "INVALID";
	}
	/* Answered when this leg was bridged to the other party. */
	start = var_epoch(channel, "start_epoch");
	end = var_epoch(channel, "end_epoch");
	bridged = var_epoch(channel, "bridge_epoch");
	if (!end) {
		end = (int64_t) switch_epoch_time_now(NULL);
	}
	if (!start || start > end) {
		start = end;
	}
	answered = bridged > 0;

	lead_number = arg_or(argv[1], log.direction == LSQ_INBOUND ? cid_num : dest_num);
	agent = arg_or(argv[2], log.direction == LSQ_INBOUND
		? switch_str_nil(switch_channel_get_variable(channel, "lsq_agent")) : cid_num);
	lead_id = switch_channel_get_variable(channel, "lsq_lead_id");
	url_var = switch_channel_get_variable(channel, "lsq_recording_url");
	rec_file = switch_channel_get_variable(channel, "lsq_recording_file");
	session_id = call_id(session);

	if (!(ctx = calloc(1, sizeof(*ctx)))) {
		return "ERROR";
	}
	/* Waits while a reload swaps the client: the log must not be lost. */
	state_rdlock(-1);
	if (!globals.current) {
		switch_thread_rwlock_unlock(globals.lock);
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_ERROR,
			"lsq_log_call: not configured (fix %s.xml, then 'lsq reload'): call from %s NOT logged\n",
			CONFIG_FILE, lead_number);
		free(ctx);
		return "ERROR";
	}
	if (!zstr(agent) && !(user = resolve_user(globals.current, agent))) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_log_call: agent '%s' is missing from <users> in %s.xml: call logged without its agent\n",
			agent, CONFIG_FILE);
	}
	log.display_number = arg_or(argv[3], !zstr(globals.current->default_display)
		? globals.current->default_display : dest_num);
	if (!zstr(agent) && has_digit(agent) && !is_guid(agent) && !is_email(agent)) {
		switch_copy_string(agent_number, agent, sizeof(agent_number));
	} else {
		switch_copy_string(agent_number, log.direction == LSQ_INBOUND ? log.display_number : cid_num,
			sizeof(agent_number));
	}
	log.source_number = log.direction == LSQ_INBOUND ? lead_number : agent_number;
	log.destination_number = log.direction == LSQ_INBOUND ? agent_number : lead_number;
	if (globals.current->use_uuid) {
		session_id = switch_core_session_get_uuid(session);
	}
	log.call_session_id = session_id;
	log.status = answered ? LSQ_CALL_ANSWERED : LSQ_CALL_MISSED;
	log.start_time = start;
	log.end_time = end;
	log.duration_s = answered && end > bridged ? (uint32_t) (end - (bridged < start ? start : bridged)) : 0;
	log.user = user;
	log.lead_id = zstr(lead_id) ? NULL : lead_id;
	url[0] = '\0';
	if (answered && !zstr(url_var)) {
		switch_copy_string(url, url_var, sizeof(url));
	} else if (answered && !zstr(rec_file) && !zstr(globals.current->recording_url)) {
		recording_url(globals.current->recording_url, rec_file, url, sizeof(url));
	}
	log.resource_url = url[0] ? url : NULL;
	log.tag = arg_or(argv[4], zstr(globals.current->default_tag) ? NULL : globals.current->default_tag);

	switch_snprintf(summary, sizeof(summary), "%s, %s %s, %u s%s%s", answered ? "answered" : "missed",
		log.direction == LSQ_INBOUND ? "inbound from" : "outbound to", lead_number,
		(unsigned int) log.duration_s, user ? ", agent " : "", user ? agent : "");
	switch_copy_string(ctx->summary, summary, sizeof(ctx->summary));
	switch_copy_string(ctx->session_id, session_id, sizeof(ctx->session_id));
	/* Returns once the log is synced to the outbox (or refused). */
	res = lsq_log_call_async(globals.current->client, &log, log_done, ctx);
	switch_thread_rwlock_unlock(globals.lock);

	if (res == LSQ_OK) {
		/* ctx belongs to log_done() now. */
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_INFO,
			"lsq_log_call: call %s stored for LeadSquared: %s%s%s\n", session_id, summary,
			url[0] ? ", recording " : "", url);
		return "STORED";
	}
	switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_ERROR,
		"lsq_log_call: call %s NOT logged: %s: %s\n", session_id, status_name(res), lsq_last_error());
	free(ctx);
	return res == LSQ_ERR_INVALID_ARGUMENT ? "INVALID" : "ERROR";
}

/* The app arms the log for this leg's hangup, through api_hangup_hook: an API
 * command run by name, so an unloaded module leaves nothing dangling. */
SWITCH_STANDARD_APP(lsq_log_call_app_function)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	const char *hook = switch_channel_get_variable(channel, SWITCH_API_HANGUP_HOOK_VARIABLE);
	char *cmd;

	if (!zstr(hook) && strncmp(hook, "lsq log_call", 12)) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_log_call: api_hangup_hook is already '%s': replaced; call it yourself with 'lsq log_call ${uuid} ...' to keep both\n",
			hook);
	}
	cmd = switch_core_session_sprintf(session, "lsq log_call %s %s", switch_core_session_get_uuid(session),
		switch_str_nil(data));
	switch_channel_set_variable(channel, SWITCH_SESSION_IN_HANGUP_HOOK_VARIABLE, "true");
	switch_channel_set_variable(channel, SWITCH_API_HANGUP_HOOK_VARIABLE, cmd);
	set_status(channel, "ARMED");
}

/* ------------------------------------------------------------------------ */
/* API: lsq status|metrics|reload|lookup|log_call                            */

static void print_status(switch_stream_handle_t *stream)
{
	lsq_stats stats;
	lsq_status res, ob_res;
	char host[HOST_BUF], outbox[PATH_BUF];
	unsigned int user_count, lookup_timeout_ms;
	uint64_t pending = 0, dead = 0;
	int use_uuid;
	char *metrics, *line, *next;

	stream->write_function(stream, "liblsq version:   %s\n", lsq_version());
	if (!(metrics = malloc(METRICS_BUF))) {
		return;
	}
	if (state_rdlock(0) != SWITCH_STATUS_SUCCESS) {
		stream->write_function(stream, "State:            being reloaded\n");
		free(metrics);
		return;
	}
	if (!globals.current) {
		switch_thread_rwlock_unlock(globals.lock);
		stream->write_function(stream, "State:            not configured (see %s errors in the log)\n", CONFIG_FILE);
		free(metrics);
		return;
	}
	switch_copy_string(host, globals.current->host, sizeof(host));
	switch_copy_string(outbox, globals.current->outbox, sizeof(outbox));
	user_count = globals.current->user_count;
	use_uuid = globals.current->use_uuid;
	lookup_timeout_ms = globals.current->lookup_timeout_ms;
	res = lsq_client_stats(globals.current->client, &stats);
	ob_res = lsq_outbox_count(globals.current->client, &pending, &dead);
	if (lsq_client_metrics(globals.current->client, metrics, METRICS_BUF) != LSQ_OK) {
		metrics[0] = '\0';
	}
	switch_thread_rwlock_unlock(globals.lock);

	stream->write_function(stream, "Host:             %s\n", host);
	stream->write_function(stream, "CallSessionId:    %s\n", use_uuid ? "uuid" : "call_uuid");
	stream->write_function(stream, "Users mapped:     %u\n", user_count);
	stream->write_function(stream, "Lookup timeout:   %u ms\n", lookup_timeout_ms);
	if (outbox[0]) {
		if (ob_res == LSQ_OK) {
			stream->write_function(stream, "Outbox:           %s (pending %" PRIu64 ", dead %" PRIu64 ")\n",
				outbox, pending, dead);
		} else {
			stream->write_function(stream, "Outbox:           %s (unreadable: %s)\n", outbox, status_name(ob_res));
		}
	} else {
		stream->write_function(stream, "Outbox:           none: call logs in memory only (pending %" PRIu64 ")\n", pending);
	}
	if (res == LSQ_OK) {
		stream->write_function(stream, "Popups submitted: %" PRIu64 "\n", stats.submitted);
		stream->write_function(stream, "Succeeded:        %" PRIu64 "\n", stats.succeeded);
		stream->write_function(stream, "Failed:           %" PRIu64 " (expired %" PRIu64 ", cancelled %" PRIu64 ")\n",
			stats.failed, stats.expired, stats.cancelled);
		stream->write_function(stream, "Dropped (full):   %" PRIu64 "\n", stats.dropped);
		stream->write_function(stream, "Duplicates:       %" PRIu64 "\n", stats.duplicates);
		stream->write_function(stream, "Retries:          %" PRIu64 "\n", stats.retries);
		stream->write_function(stream, "Rate limited:     %" PRIu64 "\n", stats.rate_limited);
		stream->write_function(stream, "Queued now:       %u\n", (unsigned int) stats.queued);
		stream->write_function(stream, "In flight now:    %u\n", (unsigned int) stats.in_flight);
	}
	stream->write_function(stream, "Lookups and call logs (liblsq metrics):\n");
	for (line = metrics; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next) {
			*next++ = '\0';
		}
		if (*line != '#' && (strstr(line, "lookup") || strstr(line, "lead") || strstr(line, "call_log"))) {
			stream->write_function(stream, "  %s\n", line);
		}
	}
	free(metrics);
}

SWITCH_STANDARD_API(lsq_api_function)
{
	char *mycmd = NULL, *argv[8] = { 0 };
	int argc = 0;

	if (!zstr(cmd) && (mycmd = strdup(cmd))) {
		argc = switch_separate_string(mycmd, ' ', argv, sizeof(argv) / sizeof(argv[0]));
	}
	if (argc == 0 || !strcasecmp(argv[0], "status")) {
		print_status(stream);
	} else if (!strcasecmp(argv[0], "metrics")) {
		char *metrics = malloc(METRICS_BUF);
		lsq_status res = LSQ_ERR_INVALID_ARGUMENT;

		if (metrics && state_rdlock(0) == SWITCH_STATUS_SUCCESS) {
			if (globals.current) {
				res = lsq_client_metrics(globals.current->client, metrics, METRICS_BUF);
			}
			switch_thread_rwlock_unlock(globals.lock);
		}
		stream->write_function(stream, "%s", res == LSQ_OK ? metrics : "-ERR not configured, or being reloaded\n");
		free(metrics);
	} else if (!strcasecmp(argv[0], "reload")) {
		stream->write_function(stream, do_reload() == SWITCH_STATUS_SUCCESS
			? "+OK reloaded\n" : "-ERR lsq.conf has errors, see the log\n");
	} else if (!strcasecmp(argv[0], "lookup") && argc >= 2) {
		lsq_lead lead;
		char agent[FIELD_BUF];
		unsigned int waited_ms;
		const char *status = lookup(argv[1], &lead, agent, sizeof(agent), &waited_ms);

		if (!strcmp(status, "FOUND")) {
			stream->write_function(stream, "+OK FOUND lead_id=%s name=%s %s owner=%s owner_agent=%s cached=%d ms=%u\n",
				lead.lead_id, lead.first_name, lead.last_name, lead.owner_id, agent, lead.cached, waited_ms);
		} else {
			stream->write_function(stream, "+OK %s\n", status);
		}
	} else if (!strcasecmp(argv[0], "log_call") && argc >= 2) {
		/* From api_hangup_hook, with session_in_hangup_hook=true: `session`
		 * is the hanging-up leg; else the uuid names a live channel. */
		switch_core_session_t *target = session;
		const char *result;

		if (!target && !(target = switch_core_session_locate(argv[1]))) {
			stream->write_function(stream, "-ERR no such channel %s\n", argv[1]);
		} else {
			result = log_call(target, argv + 2);
			stream->write_function(stream, "%s%s\n", strcmp(result, "STORED") ? "-ERR " : "+OK ", result);
			if (target != session) {
				switch_core_session_rwunlock(target);
			}
		}
	} else {
		stream->write_function(stream, "-USAGE: lsq %s\n", API_SYNTAX);
	}
	switch_safe_free(mycmd);
	return SWITCH_STATUS_SUCCESS;
}

SWITCH_MODULE_LOAD_FUNCTION(mod_lsq_load)
{
	switch_application_interface_t *app_interface;
	switch_api_interface_t *api_interface;
	struct lsq_state *state;
	lsq_options *opts;
	char ak[FIELD_BUF] = "", sk[FIELD_BUF] = "";
	int configured;

	memset(&globals, 0, sizeof(globals));
	globals.pool = pool;
	if (switch_thread_rwlock_create(&globals.lock, pool) != SWITCH_STATUS_SUCCESS
		|| switch_mutex_init(&globals.reload_mutex, SWITCH_MUTEX_NESTED, pool) != SWITCH_STATUS_SUCCESS) {
		return SWITCH_STATUS_TERM;
	}

	*module_interface = switch_loadable_module_create_module_interface(pool, modname);

	/* A bad lsq.conf.xml does not fail the load: the applications must stay
	 * registered, or FreeSWITCH hangs up every call that reaches them
	 * ("Invalid Application").  They set lsq_status=ERROR until the file is
	 * fixed and "lsq reload" is run. */
	state = state_from_config(&opts, ak, sk, sizeof(ak));
	configured = state && !state_replace(state, opts, ak, sk);
	wipe(ak, sizeof(ak));
	wipe(sk, sizeof(sk));

	SWITCH_ADD_APP(app_interface, "lsq_popup", "Pop the caller's lead up on a ringing agent (liblsq)",
		"Looks the caller up (unless a lead_id is given) and queues a LeadSquared ShowAgentPopup; returns at "
		"once; sets lsq_status to QUEUED, INVALID, QUEUE_FULL, DUPLICATE or ERROR.",
		lsq_popup_function, POPUP_SYNTAX, SAF_SUPPORT_NOMEDIA | SAF_ROUTING_EXEC);
	SWITCH_ADD_APP(app_interface, "lsq_lookup", "Find the caller's LeadSquared lead, for routing",
		"Waits at most lookup_timeout_ms; sets lsq_lead_id, lsq_lead_name, lsq_lead_owner, lsq_owner_agent "
		"and lsq_status (FOUND, NOT_FOUND, TIMEOUT, INVALID, ERROR).",
		lsq_lookup_app_function, LOOKUP_APP_SYNTAX, SAF_SUPPORT_NOMEDIA | SAF_ROUTING_EXEC);
	SWITCH_ADD_APP(app_interface, "lsq_answered", "Record the agent who answered, on the call's A leg",
		"For execute_on_answer on the agent's leg: sets lsq_agent (default ${dialed_user}) on the A leg.",
		lsq_answered_function, ANSWERED_SYNTAX, SAF_SUPPORT_NOMEDIA | SAF_ROUTING_EXEC);
	SWITCH_ADD_APP(app_interface, "lsq_log_call", "Log this call in LeadSquared when this leg hangs up",
		"Sets api_hangup_hook to 'lsq log_call <uuid> <args>'; the log is stored in the outbox and sent, "
		"retrying, even across restarts.",
		lsq_log_call_app_function, LOG_SYNTAX, SAF_SUPPORT_NOMEDIA | SAF_ROUTING_EXEC);
	SWITCH_ADD_API(api_interface, "lsq", "liblsq: status, metrics, reload, lookup, log_call", lsq_api_function, API_SYNTAX);
	SWITCH_ADD_API(api_interface, "lsq_lookup", "Look a lead up and set lsq_* variables on a channel",
		lsq_lookup_api_function, LOOKUP_API_SYNTAX);
	switch_console_set_complete("add lsq status");
	switch_console_set_complete("add lsq metrics");
	switch_console_set_complete("add lsq reload");
	switch_console_set_complete("add lsq lookup");
	switch_console_set_complete("add lsq_lookup ::console::list_uuid");

	switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_NOTICE, "mod_lsq: liblsq %s, %s\n", lsq_version(),
		configured ? "configured" : "NOT configured");
	return SWITCH_STATUS_SUCCESS;
}

SWITCH_MODULE_SHUTDOWN_FUNCTION(mod_lsq_shutdown)
{
	/* FreeSWITCH has already waited for every running application and API
	 * call of this module to leave; drain and free the client.  Call logs not
	 * yet sent stay in the outbox for the next load. */
	switch_console_set_complete("del lsq");
	switch_console_set_complete("del lsq_lookup");
	state_replace(NULL, NULL, NULL, NULL);
	return SWITCH_STATUS_SUCCESS;
}
