/*
 * mod_lsq -- LeadSquared agent pop-ups from the FreeSWITCH dialplan, through liblsq.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 * Threads and locking, in one place:
 *
 *  - liblsq's client is thread-safe: any number of sessions may submit on it
 *    at once.  lsq_show_agent_popup_async() validates, copies and queues the
 *    popup and returns at once; it never waits on the network or on the rate
 *    limiter, so lsq_popup never holds up a session (nor the signalling
 *    thread, when it runs from execute_on_ring).
 *
 *  - The current client (and the lsq.conf settings that go with it) lives in
 *    one `struct lsq_state`, reached through globals.current under
 *    globals.lock (a switch_thread_rwlock_t).  lsq_popup and "lsq status"
 *    take the read lock for the few microseconds they use it; "lsq reload"
 *    and the module's shutdown take the write lock only to swap the pointer.
 *    The old client is freed after the lock is released, so the wait in
 *    lsq_free() (its queued popups still finish, for up to
 *    shutdown_timeout_ms) never holds up a session.
 *
 *  - Results arrive on liblsq's own threads.  The callback only logs and frees
 *    its own context; it never touches globals.current and never calls
 *    lsq_free() or lsq_flush() (liblsq forbids that on the callback's own
 *    client).  lsq_free() returns only after every callback has returned, so
 *    once the shutdown function is done no code of this module runs any more.
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

SWITCH_MODULE_LOAD_FUNCTION(mod_lsq_load);
SWITCH_MODULE_SHUTDOWN_FUNCTION(mod_lsq_shutdown);
SWITCH_MODULE_DEFINITION(mod_lsq, mod_lsq_load, mod_lsq_shutdown, NULL);

#define POPUP_SYNTAX "<lead_id> [user] [source] [destination] [display] [inbound|outbound] [tag]"
#define API_SYNTAX "status|reload"

/* What lsq_popup needs from one load of lsq.conf.  Immutable once published
 * through globals.current, so readers need only the read lock. */
struct lsq_state {
	lsq_client *client;
	char host[HOST_BUF];             /* shown by "lsq status"; not a secret */
	char default_display[FIELD_BUF]; /* <param name="default_display">, may be "" */
	char default_tag[FIELD_BUF];     /* <param name="default_tag">, may be "" */
	int use_uuid;                    /* CallSessionId: 0 = ${call_uuid}, 1 = ${uuid} */
	switch_event_t *users;           /* <users>: extension => UserId GUID */
	unsigned int user_count;
};

static struct {
	switch_thread_rwlock_t *lock;    /* guards `current` */
	struct lsq_state *current;       /* NULL while not configured */
	switch_mutex_t *reload_mutex;    /* "lsq reload" may be run by two clients at once */
} globals;

/* Everything the result callback logs, copied at submit time: the session may
 * be gone by the time the result arrives. */
struct popup_ctx {
	char uuid[SWITCH_UUID_FORMATTED_LENGTH + 1]; /* this leg, for uuid-filtered logs */
	char session_id[FIELD_BUF];
	char user[128];                  /* the user argument as given (an extension or a GUID) */
};

static void state_free(struct lsq_state *state)
{
	if (!state) {
		return;
	}
	/* Waits for queued popups (up to shutdown_timeout_ms) and for every
	 * callback to return.  Never call this with globals.lock held. */
	lsq_free(state->client);
	if (state->users) {
		switch_event_destroy(&state->users);
	}
	free(state);
}

/* liblsq's own log lines (connection trouble, rate limits learned, ...).
 * Called on any thread, liblsq's or a session's: it only logs. */
