/*
 * netsim: the simulated network and the glue between it and the membership
 * cores (see netsim.h for the model).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "netsim.h"
#include "swim_codec.h"
#include "wire.h"

static uint64_t
netsim_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* xorshift64*: small, fast, and good enough for protocol randomness. */
uint64_t
netsim_rand64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint64_t
netsim_seed_stream(uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
	uint64_t v = netsim_splitmix(&x);

	return v ? v : 1;
}

void
netsim_params_default(struct netsim_params *p)
{
	memset(p, 0, sizeof(*p));
	p->seed = 1;
	p->nodes = 20;
	p->lat_min_us = 200;
	p->lat_max_us = 1000;
	p->held_max_bytes = 212992;
	p->leave_ms = 1000;
	swim_config_default(&p->cfg);
}

uint64_t
netsim_now_ms(const struct netsim *sim)
{
	return sim->now_us / 1000;
}

static void
netsim_fail(struct netsim *sim, int err)
{
	if (sim->error == 0)
		sim->error = err;
}

static struct netsim_node *
netsim_node_by_id(struct netsim *sim, uint64_t id)
{
	if (id < NETSIM_ID_BASE || id - NETSIM_ID_BASE >= sim->p.nodes)
		return NULL;
	return &sim->nodes[id - NETSIM_ID_BASE];
}

static struct netsim_node *
netsim_node_by_addr(struct netsim *sim, const struct swim_addr *a)
{
	uint32_t h;

	if (a->family != 4 || a->port != NETSIM_PORT || a->ip[0] != 10)
		return NULL;
	h = (uint32_t)a->ip[1] << 16 | (uint32_t)a->ip[2] << 8 | a->ip[3];
	if (h == 0 || h > sim->p.nodes)
		return NULL;
	return &sim->nodes[h - 1];
}

static void
netsim_arm(struct netsim_node *n, uint64_t deadline_ms)
{
	struct netsim *sim = n->sim;
	struct evq_item it;
	uint64_t at;

	if (deadline_ms == UINT64_MAX)
		return;
	if (deadline_ms <= sim->now_us / 1000) {
		/* The core asked to be woken for a time it has just handled. */
		sim->c.tick_clamps++;
		deadline_ms = sim->now_us / 1000 + 1;
	}
	at = deadline_ms * 1000;
	if (n->tick_armed && n->tick_at_us <= at)
		return;
	memset(&it, 0, sizeof(it));
	it.at_us = at;
	it.kind = EVQ_TICK;
	it.node = n->index;
	it.gen = ++n->tick_gen;
	if (evq_push(&sim->q, &it) < 0) {
		netsim_fail(sim, -ENOMEM);
		return;
	}
	n->tick_armed = true;
	n->tick_at_us = at;
}

static void
netsim_tick_now(struct netsim_node *n)
{
	n->sim->c.ticks++;
	netsim_arm(n, swim_tick(n->swim, netsim_now_ms(n->sim)));
}

static void
netsim_ops_send(void *arg, uint64_t to_id, const struct swim_addr *to, uint8_t type,
		const uint8_t *payload, size_t len)
{
	struct netsim_node *n = arg, *dst;
	struct netsim *sim = n->sim;
	struct netsim_dgram *d;
	struct evq_item it;
	uint64_t bytes = len + WIRE_OVERHEAD;
	uint32_t span;

	sim->c.sent++;
	sim->c.bytes += bytes;
	sim->c.msgs_by_type[type & 7]++;
	sim->c.bytes_by_type[type & 7] += bytes;
	n->bytes_out += bytes;
	n->msgs_out++;
	if (len > WIRE_MAX_PAYLOAD) {
		/* wire_seal would refuse it: the datagram never leaves. */
		sim->c.oversize++;
		return;
	}
	dst = netsim_node_by_addr(sim, to);
	if (dst == NULL) {
		sim->c.drop_unknown++;
		return;
	}
	if (dst->group != n->group) {
		sim->c.drop_partition++;
		return;
	}
	if (sim->p.loss_ppm && netsim_rand64(&sim->net_rng) % 1000000 < sim->p.loss_ppm) {
		sim->c.drop_loss++;
		return;
	}
	d = malloc(sizeof(*d) + len);
	if (d == NULL) {
		netsim_fail(sim, -ENOMEM);
		return;
	}
	d->src = n->index;
	d->dst = dst->index;
	d->len = (uint16_t)len;
	d->type = type;
	memcpy(d->payload, payload, len);
	span = sim->p.lat_max_us - sim->p.lat_min_us + 1;
	memset(&it, 0, sizeof(it));
	it.at_us = sim->now_us + sim->p.lat_min_us + netsim_rand64(&sim->net_rng) % span;
	it.kind = EVQ_DELIVER;
	it.node = dst->index;
	it.data = d;
	if (evq_push(&sim->q, &it) < 0) {
		free(d);
		netsim_fail(sim, -ENOMEM);
	}
}

