/*
 * cmd_frame: the frame of the cloud and rotation verbs (agent/cmd_frame.h).
 *
 * Waiting is one watch timer, once a second while cmd_frame_wait() runs: it
 * asks the API client how long it has gone without an HTTP answer
 * (cloud_quiet_ms). Past a second it says once what it is waiting for; past
 * twice api_timeout it gives up, so a black-holed API ends in a few seconds
 * with one sentence instead of five timed-out tries, while one request whose
 * answer was lost still gets its retry (giving up at the first timeout left
 * clones half made and retires undone under 20% faults: make chaos). The
 * client's own retries (5xx, refused connections, 429) run inside that
 * time. A rate-limit hold is an answer, not silence: the client's hook says
 * it at once (how long, why), and it is never given up on.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "cloud.h"
#include "cmd.h"
#include "cmd_frame.h"
#include "container.h"
#include "control.h"
#include "http.h"
#include "log.h"
#include "meta.h"
#include "metadata.h"
#include "util.h"
#include "xmalloc.h"

#define CMD_FRAME_KEY_BASE 1000
#define CMD_FRAME_SAY_MS   1000
/* Give up after this many api_timeouts without an answer: a timed-out
 * request and its retry. */
#define CMD_FRAME_SILENT_TIMEOUTS 2

/* Options of their own start above any short option character. */
enum { CMD_FRAME_JSON = 256, CMD_FRAME_DRY_RUN };

static const struct option cmd_frame_common[] = {
	{ "json", no_argument, NULL, CMD_FRAME_JSON },
	{ "dry-run", no_argument, NULL, CMD_FRAME_DRY_RUN },
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
};

/* The common options, the verb's, then the configuration keys. */
static struct option *
cmd_frame_options(const struct option *extra)
{
	size_t ncommon = sizeof(cmd_frame_common) / sizeof(cmd_frame_common[0]), nextra = 0;
	struct option *all, *opts;

	while (extra != NULL && extra[nextra].name != NULL)
		nextra++;
	all = xcalloc(ncommon + nextra + 1, sizeof(*all));
	memcpy(all, cmd_frame_common, sizeof(cmd_frame_common));
	if (nextra > 0)
		memcpy(all + ncommon, extra, nextra * sizeof(*extra));
	opts = cmd_options(all, CMD_FRAME_KEY_BASE);
	free(all);
	return opts;
}

/* One option of the frame's own; -1 to go on, else an exit code. */
static int
cmd_frame_option(struct cmd_frame *f, int c, const char *arg)
{
	if (c == CMD_FRAME_JSON)
		f->json = true;
	else if (c == CMD_FRAME_DRY_RUN)
		f->dry_run = true;
	else if (c == 'c')
		f->config = arg;
	else
		cmd_setting_key(&f->flags[f->nflags++], (size_t)(c - CMD_FRAME_KEY_BASE), arg);
	return -1;
}

int
cmd_frame_parse(struct cmd_frame *f, const struct cmd_entry *cmd, int argc, char **argv,
		const char *shortopts, const struct option *extra, cmd_frame_opt_fn *fn, void *ctx)
{
	struct option *opts = cmd_frame_options(extra);
	char *so = xasprintf(":c:h%s", shortopts != NULL ? shortopts : "");
	int c, rc = -1;

	f->cmd = cmd;
	f->flags = xcalloc((size_t)argc + 1, sizeof(*f->flags));
	optind = 1;
	opterr = 0;
	while (rc < 0 && (c = getopt_long(argc, argv, so, opts, NULL)) != -1) {
		if (c == 'h') {
			cmd_usage(stdout, cmd);
			cmd->help(stdout);
			rc = 0;
		} else if (c == '?' || c == ':') {
			rc = cmd_bad_option(cmd, c, argv, opts);
		} else if (c == 'c' || c == CMD_FRAME_JSON || c == CMD_FRAME_DRY_RUN ||
			   c >= CMD_FRAME_KEY_BASE) {
			rc = cmd_frame_option(f, c, optarg);
		} else {
			rc = fn(f, c, optarg, ctx);
		}
	}
	free(so);
	cmd_options_free(opts);
	return rc;
}

