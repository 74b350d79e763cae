/*
 * autoscale: the policy's shell (agent/autoscale.h; docs/policy.md, "How the
 * shell drives it").
 *
 * One timer drives everything. The leader's hooks and the gossip's claim
 * hook only record what happened (a listing, a member event, a claim) and
 * kick the timer; each turn of it (autoscale_run) follows the lease, hands
 * the queued results and events to actuate, decides when a policy_interval
 * has passed, runs actuate's waits, and carries out the actions actuate
 * hands out. An action's outcome is always queued (autoscale_push) and
 * handed in on a later turn, so the core is never re-entered from inside
 * its own call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "actuate.h"
#include "autoscale.h"
#include "cfg.h"
#include "cloud.h"
#include "cloud_ops.h"
#include "doapi.h"
#include "election.h"
#include "gossip.h"
#include "histlog.h"
#include "history.h"
#include "hooks.h"
#include "leader.h"
#include "log.h"
#include "meta.h"
#include "policy.h"
#include "prom.h"
#include "xmalloc.h"

#define AUTOSCALE_TICK_MS 250 /* the pace of actions, results and waits */
#define AUTOSCALE_CLAIM_SLOTS                                                                      \
	512 /* DRAIN, and PROTECT, claims kept (swim holds 4096 of all kinds) */
#define AUTOSCALE_CLAIM_LEN   10    /* DRAIN: format 1, term (8, LE), flags */
#define AUTOSCALE_SKEW_MS     30000 /* a claim's version (unix ms) at most this ahead */
#define AUTOSCALE_SEEDS	      8	    /* members a clone's user-data names */
#define AUTOSCALE_PRICE_RETRY 30000 /* a failed /v2/sizes is asked again after this */
#define AUTOSCALE_LEARN_MS    1000  /* a clone's addresses asked again after this (they lag) */

#define AUTOSCALE_DRAINING (1U << 0)
#define AUTOSCALE_LEAVE	   (1U << 1)

/* One action's outcome, waiting for the next turn. */
struct autoscale_result {
	struct actuate_result r;
	struct policy_node *found; /* owned */
	char error[160];
};

struct autoscale_price {
	char slug[64];
	uint64_t uusd; /* hourly */
};

struct autoscale_ev {
	uint64_t id;
	enum swim_state st;
};

struct autoscale {
	uv_loop_t *loop;
	uv_timer_t timer;
	const struct cfg *cfg;
	const struct meta_identity *self;
	struct cloud *cloud;
	struct leader *leader;
	struct election *el;
	struct gossip *gossip;
	struct histlog *histlog;
	struct hooks *hooks;
	void (*leave)(void *arg);
	void *arg;
	struct policy_config pc;
	struct actuate_config ac;
	struct policy *pol;
	struct actuate *act;
	bool enabled;  /* cloud, clone_image and clone_size: the policy runs */
	uint64_t term; /* the term the cores were given; 0 = not leading */
	uint64_t next_decide;
	/* The last inventory listing, copied from the leader's hook. */
	struct doapi_droplet *inv;
	size_t ninv;
	bool inv_new;
	struct policy_node *nodes; /* the table, rebuilt each round */
	size_t capnodes;
	/* Prices from GET /v2/sizes, asked once per process. */
	struct autoscale_price *prices;
	size_t nprices;
	bool prices_busy;
	uint64_t prices_at; /* when they were last asked; 0 = never */
	/* Queues for the next turn. */
	struct autoscale_result *res;
	size_t nres, capres;
	struct autoscale_ev *evq;
	size_t nev, capev;
	uint64_t claim_version; /* the last DRAIN version published */
	bool leave_asked, leave_done;
	char last_hold[POLICY_TEXT_MAX];
	struct prom_scaling metrics; /* decisions, limits and outcomes counted here */
	uint64_t learning;	     /* the clone a GET asks the addresses of (0: none) */
	uint64_t learnt, learnt_at;  /* the last one asked, and when */
	unsigned pending;	     /* calls in flight */
	bool closing, timer_closed;
};

/* One call in flight for an action. */
struct autoscale_call {
	struct autoscale *a;
	struct actuate_action act;
};

static void autoscale_kick(struct autoscale *a);

static uint64_t
autoscale_unix_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* ---- results: queued, handed in on the next turn ---- */

static void
autoscale_push(struct autoscale *a, uint64_t req, enum actuate_status st, uint64_t droplet,
	       const struct policy_node *found, size_t nfound, const char *error)
{
	struct autoscale_result *r;

	if (a->nres == a->capres) {
		a->capres = a->capres ? a->capres * 2 : 16;
		a->res = xrealloc(a->res, a->capres * sizeof(*a->res));
	}
	r = &a->res[a->nres++];
	memset(r, 0, sizeof(*r));
	r->r.req = req;
	r->r.status = st;
	r->r.droplet = droplet;
	if (nfound > 0) {
		r->found = xcalloc(nfound, sizeof(*found));
		memcpy(r->found, found, nfound * sizeof(*found));
		r->r.nfound = nfound;
	}
	if (error != NULL) {
		snprintf(r->error, sizeof(r->error), "%s", error);
		r->r.error = r->error;
	}
	autoscale_kick(a);
}

/* Hands every queued result to actuate (each may queue actions). */
static void
autoscale_hand_results(struct autoscale *a, uint64_t now)
{
	size_t n = a->nres;
	struct autoscale_result *res = a->res;

	a->res = NULL;
	a->nres = a->capres = 0;
	for (size_t i = 0; i < n; i++) {
		res[i].r.found = res[i].found;
		res[i].r.error = res[i].error[0] != '\0' ? res[i].error : NULL;
		(void)actuate_on_result(a->act, &res[i].r, now);
		free(res[i].found);
	}
	free(res);
}

/* True when the module is closing; frees it once nothing is left in flight. */
static bool
autoscale_maybe_free(struct autoscale *a)
{
	if (!a->closing)
		return false;
	if (a->pending == 0 && a->timer_closed) {
		policy_free(a->pol);
		actuate_free(a->act);
		free(a->inv);
		free(a->nodes);
		free(a->prices);
		free(a->res);
		free(a->evq);
		free(a);
	}
	return true;
}

/* Ends a call; true when the module is closing (the caller returns). */
static bool
autoscale_call_end(struct autoscale_call *c)
{
	struct autoscale *a = c->a;

	free(c);
	a->pending--;
	return autoscale_maybe_free(a);
}

static struct autoscale_call *
autoscale_call_new(struct autoscale *a, const struct actuate_action *act)
{
	struct autoscale_call *c = xcalloc(1, sizeof(*c));

	c->a = a;
	c->act = *act;
	a->pending++;
	return c;
}

