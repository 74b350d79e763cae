/*
 * leader: the leader's work at the cloud and the registrars (agent/leader.h).
 *
 * The entry points the election and gossip call (leader_on_*) only record
 * what happened and kick the one timer: they may run while SWIM is
 * mid-update. Everything with an effect (API calls, registrar operations,
 * joins, the policy's hooks) happens in leader_run(), from that timer.
 *
 * The node table holds every node the leader knows of, from SWIM, the
 * inventory and NODE claims, and for each what the registrars are believed
 * to hold (`held`): unknown at the start of an office, then set by the
 * office's reconcile and by each single registration or deregistration.
 * A reconcile runs alone (a registration racing it could be undone by it);
 * single changes run side by side, one per node at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cfg.h"
#include "cloud.h"
#include "cloud_ops.h"
#include "election.h"
#include "gossip.h"
#include "leader.h"
#include "log.h"
#include "meta.h"
#include "rotation.h"
#include "xmalloc.h"

#define LEADER_TICK_MS	      1000  /* the office's pace: retries, the reconcile's schedule */
#define LEADER_REFRESH_MS     15000 /* least time between two listings events ask for */
#define LEADER_RETRY_MS	      2000  /* a failed change is tried again after this, doubling */
#define LEADER_RETRY_MAX_MS   60000
#define LEADER_NODE_SLOTS     2048 /* NODE claims kept (one per node); swim holds 4096 of all kinds */
#define LEADER_NODE_CLAIM_LEN 9	   /* format 1, public IPv4, private IPv4 */

enum leader_held {
	LEADER_UNKNOWN = 0, /* not known in this office */
	LEADER_IN,	    /* the registrars hold it */
	LEADER_OUT,	    /* they do not */
};

struct leader_node {
	uint64_t id;
	char name[SWIM_NAME_MAX];
	char pub[16], priv[16]; /* "" when unknown */
	bool addrs;		/* from the inventory, a NODE claim, or our identity */
	bool listed;		/* in the office's last inventory listing */
	bool member;		/* SWIM holds it */
	enum swim_state state;
	uint64_t alive_since; /* uv_now() when it last became alive */
	enum leader_held held;
	bool busy;   /* a registration or deregistration runs */
	bool joined; /* asked gossip to join it in this office */
	uint64_t retry_at;
	unsigned failures;
};

struct leader_event {
	uint64_t id;
	enum swim_state st;
};

struct leader {
	uv_timer_t timer;
	uv_loop_t *loop;
	const struct cfg *cfg;
	const struct meta_identity *self;
	struct cloud *cloud;
	struct rotation *rot;
	struct election *el;
	struct gossip *gossip;
	struct leader_hooks hooks;
	struct leader_node *nodes;
	size_t nnodes, capnodes;
	struct leader_event *evq; /* member events for hooks.member */
	size_t nev, capev;
	/* The office. */
	bool office;
	bool lapsed; /* the lease was lost since the last run: a new office */
	uint64_t term;
	bool reconciling;    /* a listing then a reconcile, or a reconcile alone */
	bool listing;	     /* a listing alone (a refresh) */
	bool reconciled;     /* the office's first reconcile succeeded */
	bool refresh_wanted; /* a member is alive that the listing does not show yet */
	bool first_listing;  /* the next listing is the office's first */
	uint64_t next_reconcile, last_list, inv_at, inv_n;
	unsigned reconcile_failures;
	uint64_t reconciles, reconciled_at;
	uint64_t refused; /* mutating tries the gate held back */
	/* Registrar operations ended, by kind, and those that failed (metrics). */
	uint64_t reg_ops[PROM_REG_COUNT], reg_errors[PROM_REG_COUNT];
	/* Life. */
	unsigned pending; /* callbacks to come (listings, reconciles, changes) */
	bool closing, timer_closed;
};

/* One registrar operation or listing in flight. */
struct leader_call {
	struct leader *l;
	uint64_t term;
	uint64_t id;		 /* a single change: its node */
	enum leader_held to;	 /* ... and what it makes */
	uint64_t *ids;		 /* a reconcile: the nodes it puts in */
	size_t nids;		 /* ... */
	bool then_reconcile;	 /* a listing that opens a reconcile */
	void (*cb)(int, void *); /* leader_deregister_self's */
	void *arg;
	void (*rcb)(int, const char *, void *); /* leader_rotate's */
};

