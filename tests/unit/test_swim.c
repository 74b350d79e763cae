/*
 * Unit tests for common/swim.c, the membership state machine.
 *
 * Two harnesses. "net": a tiny in-test network of up to 8 nodes that
 * delivers captured datagrams to each other's swim_on_message with no
 * latency, ticks every node at its deadline in 1 ms steps, and can cut links
 * (per direction and message type) or take nodes down. "solo": one node whose
 * peers are imaginary; the test crafts their messages with the codec and
 * reads what the node sends; an optional responder acks its pings so the
 * imaginary peers look alive. Randomness is a seeded xorshift. Every node
 * and imaginary peer has a real Ed25519 key derived from its id (t_keys), and
 * the records the tests craft are signed with their subject's key unless a
 * test gives them a signature of its own (a forgery).
 */
#include <errno.h>

#include <sodium.h>

#include "harness.h"
#include "swim.h"
#include "swim_codec.h"
#include "swim_priv.h"
#include "wire.h"

#define TN_MAX	 8
#define TQ_MAX	 4096
#define TLOG_MAX 4096
#define TEV_MAX	 512
#define TN_PORT	 7000

struct tdgram {
	int from, to;
	uint16_t port; /* destination port (made-up peers have no slot) */
	uint8_t type;
	size_t len;
	uint64_t at;
	uint8_t buf[WIRE_MAX_PAYLOAD];
};

struct tevent {
	uint64_t at;
	uint64_t id;
	enum swim_state old, st;
	bool is_new;
	uint32_t load_version;
};

struct tnet;

struct tnode {
	struct tnet *net;
	int idx;
	struct swim *s;
	uint64_t id;
	uint8_t pk[32], sk[64];
	struct swim_addr addr;
	bool down;
	uint64_t deadline;
	struct tevent ev[TEV_MAX];
	size_t nev;
};

struct tnet {
	struct tnode n[TN_MAX];
	int count;
	uint64_t now;
	uint64_t rs;
	struct swim_config cfg;
	struct tdgram *q; /* ring of pending datagrams */
	size_t qhead, qlen;
	struct tdgram *log; /* ring of everything sent */
	size_t nlog;
	unsigned cut[TN_MAX][TN_MAX]; /* bit t: drop type t from i to j */
	bool hold;		      /* solo: capture only */
	/* solo responder: ack pings to imaginary member ids listed here */
	uint64_t alive_ids[128];
	size_t nalive_ids;
};

#define CUT_ALL 0xffffffffU

static uint32_t
t_random(void *arg)
{
	struct tnode *nd = arg;
	uint64_t *rs = &nd->net->rs;

	*rs ^= *rs << 13;
	*rs ^= *rs >> 7;
	*rs ^= *rs << 17;
	return (uint32_t)*rs;
}

static int
port_index(const struct swim_addr *a)
{
	int i = (int)a->port - TN_PORT;

	return i >= 0 && i < TN_MAX ? i : -1;
}

static void
t_send(void *arg, uint64_t to_id, const struct swim_addr *to, uint8_t type, const uint8_t *p,
       size_t len)
{
	struct tnode *nd = arg;
	struct tnet *net = nd->net;
	struct tdgram *d = &net->log[net->nlog++ % TLOG_MAX];

	ASSERT_LE(len, net->cfg.max_payload);
	d->from = nd->idx;
	d->to = port_index(to);
	d->port = to->port;
	d->type = type;
	d->len = len;
	d->at = net->now;
	memcpy(d->buf, p, len);
	if (net->hold || d->to < 0)
		return;
	ASSERT_LT(net->qlen, TQ_MAX);
	net->q[(net->qhead + net->qlen++) % TQ_MAX] = *d;
}

static void
t_event(void *arg, const struct swim_member *m, enum swim_state old, bool is_new)
{
	struct tnode *nd = arg;
	struct tevent *e;

	if (nd->nev == TEV_MAX)
		return;
	e = &nd->ev[nd->nev++];
	e->at = nd->net->now;
	e->id = m->id;
	e->old = old;
	e->st = m->state;
	e->is_new = is_new;
	e->load_version = m->load.version;
}

/* The key pair of node or imaginary peer `id`: its seed is the id, repeated. */
static void
t_keys(uint64_t id, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];

	ASSERT(sodium_init() >= 0);
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(id >> (8 * (i % 8)));
	crypto_sign_seed_keypair(pk, sk, seed);
}

static void
t_sign(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	struct tnode *nd = arg;

	crypto_sign_detached(sig, NULL, msg, len, nd->sk);
}

static const struct swim_ops t_ops = {
	.send = t_send, .event = t_event, .random = t_random, .sign = t_sign
};

/* Signs r (MEMBER, LOAD, APP, or ACCUSE: by its accuser) with its signer's
 * key, unless it carries a signature already; a MEMBER gets its key too. */
static void
t_sign_rec(struct swim_record *r)
{
	static const uint8_t none[64];
	uint8_t pk[32], sk[64], msg[SWIM_SIGNED_MAX];
	size_t len;

	t_keys(r->kind == SWIM_REC_APP	    ? r->app.origin
	       : r->kind == SWIM_REC_ACCUSE ? r->from
					    : r->id,
	       pk, sk);
	if (r->kind == SWIM_REC_MEMBER && !r->has_key) {
		r->has_key = true;
		memcpy(r->key, pk, sizeof(pk));
	}
	if ((len = swim_codec_signed(0, r, pk, msg)) == 0 || memcmp(r->sig, none, 64) != 0)
		return;
	crypto_sign_detached(r->sig, NULL, msg, len, sk);
}

static struct swim_addr
t_addr(int idx)
{
	struct swim_addr a;

	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.ip[0] = 127;
	a.ip[3] = 1;
	a.port = (uint16_t)(TN_PORT + idx);
	return a;
}

/* (Re)starts node `idx` as `id` with `inc`. */
static void
tn_boot(struct tnet *net, int idx, uint64_t id, uint64_t inc)
{
	struct tnode *nd = &net->n[idx];
	char name[32];

	swim_free(nd->s);
	nd->net = net;
	nd->idx = idx;
	nd->id = id;
	nd->addr = t_addr(idx);
	nd->down = false;
	nd->nev = 0;
	t_keys(id, nd->pk, nd->sk);
	snprintf(name, sizeof(name), "node-%d", idx);
	nd->s = swim_new(&net->cfg, &t_ops, nd, id, inc, &nd->addr, name, nd->pk, net->now);
	ASSERT_NOT_NULL(nd->s);
	nd->deadline = net->now;
	if (idx >= net->count)
		net->count = idx + 1;
}

static struct tnet *
tn_new(int count, const struct swim_config *cfg, uint64_t seed)
{
	struct tnet *net = calloc(1, sizeof(*net));

	ASSERT_NOT_NULL(net);
	net->q = calloc(TQ_MAX, sizeof(*net->q));
	net->log = calloc(TLOG_MAX, sizeof(*net->log));
	ASSERT_NOT_NULL(net->q);
	ASSERT_NOT_NULL(net->log);
	net->rs = seed * 0x9e3779b97f4a7c15ULL + 1;
	if (cfg != NULL)
		net->cfg = *cfg;
	else
		swim_config_default(&net->cfg);
	net->now = 1000;
	for (int i = 0; i < count; i++)
		tn_boot(net, i, 100 + (uint64_t)i, 5000 + (uint64_t)i);
	return net;
}

static void
tn_free(struct tnet *net)
{
	for (int i = 0; i < TN_MAX; i++)
		swim_free(net->n[i].s);
	free(net->q);
	free(net->log);
	free(net);
}

static void
tn_flush(struct tnet *net)
{
	struct tdgram d;
	struct tnode *to;

	while (net->qlen > 0) {
		d = net->q[net->qhead];
		net->qhead = (net->qhead + 1) % TQ_MAX;
		net->qlen--;
		to = &net->n[d.to];
		if (to->s == NULL || to->down || net->n[d.from].down ||
		    (net->cut[d.from][d.to] & (1U << d.type)))
			continue;
		swim_on_message(to->s, net->n[d.from].id, &net->n[d.from].addr, d.type, d.buf,
				d.len, net->now);
		to->deadline = swim_tick(to->s, net->now);
	}
}

static void
tn_run(struct tnet *net, uint64_t ms)
{
	uint64_t end = net->now + ms;
	uint64_t d;

	for (; net->now < end; net->now++) {
		tn_flush(net);
		for (int i = 0; i < net->count; i++) {
			struct tnode *nd = &net->n[i];

			if (nd->s == NULL || nd->down || net->now < nd->deadline)
				continue;
			d = swim_tick(nd->s, net->now);
			ASSERT_GT(d, net->now);
			nd->deadline = d;
			tn_flush(net);
		}
	}
}

static void
tn_join_all(struct tnet *net)
{
	struct swim_addr seed = net->n[0].addr;

	for (int i = 1; i < net->count; i++)
		ASSERT_OK(swim_join(net->n[i].s, &seed, 1, net->now));
	tn_run(net, 3000);
	for (int i = 0; i < net->count; i++)
		ASSERT_EQ(swim_count(net->n[i].s), (size_t)net->count);
}

static void
tn_cut(struct tnet *net, int a, int b, unsigned types)
{
	net->cut[a][b] = types;
	net->cut[b][a] = types;
}

/* State of member `id` in node idx's view, or -1. */
static int
tn_state(struct tnet *net, int idx, uint64_t id)
{
	const struct swim_member *m = swim_find(net->n[idx].s, id);

	return m == NULL ? -1 : (int)m->state;
}

static struct swim_stats
tn_stats(struct tnet *net, int idx)
{
	struct swim_stats st;

	swim_stats(net->n[idx].s, &st);
	return st;
}

/* First event of node idx about `id` entering `st` at or after `since`. */
static const struct tevent *
tn_event(struct tnet *net, int idx, uint64_t id, enum swim_state st, uint64_t since)
{
	struct tnode *nd = &net->n[idx];

	for (size_t i = 0; i < nd->nev; i++)
		if (nd->ev[i].id == id && nd->ev[i].st == st &&
		    (nd->ev[i].old != st || nd->ev[i].is_new) && nd->ev[i].at >= since)
			return &nd->ev[i];
	return NULL;
}

/* Counts logged datagrams matching from/to/type (-1: any) sent at >= since. */
static size_t
tn_count_sent(struct tnet *net, int from, int to, int type, uint64_t since)
{
	size_t n = 0, first = net->nlog > TLOG_MAX ? net->nlog - TLOG_MAX : 0;

	for (size_t i = first; i < net->nlog; i++) {
		const struct tdgram *d = &net->log[i % TLOG_MAX];

		if ((from < 0 || d->from == from) && (to < 0 || d->to == to) &&
		    (type < 0 || d->type == type) && d->at >= since)
			n++;
	}
	return n;
}

/* The k-th (from 0) logged datagram matching, or NULL. */
static const struct tdgram *
tn_find_sent(struct tnet *net, int from, int to, int type, uint64_t since, size_t k)
{
	size_t first = net->nlog > TLOG_MAX ? net->nlog - TLOG_MAX : 0;

	for (size_t i = first; i < net->nlog; i++) {
		const struct tdgram *d = &net->log[i % TLOG_MAX];

		if ((from < 0 || d->from == from) && (to < 0 || d->to == to) &&
		    (type < 0 || d->type == type) && d->at >= since && k-- == 0)
			return d;
	}
	return NULL;
}

/*
 * Decodes d and gathers what it says of member `id` into one record: the
 * state from its MEMBER or ACCUSE record (an accusation wins), its address
 * and name from the MEMBER one, its load from the LOAD one; `kind` is the
 * last of them. False when d says nothing of it.
 */
static bool
dgram_record(const struct tdgram *d, uint64_t id, struct swim_record *out, struct swim_msg *msg)
{
	struct swim_record r;
	struct swim_msg m;
	struct swim_load load = { 0 };
	bool found = false, accused = false;
	size_t off = 0;

	ASSERT_EQ(swim_codec_decode(d->type, d->buf, d->len, &m), SWIM_CODEC_OK);
	if (msg != NULL)
		*msg = m;
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < m.count; i++) {
		ASSERT_EQ(swim_codec_record(m.rec, m.rec_len, &off, &r), SWIM_CODEC_OK);
		if (r.id != id || r.kind == SWIM_REC_APP)
			continue;
		if (r.kind == SWIM_REC_LOAD) {
			load = r.load;
		} else if (r.kind == SWIM_REC_MEMBER && !accused) {
			*out = r;
		} else if (r.kind == SWIM_REC_ACCUSE) {
			out->id = r.id;
			out->incarnation = r.incarnation;
			out->state = r.state;
			out->from = r.from;
			accused = true;
		}
		out->kind = r.kind;
		found = true;
	}
	out->load = load;
	return found;
}

/* ---- solo harness: node 0 is real, everybody else is made up ---- */

/* A record about imaginary member `id`: its own claim (MEMBER, signed on
 * delivery) for ALIVE and LEFT, an accusation by `from` for SUSPECT and DEAD. */