/* ---- prices: GET /v2/sizes once, cached ---- */

static uint64_t
autoscale_price(const struct autoscale *a, const char *slug)
{
	for (size_t i = 0; slug != NULL && i < a->nprices; i++)
		if (strcmp(a->prices[i].slug, slug) == 0)
			return a->prices[i].uusd;
	return 0;
}

static void
autoscale_on_sizes(int err, const char *error, cJSON *items, void *arg)
{
	struct autoscale_call *c = arg;
	struct autoscale *a = c->a;
	const cJSON *it;

	if (autoscale_call_end(c))
		return;
	a->prices_busy = false;
	if (err != 0) {
		log_warnx("policy: cannot read the droplet prices (GET /v2/sizes): %s; again in "
			  "%d s",
			  error != NULL ? error : strerror(-err), AUTOSCALE_PRICE_RETRY / 1000);
		return;
	}
	free(a->prices);
	a->prices = xcalloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*a->prices));
	a->nprices = 0;
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *slug = cJSON_GetObjectItemCaseSensitive(it, "slug");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "price_hourly");

		if (!cJSON_IsString(slug) || !cJSON_IsNumber(p) || p->valuedouble < 0 ||
		    p->valuedouble > 1e6)
			continue;
		snprintf(a->prices[a->nprices].slug, sizeof(a->prices[0].slug), "%s",
			 slug->valuestring);
		a->prices[a->nprices++].uusd = (uint64_t)(p->valuedouble * 1e6 + 0.5);
	}
	log_info("policy: %zu droplet prices read; a clone (%s) costs $%.6f an hour", a->nprices,
		 a->cfg->clone_size, (double)autoscale_price(a, a->cfg->clone_size) / 1e6);
	autoscale_kick(a);
}

static void
autoscale_ask_prices(struct autoscale *a, uint64_t now)
{
	static const struct actuate_action none;
	struct autoscale_call *c;

	if (a->nprices > 0 || a->prices_busy ||
	    (a->prices_at != 0 && now - a->prices_at < AUTOSCALE_PRICE_RETRY))
		return;
	a->prices_busy = true;
	a->prices_at = now;
	c = autoscale_call_new(a, &none);
	if (cloud_list(a->cloud, "/v2/sizes", "sizes", autoscale_on_sizes, c) != 0)
		autoscale_on_sizes(-EIO, "cannot start the request", NULL, c);
}

/* ---- claims: DRAIN (the leader's word on a victim), PROTECT (a node's own) ---- */

static int
autoscale_publish_drain(struct autoscale *a, uint64_t id, unsigned flags)
{
	struct swim_claim c;
	uint64_t v = autoscale_unix_ms();

	memset(&c, 0, sizeof(c));
	a->claim_version = v > a->claim_version ? v : a->claim_version + 1;
	c.kind = GOSSIP_CLAIM_DRAIN;
	c.subject = id;
	c.version = a->claim_version;
	c.len = AUTOSCALE_CLAIM_LEN;
	c.data[0] = 1;
	for (int i = 0; i < 8; i++)
		c.data[1 + i] = (uint8_t)(a->term >> (8 * i));
	c.data[9] = (uint8_t)flags;
	return gossip_claim_publish(a->gossip, &c);
}

/* The DRAIN flags the gossip holds for node id (0 when none). */
static unsigned
autoscale_drain_flags(const struct autoscale *a, uint64_t id)
{
	const struct swim_claim *c =
		swim_claim_find(gossip_swim(a->gossip), GOSSIP_CLAIM_DRAIN, id);

	return c != NULL && c->len == AUTOSCALE_CLAIM_LEN ? c->data[9] : 0;
}

bool
autoscale_draining(const struct autoscale *a, uint64_t id)
{
	return a != NULL && (autoscale_drain_flags(a, id) & AUTOSCALE_DRAINING) != 0;
}

static bool
autoscale_protected(const struct autoscale *a, uint64_t id)
{
	const struct swim_claim *c;

	if (id == a->self->droplet_id)
		return a->cfg->protect;
	c = swim_claim_find(gossip_swim(a->gossip), GOSSIP_CLAIM_PROTECT, id);
	return c != NULL && c->len == 2 && c->data[1] == 1;
}

/* A DRAIN claim counts only from the leader this node knows, in its term:
 * anyone else holding a node key could otherwise have any node retired. */
static int
autoscale_check_drain(struct autoscale *a, const struct swim_claim *c)
{
	uint64_t term = 0, known = 0, leader;

	if (c->len != AUTOSCALE_CLAIM_LEN || c->data[0] != 1 ||
	    c->version > autoscale_unix_ms() + AUTOSCALE_SKEW_MS)
		return -EINVAL;
	for (int i = 0; i < 8; i++)
		term |= (uint64_t)c->data[1 + i] << (8 * i);
	leader = election_leader(a->el, &known);
	if (leader == 0 || c->origin != leader || term != known)
		return -EINVAL;
	if (c->subject == a->self->droplet_id && (c->data[9] & AUTOSCALE_LEAVE) &&
	    !a->leave_asked) {
		a->leave_asked = true;
		autoscale_kick(a);
	}
	return 0;
}

int
autoscale_on_claim(struct autoscale *a, const struct swim_claim *c)
{
	if (c->kind == GOSSIP_CLAIM_DRAIN)
		return autoscale_check_drain(a, c);
	/* PROTECT: a node speaks for itself only. */
	if (c->kind != GOSSIP_CLAIM_PROTECT || c->subject != c->origin || c->len != 2 ||
	    c->data[0] != 1 || c->data[1] > 1 ||
	    c->version > autoscale_unix_ms() + AUTOSCALE_SKEW_MS)
		return -EINVAL;
	return 0;
}

static int
autoscale_claims_open(struct autoscale *a)
{
	struct swim_claim c;
	int r;

	r = gossip_claim_register(a->gossip, GOSSIP_CLAIM_DRAIN, AUTOSCALE_CLAIM_SLOTS, true);
	if (r == 0)
		r = gossip_claim_register(a->gossip, GOSSIP_CLAIM_PROTECT, AUTOSCALE_CLAIM_SLOTS,
					  true);
	if (r != 0 || !a->cfg->protect)
		return r;
	memset(&c, 0, sizeof(c));
	c.kind = GOSSIP_CLAIM_PROTECT;
	c.subject = a->self->droplet_id;
	c.version = autoscale_unix_ms();
	c.len = 2;
	c.data[0] = 1;
	c.data[1] = 1;
	return gossip_claim_publish(a->gossip, &c);
}