void
netsim_send_from(struct netsim *sim, uint32_t src, uint32_t dst, uint8_t type,
		 const uint8_t *payload, size_t len)
{
	netsim_ops_send(&sim->nodes[src], sim->nodes[dst].id, &sim->nodes[dst].addr, type, payload,
			len);
}

static void
netsim_log_fp(struct netsim *sim, const struct netsim_node *obs, const struct netsim_node *subj,
	      enum swim_state st)
{
	struct netsim_fp *f;

	if (sim->nfp_log == NETSIM_FP_LOG)
		return;
	f = &sim->fp_log[sim->nfp_log++];
	f->at_us = sim->now_us;
	f->observer = obs->index;
	f->subject = subj->index;
	f->state = st;
}

/* A state change seen by observer `n` about `subj` (NULL: not one of ours). */
static void
netsim_on_state(struct netsim_node *n, struct netsim_node *subj, const struct swim_member *m)
{
	struct netsim *sim = n->sim;
	bool current = subj != NULL && m->incarnation >= subj->incarnation;
	bool tracked = subj != NULL && subj->id == sim->track_state_id;

	switch (m->state) {
	case SWIM_SUSPECT:
		sim->c.suspect_any++;
		if (current && subj->status == NETSIM_UP) {
			sim->c.suspect_live++;
			if (subj->susp_epoch != m->incarnation + 1) {
				subj->susp_epoch = m->incarnation + 1;
				sim->c.suspect_episodes++;
			}
		}
		if (tracked && n->suspect_at_us == NETSIM_NEVER)
			n->suspect_at_us = sim->now_us;
		break;
	case SWIM_DEAD:
		sim->c.dead_any++;
		if (current && subj->status == NETSIM_UP) {
			sim->c.dead_live++;
			netsim_log_fp(sim, n, subj, m->state);
		} else if (current && subj->status == NETSIM_PAUSED) {
			sim->c.dead_paused++;
		}
		if (tracked && n->dead_at_us == NETSIM_NEVER)
			n->dead_at_us = sim->now_us;
		break;
	case SWIM_LEFT:
		sim->c.left_any++;
		if (tracked && n->left_at_us == NETSIM_NEVER)
			n->left_at_us = sim->now_us;
		break;
	case SWIM_ALIVE:
		break;
	}
}

