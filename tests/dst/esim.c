/*
 * esim: the election simulator's nodes, clocks, disks, network and
 * membership oracle (see esim.h for the model).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "esim.h"
#include "netsim.h"

#define ESIM_T0_US   UINT64_C(1000000000) /* real time starts at 1000 s */
#define ESIM_UNKNOWN 0xff

void
esim_params_default(struct esim_params *p)
{
	memset(p, 0, sizeof(*p));
	p->seed = 1;
	p->nodes = 5;
	p->lat_min_us = 200;
	p->lat_max_us = 2000;
	p->detect_ms = 1500;
	p->detect_jitter_ms = 2000;
	p->check = true;
	elect_config_default(&p->cfg);
}

static void
esim_fail(struct esim *sim, int err)
{
	if (sim->error == 0)
		sim->error = err;
}

bool
esim_running(const struct esim_node *n)
{
	return n->status == ESIM_UP || n->status == ESIM_PAUSED;
}

/* The node's clock in microseconds: anchor + elapsed x (1 + rate). */
static uint64_t
esim_local_us(const struct esim_node *n)
{
	int64_t d = (int64_t)(n->sim->now_us - n->anchor_real_us);

	return n->anchor_local_us + (uint64_t)(d + (int64_t)((__int128)d * n->rate_ppm / 1000000));
}

uint64_t
esim_local_ms(const struct esim_node *n)
{
	return esim_local_us(n) / 1000;
}

/* Re-anchors the clock at now (before its rate changes). */
static void
esim_anchor(struct esim_node *n)
{
	n->anchor_local_us = esim_local_us(n);
	n->anchor_real_us = n->sim->now_us;
}

/* Real time at which the node's clock reads `ms`. */
uint64_t
esim_real_at(const struct esim_node *n, uint64_t ms)
{
	uint64_t local = ms * 1000;

	if (local <= n->anchor_local_us)
		return n->anchor_real_us;
	local -= n->anchor_local_us;
	return n->anchor_real_us +
	       (uint64_t)(((__int128)local * 1000000 + (1000000 + n->rate_ppm) - 1) /
			  (1000000 + n->rate_ppm));
}

static void
esim_arm(struct esim_node *n, uint64_t deadline_ms)
{
	struct esim *sim = n->sim;
	struct evq_item it;
	uint64_t at;

	if (deadline_ms == UINT64_MAX)
		return;
	at = esim_real_at(n, deadline_ms);
	if (at <= sim->now_us)
		at = sim->now_us + 1;
	if (n->tick_armed && n->tick_at_us <= at)
		return;
	memset(&it, 0, sizeof(it));
	it.at_us = at;
	it.kind = ESIM_EV_TICK;
	it.node = n->index;
	it.gen = ++n->tick_gen;
	if (evq_push(&sim->q, &it) < 0) {
		esim_fail(sim, -ENOMEM);
		return;
	}
	n->tick_armed = true;
	n->tick_at_us = at;
}

static void esim_ops_send(void *arg, uint64_t to, const uint8_t *msg, size_t len);

/* The shell gossips the leader's announcement; here it goes to every other
 * node through the network (same latency, loss and cuts). */
static void
esim_announce(struct esim_node *n)
{
	uint8_t buf[ELECT_MSG_MAX];
	size_t len;

	n->announce = false;
	if (elect_announce_build(n->core, esim_local_ms(n), buf, sizeof(buf), &len) != 0)
		return;
	for (uint32_t j = 0; j < n->sim->p.nodes; j++)
		if (j != n->index)
			esim_ops_send(n, n->sim->nodes[j].id, buf, len);
}

static void
esim_tick_now(struct esim_node *n)
{
	const struct esim_hooks *h = &n->sim->p.hooks;

	n->sim->c.ticks++;
	esim_arm(n, elect_tick(n->core, esim_local_ms(n)));
	if (n->announce)
		esim_announce(n);
	if (h->after_core != NULL)
		h->after_core(h->ctx, n->index);
}

void
esim_kick(struct esim *sim, uint32_t i)
{
	if (sim->nodes[i].status == ESIM_UP)
		esim_tick_now(&sim->nodes[i]);
}

int
esim_push(struct esim *sim, const struct evq_item *it)
{
	if (evq_push(&sim->q, it) < 0) {
		esim_fail(sim, -ENOMEM);
		return -ENOMEM;
	}
	return 0;
}

static void
esim_life(struct esim *sim, uint32_t i, enum esim_life what)
{
	if (sim->p.hooks.life != NULL)
		sim->p.hooks.life(sim->p.hooks.ctx, i, what);
}