/* ---- carrying out actions ---- */

/* What an API answer means for actuate: 2xx done; 404 gone (a DELETE's
 * success); 429, 5xx and no answer may have happened; any other 4xx never
 * will. */
static enum actuate_status
autoscale_status_of(const struct cloud_resp *r, bool is_delete)
{
	if (r->err != 0)
		return ACTUATE_UNKNOWN;
	if (r->status >= 200 && r->status < 300)
		return ACTUATE_OK;
	if (r->status == 404)
		return is_delete ? ACTUATE_OK : ACTUATE_NOT_FOUND;
	if (r->status == 429 || r->status >= 500 || r->status == 0)
		return ACTUATE_UNKNOWN;
	return ACTUATE_FAILED;
}

static const char *
autoscale_resp_error(const struct cloud_resp *r)
{
	if (r->error[0] != '\0')
		return r->error;
	return r->err != 0 ? strerror(-r->err) : NULL;
}

/* A droplet of an answer as a policy node (with its member, if any). */
static void
autoscale_node_of(const struct autoscale *a, const struct doapi_droplet *d, struct policy_node *n)
{
	const struct swim_member *m = d->id == a->self->droplet_id
					      ? swim_self(gossip_swim(a->gossip))
					      : swim_find(gossip_swim(a->gossip), d->id);

	(void)policy_node_from_droplet(n, d, a->cfg->cluster_tag, autoscale_price(a, d->size_slug));
	if (m != NULL)
		policy_node_set_member(n, m, m->load.version != 0);
	if (autoscale_drain_flags(a, d->id) & AUTOSCALE_DRAINING)
		n->flags |= POLICY_NODE_DRAINING;
	if (autoscale_protected(a, d->id))
		n->flags |= POLICY_NODE_PROTECT_CFG;
	if (d->id == a->self->droplet_id)
		n->flags |= POLICY_NODE_LEADER;
}

static void
autoscale_on_create(const struct cloud_resp *resp, void *arg)
{
	struct autoscale_call *c = arg;
	struct autoscale *a = c->a;
	uint64_t req = c->act.req;
	enum actuate_status st = autoscale_status_of(resp, false);
	struct doapi_droplet *d = NULL;
	size_t n = 0;
	char why[160] = "";

	if (autoscale_call_end(c))
		return;
	if (st == ACTUATE_OK &&
	    (doapi_create_reply(resp->json, &d, &n, why, sizeof(why)) != 0 || n != 1)) {
		/* Created, but the answer is unreadable: the listing by op tag finds it. */
		st = ACTUATE_UNKNOWN;
	}
	autoscale_push(a, req, st, st == ACTUATE_OK ? d[0].id : 0, NULL, 0,
		       st == ACTUATE_OK ? NULL
		       : why[0] != '\0' ? why
					: autoscale_resp_error(resp));
	free(d);
}

/* The create's body: the clone's name, the snapshot and size, the tags
 * (cluster tag, op tag, term tag, clone_tags), and user-data naming up to
 * AUTOSCALE_SEEDS alive members as seeds. NULL with why filled. */
static char *
autoscale_create_body(struct autoscale *a, const struct actuate_action *act, char *why,
		      size_t whysize)
{
	const struct cfg *cfg = a->cfg;
	const char *tags[DOAPI_MAX_TAGS], *names[1] = { act->name }, *seeds[AUTOSCALE_SEEDS];
	const struct swim *s = gossip_swim(a->gossip);
	struct doapi_create cr = { .names = names,
				   .nnames = 1,
				   .image = cfg->clone_image,
				   .size = cfg->clone_size,
				   .region = cfg->clone_region != NULL ? cfg->clone_region
								       : a->self->region,
				   .vpc_uuid = cfg->clone_vpc_uuid,
				   .ssh_keys = (const char *const *)cfg->clone_ssh_keys,
				   .nssh_keys = cfg->nclone_ssh_keys,
				   .tags = tags };
	char *body = NULL, *ud = NULL, seedbuf[AUTOSCALE_SEEDS][INET_ADDRSTRLEN];
	size_t ns = 0;

	tags[cr.ntags++] = cfg->cluster_tag;
	tags[cr.ntags++] = act->op_tag;
	tags[cr.ntags++] = act->term_tag;
	for (size_t i = 0; i < cfg->nclone_tags && cr.ntags < DOAPI_MAX_TAGS; i++)
		tags[cr.ntags++] = cfg->clone_tags[i];
	for (size_t i = 0; i < swim_count(s) && ns < AUTOSCALE_SEEDS; i++) {
		const struct swim_member *m = swim_member_at(s, i);

		if (m->state == SWIM_ALIVE && m->addr.family == 4 &&
		    inet_ntop(AF_INET, m->addr.ip, seedbuf[ns], sizeof(seedbuf[ns])) != NULL) {
			seeds[ns] = seedbuf[ns];
			ns++;
		}
	}
	if (doapi_clone_user_data(cfg->cluster, seeds, ns, &ud) != 0) {
		snprintf(why, whysize, "cannot build the clone's user-data");
		return NULL;
	}
	cr.user_data = ud;
	if (doapi_create_body(&cr, &body, why, whysize) != 0)
		body = NULL;
	free(ud);
	return body;
}

static void
autoscale_create(struct autoscale *a, const struct actuate_action *act)
{
	struct autoscale_call *c;
	char why[160];
	char *body = autoscale_create_body(a, act, why, sizeof(why));

	if (body == NULL) {
		autoscale_push(a, act->req, ACTUATE_FAILED, 0, NULL, 0, why);
		return;
	}
	log_info("policy: creating %s (%s, term %" PRIu64 ")", act->name, act->op_tag, act->term);
	c = autoscale_call_new(a, act);
	if (cloud_call(a->cloud, "POST", "/v2/droplets", body, 0, autoscale_on_create, c) != 0) {
		(void)autoscale_call_end(c);
		autoscale_push(a, act->req, ACTUATE_UNKNOWN, 0, NULL, 0, "cannot start the call");
	}
	free(body);
}

static void
autoscale_on_list_op(int err, const char *error, const struct doapi_droplet *d, size_t n, void *arg)
{
	struct autoscale_call *c = arg;
	struct autoscale *a = c->a;
	uint64_t req = c->act.req;
	struct policy_node *found;

	if (autoscale_call_end(c))
		return;
	if (err != 0) {
		autoscale_push(a, req, ACTUATE_UNKNOWN, 0, NULL, 0, error);
		return;
	}
	found = xcalloc(n + 1, sizeof(*found));
	for (size_t i = 0; i < n; i++)
		autoscale_node_of(a, &d[i], &found[i]);
	autoscale_push(a, req, ACTUATE_OK, 0, found, n, NULL);
	free(found);
}