static void
netsim_ops_event(void *arg, const struct swim_member *m, enum swim_state old_state, bool is_new)
{
	struct netsim_node *n = arg;
	struct netsim *sim = n->sim;
	struct netsim_node *subj;

	sim->c.events++;
	if (m->id == n->id)
		return;
	subj = netsim_node_by_id(sim, m->id);
	if (is_new) {
		if (m->state == SWIM_ALIVE)
			n->view_alive++;
	} else if (old_state != m->state) {
		if (old_state == SWIM_ALIVE)
			n->view_alive--;
		if (m->state == SWIM_ALIVE)
			n->view_alive++;
	}
	if (is_new || old_state != m->state) {
		if (sim->p.trace)
			fprintf(stderr, "t=%.3f node %u: %s%" PRIu64 " %s -> %s inc %" PRIu64 "\n",
				(double)(sim->now_us / 1000 - NETSIM_T0_MS) / 1000.0, n->index,
				is_new ? "new " : "", subj ? (uint64_t)subj->index : m->id,
				swim_state_name(old_state), swim_state_name(m->state),
				m->incarnation);
		netsim_on_state(n, subj, m);
	}
	/* A restart shows as ALIVE -> ALIVE with a higher incarnation. */
	if (subj != NULL && m->id == sim->track_state_id && m->state == SWIM_ALIVE &&
	    n->alive_at_us == NETSIM_NEVER && m->incarnation >= sim->track_alive_inc)
		n->alive_at_us = sim->now_us;
	if (subj != NULL && m->id == sim->track_load_id && n->seen_at_us == NETSIM_NEVER &&
	    m->load.version >= sim->track_load_version)
		n->seen_at_us = sim->now_us;
}

static uint32_t
netsim_ops_random(void *arg)
{
	struct netsim_node *n = arg;

	return (uint32_t)(netsim_rand64(&n->rng) >> 32);
}

/*
 * Signatures in the simulator: a keyed BLAKE2b-512 of the message under the
 * signer's public key, in place of Ed25519 (40 us a check, which would make
 * a 1,000-node run take minutes). The checks are the same (a record relayed
 * unchanged verifies, an altered one or one signed with another key does
 * not); only forging is easy, and no simulated node forges but the liars,
 * which the scenarios write to forge only what a real liar could.
 */
void
netsim_sign(const uint8_t key[32], const uint8_t *msg, size_t len, uint8_t sig[64])
{
	crypto_generichash(sig, 64, msg, len, key, 32);
}

static void
netsim_ops_sign(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	struct netsim_node *n = arg;

	netsim_sign(n->key, msg, len, sig);
}

static int
netsim_ops_verify(void *arg, const uint8_t key[32], const uint8_t *msg, size_t len,
		  const uint8_t sig[64])
{
	uint8_t want[64];

	netsim_sign(key, msg, len, want);
	return memcmp(want, sig, sizeof(want)) == 0 ? 0 : -EBADMSG;
}

static const struct swim_ops netsim_ops = {
	.send = netsim_ops_send,
	.event = netsim_ops_event,
	.random = netsim_ops_random,
	.sign = netsim_ops_sign,
	.verify = netsim_ops_verify,
};

int
netsim_claim(const struct netsim *sim, uint32_t i, struct swim_record *out)
{
	const struct swim_member *m;

	if (sim->nodes[i].swim == NULL)
		return -ENOENT;
	m = swim_self(sim->nodes[i].swim);
	memset(out, 0, sizeof(*out));
	out->kind = SWIM_REC_MEMBER;
	out->id = m->id;
	out->incarnation = m->incarnation;
	out->state = m->state == SWIM_LEFT ? SWIM_LEFT : SWIM_ALIVE;
	out->addr = m->addr;
	memcpy(out->name, m->name, sizeof(out->name));
	out->has_key = true;
	memcpy(out->key, m->key, sizeof(out->key));
	memcpy(out->sig, m->sig, sizeof(out->sig));
	return 0;
}

static void
netsim_drop_held(struct netsim_node *n)
{
	size_t i;

	for (i = 0; i < n->nheld; i++)
		free(n->held[i]);
	n->nheld = 0;
	n->held_bytes = 0;
}

