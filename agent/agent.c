/*
 * agent: start-up, the event loop and shutdown.
 *
 * Start-up order: signals, the http client, then the identity (static from
 * the config, or fetched from the metadata service on the loop), then the UDP
 * transport bound to the gossip address. Identity is read anew on every start:
 * a clone boots from the same disk with a new droplet id (DESIGN.md).
 *
 * Shutdown is two-phase (libuv handle.rst): agent_stop() uv_close()s every
 * handle and subsystem; the loop then runs until the last close callback,
 * and uv_loop_close() must return 0, or the exit code says the loop leaked.
 *
 * SIGHUP reads the configuration and the keyring again. What can change under
 * a running agent changes at once (agent_reloadable[]); any other key that
 * differs is logged as needing a restart, and the running value stays.
 */
#include <errno.h>
#include <malloc.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "agent.h"
#include "cfg.h"
#include "container.h"
#include "cloud.h"
#include "cloud_ops.h"
#include "control.h"
#include "doapi.h"
#include "elect_report.h"
#include "election.h"
#include "gossip.h"
#include "histlog.h"
#include "histwire.h"
#include "hooks.h"
#include "http.h"
#include "keyring.h"
#include "autoscale.h"
#include "leader.h"
#include "load.h"
#include "log.h"
#include "meta.h"
#include "metadata.h"
#include "metrics.h"
#include "nodekey.h"
#include "notify.h"
#include "prom.h"
#include "registrar.h"
#include "report.h"
#include "rotation.h"
#include "sampler.h"
#include "statedir.h"
#include "transport.h"
#include "util.h"
#include "wire.h"
#include "xmalloc.h"

/* Allocations from this size up are mapped, not taken from the heap (agent_run). */
#define AGENT_MMAP_THRESHOLD (8 * 1024)
/* The agent tells systemd it is ready once joined, or after this at the latest:
 * a node whose seeds are all down must not be killed by TimeoutStartSec. */
#define AGENT_READY_MAX_MS 30000
#define AGENT_STATUS_MS	   1000 /* how often readiness and STATUS= are looked at */
/* Discovery lists again while every peer is still booting (no private
 * address yet: the listing lags the droplet), this often, this many times. */
#define AGENT_DISCOVERY_RETRY_MS 2000
#define AGENT_DISCOVERY_TRIES	 30

struct agent {
	uv_loop_t loop;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	uv_signal_t sighup;
	const struct cfg *cfg;
	const struct keyring *kr;    /* the one in use: the caller's, or kr_reloaded */
	struct keyring *kr_reloaded; /* owned: the keyring of the last reload, or NULL */
	agent_reload_fn *reload;
	void *reload_arg;
	uint64_t load_change; /* load_change and load_refresh, which a reload may change */
	uint64_t load_refresh_ms;
	bool sign; /* sign_datagrams, likewise */
	struct http *http;
	struct metadata_fetch *mf;
	struct meta_identity *id;
	struct statedir *sd;   /* state_dir, opened once the droplet id is known */
	bool sd_reset;	       /* statedir_open emptied it (first boot, or a clone) */
	struct nodekey *key;   /* this node's own key, from state_dir */
	struct election *el;   /* the election's shell */
	struct leader *leader; /* what only the leader does */
	struct histlog *hist;  /* the replicated scaling history */
	struct hooks *hooks;   /* on_event and webhook_url */
	uint64_t hooks_term;   /* the term leader_changed last fired for */
	struct autoscale *as;  /* the scaling policy's shell (the leader's hooks) */
	struct transport *tr;
	struct gossip *gossip;
	struct sampler *sampler;
	struct control *control;
	struct rotation *rot; /* registrars; NULL when none is configured */
	struct cloud *cloud;  /* the API client, lent to discovery and rotation; NULL
				 without token_file */
	uint64_t incarnation;
	uint64_t started;	    /* uv_now() at start */
	struct swim_load published; /* the last sample gossiped */
	uint64_t published_at;
	bool have_published;
	struct notify *notify;	 /* systemd's notification socket (no-op outside systemd) */
	struct metrics *metrics; /* GET /metrics and /health; NULL without metrics_listen */
	struct prom_api api;	 /* every HTTP request, by endpoint class and answer */
	uv_timer_t status_timer;
	uv_timer_t discovery_timer; /* the next listing while the peers boot */
	unsigned discovery_tries;
	uint64_t gossip_started; /* uv_now() when gossip started */
	bool alone;		 /* alone by design: no seeds, and discovery found no peer */
	bool ready_sent;
	char status[160]; /* the last STATUS= sent */
	int exit_code;
	bool leaving;
	bool stopping;
};

static void
agent_stop(struct agent *a, int code)
{
	if (a->stopping)
		return;
	a->stopping = true;
	a->exit_code = code;
	notify_send(a->notify, "STOPPING=1");
	notify_close(a->notify);
	a->notify = NULL;
	uv_close((uv_handle_t *)&a->status_timer, NULL);
	uv_close((uv_handle_t *)&a->discovery_timer, NULL);
	metrics_close(a->metrics);
	a->metrics = NULL;
	uv_close((uv_handle_t *)&a->sigint, NULL);
	uv_close((uv_handle_t *)&a->sigterm, NULL);
	uv_close((uv_handle_t *)&a->sighup, NULL);
	metadata_fetch_cancel(a->mf);
	a->mf = NULL;
	/* The leader before the rotation and the client it drives, the rotation
	 * before the client it borrows, and all before http_close; the policy
	 * before the leader whose hooks it is. */
	autoscale_close(a->as);
	a->as = NULL;
	leader_close(a->leader);
	a->leader = NULL;
	histlog_close(a->hist);
	a->hist = NULL;
	hooks_close(a->hooks);
	a->hooks = NULL;
	rotation_close(a->rot);
	a->rot = NULL;
	cloud_close(a->cloud);
	a->cloud = NULL;
	http_close(a->http, NULL, NULL);
	a->http = NULL;
	sampler_close(a->sampler);
	a->sampler = NULL;
	control_close(a->control);
	a->control = NULL;
	election_close(a->el);
	a->el = NULL;
	gossip_close(a->gossip);
	a->gossip = NULL;
	if (a->tr != NULL) {
		transport_log_counts(a->tr);
		transport_close(a->tr);
		a->tr = NULL;
	}
}

static void
agent_on_left(void *arg)
{
	agent_stop(arg, 0);
}

/* The leader that could not hand over took itself out of rotation: it steps
 * down and leaves. */