static void
autoscale_on_get(const struct cloud_resp *resp, void *arg)
{
	struct autoscale_call *c = arg;
	struct autoscale *a = c->a;
	uint64_t req = c->act.req;
	enum actuate_status st = autoscale_status_of(resp, false);
	struct doapi_droplet d;
	struct policy_node n;
	char why[160];

	if (autoscale_call_end(c))
		return;
	if (st == ACTUATE_OK &&
	    !doapi_droplet_parse(cJSON_GetObjectItemCaseSensitive(resp->json, "droplet"), &d, why,
				 sizeof(why))) {
		autoscale_push(a, req, ACTUATE_UNKNOWN, 0, NULL, 0, why);
		return;
	}
	if (st == ACTUATE_OK)
		autoscale_node_of(a, &d, &n);
	autoscale_push(a, req, st, 0, st == ACTUATE_OK ? &n : NULL, st == ACTUATE_OK,
		       st == ACTUATE_OK ? NULL : autoscale_resp_error(resp));
}

/* DELETE and POWER_CYCLE: the status is the whole answer. */
static void
autoscale_on_done(const struct cloud_resp *resp, void *arg)
{
	struct autoscale_call *c = arg;
	struct autoscale *a = c->a;
	uint64_t req = c->act.req;
	enum actuate_status st = autoscale_status_of(resp, c->act.verb == ACTUATE_DELETE);

	if (autoscale_call_end(c))
		return;
	autoscale_push(a, req, st, 0, NULL, 0,
		       st == ACTUATE_OK ? NULL : autoscale_resp_error(resp));
}

static void
autoscale_api(struct autoscale *a, const struct actuate_action *act)
{
	struct autoscale_call *c = autoscale_call_new(a, act);
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/v2/droplets/%" PRIu64 "%s", act->droplet,
		 act->verb == ACTUATE_POWER_CYCLE ? "/actions" : "");
	switch (act->verb) {
	case ACTUATE_LIST_OP:
		r = cloud_list_tag_start(a->cloud, act->op_tag, autoscale_on_list_op, c);
		break;
	case ACTUATE_GET:
		r = cloud_call(a->cloud, "GET", path, NULL, 0, autoscale_on_get, c);
		break;
	case ACTUATE_DELETE:
		log_info("policy: deleting droplet %" PRIu64 " (%s)", act->droplet, act->op_tag);
		r = cloud_call(a->cloud, "DELETE", path, NULL, 0, autoscale_on_done, c);
		break;
	default: /* ACTUATE_POWER_CYCLE */
		log_info("policy: power-cycling droplet %" PRIu64 " (silent member)", act->droplet);
		r = cloud_call(a->cloud, "POST", path, "{\"type\":\"power_cycle\"}", 0,
			       autoscale_on_done, c);
		break;
	}
	if (r != 0) {
		(void)autoscale_call_end(c);
		autoscale_push(a, act->req, ACTUATE_UNKNOWN, 0, NULL, 0, "cannot start the call");
	}
}

static void
autoscale_on_rotated(int err, const char *why, void *arg)
{
	struct autoscale_call *c = arg;
	struct autoscale *a = c->a;
	uint64_t req = c->act.req;

	if (autoscale_call_end(c))
		return;
	autoscale_push(a, req, err == 0 ? ACTUATE_OK : ACTUATE_UNKNOWN, 0, NULL, 0,
		       err == 0	     ? NULL
		       : why != NULL ? why
				     : strerror(-err));
}

static void
autoscale_on_learn(const struct cloud_resp *resp, void *arg)
{
	struct autoscale_call *c = arg;
	struct autoscale *a = c->a;
	struct doapi_droplet d;
	char why[160];
	bool ok = resp->err == 0 && resp->status == 200 &&
		  doapi_droplet_parse(cJSON_GetObjectItemCaseSensitive(resp->json, "droplet"), &d,
				      why, sizeof(why));

	if (autoscale_call_end(c))
		return;
	a->learning = 0;
	if (ok && a->leader != NULL)
		leader_learn(a->leader, &d);
}

/* A clone joined before a listing showed it: the leader has no addresses to
 * register it with. One GET for them (a listing may be 15 s away), at most
 * one at a time and one a second per clone; the register is asked again soon
 * (NOT_YET). */
static void
autoscale_learn(struct autoscale *a, const struct actuate_action *act)
{
	uint64_t now = uv_now(a->loop);
	struct autoscale_call *c;
	char path[64];

	if (a->cloud == NULL || a->learning != 0 ||
	    (act->droplet == a->learnt && now - a->learnt_at < AUTOSCALE_LEARN_MS))
		return;
	snprintf(path, sizeof(path), "/v2/droplets/%" PRIu64, act->droplet);
	c = autoscale_call_new(a, act);
	if (cloud_call(a->cloud, "GET", path, NULL, 0, autoscale_on_learn, c) != 0) {
		(void)autoscale_call_end(c);
		return;
	}
	a->learning = a->learnt = act->droplet;
	a->learnt_at = now;
}

static void
autoscale_rotate(struct autoscale *a, const struct actuate_action *act)
{
	bool in = act->verb == ACTUATE_REGISTER;
	struct autoscale_call *c = autoscale_call_new(a, act);
	int r = leader_rotate(a->leader, act->droplet, in, autoscale_on_rotated, c);

	if (r == 0)
		return;
	(void)autoscale_call_end(c);
	if (r == -EAGAIN && in)
		autoscale_learn(a, act);
	autoscale_push(a, act->req,
		       r == 1			     ? ACTUATE_OK
		       : r == -EAGAIN || r == -EBUSY ? ACTUATE_NOT_YET
						     : ACTUATE_UNKNOWN,
		       0, NULL, 0, r == 1 ? NULL : strerror(-r));
}

static void
autoscale_on_hook(int status, uint64_t more_ms, void *arg)
{
	struct autoscale_call *c = arg;
	struct autoscale *a = c->a;
	uint64_t req = c->act.req;

	if (autoscale_call_end(c))
		return;
	autoscale_push(a, req,
		       status == 0   ? ACTUATE_OK
		       : status == 1 ? ACTUATE_MORE_TIME
				     : ACTUATE_FAILED,
		       0, NULL, 0, status < 0 ? "the lifecycle hook failed" : NULL);
	if (status == 1)
		a->res[a->nres - 1].r.more_ms = more_ms;
}