struct netsim *
netsim_new(const struct netsim_params *p)
{
	struct netsim *sim = calloc(1, sizeof(*sim));
	uint32_t i;

	if (sim == NULL)
		return NULL;
	sim->p = *p;
	if (sim->p.lat_max_us < sim->p.lat_min_us)
		sim->p.lat_max_us = sim->p.lat_min_us;
	evq_init(&sim->q);
	sim->now_us = NETSIM_T0_MS * 1000;
	sim->net_rng = netsim_seed_stream(p->seed, 0);
	sim->nodes = calloc(p->nodes ? p->nodes : 1, sizeof(*sim->nodes));
	if (sim->nodes == NULL) {
		free(sim);
		return NULL;
	}
	for (i = 0; i < p->nodes; i++) {
		struct netsim_node *n = &sim->nodes[i];
		uint32_t h = i + 1;

		n->sim = sim;
		n->index = i;
		n->id = NETSIM_ID_BASE + i;
		n->addr.family = 4;
		n->addr.port = NETSIM_PORT;
		n->addr.ip[0] = 10;
		n->addr.ip[1] = (uint8_t)(h >> 16);
		n->addr.ip[2] = (uint8_t)(h >> 8);
		n->addr.ip[3] = (uint8_t)h;
		snprintf(n->name, sizeof(n->name), "node-%u", (unsigned)i);
		n->rng = netsim_seed_stream(p->seed, (uint64_t)i + 1);
		for (int k = 0; k < 4; k++) {
			uint64_t v =
				netsim_seed_stream(p->seed, ((uint64_t)i + 1) << 8 | (uint64_t)k);

			memcpy(n->key + 8 * k, &v, 8);
		}
		n->seen_at_us = n->suspect_at_us = n->dead_at_us = NETSIM_NEVER;
		n->left_at_us = n->alive_at_us = NETSIM_NEVER;
	}
	sim->track_load_id = sim->track_state_id = UINT64_MAX;
	return sim;
}

void
netsim_free(struct netsim *sim)
{
	struct evq_item it;
	uint32_t i;

	if (sim == NULL)
		return;
	while (evq_pop(&sim->q, &it))
		if (it.kind == EVQ_DELIVER)
			free(it.data);
	evq_fini(&sim->q);
	for (i = 0; i < sim->p.nodes; i++) {
		swim_free(sim->nodes[i].swim);
		netsim_drop_held(&sim->nodes[i]);
		free(sim->nodes[i].held);
	}
	free(sim->nodes);
	free(sim);
}

static void
netsim_stop(struct netsim_node *n, enum netsim_status status)
{
	swim_free(n->swim);
	n->swim = NULL;
	n->status = status;
	n->tick_armed = false;
	n->tick_gen++;
	n->view_alive = 0;
	netsim_drop_held(n);
}

void
netsim_crash(struct netsim *sim, uint32_t i)
{
	netsim_stop(&sim->nodes[i], NETSIM_OFF);
}

int
netsim_start(struct netsim *sim, uint32_t i, const uint32_t *seeds, size_t nseeds)
{
	struct netsim_node *n = &sim->nodes[i];
	struct swim_addr addrs[8];
	size_t k;

	if (n->swim != NULL)
		netsim_stop(n, NETSIM_OFF);
	n->incarnation = netsim_now_ms(sim);
	n->swim = swim_new(&sim->p.cfg, &netsim_ops, n, n->id, n->incarnation, &n->addr, n->name,
			   n->key, netsim_now_ms(sim));
	if (n->swim == NULL)
		return -ENOMEM;
	n->status = NETSIM_UP;
	if (nseeds > 8)
		nseeds = 8;
	for (k = 0; k < nseeds; k++)
		addrs[k] = sim->nodes[seeds[k]].addr;
	if (nseeds > 0)
		swim_join(n->swim, addrs, nseeds, netsim_now_ms(sim));
	netsim_tick_now(n);
	return sim->error;
}

void
netsim_pause(struct netsim *sim, uint32_t i)
{
	if (sim->nodes[i].status == NETSIM_UP)
		sim->nodes[i].status = NETSIM_PAUSED;
}

