/*
 * prom: the Prometheus text format (include/prom.h). One growable buffer;
 * each family is written as "# HELP", "# TYPE", then its samples. Ratios and
 * per-CPU loads are kept in permille by the cores, so they are printed from
 * integers ("0.125"), never through a double: the output has no rounding
 * noise, and tests can compare it byte for byte.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elect_report.h"
#include "prom.h"
#include "util.h"

_Static_assert(POLICY_LIMIT_VICTIMS == 1U << (PROM_SCALE_LIMITS - 1),
	       "PROM_SCALE_LIMITS counts every POLICY_LIMIT_ bit");

struct prom_buf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void prom_printf(struct prom_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
prom_printf(struct prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len)
			break;
		char *s = realloc(b->s, b->cap * 2 + (size_t)n);

		if (s == NULL) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = b->cap * 2 + (size_t)n;
	}
	b->len += (size_t)n;
}

/* "# HELP name help\n# TYPE name type\n". */
static void
prom_family(struct prom_buf *b, const char *name, const char *type, const char *help)
{
	prom_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the format wants: \\, \" and \n. */
static void
prom_label(struct prom_buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			prom_printf(b, "\\%c", *v);
		else if (*v == '\n')
			prom_printf(b, "\\n");
		else
			prom_printf(b, "%c", *v);
	}
}

