/*
 * esim_camp: the election campaign (`dst elect campaign`): one random
 * cluster and fault schedule per seed, the invariants checked at every
 * step, then every fault healed and a leader required within a bound
 * (docs/dst.md, "Election"). `dst elect run -s SEED` replays one seed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esim.h"
#include "netsim.h"
#include "esim_scen.h"

#define CAMP_T0	    UINT64_C(1000000000)
#define CAMP_S	    UINT64_C(1000000)
#define CAMP_MS	    UINT64_C(1000)
#define CAMP_LIVE_S 30 /* after the heal, a leader within this */

const char *const esim_camp_kind_names[ACT_KIND_COUNT] = {
	"start",     "start-fresh", "start-corrupt", "crash",	"pause", "resume",
	"partition", "heal",	    "cut",	     "uncut",	"loss",	 "rate",
	"transfer",  "step-down",   "disk-full",     "disk-ok",
};

static uint64_t
camp_rand(uint64_t *x)
{
	return netsim_rand64(x);
}

uint64_t
esim_camp_range(uint64_t *x, uint64_t lo, uint64_t hi)
{
	return hi > lo ? lo + camp_rand(x) % (hi - lo) : lo;
}

int32_t
esim_camp_add(struct camp_plan *pl, uint64_t at, uint8_t kind, int32_t node, int64_t arg)
{
	struct camp_act *a;

	if (pl->nact == CAMP_ACTS)
		return -1;
	a = &pl->act[pl->nact];
	memset(a, 0, sizeof(*a));
	a->at_us = at;
	a->seq = pl->nact;
	a->kind = kind;
	a->node = node;
	a->node2 = -1;
	a->arg = arg;
	a->pair = -1;
	return (int32_t)pl->nact++;
}

/* A begin action and its end `dur` later, sharing a node resolved at run time. */
void
esim_camp_episode(struct camp_plan *pl, uint64_t at, uint64_t dur, uint8_t k1, uint8_t k2,
		  int32_t node, int64_t arg)
{
	int32_t a = esim_camp_add(pl, at, k1, node, arg), b;

	if (a < 0)
		return;
	b = esim_camp_add(pl, at + dur, k2, node, 0);
	if (b >= 0)
		pl->act[a].pair = b;
}

/* Random groups (2 bits per node), at least two of them used; `leader`
 * (resolved later) is marked by -1 in node. */
static int64_t
camp_groups(struct camp_plan *pl)
{
	uint32_t ng = (uint32_t)esim_camp_range(&pl->rng, 2, 4);
	int64_t g = 0;
	bool two = false;

	for (uint32_t i = 0; i < pl->nodes; i++) {
		uint64_t x = camp_rand(&pl->rng) % ng;

		g |= (int64_t)x << (2 * i);
		two = two || x != (uint64_t)(g & 3);
	}
	return two ? g : g ^ 1; /* node 0 moves to another group */
}

