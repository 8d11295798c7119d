/*
 * app_lsq -- LeadSquared's telephony flow from the Asterisk dialplan, through liblsq:
 * look the caller up, pop the lead up on every ringing agent, route to the
 * lead's owner, log every call.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * This file is GPL-2.0-or-later because it declares ASTERISK_GPL_KEY (through
 * AST_MODULE_INFO), as every Asterisk module must.  liblsq itself is
 * MIT OR Apache-2.0, which GPLv2 code may link.
 *
 * Applications:
 *   LsqPopup([lead_id],user[,...])  an agent's phone rings: look the caller up
 *                                   (unless lead_id is given) and pop the lead
 *                                   up; never waits (lsq_agent_ringing_async).
 *   LsqLookup([number])             find the lead for routing; waits at most
 *                                   lookup_timeout_ms.
 *   LsqLogCall([direction,...])     log the call (a hangup handler); durable
 *                                   through liblsq's outbox.
 *
 * Threads and locking, in one place:
 *
 *  - liblsq's client is thread-safe: any number of channel threads may submit
 *    on it at once.  Every *_async call validates, copies and queues and
 *    returns at once; it never waits on the network or on the rate limiter.
 *
 *  - The current client (and the lsq.conf settings that go with it) lives in
 *    one `struct lsq_state`, reached through `current` under `state_lock`
 *    (an ast_rwlock).  The applications and the CLI take the read lock only
 *    to submit (microseconds).  Reload and unload take the write lock, free
 *    the old client and, on reload, create the new one before releasing it:
 *    two clients may not open one outbox file at once, so the old one must be
 *    gone first.  That takes at most shutdown_timeout_ms (queued popups are
 *    given that long, then cancelled; call logs stay in the outbox and the new
 *    client sends them).  Meanwhile LsqPopup does not wait (tryrdlock: the
 *    popup is skipped, LSQSTATUS=ERROR), LsqLookup waits at most
 *    lookup_timeout_ms, and LsqLogCall waits (a hangup handler may), so no log
 *    is lost to a reload.
 *
 *  - Results arrive on liblsq's own threads.  Callbacks only log, signal a
 *    waiting LsqLookup and free their own context; they never take
 *    state_lock and never call lsq_free() or lsq_flush() (liblsq forbids
 *    that on the callback's own client).  lsq_free() returns only after every
 *    callback has returned, so once unload_module() is done no code of this
 *    module runs any more.
 *
 *  - Each outcome is logged once, by this module, naming the channel and the
 *    agent; liblsq's own per-popup failure line says the same with less
 *    context, so it is logged at debug level only.
 *
 *  - The access key and the secret key are read from lsq.conf, handed to
 *    liblsq and never logged, printed or kept by this module.
 */

/*** MODULEINFO
	<support_level>extended</support_level>
 ***/

#include "asterisk.h"

#include <ctype.h>
#include <time.h>

#include "asterisk/app.h"
#include "asterisk/channel.h"
#include "asterisk/cli.h"
#include "asterisk/config.h"
#include "asterisk/lock.h"
#include "asterisk/logger.h"
#include "asterisk/module.h"
#include "asterisk/paths.h"
#include "asterisk/pbx.h"
#include "asterisk/strings.h"
#include "asterisk/time.h"
#include "asterisk/utils.h"

#include <lsq.h>

#define CONFIG_FILE "lsq.conf"

static const char app_popup[] = "LsqPopup";
static const char app_lookup[] = "LsqLookup";
static const char app_logcall[] = "LsqLogCall";

/* Out-of-tree modules are not part of Asterisk's XML documentation, so the
 * text for "core show application ..." is given here. */
static const char popup_synopsis[] = "Pop the caller's lead up on a ringing agent's screen (liblsq), without waiting.";
static const char popup_description[] =
	"LsqPopup([lead_id],user[,source[,destination[,display[,direction[,tag]]]]])\n"
	"\n"
	"Queues a LeadSquared \"Show Agent Pop-Up\" and returns at once: the lead\n"
	"lookup and the HTTP requests are made by liblsq's own threads, never by the\n"
	"channel.  Meant for the pre-dial handler b() of Dial and Queue, which runs on\n"
	"each agent channel just before it rings.\n"
	"\n"
	"  lead_id      LeadId (a GUID).  Empty: looked up from the lead's number\n"
	"               (source inbound, destination outbound); no lead, no popup.\n"
	"  user         the agent: a key of [users] in lsq.conf (e.g. the extension),\n"
	"               or a UserId GUID or the agent's e-mail address directly.\n"
	"  source       SourceNumber.       Default: ${CALLERID(num)}.\n"
	"  destination  DestinationNumber.  Default: ${EXTEN}.\n"
	"  display      DisplayNumber (the IVR number).  Default: default_display\n"
	"               from lsq.conf, else ${CALLERID(dnid)}.\n"
	"  direction    inbound or outbound.  Default: inbound.\n"
	"  tag          Tag.  Default: default_tag from lsq.conf, else none.\n"
	"\n"
	"CallSessionId is ${LINKEDID} (one id for every leg of the call), or\n"
	"${UNIQUEID} with call_session_id=uniqueid in lsq.conf.\n"
	"\n"
	"Sets LSQSTATUS to one of:\n"
	"  QUEUED      accepted; the outcome is logged when it arrives\n"
	"  INVALID     a field is missing or malformed, or the agent is missing\n"
	"              from [users] (the warning names it)\n"
	"  QUEUE_FULL  liblsq's queue is full (see queue_capacity)\n"
	"  DUPLICATE   same CallSessionId and agent within dedup_window_ms\n"
	"  ERROR       not configured or being reloaded (see the log)\n"
	"\n"
	"Never hangs up the channel: it always returns 0.\n";

static const char lookup_synopsis[] = "Find the LeadSquared lead of a number, for routing (waits at most lookup_timeout_ms).";
static const char lookup_description[] =
	"LsqLookup([number])\n"
	"\n"
	"Finds the lead whose phone is number (default ${CALLERID(num)}), waiting at\n"
	"most lookup_timeout_ms (lsq.conf, default 2000).  A number looked up in the\n"
	"last lead_cache_ttl_ms (by LsqPopup or LsqLookup) is answered from liblsq's\n"
	"cache at once; concurrent lookups of one number share one request.  A\n"
	"lookup still running at the timeout goes on in the background and fills\n"
	"the cache for the popups.  Sets:\n"
	"  LSQ_LEAD_ID      the LeadId (ProspectID)\n"
	"  LSQ_LEAD_NAME    FirstName LastName\n"
	"  LSQ_LEAD_OWNER   the owner's UserId\n"
	"  LSQ_OWNER_AGENT  the [users] key whose value is that UserId; empty if\n"
	"                   none (rows given as an e-mail are not matched)\n"
	"  LSQSTATUS        FOUND, NOT_FOUND (no lead has the number), TIMEOUT,\n"
	"                   INVALID (not a phone number), or ERROR (not configured,\n"
	"                   or the lookup failed: the log says why)\n"
	"The LSQ_* variables are emptied unless LSQSTATUS is FOUND.\n"
	"Never hangs up the channel: it always returns 0.\n";