/* The API client's rate-limit hook: a hold of a second or more is said at once. */
static void
cmd_frame_on_hold(uint64_t ms, const char *why, void *arg)
{
	struct cmd_frame *f = arg;

	if (ms < CMD_FRAME_SAY_MS || f->gave_up)
		return;
	fprintf(stderr,
		"mitosis %s: rate limited by the DigitalOcean API: requests held %llu s (%s)\n",
		f->cmd->name, (unsigned long long)(ms < 1500 ? 1 : (ms + 500) / 1000), why);
}

/* How long a verb waits for this node's agent to say who leads. */
#define CMD_FRAME_LEADER_MS 1000

/*
 * The verbs act directly from any node, as they always did; once the cluster
 * has elected a leader, that is worth a word (issue 11): the local agent
 * (control_socket) is asked who leads. Silent when no agent answers.
 */
static void
cmd_frame_note_leader(const struct cmd_frame *f)
{
	const cJSON *leader, *term;
	char *reply = NULL;
	cJSON *doc;

	if (control_query(f->cfg->control_socket, "leader json", CMD_FRAME_LEADER_MS, &reply) != 0)
		return;
	doc = cJSON_Parse(reply);
	leader = cJSON_GetObjectItemCaseSensitive(doc, "leader");
	term = cJSON_GetObjectItemCaseSensitive(doc, "term");
	if (cJSON_IsNumber(leader) && cJSON_IsNumber(term))
		fprintf(stderr, "note: node %.0f leads term %.0f; this verb acts directly\n",
			leader->valuedouble, term->valuedouble);
	cJSON_Delete(doc);
	free(reply);
}

int
cmd_frame_open(struct cmd_frame *f, unsigned flags)
{
	struct cloud_opts co = { .dry_run = f->dry_run,
				 .dry_run_out = f->json ? stderr : stdout,
				 .on_hold = cmd_frame_on_hold,
				 .hold_arg = f };
	char err[512];

	f->cfg = cmd_load_config(f->config, f->flags, f->nflags, true);
	if (f->cfg == NULL) {
		f->rc = 1; /* the verb's exit code: its errors are printed */
		return 1;
	}
	log_set_level(f->cfg->log_level);
	log_set_traces(f->cfg->traces);
	cmd_frame_note_leader(f);
	uv_loop_init(&f->loop);
	f->loop_open = true;
	f->http = http_new(&f->loop);
	uv_timer_init(&f->loop, &f->watch);
	if (((flags & CMD_FRAME_API) ||
	     ((flags & CMD_FRAME_API_IF_TOKEN) && f->cfg->token_file != NULL)) &&
	    cloud_open(&f->loop, f->http, f->cfg, &co, &f->cloud, err, sizeof(err)) != 0) {
		cmd_frame_fail(f, "%s", err);
		return 1;
	}
	return 0;
}

static void
cmd_frame_on_identity(int err, struct meta_identity *id, const char *why, void *arg)
{
	struct cmd_frame *f = arg;

	f->mf = NULL;
	if (err != 0)
		cmd_frame_fail(f,
			       "no node_id in the configuration and no identity from the "
			       "metadata service: %s",
			       why);
	f->self = id;
	cmd_frame_end(f);
}

const struct meta_identity *
cmd_frame_self(struct cmd_frame *f)
{
	struct metadata_opts mo = { .base_url = f->cfg->metadata_url,
				    .timeout_ms = f->cfg->metadata_timeout_ms,
				    .attempts = (unsigned)f->cfg->metadata_attempts,
				    .backoff_ms = 200 };
	int r;

	if (f->self != NULL)
		return f->self;
	if (f->cfg->node_id != 0)
		return f->self = metadata_identity_from_cfg(f->cfg);
	r = metadata_fetch_start(&f->loop, f->http, &mo, cmd_frame_on_identity, f, &f->mf);
	if (r != 0) {
		cmd_frame_fail(f, "metadata %s: %s", f->cfg->metadata_url, strerror(-r));
		return NULL;
	}
	cmd_frame_begin(f);
	cmd_frame_wait(f);
	return f->self;
}

void
cmd_frame_begin(struct cmd_frame *f)
{
	f->pending++;
}

