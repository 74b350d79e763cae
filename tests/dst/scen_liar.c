/*
 * scen_liar: members that lie (`dst test liars`, docs/dst.md). A liar runs the
 * real core like every node, and besides it sends random false claims at the
 * bounds, as a node holding the cluster key and its own node key could:
 * accusations of honest nodes at 2^64-1, LEFT and ALIVE claims in their name
 * (signed with its own key, or carrying it), load samples in their name at
 * the highest version, its own claim and load at the very edge of the clock
 * bound, invented members with keys of their own, and requests for whole
 * tables. The honest nodes must never declare an honest node dead, must keep
 * detecting real crashes, and must agree on the membership again at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scen_priv.h"
#include "swim_codec.h"
#include "wire.h"

#define LIAR_NODES    30U
#define LIAR_COUNT    3U		   /* the last three nodes */
#define LIAR_EVERY_MS 50U		   /* each liar tells a lie this often */
#define LIAR_SECONDS  300U		   /* virtual seconds of lying */
#define LIAR_FAKE_ID  UINT64_C(9000000000) /* invented members start here */

struct liar {
	struct netsim *sim;
	uint64_t rng;
	uint64_t next_fake;
	uint64_t lies;
};

/* One GOSSIP of n records from liar `from` to node `to`. */
static void
liar_send(struct liar *l, uint32_t from, uint32_t to, const struct swim_record *r, size_t n)
{
	struct swim_msg h = { .type = SWIM_MSG_GOSSIP };
	uint8_t buf[WIRE_MAX_PAYLOAD];
	struct swim_writer w;

	if (swim_codec_begin(&w, buf, sizeof(buf), &h) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		(void)swim_codec_add(&w, &r[i]);
	netsim_send_from(l->sim, from, to, SWIM_MSG_GOSSIP, buf, swim_codec_end(&w));
	l->lies++;
}

/* Signs r with `key` the simulator's way (netsim_sign). */
static void
liar_sign(const struct liar *l, struct swim_record *r, const uint8_t key[32])
{
	uint8_t msg[SWIM_SIGNED_MAX];
	size_t len = swim_codec_signed(l->sim->p.cfg.cluster_id, r, key, msg);

	netsim_sign(key, msg, len, r->sig);
}

/* A claim in honest node h's name: its ALIVE at the clock's edge from the
 * liar's address, with the liar's key, or its LEFT, signed by the liar. */
static void
liar_claim_of(struct liar *l, uint32_t from, uint32_t h, struct swim_record *r, bool left)
{
	const struct netsim_node *lf = &l->sim->nodes[from];

	memset(r, 0, sizeof(*r));
	r->kind = SWIM_REC_MEMBER;
	r->id = l->sim->nodes[h].id;
	r->state = left ? SWIM_LEFT : SWIM_ALIVE;
	r->incarnation =
		left ? l->sim->nodes[h].incarnation + 1 : netsim_now_ms(l->sim) + SWIM_MAX_SKEW_MS;
	r->addr = lf->addr;
	snprintf(r->name, sizeof(r->name), "liar");
	r->has_key = !left;
	memcpy(r->key, lf->key, sizeof(r->key));
	liar_sign(l, r, lf->key);
}

/* Invented members: fresh keys, valid self-signatures, nobody at their
 * addresses (10.255.x.y: outside the simulated network). */
static size_t
liar_fakes(struct liar *l, struct swim_record *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t id = LIAR_FAKE_ID + l->next_fake++;

		memset(&r[i], 0, sizeof(r[i]));
		r[i].kind = SWIM_REC_MEMBER;
		r[i].id = id;
		r[i].state = SWIM_ALIVE;
		r[i].incarnation = netsim_now_ms(l->sim);
		r[i].addr.family = 4;
		r[i].addr.ip[0] = 10;
		r[i].addr.ip[1] = 255;
		r[i].addr.ip[2] = (uint8_t)(id >> 8);
		r[i].addr.ip[3] = (uint8_t)id;
		r[i].addr.port = NETSIM_PORT;
		r[i].has_key = true;
		memset(r[i].key, 0, sizeof(r[i].key));
		memcpy(r[i].key, &id, sizeof(id));
		liar_sign(l, &r[i], r[i].key);
	}
	return n;
}

/* A load sample of node `of`, at `version`, 100% CPU, signed with `key`. */
static void
liar_load(struct liar *l, uint32_t of, uint32_t version, const uint8_t key[32],
	  struct swim_record *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = SWIM_REC_LOAD;
	r->id = l->sim->nodes[of].id;
	r->load.version = version;
	r->load.cpu_permille = 1000;
	r->load.mem_permille = 1000;
	liar_sign(l, r, key);
}