static struct swim_record
fake_rec(uint64_t id, uint64_t inc, enum swim_state st, uint64_t from)
{
	struct swim_record r;

	memset(&r, 0, sizeof(r));
	r.kind = st == SWIM_SUSPECT || st == SWIM_DEAD ? SWIM_REC_ACCUSE : SWIM_REC_MEMBER;
	r.id = id;
	r.incarnation = inc;
	r.state = st;
	r.from = from;
	r.addr = t_addr(1); /* nobody listens: captured only */
	r.addr.port = (uint16_t)(20000 + id % 1000);
	snprintf(r.name, sizeof(r.name), "fake-%llu", (unsigned long long)id);
	return r;
}

/* Delivers a crafted message from `from_id` to the solo node. */
static void
solo_deliver(struct tnet *net, uint64_t from_id, const struct swim_msg *h,
	     const struct swim_record *recs, size_t n)
{
	uint8_t buf[WIRE_MAX_PAYLOAD * 4];
	struct swim_writer w;
	struct swim_addr from = t_addr(1);

	from.port = (uint16_t)(20000 + from_id % 1000);
	ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), h));
	for (size_t i = 0; i < n; i++) {
		struct swim_record r = recs[i];

		/* A test that changes a record's state reuses it: keep the kind
		 * right (a state of ALIVE or LEFT is a claim, else an accusation). */
		if (r.kind == SWIM_REC_MEMBER || r.kind == SWIM_REC_ACCUSE)
			r.kind = r.state == SWIM_SUSPECT || r.state == SWIM_DEAD ? SWIM_REC_ACCUSE
										 : SWIM_REC_MEMBER;
		t_sign_rec(&r);
		ASSERT_OK(swim_codec_add(&w, &r));
	}
	swim_on_message(net->n[0].s, from_id, &from, h->type, buf, swim_codec_end(&w), net->now);
	net->n[0].deadline = swim_tick(net->n[0].s, net->now);
}

static void
solo_gossip(struct tnet *net, uint64_t from_id, const struct swim_record *recs, size_t n)
{
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };

	solo_deliver(net, from_id, &h, recs, n);
}

#define SOLO_ID 100000

/* A node (id SOLO_ID) alone with `members` imaginary ALIVE peers (ids
 * 1..members), admitted as if it had pinged each (swim_prime). */
static struct tnet *
solo_new(const struct swim_config *cfg, uint64_t members)
{
	struct tnet *net = tn_new(0, cfg, 3);
	struct swim_record r;

	tn_boot(net, 0, SOLO_ID, 5000);
	net->hold = true;
	for (uint64_t id = 1; id <= members; id++) {
		r = fake_rec(id, 1, SWIM_ALIVE, 0);
		t_sign_rec(&r);
		ASSERT_OK(swim_prime(net->n[0].s, &r, net->now));
	}
	ASSERT_EQ(swim_count(net->n[0].s), members + 1);
	return net;
}

static bool
solo_is_alive(const struct tnet *net, uint64_t id)
{
	for (size_t i = 0; i < net->nalive_ids; i++)
		if (net->alive_ids[i] == id)
			return true;
	return false;
}

/* Runs the solo node; acks pings to ids in net->alive_ids. */
static void
solo_run(struct tnet *net, uint64_t ms)
{
	uint64_t end = net->now + ms;
	size_t seen = net->nlog;
	struct swim_msg m, h;
	struct swim_addr from;

	for (; net->now < end; net->now++) {
		if (net->now >= net->n[0].deadline)
			net->n[0].deadline = swim_tick(net->n[0].s, net->now);
		for (; seen < net->nlog; seen++) {
			const struct tdgram *d = &net->log[seen % TLOG_MAX];

			if (d->type != SWIM_MSG_PING)
				continue;
			ASSERT_EQ(swim_codec_decode(d->type, d->buf, d->len, &m), SWIM_CODEC_OK);
			if (!solo_is_alive(net, m.target))
				continue;
			memset(&h, 0, sizeof(h));
			h.type = SWIM_MSG_ACK;
			h.seq = m.seq;
			h.target = m.target;
			from = t_addr(1);
			(void)from;
			solo_deliver(net, m.target, &h, NULL, 0);
		}
	}
}

static void
solo_all_alive(struct tnet *net, uint64_t members)
{
	net->nalive_ids = 0;
	for (uint64_t id = 1; id <= members; id++)
		net->alive_ids[net->nalive_ids++] = id;
}

/* Member `id` says it is ALIVE at `inc` with a load sample at `version`. */
static void
solo_load(struct tnet *net, uint64_t from_id, uint64_t id, uint64_t inc, uint32_t version,
	  uint16_t cpu)
{
	struct swim_record r[2] = { fake_rec(id, inc, SWIM_ALIVE, 0),
				    fake_rec(id, 0, SWIM_ALIVE, 0) };

	r[1].kind = SWIM_REC_LOAD;
	r[1].load.version = version;
	r[1].load.cpu_permille = cpu;
	solo_gossip(net, from_id, r, 2);
}

static void t_sign_as(struct swim_record *r, uint64_t signer);

/* ================= configuration and API edges ================= */

TEST(swim_config_defaults)
{
	struct swim_config c;

	swim_config_default(&c);
	ASSERT_EQ(c.probe_interval_ms, 1000);
	ASSERT_EQ(c.probe_timeout_ms, 200);
	ASSERT_EQ(c.suspicion_unit_ms, 400);
	ASSERT_EQ(c.gossip_interval_ms, 200);
	ASSERT_EQ(c.gossip_fanout, 3);
	ASSERT_EQ(c.indirect_checks, 4);
	ASSERT_EQ(c.suspicion_min_mult, 1);
	ASSERT_EQ(c.suspicion_max_mult, 6);
	ASSERT_EQ(c.suspicion_confirmations, 2);
	ASSERT_EQ(c.retransmit_mult, 4);
	ASSERT_EQ(c.awareness_max, 8);
	ASSERT_EQ(c.pushpull_interval_ms, 60000);
	ASSERT_EQ(c.reap_after_ms, 60000);
	ASSERT_EQ(c.join_retry_ms, 1000);
	ASSERT_EQ(c.max_payload, WIRE_MAX_PAYLOAD);
}

TEST(swim_new_rejects_bad_arguments)
{
	struct swim_config c, bad;
	struct swim_ops ops = t_ops, noop = t_ops;
	struct tnet *net = tn_new(0, NULL, 1);
	struct tnode *nd = &net->n[0];
	struct swim_addr a = t_addr(0);
	char longname[SWIM_NAME_MAX + 1];
	struct swim *s;

	nd->net = net;
	t_keys(1, nd->pk, nd->sk);
	swim_config_default(&c);
	memset(longname, 'x', SWIM_NAME_MAX);
	longname[SWIM_NAME_MAX] = '\0';
#define REJECT(field, value)                                                                       \
	do {                                                                                       \
		bad = c;                                                                           \
		bad.field = value;                                                                 \
		ASSERT_NULL(swim_new(&bad, &ops, nd, 1, 1, &a, "n", nd->pk, 0));                   \
	} while (0)
	REJECT(probe_interval_ms, 0);
	REJECT(probe_timeout_ms, 0);
	REJECT(probe_timeout_ms, c.probe_interval_ms); /* must be below the interval */
	REJECT(suspicion_unit_ms, 0);
	REJECT(gossip_interval_ms, 0);
	REJECT(gossip_fanout, 0);
	REJECT(gossip_fanout, 17);
	REJECT(indirect_checks, 17);
	REJECT(suspicion_min_mult, 0);
	REJECT(suspicion_max_mult, 0);
	REJECT(suspicion_confirmations, 9);
	REJECT(retransmit_mult, 0);
	REJECT(awareness_max, 0);
	REJECT(reap_after_ms, 0);
	REJECT(join_retry_ms, 0);
	REJECT(max_payload, 100);
	REJECT(max_payload, 70000);
	REJECT(max_joining, 0);
	REJECT(verify_per_sec, 0);
	REJECT(load_budget_bytes, SWIM_LOAD_LEN);
	REJECT(load_bytes_per_sec, (SWIM_LOAD_LEN + 8) / 2);
#undef REJECT
	ASSERT_NULL(swim_new(&c, &ops, nd, 0, 1, &a, "n", nd->pk, 0));
	ASSERT_NULL(swim_new(&c, &ops, nd, 1, 1, NULL, "n", nd->pk, 0));
	ASSERT_NULL(swim_new(&c, &ops, nd, 1, 1, &a, longname, nd->pk, 0));
	ASSERT_NULL(swim_new(&c, &ops, nd, 1, 1, &a, "n", NULL, 0)); /* no key */
	a.port = 0;
	ASSERT_NULL(swim_new(&c, &ops, nd, 1, 1, &a, "n", nd->pk, 0));
	a = t_addr(0);
	a.family = 5;
	ASSERT_NULL(swim_new(&c, &ops, nd, 1, 1, &a, "n", nd->pk, 0));
	a = t_addr(0);
	noop.send = NULL;
	ASSERT_NULL(swim_new(&c, &noop, nd, 1, 1, &a, "n", nd->pk, 0));
	noop = t_ops;
	noop.random = NULL;
	ASSERT_NULL(swim_new(&c, &noop, nd, 1, 1, &a, "n", nd->pk, 0));
	noop = t_ops;
	noop.sign = NULL; /* a node that cannot sign its own record */
	ASSERT_NULL(swim_new(&c, &noop, nd, 1, 1, &a, "n", nd->pk, 0));
	noop = t_ops;
	noop.event = NULL; /* optional */
	longname[SWIM_NAME_MAX - 1] = '\0';
	s = swim_new(&c, &noop, nd, 1, 1, &a, longname, nd->pk, 0);
	ASSERT_NOT_NULL(s);
	ASSERT_STR_EQ(swim_self(s)->name, longname);
	ASSERT_EQ(swim_count(s), 1);
	ASSERT_FALSE(swim_joined(s));
	ASSERT_NULL(swim_member_at(s, 1));
	ASSERT_U64_EQ(swim_member_at(s, 0)->id, 1);
	ASSERT_EQ(swim_join(s, &a, 0, 0), -EINVAL);
	a.port = 0;
	ASSERT_EQ(swim_join(s, &a, 1, 0), -EINVAL);
	swim_free(s);
	s = swim_new(&c, &noop, nd, 1, 1, &a, NULL, nd->pk, 0); /* port 0 */
	ASSERT_NULL(s);
	swim_free(NULL);
	tn_free(net);
}

TEST(swim_state_names)
{
	ASSERT_STR_EQ(swim_state_name(SWIM_ALIVE), "alive");
	ASSERT_STR_EQ(swim_state_name(SWIM_SUSPECT), "suspect");
	ASSERT_STR_EQ(swim_state_name(SWIM_DEAD), "dead");
	ASSERT_STR_EQ(swim_state_name(SWIM_LEFT), "left");
	ASSERT_STR_EQ(swim_state_name((enum swim_state)9), "unknown");
}

/* ================= joining, probing ================= */

TEST(swim_join_via_seed)
{
	struct tnet *net = tn_new(5, NULL, 1);

	ASSERT_FALSE(swim_joined(net->n[1].s));
	tn_join_all(net);
	for (int i = 0; i < 5; i++) {
		ASSERT_TRUE(swim_joined(net->n[i].s));
		for (int j = 0; j < 5; j++)
			ASSERT_EQ(tn_state(net, i, net->n[j].id), SWIM_ALIVE);
	}
	/* every node heard of the others as new members, with events */
	ASSERT_NOT_NULL(tn_event(net, 4, 101, SWIM_ALIVE, 0));
	ASSERT_TRUE(tn_event(net, 4, 101, SWIM_ALIVE, 0)->is_new);
	ASSERT_EQ(tn_stats(net, 4).joins, 4);
	ASSERT_EQ(tn_stats(net, 0).decode_errors, 0);
	ASSERT_STR_EQ(swim_find(net->n[3].s, 101)->name, "node-1");
	/* Every stranger answered: none holds the slots it pinged them from. */
	for (int i = 0; i < 5; i++)
		ASSERT_NULL(net->n[i].s->joining);
	tn_free(net);
}

TEST(swim_join_retries_with_backoff)
{
	struct tnet *net = tn_new(2, NULL, 2);
	struct swim_addr seed = net->n[0].addr;
	uint64_t t0 = net->now;
	const uint64_t want[] = { 0, 1000, 3000, 7000, 15000, 31000, 61000, 91000 };

	net->n[0].down = true;
	ASSERT_OK(swim_join(net->n[1].s, &seed, 1, net->now));
	tn_run(net, 100000);
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		const struct tdgram *d = tn_find_sent(net, 1, 0, SWIM_MSG_STATE, t0, k);

		ASSERT_NOT_NULL(d);
		ASSERT_EQ(d->at - t0, want[k]);
		ASSERT_EQ(d->buf[1], SWIM_STATE_WHO); /* our record, asking for the seed's */
	}
	ASSERT_EQ(tn_count_sent(net, 1, 0, SWIM_MSG_STATE, t0), 8);
	/* the seed comes up: the next retry joins, and retries stop */
	net->n[0].down = false;
	tn_run(net, 31000);
	ASSERT_TRUE(swim_joined(net->n[1].s));
	ASSERT_EQ(tn_state(net, 0, 101), SWIM_ALIVE);
	t0 = net->now;
	tn_run(net, 20000);
	for (size_t k = 0; tn_find_sent(net, 1, 0, SWIM_MSG_STATE, t0, k) != NULL; k++)
		ASSERT_EQ(tn_find_sent(net, 1, 0, SWIM_MSG_STATE, t0, k)->buf[1], 0); /* no join */
	tn_free(net);
}