/* MARK_DRAINING, ASK_LEAVE and HOOK: the gossip and the hooks. */
static void
autoscale_victim(struct autoscale *a, const struct actuate_action *act)
{
	struct autoscale_call *c;
	int r;

	if (act->verb == ACTUATE_HOOK) {
		if (a->hooks == NULL) {
			autoscale_push(a, act->req, ACTUATE_OK, 0, NULL, 0, NULL);
			return;
		}
		c = autoscale_call_new(a, act);
		if ((r = hooks_lifecycle(a->hooks, act->droplet, autoscale_on_hook, c)) != 0) {
			(void)autoscale_call_end(c);
			autoscale_push(a, act->req, ACTUATE_FAILED, 0, NULL, 0, strerror(-r));
		}
		return;
	}
	r = autoscale_publish_drain(a, act->droplet,
				    AUTOSCALE_DRAINING |
					    (act->verb == ACTUATE_ASK_LEAVE ? AUTOSCALE_LEAVE : 0));
	if (r == 0)
		log_info("policy: node %" PRIu64 " %s", act->droplet,
			 act->verb == ACTUATE_ASK_LEAVE ? "asked to leave the gossip"
							: "marked draining");
	autoscale_push(a, act->req, r == 0 ? ACTUATE_OK : ACTUATE_FAILED, 0, NULL, 0,
		       r == 0 ? NULL : strerror(-r));
}

static void
autoscale_exec(struct autoscale *a, const struct actuate_action *act)
{
	log_trace(TRACE_CLOUD, "policy: action %s droplet %" PRIu64 " %s term %" PRIu64,
		  actuate_verb_name(act->verb), act->droplet, act->op_tag, act->term);
	if (act->mutating && a->pc.dry_run) {
		/* actuate never hands one out in a dry run; this is the last guard. */
		log_error("policy: dry run, yet a %s was asked: not sent",
			  actuate_verb_name(act->verb));
		autoscale_push(a, act->req, ACTUATE_FAILED, 0, NULL, 0, "dry run");
		return;
	}
	switch (act->verb) {
	case ACTUATE_CREATE:
		autoscale_create(a, act);
		break;
	case ACTUATE_LIST_OP:
	case ACTUATE_GET:
	case ACTUATE_DELETE:
	case ACTUATE_POWER_CYCLE:
		autoscale_api(a, act);
		break;
	case ACTUATE_REGISTER:
	case ACTUATE_DEREGISTER:
		autoscale_rotate(a, act);
		break;
	default:
		autoscale_victim(a, act);
		break;
	}
}

/* ---- history and hooks (agent/histlog.c, agent/hooks.c; either may be absent) ---- */

static void
autoscale_record(struct autoscale *a, const struct policy_decision *d,
		 const struct actuate_event *ev)
{
	struct history_record r;

	if (a->histlog == NULL)
		return;
	/* One numbering per term, the history log's: records of this term are
	 * ordered whoever appends them. */
	if (d != NULL)
		history_from_decision(&r, d, a->term, histlog_next_seq(a->histlog, a->term),
				      autoscale_unix_ms());
	else
		history_from_event(&r, ev, histlog_next_seq(a->histlog, a->term),
				   autoscale_unix_ms());
	histlog_append(a->histlog, &r);
}

static void
autoscale_fire(struct autoscale *a, const char *event, uint64_t id, const char *detail)
{
	if (a->hooks != NULL)
		hooks_fire(a->hooks, event, id, detail);
}

/* The event hook an operation's outcome fires, or NULL. */
static const char *
autoscale_event_hook(enum actuate_event_kind k)
{
	switch (k) {
	case ACTUATE_EV_CLONE_READY:
		return "scale_out";
	case ACTUATE_EV_RETIRED:
		return "scale_in";
	case ACTUATE_EV_NODE_DEAD:
		return "node_dead";
	case ACTUATE_EV_NODE_REMOVED:
		return "node_replaced";
	default:
		return NULL;
	}
}

static void
autoscale_drain_events(struct autoscale *a)
{
	struct actuate_event ev;

	while (actuate_next_event(a->act, &ev)) {
		const char *hook = autoscale_event_hook(ev.kind);

		if ((unsigned)ev.kind < ACTUATE_EV_COUNT)
			a->metrics.events[ev.kind]++;

		if (ev.kind == ACTUATE_EV_LEAK || ev.kind == ACTUATE_EV_RETIRE_FAILED ||
		    ev.kind == ACTUATE_EV_CLONE_FAILED)
			log_warnx("policy: %s", ev.text);
		else
			log_info("policy: %s", ev.text);
		/* A victim that stays must not keep gossiping draining: a later
		 * leader would finish the scale-in it took as half done. */
		if (ev.kind == ACTUATE_EV_RETIRE_FAILED && ev.droplet != 0)
			(void)autoscale_publish_drain(a, ev.droplet, 0);
		autoscale_record(a, NULL, &ev);
		if (hook != NULL)
			autoscale_fire(a, hook, ev.droplet, ev.text);
	}
}

/* ---- one round ---- */

/* The metrics of one decision: its action, the limits it hit, its sizes. */
static void
autoscale_count(struct prom_scaling *m, const struct policy_decision *d)
{
	if (d->action != POLICY_HOLD && (unsigned)d->action <= PROM_SCALE_ACTIONS)
		m->decisions[d->action - 1]++;
	for (int i = 0; i < PROM_SCALE_LIMITS; i++)
		if (d->limit_events & (1U << i))
			m->limits[i]++;
	m->decided = true;
	m->desired = d->desired;
	m->capacity = d->capacity;
	m->billed = d->total;
	m->cost_uusd = d->cost_uusd;
}

/*
 * A retirement must never take a majority of the voters with it: actuate
 * waits at the end of a voter's drain until the election removed it, and the
 * election removes a draining voter only while that keeps a live majority
 * (docs/dst.md, "The cloud"). Both are told each leading turn: the voter set
 * (committed and newest) and which members this leader drains. Cheap: at most
 * 2 x ELECT_VOTERS_MAX ids, and the election's calls are idempotent.
 */
static void
autoscale_follow_voters(struct autoscale *a)
{
	struct elect_report r;
	uint64_t ids[2 * ELECT_VOTERS_MAX];
	size_t n = 0;

	election_report(a->el, &r);
	for (uint32_t i = 0; i < r.st.voters.n; i++)
		ids[n++] = r.st.voters.v[i].id;
	for (uint32_t i = 0; i < r.st.latest.n; i++)
		ids[n++] = r.st.latest.v[i].id;
	actuate_set_voters(a->act, ids, n);
	for (size_t i = 0; i < n; i++)
		(void)election_member_draining(a->el, ids[i], autoscale_draining(a, ids[i]));
}

