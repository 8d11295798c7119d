/*
 * app_lsq -- LeadSquared agent pop-ups from the Asterisk dialplan, through liblsq.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * This file is GPL-2.0-or-later because it declares ASTERISK_GPL_KEY (through
 * AST_MODULE_INFO), as every Asterisk module must.  liblsq itself is
 * MIT OR Apache-2.0, which GPLv2 code may link.
 *
 * Threads and locking, in one place:
 *
 *  - liblsq's client is thread-safe: any number of channel threads may submit
 *    on it at once.  lsq_show_agent_popup_async() validates, copies and queues
 *    the popup and returns at once; it never waits on the network or on the
 *    rate limiter, so calling it from a channel thread never delays the call.
 *
 *  - The current client (and the lsq.conf settings that go with it) lives in
 *    one `struct lsq_state`, reached through `current` under `state_lock`
 *    (an ast_rwlock).  LsqPopup and the CLI take the read lock for the few
 *    microseconds they use it; reload and unload take the write lock only to
 *    swap the pointer.  The old client is freed after the lock is released,
 *    so the wait in lsq_free() (its queued popups still finish, for up to
 *    shutdown_timeout_ms) never holds up a channel thread.
 *
 *  - Results arrive on liblsq's own threads.  The callback only logs and frees
 *    its own context; it never touches `current` and never calls lsq_free()
 *    or lsq_flush() (liblsq forbids that on the callback's own client).
 *    lsq_free() returns only after every callback has returned, so once
 *    unload_module() is done no code of this module runs any more.
 *
 *  - The access key and the secret key are read from lsq.conf, handed to
 *    liblsq and never logged, printed or kept by this module.
 */

/*** MODULEINFO
	<support_level>extended</support_level>
 ***/

#include "asterisk.h"

#include "asterisk/app.h"
#include "asterisk/channel.h"
#include "asterisk/cli.h"
#include "asterisk/config.h"
#include "asterisk/lock.h"
#include "asterisk/logger.h"
#include "asterisk/module.h"
#include "asterisk/pbx.h"
#include "asterisk/strings.h"
#include "asterisk/utils.h"

#include <lsq.h>

#define CONFIG_FILE "lsq.conf"

static const char app[] = "LsqPopup";

static const char app_synopsis[] = "Show a LeadSquared agent pop-up (liblsq), without waiting for it.";

/* Out-of-tree modules are not part of Asterisk's XML documentation, so the
 * text for "core show application LsqPopup" is given here. */
static const char app_description[] =
	"LsqPopup(lead_id,user[,source[,destination[,display[,direction[,tag]]]]])\n"
	"\n"
	"Queues a LeadSquared \"Show Agent Pop-Up\" request and returns at once:\n"
	"the HTTP request is made by liblsq's own threads, never by the channel.\n"
	"\n"
	"  lead_id      LeadId: the lead's GUID.\n"
	"  user         UserId: a LeadSquared user GUID, or a key of the [users]\n"
	"               section of lsq.conf (e.g. the agent's extension).\n"
	"  source       SourceNumber.       Default: ${CALLERID(num)}.\n"
	"  destination  DestinationNumber.  Default: ${EXTEN}.\n"
	"  display      DisplayNumber (the IVR number).  Default: default_display\n"
	"               from lsq.conf, else ${CALLERID(dnid)}.\n"
	"  direction    inbound or outbound.  Default: inbound.\n"
	"  tag          Tag.  Default: default_tag from lsq.conf, else none.\n"
	"\n"
	"CallSessionId is ${LINKEDID} (one id for every leg of the call, so that\n"
	"dedup_window_ms can spot an agent rung twice), or ${UNIQUEID} with\n"
	"call_session_id=uniqueid in lsq.conf.\n"
	"\n"
	"Sets LSQSTATUS to one of:\n"
	"  QUEUED      accepted; the result is logged when it arrives\n"
	"  INVALID     a field is missing or malformed (the log names it)\n"
	"  QUEUE_FULL  liblsq's queue is full (see queue_capacity)\n"
	"  DUPLICATE   same CallSessionId and UserId within dedup_window_ms\n"
	"  ERROR       not configured (see lsq.conf errors in the log), or another error\n"
	"\n"
	"LsqPopup never hangs up the channel: it always returns 0.\n";