TEST(swim_ping_ack)
{
	struct tnet *net = tn_new(2, NULL, 3);
	const struct tdgram *ping, *ack;
	struct swim_msg pm, am;
	struct swim_record r;
	uint64_t t0;

	tn_join_all(net);
	t0 = net->now;
	tn_run(net, 5000);
	ping = tn_find_sent(net, 0, 1, SWIM_MSG_PING, t0, 0);
	ASSERT_NOT_NULL(ping);
	(void)dgram_record(ping, 0, &r, &pm);
	ASSERT_U64_EQ(pm.target, 101);
	ack = tn_find_sent(net, 1, 0, SWIM_MSG_ACK, ping->at, 0);
	ASSERT_NOT_NULL(ack);
	ASSERT_EQ(ack->at, ping->at); /* answered at once */
	(void)dgram_record(ack, 0, &r, &am);
	ASSERT_EQ(am.seq, pm.seq);
	ASSERT_U64_EQ(am.target, 101);
	/* a probe every probe interval, every one acked, nothing else needed */
	ASSERT_GE(tn_stats(net, 0).probes, 5000 / net->cfg.probe_interval_ms);
	ASSERT_EQ(tn_stats(net, 0).probe_acks, tn_stats(net, 0).probes);
	ASSERT_EQ(tn_stats(net, 0).indirect_probes, 0);
	ASSERT_EQ(tn_stats(net, 0).suspicions, 0);
	ASSERT_EQ(tn_stats(net, 0).confirm_probes, 0);
	ASSERT_EQ(tn_count_sent(net, 0, 1, SWIM_MSG_PING, t0), 5000 / net->cfg.probe_interval_ms);
	ASSERT_EQ(tn_stats(net, 0).awareness, 0);
	tn_free(net);
}

TEST(swim_ping_for_someone_else_is_not_acked)
{
	struct tnet *net = solo_new(NULL, 3);
	struct swim_msg h = { .type = SWIM_MSG_PING, .seq = 9, .target = 555 };
	size_t before = net->nlog;

	solo_deliver(net, 2, &h, NULL, 0);
	ASSERT_EQ(net->nlog, before);
	h.target = SOLO_ID;
	solo_deliver(net, 2, &h, NULL, 0);
	ASSERT_EQ(net->nlog, before + 1);
	ASSERT_EQ(net->log[before % TLOG_MAX].type, SWIM_MSG_ACK);
	tn_free(net);
}

TEST(swim_indirect_probe_when_direct_path_cut)
{
	struct tnet *net = tn_new(3, NULL, 4);
	uint64_t t0;
	const struct tdgram *req, *relay;
	struct swim_msg m;
	struct swim_record r;

	tn_join_all(net);
	t0 = net->now;
	tn_cut(net, 0, 1, CUT_ALL);
	tn_run(net, 20000);
	ASSERT_EQ(tn_state(net, 0, 101), SWIM_ALIVE);
	ASSERT_EQ(tn_state(net, 1, 100), SWIM_ALIVE);
	ASSERT_GE(tn_stats(net, 0).indirect_probes, 1);
	ASSERT_EQ(tn_stats(net, 0).suspicions, 0);
	ASSERT_EQ(tn_stats(net, 0).probe_acks, tn_stats(net, 0).probes);
	req = tn_find_sent(net, 0, 2, SWIM_MSG_PING_REQ, t0, 0);
	ASSERT_NOT_NULL(req);
	(void)dgram_record(req, 0, &r, &m);
	ASSERT_U64_EQ(m.target, 101);
	ASSERT_EQ(m.target_addr.port, TN_PORT + 1);
	/* the helper pinged the target and relayed its ack with our seq */
	ASSERT_NOT_NULL(tn_find_sent(net, 2, 1, SWIM_MSG_PING, req->at, 0));
	relay = tn_find_sent(net, 2, 0, SWIM_MSG_ACK, req->at, 0);
	ASSERT_NOT_NULL(relay);
	{
		struct swim_msg am;
		struct swim_record tr;

		/* ... carrying the helper's record of the target first */
		ASSERT_TRUE(dgram_record(relay, 101, &tr, &am));
		ASSERT_EQ(am.seq, m.seq);
		ASSERT_U64_EQ(am.target, 101);
	}
	/* the direct ping was retried at half the probe timeout and at the timeout */
	ASSERT_EQ(tn_find_sent(net, 0, 1, SWIM_MSG_PING, req->at - 200, 1)->at, req->at - 100);
	ASSERT_EQ(tn_find_sent(net, 0, 1, SWIM_MSG_PING, req->at - 200, 2)->at, req->at);
	tn_free(net);
}

TEST(swim_nack_and_awareness_unchanged)
{
	struct tnet *net = tn_new(4, NULL, 5);
	uint64_t t0;

	tn_join_all(net);
	net->n[3].down = true;
	t0 = net->now;
	tn_run(net, 8000);
	/* every prober of 103 asked the two live helpers, which nacked */
	ASSERT_GE(tn_stats(net, 0).nacks_received + tn_stats(net, 1).nacks_received +
			  tn_stats(net, 2).nacks_received,
		  2);
	ASSERT_GE(tn_stats(net, 0).nacks_sent + tn_stats(net, 1).nacks_sent +
			  tn_stats(net, 2).nacks_sent,
		  2);
	ASSERT_GE(tn_count_sent(net, -1, -1, SWIM_MSG_NACK, t0), 2);
	/* a failed probe whose helpers all nacked says nothing about us */
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(tn_stats(net, i).awareness, 0);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(tn_state(net, i, 103), SWIM_DEAD);
	tn_free(net);
}

TEST(swim_stray_ack_does_not_satisfy_probe)
{
	struct tnet *net = solo_new(NULL, 1);
	struct swim_msg m, h;
	const struct tdgram *ping = NULL;
	struct swim_record r;

	/* member 1 never answers; find the probe */
	for (int i = 0; i < 1000 && ping == NULL; i++) {
		solo_run(net, 1);
		ping = tn_find_sent(net, 0, -1, SWIM_MSG_PING, 0, 0);
	}
	ASSERT_NOT_NULL(ping);
	(void)dgram_record(ping, 0, &r, &m);
	memset(&h, 0, sizeof(h));
	h.type = SWIM_MSG_ACK;
	h.seq = m.seq + 1; /* wrong sequence */
	h.target = 1;
	solo_deliver(net, 1, &h, NULL, 0);
	h.seq = m.seq;
	h.target = 7; /* wrong target */
	solo_deliver(net, 1, &h, NULL, 0);
	h.target = 1;
	solo_deliver(net, 55, &h, NULL, 0); /* right ack, from a stranger */
	ASSERT_EQ(tn_stats(net, 0).probe_acks, 0);
	solo_deliver(net, 1, &h, NULL, 0); /* the target itself */
	ASSERT_EQ(tn_stats(net, 0).probe_acks, 1);
	solo_deliver(net, 1, &h, NULL, 0); /* a duplicate counts once */
	ASSERT_EQ(tn_stats(net, 0).probe_acks, 1);
	tn_free(net);
}

/* ================= suspicion, death, refutation ================= */

TEST(swim_suspect_then_dead_two_nodes)
{
	struct tnet *net = tn_new(2, NULL, 6);
	const struct tevent *s, *d;
	uint64_t t0;

	tn_join_all(net);
	t0 = net->now;
	net->n[1].down = true;
	tn_run(net, 5000);
	s = tn_event(net, 0, 101, SWIM_SUSPECT, t0);
	d = tn_event(net, 0, 101, SWIM_DEAD, t0);
	ASSERT_NOT_NULL(s);
	ASSERT_NOT_NULL(d);
	/* within a probe interval and a probe window (3 probe timeouts) */
	ASSERT_LE(s->at - t0, net->cfg.probe_interval_ms + 3 * net->cfg.probe_timeout_ms);
	/* N = 2: k = 0, min = 1 x max(1, log10 2) x suspicion_unit, then three
	 * last-chance pings 100 ms apart */
	ASSERT_EQ(d->at - s->at, net->cfg.suspicion_unit_ms + 3 * 100);
	ASSERT_EQ(d->old, SWIM_SUSPECT);
	ASSERT_EQ(tn_stats(net, 0).suspicions, 1);
	ASSERT_EQ(tn_stats(net, 0).deaths, 1);
	ASSERT_EQ(tn_stats(net, 0).leaves, 0);
	/* the last chances: three pings carrying the suspicion */
	/* (and the round-robin probe of the suspect, a ping and its retry, may
	 * fall in the same time) */
	ASSERT_GE(tn_count_sent(net, 0, 1, SWIM_MSG_PING, s->at + 500), 3);
	ASSERT_LE(tn_count_sent(net, 0, 1, SWIM_MSG_PING, s->at + 500), 5);
	/* DEAD members are not probed */
	ASSERT_EQ(tn_count_sent(net, 0, 1, SWIM_MSG_PING, d->at + 1), 0);
	ASSERT_FALSE(swim_joined(net->n[0].s));
	tn_free(net);
}

TEST(swim_confirmations_shorten_timeout)
{
	struct swim_config c;
	struct tnet *net;
	struct swim_record r;
	const struct tevent *d;
	uint64_t t0;
	int round;

	swim_config_default(&c);
	c.suspicion_unit_ms = 500;
	/* N = 100 (99 imaginary + self): min = 1000, max = 6000, k = 2 */
	for (round = 0; round < 3; round++) {
		net = solo_new(&c, 99);
		solo_all_alive(net, 99);
		net->alive_ids[49] = 1; /* member 50 never answers: drop it from the list */
		t0 = net->now;
		r = fake_rec(50, 1, SWIM_SUSPECT, 7);
		solo_gossip(net, 7, &r, 1);
		ASSERT_EQ(tn_state(net, 0, 50), SWIM_SUSPECT);
		if (round >= 1) {
			r.from = 8;
			solo_gossip(net, 8, &r, 1);
		}
		if (round >= 2) {
			r.from = 9;
			solo_gossip(net, 9, &r, 1);
			r.from = 10; /* beyond k: no further effect */
			solo_gossip(net, 10, &r, 1);
		}
		solo_run(net, 7000);
		d = tn_event(net, 0, 50, SWIM_DEAD, t0);
		ASSERT_NOT_NULL(d);
		/* max - (max - min) ln(c + 1)/ln(k + 1), then 3 x 100 ms of last
		 * chances unless k confirmations arrived */
		if (round == 0)
			ASSERT_EQ(d->at - t0, 6000 + 300);
		else if (round == 1)
			ASSERT_EQ(d->at - t0, 2845 + 300);
		else
			ASSERT_EQ(d->at - t0, 1000);
		tn_free(net);
	}
}

/* Hearing of a suspicion in a small cluster: probe the suspect at once, with
 * the suspicion in the ping (so a live one can refute); a failed check is
 * one independent confirmation, which brings its death forward. */
TEST(swim_confirm_probe_checks_a_suspicion)
{
	struct tnet *net = solo_new(NULL, 5);
	struct swim_record r = fake_rec(3, 1, SWIM_SUSPECT, 1), got;
	const struct tevent *d;
	struct swim_msg m;
	size_t before;
	bool pinged = false;
	uint64_t t0;

	solo_all_alive(net, 5);
	net->alive_ids[2] = 1; /* member 3 never answers */
	solo_run(net, 10);
	before = net->nlog;
	t0 = net->now;
	solo_gossip(net, 1, &r, 1);
	ASSERT_EQ(tn_state(net, 0, 3), SWIM_SUSPECT);
	ASSERT_EQ(tn_stats(net, 0).confirm_probes, 1);
	for (size_t i = before; i < net->nlog; i++) {
		const struct tdgram *dg = &net->log[i % TLOG_MAX];

		if (dg->type == SWIM_MSG_PING && dg->at == t0 && dgram_record(dg, 3, &got, &m) &&
		    m.target == 3 && got.state == SWIM_SUSPECT)
			pinged = true;
	}
	ASSERT_TRUE(pinged);
	/* Another accuser changes no state: no second check. */
	r.from = 2;
	solo_gossip(net, 2, &r, 1);
	ASSERT_EQ(tn_stats(net, 0).confirm_probes, 1);
	solo_run(net, 5000);
	d = tn_event(net, 0, 3, SWIM_DEAD, t0);
	ASSERT_NOT_NULL(d);
	/* N = 6: min 400 ms, max 2400 ms, k = 2; member 2 and our own failed
	 * check (after 2 probe timeouts, 400 ms) are the two confirmations, and
	 * the minimum has passed: dead at once (without the check: 2400 ms). */
	ASSERT_GE(d->at - t0, 400);
	ASSERT_LE(d->at - t0, 401);
	tn_free(net);
}