/* ---- the core's ops ------------------------------------------------- */

static void
esim_ops_send(void *arg, uint64_t to, const uint8_t *msg, size_t len)
{
	struct esim_node *n = arg, *dst;
	struct esim *sim = n->sim;
	struct esim_dgram *d;
	struct evq_item it;
	uint64_t bytes = len + ESIM_ENVELOPE;
	uint8_t type = len > 1 && msg[1] <= ELECT_MSG_TYPE_MAX ? msg[1] : 0;

	sim->c.sent++;
	sim->c.bytes += bytes;
	sim->c.msgs_by_type[type]++;
	sim->c.bytes_by_type[type] += bytes;
	n->bytes_out += bytes;
	n->msgs_out++;
	esim_check_sent(sim, n, msg, len);
	if (to < ESIM_ID_BASE || to - ESIM_ID_BASE >= sim->p.nodes) {
		sim->c.drop_down++;
		return;
	}
	dst = &sim->nodes[to - ESIM_ID_BASE];
	if (sim->cut[n->index * sim->p.nodes + dst->index]) {
		sim->c.drop_cut++;
		return;
	}
	if (sim->p.loss_ppm && netsim_rand64(&sim->net_rng) % 1000000 < sim->p.loss_ppm) {
		sim->c.drop_loss++;
		return;
	}
	if ((d = malloc(sizeof(*d) + len)) == NULL) {
		esim_fail(sim, -ENOMEM);
		return;
	}
	d->src = n->index;
	d->dst = dst->index;
	d->len = (uint32_t)len;
	memcpy(d->data, msg, len);
	memset(&it, 0, sizeof(it));
	it.at_us = sim->now_us + sim->p.lat_min_us +
		   netsim_rand64(&sim->net_rng) % (sim->p.lat_max_us - sim->p.lat_min_us + 1);
	it.kind = ESIM_EV_DELIVER;
	it.node = dst->index;
	it.data = d;
	if (evq_push(&sim->q, &it) < 0) {
		free(d);
		esim_fail(sim, -ENOMEM);
	}
}

static int
esim_ops_persist(void *arg, const uint8_t *state, size_t len)
{
	struct esim_node *n = arg;
	struct elect_hard h;

	if (n->disk_full) {
		n->sim->c.persist_full++;
		return -ENOSPC;
	}
	if (len > sizeof(n->disk) || elect_state_decode(state, len, &h) != ELECT_STATE_OK) {
		esim_break(n->sim, "node %u persisted bytes that do not decode", n->index);
		return -EINVAL;
	}
	n->sim->c.persists++;
	esim_check_persist(n->sim, n, &h);
	memcpy(n->disk, state, len);
	n->disk_len = len;
	return 0;
}

static int
esim_ops_pubkey(void *arg, uint64_t id, uint8_t pk[ELECT_PK_LEN])
{
	struct esim_node *n = arg;

	if (id < ESIM_ID_BASE || id - ESIM_ID_BASE >= n->sim->p.nodes)
		return -ENOENT;
	memcpy(pk, n->sim->nodes[id - ESIM_ID_BASE].pk, ELECT_PK_LEN);
	return 0;
}

static uint32_t
esim_ops_random(void *arg)
{
	struct esim_node *n = arg;

	return (uint32_t)(netsim_rand64(&n->rng) >> 32);
}

static enum elect_admit
esim_ops_admissible(void *arg, uint64_t id)
{
	struct esim_node *n = arg;
	const struct esim_hooks *h = &n->sim->p.hooks;

	return h->admissible != NULL ? h->admissible(h->ctx, n->index, id) : ELECT_ADMIT_YES;
}

static void
esim_ops_event(void *arg, const struct elect_event *ev)
{
	struct esim_node *n = arg;
	struct esim *sim = n->sim;

	if (sim->p.trace && (ev->type == ELECT_EV_ROLE || ev->type == ELECT_EV_LEASE))
		fprintf(stderr, "t=%.3f node %u: %s term %" PRIu64 "%s\n",
			(double)(sim->now_us - ESIM_T0_US) / 1e6, n->index,
			ev->type == ELECT_EV_ROLE ? elect_role_name(ev->role)
			: ev->leading		  ? "lease gained"
						  : "lease lost",
			ev->term, "");
	if (ev->type == ELECT_EV_ANNOUNCE)
		n->announce = true; /* sent once the core call returns */
	else if (ev->type == ELECT_EV_ROLE)
		esim_check_role(sim, n, ev);
	else if (ev->type == ELECT_EV_VOTERS)
		esim_check_topology(sim);
}