/* Follows the election: actuate gets the term and lease each turn (the lease
 * is renewed every heartbeat), a new term forgets the windows. */
static void
autoscale_follow_lease(struct autoscale *a, uint64_t now)
{
	uint64_t term = 0, left = 0;

	if (!election_leading(a->el, &term, &left) || !leader_may_act(a->leader, NULL, NULL)) {
		if (a->term != 0)
			actuate_set_lease(a->act, 0, 0, now);
		a->term = 0;
		return;
	}
	if (term != a->term) {
		policy_reset(a->pol);
		a->next_decide = now;
		a->last_hold[0] = '\0';
		/* leader_changed is fired by the agent, once a term, policy or not. */
		log_info("policy: leading in term %" PRIu64 "%s: windows start again", term,
			 a->pc.dry_run ? " (dry run: no mutating call)" : "");
	}
	a->term = term;
	actuate_set_lease(a->act, term, now + left, now);
	autoscale_follow_voters(a);
	autoscale_ask_prices(a, now);
}

/* The node table: the last listing joined with the member table. */
static size_t
autoscale_nodes(struct autoscale *a)
{
	if (a->ninv + 1 > a->capnodes) {
		a->capnodes = a->ninv + 16;
		a->nodes = xrealloc(a->nodes, a->capnodes * sizeof(*a->nodes));
	}
	for (size_t i = 0; i < a->ninv; i++)
		autoscale_node_of(a, &a->inv[i], &a->nodes[i]);
	return a->ninv;
}

/* One decision: logged when it acts or a limit is reached (a hold, when
 * its reason changes, at debug level), recorded, and carried out. */
static void
autoscale_decide(struct autoscale *a, uint64_t now)
{
	size_t n = autoscale_nodes(a);
	struct policy_input in = { .nodes = a->nodes,
				   .n = n,
				   .now_ms = now,
				   .unix_s = (uint64_t)time(NULL),
				   .clone_price_uusd = autoscale_price(a, a->cfg->clone_size) };
	struct policy_decision d;
	int r;

	a->next_decide = now + a->pc.interval_ms;
	actuate_fill_input(a->act, a->nodes, n, &in);
	if (policy_decide(a->pol, &in, &d) != 0 && d.action != POLICY_HOLD)
		return;
	autoscale_count(&a->metrics, &d);
	if (d.action != POLICY_HOLD || d.limit_events != 0) {
		log_info("policy: %s", d.text);
		autoscale_record(a, &d, NULL);
		a->last_hold[0] = '\0';
	} else if (strncmp(a->last_hold, d.text, 12) != 0) {
		log_debug("policy: %s", d.text);
		snprintf(a->last_hold, sizeof(a->last_hold), "%s", d.text);
	}
	for (unsigned bit = 1; bit != 0 && bit <= d.limit_events; bit <<= 1) {
		if (!(d.limit_events & bit))
			continue;
		log_info("policy: limit_reached: %s", policy_limit_name(bit));
		autoscale_fire(a, "limit_reached", a->self->droplet_id, d.text);
	}
	if (d.action == POLICY_SCALE_OUT || d.action == POLICY_SCALE_IN) {
		if ((r = actuate_apply(a->act, &d, in.unix_s, now)) != 0)
			log_warnx("policy: cannot carry out \"%s\": %s", d.text, strerror(-r));
	} else if (d.action == POLICY_TRANSFER && !d.dry_run) {
		r = election_transfer(a->el, 0);
		log_info("policy: this node must go: %s",
			 r == 0 ? "leadership handed over" : "no voter to hand over to yet");
	}
}

static void autoscale_on_timer(uv_timer_t *t);

/* Runs what is due now, in the order of docs/policy.md. */
static void
autoscale_run(struct autoscale *a)
{
	uint64_t now = uv_now(a->loop), next, tick;
	struct actuate_action act;
	size_t nev = a->nev;

	autoscale_follow_lease(a, now);
	autoscale_hand_results(a, now);
	a->nev = 0;
	for (size_t i = 0; i < nev; i++)
		actuate_on_member(a->act, a->evq[i].id, a->evq[i].st, now);
	if (a->inv_new && a->term != 0) {
		size_t n = autoscale_nodes(a); /* may move a->nodes */

		a->inv_new = false;
		(void)actuate_on_nodes(a->act, a->nodes, n, now);
	}
	if (a->term != 0 && actuate_ready(a->act, now) && now >= a->next_decide)
		autoscale_decide(a, now);
	next = actuate_tick(a->act, now);
	while (actuate_next_action(a->act, now, &act))
		autoscale_exec(a, &act);
	autoscale_drain_events(a);
	tick = a->term != 0 ? AUTOSCALE_TICK_MS : 1000;
	if (next > now && next - now < tick)
		tick = next - now;
	uv_timer_start(&a->timer, autoscale_on_timer, tick, 0);
}

static void
autoscale_on_timer(uv_timer_t *t)
{
	struct autoscale *a = t->data;

	if (a->closing)
		return;
	if (a->leave_asked && !a->leave_done && a->leave != NULL) {
		a->leave_done = true;
		log_info("policy: the leader retires this node: leaving the gossip");
		a->leave(a->arg);
		return;
	}
	if (a->enabled)
		autoscale_run(a);
	else
		uv_timer_start(&a->timer, autoscale_on_timer, 1000, 0);
}

static void
autoscale_kick(struct autoscale *a)
{
	if (!a->closing)
		uv_timer_start(&a->timer, autoscale_on_timer, 0, 0);
}

/* ---- the leader's hooks ---- */

static void
autoscale_hook_office(void *arg, uint64_t term, uint64_t lease_until)
{
	(void)term;
	(void)lease_until; /* read again each turn, on our clock */
	autoscale_kick(arg);
}

static void
autoscale_hook_resign(void *arg, uint64_t term)
{
	struct autoscale *a = arg;

	(void)term;
	if (a->term != 0)
		actuate_set_lease(a->act, 0, 0, uv_now(a->loop));
	a->term = 0;
	autoscale_kick(a);
}

static void
autoscale_hook_inventory(void *arg, uint64_t term, const struct doapi_droplet *d, size_t n,
			 bool first)
{
	struct autoscale *a = arg;

	(void)term;
	(void)first; /* actuate knows its term's first listing itself */
	free(a->inv);
	a->inv = xcalloc(n + 1, sizeof(*d));
	if (n > 0)
		memcpy(a->inv, d, n * sizeof(*d));
	a->ninv = n;
	a->inv_new = true;
	autoscale_kick(a);
}