TEST(swim_confirmation_is_regossiped)
{
	struct swim_config c;
	struct tnet *net;
	struct swim_record r = fake_rec(5, 1, SWIM_SUSPECT, 7), got;
	const struct tdgram *d;
	uint64_t t0;

	swim_config_default(&c);
	c.suspicion_max_mult = 100; /* keep the suspicion alive through the test */
	c.suspicion_confirmations = 3;
	net = solo_new(&c, 20);
	solo_all_alive(net, 20);
	solo_gossip(net, 7, &r, 1);
	solo_run(net, 3000); /* let the first accusation be sent out */
	t0 = net->now;
	r.from = 8;
	solo_gossip(net, 8, &r, 1);
	solo_run(net, 400);
	d = tn_find_sent(net, 0, -1, SWIM_MSG_GOSSIP, t0, 0);
	ASSERT_NOT_NULL(d);
	ASSERT_TRUE(dgram_record(d, 5, &got, NULL));
	ASSERT_EQ(got.state, SWIM_SUSPECT);
	ASSERT_U64_EQ(got.from, 8); /* the new accuser travels */
	/* the same accuser again is not news */
	solo_run(net, 5000);
	t0 = net->now;
	solo_gossip(net, 8, &r, 1);
	solo_run(net, 400);
	ASSERT_EQ(tn_count_sent(net, 0, -1, SWIM_MSG_GOSSIP, t0), 0);
	tn_free(net);
}

TEST(swim_refutation_everywhere)
{
	struct tnet *net = tn_new(4, NULL, 7);
	uint64_t inc = swim_self(net->n[2].s)->incarnation;
	struct swim_record r;
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
	uint8_t buf[256];
	struct swim_writer w;

	tn_join_all(net);
	/* node 1 says node 2 is suspect, to node 3 */
	r = fake_rec(102, inc, SWIM_SUSPECT, 101);
	t_sign_rec(&r);
	ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
	ASSERT_OK(swim_codec_add(&w, &r));
	swim_on_message(net->n[3].s, 101, &net->n[1].addr, SWIM_MSG_GOSSIP, buf, swim_codec_end(&w),
			net->now);
	ASSERT_EQ(tn_state(net, 3, 102), SWIM_SUSPECT);
	tn_run(net, 3000);
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(tn_state(net, i, 102), SWIM_ALIVE);
		ASSERT_U64_EQ(swim_find(net->n[i].s, 102)->incarnation, inc + 1);
	}
	ASSERT_EQ(tn_stats(net, 2).refutations, 1);
	ASSERT_NOT_NULL(tn_event(net, 3, 102, SWIM_ALIVE, 0));
	ASSERT_EQ(tn_stats(net, 0).deaths + tn_stats(net, 1).deaths + tn_stats(net, 3).deaths, 0);
	tn_free(net);
}

TEST(swim_dead_about_self_is_refuted)
{
	struct tnet *net = solo_new(NULL, 3);
	struct swim_record r = fake_rec(SOLO_ID, 5000, SWIM_DEAD, 2);
	const struct tdgram *d;
	struct swim_record got;
	uint64_t t0 = net->now;

	solo_gossip(net, 2, &r, 1);
	ASSERT_U64_EQ(swim_self(net->n[0].s)->incarnation, 5001);
	ASSERT_EQ(swim_self(net->n[0].s)->state, SWIM_ALIVE);
	/* An accusation above our incarnation is refuted at ours + 1: nobody
	 * can push us up (DEAD at 2^64 - 1 could never be refuted). */
	r.incarnation = UINT64_MAX;
	r.state = SWIM_SUSPECT;
	solo_gossip(net, 2, &r, 1);
	ASSERT_U64_EQ(swim_self(net->n[0].s)->incarnation, 5002);
	ASSERT_EQ(tn_stats(net, 0).refutations, 2);
	ASSERT_EQ(tn_stats(net, 0).awareness, 2);
	solo_run(net, 300);
	d = tn_find_sent(net, 0, -1, SWIM_MSG_GOSSIP, t0, 0);
	ASSERT_NOT_NULL(d);
	ASSERT_TRUE(dgram_record(d, SOLO_ID, &got, NULL));
	ASSERT_EQ(got.state, SWIM_ALIVE);
	ASSERT_U64_EQ(got.incarnation, 5002);
	tn_free(net);
}

TEST(swim_left_about_self_from_others_is_refused)
{
	/* A LEFT is a claim about oneself: only we can sign ours. Another's
	 * is refused, and so is one of ours made with another key. */
	struct tnet *net = solo_new(NULL, 3);
	struct swim_record r = fake_rec(SOLO_ID, 5000, SWIM_LEFT, 0);
	uint8_t pk[32], sk[64], msg[SWIM_SIGNED_MAX];

	t_keys(2, pk, sk);
	crypto_sign_detached(r.sig, NULL, msg, swim_codec_signed(0, &r, pk, msg), sk);
	solo_gossip(net, 2, &r, 1);
	ASSERT_EQ(swim_self(net->n[0].s)->state, SWIM_ALIVE);
	ASSERT_U64_EQ(swim_self(net->n[0].s)->incarnation, 5000);
	ASSERT_EQ(tn_stats(net, 0).bad_signatures, 1);
	/* Our own LEFT from an earlier life (our key) is outbid. */
	memset(r.sig, 0, sizeof(r.sig));
	solo_gossip(net, 2, &r, 1);
	ASSERT_EQ(swim_self(net->n[0].s)->state, SWIM_ALIVE);
	ASSERT_U64_EQ(swim_self(net->n[0].s)->incarnation, 5001);
	ASSERT_EQ(tn_stats(net, 0).awareness, 0); /* not a health signal */
	tn_free(net);
}

TEST(swim_buddy_ping_carries_suspicion)
{
	struct tnet *net = tn_new(3, NULL, 8);
	uint64_t inc = swim_self(net->n[1].s)->incarnation, t0;
	struct swim_record r, got;
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
	uint8_t buf[256];
	struct swim_writer w;
	const struct tdgram *ping, *ack;

	tn_join_all(net);
	/* node 0 hears that 101 is suspect, but 101 hears nothing yet */
	net->cut[0][1] = CUT_ALL & ~(1U << SWIM_MSG_PING);
	net->cut[2][1] = CUT_ALL; /* and 102, the accuser, tells 101 nothing */
	r = fake_rec(101, inc, SWIM_SUSPECT, 102);
	t_sign_rec(&r);
	ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
	ASSERT_OK(swim_codec_add(&w, &r));
	swim_on_message(net->n[0].s, 102, &net->n[2].addr, SWIM_MSG_GOSSIP, buf, swim_codec_end(&w),
			net->now);
	t0 = net->now;
	tn_run(net, 2000);
	ping = tn_find_sent(net, 0, 1, SWIM_MSG_PING, t0, 0);
	ASSERT_NOT_NULL(ping);
	/* the ping carries the suspicion, accuser and all */
	ASSERT_TRUE(dgram_record(ping, 101, &got, NULL));
	ASSERT_EQ(got.state, SWIM_SUSPECT);
	ASSERT_U64_EQ(got.from, 102);
	/* the target refuted on receipt, and the ack carried it */
	ack = tn_find_sent(net, 1, 0, SWIM_MSG_ACK, ping->at, 0);
	ASSERT_NOT_NULL(ack);
	ASSERT_TRUE(dgram_record(ack, 101, &got, NULL));
	ASSERT_EQ(got.state, SWIM_ALIVE);
	ASSERT_U64_EQ(got.incarnation, inc + 1);
	ASSERT_EQ(tn_state(net, 0, 101), SWIM_ALIVE);
	ASSERT_EQ(tn_stats(net, 1).refutations, 1);
	tn_free(net);
}

TEST(swim_last_chance_saves_member_that_missed_refutation)
{
	/* Node 0 holds a stale suspicion of 101 and receives no gossip at all;
	 * only its own pings and their acks go through. */
	struct tnet *net = tn_new(3, NULL, 9);
	uint64_t inc = swim_self(net->n[1].s)->incarnation;
	struct swim_record r;
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
	uint8_t buf[256];
	struct swim_writer w;

	tn_join_all(net);
	r = fake_rec(101, inc, SWIM_SUSPECT, 102);
	t_sign_rec(&r);
	ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
	ASSERT_OK(swim_codec_add(&w, &r));
	for (int i = 0; i < 3; i++)
		net->cut[i][0] = 1U << SWIM_MSG_GOSSIP | 1U << SWIM_MSG_STATE;
	net->cut[0][1] = 1U << SWIM_MSG_GOSSIP; /* and 101 never hears the gossip */
	swim_on_message(net->n[0].s, 102, &net->n[2].addr, SWIM_MSG_GOSSIP, buf, swim_codec_end(&w),
			net->now);
	ASSERT_EQ(tn_state(net, 0, 101), SWIM_SUSPECT);
	tn_run(net, 10000);
	ASSERT_EQ(tn_state(net, 0, 101), SWIM_ALIVE);
	ASSERT_NULL(tn_event(net, 0, 101, SWIM_DEAD, 0));
	ASSERT_U64_EQ(swim_find(net->n[0].s, 101)->incarnation, inc + 1);
	tn_free(net);
}

/* Datagrams of `type` the solo node sent to `port` since log index `from`. */
static size_t
solo_sent(const struct tnet *net, int type, uint16_t port, size_t from)
{
	size_t n = 0;

	for (size_t i = from; i < net->nlog; i++)
		n += net->log[i % TLOG_MAX].type == type && net->log[i % TLOG_MAX].port == port;
	return n;
}

TEST(swim_stale_accusation_is_corrected)
{
	struct tnet *net = solo_new(NULL, 5);
	struct swim_record r = fake_rec(3, 7, SWIM_ALIVE, 0), got;
	const struct tdgram *d;
	size_t before;

	solo_gossip(net, 1, &r, 1); /* 3 is alive at 7 */
	before = net->nlog;
	r.incarnation = 6;
	r.state = SWIM_SUSPECT;
	r.from = 4;
	solo_gossip(net, 2, &r, 1); /* node 2 missed the refutation */
	ASSERT_EQ(tn_state(net, 0, 3), SWIM_ALIVE);
	ASSERT_EQ(net->nlog, before + 1);
	d = &net->log[before % TLOG_MAX];
	ASSERT_EQ(d->type, SWIM_MSG_GOSSIP);
	ASSERT_TRUE(dgram_record(d, 3, &got, NULL));
	ASSERT_EQ(got.state, SWIM_ALIVE);
	ASSERT_U64_EQ(got.incarnation, 7);
	ASSERT_EQ(d->port, 20002);
	/* once per peer per gossip interval */
	solo_gossip(net, 2, &r, 1);
	ASSERT_EQ(net->nlog, before + 1);
	net->now += 200;
	before = net->nlog;
	solo_gossip(net, 2, &r, 1);
	ASSERT_GE(solo_sent(net, SWIM_MSG_GOSSIP, 20002, before), 1);
	tn_free(net);
}

TEST(swim_stale_updates_ignored)
{
	struct tnet *net = solo_new(NULL, 5);
	struct swim_record r = fake_rec(3, 7, SWIM_ALIVE, 0);
	const struct swim_member *m;
	size_t nev;

	solo_gossip(net, 1, &r, 1);
	m = swim_find(net->n[0].s, 3);
	ASSERT_U64_EQ(m->incarnation, 7);
	nev = net->n[0].nev;
	r.incarnation = 6;
	r.addr.port = 999;
	solo_gossip(net, 1, &r, 1); /* older ALIVE with another address */
	r.state = SWIM_DEAD;
	r.from = 2;
	solo_gossip(net, 1, &r, 1);
	r.state = SWIM_LEFT;
	r.from = 0;
	solo_gossip(net, 1, &r, 1);
	m = swim_find(net->n[0].s, 3);
	ASSERT_EQ(m->state, SWIM_ALIVE);
	ASSERT_U64_EQ(m->incarnation, 7);
	ASSERT_NE(m->addr.port, 999);
	ASSERT_EQ(net->n[0].nev, nev);
	/* at the same incarnation ALIVE < SUSPECT < LEFT; another's DEAD is
	 * only a suspicion here (DEAD comes from our own timer alone) */
	r = fake_rec(3, 7, SWIM_ALIVE, 0);
	r.addr.port = 999;
	solo_gossip(net, 1, &r, 1);
	ASSERT_NE(swim_find(net->n[0].s, 3)->addr.port, 999);
	r = fake_rec(3, 7, SWIM_DEAD, 2);
	solo_gossip(net, 1, &r, 1);
	ASSERT_EQ(tn_state(net, 0, 3), SWIM_SUSPECT);
	r = fake_rec(3, 7, SWIM_SUSPECT, 2);
	solo_gossip(net, 1, &r, 1);
	ASSERT_EQ(tn_state(net, 0, 3), SWIM_SUSPECT);
	r = fake_rec(3, 7, SWIM_LEFT, 0);
	solo_gossip(net, 1, &r, 1);
	ASSERT_EQ(tn_state(net, 0, 3), SWIM_LEFT);
	r = fake_rec(3, 7, SWIM_DEAD, 2);
	solo_gossip(net, 1, &r, 1);
	ASSERT_EQ(tn_state(net, 0, 3), SWIM_LEFT);
	ASSERT_EQ(tn_stats(net, 0).deaths, 0);
	ASSERT_EQ(tn_stats(net, 0).leaves, 1);
	tn_free(net);
}