static const struct elect_ops esim_ops = {
	.send = esim_ops_send,
	.persist = esim_ops_persist,
	.pubkey = esim_ops_pubkey,
	.random = esim_ops_random,
	.admissible = esim_ops_admissible,
	.event = esim_ops_event,
};

/* ---- membership oracle ---------------------------------------------- */

static bool
esim_reach(const struct esim *sim, uint32_t i, uint32_t j)
{
	uint32_t n = sim->p.nodes;

	return sim->nodes[j].status == ESIM_UP && !sim->cut[i * n + j] && !sim->cut[j * n + i];
}

static void
esim_member_later(struct esim *sim, uint32_t obs, uint32_t subj, uint64_t delay_us)
{
	struct evq_item it;

	memset(&it, 0, sizeof(it));
	it.at_us = sim->now_us + delay_us;
	it.kind = ESIM_EV_MEMBER;
	it.node = obs;
	it.gen = subj;
	if (evq_push(&sim->q, &it) < 0)
		esim_fail(sim, -ENOMEM);
}

/* Every observer re-reads the oracle about every subject, each after its
 * own detection delay. */
static void
esim_topology_changed(struct esim *sim)
{
	uint64_t base = sim->p.detect_ms * 1000, jit = sim->p.detect_jitter_ms * 1000 + 1;

	for (uint32_t i = 0; i < sim->p.nodes; i++) {
		if (!esim_running(&sim->nodes[i]))
			continue;
		for (uint32_t j = 0; j < sim->p.nodes; j++)
			if (j != i && (sim->nodes[j].started || !sim->p.unborn_unknown))
				esim_member_later(sim, i, j,
						  base + netsim_rand64(&sim->net_rng) % jit);
	}
	esim_check_topology(sim);
}

static void
esim_on_member(struct esim *sim, uint32_t obs, uint32_t subj)
{
	struct esim_node *n = &sim->nodes[obs];
	uint8_t st;

	if (n->status == ESIM_OFF || (sim->p.unborn_unknown && !sim->nodes[subj].started))
		return;
	if (n->status == ESIM_PAUSED) {
		esim_member_later(sim, obs, subj, 200000); /* seen after the pause */
		return;
	}
	st = esim_reach(sim, obs, subj) ? ELECT_MEMBER_ALIVE
	     : sim->nodes[subj].left	? ELECT_MEMBER_LEFT
					: ELECT_MEMBER_DEAD;
	if (n->view[subj] == st)
		return;
	n->view[subj] = st;
	if (elect_member(n->core, sim->nodes[subj].id, st, esim_local_ms(n), esim_local_ms(n)) < 0)
		esim_fail(sim, -ENOMEM);
	esim_tick_now(n);
	if (sim->p.hooks.member != NULL && n->status == ESIM_UP)
		sim->p.hooks.member(sim->p.hooks.ctx, obs, subj, st);
}

/* ---- life cycle ----------------------------------------------------- */

struct esim *
esim_new(const struct esim_params *p)
{
	struct esim *sim = calloc(1, sizeof(*sim));

	if (sim == NULL || p->nodes == 0 || p->nodes > ESIM_MAX)
		goto fail;
	sim->p = *p;
	if (sim->p.lat_max_us < sim->p.lat_min_us)
		sim->p.lat_max_us = sim->p.lat_min_us;
	evq_init(&sim->q);
	sim->now_us = ESIM_T0_US;
	sim->net_rng = netsim_seed_stream(p->seed, 0);
	sim->nodes = calloc(p->nodes, sizeof(*sim->nodes));
	sim->cut = calloc((size_t)p->nodes * p->nodes, 1);
	if (sim->nodes == NULL || sim->cut == NULL)
		goto fail;
	for (uint32_t i = 0; i < p->nodes; i++) {
		struct esim_node *n = &sim->nodes[i];
		uint8_t seed[32];
		uint64_t s = netsim_seed_stream(p->seed, 1000 + i);

		n->sim = sim;
		n->index = i;
		n->id = ESIM_ID_BASE + i;
		n->rng = netsim_seed_stream(p->seed, (uint64_t)i + 1);
		for (int k = 0; k < 32; k++)
			seed[k] = (uint8_t)(netsim_rand64(&s) >> 56);
		crypto_sign_seed_keypair(n->pk, n->sk, seed);
		if ((n->view = malloc(p->nodes)) == NULL)
			goto fail;
	}
	return sim;
fail:
	esim_free(sim);
	return NULL;
}

static void
esim_drop_held(struct esim_node *n)
{
	for (size_t i = 0; i < n->nheld; i++)
		free(n->held[i]);
	n->nheld = 0;
}