static void leader_kick(struct leader *l);

/* ---- the table ---- */

static struct leader_node *
leader_node_find(const struct leader *l, uint64_t id)
{
	for (size_t i = 0; i < l->nnodes; i++)
		if (l->nodes[i].id == id)
			return &l->nodes[i];
	return NULL;
}

static struct leader_node *
leader_node_get(struct leader *l, uint64_t id)
{
	struct leader_node *n = leader_node_find(l, id);

	if (n != NULL)
		return n;
	if (l->nnodes == l->capnodes) {
		l->capnodes = l->capnodes ? l->capnodes * 2 : 32;
		l->nodes = xrealloc(l->nodes, l->capnodes * sizeof(*l->nodes));
	}
	n = &l->nodes[l->nnodes++];
	memset(n, 0, sizeof(*n));
	n->id = id;
	n->state = SWIM_DEAD;
	return n;
}

static void
leader_node_addrs(struct leader_node *n, const char *pub, const char *priv)
{
	snprintf(n->pub, sizeof(n->pub), "%s", pub != NULL ? pub : "");
	snprintf(n->priv, sizeof(n->priv), "%s", priv != NULL ? priv : "");
	n->addrs = n->pub[0] != '\0' || n->priv[0] != '\0';
}

static struct registrar_node
leader_registrar_node(const struct leader_node *n)
{
	struct registrar_node r = { .id = n->id,
				    .name = n->name[0] != '\0' ? n->name : "-",
				    .public_ipv4 = n->pub,
				    .private_ipv4 = n->priv };

	return r;
}

/* Forgets nodes nobody knows any more, once they are out of rotation. */
static void
leader_prune(struct leader *l)
{
	const struct swim *s = gossip_swim(l->gossip);

	for (size_t i = 0; i < l->nnodes;) {
		struct leader_node *n = &l->nodes[i];

		n->member = swim_find(s, n->id) != NULL;
		if (!n->member && !n->listed && !n->busy && n->held == LEADER_OUT &&
		    n->id != l->self->droplet_id)
			l->nodes[i] = l->nodes[--l->nnodes];
		else
			i++;
	}
}

/* ---- the lease ---- */

static uint64_t
leader_min_lease(const struct leader *l)
{
	uint64_t third = l->cfg->lease_ms / 3;

	return third < LEADER_MIN_LEASE_MS ? third : LEADER_MIN_LEASE_MS;
}

bool
leader_may_act(const struct leader *l, uint64_t *term, uint64_t *timeout_ms)
{
	uint64_t t, left;

	if (!election_leading(l->el, &t, &left) || left < leader_min_lease(l))
		return false;
	if (term != NULL)
		*term = t;
	if (timeout_ms != NULL && *timeout_ms > left)
		*timeout_ms = left;
	return true;
}

/* The API client's gate (cloud_set_gate): every mutating try asks it. */
static int
leader_gate(void *arg, uint64_t *term, uint64_t *timeout_ms)
{
	struct leader *l = arg;

	if (!leader_may_act(l, term, timeout_ms)) {
		l->refused++;
		return -EPERM;
	}
	return 0;
}

/* The gate once the module is closing: nothing mutating leaves any more. */
static int
leader_gate_closed(void *arg, uint64_t *term, uint64_t *timeout_ms)
{
	return -ECANCELED;
}

/* ---- what a node should be ---- */

/* Node n has the address the registrars put into rotation. With a token,
 * addresses come from the API, where a droplet is active a moment before its
 * public IPv4: registrars that need register_address (do-dns, haproxy) wait
 * for it; do-lb goes by id, exec passes what there is. */
static bool
leader_addressed(const struct leader *l, const struct leader_node *n)
{
	struct registrar_node rn = leader_registrar_node(n);

	if (!n->addrs)
		return false;
	return l->cloud == NULL || l->rot == NULL || !rotation_needs_address(l->rot) ||
	       registrar_address(l->cfg, &rn) != NULL;
}

enum leader_want {
	LEADER_WANT_NONE, /* nothing to change now (suspect, or waiting to know more) */
	LEADER_WANT_IN,
	LEADER_WANT_OUT,
};