static void
autoscale_hook_member(void *arg, uint64_t id, enum swim_state st)
{
	struct autoscale *a = arg;

	if (a->nev == a->capev) {
		a->capev = a->capev ? a->capev * 2 : 16;
		a->evq = xrealloc(a->evq, a->capev * sizeof(*a->evq));
	}
	a->evq[a->nev++] = (struct autoscale_ev){ id, st };
	autoscale_kick(a);
}

static bool
autoscale_hook_out(void *arg, uint64_t id)
{
	struct autoscale *a = arg;

	return a->term != 0 && actuate_out_of_rotation(a->act, id);
}

/* ---- start and stop ---- */

static uint32_t
autoscale_random(void *arg)
{
	(void)arg;
	return randombytes_random();
}

int
autoscale_open(uv_loop_t *loop, const struct autoscale_opts *o, struct autoscale **out)
{
	struct autoscale *a = xcalloc(1, sizeof(*a));
	struct leader_hooks h = { autoscale_hook_office,    autoscale_hook_resign,
				  autoscale_hook_inventory, autoscale_hook_member,
				  autoscale_hook_out,	    a };
	char why[256];
	int r;

	a->loop = loop;
	a->cfg = o->cfg;
	a->self = o->self;
	a->cloud = o->cloud;
	a->leader = o->leader;
	a->el = o->election;
	a->gossip = o->gossip;
	a->histlog = o->histlog;
	a->hooks = o->hooks;
	a->leave = o->leave;
	a->arg = o->arg;
	if ((r = cfg_policy(o->cfg, &a->pc, &a->ac, why, sizeof(why))) != 0) {
		log_error("policy: %s", why);
		free(a);
		return r;
	}
	a->pol = policy_new(&a->pc);
	a->act = actuate_new(&a->ac, autoscale_random, NULL);
	r = a->pol == NULL || a->act == NULL ? -ENOMEM : autoscale_claims_open(a);
	if (r != 0) {
		log_error("policy: cannot start: %s", strerror(-r));
		policy_free(a->pol);
		actuate_free(a->act);
		free(a);
		return r;
	}
	a->enabled = o->cloud != NULL && o->cfg->clone_image != 0 && o->cfg->clone_size != NULL;
	uv_timer_init(loop, &a->timer);
	a->timer.data = a;
	if (a->enabled)
		leader_set_hooks(o->leader, &h);
	log_info("policy: %s", a->enabled
				       ? (a->pc.dry_run ? "on, dry run (decides, never acts)"
							: "on (the leader scales the cluster)")
				       : "off (it needs token_file, clone_image and clone_size)");
	uv_timer_start(&a->timer, autoscale_on_timer, 0, 0);
	*out = a;
	return 0;
}

bool
autoscale_metrics(const struct autoscale *a, struct prom_scaling *out)
{
	if (a == NULL || !a->enabled)
		return false;
	*out = a->metrics;
	out->active = a->term != 0;
	out->dry_run = a->pc.dry_run;
	return true;
}

void
autoscale_set_dry_run(struct autoscale *a, bool on)
{
	struct actuate *fresh;

	if (a == NULL || a->pc.dry_run == on)
		return;
	a->pc.dry_run = on;
	a->ac.dry_run = on;
	(void)policy_set_config(a->pol, &a->pc);
	/* actuate takes dry_run at birth: a new one, which the next listing
	 * reconciles (what the old one ran is adopted by op tag, or dropped
	 * in a dry run). */
	fresh = actuate_new(&a->ac, autoscale_random, NULL);
	if (fresh == NULL)
		return;
	actuate_free(a->act);
	a->act = fresh;
	a->term = 0;
	a->inv_new = a->ninv > 0;
	log_info("policy: dry run %s",
		 on ? "on: decisions are logged, nothing is sent" : "off: the leader acts again");
	autoscale_kick(a);
}

static void
autoscale_on_closed(uv_handle_t *h)
{
	struct autoscale *a = h->data;

	a->timer_closed = true;
	(void)autoscale_maybe_free(a);
}

void
autoscale_close(struct autoscale *a)
{
	if (a == NULL)
		return;
	if (a->enabled)
		leader_set_hooks(a->leader, NULL);
	a->closing = true;
	for (size_t i = 0; i < a->nres; i++)
		free(a->res[i].found);
	a->nres = 0;
	uv_close((uv_handle_t *)&a->timer, autoscale_on_closed);
}

/* ---- `mitosis policy` and `mitosis status` ---- */

/* A duration as the config writes it: "1m30s", "250ms", "0". */
static void
autoscale_dur(uint64_t ms, char *buf, size_t size)
{
	if (ms == 0)
		snprintf(buf, size, "0");
	else if (ms % 1000 != 0)
		snprintf(buf, size, "%" PRIu64 "ms", ms);
	else if (ms % 60000 != 0 || ms < 60000)
		snprintf(buf, size, "%" PRIu64 "s", ms / 1000);
	else
		snprintf(buf, size, "%" PRIu64 "m", ms / 60000);
}

static void
autoscale_put_dur(cJSON *o, const char *key, uint64_t ms)
{
	char buf[32];

	autoscale_dur(ms, buf, sizeof(buf));
	cJSON_AddStringToObject(o, key, buf);
}

static void
autoscale_put_metrics(cJSON *o, const struct policy_config *pc)
{
	static const char *const tkeys[POLICY_METRIC_COUNT] = { "target_cpu", "target_load1",
								"target_memory", "target_custom" };
	static const char *const mkeys[POLICY_METRIC_COUNT] = { NULL, "load1_max", NULL,
								"custom_max" };
	char list[64] = "", v[32];

	for (int m = 0; m < POLICY_METRIC_COUNT; m++)
		if (pc->metrics & POLICY_METRIC_BIT(m))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 list[0] != '\0' ? ", " : "", policy_metric_name(m));
	cJSON_AddStringToObject(o, "policy_metrics", list);
	for (int m = 0; m < POLICY_METRIC_COUNT; m++) {
		if (!(pc->metrics & POLICY_METRIC_BIT(m)))
			continue;
		policy_metric_format(m, pc->target[m], v, sizeof(v));
		cJSON_AddStringToObject(o, tkeys[m], v);
		if (mkeys[m] == NULL)
			continue;
		policy_metric_format(m, policy_config_clamp(pc, m), v, sizeof(v));
		cJSON_AddStringToObject(o, mkeys[m], v);
	}
	snprintf(v, sizeof(v), "%u.%u%%", pc->tolerance_permille / 10, pc->tolerance_permille % 10);
	cJSON_AddStringToObject(o, "policy_tolerance", v);
}