void
esim_free(struct esim *sim)
{
	struct evq_item it;

	if (sim == NULL)
		return;
	while (evq_pop(&sim->q, &it))
		if (it.kind == ESIM_EV_DELIVER)
			free(it.data);
		else if (it.kind >= ESIM_EV_USER && sim->p.hooks.drop != NULL)
			sim->p.hooks.drop(sim->p.hooks.ctx, &it);
	evq_fini(&sim->q);
	for (uint32_t i = 0; sim->nodes && i < sim->p.nodes; i++) {
		struct esim_node *n = &sim->nodes[i];

		elect_free(n->core);
		esim_drop_held(n);
		free(n->held);
		free(n->view);
		free(n->votes);
	}
	free(sim->nodes);
	free(sim->cut);
	free(sim->term_leader);
	free(sim->grants);
	free(sim);
}

static void
esim_stop(struct esim_node *n)
{
	if (n->status != ESIM_OFF)
		esim_life(n->sim, n->index, ESIM_LIFE_STOP);
	elect_free(n->core);
	n->core = NULL;
	n->status = ESIM_OFF;
	n->tick_armed = false;
	n->tick_gen++;
	esim_drop_held(n);
}

void
esim_crash(struct esim *sim, uint32_t i)
{
	if (sim->nodes[i].status == ESIM_OFF)
		return;
	if (sim->p.trace)
		fprintf(stderr, "t=%.3f node %u: crash\n", (double)(sim->now_us - ESIM_T0_US) / 1e6,
			i);
	esim_stop(&sim->nodes[i]);
	esim_topology_changed(sim);
}

void
esim_leave(struct esim *sim, uint32_t i)
{
	if (sim->nodes[i].status == ESIM_OFF)
		return;
	if (sim->p.trace)
		fprintf(stderr, "t=%.3f node %u: leaves\n",
			(double)(sim->now_us - ESIM_T0_US) / 1e6, i);
	sim->nodes[i].left = true;
	esim_stop(&sim->nodes[i]);
	esim_topology_changed(sim);
}

void
esim_start(struct esim *sim, uint32_t i, bool with_state)
{
	struct esim_node *n = &sim->nodes[i];
	struct elect_config cfg = sim->p.cfg;
	struct elect_hard h;
	bool have = false;

	if (n->status != ESIM_OFF)
		esim_stop(n);
	if (with_state && n->disk_len > 0)
		have = elect_state_decode(n->disk, n->disk_len, &h) == ELECT_STATE_OK;
	if (!have) {
		n->disk_len = 0;
		n->disk_sid = 0;
		n->disk_term = 0;
	}
	/* A reboot: the clock starts somewhere else. */
	n->anchor_real_us = sim->now_us;
	n->anchor_local_us =
		(UINT64_C(1000000) + netsim_rand64(&n->rng) % UINT64_C(1000000000)) * 1000;
	memset(n->view, ESIM_UNKNOWN, sim->p.nodes);
	/* The shell knows a node that had a state (its droplet-id marker is
	 * there): only a node's very first start counts as new, unless a
	 * scenario wipes the whole disk (esim_wipe). */
	if (n->no_bootstrap)
		cfg.bootstrap_expect = 0;
	n->core = elect_new(&cfg, &esim_ops, n, n->id, n->sk, have ? &h : NULL,
			    n->started && !n->wiped ? ELECT_NEW_STATE_LOST : 0, esim_local_ms(n));
	n->started = true;
	n->wiped = false;
	n->left = false;
	if (n->core == NULL) {
		esim_fail(sim, -ENOMEM);
		return;
	}
	if (sim->p.trace)
		fprintf(stderr, "t=%.3f node %u: start %s\n",
			(double)(sim->now_us - ESIM_T0_US) / 1e6, i,
			have ? "with its state" : "without state");
	n->status = ESIM_UP;
	n->resumed_us = sim->now_us;
	esim_life(sim, i, ESIM_LIFE_START);
	esim_topology_changed(sim);
	esim_tick_now(n);
}

void
esim_pause(struct esim *sim, uint32_t i)
{
	if (sim->nodes[i].status != ESIM_UP)
		return;
	sim->nodes[i].status = ESIM_PAUSED;
	esim_life(sim, i, ESIM_LIFE_PAUSE);
	esim_topology_changed(sim);
}

static void
esim_deliver(struct esim *sim, struct esim_dgram *d)
{
	struct esim_node *n = &sim->nodes[d->dst];

	sim->c.delivered++;
	(void)elect_receive(n->core, d->data, d->len, esim_local_ms(n));
	free(d);
	esim_tick_now(n);
}