TEST(swim_unknown_dead_or_left_not_added)
{
	struct tnet *net = solo_new(NULL, 2);
	struct swim_record r[3] = { fake_rec(40, 1, SWIM_DEAD, 2), fake_rec(41, 1, SWIM_LEFT, 0),
				    fake_rec(42, 1, SWIM_SUSPECT, 2) };

	solo_gossip(net, 1, r, 3);
	ASSERT_EQ(tn_state(net, 0, 40), -1);
	ASSERT_EQ(tn_state(net, 0, 41), -1);
	/* Nor a suspect: only its own signed claim introduces a member. */
	ASSERT_EQ(tn_state(net, 0, 42), -1);
	tn_free(net);
}

/* Another member's DEAD, by push-pull or gossip, is a suspicion here, with
 * its signer as accuser: one member (a liar) cannot kill anybody; our own
 * timer declares the death when the suspicion runs out unrefuted. */
TEST(swim_dead_from_others_is_only_suspect)
{
	struct tnet *net = solo_new(NULL, 5);
	struct swim_msg h = { .type = SWIM_MSG_STATE };
	struct swim_record r = fake_rec(3, 1, SWIM_DEAD, 2);
	const struct tevent *d;

	solo_deliver(net, 4, &h, &r, 1);
	ASSERT_EQ(tn_state(net, 0, 3), SWIM_SUSPECT);
	r.from = 4; /* a second accuser, by gossip: a confirmation */
	solo_gossip(net, 4, &r, 1);
	ASSERT_EQ(tn_state(net, 0, 3), SWIM_SUSPECT);
	ASSERT_EQ(tn_stats(net, 0).deaths, 0);
	/* an accuser we do not know, or a forged signature, counts for nothing */
	r.from = 77;
	solo_gossip(net, 4, &r, 1);
	r.from = 5;
	t_sign_as(&r, 2);
	solo_gossip(net, 4, &r, 1);
	ASSERT_GE(tn_stats(net, 0).bad_signatures, 1);
	solo_all_alive(net, 5);
	net->alive_ids[2] = 1; /* 3 does not answer our own check either */
	solo_run(net, 10000);
	d = tn_event(net, 0, 3, SWIM_DEAD, 0);
	ASSERT_NOT_NULL(d);
	ASSERT_EQ(tn_stats(net, 0).deaths, 1);
	tn_free(net);
}

/* ================= Lifeguard: local health ================= */

TEST(swim_awareness_rises_and_slows_probing)
{
	struct swim_config c;
	struct tnet *net;
	struct swim_stats st;

	/* 500 ms probes: each probe's window is then the whole interval */
	swim_config_default(&c);
	c.probe_interval_ms = 500;
	net = solo_new(&c, 10);

	/* nobody answers, nobody nacks: each failed probe adds the 4 missing nacks */
	for (int i = 0; i < 2000 && tn_stats(net, 0).awareness == 0; i++)
		solo_run(net, 1);
	ASSERT_EQ(tn_stats(net, 0).awareness, 4);
	ASSERT_EQ(tn_stats(net, 0).probes, 2); /* the first ended, the next began */
	ASSERT_EQ(tn_stats(net, 0).indirect_probes, 1);
	for (int i = 0; i < 3000 && tn_stats(net, 0).awareness == 4; i++)
		solo_run(net, 1);
	swim_stats(net->n[0].s, &st);
	ASSERT_EQ(st.probes, 3);
	ASSERT_EQ(st.awareness, 7); /* capped at awareness_max - 1 */
	/* probe starts are now 500 x (7 + 1) ms apart */
	{
		uint64_t starts[3];
		int n = 0;
		uint64_t probes = tn_stats(net, 0).probes;

		while (n < 3) {
			solo_run(net, 1);
			if (tn_stats(net, 0).probes != probes) {
				probes = tn_stats(net, 0).probes;
				starts[n++] = net->now;
			}
		}
		ASSERT_EQ(starts[1] - starts[0], 4000);
		ASSERT_EQ(starts[2] - starts[1], 4000);
	}
	/* members answer again: each good probe heals by one */
	solo_all_alive(net, 10);
	solo_run(net, 4000 + 8000 + 7000);
	swim_stats(net->n[0].s, &st);
	ASSERT_LE(st.awareness, 4);
	solo_run(net, 20000);
	swim_stats(net->n[0].s, &st);
	ASSERT_EQ(st.awareness, 0);
	tn_free(net);
}

/* ================= leave, reap, restart ================= */

TEST(swim_leave_is_left_not_dead)
{
	struct tnet *net = tn_new(3, NULL, 10);
	uint64_t inc = swim_self(net->n[1].s)->incarnation, t0;

	tn_join_all(net);
	t0 = net->now;
	swim_leave(net->n[1].s, net->now);
	ASSERT_EQ(swim_self(net->n[1].s)->state, SWIM_LEFT);
	ASSERT_U64_EQ(swim_self(net->n[1].s)->incarnation, inc + 1);
	/* the leave went out at once, without waiting for the gossip round */
	ASSERT_GE(tn_count_sent(net, 1, -1, SWIM_MSG_GOSSIP, t0), 1);
	ASSERT_EQ(tn_find_sent(net, 1, -1, SWIM_MSG_GOSSIP, t0, 0)->at, t0);
	tn_run(net, 1000);
	ASSERT_EQ(tn_state(net, 0, 101), SWIM_LEFT);
	ASSERT_EQ(tn_state(net, 2, 101), SWIM_LEFT);
	net->n[1].down = true; /* the caller stops */
	tn_run(net, 20000);
	ASSERT_EQ(tn_state(net, 0, 101), SWIM_LEFT);
	ASSERT_EQ(tn_stats(net, 0).leaves, 1);
	ASSERT_EQ(tn_stats(net, 0).deaths, 0);
	ASSERT_EQ(tn_stats(net, 0).suspicions, 0);
	ASSERT_NULL(tn_event(net, 0, 101, SWIM_DEAD, 0));
	/* left members are not probed */
	ASSERT_EQ(tn_count_sent(net, 0, 1, SWIM_MSG_PING, t0 + 1000), 0);
	swim_leave(net->n[1].s, net->now); /* twice is harmless */
	ASSERT_U64_EQ(swim_self(net->n[1].s)->incarnation, inc + 1);
	tn_free(net);
}

TEST(swim_left_node_stops_probing)
{
	struct tnet *net = tn_new(3, NULL, 11);
	uint64_t t0;

	tn_join_all(net);
	swim_leave(net->n[1].s, net->now);
	t0 = net->now;
	tn_run(net, 5000);
	ASSERT_EQ(tn_count_sent(net, 1, -1, SWIM_MSG_PING, t0), 0);
	ASSERT_EQ(tn_count_sent(net, 1, -1, SWIM_MSG_STATE, t0), 0);
	tn_free(net);
}

TEST(swim_reap_after_configured_time)
{
	struct swim_config c;
	struct tnet *net;
	uint64_t t_left, t_dead;
	const struct tevent *d;

	swim_config_default(&c);
	c.reap_after_ms = 5000;
	net = tn_new(4, &c, 12);
	tn_join_all(net);
	swim_leave(net->n[1].s, net->now);
	tn_run(net, 500);
	net->n[1].down = true;
	t_left = tn_event(net, 0, 101, SWIM_LEFT, 0)->at;
	net->n[2].down = true;
	tn_run(net, 4000);
	d = tn_event(net, 0, 102, SWIM_DEAD, 0);
	ASSERT_NOT_NULL(d);
	t_dead = d->at;
	ASSERT_EQ(swim_count(net->n[0].s), 4);
	while (net->now < t_left + 5000)
		tn_run(net, 1);
	ASSERT_EQ(tn_state(net, 0, 101), SWIM_LEFT);
	tn_run(net, 1);
	ASSERT_EQ(tn_state(net, 0, 101), -1); /* reaped at exactly reap_after_ms */
	ASSERT_EQ(swim_count(net->n[0].s), 3);
	while (net->now <= t_dead + 5000)
		tn_run(net, 1);
	ASSERT_EQ(tn_state(net, 0, 102), -1);
	ASSERT_EQ(swim_count(net->n[0].s), 2);
	ASSERT_EQ(tn_state(net, 0, 103), SWIM_ALIVE);
	/* no event for a removal */
	ASSERT_EQ(net->n[0].ev[net->n[0].nev - 1].id, 102);
	ASSERT_EQ(net->n[0].ev[net->n[0].nev - 1].st, SWIM_DEAD);
	tn_free(net);
}

TEST(swim_restart_higher_incarnation_new_addr)
{
	struct tnet *net = tn_new(4, NULL, 13);
	struct swim_addr seed;
	const struct tevent *e;
	struct swim_load l = { 0 };
	uint32_t old_version;
	uint64_t t0;

	tn_join_all(net);
	/* node 2's old life published a load */
	l.cpu_permille = 100;
	swim_set_load(net->n[2].s, &l, net->now);
	tn_run(net, 2000);
	old_version = swim_self(net->n[2].s)->load.version;
	ASSERT_EQ(swim_find(net->n[0].s, 102)->load.version, old_version);
	net->n[2].down = true;
	tn_run(net, 5000);
	ASSERT_EQ(tn_state(net, 0, 102), SWIM_DEAD);
	/* it comes back as slot 3's address? no: a new slot, same id, new port */
	net->n[3].down = true; /* 103 dies too, so its slot can host the new life */
	tn_run(net, 4000);
	t0 = net->now;
	tn_boot(net, 3, 102, 20000); /* same id 102, new address, higher incarnation */
	l.cpu_permille = 700;
	swim_set_load(net->n[3].s, &l, net->now);
	seed = net->n[0].addr;
	ASSERT_OK(swim_join(net->n[3].s, &seed, 1, net->now));
	tn_run(net, 3000);
	/* load versions are seconds of the clock: the new life's is above the
	 * old one's without hearing it */
	ASSERT_GT(swim_self(net->n[3].s)->load.version, old_version);
	for (int i = 0; i < 2; i++) {
		const struct swim_member *m = swim_find(net->n[i].s, 102);

		ASSERT_EQ(m->state, SWIM_ALIVE);
		ASSERT_U64_EQ(m->incarnation, 20000);
		ASSERT_EQ(m->addr.port, TN_PORT + 3);
		ASSERT_EQ(m->load.cpu_permille, 700);
		ASSERT_EQ(m->load.version, swim_self(net->n[3].s)->load.version);
		e = tn_event(net, i, 102, SWIM_ALIVE, t0);
		ASSERT_NOT_NULL(e);
		ASSERT_EQ(e->old, SWIM_DEAD);
		ASSERT_FALSE(e->is_new);
	}
	tn_free(net);
}

TEST(swim_quick_restart_before_detection)
{
	struct tnet *net = tn_new(3, NULL, 14);

	tn_join_all(net);
	net->n[2].down = true;
	tn_boot(net, 2, 102, 22222); /* same slot and address, new life, at once */
	ASSERT_OK(swim_join(net->n[2].s, &net->n[0].addr, 1, net->now));
	tn_run(net, 3000);
	ASSERT_EQ(tn_state(net, 0, 102), SWIM_ALIVE);
	ASSERT_U64_EQ(swim_find(net->n[0].s, 102)->incarnation, 22222);
	ASSERT_EQ(swim_count(net->n[2].s), 3);
	ASSERT_EQ(tn_stats(net, 0).deaths, 0);
	tn_free(net);
}

/* ================= load gossip ================= */

TEST(swim_load_propagates_with_versions)
{
	struct tnet *net = tn_new(3, NULL, 15);
	struct swim_load l = { 0, 500, 1200, 300, true, -42000 };
	const struct swim_member *m;
	const struct tevent *e = NULL;
	uint32_t v1;
	uint64_t t1;

	tn_join_all(net);
	swim_set_load(net->n[0].s, &l, net->now);
	/* The version is the wall clock's second (here `now`), or one more. */
	v1 = swim_self(net->n[0].s)->load.version;
	ASSERT_EQ(v1, net->now / 1000);
	t1 = net->now;
	/* A load sample rides on probes and acks only: give it a few probe rounds. */
	tn_run(net, 3000);
	for (int i = 1; i < 3; i++) {
		m = swim_find(net->n[i].s, 100);
		ASSERT_EQ(m->load.version, v1);
		ASSERT_EQ(m->load.cpu_permille, 500);
		ASSERT_EQ(m->load.load1_permille, 1200);
		ASSERT_EQ(m->load.mem_permille, 300);
		ASSERT_TRUE(m->load.has_custom);
		ASSERT_EQ(m->load.custom_milli, -42000);
		ASSERT_GT(m->load_updated, 0);
	}
	for (size_t k = 0; k < net->n[1].nev; k++)
		if (net->n[1].ev[k].id == 100 && net->n[1].ev[k].load_version == v1)
			e = &net->n[1].ev[k];
	ASSERT_NOT_NULL(e);
	ASSERT_EQ(e->old, e->st); /* a load change is not a state change */
	/* The next sample waits for load_min_interval_ms after the last one;
	 * a third one meanwhile replaces it. */
	l.cpu_permille = 560; /* a move, not news */
	swim_set_load(net->n[0].s, &l, net->now);
	ASSERT_EQ(swim_self(net->n[0].s)->load.version, v1);
	l.cpu_permille = 2000;		 /* clamped */
	net->n[0].s->load_out.milli = 0; /* the per-second budget spent: news goes anyway */
	swim_set_load(net->n[0].s, &l, net->now);
	/* A jump (load_news_permille) goes out at once, one a period. */
	ASSERT_GT(swim_self(net->n[0].s)->load.version, v1);
	ASSERT_EQ(swim_self(net->n[0].s)->load.cpu_permille, 1000);
	v1 = swim_self(net->n[0].s)->load.version;
	t1 = net->now;
	/* ... in the next gossip round, not on the next probe (a second). */
	tn_run(net, net->cfg.gossip_interval_ms + 1);
	{
		int got = 0;

		for (int i = 1; i < 3; i++)
			got += swim_find(net->n[i].s, 100)->load.version == v1;
		ASSERT_GE(got, 1);
	}
	tn_run(net, 1000 - net->cfg.gossip_interval_ms - 1);
	l.has_custom = false; /* news, but this period's went out */
	swim_set_load(net->n[0].s, &l, net->now);
	while (net->now < t1 + net->cfg.load_min_interval_ms - 1)
		tn_run(net, 1);
	ASSERT_EQ(swim_self(net->n[0].s)->load.version, v1);
	tn_run(net, 2);
	ASSERT_GT(swim_self(net->n[0].s)->load.version, v1);
	tn_run(net, 3000);
	m = swim_find(net->n[2].s, 100);
	ASSERT_EQ(m->load.version, swim_self(net->n[0].s)->load.version);
	ASSERT_EQ(m->load.cpu_permille, 1000);
	ASSERT_FALSE(m->load.has_custom);
	tn_free(net);
}