static void
agent_on_self_out(int err, void *arg)
{
	struct agent *a = arg;

	if (err != 0 && err != -ECANCELED)
		log_warnx("rotation: could not take this node out of rotation: %s", strerror(-err));
	else if (err == 0)
		log_info("rotation: this node is out of rotation");
	if (a->stopping)
		return;
	(void)election_step_down(a->el);
	gossip_leave(a->gossip, agent_on_left, a);
}

/*
 * A graceful stop. Only the leader acts at the cloud, so a follower just
 * leaves: the leader takes it out of rotation when it sees LEFT. The leader
 * hands leadership to the best caught-up voter first, then leaves, and the
 * new leader deregisters it; with nobody to hand over to (a one-voter
 * cluster) it deregisters itself under its lease, steps down, and leaves.
 */
static void
agent_leave(struct agent *a)
{
	uint64_t term;
	int r;

	if (a->el == NULL || !election_leading(a->el, &term, NULL)) {
		gossip_leave(a->gossip, agent_on_left, a);
		return;
	}
	if ((r = election_transfer(a->el, 0)) == 0) {
		log_info("election: leadership of term %" PRIu64 " handed over before leaving",
			 term);
		gossip_leave(a->gossip, agent_on_left, a);
		return;
	}
	log_warnx("election: cannot hand leadership over (%s): this node takes itself out of "
		  "rotation",
		  r == -EAGAIN ? "no voter is caught up and reachable" : strerror(-r));
	if (a->leader != NULL && leader_deregister_self(a->leader, agent_on_self_out, a) == 0)
		return;
	(void)election_step_down(a->el);
	gossip_leave(a->gossip, agent_on_left, a);
}

/* The first SIGINT/SIGTERM leaves the cluster gracefully (agent_leave:
 * gossiping LEFT for leave_timeout, which may be 0); a second one stops at
 * once. */
static void
agent_on_signal(uv_signal_t *sig, int signum)
{
	struct agent *a = sig->data;
	const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";

	if (a->gossip != NULL && !a->leaving) {
		log_info("received %s, shutting down", name);
		notify_send(a->notify, "STOPPING=1\nSTATUS=leaving the cluster");
		a->leaving = true;
		agent_leave(a);
		return;
	}
	log_info("received %s, %s", name, a->leaving ? "stopping now" : "shutting down");
	agent_stop(a, 0);
}

/* The keys a reload applies at once. */
static const char *const agent_reloadable[] = { "key_file",	  "log_level",	 "trace",
						"sign_datagrams", "load_change", "load_refresh" };

static bool
agent_is_reloadable(const char *key)
{
	for (size_t i = 0; i < sizeof(agent_reloadable) / sizeof(agent_reloadable[0]); i++)
		if (strcmp(agent_reloadable[i], key) == 0)
			return true;
	return false;
}

/*
 * Reads the keyring file again and hands it to the transport, whose receiver
 * checks with it and whose sender seals with its primary from the next
 * datagram on (a rotation's second round). A keyring that does not load
 * leaves the running one in place.
 */
static void
agent_reload_keyring(struct agent *a, const struct cfg *cfg)
{
	struct keyring *kr = NULL;
	char err[512];

	if (keyring_load(cfg->key_file, &kr, err, sizeof(err)) != 0) {
		log_warnx("reload: %s; keeping keyring %08x", err, keyring_primary(a->kr)->id);
		return;
	}
	if (a->tr != NULL)
		transport_set_keyring(a->tr, kr);
	log_info("reload: keyring %s: %zu key%s, primary %08x (was %08x)", cfg->key_file, kr->nkeys,
		 kr->nkeys == 1 ? "" : "s", keyring_primary(kr)->id, keyring_primary(a->kr)->id);
	/* Nothing else holds the previous reload's keyring: the transport let go of it. */
	keyring_free(a->kr_reloaded);
	a->kr_reloaded = kr;
	a->kr = kr;
}

/* Applies what a reload may change, and names every other key that changed. */
static void
agent_reload_apply(struct agent *a, const struct cfg *cfg)
{
	const char *changed[64];
	size_t n;

	agent_reload_keyring(a, cfg);
	log_set_level(cfg->log_level);
	log_set_traces(cfg->traces);
	a->load_change = cfg->load_change;
	a->load_refresh_ms = cfg->load_refresh_ms;
	if (a->sign != cfg->sign_datagrams) {
		a->sign = cfg->sign_datagrams;
		if (a->tr != NULL)
			transport_set_signing(a->tr, a->sign);
		log_info("reload: datagrams %s from now on", a->sign ? "signed" : "not signed");
	}
	n = cfg_diff(a->cfg, cfg, changed, sizeof(changed) / sizeof(changed[0]));
	for (size_t i = 0; i < n && i < sizeof(changed) / sizeof(changed[0]); i++)
		if (!agent_is_reloadable(changed[i]))
			log_warnx("reload: %s changed; it needs a restart to take effect",
				  changed[i]);
}

static void
agent_on_hup(uv_signal_t *sig, int signum)
{
	struct agent *a = container_of(sig, struct agent, sighup);
	struct cfg *cfg;

	log_info("received SIGHUP, reloading the configuration and the keyring");
	if (a->ready_sent)
		notify_send(a->notify, "RELOADING=1");
	cfg = a->reload != NULL ? a->reload(a->reload_arg) : NULL;
	if (cfg == NULL)
		log_warnx("reload: nothing changed (the configuration could not be read)");
	else
		agent_reload_apply(a, cfg);
	cfg_free(cfg);
	if (a->ready_sent)
		notify_send(a->notify, "READY=1");
}

/* Logs the identity with every peer- or metadata-supplied string escaped. */
static void
agent_log_identity(const struct meta_identity *id, const char *source)
{
	char host[300], region[100], tags[600];
	size_t n = 0;

	tags[0] = '\0';
	for (size_t i = 0; i < id->ntags && n < sizeof(tags); i++) {
		char esc[300];

		log_escape(esc, sizeof(esc), id->tags[i], strlen(id->tags[i]));
		n += (size_t)snprintf(tags + n, sizeof(tags) - n, "%s%s", i ? "," : "", esc);
	}
	log_escape(host, sizeof(host), id->hostname, strlen(id->hostname));
	if (id->region != NULL)
		log_escape(region, sizeof(region), id->region, strlen(id->region));
	else
		snprintf(region, sizeof(region), "-");
	log_info("identity: droplet_id=%" PRIu64 " hostname=\"%s\" region=\"%s\" public_ipv4=%s "
		 "private_ipv4=%s tags=\"%s\" source=%s",
		 id->droplet_id, host, region, id->public_ipv4[0] ? id->public_ipv4 : "-",
		 id->private_ipv4[0] ? id->private_ipv4 : "-", tags, source);
}