void
netsim_resume(struct netsim *sim, uint32_t i)
{
	struct netsim_node *n = &sim->nodes[i];
	size_t k;

	if (n->status != NETSIM_PAUSED)
		return;
	n->status = NETSIM_UP;
	/* libuv runs due timers before it polls the socket: late timers first. */
	netsim_tick_now(n);
	for (k = 0; k < n->nheld && n->swim != NULL; k++) {
		struct netsim_dgram *d = n->held[k];

		sim->c.delivered++;
		swim_on_message(n->swim, sim->nodes[d->src].id, &sim->nodes[d->src].addr, d->type,
				d->payload, d->len, netsim_now_ms(sim));
		netsim_tick_now(n);
	}
	netsim_drop_held(n);
}

void
netsim_leave(struct netsim *sim, uint32_t i)
{
	struct netsim_node *n = &sim->nodes[i];
	struct evq_item it;

	if (n->status != NETSIM_UP)
		return;
	swim_leave(n->swim, netsim_now_ms(sim));
	n->status = NETSIM_LEAVING;
	netsim_tick_now(n);
	memset(&it, 0, sizeof(it));
	it.at_us = sim->now_us + sim->p.leave_ms * 1000;
	it.kind = EVQ_STOP;
	it.node = i;
	if (evq_push(&sim->q, &it) < 0)
		netsim_fail(sim, -ENOMEM);
}

void
netsim_partition(struct netsim *sim, const uint32_t *groups)
{
	uint32_t i;

	for (i = 0; i < sim->p.nodes; i++)
		sim->nodes[i].group = groups ? groups[i] : 0;
}

void
netsim_set_loss(struct netsim *sim, uint32_t loss_ppm)
{
	sim->p.loss_ppm = loss_ppm;
}

void
netsim_inject(struct netsim *sim, uint32_t dst, uint32_t src, uint8_t type, const uint8_t *payload,
	      size_t len)
{
	struct netsim_node *n = &sim->nodes[dst];

	if (n->status != NETSIM_UP)
		return;
	swim_on_message(n->swim, sim->nodes[src].id, &sim->nodes[src].addr, type, payload, len,
			netsim_now_ms(sim));
	netsim_tick_now(n);
}

uint32_t
netsim_set_load(struct netsim *sim, uint32_t i, const struct swim_load *load)
{
	struct netsim_node *n = &sim->nodes[i];

	swim_set_load(n->swim, load, netsim_now_ms(sim));
	netsim_tick_now(n);
	return swim_self(n->swim)->load.version;
}

void
netsim_track_load(struct netsim *sim, uint32_t subject, uint32_t version)
{
	uint32_t i;

	sim->track_load_id = sim->nodes[subject].id;
	sim->track_load_version = version;
	for (i = 0; i < sim->p.nodes; i++)
		sim->nodes[i].seen_at_us = NETSIM_NEVER;
	sim->nodes[subject].seen_at_us = sim->now_us;
}

void
netsim_track_state(struct netsim *sim, uint32_t subject)
{
	uint32_t i;

	sim->track_state_id = sim->nodes[subject].id;
	sim->track_alive_inc = UINT64_MAX;
	for (i = 0; i < sim->p.nodes; i++) {
		struct netsim_node *n = &sim->nodes[i];

		n->suspect_at_us = n->dead_at_us = n->left_at_us = n->alive_at_us = NETSIM_NEVER;
	}
}

static void
netsim_deliver(struct netsim *sim, struct netsim_node *n, struct netsim_dgram *d)
{
	if (n->status == NETSIM_PAUSED) {
		if (n->held_bytes + d->len > sim->p.held_max_bytes) {
			sim->c.drop_held++;
			free(d);
			return;
		}
		if (n->nheld == n->capheld) {
			size_t ncap = n->capheld ? n->capheld * 2 : 64;
			struct netsim_dgram **h = realloc(n->held, ncap * sizeof(*h));

			if (h == NULL) {
				netsim_fail(sim, -ENOMEM);
				free(d);
				return;
			}
			n->held = h;
			n->capheld = ncap;
		}
		n->held[n->nheld++] = d;
		n->held_bytes += d->len;
		return;
	}
	if (n->swim == NULL || n->status == NETSIM_GONE) {
		sim->c.drop_down++;
		free(d);
		return;
	}
	sim->c.delivered++;
	swim_on_message(n->swim, sim->nodes[d->src].id, &sim->nodes[d->src].addr, d->type,
			d->payload, d->len, netsim_now_ms(sim));
	free(d);
	netsim_tick_now(n);
}