/* What node n should be. A suspicion alone moves nothing (it is often
 * refuted): a single change waits for the verdict, and a reconcile
 * (`whole`) keeps a suspect member as if alive. */
static enum leader_want
leader_want(struct leader *l, struct leader_node *n, bool whole)
{
	if (!n->member || n->state == SWIM_DEAD || n->state == SWIM_LEFT)
		return LEADER_WANT_OUT;
	if (n->state == SWIM_SUSPECT && !whole)
		return LEADER_WANT_NONE;
	if (l->hooks.out_of_rotation != NULL && l->hooks.out_of_rotation(l->hooks.arg, n->id))
		return LEADER_WANT_OUT;
	if (l->cloud != NULL && !n->listed) {
		/* Only droplets under the cluster tag go into rotation; a member
		 * newer than the listing may be a clone the listing predates. */
		if (l->inv_at != 0 && l->inv_at >= n->alive_since)
			return LEADER_WANT_OUT;
		l->refresh_wanted = true;
		return LEADER_WANT_NONE;
	}
	if (leader_addressed(l, n))
		return LEADER_WANT_IN;
	l->refresh_wanted = l->refresh_wanted || n->addrs; /* its public IPv4 comes */
	return LEADER_WANT_NONE;
}

/* ---- callbacks' common end ---- */

static void
leader_free(struct leader *l)
{
	free(l->nodes);
	free(l->evq);
	free(l);
}

/* Ends one pending callback; true when the module is closing (the caller
 * must then return at once: l may be freed). */
static bool
leader_call_end(struct leader_call *c)
{
	struct leader *l = c->l;

	free(c->ids);
	free(c);
	l->pending--;
	if (!l->closing)
		return false;
	if (l->pending == 0 && l->timer_closed)
		leader_free(l);
	return true;
}

static struct leader_call *
leader_call_new(struct leader *l)
{
	struct leader_call *c = xcalloc(1, sizeof(*c));

	c->l = l;
	c->term = l->term;
	l->pending++;
	return c;
}

/* Counts one registrar operation that ended; a cancel (the agent stops) is
 * neither done nor failed. */
static void
leader_count(struct leader *l, enum prom_reg_op op, int err)
{
	if (err == -ECANCELED)
		return;
	l->reg_ops[op]++;
	if (err != 0)
		l->reg_errors[op]++;
}

/* ---- single changes ---- */

static void
leader_on_change(int err, const char *why, void *arg)
{
	struct leader_call *c = arg;
	struct leader *l = c->l;
	uint64_t term = c->term, id = c->id;
	enum leader_held to = c->to;
	struct leader_node *n;
	void (*rcb)(int, const char *, void *) = c->rcb;
	void *rarg = c->arg;

	if (rcb != NULL)
		rcb(err, why, rarg);
	if (l->rot != NULL)
		leader_count(l, to == LEADER_IN ? PROM_REG_REGISTER : PROM_REG_DEREGISTER, err);
	if (leader_call_end(c))
		return;
	if ((n = leader_node_find(l, id)) == NULL)
		return;
	n->busy = false;
	if (term != l->term || !l->office) {
		n->held = LEADER_UNKNOWN;
	} else if (err == 0) {
		n->held = to;
		n->failures = 0;
		log_info("leader: node %" PRIu64 " %s rotation (term %" PRIu64 ")", id,
			 to == LEADER_IN ? "put into" : "taken out of", term);
	} else {
		uint64_t wait = LEADER_RETRY_MS << (n->failures < 5 ? n->failures : 5);

		wait = wait < LEADER_RETRY_MAX_MS ? wait : LEADER_RETRY_MAX_MS;
		n->held = LEADER_UNKNOWN;
		n->failures++;
		n->retry_at = uv_now(l->loop) + wait;
		log_warnx("leader: could not %s node %" PRIu64 ": %s (again in %" PRIu64 " s)",
			  to == LEADER_IN ? "register" : "deregister", id,
			  why != NULL ? why : strerror(-err), wait / 1000);
	}
	leader_kick(l);
}