static void lsq_log_cb(uint32_t level, const char *message, void *user_data)
{
	switch_log_level_t fs_level;

	(void) user_data;
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

/* The final result of one queued popup: called exactly once, on a liblsq
 * thread.  It must not take globals.lock (a reload may be waiting in
 * lsq_free() for this very callback) and must not call lsq_free()/lsq_flush(). */
static void popup_done(const lsq_result *result, void *user_data)
{
	struct popup_ctx *ctx = user_data;

	if (result->status == LSQ_OK) {
		switch_log_printf(SWITCH_CHANNEL_UUID_LOG(ctx->uuid), SWITCH_LOG_INFO,
			"lsq_popup: shown (session %s, user %s): %s [id %s, %u attempt(s), %u ms]\n",
			ctx->session_id, ctx->user, result->message, result->message_id,
			(unsigned int) result->attempts, (unsigned int) result->elapsed_ms);
	} else {
		switch_log_printf(SWITCH_CHANNEL_UUID_LOG(ctx->uuid), SWITCH_LOG_WARNING,
			"lsq_popup: not shown (session %s, user %s): %s: %s [HTTP %u, %u attempt(s), %u ms]\n",
			ctx->session_id, ctx->user, lsq_status_str(result->status), result->message,
			(unsigned int) result->http_status, (unsigned int) result->attempts,
			(unsigned int) result->elapsed_ms);
	}
	free(ctx);
}

/* 8-4-4-4-12 hexadecimal digits.  liblsq checks this again at submit; here it
 * lets a typo in <users> show up at load time instead of during a call. */
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

/* Builds a client from lsq.conf.xml.  Returns NULL when the file is missing or
 * wrong; every problem is logged. */
static struct lsq_state *state_from_config(void)
{
	switch_xml_t xml, cfg, settings, users, param;
	struct lsq_state *state = NULL;
	lsq_options *opts = NULL;
	const char *host = NULL, *access_key = NULL, *secret_key = NULL;
	int bad = 0;

	if (!(xml = switch_xml_open_cfg(CONFIG_FILE, &cfg, NULL))) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR,
			"%s is missing or unreadable: lsq_popup will answer lsq_status=ERROR until it is fixed and reloaded\n",
			CONFIG_FILE);
		return NULL;
	}

	if (!(state = calloc(1, sizeof(*state))) || !(opts = lsq_options_new())
		|| switch_event_create_plain(&state->users, SWITCH_EVENT_CHANNEL_DATA) != SWITCH_STATUS_SUCCESS) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_CRIT, "%s: out of memory\n", CONFIG_FILE);
		goto fail;
	}
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
				host = value;
			} else if (!strcasecmp(name, "access_key")) {
				access_key = value;
			} else if (!strcasecmp(name, "secret_key")) {
				secret_key = value;
			} else if (!strcasecmp(name, "default_display")) {
				switch_copy_string(state->default_display, value, sizeof(state->default_display));
			} else if (!strcasecmp(name, "default_tag")) {
				switch_copy_string(state->default_tag, value, sizeof(state->default_tag));
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

			/* A bad row only costs that agent its popups, so it is skipped,
			 * not fatal. */
			if (zstr(extension) || !is_guid(id)) {
				switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_WARNING,
					"%s: <user extension=\"%s\"> needs an extension and a UserId GUID in id: skipped\n",
					CONFIG_FILE, extension);
				continue;
			}
			/* With an extension listed twice, the last one wins. */
			switch_event_del_header(state->users, extension);
			if (switch_event_add_header_string(state->users, SWITCH_STACK_BOTTOM, extension, id)
				!= SWITCH_STATUS_SUCCESS) {
				goto fail;
			}
			state->user_count++;
		}
	}

	if (zstr(host) || zstr(access_key) || zstr(secret_key)) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR,
			"%s: <settings> needs host, access_key and secret_key\n", CONFIG_FILE);
		bad = 1;
	}
	if (bad) {
		goto fail;
	}

	switch_copy_string(state->host, host, sizeof(state->host));
	/* No network I/O here: creating a client never blocks. */
	if (!(state->client = lsq_client_new_with_options(host, access_key, secret_key, opts))) {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR, "%s: cannot create the liblsq client: %s\n",
			CONFIG_FILE, lsq_last_error());
		goto fail;
	}

	lsq_options_free(opts);
	switch_xml_free(xml);
	return state;