static void
agent_on_message(const struct wire_msg *msg, const struct sockaddr *from, void *arg)
{
	struct agent *a = arg;

	log_trace(TRACE_WIRE, "wire: accepted type %u from node %" PRIu64 " stamp %" PRIu64,
		  msg->type, msg->node_id, msg->stamp);
	if (msg->type == ELECT_WIRE_TYPE) {
		if (a->el != NULL)
			election_on_wire(a->el, msg->node_id, msg->payload, msg->payload_len);
		return;
	}
	if (msg->type == HISTWIRE_TYPE) {
		if (a->hist != NULL)
			histlog_on_wire(a->hist, msg->node_id, msg->payload, msg->payload_len);
		return;
	}
	if (a->gossip != NULL)
		gossip_on_message(a->gossip, msg, from);
}

/* Gossips a sample only when it moved by load_change or load_refresh has
 * passed: an unchanged load is not news, and every record costs bytes on
 * every node of the cluster. */
static void
agent_on_sample(const struct swim_load *load, void *arg)
{
	struct agent *a = arg;
	uint64_t now = uv_now(&a->loop);

	if (a->gossip == NULL || a->leaving)
		return;
	if (a->have_published &&
	    !load_differs(&a->published, load, (uint16_t)(a->load_change * 10)) &&
	    now - a->published_at < a->load_refresh_ms)
		return;
	gossip_set_load(a->gossip, load);
	a->published = *load;
	a->published_at = now;
	a->have_published = true;
}

/* Members as an array of pointers, for report.c. Caller frees the array. */
static const struct swim_member **
agent_members(const struct agent *a, size_t *n)
{
	const struct swim *s = gossip_swim(a->gossip);
	const struct swim_member **m;

	*n = swim_count(s);
	m = xcalloc(*n + 1, sizeof(*m));
	for (size_t i = 0; i < *n; i++)
		m[i] = swim_member_at(s, i);
	return m;
}

/* The election's part of status and the whole of `mitosis leader`. */
static void
agent_elect_report(const struct agent *a, struct elect_report *r)
{
	election_report(a->el, r);
	r->admission = a->cloud != NULL ? "inventory" : "cluster-key";
	if (a->leader != NULL)
		leader_report(a->leader, &r->work);
}

/* This node's view for `status` and the metrics; gossip must be running. */
static void
agent_fill_status(struct agent *a, const struct swim_member **m, size_t n, struct report_status *st)
{
	const struct swim_member *self = swim_self(gossip_swim(a->gossip));

	memset(st, 0, sizeof(*st));
	st->node_id = a->id->droplet_id;
	st->name = a->id->hostname;
	st->cluster = a->cfg->cluster;
	st->incarnation = self->incarnation;
	st->addr = self->addr;
	st->uptime_ms = uv_now(&a->loop) - a->started;
	report_status_tally(st, m, n);
	transport_io(a->tr, &st->dgrams_in, &st->bytes_in, &st->dgrams_out, &st->bytes_out);
	for (int v = 0; v < WIRE_VERDICT_COUNT; v++)
		st->verdicts[v] = transport_count(a->tr, (enum wire_verdict)v);
	swim_stats(gossip_swim(a->gossip), &st->swim);
}

/* status: the policy's live view after the rest (autoscale_status_*). */
static char *
agent_status_policy(struct agent *a, char *reply, bool json)
{
	cJSON *o;
	char *text;

	if (reply == NULL || a->as == NULL)
		return reply;
	if (!json) {
		text = autoscale_status_text(a->as);
		reply = xrealloc(reply, strlen(reply) + strlen(text) + 1);
		strcat(reply, text);
		free(text);
		return reply;
	}
	if ((o = cJSON_Parse(reply)) == NULL)
		return reply;
	cJSON_AddItemToObject(o, "policy", autoscale_status_json(a->as));
	free(reply);
	reply = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return reply;
}

static char *
agent_status(struct agent *a, const struct swim_member **m, size_t n, bool json)
{
	struct report_status st;
	struct elect_report er;

	agent_fill_status(a, m, n, &st);
	if (a->el != NULL) {
		agent_elect_report(a, &er);
		st.elect = &er;
	}
	return agent_status_policy(a, json ? report_status_json(&st) : report_status_text(&st),
				   json);
}

static char *agent_control_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `members`: the table, with the nodes the leader drains marked (their
 * DRAIN claim, autoscale.h): "draining": true in JSON, a line after the
 * table in text. */
static char *
agent_members_reply(struct agent *a, const struct swim_member **m, size_t n, bool json)
{
	uint64_t now = uv_now(&a->loop), self = a->id->droplet_id;
	char *reply =
		json ? report_members_json(m, n, self, now) : report_members_text(m, n, self, now);
	cJSON *arr, *it;
	size_t len;

	if (reply == NULL || a->as == NULL)
		return reply;
	if (!json) {
		for (size_t i = 0; i < n; i++) {
			if (!autoscale_draining(a->as, m[i]->id))
				continue;
			len = strlen(reply);
			reply = xrealloc(reply, len + 128 + SWIM_NAME_MAX);
			snprintf(reply + len, 128 + SWIM_NAME_MAX,
				 "draining: %" PRIu64 " (%s), retired by the leader\n", m[i]->id,
				 m[i]->name);
		}
		return reply;
	}
	if ((arr = cJSON_Parse(reply)) == NULL)
		return reply;
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");

		if (cJSON_IsNumber(id))
			cJSON_AddBoolToObject(it, "draining",
					      autoscale_draining(a->as, (uint64_t)id->valuedouble));
	}
	free(reply);
	reply = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return reply;
}