static void
leader_change(struct leader *l, struct leader_node *n, enum leader_want want,
	      void (*rcb)(int, const char *, void *), void *rarg)
{
	struct registrar_node rn = leader_registrar_node(n);
	struct leader_call *c;
	int r;

	if (l->rot == NULL) {
		n->held = want == LEADER_WANT_IN ? LEADER_IN : LEADER_OUT;
		return;
	}
	c = leader_call_new(l);
	c->id = n->id;
	c->rcb = rcb;
	c->arg = rarg;
	c->to = want == LEADER_WANT_IN ? LEADER_IN : LEADER_OUT;
	n->busy = true;
	r = want == LEADER_WANT_IN ? rotation_register(l->rot, &rn, leader_on_change, c)
				   : rotation_deregister(l->rot, &rn, leader_on_change, c);
	if (r != 0)
		leader_on_change(r, NULL, c);
}

/* Starts what the nodes need, each at most one change at a time. */
static void
leader_changes(struct leader *l)
{
	uint64_t now = uv_now(l->loop);

	for (size_t i = 0; i < l->nnodes && leader_may_act(l, NULL, NULL); i++) {
		struct leader_node *n = &l->nodes[i];
		enum leader_want w = leader_want(l, n, false);

		if (w == LEADER_WANT_NONE || n->busy || now < n->retry_at ||
		    (w == LEADER_WANT_IN && n->held == LEADER_IN) ||
		    (w == LEADER_WANT_OUT && n->held == LEADER_OUT))
			continue;
		leader_change(l, n, w, NULL, NULL);
	}
}

static size_t
leader_busy(const struct leader *l)
{
	size_t k = 0;

	for (size_t i = 0; i < l->nnodes; i++)
		k += l->nodes[i].busy;
	return k;
}

/* ---- the reconcile ---- */

static void
leader_reconcile_failed(struct leader *l, const char *why)
{
	uint64_t wait = LEADER_RETRY_MS << (l->reconcile_failures < 5 ? l->reconcile_failures : 5);

	if (wait > l->cfg->reconcile_interval_ms)
		wait = l->cfg->reconcile_interval_ms;
	l->reconcile_failures++;
	l->next_reconcile = uv_now(l->loop) + wait;
	log_warnx("leader: reconcile failed: %s (again in %" PRIu64 " s)", why, wait / 1000);
}

static void
leader_on_reconciled(int err, const char *why, void *arg)
{
	struct leader_call *c = arg;
	struct leader *l = c->l;
	uint64_t term = c->term;
	size_t in = c->nids;
	uint64_t *ids = c->ids;

	c->ids = NULL;
	if (l->rot != NULL)
		leader_count(l, PROM_REG_RECONCILE, err);
	if (leader_call_end(c)) {
		free(ids);
		return;
	}
	l->reconciling = false;
	if (term == l->term && l->office && err != 0) {
		leader_reconcile_failed(l, why != NULL ? why : strerror(-err));
	} else if (term == l->term && l->office) {
		for (size_t i = 0; i < l->nnodes; i++)
			l->nodes[i].held = LEADER_OUT;
		for (size_t i = 0; i < in; i++)
			leader_node_get(l, ids[i])->held = LEADER_IN;
		if (!l->reconciled)
			log_info("leader: registrars reconciled in term %" PRIu64
				 ": %zu node%s in rotation",
				 term, in, in == 1 ? "" : "s");
		l->reconciled = true;
		l->reconciles++;
		l->reconcile_failures = 0;
		l->reconciled_at = uv_now(l->loop);
		l->next_reconcile = l->reconciled_at + l->cfg->reconcile_interval_ms;
		leader_prune(l);
	}
	free(ids);
	leader_kick(l);
}

/* Makes every registrar hold exactly the nodes that should be in rotation. */
static void
leader_reconcile(struct leader *l)
{
	struct registrar_node *rn = xcalloc(l->nnodes + 1, sizeof(*rn));
	struct leader_call *c = leader_call_new(l);
	int r;

	c->ids = xcalloc(l->nnodes + 1, sizeof(*c->ids));
	for (size_t i = 0; i < l->nnodes; i++) {
		struct leader_node *n = &l->nodes[i];

		if (leader_want(l, n, true) != LEADER_WANT_IN)
			continue;
		rn[c->nids] = leader_registrar_node(n);
		c->ids[c->nids++] = n->id;
	}
	r = l->rot != NULL ? rotation_reconcile(l->rot, rn, c->nids, leader_on_reconciled, c) : 0;
	free(rn);
	if (l->rot == NULL || r != 0)
		leader_on_reconciled(r, r != 0 ? strerror(-r) : NULL, c);
}