static const char logcall_synopsis[] = "Log the call in LeadSquared (liblsq), durably: for a hangup handler.";
static const char logcall_description[] =
	"LsqLogCall([direction[,lead_number[,agent[,display[,tag]]]]])\n"
	"\n"
	"Logs the call with LeadSquared's telephony Call Log API.  Meant for a hangup\n"
	"handler (CHANNEL(hangup_handler_push)) on the caller's channel (inbound) or\n"
	"the agent's channel (outbound).  Returns once the log is stored in the\n"
	"outbox (an SQLite file, synced to disk); liblsq sends it, retrying, even\n"
	"across restarts.\n"
	"\n"
	"  direction    inbound (default) or outbound.\n"
	"  lead_number  the lead's number.  Default: inbound ${CALLERID(num)},\n"
	"               outbound ${EXTEN}.\n"
	"  agent        the agent who answered (inbound) or called (outbound): a\n"
	"               [users] key, a UserId or an e-mail.  Default: ${LSQ_AGENT},\n"
	"               else the answering peer (${DIALEDPEERNUMBER}, or\n"
	"               ${MEMBERINTERFACE} from Queue with setinterfacevar=yes),\n"
	"               cut to the part between 'tech/' and '@'; outbound:\n"
	"               ${CALLERID(num)}.\n"
	"  display      DisplayNumber.  Default: default_display, else\n"
	"               ${CALLERID(dnid)}, else ${EXTEN}.\n"
	"  tag          Tag.  Default: default_tag, else none.\n"
	"\n"
	"Status: Answered when ${DIALSTATUS} is ANSWER or ${ANSWEREDTIME} is set\n"
	"and not 0 (Dial and Queue set them), else Missed.  StartTime: the channel's\n"
	"creation; EndTime: now; CallDuration: ${ANSWEREDTIME}.  LeadId:\n"
	"${LSQ_LEAD_ID} when set (LsqLookup), else LeadSquared matches the number.\n"
	"ResourceURL: ${LSQ_RECORDING_URL} when set, else recording_url from\n"
	"lsq.conf with {file} replaced by the name of ${MIXMONITOR_FILENAME}\n"
	"(answered calls only).  CallSessionId: as LsqPopup's.\n"
	"\n"
	"Sets LSQSTATUS to STORED, INVALID (the warning names the field), or\n"
	"ERROR (not configured, or the outbox could not be written: the log says\n"
	"why).  Always returns 0.\n";

/* A field longer than liblsq's limit (256 bytes) is copied as 257 bytes, so
 * that liblsq refuses it as too long rather than this module cutting it. */
#define FIELD_BUF 258
#define HOST_BUF 256
#define URL_BUF 2100
#define PATH_BUF 4096
#define METRICS_BUF 16384
#define SUMMARY_BUF 600

/* An agent mapping of [users]: key => UserId GUID or e-mail. */
struct lsq_user {
	char key[FIELD_BUF];
	char value[FIELD_BUF];
	int is_email;
};

/* What the applications need from one load of lsq.conf.  Immutable once
 * published through `current`, so readers need only the read lock. */
struct lsq_state {
	lsq_client *client;
	char host[HOST_BUF];             /* shown by "lsq show status"; not a secret */
	char outbox[PATH_BUF];           /* "" when call logs are kept in memory only */
	char default_display[FIELD_BUF]; /* [general] default_display, may be "" */
	char default_tag[FIELD_BUF];     /* [general] default_tag, may be "" */
	char recording_url[URL_BUF];     /* [general] recording_url template, may be "" */
	unsigned int lookup_timeout_ms;  /* [general] lookup_timeout_ms */
	int use_uniqueid;                /* CallSessionId: 0 = LINKEDID, 1 = UNIQUEID */
	struct lsq_user *users;          /* [users], in file order */
	unsigned int user_count;
};

AST_RWLOCK_DEFINE_STATIC(state_lock);
static struct lsq_state *current; /* NULL while not configured */

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

/* The short name of a status, as LSQSTATUS and the log lines print it and
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

/* x@y with no spaces: liblsq checks the rest. */
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

/* liblsq's own log lines (connection trouble, rate limits learned, dead call
 * logs, ...).  Called on any thread: it only logs. */