TEST(swim_older_load_ignored_even_with_newer_state)
{
	struct tnet *net = solo_new(NULL, 3);

	solo_load(net, 1, 2, 1, 10, 100);
	ASSERT_EQ(swim_find(net->n[0].s, 2)->load.cpu_permille, 100);
	solo_load(net, 1, 2, 5, 9, 900); /* newer incarnation, older load */
	ASSERT_U64_EQ(swim_find(net->n[0].s, 2)->incarnation, 5);
	ASSERT_EQ(swim_find(net->n[0].s, 2)->load.cpu_permille, 100);
	solo_load(net, 1, 2, 1, 11, 300); /* older incarnation, newer load */
	ASSERT_U64_EQ(swim_find(net->n[0].s, 2)->incarnation, 5);
	ASSERT_EQ(swim_find(net->n[0].s, 2)->load.cpu_permille, 300);
	ASSERT_EQ(swim_find(net->n[0].s, 2)->load.version, 11);
	tn_free(net);
}

/* ================= push-pull ================= */

/* A load sample travels as a LOAD record of its own, signed by its owner:
 * applied to a known member when newer, ignored for a stranger, refused
 * when signed by another key; ours goes out so, without our claim. */
TEST(swim_load_records)
{
	struct tnet *net = solo_new(NULL, 3);
	struct swim_record r = fake_rec(2, 1, SWIM_ALIVE, 0), got;
	struct swim_load mine = { .cpu_permille = 420, .mem_permille = 10 };
	size_t before;
	bool found = false;

	r.kind = SWIM_REC_LOAD;
	r.load.version = 5;
	r.load.cpu_permille = 400;
	solo_deliver(net, 1, &(struct swim_msg){ .type = SWIM_MSG_GOSSIP }, &r, 1);
	ASSERT_EQ(swim_find(net->n[0].s, 2)->load.version, 5);
	ASSERT_EQ(swim_find(net->n[0].s, 2)->load.cpu_permille, 400);
	ASSERT_EQ(tn_state(net, 0, 2), SWIM_ALIVE);
	/* an older sample changes nothing */
	r.load.version = 4;
	r.load.cpu_permille = 100;
	solo_deliver(net, 1, &(struct swim_msg){ .type = SWIM_MSG_GOSSIP }, &r, 1);
	ASSERT_EQ(swim_find(net->n[0].s, 2)->load.cpu_permille, 400);
	/* a newer one signed by member 3's key is a forgery */
	{
		uint8_t pk[32], sk[64], msg[SWIM_SIGNED_MAX];

		r.load.version = 9;
		t_keys(3, pk, sk);
		crypto_sign_detached(r.sig, NULL, msg, swim_codec_signed(0, &r, pk, msg), sk);
		solo_deliver(net, 1, &(struct swim_msg){ .type = SWIM_MSG_GOSSIP }, &r, 1);
		ASSERT_EQ(swim_find(net->n[0].s, 2)->load.version, 5);
		ASSERT_EQ(tn_stats(net, 0).bad_signatures, 1);
		memset(r.sig, 0, sizeof(r.sig));
	}
	/* a stranger is not made a member by its load */
	r.id = 77;
	solo_deliver(net, 1, &(struct swim_msg){ .type = SWIM_MSG_GOSSIP }, &r, 1);
	ASSERT_NULL(swim_find(net->n[0].s, 77));
	ASSERT_EQ(swim_count(net->n[0].s), 4);
	/* our own new sample rides on the next messages, as a LOAD record
	 * (once our own announcement has been sent its times) */
	solo_all_alive(net, 3);
	solo_run(net, 20000);
	before = net->nlog;
	swim_set_load(net->n[0].s, &mine, net->now);
	solo_run(net, 3000);
	for (size_t i = before; i < net->nlog && !found; i++) {
		const struct tdgram *d = &net->log[i % TLOG_MAX];

		if (d->from == 0 && dgram_record(d, SOLO_ID, &got, NULL) &&
		    got.kind == SWIM_REC_LOAD && got.load.cpu_permille == 420)
			found = true;
	}
	ASSERT_TRUE(found);
	tn_free(net);
}

TEST(swim_pushpull_repairs_missed_update)
{
	struct swim_config c;
	struct tnet *net;
	struct swim_load l = { 0, 250, 0, 0, false, 0 };
	uint64_t t0;
	const struct tdgram *d;

	swim_config_default(&c);
	c.pushpull_interval_ms = 2000;
	net = tn_new(3, &c, 16);
	tn_join_all(net);
	/* node 1 hears nothing from node 2, and from node 0 only push-pull */
	tn_cut(net, 1, 2, CUT_ALL);
	net->cut[0][1] = CUT_ALL & ~(1U << SWIM_MSG_STATE | 1U << SWIM_MSG_DIGEST);
	net->cut[1][0] = CUT_ALL & ~(1U << SWIM_MSG_STATE | 1U << SWIM_MSG_DIGEST);
	t0 = net->now;
	swim_set_load(net->n[2].s, &l, net->now);
	tn_run(net, 1000);
	ASSERT_EQ(swim_find(net->n[0].s, 102)->load.version, swim_self(net->n[2].s)->load.version);
	/* The cuts leave node 1 only push-pull (DIGEST, STATE) with node 0. */
	tn_run(net, 5000);
	ASSERT_EQ(swim_find(net->n[1].s, 102)->load.version, swim_self(net->n[2].s)->load.version);
	ASSERT_EQ(swim_find(net->n[1].s, 102)->load.cpu_permille, 250);
	d = tn_find_sent(net, 0, 1, SWIM_MSG_STATE, t0, 0);
	if (d == NULL) /* node 1 asked node 0 instead, and got the answer */
		d = tn_find_sent(net, 1, 0, SWIM_MSG_STATE, t0, 0);
	ASSERT_NOT_NULL(d);
	tn_free(net);
}

/* Digest push-pulls node 0 started since log index `from`, and the time of
 * the k-th (from 0) in *at. */
static size_t
solo_pushpulls(const struct tnet *net, size_t from, size_t k, uint64_t *at)
{
	size_t n = 0;
	struct swim_msg m;

	for (size_t i = from; i < net->nlog; i++) {
		const struct tdgram *d = &net->log[i % TLOG_MAX];

		if (d->from != 0 || d->type != SWIM_MSG_DIGEST)
			continue;
		ASSERT_EQ(swim_codec_decode(d->type, d->buf, d->len, &m), SWIM_CODEC_OK);
		if (!(m.flags & SWIM_DIGEST_ANSWER) || m.lo != 1)
			continue;
		if (n++ == k && at != NULL)
			*at = d->at;
	}
	return n;
}

/* A node that has just found its first member pulls the table at once (its
 * join brought only the seed's own record), and once more 5-10 s later, off
 * the regular schedule: nodes started together got tables still forming. */
TEST(swim_pushpull_after_join)
{
	struct swim_config c;
	struct tnet *net;
	size_t before;
	uint64_t t0, first = 0, second = 0;

	swim_config_default(&c);
	c.pushpull_interval_ms = 3600 * 1000; /* keep the regular one out of the way */
	net = solo_new(&c, 5);
	solo_all_alive(net, 5);
	before = net->nlog;
	t0 = net->now;
	solo_run(net, 20000);
	ASSERT_EQ(solo_pushpulls(net, before, 0, &first), 2);
	solo_pushpulls(net, before, 1, &second);
	ASSERT_LE(first - t0, 3 * c.probe_timeout_ms + 1);
	ASSERT_GE(second - t0, 5000);
	ASSERT_LT(second - t0, 10000);
	tn_free(net);
}

/*
 * A digest push-pull: the answer carries every record the requester lacks
 * (here all of them: it sent an empty digest), in STATE chunks, then our own
 * digest in DIGEST chunks covering the whole id space. Budgeted per
 * requester; a stranger gets our own record and nothing else.
 */
TEST(swim_pushpull_digest_answers)
{
	struct tnet *net = solo_new(NULL, 120);
	struct swim_msg h = { .type = SWIM_MSG_DIGEST,
			      .flags = SWIM_DIGEST_ANSWER,
			      .lo = 1,
			      .hi = UINT64_MAX },
			m;
	size_t before = net->nlog, members = 0, entries = 0, states = 0;
	uint64_t lo = 1;
	struct swim_record r;

	solo_deliver(net, 5, &h, NULL, 0);
	for (size_t i = before; i < net->nlog; i++) {
		const struct tdgram *d = &net->log[i % TLOG_MAX];
		size_t off = 0;

		ASSERT_EQ(d->port, 20005);
		ASSERT_LE(d->len, WIRE_MAX_PAYLOAD);
		ASSERT_EQ(swim_codec_decode(d->type, d->buf, d->len, &m), SWIM_CODEC_OK);
		if (d->type == SWIM_MSG_DIGEST) {
			ASSERT_EQ(m.flags, 0);	 /* an answer asks for no answer */
			ASSERT_U64_EQ(m.lo, lo); /* contiguous ranges */
			lo = m.hi + 1;
			entries += m.count;
			continue;
		}
		ASSERT_EQ(d->type, SWIM_MSG_STATE);
		states++;
		for (unsigned k = 0; k < m.count; k++) {
			ASSERT_EQ(swim_codec_record(m.rec, m.rec_len, &off, &r), SWIM_CODEC_OK);
			if (r.kind == SWIM_REC_MEMBER) {
				members++;
				ASSERT_TRUE(r.has_key); /* new to the requester */
			}
		}
	}
	ASSERT_GE(states, 2); /* 121 signed records do not fit one datagram */
	ASSERT_EQ(members, 121);
	ASSERT_EQ(entries, 121);
	ASSERT_U64_EQ(lo, 0); /* the last chunk ran to UINT64_MAX */
	/* A requester that holds everything gets nothing but our digest. */
	/* Budget: 3 at once, then 1 a second, per requester. */
	solo_deliver(net, 5, &h, NULL, 0);
	solo_deliver(net, 5, &h, NULL, 0);
	ASSERT_EQ(tn_stats(net, 0).replies_refused, 0);
	before = net->nlog;
	solo_deliver(net, 5, &h, NULL, 0);
	ASSERT_EQ(net->nlog, before);
	ASSERT_EQ(tn_stats(net, 0).replies_refused, 1);
	/* A stranger: our own record, one datagram. */
	before = net->nlog;
	solo_deliver(net, 900, &h, NULL, 0);
	ASSERT_GE(net->nlog, before + 1);
	ASSERT_EQ(net->log[before % TLOG_MAX].type, SWIM_MSG_STATE);
	ASSERT_TRUE(dgram_record(&net->log[before % TLOG_MAX], SOLO_ID, &r, &m));
	ASSERT_EQ(m.count, 1); /* our claim (we have no load sample yet) */
	tn_free(net);
}

TEST(swim_pushpull_interval_scales)
{
	struct swim_config c;
	struct tnet *net;
	uint64_t a = 0, b = 0;
	size_t before;

	swim_config_default(&c);
	c.pushpull_interval_ms = 1000;
	net = solo_new(&c, 99); /* N = 100: x (ceil(log2 100 - 5) + 1) = x 3 */
	solo_all_alive(net, 99);
	solo_run(net, 12000); /* past the push-pulls that follow a join */
	before = net->nlog;
	solo_run(net, 12000);
	ASSERT_GE(solo_pushpulls(net, before, 1, NULL), 2);
	solo_pushpulls(net, before, 0, &a);
	solo_pushpulls(net, before, 1, &b);
	ASSERT_EQ(b - a, 3000);
	tn_free(net);
}

/* ================= dissemination ================= */

/* Counts the datagrams node 0 sent after t0 that carry its own record. */
static size_t
count_self_records(struct tnet *net, uint64_t t0)
{
	struct swim_record r;
	size_t n = 0;

	for (size_t k = 0;; k++) {
		const struct tdgram *d = tn_find_sent(net, 0, -1, -1, t0, k);

		if (d == NULL)
			break;
		if (d->type != SWIM_MSG_STATE && d->type != SWIM_MSG_DIGEST &&
		    dgram_record(d, SOLO_ID, &r, NULL))
			n++;
	}
	return n;
}