/* ---- the inventory ---- */

/* Joins the cluster's droplets gossip does not know (a partition healed
 * behind SWIM's back, a clone that never found us): once per office each. */
static void
leader_join_unknown(struct leader *l, const struct doapi_droplet *d, size_t n)
{
	struct swim_addr *seeds = xcalloc(n + 1, sizeof(*seeds));
	const struct swim *s = gossip_swim(l->gossip);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *ip =
			d[i].private_ipv4[0] != '\0' ? d[i].private_ipv4 : d[i].public_ipv4;
		struct leader_node *nd = leader_node_find(l, d[i].id);

		if (swim_find(s, d[i].id) != NULL || strcmp(d[i].status, "active") != 0 ||
		    ip[0] == '\0' || nd == NULL || nd->joined)
			continue;
		nd->joined = true;
		if (gossip_addr_parse(ip, l->cfg->bind_port, &seeds[k]) == 0)
			k++;
	}
	if (k > 0) {
		log_info("leader: %zu droplet%s under the cluster tag not in the membership: "
			 "joining",
			 k, k == 1 ? "" : "s");
		gossip_join(l->gossip, seeds, k);
	}
	free(seeds);
}

/* One droplet under the cluster tag, as a listing (or a GET) shows it. */
static void
leader_take_droplet(struct leader *l, const struct doapi_droplet *d)
{
	struct leader_node *nd;

	if (strcmp(d->status, "archive") == 0)
		return;
	nd = leader_node_get(l, d->id);
	nd->listed = true;
	if (nd->name[0] == '\0')
		snprintf(nd->name, sizeof(nd->name), "%.*s", (int)sizeof(nd->name) - 1, d->name);
	leader_node_addrs(nd, d->public_ipv4, d->private_ipv4);
}

static void
leader_take_listing(struct leader *l, const struct doapi_droplet *d, size_t n)
{
	for (size_t i = 0; i < l->nnodes; i++)
		l->nodes[i].listed = false;
	for (size_t i = 0; i < n; i++)
		leader_take_droplet(l, &d[i]);
	l->inv_at = uv_now(l->loop);
	l->inv_n = n;
	l->refresh_wanted = false;
}

static void
leader_on_listing(int err, const char *error, const struct doapi_droplet *d, size_t n, void *arg)
{
	struct leader_call *c = arg;
	struct leader *l = c->l;
	uint64_t term = c->term;
	bool then_reconcile = c->then_reconcile, first;

	if (leader_call_end(c))
		return;
	if (then_reconcile)
		l->reconciling = false;
	else
		l->listing = false;
	if (term != l->term || !l->office) {
		leader_kick(l);
		return;
	}
	if (err != 0) {
		if (then_reconcile)
			leader_reconcile_failed(l, error != NULL ? error : strerror(-err));
		else
			log_warnx("leader: cannot read the inventory: %s", error);
		leader_kick(l);
		return;
	}
	leader_take_listing(l, d, n);
	leader_join_unknown(l, d, n);
	first = l->first_listing;
	l->first_listing = false;
	if (l->hooks.inventory != NULL)
		l->hooks.inventory(l->hooks.arg, term, d, n, first);
	if (then_reconcile && leader_may_act(l, NULL, NULL)) {
		l->reconciling = true;
		leader_reconcile(l);
	}
	leader_kick(l);
}

static void
leader_list(struct leader *l, bool then_reconcile)
{
	struct leader_call *c = leader_call_new(l);
	int r;

	c->then_reconcile = then_reconcile;
	if (then_reconcile)
		l->reconciling = true;
	else
		l->listing = true;
	l->last_list = uv_now(l->loop);
	r = cloud_list_tag_start(l->cloud, l->cfg->cluster_tag, leader_on_listing, c);
	if (r != 0)
		leader_on_listing(r, strerror(-r), NULL, 0, c);
}