/* A field longer than liblsq's limit (256 bytes) is copied as 257 bytes, so
 * that liblsq refuses it as too long rather than this module cutting it. */
#define FIELD_BUF 258
#define HOST_BUF 256

/* What LsqPopup needs from one load of lsq.conf.  Immutable once published
 * through `current`, so readers need only the read lock. */
struct lsq_state {
	lsq_client *client;
	char host[HOST_BUF];       /* shown by "lsq show status"; not a secret */
	char default_display[FIELD_BUF]; /* [general] default_display, may be "" */
	char default_tag[FIELD_BUF];     /* [general] default_tag, may be "" */
	int use_uniqueid;          /* CallSessionId: 0 = LINKEDID, 1 = UNIQUEID */
	struct ast_variable *users;/* [users]: key => UserId GUID */
	unsigned int user_count;
};

AST_RWLOCK_DEFINE_STATIC(state_lock);
static struct lsq_state *current; /* NULL while not configured */

/* Everything the result callback logs, copied at submit time: the channel may
 * be gone by the time the result arrives. */
struct popup_ctx {
	char channel[AST_CHANNEL_NAME];
	char session_id[AST_MAX_UNIQUEID];
	char user[128];            /* the user argument as given (an extension or a GUID) */
};

static void state_free(struct lsq_state *state)
{
	if (!state) {
		return;
	}
	/* Waits for queued popups (up to shutdown_timeout_ms) and for every
	 * callback to return.  Never call this with state_lock held. */
	lsq_free(state->client);
	ast_variables_destroy(state->users);
	ast_free(state);
}

/* liblsq's own log lines (connection trouble, rate limits learned, ...).
 * Called on any thread, liblsq's or ours: it only logs. */
static void lsq_log_cb(uint32_t level, const char *message, void *user_data)
{
	(void) user_data;
	switch (level) {
	case LSQ_LOG_ERROR:
		ast_log(LOG_ERROR, "liblsq: %s\n", message);
		break;
	case LSQ_LOG_WARN:
		ast_log(LOG_WARNING, "liblsq: %s\n", message);
		break;
	case LSQ_LOG_INFO:
		ast_verb(3, "liblsq: %s\n", message);
		break;
	default: /* LSQ_LOG_DEBUG, and any level a newer liblsq may add */
		ast_debug(1, "liblsq: %s\n", message);
		break;
	}
}

/* The final result of one queued popup: called exactly once, on a liblsq
 * thread.  It must not take state_lock (reload may be waiting in lsq_free()
 * for this very callback) and must not call lsq_free()/lsq_flush(). */
static void popup_done(const lsq_result *result, void *user_data)
{
	struct popup_ctx *ctx = user_data;

	if (result->status == LSQ_OK) {
		ast_verb(3, "LsqPopup: shown on %s (session %s, user %s): %s [id %s, %u attempt(s), %u ms]\n",
			ctx->channel, ctx->session_id, ctx->user, result->message, result->message_id,
			(unsigned int) result->attempts, (unsigned int) result->elapsed_ms);
	} else {
		ast_log(LOG_WARNING, "LsqPopup: not shown on %s (session %s, user %s): %s: %s [HTTP %u, %u attempt(s), %u ms]\n",
			ctx->channel, ctx->session_id, ctx->user, lsq_status_str(result->status), result->message,
			(unsigned int) result->http_status, (unsigned int) result->attempts,
			(unsigned int) result->elapsed_ms);
	}
	ast_free(ctx);
}

/* 8-4-4-4-12 hexadecimal digits.  liblsq checks this again at submit; here it
 * lets a typo in [users] show up at load time instead of during a call. */
static int is_guid(const char *s)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	size_t g;
	int i;

	for (g = 0; g < ARRAY_LEN(groups); g++) {
		for (i = 0; i < groups[g]; i++, s++) {
			if (!isxdigit((unsigned char) *s)) {
				return 0;
			}
		}
		if (*s != (g + 1 < ARRAY_LEN(groups) ? '-' : '\0')) {
			return 0;
		}
		s++;
	}
	return 1;
}

