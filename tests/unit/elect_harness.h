/*
 * A small synchronous harness for the election core's unit tests: up to 8
 * real cores on one manual clock, a FIFO of the messages they send (which a
 * test may deliver, drop or inspect), and a "disk" per node. Peers that are
 * not started can still sign messages a test crafts (tc_craft), so a single
 * core can be driven message by message.
 */
#ifndef ELECT_HARNESS_H
#define ELECT_HARNESS_H

#include <errno.h>

#include <sodium.h>

#include "elect.h"
#include "harness.h"

#define TC_NODES 8
#define TC_QUEUE 512
#define TC_BASE	 UINT64_C(700)

struct tc;

struct tc_node {
	struct tc *c;
	struct elect *e;
	uint64_t id;
	uint8_t pk[32], sk[64];
	uint8_t disk[ELECT_STATE_MAX];
	size_t disk_len;
	int persist_err; /* persist returns this when non-zero */
	uint32_t persists;
	uint64_t rng;
	enum elect_admit admit; /* what ops->admissible says about this node */
	uint32_t events[8];	/* counts by enum elect_event_type */
	struct elect_event last;
};

struct tc_msg {
	uint64_t from, to;
	size_t len;
	uint8_t buf[ELECT_MSG_MAX];
};

struct tc {
	struct tc_node n[TC_NODES];
	uint32_t count;
	uint64_t now;
	struct tc_msg q[TC_QUEUE];
	size_t nq;
	bool unknown_key[TC_NODES]; /* pubkey answers -ENOENT for this node */
	struct elect_config cfg;
};

static void
tc_send(void *arg, uint64_t to, const uint8_t *msg, size_t len)
{
	struct tc_node *n = arg;
	struct tc_msg *m;

	if (n->c->nq == TC_QUEUE)
		harness_fail(__FILE__, __LINE__, "tc: message queue full");
	m = &n->c->q[n->c->nq++];
	m->from = n->id;
	m->to = to;
	m->len = len;
	memcpy(m->buf, msg, len);
}

static int
tc_persist(void *arg, const uint8_t *state, size_t len)
{
	struct tc_node *n = arg;

	if (n->persist_err)
		return n->persist_err;
	memcpy(n->disk, state, len);
	n->disk_len = len;
	n->persists++;
	return 0;
}

static int
tc_pubkey(void *arg, uint64_t id, uint8_t pk[ELECT_PK_LEN])
{
	struct tc_node *n = arg;
	uint64_t i = id - TC_BASE;

	if (id < TC_BASE || i >= TC_NODES || n->c->unknown_key[i])
		return -ENOENT;
	memcpy(pk, n->c->n[i].pk, ELECT_PK_LEN);
	return 0;
}

static uint32_t
tc_random(void *arg)
{
	struct tc_node *n = arg;

	n->rng ^= n->rng << 13;
	n->rng ^= n->rng >> 7;
	n->rng ^= n->rng << 17;
	return (uint32_t)n->rng;
}

static enum elect_admit
tc_admissible(void *arg, uint64_t id)
{
	struct tc_node *n = arg;

	return n->c->n[id - TC_BASE].admit;
}

static void
tc_event(void *arg, const struct elect_event *ev)
{
	struct tc_node *n = arg;

	n->events[ev->type & 7]++;
	n->last = *ev;
}

static const struct elect_ops tc_ops = { tc_send,   tc_persist,	   tc_pubkey,
					 tc_random, tc_admissible, tc_event };