/* Sends a load sample on a 4-node cluster; returns how often it went out. */
static size_t
load_transmissions(const struct swim_config *c)
{
	struct tnet *net = solo_new(c, 3);
	struct swim_load l = { 0, 1, 0, 0, false, 0 };
	uint64_t t0;
	size_t n;

	solo_all_alive(net, 3);
	solo_run(net, 5000); /* drain our own join announcement */
	t0 = net->now;
	swim_set_load(net->n[0].s, &l, net->now);
	solo_run(net, 5000);
	n = count_self_records(net, t0);
	tn_free(net);
	return n;
}

TEST(swim_retransmit_limit)
{
	struct swim_config c;

	/* N = 4 (3 imaginary + self): ceil(log10 5) = 1, so a load sample alone
	 * goes out load_retransmit_mult x 1 times, but at least 3, riding on probes. */
	swim_config_default(&c);
	ASSERT_EQ(c.load_retransmit_mult, 1);
	ASSERT_EQ(load_transmissions(&c), 3);
	c.load_retransmit_mult = 4; /* = retransmit_mult: as often as a state change */
	ASSERT_EQ(load_transmissions(&c), 4);
}

/* A state change is sent retransmit_mult x ceil(log10(N + 1)) times. */
TEST(swim_retransmit_limit_state)
{
	struct tnet *net = solo_new(NULL, 3);
	uint64_t t0;

	solo_all_alive(net, 3);
	solo_run(net, 5000);
	t0 = net->now;
	swim_leave(net->n[0].s, net->now);
	solo_run(net, 5000);
	ASSERT_EQ(count_self_records(net, t0), 4);
	tn_free(net);
}

TEST(swim_fresh_node_announces_itself)
{
	struct tnet *net = tn_new(2, NULL, 17);
	struct swim_record r;
	const struct tdgram *d;

	/* 1 knows 0 (it learnt it somehow), 0 does not know 1 */
	r = fake_rec(100, swim_self(net->n[0].s)->incarnation, SWIM_ALIVE, 0);
	r.addr = net->n[0].addr;
	strcpy(r.name, "node-0");
	{
		struct swim_msg h = { .type = SWIM_MSG_STATE };
		uint8_t buf[256];
		struct swim_writer w;

		ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
		ASSERT_OK(swim_codec_add(&w, &r));
		swim_on_message(net->n[1].s, 100, &net->n[0].addr, SWIM_MSG_STATE, buf,
				swim_codec_end(&w), net->now);
	}
	tn_run(net, 1000);
	d = tn_find_sent(net, 1, 0, -1, 0, 0);
	ASSERT_NOT_NULL(d);
	ASSERT_TRUE(dgram_record(d, 101, &r, NULL));
	ASSERT_EQ(r.state, SWIM_ALIVE);
	ASSERT_EQ(tn_state(net, 0, 101), SWIM_ALIVE);
	tn_free(net);
}

/* ================= malformed input ================= */

TEST(swim_malformed_counted_and_ignored)
{
	struct tnet *net = solo_new(NULL, 3);
	struct swim_addr from = t_addr(1);
	uint8_t buf[WIRE_MAX_PAYLOAD];
	struct swim_msg h;
	struct swim_record r = fake_rec(60, 1, SWIM_ALIVE, 0);
	struct swim_writer w;
	size_t len = 0, before = net->nlog, errors = 0;

	for (uint8_t t = SWIM_MSG_PING; t <= SWIM_MSG_GOSSIP; t++) {
		memset(&h, 0, sizeof(h));
		h.type = t;
		h.seq = 1;
		h.target = SOLO_ID;
		h.target_addr = r.addr;
		h.flags = t == SWIM_MSG_STATE ? SWIM_STATE_WHO : 0;
		ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
		ASSERT_OK(swim_codec_add(&w, &r));
		len = swim_codec_end(&w);
		for (size_t n = 0; n < len; n++) {
			swim_on_message(net->n[0].s, 2, &from, t, buf, n, net->now);
			errors++;
		}
		buf[len] = 0;
		swim_on_message(net->n[0].s, 2, &from, t, buf, len + 1, net->now);
		errors++;
	}
	swim_on_message(net->n[0].s, 2, &from, 0, buf, len, net->now);
	swim_on_message(net->n[0].s, 2, &from, 9, buf, len, net->now);
	errors += 2;
	ASSERT_EQ(tn_stats(net, 0).decode_errors, errors);
	ASSERT_EQ(tn_state(net, 0, 60), -1); /* no record of a bad datagram applied */
	ASSERT_EQ(net->nlog, before);	     /* and no answer to one */
	ASSERT_EQ(swim_count(net->n[0].s), 4);
	/* a sender id of 0, or our own id, is dropped without decoding */
	swim_on_message(net->n[0].s, 0, &from, 1, buf, 0, net->now);
	swim_on_message(net->n[0].s, SOLO_ID, &from, 1, buf, 0, net->now);
	ASSERT_EQ(tn_stats(net, 0).decode_errors, errors);
	ASSERT_EQ(tn_stats(net, 0).msgs_in, errors + 2);
	tn_free(net);
}

/* ================= timers ================= */

TEST(swim_tick_returns_next_deadline)
{
	struct tnet *net = tn_new(3, NULL, 18);
	uint64_t d;

	tn_join_all(net);
	for (int k = 0; k < 2000; k++) {
		d = swim_tick(net->n[0].s, net->now);
		ASSERT_GT(d, net->now);
		ASSERT_LE(d, net->now + 200); /* the gossip round is the longest wait */
		tn_run(net, d - net->now);
	}
	tn_free(net);
}

TEST(swim_small_cluster_survives_loss_free_churn)
{
	/* five nodes, one crash and one graceful leave, everybody agrees */
	struct tnet *net = tn_new(5, NULL, 19);

	tn_join_all(net);
	net->n[4].down = true;
	swim_leave(net->n[3].s, net->now);
	tn_run(net, 6000);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(tn_state(net, i, 104), SWIM_DEAD);
		ASSERT_EQ(tn_state(net, i, 103), SWIM_LEFT);
		for (int j = 0; j < 3; j++)
			ASSERT_EQ(tn_state(net, i, net->n[j].id), SWIM_ALIVE);
		ASSERT_EQ(tn_stats(net, i).deaths, 1);
		ASSERT_EQ(tn_stats(net, i).refutations, 0);
	}
	tn_free(net);
}

TEST(swim_stranger_is_asked_who_it_is)
{
	struct tnet *net = tn_new(3, NULL, 20);
	struct swim_record r;
	struct swim_msg m;
	const struct tdgram *d;
	uint64_t t0;

	tn_join_all(net);
	tn_boot(net, 3, 103, 4242); /* knows nobody, joins nobody */
	net->count = 4;
	/* it learnt node 0 somehow and pings it: node 0 asks back */
	r = fake_rec(100, swim_self(net->n[0].s)->incarnation, SWIM_ALIVE, 0);
	r.addr = net->n[0].addr;
	strcpy(r.name, "node-0");
	memcpy(r.sig, swim_self(net->n[0].s)->sig, sizeof(r.sig));
	t_sign_rec(&r); /* its key; the signature is node 0's own */
	{
		struct swim_msg h = { .type = SWIM_MSG_STATE };
		uint8_t buf[256];
		struct swim_writer w;

		ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
		ASSERT_OK(swim_codec_add(&w, &r));
		net->hold = true; /* do not let 103 announce itself yet */
		swim_on_message(net->n[3].s, 100, &net->n[0].addr, SWIM_MSG_STATE, buf,
				swim_codec_end(&w), net->now);
		net->hold = false;
	}
	t0 = net->now;
	{
		struct swim_msg h = { .type = SWIM_MSG_PING, .seq = 1, .target = 100 };
		uint8_t buf[64];
		struct swim_writer w;

		ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
		swim_on_message(net->n[0].s, 103, &net->n[3].addr, SWIM_MSG_PING, buf,
				swim_codec_end(&w), net->now);
	}
	d = tn_find_sent(net, 0, 3, SWIM_MSG_STATE, t0, 0);
	ASSERT_NOT_NULL(d);
	ASSERT_TRUE(dgram_record(d, 100, &r, &m));
	ASSERT_EQ(m.flags, SWIM_STATE_WHO);
	ASSERT_EQ(m.count, 1);
	tn_flush(net);
	/* 103 answered with its own record only */
	d = tn_find_sent(net, 3, 0, SWIM_MSG_STATE, t0, 0);
	ASSERT_NOT_NULL(d);
	ASSERT_TRUE(dgram_record(d, 103, &r, &m));
	ASSERT_EQ(m.flags, 0);
	ASSERT_EQ(m.count, 1);
	ASSERT_EQ(tn_state(net, 0, 103), SWIM_ALIVE);
	ASSERT_U64_EQ(swim_find(net->n[0].s, 103)->incarnation, 4242);
	tn_free(net);
}

/* ================= node keys and bounded claims ================= */

/* Signs r with the key of `signer` (for forgeries). */
static void
t_sign_as(struct swim_record *r, uint64_t signer)
{
	uint8_t pk[32], sk[64], msg[SWIM_SIGNED_MAX];

	t_keys(signer, pk, sk);
	crypto_sign_detached(r->sig, NULL, msg, swim_codec_signed(0, r, pk, msg), sk);
}

TEST(swim_claims_need_their_subject_key)
{
	struct tnet *net = solo_new(NULL, 3);
	struct swim_record r = fake_rec(2, 9, SWIM_ALIVE, 0);
	uint8_t pk[32], sk[64];

	/* Member 2 at a new incarnation and address, signed by member 3: a
	 * relay (or member 3) speaking for member 2. Refused. */
	r.addr.port = 4444;
	t_sign_as(&r, 3);
	solo_gossip(net, 3, &r, 1);
	ASSERT_U64_EQ(swim_find(net->n[0].s, 2)->incarnation, 1);
	ASSERT_EQ(tn_stats(net, 0).bad_signatures, 1);
	/* The same claim carrying member 3's key: another key for a pinned id. */
	r.has_key = true;
	t_keys(3, pk, sk);
	memcpy(r.key, pk, sizeof(pk));
	solo_gossip(net, 3, &r, 1);
	ASSERT_U64_EQ(swim_find(net->n[0].s, 2)->incarnation, 1);
	ASSERT_EQ(tn_stats(net, 0).key_mismatches, 1);
	/* A relay that alters a genuine claim (the address) is refused too. */
	memset(&r, 0, sizeof(r));
	r = fake_rec(2, 9, SWIM_ALIVE, 0);
	t_sign_rec(&r);
	r.addr.port = 4445;
	solo_gossip(net, 1, &r, 1);
	ASSERT_EQ(tn_stats(net, 0).bad_signatures, 2);
	/* Unchanged, it is taken, whoever relays it; the pin stays. */
	r.addr.port = (uint16_t)(20000 + 2);
	memset(r.sig, 0, sizeof(r.sig));
	solo_gossip(net, 1, &r, 1);
	ASSERT_U64_EQ(swim_find(net->n[0].s, 2)->incarnation, 9);
	ASSERT_OK(swim_member_key(net->n[0].s, 2, pk));
	t_keys(2, r.key, sk);
	ASSERT_MEM_EQ(pk, r.key, 32);
	ASSERT_EQ(swim_member_key(net->n[0].s, 99, pk), -ENOENT);
	ASSERT_OK(swim_member_key(net->n[0].s, SOLO_ID, pk));
	ASSERT_MEM_EQ(pk, net->n[0].pk, 32);
	tn_free(net);
}

TEST(swim_numbers_that_only_go_up_are_bounded)
{
	struct tnet *net = solo_new(NULL, 3);
	struct swim_record r = fake_rec(2, net->now + SWIM_MAX_SKEW_MS + 1, SWIM_ALIVE, 0);
	struct swim_record l = fake_rec(2, 0, SWIM_ALIVE, 0);

	/* An incarnation (boot time, ms) more than the skew ahead: refused. */
	solo_gossip(net, 2, &r, 1);
	ASSERT_U64_EQ(swim_find(net->n[0].s, 2)->incarnation, 1);
	ASSERT_EQ(tn_stats(net, 0).out_of_bounds, 1);
	r.incarnation = net->now + SWIM_MAX_SKEW_MS;
	solo_gossip(net, 2, &r, 1);
	ASSERT_U64_EQ(swim_find(net->n[0].s, 2)->incarnation, net->now + SWIM_MAX_SKEW_MS);
	/* A load version (s) more than the skew ahead, 2^32 - 1 included. */
	l.kind = SWIM_REC_LOAD;
	l.load.version = UINT32_MAX;
	l.load.cpu_permille = 1000;
	solo_gossip(net, 2, &l, 1);
	l.load.version = (uint32_t)((net->now + SWIM_MAX_SKEW_MS) / 1000 + 1);
	memset(l.sig, 0, sizeof(l.sig));
	solo_gossip(net, 2, &l, 1);
	ASSERT_EQ(swim_find(net->n[0].s, 2)->load.version, 0);
	ASSERT_EQ(tn_stats(net, 0).out_of_bounds, 3);
	l.load.version = (uint32_t)((net->now + SWIM_MAX_SKEW_MS) / 1000);
	memset(l.sig, 0, sizeof(l.sig));
	solo_gossip(net, 2, &l, 1);
	ASSERT_EQ(swim_find(net->n[0].s, 2)->load.cpu_permille, 1000);
	tn_free(net);
}