void
cmd_frame_end(struct cmd_frame *f)
{
	if (f->pending > 0)
		f->pending--;
}

static void
cmd_frame_say_unsettled(const struct cmd_frame *f, uint64_t quiet, const char *what)
{
	char when[32], del[32];

	fprintf(stderr,
		"mitosis %s: the DigitalOcean API at %s has not answered for %.1f s (it was asked "
		"%s); not giving up: a create or a DELETE was sent, and only its own deadline "
		"ends it (a clone deletes what is not ready by active_timeout, %s; a delete "
		"polls until 404, DELETE again after delete_timeout, %s)\n",
		f->cmd->name, cloud_base_url(f->cloud), (double)quiet / 1000, what,
		util_format_duration(f->cfg->active_timeout_ms, when, sizeof(when)),
		util_format_duration(f->cfg->delete_timeout_ms, del, sizeof(del)));
}

/* Once a second: say what we wait for, and give up on a silent API. */
static void
cmd_frame_on_watch(uv_timer_t *t)
{
	struct cmd_frame *f = container_of(t, struct cmd_frame, watch);
	char what[300], when[32];
	uint64_t quiet;
	bool silent;

	f->waited_ms += CMD_FRAME_SAY_MS;
	if (f->mf != NULL) {
		if (!f->said)
			fprintf(stderr, "mitosis %s: waiting for the metadata service at %s\n",
				f->cmd->name, f->cfg->metadata_url);
		f->said = true;
		return;
	}
	if (f->cloud == NULL)
		return;
	quiet = cloud_quiet_ms(f->cloud, what, sizeof(what));
	silent = quiet >= CMD_FRAME_SILENT_TIMEOUTS * f->cfg->api_timeout_ms;
	if (silent && cloud_unsettled(f->cloud) > 0) {
		/* A create or a DELETE went out: only its own deadline may end
		 * the work, once what it made is ready or deleted. */
		if (!f->said_unsettled)
			cmd_frame_say_unsettled(f, quiet, what);
		f->said_unsettled = f->said = true;
	} else if (silent) {
		fprintf(stderr,
			"mitosis %s: giving up: the DigitalOcean API at %s did not answer for "
			"%.1f s (api_timeout is %s; it was asked %s)\n",
			f->cmd->name, cloud_base_url(f->cloud), (double)quiet / 1000,
			util_format_duration(f->cfg->api_timeout_ms, when, sizeof(when)), what);
		f->gave_up = true;
		f->rc = 1;
	} else if (quiet >= CMD_FRAME_SAY_MS) {
		if (!f->said)
			fprintf(stderr, "mitosis %s: waiting for the DigitalOcean API at %s (%s)\n",
				f->cmd->name, cloud_base_url(f->cloud), what);
		f->said = true;
	} else {
		f->said = false; /* an answer came: a new stretch of waiting starts */
	}
}

bool
cmd_frame_wait(struct cmd_frame *f)
{
	f->waited_ms = 0;
	f->said = false;
	uv_timer_start(&f->watch, cmd_frame_on_watch, CMD_FRAME_SAY_MS, CMD_FRAME_SAY_MS);
	while (f->pending > 0 && !f->gave_up)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->watch);
	fflush(stdout);
	return !f->gave_up;
}

void
cmd_frame_fail(struct cmd_frame *f, const char *fmt, ...)
{
	va_list ap;

	f->rc = 1;
	if (f->gave_up)
		return;
	fprintf(stderr, "mitosis %s: ", f->cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cmd_frame_close(struct cmd_frame *f)
{
	if (f->loop_open) {
		/* Cancelled work reports now (silently once we gave up). */
		cloud_close(f->cloud);
		f->cloud = NULL;
		metadata_fetch_cancel(f->mf);
		f->mf = NULL;
		http_close(f->http, NULL, NULL);
		uv_close((uv_handle_t *)&f->watch, NULL);
		uv_run(&f->loop, UV_RUN_DEFAULT);
		uv_loop_close(&f->loop);
		f->loop_open = false;
	}
	meta_identity_free(f->self);
	f->self = NULL;
	cfg_free(f->cfg);
	f->cfg = NULL;
	cmd_settings_free(f->flags, f->nflags);
	f->flags = NULL;
	return f->rc;
}