/*
 * Builds a client from lsq.conf.  Returns NULL when the file is missing or
 * wrong (every problem is logged), or, with skip_unchanged, when it has not
 * changed since it was last read (*unchanged is then set).
 */
static struct lsq_state *state_from_config(int skip_unchanged, int *unchanged)
{
	struct ast_flags flags = { skip_unchanged ? CONFIG_FLAG_FILEUNCHANGED : 0 };
	struct ast_config *cfg;
	struct ast_variable *v;
	struct lsq_state *state = NULL;
	lsq_options *opts = NULL;
	const char *host = NULL, *access_key = NULL, *secret_key = NULL;
	const char *cat = NULL;
	int bad = 0;

	*unchanged = 0;
	cfg = ast_config_load(CONFIG_FILE, flags);
	if (cfg == CONFIG_STATUS_FILEUNCHANGED) {
		*unchanged = 1;
		return NULL;
	}
	if (!cfg || cfg == CONFIG_STATUS_FILEINVALID) {
		ast_log(LOG_ERROR, "%s is missing or unreadable: LsqPopup will answer LSQSTATUS=ERROR until it is fixed and reloaded\n",
			CONFIG_FILE);
		return NULL;
	}

	if (!(state = ast_calloc(1, sizeof(*state))) || !(opts = lsq_options_new())) {
		ast_log(LOG_ERROR, "%s: out of memory\n", CONFIG_FILE);
		goto fail;
	}
	if (lsq_options_set_log_callback(opts, lsq_log_cb, NULL) != LSQ_OK) {
		ast_log(LOG_ERROR, "%s: cannot route liblsq's log: %s\n", CONFIG_FILE, lsq_last_error());
		goto fail;
	}

	while ((cat = ast_category_browse(cfg, cat))) {
		if (!strcasecmp(cat, "general")) {
			for (v = ast_variable_browse(cfg, cat); v; v = v->next) {
				if (!strcasecmp(v->name, "host")) {
					host = v->value;
				} else if (!strcasecmp(v->name, "access_key")) {
					access_key = v->value;
				} else if (!strcasecmp(v->name, "secret_key")) {
					secret_key = v->value;
				} else if (!strcasecmp(v->name, "default_display")) {
					ast_copy_string(state->default_display, v->value, sizeof(state->default_display));
				} else if (!strcasecmp(v->name, "default_tag")) {
					ast_copy_string(state->default_tag, v->value, sizeof(state->default_tag));
				} else if (!strcasecmp(v->name, "call_session_id")) {
					if (!strcasecmp(v->value, "linkedid")) {
						state->use_uniqueid = 0;
					} else if (!strcasecmp(v->value, "uniqueid")) {
						state->use_uniqueid = 1;
					} else {
						ast_log(LOG_ERROR, "%s line %d: call_session_id must be linkedid or uniqueid\n",
							CONFIG_FILE, v->lineno);
						bad = 1;
					}
				} else if (lsq_options_set(opts, v->name, v->value) != LSQ_OK) {
					/* Any other key is a liblsq option.  The value is not
					 * logged: a proxy URL may carry a password. */
					ast_log(LOG_ERROR, "%s line %d: '%s': %s\n",
						CONFIG_FILE, v->lineno, v->name, lsq_last_error());
					bad = 1;
				}
			}
		} else if (!strcasecmp(cat, "users")) {
			for (v = ast_variable_browse(cfg, cat); v; v = v->next) {
				struct ast_variable *user;

				/* A bad row only costs that agent its popups, so it is
				 * skipped, not fatal. */
				if (!is_guid(v->value)) {
					ast_log(LOG_WARNING, "%s line %d: [users] '%s' is not a UserId GUID: skipped\n",
						CONFIG_FILE, v->lineno, v->name);
					continue;
				}
				if (!(user = ast_variable_new(v->name, v->value, CONFIG_FILE))) {
					goto fail;
				}
				/* Prepend: with a key listed twice, the last one wins. */
				user->next = state->users;
				state->users = user;
				state->user_count++;
			}
		} else {
			ast_log(LOG_WARNING, "%s: unknown section [%s] ignored\n", CONFIG_FILE, cat);
		}
	}