/* ---- the office ---- */

static void
leader_take_office(struct leader *l, uint64_t term, uint64_t lease_left)
{
	bool renewed = l->term == term;

	l->office = true;
	l->lapsed = false;
	l->term = term;
	l->reconciled = false;
	l->first_listing = true;
	l->inv_at = 0;
	l->reconcile_failures = 0;
	l->next_reconcile = uv_now(l->loop);
	for (size_t i = 0; i < l->nnodes; i++) {
		l->nodes[i].held = LEADER_UNKNOWN;
		l->nodes[i].joined = false;
		l->nodes[i].retry_at = 0;
		l->nodes[i].failures = 0;
	}
	log_info("leader: %s office in term %" PRIu64 ": %s", renewed ? "back in" : "took", term,
		 l->cloud != NULL ? "reading the inventory, then reconciling the registrars"
				  : "reconciling the registrars");
	if (l->hooks.office != NULL)
		l->hooks.office(l->hooks.arg, term, election_now() + lease_left);
}

static void
leader_resign(struct leader *l)
{
	l->office = false;
	log_info("leader: out of office (term %" PRIu64 "): no cloud or registrar call from here",
		 l->term);
	if (l->hooks.resign != NULL)
		l->hooks.resign(l->hooks.arg, l->term);
}

/* Opens or closes the office as the lease says. */
static void
leader_check_office(struct leader *l)
{
	uint64_t term, left;
	bool leading = election_leading(l->el, &term, &left);

	if (leading && (!l->office || term != l->term || l->lapsed))
		leader_take_office(l, term, left);
	else if (!leading && l->office)
		leader_resign(l);
}

static void
leader_flush_events(struct leader *l)
{
	size_t n = l->nev;

	l->nev = 0;
	for (size_t i = 0; i < n && l->hooks.member != NULL; i++)
		l->hooks.member(l->hooks.arg, l->evq[i].id, l->evq[i].st);
}

/* Whatever the office needs now: a reconcile when due (alone), a refresh
 * of the listing when asked for, single changes otherwise. A reconcile due
 * while single changes run waits for them, but nothing else does: one
 * registration may wait minutes for a load balancer's health check, and a
 * dead node must still leave rotation in seconds and the listing stay fresh. */
static void
leader_work(struct leader *l)
{
	uint64_t now = uv_now(l->loop);
	bool due = now >= l->next_reconcile;

	if (l->reconciling || !leader_may_act(l, NULL, NULL))
		return;
	if (due && leader_busy(l) == 0) {
		if (l->cloud != NULL)
			leader_list(l, true);
		else {
			l->reconciling = true;
			leader_reconcile(l);
		}
		return;
	}
	if (l->cloud != NULL && !l->listing &&
	    ((due && now - l->last_list >= l->cfg->reconcile_interval_ms) ||
	     (l->refresh_wanted && now - l->last_list >= LEADER_REFRESH_MS)))
		leader_list(l, false);
	if (l->reconciled)
		leader_changes(l);
}

static void
leader_on_timer(uv_timer_t *t)
{
	struct leader *l = t->data;

	leader_check_office(l);
	leader_flush_events(l);
	if (l->office)
		leader_work(l);
	if (l->office && !l->closing)
		uv_timer_start(&l->timer, leader_on_timer, LEADER_TICK_MS, 0);
}

static void
leader_kick(struct leader *l)
{
	if (!l->closing)
		uv_timer_start(&l->timer, leader_on_timer, 0, 0);
}

/* ---- entry points ---- */

void
leader_on_election(struct leader *l, const struct elect_event *ev)
{
	if (ev->type == ELECT_EV_LEASE && !ev->leading)
		l->lapsed = true;
	if (ev->type == ELECT_EV_LEASE || ev->type == ELECT_EV_ROLE)
		leader_kick(l);
}