static void lsq_log_cb(uint32_t level, const char *message, void *user_data)
{
	(void) user_data;
	/* "call X: popup failed after N attempt(s): ..." is said again, with the
	 * channel and the agent, by popup_done(): keep one of the two. */
	if (level == LSQ_LOG_ERROR && !strncmp(message, "call ", 5) && strstr(message, ": popup failed")) {
		level = LSQ_LOG_DEBUG;
	}
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

/* Clears a copy of a key (a plain memset may be optimised away). */
static void wipe(char *buf, size_t len)
{
	volatile char *p = buf;

	while (len--) {
		*p++ = '\0';
	}
}

static void state_free(struct lsq_state *state)
{
	if (!state) {
		return;
	}
	/* Waits for queued work (up to shutdown_timeout_ms) and for every
	 * callback to return.  Callbacks never take state_lock, so this may be
	 * called with it held. */
	lsq_free(state->client);
	ast_free(state->users);
	ast_free(state);
}

/* The [users] row for `key`, or NULL. */
static const struct lsq_user *find_user(const struct lsq_state *state, const char *key)
{
	unsigned int i;

	/* The last row of a key listed twice wins. */
	for (i = state->user_count; i-- > 0;) {
		if (!strcmp(state->users[i].key, key)) {
			return &state->users[i];
		}
	}
	return NULL;
}

/* The `user` for liblsq: the [users] value of `agent`, else `agent` itself
 * when it is a GUID or an e-mail; NULL when it is neither (missing from
 * [users]). */
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

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */

/*
 * Reads lsq.conf into a new state, without its client.  Returns NULL when
 * the file is missing or wrong (every problem is logged), or, with
 * skip_unchanged, when it has not changed (*unchanged is then set).
 * *opts_out receives the liblsq options (the caller creates the client).
 */
static struct lsq_state *state_from_config(int skip_unchanged, int *unchanged, lsq_options **opts_out,
	char *access_key, char *secret_key, size_t key_len)
{
	struct ast_flags flags = { skip_unchanged ? CONFIG_FLAG_FILEUNCHANGED : 0 };
	struct ast_config *cfg;
	struct ast_variable *v;
	struct lsq_state *state = NULL;
	lsq_options *opts = NULL;
	const char *cat = NULL;
	int bad = 0, have_outbox = 0;
	unsigned int n;

	*unchanged = 0;
	*opts_out = NULL;
	cfg = ast_config_load(CONFIG_FILE, flags);
	if (cfg == CONFIG_STATUS_FILEUNCHANGED) {
		*unchanged = 1;
		return NULL;
	}
	if (!cfg || cfg == CONFIG_STATUS_FILEINVALID) {
		ast_log(LOG_ERROR, "%s is missing or unreadable: the Lsq applications answer LSQSTATUS=ERROR until it is fixed and reloaded\n",
			CONFIG_FILE);
		return NULL;
	}

	if (!(state = ast_calloc(1, sizeof(*state))) || !(opts = lsq_options_new())) {
		ast_log(LOG_ERROR, "%s: out of memory\n", CONFIG_FILE);
		goto fail;
	}
	state->lookup_timeout_ms = 2000;
	if (lsq_options_set_log_callback(opts, lsq_log_cb, NULL) != LSQ_OK) {
		ast_log(LOG_ERROR, "%s: cannot route liblsq's log: %s\n", CONFIG_FILE, lsq_last_error());
		goto fail;
	}

	while ((cat = ast_category_browse(cfg, cat))) {
		if (!strcasecmp(cat, "general")) {
			for (v = ast_variable_browse(cfg, cat); v; v = v->next) {
				if (!strcasecmp(v->name, "host")) {
					ast_copy_string(state->host, v->value, sizeof(state->host));
				} else if (!strcasecmp(v->name, "access_key")) {
					ast_copy_string(access_key, v->value, key_len);
				} else if (!strcasecmp(v->name, "secret_key")) {
					ast_copy_string(secret_key, v->value, key_len);
				} else if (!strcasecmp(v->name, "default_display")) {
					ast_copy_string(state->default_display, v->value, sizeof(state->default_display));
				} else if (!strcasecmp(v->name, "default_tag")) {
					ast_copy_string(state->default_tag, v->value, sizeof(state->default_tag));
				} else if (!strcasecmp(v->name, "recording_url")) {
					ast_copy_string(state->recording_url, v->value, sizeof(state->recording_url));
				} else if (!strcasecmp(v->name, "lookup_timeout_ms")) {
					if (sscanf(v->value, "%u", &n) != 1 || n < 1 || n > 60000) {
						ast_log(LOG_ERROR, "%s line %d: lookup_timeout_ms must be 1 to 60000\n",
							CONFIG_FILE, v->lineno);
						bad = 1;
					} else {
						state->lookup_timeout_ms = n;
					}
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
				} else if (!strcasecmp(v->name, "outbox")) {
					have_outbox = 1;
					if (!strcasecmp(v->value, "none")) {
						state->outbox[0] = '\0';
					} else if (lsq_options_set(opts, "outbox", v->value) != LSQ_OK) {
						ast_log(LOG_ERROR, "%s line %d: 'outbox': %s\n", CONFIG_FILE, v->lineno, lsq_last_error());
						bad = 1;
					} else {
						ast_copy_string(state->outbox, v->value, sizeof(state->outbox));
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
				struct lsq_user *users;

				/* A bad row only costs that agent its popups, so it is
				 * skipped, not fatal. */
				if (!is_guid(v->value) && !is_email(v->value)) {
					ast_log(LOG_WARNING, "%s line %d: [users] '%s' => '%s' is neither a UserId GUID nor an e-mail address: skipped\n",
						CONFIG_FILE, v->lineno, v->name, v->value);
					continue;
				}
				if (!(users = ast_realloc(state->users, (state->user_count + 1) * sizeof(*users)))) {
					goto fail;
				}
				state->users = users;
				ast_copy_string(users[state->user_count].key, v->name, FIELD_BUF);
				ast_copy_string(users[state->user_count].value, v->value, FIELD_BUF);
				users[state->user_count].is_email = !is_guid(v->value);
				state->user_count++;
			}
		} else {
			ast_log(LOG_WARNING, "%s: unknown section [%s] ignored\n", CONFIG_FILE, cat);
		}
	}

	if (ast_strlen_zero(state->host) || ast_strlen_zero(access_key) || ast_strlen_zero(secret_key)) {
		ast_log(LOG_ERROR, "%s: [general] needs host, access_key and secret_key\n", CONFIG_FILE);
		bad = 1;
	}
	if (!have_outbox && !bad) {
		/* Default: in Asterisk's spool directory, so logs survive restarts. */
		char dir[PATH_BUF - 16];

		snprintf(dir, sizeof(dir), "%s/lsq", ast_config_AST_SPOOL_DIR);
		if (ast_mkdir(dir, 0750)) {
			ast_log(LOG_ERROR, "%s: cannot create %s for the call-log outbox: %s (set outbox = a writable path)\n",
				CONFIG_FILE, dir, strerror(errno));
			bad = 1;
		} else {
			snprintf(state->outbox, sizeof(state->outbox), "%s/outbox.db", dir);
			if (lsq_options_set(opts, "outbox", state->outbox) != LSQ_OK) {
				ast_log(LOG_ERROR, "%s: outbox %s: %s\n", CONFIG_FILE, state->outbox, lsq_last_error());
				bad = 1;
			}
		}
	}
	if (bad) {
		goto fail;
	}
	ast_config_destroy(cfg);
	*opts_out = opts;
	return state;

fail:
	lsq_options_free(opts);
	state_free(state);
	ast_config_destroy(cfg);
	return NULL;
}

/* The client for `state`.  No network I/O: creating a client never blocks
 * (it opens the outbox file). */
static int state_connect(struct lsq_state *state, lsq_options *opts, const char *access_key, const char *secret_key)
{
	state->client = lsq_client_new_with_options(state->host, access_key, secret_key, opts);
	lsq_options_free(opts);
	if (!state->client) {
		ast_log(LOG_ERROR, "%s: cannot create the liblsq client: %s\n", CONFIG_FILE, lsq_last_error());
		return -1;
	}
	return 0;
}

/* The read lock without waiting (LsqPopup), or waiting at most `ms`
 * (LsqLookup), or as long as a reload takes (ms < 0: LsqLogCall). */
static int state_rdlock(int ms)
{
	struct timespec until;

	if (ms < 0) {
		return ast_rwlock_rdlock(&state_lock);
	}
	if (ms == 0) {
		return ast_rwlock_tryrdlock(&state_lock);
	}
	until = ast_tsnow();
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long) (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return ast_rwlock_timedrdlock(&state_lock, &until);
}

/* ------------------------------------------------------------------------ */
/* What every application copies from the channel                           */

struct chan_info {
	char name[AST_CHANNEL_NAME];
	char uniqueid[AST_MAX_UNIQUEID];
	char linkedid[AST_MAX_UNIQUEID];
	char cid_num[FIELD_BUF];
	char dnid[FIELD_BUF];
	char exten[FIELD_BUF];
};

static void chan_info_get(struct ast_channel *chan, struct chan_info *ci)
{
	ast_channel_lock(chan);
	ast_copy_string(ci->name, ast_channel_name(chan), sizeof(ci->name));
	ast_copy_string(ci->uniqueid, ast_channel_uniqueid(chan), sizeof(ci->uniqueid));
	ast_copy_string(ci->linkedid, ast_channel_linkedid(chan), sizeof(ci->linkedid));
	ast_copy_string(ci->cid_num, S_COR(ast_channel_caller(chan)->id.number.valid,
		ast_channel_caller(chan)->id.number.str, ""), sizeof(ci->cid_num));
	ast_copy_string(ci->dnid, S_OR(ast_channel_dialed(chan)->number.str, ""), sizeof(ci->dnid));
	ast_copy_string(ci->exten, ast_channel_exten(chan), sizeof(ci->exten));
	ast_channel_unlock(chan);
}

/* A channel variable copied into buf ("" when unset). */
static void chan_var(struct ast_channel *chan, const char *name, char *buf, size_t len)
{
	const char *value;

	ast_channel_lock(chan);
	value = pbx_builtin_getvar_helper(chan, name);
	ast_copy_string(buf, S_OR(value, ""), len);
	ast_channel_unlock(chan);
}

/* ------------------------------------------------------------------------ */
/* LsqPopup                                                                  */

/* Everything the result callback logs, copied at submit time: the channel may
 * be gone by the time the result arrives. */
struct popup_ctx {
	char channel[AST_CHANNEL_NAME];
	char session_id[AST_MAX_UNIQUEID];
	char agent[FIELD_BUF];     /* the user argument as given (an extension, a GUID, an e-mail) */
	char email[FIELD_BUF];     /* the e-mail sent as the user, "" if a GUID */
	char caller[FIELD_BUF];    /* the lead's number */
};

/* The final result of one ringing: called exactly once, on a liblsq thread.
 * It must not take state_lock and must not call lsq_free()/lsq_flush(). */
static void popup_done(const lsq_ringing_result *r, void *user_data)
{
	struct popup_ctx *ctx = user_data;
	const lsq_result *p = &r->popup;
	const lsq_lead *lead = &r->lead;

	if (p->status == LSQ_OK) {
		ast_verb(3, "LsqPopup: shown to agent %s on %s (session %s): lead %s %s%s%s [lead %s, %u ms]\n",
			ctx->agent, ctx->channel, ctx->session_id, lead->lead_id, lead->first_name,
			*lead->last_name ? " " : "", lead->last_name,
			lead->cached ? "from the cache" : lead->attempts ? "looked up" : "given", (unsigned int) p->elapsed_ms);
	} else if (p->status == LSQ_NO_MATCH) {
		ast_verb(3, "LsqPopup: no lead has the number %s: no popup for agent %s on %s (session %s)\n",
			ctx->caller, ctx->agent, ctx->channel, ctx->session_id);
	} else if (p->status == LSQ_ERR_CANCELLED && p->attempts > 0) {
		ast_log(LOG_WARNING, "LsqPopup: popup for agent %s on %s (session %s) was interrupted by a reload or unload while being sent: LeadSquared may or may not have shown it\n",
			ctx->agent, ctx->channel, ctx->session_id);
	} else if (p->status == LSQ_ERR_CANCELLED) {
		ast_log(LOG_WARNING, "LsqPopup: popup for agent %s on %s (session %s) was dropped by a reload or unload before it was sent (not sent within shutdown_timeout_ms: still queued, or waiting for the lead lookup)\n",
			ctx->agent, ctx->channel, ctx->session_id);
	} else {
		/* result->message already says what happened; the status name is
		 * the one the README's troubleshooting lists. */
		ast_log(LOG_WARNING, "LsqPopup: not shown to agent %s on %s (session %s): %s: %s [HTTP %u, %u attempt(s), %u ms]\n",
			ctx->agent, ctx->channel, ctx->session_id, status_name(p->status), p->message,
			(unsigned int) p->http_status, (unsigned int) p->attempts, (unsigned int) p->elapsed_ms);
	}
	ast_free(ctx);
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
	struct chan_info ci;
	const char *session_id, *source, *destination, *user;
	struct popup_ctx *ctx;
	lsq_ringing ringing = { 0 };
	lsq_status res;
	const char *result;

	AST_STANDARD_APP_ARGS(args, parse);
	chan_info_get(chan, &ci);

	if (ast_strlen_zero(args.direction) || !strcasecmp(args.direction, "inbound")) {
		ringing.direction = LSQ_INBOUND;
	} else if (!strcasecmp(args.direction, "outbound")) {
		ringing.direction = LSQ_OUTBOUND;
	} else {
		ast_log(LOG_WARNING, "%s on %s: direction must be inbound or outbound, not '%s'\n",
			app_popup, ci.name, args.direction);
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "INVALID");
		return 0;
	}
	if (ast_strlen_zero(args.user)) {
		ast_log(LOG_WARNING, "%s on %s: no agent given (usage: %s([lead_id],user[,...]))\n",
			app_popup, ci.name, app_popup);
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "INVALID");
		return 0;
	}
	source = S_OR(args.source, ci.cid_num);
	destination = S_OR(args.destination, ci.exten);

	if (!(ctx = ast_calloc(1, sizeof(*ctx)))) {
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "ERROR");
		return 0;
	}
	ast_copy_string(ctx->channel, ci.name, sizeof(ctx->channel));
	ast_copy_string(ctx->agent, args.user, sizeof(ctx->agent));

	/* The lead's number: the caller inbound, the number called outbound. */
	ringing.caller_number = ringing.direction == LSQ_INBOUND ? source : destination;
	ringing.agent_number = ringing.direction == LSQ_INBOUND ? destination : source;
	ringing.lead_id = S_OR(args.lead_id, NULL);
	ast_copy_string(ctx->caller, ringing.caller_number, sizeof(ctx->caller));

	/* The read lock keeps `current` (and its client) alive until the submit
	 * returns.  A reload holds the write lock while the old client drains:
	 * then the popup is skipped rather than the ringing channel held. */
	if (state_rdlock(0)) {
		ast_log(LOG_WARNING, "%s on %s: %s is being reloaded: no popup for agent %s\n",
			app_popup, ci.name, CONFIG_FILE, args.user);
		ast_free(ctx);
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "ERROR");
		return 0;
	}
	if (!current) {
		ast_rwlock_unlock(&state_lock);
		ast_log(LOG_WARNING, "%s on %s: not configured (fix %s, then 'module reload app_lsq')\n",
			app_popup, ci.name, CONFIG_FILE);
		ast_free(ctx);
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "ERROR");
		return 0;
	}
	if (!(user = resolve_user(current, args.user))) {
		ast_rwlock_unlock(&state_lock);
		ast_log(LOG_WARNING, "%s on %s: agent '%s' is missing from [users] in %s (and is neither a UserId nor an e-mail): no popup\n",
			app_popup, ci.name, args.user, CONFIG_FILE);
		ast_free(ctx);
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "INVALID");
		return 0;
	}
	ringing.user = user;
	ringing.display_number = S_OR(args.display, S_OR(current->default_display, ci.dnid));
	ringing.tag = S_OR(args.tag, current->default_tag);
	session_id = current->use_uniqueid ? ci.uniqueid : ci.linkedid;
	ringing.call_session_id = session_id;
	ast_copy_string(ctx->session_id, session_id, sizeof(ctx->session_id));

	/* liblsq copies every string before returning. */
	res = lsq_agent_ringing_async(current->client, &ringing, popup_done, ctx);
	ast_rwlock_unlock(&state_lock);

	result = popup_status_var(res);
	switch (res) {
	case LSQ_OK:
		/* ctx now belongs to popup_done(), which may already have run. */
		ast_debug(1, "%s on %s: queued (session %s, agent %s)\n", app_popup, ci.name, session_id, args.user);
		break;
	case LSQ_DUPLICATE:
		/* Expected with dedup_window_ms when an agent is rung twice. */
		ast_verb(4, "%s on %s: agent %s already has this call's popup (session %s): not sent again\n",
			app_popup, ci.name, args.user, session_id);
		ast_free(ctx);
		break;
	default:
		/* Not queued, so no callback: ctx is still ours.  lsq_last_error()
		 * names the offending field and never contains the keys. */
		ast_log(LOG_WARNING, "%s on %s: no popup for agent %s: %s\n", app_popup, ci.name, args.user,
			lsq_last_error());
		ast_free(ctx);
		break;
	}
	pbx_builtin_setvar_helper(chan, "LSQSTATUS", result);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* LsqLookup                                                                 */