static void
netsim_dispatch(struct netsim *sim, const struct evq_item *it)
{
	struct netsim_node *n = &sim->nodes[it->node];

	switch (it->kind) {
	case EVQ_DELIVER:
		netsim_deliver(sim, n, it->data);
		break;
	case EVQ_TICK:
		if (it->gen != n->tick_gen)
			break;
		n->tick_armed = false;
		/* A paused node's tick is skipped: resume runs it late. */
		if (n->status == NETSIM_UP || n->status == NETSIM_LEAVING)
			netsim_tick_now(n);
		break;
	case EVQ_STOP:
		if (n->status == NETSIM_LEAVING)
			netsim_stop(n, NETSIM_GONE);
		break;
	}
}

int
netsim_run_until(struct netsim *sim, uint64_t until_us)
{
	struct evq_item it;

	while (sim->error == 0 && evq_peek_time(&sim->q) <= until_us) {
		evq_pop(&sim->q, &it);
		sim->now_us = it.at_us;
		netsim_dispatch(sim, &it);
	}
	if (until_us > sim->now_us)
		sim->now_us = until_us;
	return sim->error;
}

bool
netsim_is_live(const struct netsim *sim, uint32_t i)
{
	enum netsim_status s = sim->nodes[i].status;

	return s == NETSIM_UP || s == NETSIM_PAUSED || s == NETSIM_LEAVING;
}

uint32_t
netsim_live_count(const struct netsim *sim)
{
	uint32_t i, live = 0;

	for (i = 0; i < sim->p.nodes; i++)
		live += netsim_is_live(sim, i);
	return live;
}

bool
netsim_converged(const struct netsim *sim)
{
	uint32_t i, live = netsim_live_count(sim);

	for (i = 0; i < sim->p.nodes; i++)
		if (sim->nodes[i].status == NETSIM_UP && sim->nodes[i].view_alive + 1 != live)
			return false;
	return true;
}

/* Wrong entries in node o's table; the first in *subj. */
static size_t
netsim_check_view(const struct netsim *sim, const struct netsim_node *o, bool strict_dead,
		  uint32_t live, uint32_t *subj)
{
	size_t k, count = swim_count(o->swim), bad = 0, good = 0;

	*subj = UINT32_MAX;
	for (k = 0; k < count; k++) {
		const struct swim_member *m = swim_member_at(o->swim, k);
		const struct netsim_node *s;

		if (m->id == o->id || m->id < NETSIM_ID_BASE ||
		    m->id - NETSIM_ID_BASE >= sim->p.nodes)
			continue;
		s = &sim->nodes[m->id - NETSIM_ID_BASE];
		if (netsim_is_live(sim, s->index)) {
			if (m->state == SWIM_ALIVE) {
				good++;
				continue;
			}
		} else if (!strict_dead || m->state == SWIM_DEAD || m->state == SWIM_LEFT) {
			continue;
		}
		if (bad++ == 0)
			*subj = s->index;
	}
	if (good + 1 < live) {
		bad += live - 1 - good;
		if (*subj == UINT32_MAX)
			*subj = UINT32_MAX - 1; /* somebody missing */
	}
	return bad;
}

size_t
netsim_check_views(const struct netsim *sim, bool strict_dead, uint32_t *obs, uint32_t *subj)
{
	size_t bad = 0, b;
	uint32_t i, s, live = netsim_live_count(sim);

	*obs = *subj = UINT32_MAX;
	for (i = 0; i < sim->p.nodes; i++) {
		if (sim->nodes[i].status != NETSIM_UP)
			continue;
		b = netsim_check_view(sim, &sim->nodes[i], strict_dead, live, &s);
		if (b && bad == 0) {
			*obs = i;
			*subj = s;
		}
		bad += b;
	}
	return bad;
}