/* {"error":"..."}: the reply the CLI prints as the agent's refusal. */
static char *
agent_control_error(const char *fmt, ...)
{
	cJSON *o = cJSON_CreateObject();
	char msg[512], *out;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(o, "error", msg);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

/* Why a leader command was refused, in the operator's words. */
static char *
agent_leader_refused(const struct agent *a, const char *what, int err)
{
	uint64_t term, leader = election_leader(a->el, &term);

	switch (err) {
	case -EPERM:
		if (leader != 0)
			return agent_control_error("%s: this node does not lead (node %" PRIu64
						   " leads term %" PRIu64 "; ask it)",
						   what, leader, term);
		return agent_control_error("%s: this node does not lead, and no leader is known",
					   what);
	case -ENOENT:
		return agent_control_error("%s: that node is not a voter", what);
	case -EAGAIN:
		return agent_control_error("%s: no voter is caught up and reachable; try again",
					   what);
	case -ERANGE:
		return agent_control_error("%s: the term or log index is at its bound (a forged or "
					   "corrupt election state): nothing can follow it",
					   what);
	case -EBUSY:
		return agent_control_error("%s: refused: node %" PRIu64 " leads term %" PRIu64
					   " and is alive; force-recover is for a lost quorum only",
					   what, leader, term);
	default:
		return agent_control_error("%s: %s", what, strerror(-err));
	}
}

/* "leader [json]", "leader transfer [ID]", "leader step-down", "leader force-recover". */
static char *
agent_leader_command(struct agent *a, const char *req)
{
	struct elect_report er;
	uint64_t target = 0, term;
	char *end = NULL;
	int r;

	if (a->el == NULL)
		return agent_control_error("the election is not running yet");
	if (strcmp(req, "") == 0 || strcmp(req, " json") == 0) {
		cJSON *o;
		char *out;

		agent_elect_report(a, &er);
		if (req[0] == '\0')
			return elect_report_text(&er);
		o = elect_report_json(&er);
		out = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
		cJSON_Delete(o);
		return out;
	}
	if (strncmp(req, " transfer", 9) == 0 && (req[9] == '\0' || req[9] == ' ')) {
		if (req[9] == ' ' &&
		    (target = strtoull(req + 10, &end, 10), *end != '\0' || target == 0))
			return agent_control_error("leader transfer: \"%.30s\" is not a node id",
						   req + 10);
		if (!election_leading(a->el, &term, NULL))
			return agent_leader_refused(a, "leader transfer", -EPERM);
		if ((r = election_transfer(a->el, target)) != 0)
			return agent_leader_refused(a, "leader transfer", r);
		log_info("election: leadership of term %" PRIu64 " handed over on request", term);
		return xasprintf(
			"leadership of term %" PRIu64 " handed over%s; a new term begins\n", term,
			target != 0 ? " to the node asked for" : " to the best voter");
	}
	if (strcmp(req, " step-down") == 0) {
		if ((r = election_step_down(a->el)) != 0)
			return agent_leader_refused(a, "leader step-down", r);
		log_info("election: stepped down on request");
		return xstrdup(
			"stepped down: the voters elect a new leader once their promises end\n");
	}
	if (strcmp(req, " force-recover") == 0) {
		if ((r = election_force_recover(a->el)) != 0)
			return agent_leader_refused(a, "leader force-recover", r);
		return xstrdup(
			"force-recover: this node is now the only voter; it elects itself and "
			"re-admits the others as it sees them\n");
	}
	return NULL;
}

/* "history[ json][ N]": the newest N records (all when N is missing). */
static char *
agent_history(struct agent *a, const char *req)
{
	bool json = strncmp(req, " json", 5) == 0;
	const char *num = req + (json ? 5 : 0);
	uint64_t n = 0;

	if (a->hist == NULL)
		return agent_control_error("the history is not open yet");
	if (*num == ' ' && util_parse_u64(num + 1, 1, HISTORY_KEEP * 16, &n) != 0)
		return agent_control_error("history: \"%.30s\" is not a record count", num + 1);
	if (*num != '\0' && *num != ' ')
		return NULL;
	return histlog_report(a->hist, json, (size_t)n);
}

/*
 * TEST ONLY ("_history-append TEXT", the hidden verb of the same name): the
 * leader appends a decision record holding TEXT, as the scaling loop would,
 * so the integration tests can watch replication without a cloud.
 */
static char *
agent_history_append(struct agent *a, const char *text)
{
	struct history_record r;
	struct timeval tv;
	uint64_t term;

	if (a->hist == NULL || a->el == NULL || !election_leading(a->el, &term, NULL))
		return agent_leader_refused(a, "_history-append", -EPERM);
	gettimeofday(&tv, NULL);
	memset(&r, 0, sizeof(r));
	r.kind = HISTORY_DECISION;
	r.term = term;
	r.seq = histlog_next_seq(a->hist, term);
	r.time_ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	snprintf(r.text, sizeof(r.text), "%s", text);
	histlog_append(a->hist, &r);
	return xasprintf("appended term %" PRIu64 " seq %" PRIu64 "\n", r.term, r.seq);
}

static void
agent_on_test_lifecycle(int status, uint64_t more_ms, void *arg)
{
	log_info("hooks: lifecycle (test): status %d, more %" PRIu64 " ms", status, more_ms);
}

/* TEST ONLY ("_hooks-lifecycle NODE", no CLI verb: the test speaks to the
 * socket): runs the lifecycle hook for NODE and logs its answer. */
static char *
agent_hooks_lifecycle(struct agent *a, const char *id)
{
	uint64_t node;

	if (a->hooks == NULL || util_parse_u64(id, 1, UINT64_MAX, &node) != 0)
		return agent_control_error("_hooks-lifecycle: no hooks, or not a node id");
	if (hooks_lifecycle(a->hooks, node, agent_on_test_lifecycle, a) != 0)
		return agent_control_error("_hooks-lifecycle: the queue is full");
	return xstrdup("started\n");
}

/* "policy [json]", "policy dry-run on|off [json]": the effective policy. */
static char *
agent_policy_command(struct agent *a, const char *req, bool json)
{
	if (strncmp(req, " dry-run on", 11) == 0)
		autoscale_set_dry_run(a->as, true);
	else if (strncmp(req, " dry-run off", 12) == 0)
		autoscale_set_dry_run(a->as, false);
	else if (req[0] != '\0' && strcmp(req, " json") != 0)
		return agent_control_error("policy: unknown request \"%.40s\"", req);
	return autoscale_policy(a->as, a->cfg, json);
}

/* Control socket requests: "members", "status", "leader", "policy" (each with " json"),
 * and the leader commands (agent_leader_command). */
static char *
agent_on_control(const char *request, void *arg)
{
	struct agent *a = arg;
	const struct swim_member **m;
	bool json = strstr(request, " json") != NULL;
	char *reply = NULL;
	size_t n;

	log_trace(TRACE_CONTROL, "control: request \"%.20s\"", request);
	if (a->gossip == NULL)
		return NULL;
	m = agent_members(a, &n);
	if (strncmp(request, "members", 7) == 0)
		reply = agent_members_reply(a, m, n, json);
	else if (strncmp(request, "status", 6) == 0)
		reply = agent_status(a, m, n, json);
	else if (strncmp(request, "policy", 6) == 0)
		reply = agent_policy_command(a, request + 6, json);
	else if (strncmp(request, "leader", 6) == 0)
		reply = agent_leader_command(a, request + 6);
	else if (strncmp(request, "history", 7) == 0)
		reply = agent_history(a, request + 7);
	else if (strncmp(request, "_history-append ", 16) == 0)
		reply = agent_history_append(a, request + 16);
	else if (strncmp(request, "_hooks-lifecycle ", 17) == 0)
		reply = agent_hooks_lifecycle(a, request + 17);
	free(m);
	return reply;
}

/* Whether this node is part of its cluster: it knows another member, or it
 * has nothing to join by design (no seeds, and discovery found no peer). */
static bool
agent_joined(const struct agent *a)
{
	return a->gossip != NULL && (a->alone || swim_joined(gossip_swim(a->gossip)));
}

/* The STATUS= line: members by state and this node's role. */
static void
agent_status_line(struct agent *a, bool joined, char *buf, size_t size)
{
	struct report_status st;
	const struct swim_member **m;
	size_t n;

	memset(&st, 0, sizeof(st));
	m = agent_members(a, &n);
	report_status_tally(&st, m, n);
	free(m);
	/* The election integration names the role here (leader or follower, and the term). */
	snprintf(buf, size, "%s%u alive, %u suspect, %u dead; role: member",
		 joined ? "" : "joining: ", st.by_state[SWIM_ALIVE], st.by_state[SWIM_SUSPECT],
		 st.by_state[SWIM_DEAD]);
}

/*
 * Every AGENT_STATUS_MS: READY=1 once joined (or AGENT_READY_MAX_MS after
 * gossip started, so that a node whose seeds are down keeps running and
 * trying), then STATUS= whenever the line changes.
 */
static void
agent_on_status(uv_timer_t *t)
{
	struct agent *a = container_of(t, struct agent, status_timer);
	char line[sizeof(a->status)], msg[sizeof(a->status) + 32];
	bool joined;

	if (a->gossip == NULL || a->leaving)
		return;
	joined = agent_joined(a);
	agent_status_line(a, joined, line, sizeof(line));
	if (!a->ready_sent &&
	    (joined || uv_now(&a->loop) - a->gossip_started >= AGENT_READY_MAX_MS)) {
		if (!joined)
			log_warnx("gossip: no seed answered in %d s; running, and still trying",
				  AGENT_READY_MAX_MS / 1000);
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", line);
		a->ready_sent = true;
	} else if (strcmp(line, a->status) != 0) {
		snprintf(msg, sizeof(msg), "STATUS=%s", line);
	} else {
		return;
	}
	notify_send(a->notify, msg);
	snprintf(a->status, sizeof(a->status), "%s", line);
}

/* GET /metrics and /health: the view of this node, rendered by common/prom.c. */
static char *
agent_on_metrics(const char *path, int *status, const char **type, void *arg)
{
	struct agent *a = arg;
	const struct swim_member **m;
	struct prom_view v;
	struct elect_report er;
	struct prom_scaling sc;
	char *body = NULL;
	size_t n;

	if (strcmp(path, "/metrics") != 0 && strcmp(path, "/health") != 0)
		return NULL;
	memset(&v, 0, sizeof(v));
	v.version = MITOSIS_VERSION;
	v.revision = MITOSIS_GITREV;
	v.start_time_ms = a->incarnation; /* the wall-clock time of the start, in ms */
	v.joined = agent_joined(a) && !a->leaving;
	v.api = a->cfg->token_file != NULL ? &a->api : NULL;
	v.registrars = a->rot != NULL;
	if (a->leader != NULL)
		leader_counters(a->leader, v.reg_ops, v.reg_errors);
	if (a->el != NULL) {
		agent_elect_report(a, &er);
		v.election = &er;
	}
	if (autoscale_metrics(a->as, &sc))
		v.scaling = &sc;
	m = agent_members(a, &n);
	agent_fill_status(a, m, n, &v.st);
	v.self_load = &swim_self(gossip_swim(a->gossip))->load;
	if (strcmp(path, "/health") == 0) {
		body = prom_health(&v, status);
		*type = "application/json";
	} else {
		body = prom_render(&v);
		*type = "text/plain; version=0.0.4; charset=utf-8";
	}
	free(m);
	if (body == NULL)
		fatalx("out of memory");
	return body;
}

/* Every HTTP request of the agent, counted by endpoint class and answer. */
static void
agent_on_http(const char *url, const struct http_response *resp, void *arg)
{
	struct agent *a = arg;
	char rem[32], lim[32];

	prom_api_observe(&a->api, a->cfg->token_file != NULL ? a->cfg->api_url : NULL, url,
			 resp->status, resp->err,
			 http_response_header(resp, "ratelimit-remaining", rem, sizeof(rem)),
			 http_response_header(resp, "ratelimit-limit", lim, sizeof(lim)));
}

/* The gossip address: bind key, else the private (VPC) IPv4, else the public one. */
static const char *
agent_bind_host(const struct agent *a)
{
	if (a->cfg->bind_host != NULL)
		return a->cfg->bind_host;
	if (a->id->private_ipv4[0] != '\0')
		return a->id->private_ipv4;
	return a->id->public_ipv4;
}

/* Seeds from the config, as addresses (cfg has already refused bad ones). */
static struct swim_addr *
agent_seeds(const struct cfg *cfg, size_t *n)
{
	struct swim_addr *seeds = xcalloc(cfg->nseeds + 1, sizeof(*seeds));

	*n = 0;
	for (size_t i = 0; i < cfg->nseeds; i++)
		if (gossip_addr_parse(cfg->seeds[i], CFG_DEFAULT_PORT, &seeds[*n]) == 0)
			(*n)++;
	return seeds;
}

static void
agent_swim_config(const struct cfg *cfg, struct swim_config *sc)
{
	swim_config_default(sc);
	sc->probe_interval_ms = cfg->probe_interval_ms;
	sc->probe_timeout_ms = cfg->probe_timeout_ms;
	sc->gossip_interval_ms = cfg->gossip_interval_ms;
	sc->gossip_fanout = (uint32_t)cfg->gossip_fanout;
	sc->indirect_checks = (uint32_t)cfg->indirect_checks;
	sc->suspicion_min_mult = (uint32_t)cfg->suspicion_mult;
	sc->suspicion_unit_ms = cfg->suspicion_unit_ms;
	sc->suspicion_max_mult = (uint32_t)cfg->suspicion_max_mult;
	sc->pushpull_interval_ms = cfg->pushpull_interval_ms;
	sc->reap_after_ms = cfg->reap_after_ms;
}

/* The address peers reach us at: advertise, else the bound one. 0 or -EINVAL. */
static int
agent_advertise(const struct agent *a, const char *host, struct swim_addr *out, char *text,
		size_t size)
{
	const char *h = a->cfg->advertise_host != NULL ? a->cfg->advertise_host : host;
	uint16_t port = a->cfg->advertise_port != 0 ? a->cfg->advertise_port : a->cfg->bind_port;
	static const uint8_t any[16];

	snprintf(text, size, strchr(h, ':') != NULL ? "[%s]:%u" : "%s:%u", h, port);
	if (gossip_addr_parse(text, port, out) != 0)
		return -EINVAL;
	if (memcmp(out->ip, any, out->family == 4 ? 4 : 16) == 0)
		return -EINVAL; /* 0.0.0.0 or :: cannot be reached */
	return 0;
}

/* SWIM's member events, for the election and the leader (mid-update: they
 * only record and re-arm). */
static void
agent_on_member(void *arg, const struct swim_member *m, enum swim_state old, bool is_new)
{
	struct agent *a = arg;

	if (a->el != NULL)
		election_on_member(a->el, m, old, is_new);
	if (a->leader != NULL)
		leader_on_member(a->leader, m, old, is_new);
}

/* Application claims, by kind (gossip.h lists them). */
static int
agent_on_claim(void *arg, const struct swim_claim *c)
{
	struct agent *a = arg;

	if (c->kind == GOSSIP_CLAIM_LEADER && a->el != NULL)
		return election_on_claim(a->el, c);
	if (c->kind == GOSSIP_CLAIM_NODE && a->leader != NULL)
		return leader_on_claim(a->leader, c);
	if ((c->kind == GOSSIP_CLAIM_DRAIN || c->kind == GOSSIP_CLAIM_PROTECT) && a->as != NULL)
		return autoscale_on_claim(a->as, c);
	return -EPERM;
}

/* Membership, load sampling and the control socket, once the socket is bound. */
static int
agent_start_gossip(struct agent *a, const char *host)
{
	struct gossip_opts go;
	struct sampler_opts so;
	struct sockaddr_storage ss;
	struct swim_addr *seeds;
	char adv[80];
	int r;

	memset(&go, 0, sizeof(go));
	if (agent_advertise(a, host, &go.self_addr, adv, sizeof(adv)) != 0) {
		log_error(
			"gossip: cannot advertise %s; set advertise to an address peers can reach",
			adv);
		return -EINVAL;
	}
	/* Seeds configured with our advertised address seal to it. */
	gossip_addr_to_sockaddr(&go.self_addr, &ss);
	(void)transport_add_address(a->tr, (const struct sockaddr *)&ss);
	agent_swim_config(a->cfg, &go.swim);
	go.swim.cluster_id = wire_cluster_id(a->cfg->cluster);
	go.node_id = a->id->droplet_id;
	go.incarnation = a->incarnation;
	go.key = a->key;
	go.name = a->id->hostname;
	go.leave_ms = a->cfg->leave_timeout_ms;
	go.hooks = (struct gossip_hooks){ agent_on_member, agent_on_claim, a };
	go.seeds = seeds = agent_seeds(a->cfg, &go.nseeds);
	r = gossip_start(&a->loop, a->tr, &go, &a->gossip);
	free(seeds);
	if (r != 0) {
		log_error("gossip: cannot start: %s", strerror(-r));
		return r;
	}
	log_info("gossip: advertising %s, %zu seed%s", adv, go.nseeds, go.nseeds == 1 ? "" : "s");
	a->gossip_started = uv_now(&a->loop);
	uv_timer_start(&a->status_timer, agent_on_status, 50, AGENT_STATUS_MS);
	memset(&so, 0, sizeof(so));
	so.interval_ms = a->cfg->load_interval_ms;
	so.window_ms = a->cfg->load_window_ms;
	so.custom_file = a->cfg->custom_metric_file;
	so.custom_command = a->cfg->custom_metric_command;
	so.custom_timeout_ms = a->cfg->custom_metric_timeout_ms;
	r = sampler_start(&a->loop, &so, agent_on_sample, a, &a->sampler);
	if (r != 0) {
		log_error("load sampler: cannot start: %s", strerror(-r));
		return r;
	}
	/* control_open and metrics_open log their own reasons. */
	r = control_open(&a->loop, a->cfg->control_socket, agent_on_control, a, &a->control);
	if (r == 0 && a->cfg->metrics_host != NULL)
		r = metrics_open(&a->loop, a->cfg->metrics_host, a->cfg->metrics_port,
				 agent_on_metrics, a, &a->metrics);
	return r;
}

static void agent_on_peers(int err, const char *error, const struct doapi_droplet *d, size_t n,
			   void *arg);

static void
agent_on_discovery_timer(uv_timer_t *t)
{
	struct agent *a = container_of(t, struct agent, discovery_timer);
	int r;

	if (a->stopping || a->cloud == NULL)
		return;
	r = cloud_list_tag_start(a->cloud, a->cfg->cluster_tag, agent_on_peers, a);
	if (r != 0)
		log_warnx("discovery: cannot list the cluster's droplets: %s", strerror(-r));
}

/*
 * The cluster's other active droplets, found by tag, become our seeds, at
 * their private address: the one every agent binds by default and
 * advertises. A droplet the listing shows as new, or active before its
 * private address (DigitalOcean assigns them apart), is booting: when all
 * peers are, the listing is asked again a little later, instead of joining
 * an address nobody listens on or deciding this node is alone.
 */
static void
agent_on_peers(int err, const char *error, const struct doapi_droplet *d, size_t n, void *arg)
{
	struct agent *a = arg;
	struct swim_addr *seeds;
	size_t nseeds = 0, booting = 0;

	if (err != 0) {
		if (err != -ECANCELED)
			log_warnx("discovery: cannot list the cluster's droplets: %s", error);
		return;
	}
	seeds = xcalloc(n + 1, sizeof(*seeds));
	for (size_t i = 0; i < n; i++) {
		if (d[i].id == a->id->droplet_id)
			continue;
		if (strcmp(d[i].status, "new") == 0 ||
		    (strcmp(d[i].status, "active") == 0 && d[i].private_ipv4[0] == '\0')) {
			booting++;
			continue;
		}
		if (strcmp(d[i].status, "active") != 0)
			continue;
		if (gossip_addr_parse(d[i].private_ipv4, a->cfg->bind_port, &seeds[nseeds]) == 0)
			nseeds++;
	}
	if (nseeds == 0 && booting > 0 && ++a->discovery_tries < AGENT_DISCOVERY_TRIES) {
		log_info("discovery: %zu peer%s booting; listing again in %d s", booting,
			 booting == 1 ? "" : "s", AGENT_DISCOVERY_RETRY_MS / 1000);
		uv_timer_start(&a->discovery_timer, agent_on_discovery_timer,
			       AGENT_DISCOVERY_RETRY_MS, 0);
		free(seeds);
		return;
	}
	log_info("discovery: %zu peer%s carry the cluster tag", nseeds, nseeds == 1 ? "" : "s");
	a->alone = nseeds == 0; /* the first node of its cluster */
	if (nseeds > 0 && a->gossip != NULL)
		gossip_join(a->gossip, seeds, nseeds);
	free(seeds);
}

/* The one API client of the agent, when it has a token: one rate-limit hold
 * for discovery and every registrar. */
static int
agent_start_cloud(struct agent *a)
{
	char err[512];
	int r;

	if (a->cfg->token_file == NULL)
		return 0;
	r = cloud_open(&a->loop, a->http, a->cfg, NULL, &a->cloud, err, sizeof(err));
	if (r != 0)
		log_error("cloud: %s", err);
	return r;
}

/*
 * A node with no seeds finds its peers through the cluster tag, when it has
 * an API token: clones boot knowing nothing but their snapshot. This one
 * listing at boot, before any election, is the only API call a node that
 * does not lead makes; every later inventory read is the leader's.
 */
static int
agent_start_discovery(struct agent *a)
{
	int r;

	/* No seeds and no way to find peers: a cluster of one, by design. */
	a->alone = a->cfg->nseeds == 0 && a->cloud == NULL;
	if (a->cfg->nseeds > 0 || a->cloud == NULL)
		return 0;
	r = cloud_list_tag_start(a->cloud, a->cfg->cluster_tag, agent_on_peers, a);
	if (r != 0)
		log_warnx("discovery: cannot list the cluster's droplets: %s", strerror(-r));
	return 0;
}

/* The registrars: only the leader drives them (leader.c), for every node. */
static int
agent_start_rotation(struct agent *a)
{
	if (a->cfg->nregistrars == 0)
		return 0;
	/* rotation_new says why when it fails. */
	return rotation_new(&a->loop, a->cfg, a->id, a->cloud, NULL, &a->rot);
}

/* The election's events go to the leader's module, which follows the lease. */
static void
agent_on_election(void *arg, const struct elect_event *ev)
{
	struct agent *a = arg;
	char detail[64];

	if (a->leader != NULL)
		leader_on_election(a->leader, ev);
	if (ev->type == ELECT_EV_LEADER) {
		histlog_set_leader(a->hist, ev->leader, ev->term);
		hooks_set_term(a->hooks, ev->term);
	}
	/* leader_changed fires once per term, on the node that takes office:
	 * when its first lease of the term is held. */
	if (ev->type == ELECT_EV_LEASE && ev->leading && ev->term != a->hooks_term) {
		a->hooks_term = ev->term;
		histlog_set_leader(a->hist, a->id->droplet_id, ev->term);
		hooks_set_term(a->hooks, ev->term);
		snprintf(detail, sizeof(detail), "took office in term %" PRIu64, ev->term);
		hooks_fire(a->hooks, "leader_changed", a->id->droplet_id, detail);
	}
}

/* With an API token a voter must be a droplet under the cluster tag. */
static enum elect_admit
agent_admissible(void *arg, uint64_t id)
{
	struct agent *a = arg;

	return a->leader != NULL ? leader_admissible(a->leader, id) : ELECT_ADMIT_UNKNOWN;
}

/* The leader retires this node (a scale-in victim): it leaves as on SIGTERM. */
static void
agent_on_policy_leave(void *arg)
{
	struct agent *a = arg;

	if (a->gossip == NULL || a->leaving)
		return;
	notify_send(a->notify, "STATUS=retired by the leader: leaving the cluster");
	a->leaving = true;
	agent_leave(a);
}

/* The scaling policy's shell, on the leader's hooks. */
static int
agent_start_policy(struct agent *a)
{
	struct autoscale_opts ao = { .cfg = a->cfg,
				     .self = a->id,
				     .cloud = a->cloud,
				     .leader = a->leader,
				     .election = a->el,
				     .gossip = a->gossip,
				     .histlog = a->hist,
				     .hooks = a->hooks,
				     .leave = agent_on_policy_leave,
				     .arg = a };

	return autoscale_open(&a->loop, &ao, &a->as);
}

/* The election, then the leader's module that acts on its lease. */
static int
agent_start_election(struct agent *a)
{
	struct election_opts eo = { .cfg = a->cfg,
				    .node_id = a->id->droplet_id,
				    .key = a->key,
				    .sd = a->sd,
				    .state_reset = a->sd_reset,
				    .tr = a->tr,
				    .gossip = a->gossip,
				    .admissible = a->cloud != NULL ? agent_admissible : NULL,
				    .event = agent_on_election,
				    .arg = a };
	struct leader_opts lo = {
		.cfg = a->cfg, .self = a->id, .cloud = a->cloud, .rot = a->rot, .gossip = a->gossip
	};
	int r;

	/* Before the election: its first events reach both. */
	if ((r = histlog_open(&a->loop, a->cfg, a->gossip, &a->hist)) != 0 ||
	    (r = hooks_open(&a->loop, a->cfg, &a->hooks)) != 0)
		return r;
	hooks_set_gossip(a->hooks, a->gossip);
	if ((r = election_open(&a->loop, &eo, &a->el)) != 0)
		return r;
	lo.election = a->el;
	if ((r = leader_open(&a->loop, &lo, &a->leader)) != 0)
		return r;
	return agent_start_policy(a);
}

/*
 * Opens state_dir for this droplet and loads this node's key, making one at
 * first boot. A directory that belonged to another droplet (this is a clone
 * booted from a snapshot of a running node) has been emptied by
 * statedir_open: the clone keeps nothing of its parent, not even its key.
 */
static int
agent_open_state(struct agent *a)
{
	char err[600], fpr[NODEKEY_FPR_LEN + 1];
	uint64_t old = 0;
	bool reset = false, created = false;
	int r;

	r = statedir_open(a->cfg->state_dir, a->id->droplet_id, &a->sd, &reset, &old, err,
			  sizeof(err));
	a->sd_reset = reset;
	if (r == 0)
		r = nodekey_load_or_create(a->sd, &a->key, &created, err, sizeof(err));
	if (r != 0) {
		log_error("state_dir %s", err);
		return r;
	}
	if (reset && old != 0)
		log_warnx("state_dir %s belonged to droplet %" PRIu64 ", this is droplet %" PRIu64
			  " (a clone of its snapshot): kept nothing of it",
			  a->cfg->state_dir, old, a->id->droplet_id);
	nodekey_fingerprint(a->key->pk, fpr);
	log_info("node key %s %s in %s", fpr, created ? "created" : "loaded", a->cfg->state_dir);
	return 0;
}

static void
agent_on_identity(struct agent *a, struct meta_identity *id, const char *source)
{
	const char *host;
	int r;

	a->id = id;
	agent_log_identity(id, source);
	if (agent_open_state(a) != 0) {
		agent_stop(a, 1);
		return;
	}
	host = agent_bind_host(a);
	r = transport_open(&a->loop, host, a->cfg->bind_port, a->kr,
			   wire_cluster_id(a->cfg->cluster), id->droplet_id, agent_on_message, a,
			   &a->tr);
	if (r != 0) {
		log_error("udp %s:%u: cannot bind: %s", host, a->cfg->bind_port, uv_strerror(r));
		agent_stop(a, 1);
		return;
	}
	transport_set_signing(a->tr, a->sign);
	log_info("listening on udp %s:%u, cluster \"%s\", incarnation %" PRIu64 "%s", host,
		 a->cfg->bind_port, a->cfg->cluster, a->incarnation,
		 a->sign ? ", datagrams signed" : "");
	if (agent_start_gossip(a, host) != 0 || agent_start_cloud(a) != 0 ||
	    agent_start_discovery(a) != 0 || agent_start_rotation(a) != 0 ||
	    agent_start_election(a) != 0)
		agent_stop(a, 1);
}

static void
agent_on_metadata(int err, struct meta_identity *id, const char *why, void *arg)
{
	struct agent *a = arg;

	a->mf = NULL;
	if (err != 0) {
		log_error("metadata %s: no identity after %" PRIu64 " tries: %s (set metadata_url, "
			  "or node_id and the other static identity keys)",
			  a->cfg->metadata_url, a->cfg->metadata_attempts, why);
		agent_stop(a, 1);
		return;
	}
	agent_on_identity(a, id, "metadata");
}

/* Milliseconds of wall-clock time: a restarted agent gets a higher incarnation
 * than its previous life without keeping state on disk. */
static uint64_t
agent_new_incarnation(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void
agent_on_walk(uv_handle_t *h, void *arg)
{
	log_error("loop: handle of type %s still open at exit", uv_handle_type_name(h->type));
}

static int
agent_start(struct agent *a)
{
	struct metadata_opts mo;
	int r;

	uv_signal_init(&a->loop, &a->sigint);
	uv_signal_init(&a->loop, &a->sigterm);
	a->sigint.data = a->sigterm.data = a;
	uv_signal_start(&a->sigint, agent_on_signal, SIGINT);
	uv_signal_start(&a->sigterm, agent_on_signal, SIGTERM);
	uv_signal_init(&a->loop, &a->sighup);
	uv_signal_start(&a->sighup, agent_on_hup, SIGHUP);
	uv_timer_init(&a->loop, &a->status_timer);
	uv_timer_init(&a->loop, &a->discovery_timer);
	notify_open(&a->loop, &a->notify); /* logs its own failure; the agent runs on */
	a->http = http_new(&a->loop);
	prom_api_init(&a->api);
	http_set_observer(a->http, agent_on_http, a);
	if (a->cfg->node_id != 0) {
		agent_on_identity(a, metadata_identity_from_cfg(a->cfg), "config");
		return 0;
	}
	memset(&mo, 0, sizeof(mo));
	mo.base_url = a->cfg->metadata_url;
	mo.timeout_ms = a->cfg->metadata_timeout_ms;
	mo.attempts = (unsigned)a->cfg->metadata_attempts;
	r = metadata_fetch_start(&a->loop, a->http, &mo, agent_on_metadata, a, &a->mf);
	if (r != 0)
		log_error("metadata %s: cannot start: %s", a->cfg->metadata_url, strerror(-r));
	return r;
}

int
agent_run(const struct cfg *cfg, const struct keyring *kr, agent_reload_fn *reload,
	  void *reload_arg)
{
	struct agent a;
	int r;

	/*
	 * The replay filters and request budgets are tables sized for the
	 * largest cluster and calloc'ed, so that only the slots in use become
	 * resident. Below glibc's mmap threshold (128 KiB at first) they come
	 * from the heap, where calloc clears them and makes every page
	 * resident: ~210 kB at any cluster size. From the mmap threshold up
	 * they are fresh zero pages, touched only as slots fill. glibc maps a
	 * large block only when the heap's free top cannot hold it, and keeps
	 * 128 kB of top spare after each growth: with no spare, the large
	 * blocks are mapped (35-40 kB less resident at N = 100, measured).
	 * For the same reason the free top goes back to the system from 32 kB
	 * (128 kB by default): it would take the next large block, cleared,
	 * such as the strangers' slots a start allocates and frees (PSS at
	 * N = 100: 480 kB with it, 571 without, measured).
	 */
	mallopt(M_MMAP_THRESHOLD, AGENT_MMAP_THRESHOLD);
	mallopt(M_TOP_PAD, 0);
	mallopt(M_TRIM_THRESHOLD, 4 * AGENT_MMAP_THRESHOLD);
	memset(&a, 0, sizeof(a));
	a.cfg = cfg;
	a.kr = kr;
	a.reload = reload;
	a.reload_arg = reload_arg;
	a.load_change = cfg->load_change;
	a.load_refresh_ms = cfg->load_refresh_ms;
	a.sign = cfg->sign_datagrams;
	a.incarnation = agent_new_incarnation();
	r = uv_loop_init(&a.loop);
	if (r != 0) {
		log_error("uv_loop_init: %s", uv_strerror(r));
		return 1;
	}
	a.started = uv_now(&a.loop);
	log_info("mitosis %s starting, cluster \"%s\", key %08x", MITOSIS_VERSION, cfg->cluster,
		 keyring_primary(kr)->id);
	if (agent_start(&a) != 0)
		agent_stop(&a, 1);
	uv_run(&a.loop, UV_RUN_DEFAULT);
	r = uv_loop_close(&a.loop);
	if (r != 0) {
		uv_walk(&a.loop, agent_on_walk, NULL);
		log_error("loop: not closed cleanly: %s", uv_strerror(r));
		a.exit_code = 1;
	}
	meta_identity_free(a.id);
	keyring_free(a.kr_reloaded);
	nodekey_free(a.key);
	statedir_free(a.sd);
	log_info("stopped (exit %d)", a.exit_code);
	return a.exit_code;
}