fail:
	lsq_options_free(opts);
	state_free(state);
	switch_xml_free(xml);
	return NULL;
}

/* Publishes `state` (may be NULL) and frees the previous one outside the lock:
 * popups it had queued still finish, while new ones go to `state`. */
static void state_swap(struct lsq_state *state)
{
	struct lsq_state *old;

	switch_thread_rwlock_wrlock(globals.lock);
	old = globals.current;
	globals.current = state;
	switch_thread_rwlock_unlock(globals.lock);

	state_free(old);
}

/* Re-reads lsq.conf.xml; a bad file leaves the running configuration alone. */
static switch_status_t do_reload(void)
{
	struct lsq_state *state;
	switch_status_t status = SWITCH_STATUS_SUCCESS;

	switch_mutex_lock(globals.reload_mutex);
	if ((state = state_from_config())) {
		state_swap(state);
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_NOTICE, "lsq_popup: %s reloaded (liblsq %s)\n",
			CONFIG_FILE, lsq_version());
	} else {
		switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_ERROR,
			"%s has errors: the previous configuration (if any) stays in use\n", CONFIG_FILE);
		status = SWITCH_STATUS_FALSE;
	}
	switch_mutex_unlock(globals.reload_mutex);
	return status;
}

static const char *status_var(lsq_status res)
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

/* An argument left out, or given as "-" to reach a later one, takes its default. */
static const char *arg_or(const char *arg, const char *fallback)
{
	return (zstr(arg) || !strcmp(arg, "-")) ? fallback : arg;
}

static void set_status(switch_channel_t *channel, const char *value)
{
	switch_channel_set_variable(channel, "lsq_status", value);
}

/* lsq_popup <lead_id> [user] [source] [destination] [display] [direction] [tag]
 * Separated by spaces (quote a value with spaces in '...'; the tag, last, may
 * have spaces anyway), or by commas with FreeSWITCH's "^^," prefix. */