/* Shared by the waiting channel thread and the callback; the last of the two
 * to let go frees it. */
struct lookup_wait {
	ast_mutex_t lock;
	ast_cond_t cond;
	int refs;
	int done;
	lsq_lead lead;
	char number[FIELD_BUF];
};

static void lookup_unref(struct lookup_wait *w)
{
	int last;

	ast_mutex_lock(&w->lock);
	last = --w->refs == 0;
	ast_mutex_unlock(&w->lock);
	if (last) {
		ast_mutex_destroy(&w->lock);
		ast_cond_destroy(&w->cond);
		ast_free(w);
	}
}

static void lookup_done(const lsq_lead *lead, void *user_data)
{
	struct lookup_wait *w = user_data;

	ast_mutex_lock(&w->lock);
	w->lead = *lead;
	w->done = 1;
	ast_cond_signal(&w->cond);
	ast_mutex_unlock(&w->lock);
	if (lead->status != LSQ_OK && lead->status != LSQ_NO_MATCH) {
		/* Logged here, once, also when the channel stopped waiting. */
		ast_log(LOG_WARNING, "LsqLookup: lookup of %s failed: %s: %s [HTTP %u, %u attempt(s), %u ms]\n",
			w->number, status_name(lead->status), lead->message, (unsigned int) lead->http_status,
			(unsigned int) lead->attempts, (unsigned int) lead->elapsed_ms);
	}
	lookup_unref(w);
}