static void
camp_fault(struct camp_plan *pl, uint64_t at, uint64_t lease_us)
{
	uint64_t *r = &pl->rng;
	int32_t any = (int32_t)esim_camp_range(r, 0, pl->nodes);
	int32_t who = camp_rand(r) % 2 ? -1 : any; /* -1: whoever leads then */
	uint64_t k = camp_rand(r) % 13, d;

	switch (k) {
	case 0:
	case 1: /* crash, then back with, without or with a corrupt state */
		d = esim_camp_range(r, 200 * CAMP_MS, 10 * CAMP_S);
		k = camp_rand(r) % 10;
		esim_camp_episode(pl, at, d, ACT_CRASH,
				  k < 7	  ? ACT_START
				  : k < 9 ? ACT_START_FRESH
					  : ACT_START_CORRUPT,
				  who, 0);
		break;
	case 2:
	case 3: /* a pause, up to well past a lease */
		d = esim_camp_range(r, 300 * CAMP_MS, 3 * lease_us);
		esim_camp_episode(pl, at, d, ACT_PAUSE, ACT_RESUME, who, 0);
		break;
	case 4:
	case 5: /* a partition: random groups, or the leader with a minority */
		d = esim_camp_range(r, 1 * CAMP_S, 20 * CAMP_S);
		esim_camp_episode(pl, at, d, ACT_PARTITION, ACT_HEAL, who == -1 ? -1 : -2,
				  camp_groups(pl));
		break;
	case 6:
	case 7: { /* one-way or two-way cuts of a link, often the leader's */
		int32_t a;

		d = esim_camp_range(r, 1 * CAMP_S, 15 * CAMP_S);
		a = esim_camp_add(pl, at, ACT_CUT, who, (int64_t)(camp_rand(r) % 3));
		if (a >= 0) {
			pl->act[a].node2 = (int32_t)esim_camp_range(r, 0, pl->nodes);
			pl->act[a].pair = esim_camp_add(pl, at + d, ACT_UNCUT, who, 0);
		}
		break;
	}
	case 8: /* flapping: partitions on and off every 0.2-2 s */
		d = esim_camp_range(r, 3 * CAMP_S, 10 * CAMP_S);
		for (uint64_t t = at; t < at + d;) {
			uint64_t on = esim_camp_range(r, 200 * CAMP_MS, 2 * CAMP_S);

			esim_camp_add(pl, t, ACT_PARTITION, -2, camp_groups(pl));
			esim_camp_add(pl, t + on, ACT_HEAL, 0, 0);
			t += on + esim_camp_range(r, 100 * CAMP_MS, 2 * CAMP_S);
		}
		break;
	case 9: /* loss up to 30% */
		d = esim_camp_range(r, 2 * CAMP_S, 20 * CAMP_S);
		esim_camp_episode(pl, at, d, ACT_LOSS, ACT_LOSS, 0,
				  (int64_t)esim_camp_range(r, 0, 300001));
		pl->act[pl->nact - 1].arg = pl->loss_ppm;
		break;
	case 10: /* leadership transfer (to the best voter or a named one) */
		esim_camp_add(pl, at, ACT_TRANSFER, -1, camp_rand(r) % 2 ? 0 : any + 1);
		break;
	case 11:
		esim_camp_add(pl, at, ACT_STEP_DOWN, -1, 0);
		break;
	default: /* a full disk for a while */
		d = esim_camp_range(r, 1 * CAMP_S, 10 * CAMP_S);
		esim_camp_episode(pl, at, d, ACT_DISK_FULL, ACT_DISK_OK, who, 0);
		break;
	}
}

/* Clock rates: fixed random within the bound (mode 0), at the bound with
 * random signs that flip now and then (1), or a new random rate for each
 * node every few seconds (2). */
void
esim_camp_drift(struct camp_plan *pl, int32_t rho)
{
	uint64_t *r = &pl->rng;

	for (uint32_t i = 0; i < pl->nodes; i++) {
		int64_t rate =
			pl->drift_mode == 1
				? (camp_rand(r) % 2 ? rho : -rho)
				: (int64_t)esim_camp_range(r, 0, 2 * (uint64_t)rho + 1) - rho;

		esim_camp_add(pl, 0, ACT_RATE, (int32_t)i, rate);
		if (pl->drift_mode == 0)
			continue;
		for (uint64_t t = esim_camp_range(r, 2 * CAMP_S, 6 * CAMP_S); t < pl->fault_us;
		     t += esim_camp_range(r, 2 * CAMP_S, 8 * CAMP_S)) {
			rate = pl->drift_mode == 1
				       ? -rate
				       : (int64_t)esim_camp_range(r, 0, 2 * (uint64_t)rho + 1) -
						 rho;
			esim_camp_add(pl, t, ACT_RATE, (int32_t)i, rate);
		}
	}
}