TEST(swim_accusations_count_at_the_signed_incarnation)
{
	struct tnet *net = solo_new(NULL, 3);
	struct swim_record d = fake_rec(2, UINT64_MAX, SWIM_DEAD, 3);
	struct swim_record a = fake_rec(2, 2, SWIM_ALIVE, 0);

	/* "2 is DEAD at 2^64 - 1": 2 never signed that incarnation: ignored... */
	solo_gossip(net, 3, &d, 1);
	ASSERT_EQ(tn_state(net, 0, 2), SWIM_ALIVE);
	ASSERT_U64_EQ(swim_find(net->n[0].s, 2)->incarnation, 1);
	/* ...at the incarnation 2 signed, it is a suspicion (another's DEAD)... */
	d.incarnation = 1;
	memset(d.sig, 0, sizeof(d.sig));
	solo_gossip(net, 3, &d, 1);
	ASSERT_EQ(tn_state(net, 0, 2), SWIM_SUSPECT);
	/* ...which 2's refutation at 2 ends. */
	solo_gossip(net, 2, &a, 1);
	ASSERT_EQ(tn_state(net, 0, 2), SWIM_ALIVE);
	ASSERT_U64_EQ(swim_find(net->n[0].s, 2)->incarnation, 2);
	/* An accusation of a member never heard of introduces nobody. */
	d.id = 77;
	solo_gossip(net, 3, &d, 1);
	ASSERT_EQ(tn_state(net, 0, 77), -1);
	tn_free(net);
}

/* A stranger enters the table only once it has answered a ping. */
TEST(swim_stranger_is_pinged_before_it_joins)
{
	struct tnet *net = solo_new(NULL, 3);
	struct swim_record r = fake_rec(50, 1, SWIM_ALIVE, 0);
	const struct tdgram *ping;
	struct swim_msg pm, ack = { .type = SWIM_MSG_ACK };
	struct swim_record got;
	size_t before = net->nlog;

	solo_gossip(net, 1, &r, 1);
	ASSERT_EQ(tn_state(net, 0, 50), -1);
	ping = tn_find_sent(net, 0, -1, SWIM_MSG_PING, 0, 0);
	ASSERT_NOT_NULL(ping);
	ASSERT_EQ(ping->port, 20050);
	(void)dgram_record(ping, 0, &got, &pm);
	ASSERT_U64_EQ(pm.target, 50);
	/* Without its key it is not even pinged. */
	r = fake_rec(51, 1, SWIM_ALIVE, 0);
	t_sign_rec(&r);
	r.has_key = false;
	{
		struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
		struct swim_addr from = t_addr(1);
		struct swim_writer w;
		uint8_t buf[512];

		from.port = 20001;
		ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
		ASSERT_OK(swim_codec_add(&w, &r));
		swim_on_message(net->n[0].s, 1, &from, SWIM_MSG_GOSSIP, buf, swim_codec_end(&w),
				net->now);
	}
	ASSERT_EQ(tn_stats(net, 0).unsigned_claims, 1);
	ASSERT_EQ(solo_sent(net, SWIM_MSG_PING, 20051, before), 0);
	/* An ack from someone else, or with another sequence, does not admit it. */
	ack.seq = pm.seq;
	ack.target = 50;
	solo_deliver(net, 49, &ack, NULL, 0);
	ack.seq = pm.seq + 1;
	solo_deliver(net, 50, &ack, NULL, 0);
	ASSERT_EQ(tn_state(net, 0, 50), -1);
	ack.seq = pm.seq;
	solo_deliver(net, 50, &ack, NULL, 0);
	ASSERT_EQ(tn_state(net, 0, 50), SWIM_ALIVE);
	ASSERT_TRUE(tn_event(net, 0, 50, SWIM_ALIVE, 0)->is_new);
	/* One that never answers is forgotten after the probe window, and its
	 * silence raises no suspicion and no awareness. */
	r = fake_rec(52, 1, SWIM_ALIVE, 0);
	solo_gossip(net, 1, &r, 1);
	solo_run(net, 3 * net->cfg.probe_timeout_ms + 1);
	ASSERT_EQ(tn_stats(net, 0).joins_failed, 1);
	ASSERT_EQ(tn_state(net, 0, 52), -1);
	ASSERT_EQ(tn_stats(net, 0).suspicions, 0);
	ASSERT_EQ(tn_stats(net, 0).awareness, 0);
	tn_free(net);
}

/* 2,000 invented members in 100 messages: at most max_joining are pinged at
 * once, none enters the table, and the probes of the real members and local
 * health are untouched (they used to slow probing to one per 8 s). */
TEST(swim_flood_of_invented_members_is_cheap)
{
	struct tnet *net = solo_new(NULL, 5);
	struct swim_record r[20];
	uint64_t probes0, id = 1000;

	solo_all_alive(net, 5);
	solo_run(net, 10);
	probes0 = tn_stats(net, 0).probes;
	for (int k = 0; k < 100; k++) {
		for (int i = 0; i < 20; i++) {
			r[i] = fake_rec(id++, 1, SWIM_ALIVE, 0);
			t_sign_rec(&r[i]);
		}
		solo_gossip(net, 1, r, 20);
		solo_run(net, 100);
	}
	solo_run(net, 1000); /* the last ones pinged give up */
	ASSERT_EQ(swim_count(net->n[0].s), 6);
	ASSERT_GT(tn_stats(net, 0).joining_full, 0);
	ASSERT_EQ(tn_stats(net, 0).joins_failed + tn_stats(net, 0).joining_full, 2000);
	/* The strangers' slots (1.7 kB each) went with the last of them. */
	ASSERT_EQ(net->n[0].s->njoining, 0);
	ASSERT_NULL(net->n[0].s->joining);
	ASSERT_EQ(tn_stats(net, 0).awareness, 0);
	ASSERT_EQ(tn_stats(net, 0).suspicions, 0);
	/* one probe a second, as before the flood */
	ASSERT_GE(tn_stats(net, 0).probes - probes0, 9);
	ASSERT_EQ(tn_stats(net, 0).probe_acks, tn_stats(net, 0).probes);
	tn_free(net);
}

/* WHO replies to strangers with rotating ids: the budget of all requests
 * holds whatever the ids and addresses. */
TEST(swim_who_replies_hold_against_rotating_ids)
{
	struct tnet *net = solo_new(NULL, 3);
	struct swim_msg h = { .type = SWIM_MSG_STATE, .flags = SWIM_STATE_WHO };
	size_t before = net->nlog;

	for (uint64_t id = 5000; id < 5500; id++)
		solo_deliver(net, id, &h, NULL, 0);
	/* 60 at once, then 20 a second, and nothing else answered (each
	 * stranger is also asked who it is, from the same budget) */
	ASSERT_EQ(net->nlog - before, 60);
	ASSERT_GE(tn_stats(net, 0).replies_refused, 440);
	net->now += 1000;
	before = net->nlog;
	for (uint64_t id = 7100; id < 7200; id++)
		solo_deliver(net, id, &h, NULL, 0);
	{
		size_t n = 0;

		for (uint16_t port = 20100; port < 20200; port++)
			n += solo_sent(net, SWIM_MSG_STATE, port, before);
		ASSERT_EQ(n, 20);
	}
	tn_free(net);
}

/* ================= application claims ================= */

static int t_claims_accepted;

static int
t_claim_ok(void *arg, const struct swim_claim *c)
{
	t_claims_accepted++;
	return c->len > 0 && c->data[0] == 'x' ? -EPERM : 0; /* the application's say */
}

/* Boots node idx (id 100 + idx) with `ops`, claims of kind 7 registered. */
static void
tn_boot_claims(struct tnet *net, int idx, const struct swim_ops *ops, uint32_t max)
{
	tn_boot(net, idx, 100 + (uint64_t)idx, 5000 + (uint64_t)idx);
	swim_free(net->n[idx].s);
	net->n[idx].s =
		swim_new(&net->cfg, ops, &net->n[idx], 100 + (uint64_t)idx, 5000 + (uint64_t)idx,
			 &net->n[idx].addr, "n", net->n[idx].pk, net->now);
	ASSERT_NOT_NULL(net->n[idx].s);
	ASSERT_OK(swim_claim_register(net->n[idx].s, 7, max, true));
}

TEST(swim_application_claims)
{
	struct swim_ops ops = t_ops;
	struct tnet *net = tn_new(0, NULL, 21);
	struct swim_claim c = { .kind = 7, .subject = 0, .version = 3, .len = 6 };
	const struct swim_claim *got;
	struct swim_record r;

	ops.claim = t_claim_ok;
	memcpy(c.data, "leader", 6);
	for (int i = 0; i < 3; i++)
		tn_boot_claims(net, i, &ops, 4);
	ASSERT_EQ(swim_claim_register(net->n[0].s, 7, 4, true), -EEXIST);
	ASSERT_EQ(swim_claim_register(net->n[0].s, 0, 4, true), -EINVAL);
	tn_join_all(net);
	/* Node 0 publishes; every node holds it, signed by node 0. */
	ASSERT_OK(swim_claim_publish(net->n[0].s, &c, net->now));
	tn_run(net, 2000);
	for (int i = 0; i < 3; i++) {
		got = swim_claim_find(net->n[i].s, 7, 0);
		ASSERT_NOT_NULL(got);
		ASSERT_U64_EQ(got->version, 3);
		ASSERT_U64_EQ(got->origin, 100);
		ASSERT_MEM_EQ(got->data, "leader", 6);
	}
	/* An older version is refused at the source; a newer one supersedes. */
	ASSERT_EQ(swim_claim_publish(net->n[1].s, &c, net->now), -ESTALE);
	c.version = 4;
	memcpy(c.data, "second", 6);
	ASSERT_OK(swim_claim_publish(net->n[1].s, &c, net->now));
	tn_run(net, 2000);
	for (int i = 0; i < 3; i++) {
		ASSERT_U64_EQ(swim_claim_find(net->n[i].s, 7, 0)->version, 4);
		ASSERT_U64_EQ(swim_claim_find(net->n[i].s, 7, 0)->origin, 101);
	}
	/* The application refuses what it will not have: it stays out. */
	c.version = 5;
	c.data[0] = 'x';
	ASSERT_OK(swim_claim_publish(net->n[1].s, &c, net->now));
	tn_run(net, 2000);
	ASSERT_U64_EQ(swim_claim_find(net->n[0].s, 7, 0)->version, 4);
	/* A forged claim (signed by another key than its originator's) is
	 * refused before the application sees it; an unregistered kind too. */
	memset(&r, 0, sizeof(r));
	r.kind = SWIM_REC_APP;
	r.app = c;
	r.app.version = 9;
	r.app.data[0] = 's';
	r.app.origin = 101;
	r.id = r.app.subject;
	t_sign_as(&r, 102);
	{
		struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
		uint8_t buf[512];
		struct swim_writer w;
		int before = t_claims_accepted;

		ASSERT_OK(swim_codec_begin(&w, buf, sizeof(buf), &h));
		ASSERT_OK(swim_codec_add(&w, &r));
		swim_on_message(net->n[0].s, 102, &net->n[2].addr, SWIM_MSG_GOSSIP, buf,
				swim_codec_end(&w), net->now);
		ASSERT_EQ(t_claims_accepted, before);
		ASSERT_U64_EQ(swim_claim_find(net->n[0].s, 7, 0)->version, 4);
		ASSERT_GE(tn_stats(net, 0).bad_signatures, 1);
	}
	ASSERT_NULL(swim_claim_find(net->n[0].s, 8, 0));
	c.kind = 8;
	ASSERT_EQ(swim_claim_publish(net->n[0].s, &c, net->now), -EINVAL);
	tn_free(net);
}

/* A node publishes its own claim before it joins (the agent publishes its
 * addresses at start): members that learn the claim before they have checked
 * the newcomer hold it until they have, instead of dropping it and waiting a
 * push-pull period (a minute) for it. */
TEST(swim_claims_of_a_newcomer_arrive_with_it)
{
	struct swim_ops ops = t_ops;
	struct tnet *net = tn_new(0, NULL, 22);
	struct swim_claim c = { .kind = 7, .subject = 103, .version = 1, .len = 4 };
	const struct swim_claim *got;

	ops.claim = t_claim_ok;
	memcpy(c.data, "addr", 4);
	for (int i = 0; i < 4; i++)
		tn_boot_claims(net, i, &ops, 8);
	net->count = 3;
	tn_join_all(net);
	net->count = 4;
	ASSERT_OK(swim_claim_publish(net->n[3].s, &c, net->now));
	ASSERT_OK(swim_join(net->n[3].s, &net->n[0].addr, 1, net->now));
	tn_run(net, 5000); /* a tenth of the push-pull period */
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(swim_count(net->n[i].s), 4);
		got = swim_claim_find(net->n[i].s, 7, 103);
		ASSERT_NOT_NULL(got);
		ASSERT_U64_EQ(got->origin, 103);
		ASSERT_MEM_EQ(got->data, "addr", 4);
	}
	tn_free(net);
}