static void lookup_clear(struct ast_channel *chan, const char *status)
{
	pbx_builtin_setvar_helper(chan, "LSQ_LEAD_ID", "");
	pbx_builtin_setvar_helper(chan, "LSQ_LEAD_NAME", "");
	pbx_builtin_setvar_helper(chan, "LSQ_LEAD_OWNER", "");
	pbx_builtin_setvar_helper(chan, "LSQ_OWNER_AGENT", "");
	pbx_builtin_setvar_helper(chan, "LSQSTATUS", status);
}

/* The [users] key whose value is owner_id; "" if none.  Rows given as an
 * e-mail are not matched: liblsq resolves an agent's e-mail when it sends,
 * but has no call that returns the UserId.  Called under the read lock. */
static void owner_agent(const struct lsq_state *state, const char *owner_id, char *buf, size_t len)
{
	unsigned int i;

	buf[0] = '\0';
	if (ast_strlen_zero(owner_id)) {
		return;
	}
	for (i = state->user_count; i-- > 0;) {
		if (!state->users[i].is_email && !strcasecmp(state->users[i].value, owner_id)) {
			ast_copy_string(buf, state->users[i].key, len);
			return;
		}
	}
}

static int lsq_lookup_exec(struct ast_channel *chan, const char *data)
{
	struct chan_info ci;
	const char *number;
	struct lookup_wait *w;
	struct timeval start = ast_tvnow();
	unsigned int timeout_ms;
	long left;
	lsq_status res;
	char name[2 * LSQ_LEAD_NAME_SIZE + 1], agent[FIELD_BUF];
	lsq_lead lead;
	int done;

	chan_info_get(chan, &ci);
	number = S_OR(data, ci.cid_num);
	if (ast_strlen_zero(number)) {
		ast_log(LOG_WARNING, "%s on %s: no number (the caller has no CALLERID(num))\n", app_lookup, ci.name);
		lookup_clear(chan, "INVALID");
		return 0;
	}
	if (!(w = ast_calloc(1, sizeof(*w)))) {
		lookup_clear(chan, "ERROR");
		return 0;
	}
	ast_mutex_init(&w->lock);
	ast_cond_init(&w->cond, NULL);
	w->refs = 2; /* this thread and the callback */
	ast_copy_string(w->number, number, sizeof(w->number));

	/* Bounded wait for the lock too: a reload may hold it for up to
	 * shutdown_timeout_ms.  2000 is the default lookup_timeout_ms. */
	if (state_rdlock(2000)) {
		ast_log(LOG_WARNING, "%s on %s: %s is being reloaded: %s not looked up\n", app_lookup, ci.name,
			CONFIG_FILE, number);
		w->refs = 1;
		lookup_unref(w);
		lookup_clear(chan, "ERROR");
		return 0;
	}
	if (!current) {
		ast_rwlock_unlock(&state_lock);
		ast_log(LOG_WARNING, "%s on %s: not configured (fix %s, then 'module reload app_lsq')\n",
			app_lookup, ci.name, CONFIG_FILE);
		w->refs = 1;
		lookup_unref(w);
		lookup_clear(chan, "ERROR");
		return 0;
	}
	timeout_ms = current->lookup_timeout_ms;
	res = lsq_find_lead_async(current->client, number, lookup_done, w);
	ast_rwlock_unlock(&state_lock);
	if (res != LSQ_OK) {
		/* Not queued: no callback. */
		ast_log(LOG_WARNING, "%s on %s: %s not looked up: %s\n", app_lookup, ci.name, number, lsq_last_error());
		w->refs = 1;
		lookup_unref(w);
		lookup_clear(chan, res == LSQ_ERR_INVALID_ARGUMENT ? "INVALID" : "ERROR");
		return 0;
	}

	/* Wait for the callback, at most what is left of lookup_timeout_ms. */
	ast_mutex_lock(&w->lock);
	while (!w->done && (left = (long) timeout_ms - (long) ast_tvdiff_ms(ast_tvnow(), start)) > 0) {
		struct timeval until_tv = ast_tvadd(ast_tvnow(), ast_samp2tv(left, 1000));
		struct timespec until = { .tv_sec = until_tv.tv_sec, .tv_nsec = until_tv.tv_usec * 1000 };

		ast_cond_timedwait(&w->cond, &w->lock, &until);
	}
	done = w->done;
	if (done) {
		lead = w->lead;
	}
	ast_mutex_unlock(&w->lock);
	lookup_unref(w);

	if (!done) {
		ast_verb(3, "%s on %s: no answer for %s within lookup_timeout_ms (%u ms): routing without it\n",
			app_lookup, ci.name, number, timeout_ms);
		lookup_clear(chan, "TIMEOUT");
		return 0;
	}
	if (lead.status == LSQ_NO_MATCH) {
		ast_verb(3, "%s on %s: no lead has the number %s\n", app_lookup, ci.name, number);
		lookup_clear(chan, "NOT_FOUND");
		return 0;
	}
	if (lead.status != LSQ_OK) {
		/* Already logged by lookup_done(). */
		lookup_clear(chan, lead.status == LSQ_ERR_INVALID_ARGUMENT ? "INVALID" : "ERROR");
		return 0;
	}

	snprintf(name, sizeof(name), "%s%s%s", lead.first_name, *lead.first_name && *lead.last_name ? " " : "",
		lead.last_name);
	agent[0] = '\0';
	if (!state_rdlock(0)) {
		if (current) {
			owner_agent(current, lead.owner_id, agent, sizeof(agent));
		}
		ast_rwlock_unlock(&state_lock);
	}
	ast_verb(3, "%s on %s: %s is lead %s (%s), owner %s%s%s%s [%s, %u ms]\n", app_lookup, ci.name, number,
		lead.lead_id, name, S_OR(lead.owner_id, "none"), *agent ? " (agent " : "", agent, *agent ? ")" : "",
		lead.cached ? "cached" : "looked up", (unsigned int) ast_tvdiff_ms(ast_tvnow(), start));
	pbx_builtin_setvar_helper(chan, "LSQ_LEAD_ID", lead.lead_id);
	pbx_builtin_setvar_helper(chan, "LSQ_LEAD_NAME", name);
	pbx_builtin_setvar_helper(chan, "LSQ_LEAD_OWNER", lead.owner_id);
	pbx_builtin_setvar_helper(chan, "LSQ_OWNER_AGENT", agent);
	pbx_builtin_setvar_helper(chan, "LSQSTATUS", "FOUND");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* LsqLogCall                                                                */

struct log_ctx {
	char channel[AST_CHANNEL_NAME];
	char session_id[AST_MAX_UNIQUEID];
	char summary[SUMMARY_BUF];
};

static void log_done(const lsq_result *r, void *user_data)
{
	struct log_ctx *ctx = user_data;

	if (r->status == LSQ_OK) {
		ast_verb(3, "LsqLogCall: call %s (%s) logged in LeadSquared: %s [%u attempt(s), %u ms]\n",
			ctx->session_id, ctx->summary, r->message, (unsigned int) r->attempts, (unsigned int) r->elapsed_ms);
	} else if (r->status == LSQ_ERR_CANCELLED) {
		ast_verb(3, "LsqLogCall: call %s (%s) not sent yet at unload/reload: it stays in the outbox and is sent after the next load\n",
			ctx->session_id, ctx->summary);
	} else {
		/* A dead log: liblsq has logged it at ERROR with its reason
		 * ("call log N (call X) is dead: ..."); this only adds the summary. */
		ast_verb(3, "LsqLogCall: call %s (%s) was not accepted by LeadSquared: %s\n",
			ctx->session_id, ctx->summary, status_name(r->status));
	}
	ast_free(ctx);
}

/* "Local/101@agents-0000;1" or "PJSIP/101" or "101@agents" -> "101". */
static void agent_from_peer(const char *peer, char *buf, size_t len)
{
	const char *slash = strchr(peer, '/');
	char *cut;

	ast_copy_string(buf, slash ? slash + 1 : peer, len);
	if ((cut = strpbrk(buf, "@;-")) && cut != buf) {
		*cut = '\0';
	}
}

/* The recording URL: `template` with {file} replaced by the base name of
 * `path`, percent-encoded. */
static void recording_url(const char *template, const char *path, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *base = strrchr(path, '/');
	const char *mark = strstr(template, "{file}");
	size_t n;

	base = base ? base + 1 : path;
	if (!mark) {
		ast_copy_string(buf, template, len);
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
	ast_copy_string(buf + n, mark + 6, len - n);
}

static int lsq_logcall_exec(struct ast_channel *chan, const char *data)
{
	AST_DECLARE_APP_ARGS(args,
		AST_APP_ARG(direction);
		AST_APP_ARG(lead_number);
		AST_APP_ARG(agent);
		AST_APP_ARG(display);
		AST_APP_ARG(tag);
	);
	char *parse = ast_strdupa(S_OR(data, ""));
	struct chan_info ci;
	char dialstatus[32], answeredtime[32], agent[FIELD_BUF], peer[FIELD_BUF], lead_id[FIELD_BUF];
	char mixfile[PATH_BUF], url_var[URL_BUF], url[URL_BUF], agent_number[FIELD_BUF], summary[SUMMARY_BUF];
	const char *lead_number, *user = NULL, *session_id;
	struct timeval created;
	time_t now = time(NULL);
	int answered;
	long duration = 0;
	lsq_call_log log = { 0 };
	struct log_ctx *ctx;
	lsq_status res;

	AST_STANDARD_APP_ARGS(args, parse);
	chan_info_get(chan, &ci);
	ast_channel_lock(chan);
	created = ast_channel_creationtime(chan);
	ast_channel_unlock(chan);

	if (ast_strlen_zero(args.direction) || !strcasecmp(args.direction, "inbound")) {
		log.direction = LSQ_INBOUND;
	} else if (!strcasecmp(args.direction, "outbound")) {
		log.direction = LSQ_OUTBOUND;
	} else {
		ast_log(LOG_WARNING, "%s on %s: direction must be inbound or outbound, not '%s': call not logged\n",
			app_logcall, ci.name, args.direction);
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "INVALID");
		return 0;
	}

	/* Answered or missed, and for how long: Dial and Queue both set
	 * DIALSTATUS/ANSWEREDTIME on the channel that called them. */
	chan_var(chan, "DIALSTATUS", dialstatus, sizeof(dialstatus));
	chan_var(chan, "ANSWEREDTIME", answeredtime, sizeof(answeredtime));
	if (!ast_strlen_zero(answeredtime)) {
		duration = strtol(answeredtime, NULL, 10);
	}
	answered = !strcasecmp(dialstatus, "ANSWER") || duration > 0;

	/* The agent. */
	agent[0] = '\0';
	if (!ast_strlen_zero(args.agent)) {
		ast_copy_string(agent, args.agent, sizeof(agent));
	} else if (log.direction == LSQ_OUTBOUND) {
		ast_copy_string(agent, ci.cid_num, sizeof(agent));
	} else {
		chan_var(chan, "LSQ_AGENT", agent, sizeof(agent));
		if (!agent[0] && answered) {
			chan_var(chan, "DIALEDPEERNUMBER", peer, sizeof(peer));
			if (!peer[0]) {
				chan_var(chan, "MEMBERINTERFACE", peer, sizeof(peer));
			}
			if (peer[0]) {
				agent_from_peer(peer, agent, sizeof(agent));
			}
		}
	}

	chan_var(chan, "LSQ_LEAD_ID", lead_id, sizeof(lead_id));
	chan_var(chan, "LSQ_RECORDING_URL", url_var, sizeof(url_var));
	chan_var(chan, "MIXMONITOR_FILENAME", mixfile, sizeof(mixfile));
	lead_number = S_OR(args.lead_number, log.direction == LSQ_INBOUND ? ci.cid_num : ci.exten);

	if (!(ctx = ast_calloc(1, sizeof(*ctx)))) {
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "ERROR");
		return 0;
	}
	ast_copy_string(ctx->channel, ci.name, sizeof(ctx->channel));

	/* Waits while a reload swaps the client (at most shutdown_timeout_ms):
	 * a hangup handler may wait, and the log must not be lost. */
	state_rdlock(-1);
	if (!current) {
		ast_rwlock_unlock(&state_lock);
		ast_log(LOG_ERROR, "%s on %s: not configured (fix %s, then 'module reload app_lsq'): call from %s NOT logged\n",
			app_logcall, ci.name, CONFIG_FILE, lead_number);
		ast_free(ctx);
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "ERROR");
		return 0;
	}
	if (agent[0]) {
		if (!(user = resolve_user(current, agent))) {
			ast_log(LOG_WARNING, "%s on %s: agent '%s' is missing from [users] in %s: call logged without its agent\n",
				app_logcall, ci.name, agent, CONFIG_FILE);
		}
	}
	/* The agent's number: the [users] key when it is a number (an
	 * extension), else the number called (missed calls: the IVR number). */
	log.display_number = S_OR(args.display, S_OR(current->default_display, S_OR(ci.dnid, ci.exten)));
	if (agent[0] && has_digit(agent) && !is_guid(agent) && !is_email(agent)) {
		ast_copy_string(agent_number, agent, sizeof(agent_number));
	} else {
		ast_copy_string(agent_number, log.direction == LSQ_INBOUND ? log.display_number : ci.cid_num,
			sizeof(agent_number));
	}
	log.source_number = log.direction == LSQ_INBOUND ? lead_number : agent_number;
	log.destination_number = log.direction == LSQ_INBOUND ? agent_number : lead_number;
	session_id = current->use_uniqueid ? ci.uniqueid : ci.linkedid;
	log.call_session_id = session_id;
	log.status = answered ? LSQ_CALL_ANSWERED : LSQ_CALL_MISSED;
	log.start_time = created.tv_sec;
	log.end_time = now < created.tv_sec ? created.tv_sec : now;
	if (duration > log.end_time - log.start_time) {
		duration = (long) (log.end_time - log.start_time);
	}
	log.duration_s = answered && duration > 0 ? (uint32_t) duration : 0;
	log.user = user;
	log.lead_id = S_OR(lead_id, NULL);
	url[0] = '\0';
	if (answered && url_var[0]) {
		ast_copy_string(url, url_var, sizeof(url));
	} else if (answered && mixfile[0] && current->recording_url[0]) {
		recording_url(current->recording_url, mixfile, url, sizeof(url));
	}
	log.resource_url = S_OR(url, NULL);
	log.tag = S_OR(args.tag, S_OR(current->default_tag, NULL));

	ast_copy_string(ctx->session_id, session_id, sizeof(ctx->session_id));
	snprintf(summary, sizeof(summary), "%s, %s %s, %u s%s%s", answered ? "answered" : "missed",
		log.direction == LSQ_INBOUND ? "inbound from" : "outbound to", lead_number,
		(unsigned int) log.duration_s, user ? ", agent " : "", user ? agent : "");
	ast_copy_string(ctx->summary, summary, sizeof(ctx->summary));
	/* Returns once the log is synced to the outbox (or refused). */
	res = lsq_log_call_async(current->client, &log, log_done, ctx);
	ast_rwlock_unlock(&state_lock);

	if (res == LSQ_OK) {
		ast_verb(3, "%s on %s: call %s stored for LeadSquared: %s%s%s\n", app_logcall, ci.name, session_id,
			summary, url[0] ? ", recording " : "", url);
		/* ctx belongs to log_done() now, which may already have run. */
		pbx_builtin_setvar_helper(chan, "LSQSTATUS", "STORED");
		return 0;
	}
	ast_log(LOG_ERROR, "%s on %s: call %s NOT logged: %s: %s\n", app_logcall, ci.name, session_id,
		status_name(res), lsq_last_error());
	ast_free(ctx);
	pbx_builtin_setvar_helper(chan, "LSQSTATUS", res == LSQ_ERR_INVALID_ARGUMENT ? "INVALID" : "ERROR");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* CLI                                                                       */