static int
camp_cmp(const void *a, const void *b)
{
	const struct camp_act *x = a, *y = b;

	if (x->at_us != y->at_us)
		return x->at_us < y->at_us ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
camp_plan_make(struct camp_plan *pl, uint64_t seed, uint64_t fault_s, uint64_t lease_ms,
	       int32_t rho)
{
	uint64_t *r = &pl->rng, v;
	uint32_t nfaults;

	memset(pl, 0, sizeof(*pl));
	pl->rng = netsim_seed_stream(seed, 77);
	pl->nodes = (uint32_t)esim_camp_range(r, 3, 10);
	v = camp_rand(r) % 20;
	pl->voters = v == 0 ? 1 : v < 9 ? 3 : v < 18 ? 5 : 7;
	/* Bootstrap needs more than half the nodes, so that two sides of a
	 * partition can never both bootstrap (docs/election.md). */
	pl->expect = pl->nodes / 2 + 1 + (uint32_t)esim_camp_range(r, 0, pl->nodes - pl->nodes / 2);
	if (pl->expect > ELECT_VOTERS_MAX)
		pl->expect = ELECT_VOTERS_MAX;
	pl->lat_max_us = (uint32_t)esim_camp_range(r, 1000, 50000);
	pl->loss_ppm = camp_rand(r) % 4 == 0 ? (uint32_t)esim_camp_range(r, 0, 100000) : 0;
	pl->drift_mode = (uint32_t)(camp_rand(r) % 3);
	pl->fault_us = fault_s * CAMP_S;
	for (uint32_t i = 0; i < pl->nodes; i++)
		esim_camp_add(pl, esim_camp_range(r, 0, CAMP_S), ACT_START, (int32_t)i, 0);
	esim_camp_drift(pl, rho);
	nfaults = (uint32_t)esim_camp_range(r, 3, 15);
	for (uint32_t k = 0; k < nfaults; k++)
		camp_fault(pl, esim_camp_range(r, CAMP_S, pl->fault_us - 3 * CAMP_S),
			   lease_ms * CAMP_MS);
	esim_camp_sort(pl);
}

void
esim_camp_sort(struct camp_plan *pl)
{
	static uint32_t map[CAMP_ACTS];

	/* Sort, keeping each begin's pair index pointing at its end. */
	for (uint32_t i = 0; i < pl->nact; i++)
		pl->act[i].seq = i;
	qsort(pl->act, pl->nact, sizeof(pl->act[0]), camp_cmp);
	for (uint32_t i = 0; i < pl->nact; i++)
		map[pl->act[i].seq] = i;
	for (uint32_t i = 0; i < pl->nact; i++)
		if (pl->act[i].pair >= 0)
			pl->act[i].pair = (int32_t)map[pl->act[i].pair];
}

/* The node that leads now, else one that thinks it is leader, else random. */
uint32_t
esim_camp_leader(struct esim *sim, uint64_t *rng)
{
	uint32_t count;
	int who = esim_leading(sim, &count);

	if (who >= 0)
		return (uint32_t)who;
	for (uint32_t i = 0; i < sim->p.nodes; i++)
		if (esim_running(&sim->nodes[i]) && elect_role(sim->nodes[i].core) == ELECT_LEADER)
			return i;
	return (uint32_t)(camp_rand(rng) % sim->p.nodes);
}

uint32_t
esim_camp_any(struct esim *sim, uint64_t *rng)
{
	uint32_t up[ESIM_MAX], k = 0;

	for (uint32_t i = 0; i < sim->p.nodes; i++)
		if (esim_running(&sim->nodes[i]))
			up[k++] = i;
	return k ? up[camp_rand(rng) % k] : 0;
}

/* After a direct call into a core: a shell on top looks at it again. */
static void
camp_after(struct esim *sim, uint32_t n)
{
	if (sim->p.hooks.after_core != NULL && sim->nodes[n].status == ESIM_UP)
		sim->p.hooks.after_core(sim->p.hooks.ctx, n);
}

static void
camp_groups_apply(struct esim *sim, int64_t g, int32_t leader_alone)
{
	uint32_t groups[ESIM_MAX];

	for (uint32_t i = 0; i < sim->p.nodes; i++)
		groups[i] = (uint32_t)((g >> (2 * i)) & 3);
	if (leader_alone >= 0)
		groups[leader_alone] = 3; /* the leader on a side of its own */
	esim_partition(sim, groups);
}

bool
esim_camp_apply(struct esim *sim, struct camp_plan *pl, struct camp_act *a)
{
	uint32_t n, m;

	if (a->kind >= ACT_KIND_COUNT)
		return false;
	if (a->node < 0 && a->kind != ACT_PARTITION && a->kind != ACT_HEAL) {
		a->node = a->node == ESIM_CAMP_ANY ? (int32_t)esim_camp_any(sim, &pl->rng)
						   : (int32_t)esim_camp_leader(sim, &pl->rng);
		if (a->pair >= 0)
			pl->act[a->pair].node = a->node;
	}
	n = a->node >= 0 ? (uint32_t)a->node : 0;
	if (sim->p.trace)
		fprintf(stderr, "t=%.3f plan: %s node %d arg %" PRId64 "\n",
			(double)(sim->now_us - CAMP_T0) / 1e6, esim_camp_kind_names[a->kind],
			a->node, a->arg);
	switch (a->kind) {
	case ACT_START:
	case ACT_START_FRESH:
	case ACT_START_CORRUPT:
		if (a->kind == ACT_START_CORRUPT)
			esim_corrupt_disk(sim, n);
		if (sim->nodes[n].status == ESIM_OFF)
			esim_start(sim, n, a->kind != ACT_START_FRESH);
		break;
	case ACT_CRASH:
		esim_crash(sim, n);
		break;
	case ACT_PAUSE:
		esim_pause(sim, n);
		break;
	case ACT_RESUME:
		esim_resume(sim, n);
		break;
	case ACT_PARTITION:
		camp_groups_apply(sim, a->arg,
				  a->node == -1 ? (int32_t)esim_camp_leader(sim, &pl->rng) : -1);
		break;
	case ACT_HEAL:
		esim_partition(sim, NULL);
		break;
	case ACT_CUT:
	case ACT_UNCUT:
		m = a->node2 >= 0		? (uint32_t)a->node2
		    : a->node2 == ESIM_CAMP_ANY ? esim_camp_any(sim, &pl->rng)
						: (n + 1) % sim->p.nodes;
		if (m == n)
			m = (n + 1) % sim->p.nodes;
		if (a->pair >= 0)
			pl->act[a->pair].node2 = (int32_t)m, pl->act[a->pair].arg = a->arg;
		if (a->arg != 1)
			esim_cut(sim, n, m, a->kind == ACT_CUT);
		if (a->arg != 0)
			esim_cut(sim, m, n, a->kind == ACT_CUT);
		break;
	case ACT_LOSS:
		esim_set_loss(sim, (uint32_t)a->arg);
		break;
	case ACT_RATE:
		esim_set_rate(sim, n, (int32_t)a->arg);
		break;
	case ACT_TRANSFER:
		if (esim_running(&sim->nodes[n]) && sim->nodes[n].status == ESIM_UP)
			(void)elect_transfer(sim->nodes[n].core,
					     a->arg ? ESIM_ID_BASE + (uint64_t)(a->arg - 1) : 0,
					     esim_local_ms(&sim->nodes[n]));
		camp_after(sim, n);
		break;
	case ACT_STEP_DOWN:
		if (sim->nodes[n].status == ESIM_UP)
			(void)elect_step_down(sim->nodes[n].core, esim_local_ms(&sim->nodes[n]));
		camp_after(sim, n);
		break;
	case ACT_DISK_FULL:
	case ACT_DISK_OK:
		sim->nodes[n].disk_full = a->kind == ACT_DISK_FULL;
		break;
	}
	return true;
}

/* Heals every fault: links, loss, pauses, disks, and restarts the crashed. */
static void
camp_heal(struct esim *sim)
{
	esim_partition(sim, NULL);
	esim_set_loss(sim, 0);
	for (uint32_t i = 0; i < sim->p.nodes; i++) {
		sim->nodes[i].disk_full = false;
		if (sim->nodes[i].status == ESIM_PAUSED)
			esim_resume(sim, i);
		else if (sim->nodes[i].status == ESIM_OFF)
			esim_start(sim, i, true);
	}
}

/* Could the voter set still elect anybody: a majority of its voters run
 * with the state the set names? */
static bool
camp_quorum_possible(const struct esim *sim)
{
	uint32_t ok = 0;

	if (sim->ref.n == 0)
		return true;
	for (uint32_t k = 0; k < sim->ref.n; k++) {
		uint64_t i = sim->ref.v[k].id - ESIM_ID_BASE;

		if (i < sim->p.nodes && esim_running(&sim->nodes[i]) &&
		    elect_hard(sim->nodes[i].core)->sid == sim->ref.v[k].sid)
			ok++;
	}
	return ok >= elect_quorum(sim->ref.n);
}

/* The residual bootstrap cases (docs/election.md): no voter set anywhere,
 * and either a node still waits on an offer whose proposer has since lost
 * its state, or fewer virgin nodes than bootstrap_expect are left (the
 * others lost their state and know it). Only force-recover gets such a
 * cluster going. */
bool
esim_camp_boot_orphaned(const struct esim *sim)
{
	uint32_t virgin = 0;

	if (sim->ref.n != 0)
		return false;
	for (uint32_t i = 0; i < sim->p.nodes; i++) {
		struct elect_status st;

		if (!esim_running(&sim->nodes[i]))
			continue;
		elect_status(sim->nodes[i].core, 0, &st);
		virgin += st.bootstrapping;
	}
	if (virgin < sim->p.cfg.bootstrap_expect)
		return true;
	for (uint32_t i = 0; i < sim->p.nodes; i++) {
		const struct elect_boot *b;
		uint64_t p;

		if (!esim_running(&sim->nodes[i]))
			continue;
		b = &elect_hard(sim->nodes[i].core)->boot;
		p = b->proposer - ESIM_ID_BASE;
		if (b->phase == ELECT_BOOT_ACCEPTED && p < sim->p.nodes &&
		    esim_running(&sim->nodes[p]) &&
		    elect_hard(sim->nodes[p].core)->sid != b->proposer_sid)
			return true;
	}
	return false;
}

static void
esim_seed_params(struct esim_params *p, uint64_t seed, const struct camp_plan *pl)
{
	esim_params_default(p);
	p->seed = seed;
	p->nodes = pl->nodes;
	p->lat_max_us = pl->lat_max_us;
	p->loss_ppm = pl->loss_ppm;
	p->cfg.voters = pl->voters;
	p->cfg.bootstrap_expect = pl->expect;
}

int
esim_seed_run(uint64_t seed, const struct esim_camp_opts *o, struct esim_outcome *out)
{
	static struct camp_plan pl;
	struct esim_params p;
	struct esim *sim;
	uint64_t end, t;
	uint32_t count;

	memset(out, 0, sizeof(*out));
	esim_params_default(&p);
	camp_plan_make(&pl, seed, o->fault_s, p.cfg.lease_ms, (int32_t)p.cfg.drift_ppm);
	esim_seed_params(&p, seed, &pl);
	p.trace = o->trace;
	if ((sim = esim_new(&p)) == NULL)
		return -ENOMEM;
	out->nodes = pl.nodes;
	out->voters = pl.voters;
	for (uint32_t k = 0; k < pl.nact && sim->error == 0; k++) {
		esim_run_until(sim, CAMP_T0 + pl.act[k].at_us);
		esim_camp_apply(sim, &pl, &pl.act[k]);
	}
	esim_run_until(sim, CAMP_T0 + pl.fault_us);
	camp_heal(sim);
	/* Liveness: a leader with a valid lease within CAMP_LIVE_S. */
	end = sim->now_us + CAMP_LIVE_S * CAMP_S;
	for (t = sim->now_us; t <= end && sim->error == 0; t += 100 * CAMP_MS) {
		esim_run_until(sim, t);
		if (esim_leading(sim, &count) >= 0)
			break;
	}
	out->leader_after_heal_ms = t <= end ? (t - (CAMP_T0 + pl.fault_us)) / CAMP_MS : 0;
	out->live = t <= end;
	out->quorum_possible = camp_quorum_possible(sim);
	out->orphaned = esim_camp_boot_orphaned(sim);
	out->breaks = sim->nbreaks_total;
	out->leaders = sim->c.leaders;
	out->msgs = sim->c.sent;
	if (sim->nbreaks)
		snprintf(out->first, sizeof(out->first), "%s", sim->breaks[0]);
	if (o->verbose)
		for (uint32_t k = 0; k < sim->nbreaks; k++)
			printf("  %s\n", sim->breaks[k]);
	out->error = sim->error;
	esim_free(sim);
	return 0;
}

/* Prints the plan of a seed (for `run`). */
static void
camp_print_plan(uint64_t seed, const struct esim_camp_opts *o)
{
	static struct camp_plan pl;
	struct elect_config c;

	elect_config_default(&c);
	camp_plan_make(&pl, seed, o->fault_s, c.lease_ms, (int32_t)c.drift_ppm);
	printf("seed %" PRIu64 ": %u nodes, voters %u, bootstrap_expect %u, latency 0.2..%.1f ms, "
	       "loss %.1f%%, drift mode %u, %u actions\n",
	       seed, pl.nodes, pl.voters, pl.expect, pl.lat_max_us / 1000.0, pl.loss_ppm / 1e4,
	       pl.drift_mode, pl.nact);
	for (uint32_t k = 0; k < pl.nact; k++)
		if (pl.act[k].kind != ACT_RATE || o->trace)
			printf("  t=%7.3f %-13s node %2d arg %" PRId64 "\n", pl.act[k].at_us / 1e6,
			       esim_camp_kind_names[pl.act[k].kind], pl.act[k].node, pl.act[k].arg);
}

static double
camp_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
camp_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
esim_campaign(const struct esim_camp_opts *o)
{
	uint64_t *live = calloc(o->seeds ? o->seeds : 1, sizeof(*live)), nlive = 0;
	uint64_t failed = 0, dead = 0, lost = 0, orphaned = 0, breaks = 0, leaders = 0, msgs = 0;
	uint64_t broke = 0;
	struct esim_outcome r;
	double t0 = camp_wall();

	if (live == NULL)
		return 2;
	for (uint64_t s = o->from; s < o->from + o->seeds; s++) {
		if (esim_seed_run(s, o, &r) < 0 || r.error) {
			printf("ERROR seed %" PRIu64 ": simulator out of memory\n", s);
			failed++;
			continue;
		}
		breaks += r.breaks;
		leaders += r.leaders;
		msgs += r.msgs;
		if (r.breaks) {
			failed++;
			broke++;
			printf("BREAK seed %" PRIu64 ": %s (%" PRIu64 " breaks)\n"
			       "  replay: %s elect run -s %" PRIu64 " --trace\n",
			       s, r.first, r.breaks, o->argv0, s);
		} else if (!r.live && r.orphaned) {
			orphaned++;
		} else if (!r.live && r.quorum_possible) {
			dead++;
			printf("NO LEADER seed %" PRIu64 ": none within %d s of the heal\n"
			       "  replay: %s elect run -s %" PRIu64 " --trace\n",
			       s, CAMP_LIVE_S, o->argv0, s);
		} else if (!r.live) {
			lost++;
		} else {
			live[nlive++] = r.leader_after_heal_ms;
		}
	}
	qsort(live, nlive, sizeof(*live), camp_cmp_u64);
	printf("elect campaign: seeds %" PRIu64 "..%" PRIu64 ", %.0f virtual s each\n", o->from,
	       o->from + o->seeds - 1, (double)o->fault_s + 0.0);
	printf("seeds_run %" PRIu64 "\n", o->seeds);
	printf("invariant_breaks %" PRIu64 " (in %" PRIu64 " seeds)\n", breaks, broke);
	printf("liveness_failures %" PRIu64 "\n", dead);
	printf("quorum_lost_for_good %" PRIu64 " (a majority of voters lost their state: needs "
	       "force-recover)\n",
	       lost);
	printf("bootstrap_orphaned %" PRIu64 " (the proposer lost its state mid-bootstrap: needs "
	       "force-recover)\n",
	       orphaned);
	if (nlive)
		printf("leader_after_heal_ms median %" PRIu64 " p99 %" PRIu64 " max %" PRIu64 "\n",
		       live[nlive / 2], live[(nlive * 99) / 100 < nlive ? (nlive * 99) / 100 : 0],
		       live[nlive - 1]);
	printf("leaders_elected %" PRIu64 ", messages %" PRIu64 "\n", leaders, msgs);
	if (o->wall)
		printf("wall_s %.1f\n", camp_wall() - t0);
	free(live);
	return failed || dead ? 1 : 0;
}

int
esim_run_one(uint64_t seed, const struct esim_camp_opts *o)
{
	struct esim_outcome r;
	struct esim_camp_opts v = *o;

	camp_print_plan(seed, o);
	v.verbose = true;
	if (esim_seed_run(seed, &v, &r) < 0)
		return 2;
	printf("seed %" PRIu64 ": %" PRIu64 " invariant breaks; leaders elected %" PRIu64
	       "; after the heal: %s",
	       seed, r.breaks, r.leaders, r.live ? "leader in " : "no leader");
	if (r.live)
		printf("%" PRIu64 " ms", r.leader_after_heal_ms);
	printf("%s\n", !r.live && r.orphaned	       ? " (bootstrap orphaned)"
		       : !r.live && !r.quorum_possible ? " (quorum lost for good)"
						       : "");
	return r.breaks || (!r.live && r.quorum_possible && !r.orphaned) ? 1 : 0;
}