	if (ast_strlen_zero(host) || ast_strlen_zero(access_key) || ast_strlen_zero(secret_key)) {
		ast_log(LOG_ERROR, "%s: [general] needs host, access_key and secret_key\n", CONFIG_FILE);
		bad = 1;
	}
	if (bad) {
		goto fail;
	}

	ast_copy_string(state->host, host, sizeof(state->host));
	/* No network I/O here: creating a client never blocks. */
	if (!(state->client = lsq_client_new_with_options(host, access_key, secret_key, opts))) {
		ast_log(LOG_ERROR, "%s: cannot create the liblsq client: %s\n", CONFIG_FILE, lsq_last_error());
		goto fail;
	}

	lsq_options_free(opts);
	ast_config_destroy(cfg);
	return state;

fail:
	lsq_options_free(opts);
	state_free(state);
	ast_config_destroy(cfg);
	return NULL;
}

/* The UserId for `user`: its [users] mapping, else the argument itself
 * (a GUID given directly; liblsq rejects anything else). */
static const char *resolve_user(const struct lsq_state *state, const char *user)
{
	const struct ast_variable *v;

	for (v = state->users; v; v = v->next) {
		if (!strcmp(v->name, user)) {
			return v->value;
		}
	}
	return user;
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

static int lsq_popup_exec(struct ast_channel *chan, const char *data)
{
	AST_DECLARE_APP_ARGS(args,
		AST_APP_ARG(lead_id);
		AST_APP_ARG(user);
		AST_APP_ARG(source);
		AST_APP_ARG(destination);
		AST_APP_ARG(display);
		AST_APP_ARG(direction);
		AST_APP_ARG(tag);
	);
	char *parse = ast_strdupa(S_OR(data, ""));
	/* Defaults, copied under the channel lock. */
	char chan_name[AST_CHANNEL_NAME];
	char uniqueid[AST_MAX_UNIQUEID], linkedid[AST_MAX_UNIQUEID];
	char cid_num[FIELD_BUF], dnid[FIELD_BUF], exten[FIELD_BUF];
	const char *session_id;
	struct popup_ctx *ctx;
	lsq_popup popup = { 0 };
	lsq_status res;
	const char *result;

	AST_STANDARD_APP_ARGS(args, parse);

	ast_channel_lock(chan);
	ast_copy_string(chan_name, ast_channel_name(chan), sizeof(chan_name));
	ast_copy_string(uniqueid, ast_channel_uniqueid(chan), sizeof(uniqueid));
	ast_copy_string(linkedid, ast_channel_linkedid(chan), sizeof(linkedid));
	ast_copy_string(cid_num, S_COR(ast_channel_caller(chan)->id.number.valid,
		ast_channel_caller(chan)->id.number.str, ""), sizeof(cid_num));
	ast_copy_string(dnid, S_OR(ast_channel_dialed(chan)->number.str, ""), sizeof(dnid));
	ast_copy_string(exten, ast_channel_exten(chan), sizeof(exten));
	ast_channel_unlock(chan);

	if (ast_strlen_zero(args.direction) || !strcasecmp(args.direction, "inbound")) {
		popup.direction = LSQ_INBOUND;
	} else if (!strcasecmp(args.direction, "outbound")) {
		popup.direction = LSQ_OUTBOUND;
	} else {
		ast_log(LOG_WARNING, "%s on %s: direction must be inbound or outbound, not '%s'\n",
			app, chan_name, args.direction);
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "INVALID");
		return 0;
	}
	if (ast_strlen_zero(args.user)) {
		ast_log(LOG_WARNING, "%s on %s: no user given (usage: %s(lead_id,user[,...]))\n",
			app, chan_name, app);
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "INVALID");
		return 0;
	}
	if (!(ctx = ast_calloc(1, sizeof(*ctx)))) {
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "ERROR");
		return 0;
	}
	ast_copy_string(ctx->channel, chan_name, sizeof(ctx->channel));
	ast_copy_string(ctx->user, args.user, sizeof(ctx->user));

	popup.lead_id = S_OR(args.lead_id, "");
	popup.source_number = S_OR(args.source, cid_num);
	popup.destination_number = S_OR(args.destination, exten);

	/* The read lock keeps `current` (and its client) alive until the submit
	 * returns; submitting never blocks, so the lock is held only briefly. */
	ast_rwlock_rdlock(&state_lock);
	if (!current) {
		ast_rwlock_unlock(&state_lock);
		ast_log(LOG_WARNING, "%s on %s: not configured (fix %s, then 'module reload app_lsq')\n",
			app, chan_name, CONFIG_FILE);
		ast_free(ctx);
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "ERROR");
		return 0;
	}
	popup.user_id = resolve_user(current, args.user);
	popup.display_number = S_OR(args.display, S_OR(current->default_display, dnid));
	popup.tag = S_OR(args.tag, current->default_tag);
	session_id = current->use_uniqueid ? uniqueid : linkedid;
	popup.call_session_id = session_id;
	ast_copy_string(ctx->session_id, session_id, sizeof(ctx->session_id));

	/* liblsq copies every string before returning: popup's pointers into
	 * `current` and into this stack frame need not outlive the call. */
	res = lsq_show_agent_popup_async(current->client, &popup, popup_done, ctx);
	ast_rwlock_unlock(&state_lock);

	result = status_var(res);
	switch (res) {
	case LSQ_OK:
		/* ctx now belongs to popup_done(), which may already have run:
		 * do not touch it here. */
		ast_debug(1, "%s on %s: queued (session %s, user %s)\n", app, chan_name, session_id, args.user);
		break;
	case LSQ_DUPLICATE:
		/* Expected with dedup_window_ms when an agent is rung twice. */
		ast_verb(4, "%s on %s: duplicate of a popup already sent (session %s, user %s)\n",
			app, chan_name, session_id, args.user);
		ast_free(ctx);
		break;
	default:
		/* Not queued, so no callback: ctx is still ours.  lsq_last_error()
		 * names the offending field and never contains the keys. */
		ast_log(LOG_WARNING, "%s on %s: %s (%s): %s\n", app, chan_name, result,
			lsq_status_str(res), lsq_last_error());
		ast_free(ctx);
		break;
	}
	pbx_builtin_setvar_helper(chan, "LSQSTATUS", result);
	return 0;
}