static char *handle_show_status(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a)
{
	lsq_stats stats;
	lsq_status res, ob_res;
	char host[HOST_BUF], outbox[PATH_BUF];
	unsigned int user_count, lookup_timeout_ms;
	uint64_t pending = 0, dead = 0;
	int use_uniqueid;
	char *metrics, *line, *next;

	switch (cmd) {
	case CLI_INIT:
		e->command = "lsq show status";
		e->usage =
			"Usage: lsq show status\n"
			"       Shows liblsq's configuration, the call-log outbox (pending, dead)\n"
			"       and the counters since the last load or reload.\n";
		return NULL;
	case CLI_GENERATE:
		return NULL;
	}
	if (a->argc != 3) {
		return CLI_SHOWUSAGE;
	}
	if (!(metrics = ast_malloc(METRICS_BUF))) {
		return CLI_FAILURE;
	}

	ast_cli(a->fd, "liblsq version:   %s\n", lsq_version());
	/* Copy under the read lock, print after: ast_cli may block on a slow
	 * console, and reload must not wait for it. */
	if (state_rdlock(0)) {
		ast_cli(a->fd, "State:            being reloaded\n");
		ast_free(metrics);
		return CLI_SUCCESS;
	}
	if (!current) {
		ast_rwlock_unlock(&state_lock);
		ast_cli(a->fd, "State:            not configured (see %s errors in the log)\n", CONFIG_FILE);
		ast_free(metrics);
		return CLI_SUCCESS;
	}
	ast_copy_string(host, current->host, sizeof(host));
	ast_copy_string(outbox, current->outbox, sizeof(outbox));
	user_count = current->user_count;
	use_uniqueid = current->use_uniqueid;
	lookup_timeout_ms = current->lookup_timeout_ms;
	res = lsq_client_stats(current->client, &stats);
	ob_res = lsq_outbox_count(current->client, &pending, &dead);
	if (lsq_client_metrics(current->client, metrics, METRICS_BUF) != LSQ_OK) {
		metrics[0] = '\0';
	}
	ast_rwlock_unlock(&state_lock);

	ast_cli(a->fd, "Host:             %s\n", host);
	ast_cli(a->fd, "CallSessionId:    %s\n", use_uniqueid ? "UNIQUEID" : "LINKEDID");
	ast_cli(a->fd, "Users mapped:     %u\n", user_count);
	ast_cli(a->fd, "Lookup timeout:   %u ms\n", lookup_timeout_ms);
	if (outbox[0]) {
		if (ob_res == LSQ_OK) {
			ast_cli(a->fd, "Outbox:           %s (pending %" PRIu64 ", dead %" PRIu64 ")\n", outbox, pending, dead);
		} else {
			ast_cli(a->fd, "Outbox:           %s (unreadable: %s)\n", outbox, status_name(ob_res));
		}
	} else {
		ast_cli(a->fd, "Outbox:           none: call logs in memory only (pending %" PRIu64 ")\n", pending);
	}
	if (res != LSQ_OK) {
		ast_cli(a->fd, "Counters:         unavailable\n");
	} else {
		ast_cli(a->fd, "Popups submitted: %" PRIu64 "\n", stats.submitted);
		ast_cli(a->fd, "Succeeded:        %" PRIu64 "\n", stats.succeeded);
		ast_cli(a->fd, "Failed:           %" PRIu64 " (expired %" PRIu64 ", cancelled %" PRIu64 ")\n",
			stats.failed, stats.expired, stats.cancelled);
		ast_cli(a->fd, "Dropped (full):   %" PRIu64 "\n", stats.dropped);
		ast_cli(a->fd, "Duplicates:       %" PRIu64 "\n", stats.duplicates);
		ast_cli(a->fd, "Retries:          %" PRIu64 "\n", stats.retries);
		ast_cli(a->fd, "Rate limited:     %" PRIu64 "\n", stats.rate_limited);
		ast_cli(a->fd, "Queued now:       %u\n", (unsigned int) stats.queued);
		ast_cli(a->fd, "In flight now:    %u\n", (unsigned int) stats.in_flight);
	}
	/* The lookup and call-log counters: liblsq's metrics without the
	 * Prometheus comments ("lsq show metrics" prints them whole). */
	ast_cli(a->fd, "Lookups and call logs (liblsq metrics):\n");
	for (line = metrics; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next) {
			*next++ = '\0';
		}
		if (*line != '#' && (strstr(line, "lookup") || strstr(line, "lead") || strstr(line, "call_log"))) {
			ast_cli(a->fd, "  %s\n", line);
		}
	}
	ast_free(metrics);
	return CLI_SUCCESS;
}

