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
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "agent.h"
#include "cfg.h"
#include "http.h"
#include "keyring.h"
#include "log.h"
#include "meta.h"
#include "metadata.h"
#include "transport.h"
#include "wire.h"
#include "xmalloc.h"

struct agent {
	uv_loop_t loop;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	const struct cfg *cfg;
	const struct keyring *kr;
	struct http *http;
	struct metadata_fetch *mf;
	struct meta_identity *id;
	struct transport *tr;
	uint64_t incarnation;
	int exit_code;
	bool stopping;
};

static void
agent_stop(struct agent *a, int code)
{
	if (a->stopping)
		return;
	a->stopping = true;
	a->exit_code = code;
	uv_close((uv_handle_t *)&a->sigint, NULL);
	uv_close((uv_handle_t *)&a->sigterm, NULL);
	metadata_fetch_cancel(a->mf);
	a->mf = NULL;
	http_close(a->http, NULL, NULL);
	a->http = NULL;
	if (a->tr != NULL) {
		transport_log_counts(a->tr);
		transport_close(a->tr);
		a->tr = NULL;
	}
}

static void
agent_on_signal(uv_signal_t *sig, int signum)
{
	struct agent *a = sig->data;

	log_info("received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
	agent_stop(a, 0);
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
	log_trace(TRACE_WIRE, "wire: accepted type %u from node %" PRIu64 " seq %" PRIu64,
		  msg->type, msg->node_id, msg->seq);
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

static void
agent_on_identity(struct agent *a, struct meta_identity *id, const char *source)
{
	const char *host;
	int r;

	a->id = id;
	agent_log_identity(id, source);
	host = agent_bind_host(a);
	r = transport_open(&a->loop, host, a->cfg->bind_port, a->kr, wire_cluster_id(a->cfg->cluster),
			   id->droplet_id, a->incarnation, agent_on_message, a, &a->tr);
	if (r != 0) {
		log_error("udp %s:%u: cannot bind: %s", host, a->cfg->bind_port, uv_strerror(r));
		agent_stop(a, 1);
		return;
	}
	log_info("listening on udp %s:%u, cluster \"%s\", incarnation %" PRIu64, host,
		 a->cfg->bind_port, a->cfg->cluster, a->incarnation);
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

static struct meta_identity *
agent_static_identity(const struct cfg *cfg)
{
	struct meta_identity *id = meta_identity_new();

	if (id == NULL)
		fatalx("out of memory");
	id->droplet_id = cfg->node_id;
	id->hostname = xstrdup(cfg->hostname);
	if (cfg->region != NULL)
		id->region = xstrdup(cfg->region);
	if (cfg->public_ipv4 != NULL)
		snprintf(id->public_ipv4, sizeof(id->public_ipv4), "%s", cfg->public_ipv4);
	if (cfg->private_ipv4 != NULL)
		snprintf(id->private_ipv4, sizeof(id->private_ipv4), "%s", cfg->private_ipv4);
	if (cfg->ntags > 0) {
		id->tags = xcalloc(cfg->ntags, sizeof(char *));
		for (size_t i = 0; i < cfg->ntags; i++)
			id->tags[i] = xstrdup(cfg->tags[i]);
		id->ntags = cfg->ntags;
	}
	return id;
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
	a->http = http_new(&a->loop);
	if (a->http == NULL) {
		log_error("http: cannot set up libcurl");
		return -EIO;
	}
	if (a->cfg->node_id != 0) {
		agent_on_identity(a, agent_static_identity(a->cfg), "config");
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
agent_run(const struct cfg *cfg, const struct keyring *kr)
{
	struct agent a;
	int r;

	memset(&a, 0, sizeof(a));
	a.cfg = cfg;
	a.kr = kr;
	a.incarnation = agent_new_incarnation();
	r = uv_loop_init(&a.loop);
	if (r != 0) {
		log_error("uv_loop_init: %s", uv_strerror(r));
		return 1;
	}
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
	log_info("stopped (exit %d)", a.exit_code);
	return a.exit_code;
}