void
esim_resume(struct esim *sim, uint32_t i)
{
	struct esim_node *n = &sim->nodes[i];
	size_t k;

	if (n->status != ESIM_PAUSED)
		return;
	n->status = ESIM_UP;
	n->resumed_us = sim->now_us;
	/* libuv runs due timers before it polls: the overdue tick first. */
	esim_tick_now(n);
	for (k = 0; k < n->nheld && n->status == ESIM_UP; k++) {
		esim_deliver(sim, n->held[k]);
		n->held[k] = NULL;
	}
	n->nheld = 0;
	if (n->status == ESIM_UP)
		esim_life(sim, i, ESIM_LIFE_RESUME);
	esim_topology_changed(sim);
}

void
esim_partition(struct esim *sim, const uint32_t *groups)
{
	uint32_t n = sim->p.nodes;

	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++)
			sim->cut[i * n + j] = groups != NULL && groups[i] != groups[j];
	esim_topology_changed(sim);
}

void
esim_cut(struct esim *sim, uint32_t src, uint32_t dst, bool cut)
{
	sim->cut[src * sim->p.nodes + dst] = cut;
	esim_topology_changed(sim);
}

void
esim_set_loss(struct esim *sim, uint32_t ppm)
{
	sim->p.loss_ppm = ppm;
}

void
esim_set_rate(struct esim *sim, uint32_t i, int32_t rate_ppm)
{
	struct esim_node *n = &sim->nodes[i];

	esim_anchor(n);
	n->rate_ppm = rate_ppm;
	if (n->status == ESIM_UP) {
		n->tick_armed = false; /* the armed tick is at the old rate */
		esim_tick_now(n);
	}
}

void
esim_wipe(struct esim *sim, uint32_t i)
{
	sim->nodes[i].disk_len = 0;
	sim->nodes[i].wiped = true;
}

void
esim_corrupt_disk(struct esim *sim, uint32_t i)
{
	struct esim_node *n = &sim->nodes[i];

	if (n->disk_len > 8)
		n->disk[8 + netsim_rand64(&sim->net_rng) % (n->disk_len - 8)] ^= 0x20;
}

int
esim_leading(struct esim *sim, uint32_t *count)
{
	int who = -1;

	*count = 0;
	for (uint32_t i = 0; i < sim->p.nodes; i++) {
		struct esim_node *n = &sim->nodes[i];

		if (esim_running(n) && elect_leading(n->core, esim_local_ms(n), NULL, NULL)) {
			(*count)++;
			who = (int)i;
		}
	}
	return who;
}

static void
esim_hold(struct esim_node *n, struct esim_dgram *d)
{
	if (n->nheld == n->capheld) {
		size_t cap = n->capheld ? n->capheld * 2 : 64;
		struct esim_dgram **h = realloc(n->held, cap * sizeof(*h));

		if (h == NULL) {
			free(d);
			esim_fail(n->sim, -ENOMEM);
			return;
		}
		n->held = h;
		n->capheld = cap;
	}
	n->held[n->nheld++] = d;
}

static void
esim_event(struct esim *sim, const struct evq_item *it)
{
	struct esim_node *n = &sim->nodes[it->node];

	sim->c.events++;
	switch (it->kind) {
	case ESIM_EV_DELIVER:
		if (n->status == ESIM_OFF) {
			sim->c.drop_down++;
			free(it->data);
		} else if (n->status == ESIM_PAUSED) {
			esim_hold(n, it->data);
		} else {
			esim_deliver(sim, it->data);
		}
		break;
	case ESIM_EV_TICK:
		if (it->gen != n->tick_gen)
			break;
		n->tick_armed = false;
		/* A paused node's timer is late: esim_resume runs it. */
		if (n->status == ESIM_UP)
			esim_tick_now(n);
		break;
	case ESIM_EV_MEMBER:
		esim_on_member(sim, it->node, it->gen);
		break;
	default:
		if (sim->p.hooks.event != NULL)
			sim->p.hooks.event(sim->p.hooks.ctx, it);
		break;
	}
}

int
esim_run_until(struct esim *sim, uint64_t until_us)
{
	struct evq_item it;

	while (sim->error == 0 && evq_peek_time(&sim->q) <= until_us) {
		evq_pop(&sim->q, &it);
		sim->now_us = it.at_us;
		esim_event(sim, &it);
		if (sim->p.check)
			esim_check_step(sim);
		if (sim->p.hooks.step != NULL)
			sim->p.hooks.step(sim->p.hooks.ctx);
	}
	if (sim->now_us < until_us)
		sim->now_us = until_us;
	return sim->error;
}