static char *handle_show_metrics(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a)
{
	char *metrics;
	lsq_status res = LSQ_ERR_INVALID_ARGUMENT;

	switch (cmd) {
	case CLI_INIT:
		e->command = "lsq show metrics";
		e->usage =
			"Usage: lsq show metrics\n"
			"       Prints liblsq's counters in the Prometheus text format.\n";
		return NULL;
	case CLI_GENERATE:
		return NULL;
	}
	if (a->argc != 3) {
		return CLI_SHOWUSAGE;
	}
	if (!(metrics = ast_malloc(METRICS_BUF))) {
		return CLI_FAILURE;
	}
	if (!state_rdlock(0)) {
		if (current) {
			res = lsq_client_metrics(current->client, metrics, METRICS_BUF);
		}
		ast_rwlock_unlock(&state_lock);
	}
	if (res == LSQ_OK) {
		ast_cli(a->fd, "%s", metrics);
	} else {
		ast_cli(a->fd, "not configured, or being reloaded\n");
	}
	ast_free(metrics);
	return CLI_SUCCESS;
}

static struct ast_cli_entry cli_lsq[] = {
	AST_CLI_DEFINE(handle_show_status, "Show liblsq's state, outbox and counters"),
	AST_CLI_DEFINE(handle_show_metrics, "Show liblsq's counters (Prometheus text)"),
};