/* A family of one unlabelled sample. */
static void
prom_one(struct prom_buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
	prom_family(b, name, type, help);
	prom_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* A value in thousandths, printed exactly: 1250 -> "1.25"-like "1.250". */
static void
prom_milli(struct prom_buf *b, const char *name, const char *help, int64_t milli)
{
	uint64_t a = milli < 0 ? (uint64_t)0 - (uint64_t)milli : (uint64_t)milli;

	prom_family(b, name, "gauge", help);
	prom_printf(b, "%s %s%" PRIu64 ".%03" PRIu64 "\n", name, milli < 0 ? "-" : "", a / 1000,
		    a % 1000);
}

void
prom_api_init(struct prom_api *api)
{
	memset(api, 0, sizeof(*api));
	api->ratelimit_remaining = -1;
	api->ratelimit_limit = -1;
}

const char *
prom_endpoint_name(enum prom_endpoint e)
{
	static const char *const names[PROM_EP_COUNT] = {
		"droplets",	  "actions", "images", "domains",
		"load_balancers", "tags",    "other",  "metadata",
	};

	return (unsigned)e < PROM_EP_COUNT ? names[e] : "other";
}

const char *
prom_code_name(enum prom_code c)
{
	static const char *const names[PROM_CODE_COUNT] = { "2xx", "3xx", "4xx",
							    "429", "5xx", "error" };

	return (unsigned)c < PROM_CODE_COUNT ? names[c] : "error";
}

/* The endpoint class of an API path ("/v2/droplets/1/actions" is droplets). */
static enum prom_endpoint
prom_classify(const char *path)
{
	static const struct {
		const char *prefix;
		enum prom_endpoint ep;
	} classes[] = {
		{ "droplets", PROM_EP_DROPLETS }, { "actions", PROM_EP_ACTIONS },
		{ "images", PROM_EP_IMAGES },	  { "snapshots", PROM_EP_IMAGES },
		{ "domains", PROM_EP_DOMAINS },	  { "load_balancers", PROM_EP_LOAD_BALANCERS },
		{ "tags", PROM_EP_TAGS },
	};

	if (strncmp(path, "/v2/", 4) != 0)
		return PROM_EP_OTHER;
	path += 4;
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		size_t n = strlen(classes[i].prefix);

		if (strncmp(path, classes[i].prefix, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/' || path[n] == '?'))
			return classes[i].ep;
	}
	return PROM_EP_OTHER;
}

static enum prom_code
prom_code_of(long status, int err)
{
	if (err != 0 || status < 100 || status > 599)
		return PROM_CODE_ERROR;
	if (status == 429)
		return PROM_CODE_429;
	if (status >= 500)
		return PROM_CODE_5XX;
	if (status >= 400)
		return PROM_CODE_4XX;
	return status >= 300 ? PROM_CODE_3XX : PROM_CODE_2XX;
}

/* A header's number into *gauge, when it is one. */
static void
prom_header_number(const char *v, int64_t *gauge)
{
	uint64_t n;

	if (v != NULL && util_parse_u64(v, 0, INT64_MAX, &n) == 0)
		*gauge = (int64_t)n;
}

void
prom_api_observe(struct prom_api *api, const char *api_base, const char *url, long status, int err,
		 const char *ratelimit_remaining, const char *ratelimit_limit)
{
	size_t n = api_base != NULL ? strlen(api_base) : 0;
	enum prom_endpoint ep = PROM_EP_METADATA;

	if (n > 0 && strncmp(url, api_base, n) == 0) {
		ep = prom_classify(url + n);
		prom_header_number(ratelimit_remaining, &api->ratelimit_remaining);
		prom_header_number(ratelimit_limit, &api->ratelimit_limit);
	}
	api->requests[ep][prom_code_of(status, err)]++;
}

static void
prom_build(struct prom_buf *b, const struct prom_view *v)
{
	prom_family(b, "mitosis_build_info", "gauge",
		    "The agent's version and source revision; always 1.");
	prom_printf(b, "mitosis_build_info{version=\"");
	prom_label(b, v->version);
	prom_printf(b, "\",revision=\"");
	prom_label(b, v->revision);
	prom_printf(b, "\"} 1\n");
	prom_family(b, "mitosis_node_info", "gauge", "This node's cluster and id; always 1.");
	prom_printf(b, "mitosis_node_info{cluster=\"");
	prom_label(b, v->st.cluster != NULL ? v->st.cluster : "");
	prom_printf(b, "\",node_id=\"%" PRIu64 "\"} 1\n", v->st.node_id);
	prom_family(b, "process_start_time_seconds", "gauge",
		    "Start time of the agent since the Unix epoch, in seconds.");
	prom_printf(b, "process_start_time_seconds %" PRIu64 ".%03" PRIu64 "\n",
		    v->start_time_ms / 1000, v->start_time_ms % 1000);
	prom_one(b, "mitosis_joined", "gauge",
		 "1 once this node is part of its cluster (joined, or alone by design).",
		 v->joined ? 1 : 0);
}

static void
prom_members(struct prom_buf *b, const struct prom_view *v)
{
	prom_family(b, "mitosis_members", "gauge",
		    "Members of the cluster as this node sees them, itself included, by state.");
	for (int s = 0; s < REPORT_STATES; s++)
		prom_printf(b, "mitosis_members{state=\"%s\"} %u\n",
			    swim_state_name((enum swim_state)s), v->st.by_state[s]);
}

static void
prom_datagrams(struct prom_buf *b, const struct prom_view *v)
{
	prom_one(b, "mitosis_gossip_datagrams_received_total", "counter",
		 "Gossip datagrams received, before any check.", v->st.dgrams_in);
	prom_one(b, "mitosis_gossip_received_bytes_total", "counter",
		 "Bytes of gossip datagrams received.", v->st.bytes_in);
	prom_one(b, "mitosis_gossip_datagrams_sent_total", "counter", "Gossip datagrams sent.",
		 v->st.dgrams_out);
	prom_one(b, "mitosis_gossip_sent_bytes_total", "counter", "Bytes of gossip datagrams sent.",
		 v->st.bytes_out);
	prom_one(b, "mitosis_gossip_datagrams_accepted_total", "counter",
		 "Gossip datagrams that passed every check of the envelope.",
		 v->st.verdicts[WIRE_ACCEPT]);
	prom_family(b, "mitosis_gossip_datagrams_dropped_total", "counter",
		    "Gossip datagrams dropped, by the check they failed.");
	for (int i = 1; i < WIRE_VERDICT_COUNT; i++)
		prom_printf(b,
			    "mitosis_gossip_datagrams_dropped_total{reason=\"%s\"} %" PRIu64 "\n",
			    wire_verdict_name((enum wire_verdict)i), v->st.verdicts[i]);
}

static void
prom_swim(struct prom_buf *b, const struct swim_stats *s)
{
	static const char *const help[] = {
		"Direct probes sent.",
		"Acks received for direct and indirect probes.",
		"Indirect probes asked of other members.",
		"Probes of members that others suspect (also in probes).",
		"Nacks sent for indirect probes that got no ack.",
		"Nacks received.",
		"Members this node began to suspect.",
		"Suspicions of this node that it refuted.",
		"Members declared dead.",
		"Members that left gracefully.",
		"Members that joined.",
		"Membership messages that did not decode.",
	};
	const uint64_t vals[] = { s->probes,	     s->probe_acks,  s->indirect_probes,
				  s->confirm_probes, s->nacks_sent,  s->nacks_received,
				  s->suspicions,     s->refutations, s->deaths,
				  s->leaves,	     s->joins,	     s->decode_errors };
	static const char *const names[] = {
		"probes",     "probe_acks",	"indirect_probes", "confirmation_probes",
		"nacks_sent", "nacks_received", "suspicions",	   "refutations",
		"deaths",     "leaves",		"joins",	   "decode_errors",
	};
	char name[80];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(name, sizeof(name), "mitosis_swim_%s_total", names[i]);
		prom_one(b, name, "counter", help[i], vals[i]);
	}
	prom_one(b, "mitosis_swim_local_health", "gauge",
		 "Lifeguard's local health multiplier: 0 when healthy, higher when this node "
		 "misses acks.",
		 s->awareness);
}

/* This node's last sample and the mean over alive members ("node" or "cluster"). */
static void
prom_load(struct prom_buf *b, const char *who, uint16_t cpu, uint16_t load1, uint16_t mem,
	  bool custom, int64_t custom_milli)
{
	char name[80], help[160];

	snprintf(name, sizeof(name), "mitosis_%s_cpu_ratio", who);
	snprintf(help, sizeof(help), "CPU utilisation (EWMA), 0..1: %s.",
		 who[0] == 'n' ? "this node" : "mean over alive members");
	prom_milli(b, name, help, cpu);
	snprintf(name, sizeof(name), "mitosis_%s_load1_per_cpu", who);
	snprintf(help, sizeof(help), "1-minute load average per CPU: %s.",
		 who[0] == 'n' ? "this node" : "mean over alive members");
	prom_milli(b, name, help, load1);
	snprintf(name, sizeof(name), "mitosis_%s_memory_ratio", who);
	snprintf(help, sizeof(help), "Memory in use, 0..1: %s.",
		 who[0] == 'n' ? "this node" : "mean over alive members");
	prom_milli(b, name, help, mem);
	if (!custom)
		return;
	snprintf(name, sizeof(name), "mitosis_%s_custom_metric", who);
	snprintf(help, sizeof(help), "The custom load metric: %s.",
		 who[0] == 'n' ? "this node" : "mean over the members that report one");
	prom_milli(b, name, help, custom_milli);
}

static void
prom_loads(struct prom_buf *b, const struct prom_view *v)
{
	const struct swim_load *l = v->self_load;
	const struct load_mean *m = &v->st.mean;

	if (l != NULL && l->version > 0)
		prom_load(b, "node", l->cpu_permille, l->load1_permille, l->mem_permille,
			  l->has_custom, l->custom_milli);
	prom_one(b, "mitosis_cluster_load_members", "gauge",
		 "Alive members with a load sample, over which the cluster means are taken.",
		 m->members);
	if (m->members > 0)
		prom_load(b, "cluster", m->cpu_permille, m->load1_permille, m->mem_permille,
			  m->custom_members > 0, m->custom_milli);
}

static void
prom_api(struct prom_buf *b, const struct prom_api *api)
{
	prom_family(b, "mitosis_http_requests_total", "counter",
		    "HTTP requests the agent made (retries included): to the DigitalOcean API by "
		    "endpoint class, and to the metadata service, by answer class.");
	for (int e = 0; e < PROM_EP_COUNT; e++)
		for (int c = 0; c < PROM_CODE_COUNT; c++)
			if (api->requests[e][c] > 0)
				prom_printf(
					b,
					"mitosis_http_requests_total{endpoint=\"%s\",code=\"%s\"} "
					"%" PRIu64 "\n",
					prom_endpoint_name((enum prom_endpoint)e),
					prom_code_name((enum prom_code)c), api->requests[e][c]);
	if (api->ratelimit_remaining >= 0)
		prom_one(b, "mitosis_api_ratelimit_remaining", "gauge",
			 "Requests left in the API's rate-limit window, as its last answer said.",
			 (uint64_t)api->ratelimit_remaining);
	if (api->ratelimit_limit >= 0)
		prom_one(b, "mitosis_api_ratelimit_limit", "gauge",
			 "Requests allowed per rate-limit window, as the API's last answer said.",
			 (uint64_t)api->ratelimit_limit);
}

static void
prom_registrars(struct prom_buf *b, const struct prom_view *v)
{
	static const char *const ops[PROM_REG_COUNT] = { "register", "deregister", "reconcile" };

	prom_family(b, "mitosis_registrar_operations_total", "counter",
		    "Registrar operations this node started as the leader: a member put into "
		    "(register) or taken out of (deregister) every registrar, or every registrar "
		    "made to hold the alive members (reconcile).");
	for (int i = 0; i < PROM_REG_COUNT; i++)
		prom_printf(b, "mitosis_registrar_operations_total{operation=\"%s\"} %" PRIu64 "\n",
			    ops[i], v->reg_ops[i]);
	prom_family(b, "mitosis_registrar_errors_total", "counter",
		    "Registrar operations that failed in at least one registrar.");
	for (int i = 0; i < PROM_REG_COUNT; i++)
		prom_printf(b, "mitosis_registrar_errors_total{operation=\"%s\"} %" PRIu64 "\n",
			    ops[i], v->reg_errors[i]);
}

/* The election: gauges of what this node sees now, counters of its rounds. */
static void
prom_election(struct prom_buf *b, const struct elect_report *r)
{
	const struct elect_status *st = &r->st;

	prom_one(b, "mitosis_leader", "gauge", "1 while this node holds the leader's lease.",
		 st->leading ? 1 : 0);
	prom_one(b, "mitosis_election_term", "gauge", "The election term this node is in.",
		 st->term);
	prom_one(b, "mitosis_election_leader_known", "gauge",
		 "1 when this node knows a leader of its term.", st->leader != 0 ? 1 : 0);
	prom_one(b, "mitosis_election_voter", "gauge", "1 when this node is one of the voters.",
		 st->role != ELECT_NONVOTER ? 1 : 0);
	prom_one(b, "mitosis_election_voters", "gauge", "Voters in the committed voter set.",
		 st->voters.n);
	prom_one(b, "mitosis_election_voters_alive", "gauge",
		 "Voters of the committed set that the membership protocol holds alive.",
		 st->voters_alive);
	prom_one(b, "mitosis_election_quorum_lost", "gauge",
		 "1 when too few voters are alive to elect a leader and none leads.",
		 st->quorum_lost ? 1 : 0);
	prom_one(b, "mitosis_elections_total", "counter",
		 "Elections this node started (pre-vote rounds).", r->stats.elections);
	prom_one(b, "mitosis_election_campaigns_total", "counter",
		 "Vote rounds this node started (each raised the term).", r->stats.campaigns);
	prom_one(b, "mitosis_election_won_total", "counter", "Times this node became the leader.",
		 r->stats.won);
}

/* The scaling policy: its decisions, the limits that cut them, the actuator's outcomes. */
static void
prom_scaling(struct prom_buf *b, const struct prom_scaling *sc)
{
	prom_one(b, "mitosis_scaling_active", "gauge",
		 "1 while this node leads and runs the scaling policy.", sc->active ? 1 : 0);
	prom_one(b, "mitosis_scaling_dry_run", "gauge",
		 "1 when decisions are computed and kept in the history, not carried out.",
		 sc->dry_run ? 1 : 0);
	prom_family(b, "mitosis_scaling_decisions_total", "counter",
		    "Decisions of the scaling policy this node took as the leader, by action "
		    "(dry-run decisions included).");
	for (int i = 0; i < PROM_SCALE_ACTIONS; i++)
		prom_printf(b, "mitosis_scaling_decisions_total{action=\"%s\"} %" PRIu64 "\n",
			    policy_action_name((enum policy_action)(i + 1)), sc->decisions[i]);
	prom_family(b, "mitosis_scaling_limit_reached_total", "counter",
		    "Times a limit cut a decision down (counted once when it starts to hold).");
	for (int i = 0; i < PROM_SCALE_LIMITS; i++)
		prom_printf(b, "mitosis_scaling_limit_reached_total{limit=\"%s\"} %" PRIu64 "\n",
			    policy_limit_name(1U << i), sc->limits[i]);
	prom_family(b, "mitosis_scaling_events_total", "counter",
		    "What the leader's operations came to: clones ready or failed, victims "
		    "retired, dead nodes out of rotation and removed, operations adopted, "
		    "duplicates and leaks.");
	for (int i = 0; i < ACTUATE_EV_COUNT; i++)
		prom_printf(b, "mitosis_scaling_events_total{event=\"%s\"} %" PRIu64 "\n",
			    actuate_event_name((enum actuate_event_kind)i), sc->events[i]);
	if (!sc->decided)
		return;
	prom_one(b, "mitosis_scaling_desired_nodes", "gauge",
		 "The cluster size the last decision keeps.", sc->desired);
	prom_one(b, "mitosis_scaling_capacity_nodes", "gauge",
		 "Droplets serving or booting at the last decision.", sc->capacity);
	prom_one(b, "mitosis_scaling_billed_nodes", "gauge",
		 "Droplets under the cluster tag being billed at the last decision.", sc->billed);
	prom_family(b, "mitosis_scaling_hourly_cost_dollars", "gauge",
		    "Hourly price of every billed droplet at the last decision, in US dollars.");
	prom_printf(b, "mitosis_scaling_hourly_cost_dollars %" PRIu64 ".%06" PRIu64 "\n",
		    sc->cost_uusd / 1000000, sc->cost_uusd % 1000000);
}

char *
prom_render(const struct prom_view *v)
{
	struct prom_buf b = { .cap = 8192 };

	b.s = malloc(b.cap);
	if (b.s == NULL)
		return NULL;
	b.s[0] = '\0';
	prom_build(&b, v);
	prom_members(&b, v);
	prom_datagrams(&b, v);
	prom_swim(&b, &v->st.swim);
	prom_loads(&b, v);
	if (v->api != NULL)
		prom_api(&b, v->api);
	if (v->registrars)
		prom_registrars(&b, v);
	if (v->election != NULL)
		prom_election(&b, v->election);
	if (v->scaling != NULL)
		prom_scaling(&b, v->scaling);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

char *
prom_health(const struct prom_view *v, int *status)
{
	char *s = NULL;

	*status = v->joined ? 200 : 503;
	if (asprintf(&s,
		     "{\"status\":\"%s\",\"members\":%u,\"cluster\":\"%s\",\"node_id\":%" PRIu64
		     "}\n",
		     v->joined ? "ok" : "joining", v->st.by_state[SWIM_ALIVE],
		     v->st.cluster != NULL ? v->st.cluster : "", v->st.node_id) < 0)
		return NULL;
	return s;
}