SWITCH_STANDARD_APP(lsq_popup_function)
{
	switch_channel_t *channel = switch_core_session_get_channel(session);
	char *argv[7] = { 0 };
	char *mydata;
	const char *uuid = switch_core_session_get_uuid(session);
	const char *user, *session_id, *direction, *result;
	const char *cid_num, *dest_num, *call_uuid, *dialed_user, *agent;
	struct popup_ctx *ctx;
	lsq_popup popup = { 0 };
	lsq_status res;

	if (zstr(data) || !(mydata = switch_core_session_strdup(session, data))
		|| switch_separate_string(mydata, ' ', argv, sizeof(argv) / sizeof(argv[0])) < 1) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_popup: usage: lsq_popup %s\n", POPUP_SYNTAX);
		set_status(channel, "INVALID");
		return;
	}
	direction = arg_or(argv[5], "inbound");
	if (!strcasecmp(direction, "inbound")) {
		popup.direction = LSQ_INBOUND;
	} else if (!strcasecmp(direction, "outbound")) {
		popup.direction = LSQ_OUTBOUND;
	} else {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_popup: direction must be inbound or outbound, not '%s'\n", direction);
		set_status(channel, "INVALID");
		return;
	}

	/* Copies in the session's pool, taken before the lock. */
	cid_num = switch_channel_get_variable(channel, "caller_id_number");
	dest_num = switch_channel_get_variable(channel, "destination_number");
	call_uuid = switch_channel_get_variable(channel, "call_uuid");
	/* On a leg rung through user/1001 (bridge, originate), dialed_user is the
	 * agent being rung: the default user and DestinationNumber there.  This
	 * is what lets one "{execute_on_ring='lsq_popup ...'}user/1001,user/1002"
	 * serve every agent, since FreeSWITCH refuses a ${...} left in a channel
	 * variable for the agent's leg to expand. */
	dialed_user = switch_channel_get_variable(channel, "dialed_user");
	agent = !zstr(dialed_user) ? dialed_user : switch_str_nil(dest_num);

	user = arg_or(argv[1], switch_str_nil(dialed_user));
	if (zstr(user)) {
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_popup: no user given, and no ${dialed_user} on this leg\n");
		set_status(channel, "INVALID");
		return;
	}

	if (!(ctx = calloc(1, sizeof(*ctx)))) {
		set_status(channel, "ERROR");
		return;
	}
	switch_copy_string(ctx->uuid, uuid, sizeof(ctx->uuid));
	switch_copy_string(ctx->user, user, sizeof(ctx->user));

	popup.lead_id = argv[0];
	popup.source_number = arg_or(argv[2], switch_str_nil(cid_num));
	popup.destination_number = arg_or(argv[3], agent);

	/* The read lock keeps globals.current (and its client) alive until the
	 * submit returns; submitting never blocks, so it is held only briefly. */
	switch_thread_rwlock_rdlock(globals.lock);
	if (!globals.current) {
		switch_thread_rwlock_unlock(globals.lock);
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_popup: not configured (fix %s.xml, then 'lsq reload')\n", CONFIG_FILE);
		free(ctx);
		set_status(channel, "ERROR");
		return;
	}
	/* The UserId: its <users> mapping, else the argument itself (a GUID
	 * given directly; liblsq rejects anything else). */
	popup.user_id = switch_event_get_header(globals.current->users, user);
	if (!popup.user_id) {
		popup.user_id = user;
	}
	popup.display_number = arg_or(argv[4],
		!zstr(globals.current->default_display) ? globals.current->default_display : switch_str_nil(dest_num));
	popup.tag = arg_or(argv[6], globals.current->default_tag);
	/* call_uuid is the A leg's uuid on every leg it originates: one id per
	 * call, which lets dedup_window_ms catch an agent rung twice. */
	session_id = (globals.current->use_uuid || zstr(call_uuid)) ? uuid : call_uuid;
	popup.call_session_id = session_id;
	switch_copy_string(ctx->session_id, session_id, sizeof(ctx->session_id));

	/* liblsq copies every string before returning: popup's pointers into
	 * globals.current and the session's pool need not outlive the call. */
	res = lsq_show_agent_popup_async(globals.current->client, &popup, popup_done, ctx);
	switch_thread_rwlock_unlock(globals.lock);

	result = status_var(res);
	switch (res) {
	case LSQ_OK:
		/* ctx now belongs to popup_done(), which may already have run:
		 * do not touch it here. */
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_DEBUG,
			"lsq_popup: queued (session %s, user %s)\n", session_id, user);
		break;
	case LSQ_DUPLICATE:
		/* Expected with dedup_window_ms when an agent is rung twice. */
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_INFO,
			"lsq_popup: duplicate of a popup already sent (session %s, user %s)\n", session_id, user);
		free(ctx);
		break;
	default:
		/* Not queued, so no callback: ctx is still ours.  lsq_last_error()
		 * names the offending field and never contains the keys. */
		switch_log_printf(SWITCH_CHANNEL_SESSION_LOG(session), SWITCH_LOG_WARNING,
			"lsq_popup: %s (%s): %s\n", result, lsq_status_str(res), lsq_last_error());
		free(ctx);
		break;
	}
	set_status(channel, result);
}