/* The effective policy as the cores hold it, key by key as in the config. */
static cJSON *
autoscale_policy_json(const struct policy_config *pc, const struct actuate_config *ac,
		      const struct cfg *cfg, const char *state)
{
	cJSON *o = cJSON_CreateObject();
	char v[32];

	cJSON_AddStringToObject(o, "state", state);
	autoscale_put_metrics(o, pc);
	autoscale_put_dur(o, "policy_interval", pc->interval_ms);
	autoscale_put_dur(o, "scale_out_window", pc->scale_out_window_ms);
	autoscale_put_dur(o, "scale_in_window", pc->scale_in_window_ms);
	autoscale_put_dur(o, "scale_out_cooldown", pc->scale_out_cooldown_ms);
	autoscale_put_dur(o, "scale_in_cooldown", pc->scale_in_cooldown_ms);
	autoscale_put_dur(o, "warmup", pc->warmup_ms);
	cJSON_AddNumberToObject(o, "min_nodes", pc->min_nodes);
	cJSON_AddNumberToObject(o, "max_nodes", pc->max_nodes);
	cJSON_AddNumberToObject(o, "max_step", pc->max_step);
	snprintf(v, sizeof(v), "%.6f", (double)pc->max_hourly_cost_uusd / 1e6);
	cJSON_AddStringToObject(o, "max_hourly_cost", pc->max_hourly_cost_uusd ? v : "none");
	cJSON_AddBoolToObject(o, "billing_hold", pc->billing_hold);
	cJSON_AddBoolToObject(o, "policy_dry_run", pc->dry_run);
	cJSON_AddBoolToObject(o, "protect", cfg->protect);
	autoscale_put_dur(o, "retire_delay", pc->retire_delay_ms);
	autoscale_put_dur(o, "active_timeout", ac->active_timeout_ms);
	autoscale_put_dur(o, "replace_after", ac->replace_after_ms);
	autoscale_put_dur(o, "powercycle_wait", ac->powercycle_wait_ms);
	autoscale_put_dur(o, "retire_leave_timeout", ac->leave_timeout_ms);
	/* The lifecycle hook is the event hooks' (on_event, else webhook_url). */
	cJSON_AddStringToObject(o, "lifecycle_hook",
				cfg->on_event != NULL	   ? "on_event"
				: cfg->webhook_url != NULL ? "webhook_url"
							   : "none");
	autoscale_put_dur(o, "hook_timeout", ac->hook_timeout_ms);
	autoscale_put_dur(o, "hook_max_wait", ac->hook_max_ms);
	return o;
}

/* The JSON object as "key  value" lines. */
static char *
autoscale_lines(const cJSON *o)
{
	size_t cap = 4096, len = 0;
	char *out = xmalloc(cap);
	const cJSON *it;

	out[0] = '\0';
	cJSON_ArrayForEach(it, o)
	{
		char v[300];
		int w;

		if (cJSON_IsString(it))
			snprintf(v, sizeof(v), "%s", it->valuestring);
		else if (cJSON_IsBool(it))
			snprintf(v, sizeof(v), "%s", cJSON_IsTrue(it) ? "yes" : "no");
		else
			snprintf(v, sizeof(v), "%.0f", it->valuedouble);
		while ((w = snprintf(out + len, cap - len, "%-21s %s\n", it->string, v)) >= 0 &&
		       (size_t)w >= cap - len) {
			cap *= 2;
			out = xrealloc(out, cap);
		}
		len += (size_t)w;
	}
	return out;
}

static const char *
autoscale_state(const struct autoscale *a)
{
	if (a == NULL || !a->enabled)
		return "off: the policy needs token_file, clone_image and clone_size";
	if (a->term == 0)
		return a->pc.dry_run ? "on, dry run; this node does not lead"
				     : "on; this node does not lead";
	return a->pc.dry_run ? "on, dry run; this node leads and decides, never acts"
			     : "on; this node leads and acts";
}

char *
autoscale_policy(const struct autoscale *a, const struct cfg *cfg, bool json)
{
	struct policy_config pc;
	struct actuate_config ac;
	cJSON *o;
	char *text;

	if (a != NULL) {
		pc = a->pc;
		ac = a->ac;
	} else if (cfg_policy(cfg, &pc, &ac, NULL, 0) != 0) {
		policy_config_default(&pc);
		actuate_config_default(&ac);
	}
	o = autoscale_policy_json(&pc, &ac, cfg, autoscale_state(a));
	text = json ? cJSON_PrintUnformatted(o) : autoscale_lines(o);
	cJSON_Delete(o);
	return text;
}

char *
autoscale_status_text(const struct autoscale *a)
{
	size_t size = 4096, len;
	char *out = xmalloc(size);

	if (a == NULL || a->term == 0) {
		snprintf(out, size, "policy: %s\n", autoscale_state(a));
		return out;
	}
	len = (size_t)policy_format_status(policy_last(a->pol), out, size);
	if (len >= size)
		len = size - 1;
	for (size_t i = 0; i < actuate_op_count(a->act) && len + 200 < size; i++) {
		const struct actuate_op *op = actuate_op_at(a->act, i);

		len += (size_t)snprintf(out + len, size - len,
					"%s  %s %s droplet %" PRIu64 ": %s%s\n",
					i == 0 ? "operations:\n" : "", actuate_kind_name(op->kind),
					op->op_tag, op->droplet, actuate_state_name(op->state),
					op->adopted ? " (adopted)" : "");
	}
	return out;
}

cJSON *
autoscale_status_json(const struct autoscale *a)
{
	cJSON *o, *ops;

	if (a == NULL || a->term == 0) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "state", autoscale_state(a));
		return o;
	}
	o = policy_status_json(policy_last(a->pol));
	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "state", autoscale_state(a));
	ops = cJSON_AddArrayToObject(o, "operations");
	for (size_t i = 0; ops != NULL && i < actuate_op_count(a->act); i++) {
		const struct actuate_op *op = actuate_op_at(a->act, i);
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "kind", actuate_kind_name(op->kind));
		cJSON_AddStringToObject(j, "op_tag", op->op_tag);
		cJSON_AddNumberToObject(j, "droplet", (double)op->droplet);
		cJSON_AddStringToObject(j, "state", actuate_state_name(op->state));
		cJSON_AddBoolToObject(j, "adopted", op->adopted);
		cJSON_AddItemToArray(ops, j);
	}
	return o;
}