static char *handle_show_status(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a)
{
	lsq_stats stats;
	lsq_status res;
	char host[HOST_BUF];
	unsigned int user_count;
	int use_uniqueid;

	switch (cmd) {
	case CLI_INIT:
		e->command = "lsq show status";
		e->usage =
			"Usage: lsq show status\n"
			"       Shows liblsq's configuration and popup counters since the last load or reload.\n";
		return NULL;
	case CLI_GENERATE:
		return NULL;
	}
	if (a->argc != 3) {
		return CLI_SHOWUSAGE;
	}

	ast_cli(a->fd, "liblsq version:   %s\n", lsq_version());
	/* Copy under the read lock, print after: ast_cli may block on a slow
	 * console, and reload must not wait for it. */
	ast_rwlock_rdlock(&state_lock);
	if (!current) {
		ast_rwlock_unlock(&state_lock);
		ast_cli(a->fd, "State:            not configured (see %s errors in the log)\n", CONFIG_FILE);
		return CLI_SUCCESS;
	}
	ast_copy_string(host, current->host, sizeof(host));
	user_count = current->user_count;
	use_uniqueid = current->use_uniqueid;
	res = lsq_client_stats(current->client, &stats);
	ast_rwlock_unlock(&state_lock);

	ast_cli(a->fd, "Host:             %s\n", host);
	ast_cli(a->fd, "CallSessionId:    %s\n", use_uniqueid ? "UNIQUEID" : "LINKEDID");
	ast_cli(a->fd, "Users mapped:     %u\n", user_count);
	if (res != LSQ_OK) {
		ast_cli(a->fd, "Counters:         unavailable: %s\n", lsq_last_error());
		return CLI_SUCCESS;
	}
	ast_cli(a->fd, "Submitted:        %" PRIu64 "\n", stats.submitted);
	ast_cli(a->fd, "Succeeded:        %" PRIu64 "\n", stats.succeeded);
	ast_cli(a->fd, "Failed:           %" PRIu64 " (expired %" PRIu64 ", cancelled %" PRIu64 ")\n",
		stats.failed, stats.expired, stats.cancelled);
	ast_cli(a->fd, "Dropped (full):   %" PRIu64 "\n", stats.dropped);
	ast_cli(a->fd, "Duplicates:       %" PRIu64 "\n", stats.duplicates);
	ast_cli(a->fd, "Retries:          %" PRIu64 "\n", stats.retries);
	ast_cli(a->fd, "Rate limited:     %" PRIu64 "\n", stats.rate_limited);
	ast_cli(a->fd, "Queued now:       %u\n", (unsigned int) stats.queued);
	ast_cli(a->fd, "In flight now:    %u\n", (unsigned int) stats.in_flight);
	return CLI_SUCCESS;
}