/* ------------------------------------------------------------------------ */
/* Load, reload, unload                                                      */

/*
 * Replaces the configuration.  The old client is freed before the new one is
 * created, under the write lock: both would open the same outbox file, which
 * liblsq refuses.  The old client's queued popups get shutdown_timeout_ms;
 * its pending call logs stay in the outbox, and the new client sends them.
 * Returns the new state (NULL: none, e.g. its client could not be created).
 */
static int state_replace(struct lsq_state *state, lsq_options *opts, const char *ak, const char *sk)
{
	struct lsq_state *old;
	int res = 0;

	ast_rwlock_wrlock(&state_lock);
	old = current;
	current = NULL;
	state_free(old);
	if (state && state_connect(state, opts, ak, sk)) {
		state_free(state);
		state = NULL;
		res = -1;
	}
	current = state;
	ast_rwlock_unlock(&state_lock);
	return res;
}

static int reload_module(void)
{
	struct lsq_state *state;
	lsq_options *opts;
	char ak[FIELD_BUF] = "", sk[FIELD_BUF] = "";
	int configured, unchanged, res;

	/* Asterisk serializes load, reload and unload of a module. */
	ast_rwlock_rdlock(&state_lock);
	configured = current != NULL;
	ast_rwlock_unlock(&state_lock);

	/* Skip an unchanged file only while a configuration is in use: after a
	 * failed load, a reload must try again (a ca_file may have appeared). */
	state = state_from_config(configured, &unchanged, &opts, ak, sk, sizeof(ak));
	if (unchanged) {
		return AST_MODULE_LOAD_SUCCESS;
	}
	if (!state) {
		if (configured) {
			ast_log(LOG_ERROR, "%s has errors: keeping the previous configuration\n", CONFIG_FILE);
		}
		return AST_MODULE_LOAD_DECLINE;
	}
	res = state_replace(state, opts, ak, sk);
	wipe(sk, sizeof(sk));
	wipe(ak, sizeof(ak));
	if (res) {
		return AST_MODULE_LOAD_DECLINE;
	}
	ast_verb(2, "app_lsq: %s reloaded (liblsq %s)\n", CONFIG_FILE, lsq_version());
	return AST_MODULE_LOAD_SUCCESS;
}

static int unload_module(void)
{
	int res = 0;

	/* First stop new work (Asterisk refuses the unload while a channel is
	 * inside one of the applications), then drain and free the client. */
	res |= ast_unregister_application(app_popup);
	res |= ast_unregister_application(app_lookup);
	res |= ast_unregister_application(app_logcall);
	res |= ast_cli_unregister_multiple(cli_lsq, ARRAY_LEN(cli_lsq));
	state_replace(NULL, NULL, NULL, NULL);
	return res;
}

static int load_module(void)
{
	struct lsq_state *state;
	lsq_options *opts;
	char ak[FIELD_BUF] = "", sk[FIELD_BUF] = "";
	int unchanged, configured;

	/* A bad lsq.conf does not decline the module: the applications must
	 * stay registered, or every dialplan that calls them would hang up its
	 * calls.  They answer LSQSTATUS=ERROR until the file is fixed. */
	state = state_from_config(0, &unchanged, &opts, ak, sk, sizeof(ak));
	configured = state && !state_replace(state, opts, ak, sk);
	wipe(sk, sizeof(sk));
	wipe(ak, sizeof(ak));

	if (ast_cli_register_multiple(cli_lsq, ARRAY_LEN(cli_lsq))
		|| ast_register_application(app_popup, lsq_popup_exec, popup_synopsis, popup_description)
		|| ast_register_application(app_lookup, lsq_lookup_exec, lookup_synopsis, lookup_description)
		|| ast_register_application(app_logcall, lsq_logcall_exec, logcall_synopsis, logcall_description)) {
		unload_module();
		return AST_MODULE_LOAD_DECLINE;
	}
	ast_verb(2, "app_lsq: liblsq %s, %s\n", lsq_version(), configured ? "configured" : "NOT configured");
	return AST_MODULE_LOAD_SUCCESS;
}

AST_MODULE_INFO(ASTERISK_GPL_KEY, AST_MODFLAG_LOAD_ORDER, "LeadSquared lookups, pop-ups and call logs (liblsq)",
	.support_level = AST_MODULE_SUPPORT_EXTENDED,
	.load = load_module,
	.unload = unload_module,
	.reload = reload_module,
	.load_pri = AST_MODPRI_DEFAULT,
);