/* `count` nodes (ids TC_BASE + i), none started; the clock at 1000 s. */
static void
tc_init(struct tc *c, uint32_t count)
{
	ASSERT(sodium_init() >= 0);
	memset(c, 0, sizeof(*c));
	c->count = count;
	c->now = 1000000;
	elect_config_default(&c->cfg);
	for (uint32_t i = 0; i < TC_NODES; i++) {
		uint8_t seed[32];

		memset(seed, (int)i + 1, sizeof(seed));
		c->n[i].c = c;
		c->n[i].id = TC_BASE + i;
		c->n[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		c->n[i].admit = ELECT_ADMIT_YES;
		crypto_sign_seed_keypair(c->n[i].pk, c->n[i].sk, seed);
	}
}

static void
tc_fini(struct tc *c)
{
	for (uint32_t i = 0; i < TC_NODES; i++)
		elect_free(c->n[i].e);
}

/* (Re)starts node i from its disk (or fresh, with `flags`). */
static void
tc_start(struct tc *c, uint32_t i, bool with_state, unsigned flags)
{
	struct tc_node *n = &c->n[i];
	struct elect_hard h;
	bool have = with_state && n->disk_len &&
		    elect_state_decode(n->disk, n->disk_len, &h) == ELECT_STATE_OK;

	elect_free(n->e);
	n->e = elect_new(&c->cfg, &tc_ops, n, n->id, n->sk, have ? &h : NULL, flags, c->now);
	ASSERT_NOT_NULL(n->e);
	(void)elect_tick(n->e, c->now);
}

/* Writes node i a state with voter set {0..k-1} (state ids 1000 + index)
 * at index 1, term `term`, before it starts. */
static void
tc_seed_state(struct tc *c, uint32_t i, uint32_t k, uint64_t term)
{
	struct elect_hard h;
	struct elect_voters v;

	memset(&v, 0, sizeof(v));
	for (uint32_t j = 0; j < k; j++)
		v.v[v.n++] = (struct elect_voter){ TC_BASE + j, 1000 + j };
	elect_state_init(&h, 1000 + i);
	h.term = term;
	elect_log_install(&h.log, 1, 0, &v);
	ASSERT_OK(elect_state_encode(&h, c->n[i].disk, sizeof(c->n[i].disk), &c->n[i].disk_len));
}

/* A cluster of k voters, all started from seeded states. */
static void
tc_cluster(struct tc *c, uint32_t k)
{
	tc_init(c, k);
	for (uint32_t i = 0; i < k; i++) {
		tc_seed_state(c, i, k, 0);
		tc_start(c, i, true, 0);
	}
}

static struct tc_node *
tc_node(struct tc *c, uint64_t id)
{
	if (id < TC_BASE || id - TC_BASE >= c->count)
		return NULL;
	return &c->n[id - TC_BASE];
}

/* Delivers queued messages (and what they cause) to running nodes, in
 * order; messages to nodes not running are dropped. Returns how many. */
static size_t
tc_deliver(struct tc *c)
{
	size_t done = 0;

	while (c->nq > 0 && done < 100000) {
		struct tc_msg m = c->q[0];
		struct tc_node *n;

		memmove(c->q, c->q + 1, (c->nq - 1) * sizeof(c->q[0]));
		c->nq--;
		n = tc_node(c, m.to);
		if (n != NULL && n->e != NULL)
			(void)elect_receive(n->e, m.buf, m.len, c->now);
		done++;
	}
	return done;
}

/* Advances the clock by ms in 10 ms steps: every node ticks, messages are
 * delivered at once (a network without delay). */
static void
tc_run(struct tc *c, uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += 10) {
		c->now += 10;
		for (uint32_t i = 0; i < c->count; i++)
			if (c->n[i].e)
				(void)elect_tick(c->n[i].e, c->now);
		tc_deliver(c);
	}
}

/* The node that leads now, or -1. */
static int
tc_leader(struct tc *c)
{
	int who = -1;

	for (uint32_t i = 0; i < c->count; i++)
		if (c->n[i].e && elect_leading(c->n[i].e, c->now, NULL, NULL)) {
			ASSERT_EQ(who, -1); /* never two */
			who = (int)i;
		}
	return who;
}

/* The last queued message from node `from` of `type` (decoded), or NULL. */
static bool
tc_find(struct tc *c, uint64_t from, uint8_t type, struct elect_msg *out)
{
	for (size_t k = c->nq; k > 0; k--) {
		struct tc_msg *m = &c->q[k - 1];

		if (m->from == from && m->len > 1 && m->buf[1] == type)
			return elect_msg_decode(m->buf, m->len, out) == ELECT_MSG_OK;
	}
	return false;
}

/* Signs m as node `from` and hands it to node `to`; returns elect_receive's
 * answer. */
static int
tc_inject(struct tc *c, uint32_t from, uint32_t to, struct elect_msg *m)
{
	uint8_t buf[ELECT_MSG_MAX];
	size_t len;

	m->from = c->n[from].id;
	if (m->from_sid == 0)
		m->from_sid = 1000 + from;
	if (m->to == 0 && m->type != ELECT_MSG_ANNOUNCE)
		m->to = c->n[to].id;
	ASSERT_OK(elect_msg_encode(m, c->n[from].sk, buf, sizeof(buf), &len));
	return elect_receive(c->n[to].e, buf, len, c->now);
}

static struct elect_msg
tc_craft(uint8_t type, uint64_t term)
{
	struct elect_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.term = term;
	return m;
}

#endif