static struct ast_cli_entry cli_lsq[] = {
	AST_CLI_DEFINE(handle_show_status, "Show liblsq's state and popup counters"),
};

/* Publishes `state` (may be NULL) and frees the previous one outside the lock:
 * popups it had queued still finish, while new ones go to `state`. */
static void state_swap(struct lsq_state *state)
{
	struct lsq_state *old;

	ast_rwlock_wrlock(&state_lock);
	old = current;
	current = state;
	ast_rwlock_unlock(&state_lock);

	state_free(old);
}

static int reload_module(void)
{
	struct lsq_state *state;
	int configured, unchanged;

	/* Asterisk serializes load, reload and unload of a module, so `current`
	 * cannot change between this check and the swap below. */
	ast_rwlock_rdlock(&state_lock);
	configured = current != NULL;
	ast_rwlock_unlock(&state_lock);

	/* Skip an unchanged file only while a configuration is in use: after a
	 * failed load, a reload must try again (a ca_file may have appeared). */
	state = state_from_config(configured, &unchanged);
	if (unchanged) {
		return AST_MODULE_LOAD_SUCCESS;
	}
	if (!state) {
		if (configured) {
			ast_log(LOG_ERROR, "%s has errors: keeping the previous configuration\n", CONFIG_FILE);
		}
		return AST_MODULE_LOAD_DECLINE;
	}
	state_swap(state);
	ast_verb(2, "LsqPopup: %s reloaded (liblsq %s)\n", CONFIG_FILE, lsq_version());
	return AST_MODULE_LOAD_SUCCESS;
}

static int unload_module(void)
{
	int res = 0;

	/* First stop new work (Asterisk refuses the unload while a channel is
	 * inside LsqPopup), then drain and free the client. */
	res |= ast_unregister_application(app);
	res |= ast_cli_unregister_multiple(cli_lsq, ARRAY_LEN(cli_lsq));
	state_swap(NULL);
	return res;
}

static int load_module(void)
{
	struct lsq_state *state;
	int unchanged;

	/* A bad lsq.conf does not decline the module: LsqPopup must stay
	 * registered, or every dialplan that calls it would hang up its calls.
	 * It answers LSQSTATUS=ERROR until the file is fixed and reloaded. */
	state = state_from_config(0, &unchanged);
	state_swap(state);

	if (ast_cli_register_multiple(cli_lsq, ARRAY_LEN(cli_lsq))
		|| ast_register_application(app, lsq_popup_exec, app_synopsis, app_description)) {
		unload_module();
		return AST_MODULE_LOAD_DECLINE;
	}
	ast_verb(2, "LsqPopup: liblsq %s, %s\n", lsq_version(), state ? "configured" : "NOT configured");
	return AST_MODULE_LOAD_SUCCESS;
}

AST_MODULE_INFO(ASTERISK_GPL_KEY, AST_MODFLAG_LOAD_ORDER, "LeadSquared agent pop-ups (liblsq)",
	.support_level = AST_MODULE_SUPPORT_EXTENDED,
	.load = load_module,
	.unload = unload_module,
	.reload = reload_module,
	.load_pri = AST_MODPRI_DEFAULT,
);