void
leader_on_member(struct leader *l, const struct swim_member *m, enum swim_state old, bool is_new)
{
	struct leader_node *n;

	if (!is_new && old == m->state)
		return;
	n = leader_node_get(l, m->id);
	n->member = true;
	snprintf(n->name, sizeof(n->name), "%s", m->name);
	if (m->state == SWIM_ALIVE && (is_new || old != SWIM_ALIVE))
		n->alive_since = uv_now(l->loop);
	n->state = m->state;
	if (l->hooks.member != NULL) {
		if (l->nev == l->capev) {
			l->capev = l->capev ? l->capev * 2 : 16;
			l->evq = xrealloc(l->evq, l->capev * sizeof(*l->evq));
		}
		l->evq[l->nev++] = (struct leader_event){ m->id, m->state };
	}
	leader_kick(l);
}

int
leader_on_claim(struct leader *l, const struct swim_claim *c)
{
	char pub[INET_ADDRSTRLEN], priv[INET_ADDRSTRLEN];
	static const uint8_t zero[4];
	struct leader_node *n;

	/* A node speaks for its own addresses only. */
	if (c->kind != GOSSIP_CLAIM_NODE || c->subject != c->origin ||
	    c->len != LEADER_NODE_CLAIM_LEN || c->data[0] != 1)
		return -EINVAL;
	inet_ntop(AF_INET, c->data + 1, pub, sizeof(pub));
	inet_ntop(AF_INET, c->data + 5, priv, sizeof(priv));
	n = leader_node_get(l, c->subject);
	leader_node_addrs(n, memcmp(c->data + 1, zero, 4) != 0 ? pub : "",
			  memcmp(c->data + 5, zero, 4) != 0 ? priv : "");
	leader_kick(l);
	return 0;
}

enum elect_admit
leader_admissible(void *arg, uint64_t id)
{
	struct leader *l = arg;
	struct leader_node *n = leader_node_find(l, id);

	if (l->cloud == NULL)
		return ELECT_ADMIT_YES;
	if (n != NULL && n->listed)
		return ELECT_ADMIT_YES;
	if (l->inv_at != 0 && (n == NULL || l->inv_at >= n->alive_since))
		return ELECT_ADMIT_NO;
	l->refresh_wanted = true;
	leader_kick(l);
	return ELECT_ADMIT_UNKNOWN;
}

/* ---- start, stop, report ---- */

void
leader_counters(const struct leader *l, uint64_t ops[PROM_REG_COUNT],
		uint64_t errors[PROM_REG_COUNT])
{
	memcpy(ops, l->reg_ops, sizeof(l->reg_ops));
	memcpy(errors, l->reg_errors, sizeof(l->reg_errors));
}

static void
leader_on_self_out(int err, const char *why, void *arg)
{
	struct leader_call *c = arg;
	void (*cb)(int, void *) = c->cb;
	void *cbarg = c->arg;

	leader_count(c->l, PROM_REG_DEREGISTER, err);
	if (err != 0 && err != -ECANCELED)
		log_warnx("leader: could not take this node out of rotation: %s",
			  why != NULL ? why : strerror(-err));
	(void)leader_call_end(c);
	cb(err, cbarg);
}

int
leader_deregister_self(struct leader *l, void (*cb)(int err, void *arg), void *arg)
{
	struct leader_node *n = leader_node_find(l, l->self->droplet_id);
	struct registrar_node rn;
	struct leader_call *c;
	int r;

	if (l->rot == NULL || n == NULL || !leader_may_act(l, NULL, NULL))
		return -EPERM;
	rn = leader_registrar_node(n);
	c = leader_call_new(l);
	c->cb = cb;
	c->arg = arg;
	r = rotation_deregister(l->rot, &rn, leader_on_self_out, c);
	if (r != 0)
		(void)leader_call_end(c);
	return r;
}

/* Without a token, nodes gossip their own addresses: the leader's only
 * source for registering the others. */
static void
leader_publish_node(struct leader *l)
{
	struct swim_claim c;
	struct timeval tv;
	int r;

	memset(&c, 0, sizeof(c));
	gettimeofday(&tv, NULL);
	c.kind = GOSSIP_CLAIM_NODE;
	c.subject = l->self->droplet_id;
	c.version = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	c.len = LEADER_NODE_CLAIM_LEN;
	c.data[0] = 1;
	(void)inet_pton(AF_INET, l->self->public_ipv4, c.data + 1);
	(void)inet_pton(AF_INET, l->self->private_ipv4, c.data + 5);
	r = gossip_claim_register(l->gossip, GOSSIP_CLAIM_NODE, LEADER_NODE_SLOTS, true);
	if (r == 0)
		r = gossip_claim_publish(l->gossip, &c);
	if (r != 0)
		log_warnx("leader: cannot gossip this node's addresses: %s", strerror(-r));
}