static void print_status(switch_stream_handle_t *stream)
{
	lsq_stats stats;
	lsq_status res;
	char host[HOST_BUF];
	unsigned int user_count;
	int use_uuid;

	stream->write_function(stream, "liblsq version:   %s\n", lsq_version());
	/* Copy under the read lock, print after: the stream may be a slow
	 * client, and a reload must not wait for it. */
	switch_thread_rwlock_rdlock(globals.lock);
	if (!globals.current) {
		switch_thread_rwlock_unlock(globals.lock);
		stream->write_function(stream, "State:            not configured (see %s errors in the log)\n", CONFIG_FILE);
		return;
	}
	switch_copy_string(host, globals.current->host, sizeof(host));
	user_count = globals.current->user_count;
	use_uuid = globals.current->use_uuid;
	res = lsq_client_stats(globals.current->client, &stats);
	switch_thread_rwlock_unlock(globals.lock);

	stream->write_function(stream, "Host:             %s\n", host);
	stream->write_function(stream, "CallSessionId:    %s\n", use_uuid ? "uuid" : "call_uuid");
	stream->write_function(stream, "Users mapped:     %u\n", user_count);
	if (res != LSQ_OK) {
		stream->write_function(stream, "Counters:         unavailable: %s\n", lsq_last_error());
		return;
	}
	stream->write_function(stream, "Submitted:        %" PRIu64 "\n", stats.submitted);
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

SWITCH_STANDARD_API(lsq_api_function)
{
	(void) session;
	if (zstr(cmd) || !strcasecmp(cmd, "status")) {
		print_status(stream);
	} else if (!strcasecmp(cmd, "reload")) {
		stream->write_function(stream, do_reload() == SWITCH_STATUS_SUCCESS
			? "+OK reloaded\n" : "-ERR lsq.conf has errors, see the log; the previous configuration stays\n");
	} else {
		stream->write_function(stream, "-USAGE: lsq %s\n", API_SYNTAX);
	}
	return SWITCH_STATUS_SUCCESS;
}

SWITCH_MODULE_LOAD_FUNCTION(mod_lsq_load)
{
	switch_application_interface_t *app_interface;
	switch_api_interface_t *api_interface;
	struct lsq_state *state;

	memset(&globals, 0, sizeof(globals));
	if (switch_thread_rwlock_create(&globals.lock, pool) != SWITCH_STATUS_SUCCESS
		|| switch_mutex_init(&globals.reload_mutex, SWITCH_MUTEX_NESTED, pool) != SWITCH_STATUS_SUCCESS) {
		return SWITCH_STATUS_TERM;
	}

	*module_interface = switch_loadable_module_create_module_interface(pool, modname);

	/* A bad lsq.conf.xml does not fail the load: lsq_popup must stay
	 * registered, or FreeSWITCH hangs up every call that reaches it
	 * ("Invalid Application").  It sets lsq_status=ERROR until the file is
	 * fixed and "lsq reload" is run. */
	state = state_from_config();
	state_swap(state);

	SWITCH_ADD_APP(app_interface, "lsq_popup", "Show a LeadSquared agent pop-up (liblsq)",
		"Queues a LeadSquared ShowAgentPopup request and returns at once; sets lsq_status to "
		"QUEUED, INVALID, QUEUE_FULL, DUPLICATE or ERROR.",
		lsq_popup_function, POPUP_SYNTAX, SAF_SUPPORT_NOMEDIA | SAF_ROUTING_EXEC);
	SWITCH_ADD_API(api_interface, "lsq", "liblsq: status and counters, or reload lsq.conf", lsq_api_function, API_SYNTAX);
	switch_console_set_complete("add lsq status");
	switch_console_set_complete("add lsq reload");

	switch_log_printf(SWITCH_CHANNEL_LOG, SWITCH_LOG_NOTICE, "mod_lsq: liblsq %s, %s\n", lsq_version(),
		state ? "configured" : "NOT configured");
	return SWITCH_STATUS_SUCCESS;
}

SWITCH_MODULE_SHUTDOWN_FUNCTION(mod_lsq_shutdown)
{
	/* FreeSWITCH has already waited for every running lsq_popup and "lsq"
	 * call to leave before calling this; drain and free the client. */
	switch_console_set_complete("del lsq");
	state_swap(NULL);
	return SWITCH_STATUS_SUCCESS;
}