/* One random lie from liar `from` to node `to` about honest node h. */
static void
liar_lie(struct liar *l, uint32_t from, uint32_t to, uint32_t h)
{
	const struct netsim_node *lf = &l->sim->nodes[from];
	uint32_t now_s = (uint32_t)(netsim_now_ms(l->sim) / 1000);
	struct swim_record r[8];
	size_t n = 1;

	memset(r, 0, sizeof(r));
	switch (scen__rand(&l->rng) % 8) {
	case 0: /* "h is DEAD (or SUSPECT) at 2^64 - 1" */
		r[0].kind = SWIM_REC_ACCUSE;
		r[0].id = l->sim->nodes[h].id;
		r[0].incarnation = UINT64_MAX;
		r[0].state = scen__rand(&l->rng) % 2 ? SWIM_DEAD : SWIM_SUSPECT;
		r[0].from = lf->id;
		break;
	case 1: /* "h LEFT" */
		liar_claim_of(l, from, h, &r[0], true);
		break;
	case 2: /* "h is ALIVE over here" */
		liar_claim_of(l, from, h, &r[0], false);
		break;
	case 3: /* h's load at the highest version */
		liar_load(l, h, UINT32_MAX, lf->key, &r[0]);
		break;
	case 4: /* h's load at the clock's edge, signed by the liar */
		liar_load(l, h, now_s + SWIM_MAX_SKEW_MS / 1000, lf->key, &r[0]);
		break;
	case 5: /* its own load at the clock's edge: a lie it may tell */
		liar_load(l, from, now_s + SWIM_MAX_SKEW_MS / 1000, lf->key, &r[0]);
		break;
	case 6: /* invented members */
		n = liar_fakes(l, r, 8);
		break;
	default: /* "h is SUSPECT at the incarnation h signed" */
		r[0].kind = SWIM_REC_ACCUSE;
		r[0].id = l->sim->nodes[h].id;
		r[0].incarnation = swim_self(l->sim->nodes[h].swim)->incarnation;
		r[0].state = SWIM_SUSPECT;
		r[0].from = lf->id;
		break;
	}
	liar_send(l, from, to, r, n);
}

/* Every liar tells one lie to a random node about a random honest node. */
static void
liar_round(struct liar *l, uint32_t n, uint32_t honest)
{
	for (uint32_t from = honest; from < n; from++) {
		uint32_t to = (uint32_t)(scen__rand(&l->rng) % honest);
		uint32_t h = (uint32_t)(scen__rand(&l->rng) % honest);

		if (netsim_is_live(l->sim, from) && l->sim->nodes[h].swim != NULL)
			liar_lie(l, from, to, h);
	}
}

/* Runs `us` of virtual time with the liars lying. */
static int
liar_run(struct liar *l, uint32_t n, uint32_t honest, uint64_t us)
{
	uint64_t end = l->sim->now_us + us;
	int err = 0;

	while (err == 0 && l->sim->now_us < end) {
		liar_round(l, n, honest);
		err = netsim_run_until(l->sim, l->sim->now_us + LIAR_EVERY_MS * SCEN_MS);
	}
	return err;
}

bool
scen__t_liars(const struct scen_opts *o, char *msg, size_t size)
{
	struct scen_opts oo = *o;
	struct netsim *sim;
	struct liar l = { 0 };
	uint32_t n = LIAR_NODES, honest = LIAR_NODES - LIAR_COUNT, victim = 7, obs, subj;
	uint64_t ms[3] = { 0, 0, 0 }, t_crash, v[LIAR_NODES];
	size_t bad, k;
	bool ok = false;

	oo.p.nodes = n;
	if ((sim = netsim_new(&oo.p)) == NULL) {
		snprintf(msg, size, "out of memory");
		return false;
	}
	l.sim = sim;
	l.rng = o->p.seed * 0x9e3779b97f4a7c15ULL + 77;
	if (scen__boot(sim, &oo, ms) != 0) {
		snprintf(msg, size, "%u nodes did not converge", n);
		goto out;
	}
	/* Half the time lying, then a crash while they lie, then the rest. */
	if (liar_run(&l, n, honest, LIAR_SECONDS / 2 * SCEN_S) != 0)
		goto out;
	netsim_track_state(sim, victim);
	t_crash = sim->now_us;
	netsim_crash(sim, victim);
	if (liar_run(&l, n, honest, LIAR_SECONDS / 2 * SCEN_S) != 0)
		goto out;
	k = scen__collect(sim, SCEN_OFF(dead_at_us), t_crash, victim, v);
	if (sim->c.dead_live != 0) {
		snprintf(msg, size,
			 "%" PRIu64 " false DEAD of running nodes (first: observer %u subject %u)",
			 sim->c.dead_live, sim->fp_log[0].observer, sim->fp_log[0].subject);
		goto out;
	}
	if (k == 0 || v[k - 1] == NETSIM_NEVER || v[k - 1] > 30 * SCEN_S) {
		snprintf(msg, size, "the crash of node %u was not detected by all within 30 s",
			 victim);
		goto out;
	}
	/* Lies stop: the honest views agree again within the usual bound. */
	netsim_run_until(sim, sim->now_us + 30 * SCEN_S);
	if ((bad = netsim_check_views(sim, true, &obs, &subj)) != 0) {
		snprintf(msg, size, "%zu wrong table entries 30 s after (first: node %u about %d)",
			 bad, obs, (int)subj);
		goto out;
	}
	ok = true;
	snprintf(msg, size,
		 "%u nodes, %u liars, %" PRIu64 " lies in %u s: 0 false DEAD, a crash "
		 "detected by all in %.1f s (median %.1f s), views agree after",
		 n, LIAR_COUNT, l.lies, LIAR_SECONDS, (double)v[k - 1] / 1e6,
		 (double)scen__pct(v, k, 0.5) / 1e6);
out:
	netsim_free(sim);
	return ok;
}