int
leader_open(uv_loop_t *loop, const struct leader_opts *o, struct leader **out)
{
	struct leader *l = xcalloc(1, sizeof(*l));
	struct leader_node *me;

	l->loop = loop;
	l->cfg = o->cfg;
	l->self = o->self;
	l->cloud = o->cloud;
	l->rot = o->rot;
	l->el = o->election;
	l->gossip = o->gossip;
	uv_timer_init(loop, &l->timer);
	l->timer.data = l;
	me = leader_node_get(l, o->self->droplet_id);
	snprintf(me->name, sizeof(me->name), "%s", o->self->hostname);
	leader_node_addrs(me, o->self->public_ipv4, o->self->private_ipv4);
	me->member = true;
	me->state = SWIM_ALIVE;
	if (l->cloud != NULL)
		cloud_set_gate(l->cloud, o->self->droplet_id, leader_gate, l);
	else
		leader_publish_node(l);
	*out = l;
	return 0;
}

void
leader_set_hooks(struct leader *l, const struct leader_hooks *h)
{
	if (h != NULL)
		l->hooks = *h;
	else
		memset(&l->hooks, 0, sizeof(l->hooks));
}

int
leader_rotate(struct leader *l, uint64_t id, bool in,
	      void (*cb)(int err, const char *why, void *arg), void *arg)
{
	struct leader_node *n = leader_node_find(l, id);

	if (!l->office || !leader_may_act(l, NULL, NULL))
		return -EPERM;
	if (n == NULL && !in)
		return 1; /* never known: nobody registered it in this office */
	if (n == NULL || (in && !n->addrs))
		return -EAGAIN;
	if (n->busy || l->reconciling)
		return -EBUSY;
	if (n->held == (in ? LEADER_IN : LEADER_OUT))
		return 1;
	if (l->rot == NULL) {
		n->held = in ? LEADER_IN : LEADER_OUT;
		return 1;
	}
	if (in && !leader_addressed(l, n))
		return -EAGAIN; /* active before its public address: it comes */
	leader_change(l, n, in ? LEADER_WANT_IN : LEADER_WANT_OUT, cb, arg);
	return 0;
}

void
leader_learn(struct leader *l, const struct doapi_droplet *d)
{
	if (l->cloud == NULL || !l->office || !doapi_droplet_has_tag(d, l->cfg->cluster_tag))
		return;
	leader_take_droplet(l, d);
	leader_kick(l);
}

void
leader_report(const struct leader *l, struct elect_report_work *out)
{
	uint64_t now = uv_now(l->loop);

	memset(out, 0, sizeof(*out));
	out->last_reconcile = -1;
	out->active = l->office;
	out->term = l->term;
	out->inventory_known = l->inv_at != 0;
	out->inventory_n = l->inv_n;
	for (size_t i = 0; i < l->nnodes; i++) {
		out->registered += l->nodes[i].held == LEADER_IN;
		out->pending += l->nodes[i].busy;
	}
	out->reconciles = l->reconciles;
	if (l->reconciled_at != 0)
		out->last_reconcile = (int64_t)(now - l->reconciled_at);
	out->api_calls = l->cloud != NULL ? cloud_requests_sent(l->cloud) : 0;
	out->refused_calls = l->refused;
}

static void
leader_on_closed(uv_handle_t *h)
{
	struct leader *l = h->data;

	l->timer_closed = true;
	if (l->pending == 0)
		leader_free(l);
}

void
leader_close(struct leader *l)
{
	if (l == NULL)
		return;
	if (l->office && l->hooks.resign != NULL)
		l->hooks.resign(l->hooks.arg, l->term);
	l->office = false;
	l->closing = true;
	/* Whatever the client still holds is refused from now on: this module
	 * may be freed before the client is closed. */
	if (l->cloud != NULL)
		cloud_set_gate(l->cloud, l->self->droplet_id, leader_gate_closed, NULL);
	uv_close((uv_handle_t *)&l->timer, leader_on_closed);
}
