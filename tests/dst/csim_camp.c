/*
 * csim_camp: the cloud campaign (`dst cloud campaign`): per seed, a random
 * cluster, policy, cloud and fault schedule (docs/dst.md, "The cloud:
 * campaign"); the invariants at every event; then every fault heals, the
 * demand holds steady for the settle time, and the end state is checked.
 * `dst cloud run -s SEED --trace` replays one seed and tells its story.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csim.h"
#include "csim_scen.h"
#include "esim_scen.h"
#include "netsim.h"

/* The cloud's own fault actions, after the election's. */
enum csim_act {
	CA_DEMAND = ACT_KIND_COUNT, /* arg: total demand, cpu permille */
	CA_API,			    /* arg: share of API calls failing, ppm */
	CA_POWER_OFF,		    /* the node's droplet is powered off */
	CA_TRAP,		    /* the next node to send a create crashes; arg: back after (us),
				     * node2: 1 with its state */
	CA_SPLIT,		    /* arg: 0 3|2 leader in the minority, 1 in the majority,
				     * 2 leader alone | one alone | the rest, 3 random groups */
	CA_KIND_END,
};

static const char *const csim_act_names[CA_KIND_END - ACT_KIND_COUNT] = {
	"demand", "api-faults", "power-off", "crash-at-create", "split",
};

struct csim_plan {
	struct camp_plan pl; /* the actions (and the plan's random draws) */
	struct csim_params p;
	uint32_t lat_max_us, loss_ppm;
	uint64_t base_api_ppm;
	uint64_t final_demand;
	uint64_t fault_us, settle_us;
	bool powered_off;
};

static uint64_t
cp_range(struct csim_plan *cp, uint64_t lo, uint64_t hi)
{
	return esim_camp_range(&cp->pl.rng, lo, hi);
}

static const char *
csim_act_name(uint8_t kind)
{
	return kind < ACT_KIND_COUNT ? esim_camp_kind_names[kind]
				     : csim_act_names[kind - ACT_KIND_COUNT];
}

/* The cluster, the policy and the cloud of one seed. */
static void
cp_settings(struct csim_plan *cp, uint64_t seed, const struct csim_opts *o)
{
	struct csim_params *p = &cp->p;
	struct policy_config *pc = &p->pc;
	uint64_t r;

	csim_params_default(p, o->scale_pm);
	p->seed = seed;
	p->nodes = (uint32_t)cp_range(cp, 3, 6);
	p->voters = p->nodes >= 5 && cp_range(cp, 0, 2) ? 5 : 3;
	p->expect = p->nodes / 2 + 1 + (uint32_t)cp_range(cp, 0, p->nodes - p->nodes / 2);
	pc->min_nodes = (uint32_t)cp_range(cp, 1, (p->nodes < 3 ? p->nodes : 3) + 1);
	pc->max_nodes = p->nodes + (uint32_t)cp_range(cp, 0, 5);
	pc->max_step = (uint32_t)cp_range(cp, 1, 5);
	pc->billing_hold = cp_range(cp, 0, 2) != 0;
	if (cp_range(cp, 0, 10) < 4)
		pc->max_hourly_cost_uusd =
			p->price_uusd * cp_range(cp, p->nodes, pc->max_nodes + 1) +
			p->price_uusd / 2;
	p->hook = p->ac.hook = cp_range(cp, 0, 10) < 3;
	r = cp_range(cp, 0, 10);
	cp->base_api_ppm = r < 4 ? 0 : r < 7 ? 50000 : 200000;
	p->api_fault_ppm = (uint32_t)cp->base_api_ppm;
	if (cp->base_api_ppm != 0) {
		p->vanish_ppm = p->delete_lost_ppm = 30000;
		p->stuck_ppm = p->agent_fail_ppm = 10000;
	}
	if (cp_range(cp, 0, 4) == 0)
		p->protect_mask = 1U << cp_range(cp, 0, p->nodes);
	cp->lat_max_us = (uint32_t)cp_range(cp, 1000, 20000);
	cp->loss_ppm = cp_range(cp, 0, 4) == 0 ? (uint32_t)cp_range(cp, 0, 50000) : 0;
	cp->pl.nodes = CSIM_POOL;
	cp->pl.drift_mode = (uint32_t)cp_range(cp, 0, 3);
	cp->fault_us = o->fault_s * CSIM_S;
	cp->settle_us = o->settle_s * CSIM_S;
	cp->pl.fault_us = cp->fault_us;
}

/* Demand: a base of 0.6-1.1 nodes' worth per founding node, moved 2-6 times
 * (drops to 10-50%, steps of 80-120%, spikes to 1.5-4x), steady at the end. */
static void
cp_demand(struct csim_plan *cp)
{
	uint64_t target = (uint64_t)cp->p.pc.target[POLICY_METRIC_CPU];
	uint64_t base = cp->p.nodes * target * cp_range(cp, 600, 1100) / 1000;
	uint32_t k = (uint32_t)cp_range(cp, 2, 7);

	esim_camp_add(&cp->pl, 0, CA_DEMAND, 0, (int64_t)base);
	for (uint32_t i = 0; i < k; i++) {
		uint64_t r = cp_range(cp, 0, 3), f;

		f = r == 0   ? cp_range(cp, 100, 500)
		    : r == 1 ? cp_range(cp, 800, 1200)
			     : cp_range(cp, 1500, 4000);
		esim_camp_add(&cp->pl, cp_range(cp, 10 * CSIM_S, cp->fault_us), CA_DEMAND, 0,
			      (int64_t)(base * f / 1000));
	}
	cp->final_demand = base * cp_range(cp, 300, 1600) / 1000;
	esim_camp_add(&cp->pl, cp->fault_us, CA_DEMAND, 0, (int64_t)cp->final_demand);
}

static void
cp_crash(struct csim_plan *cp, uint64_t at, int32_t who)
{
	uint64_t d = cp_range(cp, 500 * CSIM_MS, 20 * CSIM_S), k = cp_range(cp, 0, 10);

	esim_camp_episode(&cp->pl, at, d, ACT_CRASH,
			  k < 7	  ? ACT_START
			  : k < 9 ? ACT_START_FRESH
				  : ACT_START_CORRUPT,
			  who, 0);
}

static void
cp_split(struct csim_plan *cp, uint64_t at, int64_t pattern)
{
	esim_camp_add(&cp->pl, at, CA_SPLIT, -1, pattern);
	esim_camp_add(&cp->pl, at + cp_range(cp, 2 * CSIM_S, 30 * CSIM_S), ACT_HEAL, 0, 0);
}

static void
cp_fault(struct csim_plan *cp, uint64_t at)
{
	struct camp_plan *pl = &cp->pl;
	int32_t who = cp_range(cp, 0, 2) ? -1 : ESIM_CAMP_ANY;
	uint64_t k = cp_range(cp, 0, 16), d;
	int32_t a;

	switch (k) {
	case 0: /* the leader crashes, back with, without or with a corrupt state */
	case 1:
		cp_crash(cp, at, -1);
		break;
	case 2:
		cp_crash(cp, at, ESIM_CAMP_ANY);
		break;
	case 3: /* the next leader to send a create crashes right after */
		a = esim_camp_add(pl, at, CA_TRAP, -1, (int64_t)cp_range(cp, CSIM_S, 15 * CSIM_S));
		if (a >= 0)
			pl->act[a].node2 = (int32_t)cp_range(cp, 0, 10) < 8;
		break;
	case 4: /* a pause, up to three leases */
	case 5:
		esim_camp_episode(pl, at, cp_range(cp, 300 * CSIM_MS, 9 * CSIM_S), ACT_PAUSE,
				  ACT_RESUME, who, 0);
		break;
	case 6:
		cp_split(cp, at, (int64_t)cp_range(cp, 0, 2));
		break;
	case 7:
		cp_split(cp, at, 2);
		break;
	case 8: /* flapping partitions */
		d = cp_range(cp, 3 * CSIM_S, 10 * CSIM_S);
		for (uint64_t t = at; t < at + d;) {
			uint64_t on = cp_range(cp, 200 * CSIM_MS, 2 * CSIM_S);

			esim_camp_add(pl, t, CA_SPLIT, -1, (int64_t)cp_range(cp, 0, 4));
			esim_camp_add(pl, t + on, ACT_HEAL, 0, 0);
			t += on + cp_range(cp, 100 * CSIM_MS, 2 * CSIM_S);
		}
		break;
	case 9: /* one-way or two-way cut of a link, often the leader's */
		a = esim_camp_add(pl, at, ACT_CUT, who, (int64_t)cp_range(cp, 0, 3));
		if (a >= 0) {
			pl->act[a].node2 = ESIM_CAMP_ANY;
			pl->act[a].pair = esim_camp_add(pl, at + cp_range(cp, CSIM_S, 15 * CSIM_S),
							ACT_UNCUT, who, 0);
		}
		break;
	case 10: /* loss up to 30% */
		esim_camp_episode(pl, at, cp_range(cp, 2 * CSIM_S, 20 * CSIM_S), ACT_LOSS, ACT_LOSS,
				  0, (int64_t)cp_range(cp, 0, 300001));
		pl->act[pl->nact - 1].arg = cp->loss_ppm;
		break;
	case 11: /* 20% of the API calls fail for a while */
		esim_camp_episode(pl, at, cp_range(cp, 10 * CSIM_S, 60 * CSIM_S), CA_API, CA_API, 0,
				  200000);
		pl->act[pl->nact - 1].arg = (int64_t)cp->base_api_ppm;
		break;
	case 12: /* one per seed: it kills for good, as losing a disk does */
		if (!cp->powered_off)
			esim_camp_add(pl, at, CA_POWER_OFF, ESIM_CAMP_ANY, 0);
		cp->powered_off = true;
		break;
	case 13:
		esim_camp_add(pl, at, ACT_TRANSFER, -1, 0);
		break;
	case 14:
		esim_camp_add(pl, at, ACT_STEP_DOWN, -1, 0);
		break;
	default: /* a full disk */
		esim_camp_episode(pl, at, cp_range(cp, CSIM_S, 10 * CSIM_S), ACT_DISK_FULL,
				  ACT_DISK_OK, who, 0);
		break;
	}
}

static void
cp_make(struct csim_plan *cp, uint64_t seed, const struct csim_opts *o)
{
	struct elect_config ec;
	uint32_t nfaults;

	memset(cp, 0, sizeof(*cp));
	cp->pl.rng = netsim_seed_stream(seed, 99);
	cp_settings(cp, seed, o);
	elect_config_default(&ec);
	for (uint32_t i = 0; i < cp->p.nodes; i++)
		esim_camp_add(&cp->pl, cp_range(cp, 0, CSIM_S), ACT_START, (int32_t)i, 0);
	esim_camp_drift(&cp->pl, (int32_t)ec.drift_ppm);
	cp_demand(cp);
	nfaults = (uint32_t)cp_range(cp, 3, 13);
	for (uint32_t k = 0; k < nfaults; k++)
		cp_fault(cp, cp_range(cp, 5 * CSIM_S, cp->fault_us - 5 * CSIM_S));
	esim_camp_sort(&cp->pl);
}

/* Groups of a split pattern over the nodes running now. */
static void
cp_split_apply(struct csim *cs, struct csim_plan *cp, int64_t pattern)
{
	uint32_t groups[ESIM_MAX] = { 0 }, up[CSIM_POOL], n = 0, lead, minority;

	lead = esim_camp_leader(cs->sim, &cp->pl.rng);
	for (uint32_t i = 0; i < CSIM_POOL; i++)
		if (esim_running(&cs->sim->nodes[i]) && i != lead)
			up[n++] = i;
	minority = (n + 1) / 2; /* of n + 1 nodes, the leader included */
	if (pattern == 0) {
		groups[lead] = 1;
		for (uint32_t k = 0; k + 1 < minority && k < n; k++)
			groups[up[k]] = 1;
	} else if (pattern == 1) {
		for (uint32_t k = 0; k < minority && k < n; k++)
			groups[up[k]] = 1;
	} else if (pattern == 2) {
		groups[lead] = 1;
		if (n > 0)
			groups[up[0]] = 2;
	} else {
		groups[lead] = (uint32_t)cp_range(cp, 0, 3);
		for (uint32_t k = 0; k < n; k++)
			groups[up[k]] = (uint32_t)cp_range(cp, 0, 3);
	}
	if (cs->p.trace)
		csim_trace(cs, "plan: split pattern %" PRId64 " (leader %u)", pattern, lead);
	esim_partition(cs->sim, groups);
}

static void
cp_apply(struct csim *cs, struct csim_plan *cp, struct camp_act *a)
{
	const struct csim_drop *x;
	uint32_t n;

	if (a->node == ESIM_CAMP_ANY && a->kind >= ACT_KIND_COUNT)
		a->node = (int32_t)esim_camp_any(cs->sim, &cp->pl.rng);
	if (a->node == -1 && (a->kind == ACT_TRANSFER || a->kind == ACT_STEP_DOWN))
		a->node = (int32_t)esim_camp_leader(cs->sim, &cp->pl.rng);
	n = a->node >= 0 ? (uint32_t)a->node : 0;
	if (a->kind != ACT_RATE && a->kind >= ACT_KIND_COUNT)
		csim_trace(cs, "plan: %s node %d arg %" PRId64, csim_act_name(a->kind), a->node,
			   a->arg);
	switch (a->kind) {
	case CA_DEMAND:
		csim_set_demand(cs, (uint64_t)a->arg);
		return;
	case CA_API:
		cs->p.api_fault_ppm = (uint32_t)a->arg;
		return;
	case CA_POWER_OFF:
		csim_power_off(cs, n);
		return;
	case CA_TRAP:
		cs->trap_create = true;
		cs->trap_back_us = (uint64_t)a->arg;
		cs->trap_state = a->node2 != 0;
		return;
	case CA_SPLIT:
		cp_split_apply(cs, cp, a->arg);
		return;
	case ACT_TRANSFER:
	case ACT_STEP_DOWN:
		csim_handoff(cs, n, a->kind == ACT_STEP_DOWN, 0);
		return;
	case ACT_START:
	case ACT_START_FRESH:
	case ACT_START_CORRUPT:
		x = &cs->drop[n];
		/* Only an agent whose droplet is still there comes back. */
		if (a->node < 0 || x->status != CS_ACTIVE || x->retired || x->boot != CS_BOOT_OK)
			return;
		break;
	default:
		break;
	}
	(void)esim_camp_apply(cs->sim, &cp->pl, a);
}

/* Every fault ends: links, loss, pauses, disks, API faults; every agent
 * whose droplet is active starts again. The demand is the final one. */
static void
cp_heal(struct csim *cs)
{
	csim_trace(cs, "plan: every fault heals");
	cs->quiet = true;
	cs->p.api_fault_ppm = 0;
	cs->trap_create = false;
	esim_partition(cs->sim, NULL);
	esim_set_loss(cs->sim, 0);
	for (uint32_t i = 0; i < CSIM_POOL; i++) {
		const struct csim_drop *x = &cs->drop[i];

		cs->sim->nodes[i].disk_full = false;
		if (cs->sim->nodes[i].status == ESIM_PAUSED)
			esim_resume(cs->sim, i);
		else if (cs->sim->nodes[i].status == ESIM_OFF && cs->sim->nodes[i].started &&
			 x->status == CS_ACTIVE && !x->retired && x->boot == CS_BOOT_OK)
			esim_start(cs->sim, i, true);
	}
}

static void
cp_esim_params(struct esim_params *ep, const struct csim_plan *cp, const struct csim_opts *o)
{
	esim_params_default(ep);
	ep->seed = cp->p.seed;
	ep->lat_max_us = cp->lat_max_us;
	ep->loss_ppm = cp->loss_ppm;
	ep->trace = o->trace;
}

static void
cp_outcome(struct csim *cs, struct csim_outcome *out)
{
	uint64_t others = 0;

	for (int k = 1; k < CS_INV_COUNT; k++)
		others += cs->inv[k];
	cs->inv[CS_INV_ELECT] = cs->sim->nbreaks_total - others;
	memcpy(out->inv, cs->inv, sizeof(out->inv));
	out->quorum_lost = cs->quorum_lost;
	out->breaks = cs->sim->nbreaks_total;
	if (cs->sim->nbreaks)
		snprintf(out->first, sizeof(out->first), "%s", cs->sim->breaks[0]);
	csim_bill_close(cs);
	for (uint32_t d = 0; d < cs->ndrops; d++)
		cs->f.cost_uusd += csim_drop_cost(cs, d);
	out->f = cs->f;
	memset(&cs->f, 0, sizeof(cs->f)); /* the arrays are the outcome's now */
	out->error = cs->sim->error;
}

int
csim_seed_run(uint64_t seed, const struct csim_opts *o, struct csim_outcome *out)
{
	static struct csim_plan cp;
	struct esim_params ep;
	struct csim *cs;

	memset(out, 0, sizeof(*out));
	cp_make(&cp, seed, o);
	cp.p.trace = o->trace;
	cp_esim_params(&ep, &cp, o);
	if ((cs = csim_new(&cp.p, &ep)) == NULL)
		return -ENOMEM;
	for (uint32_t k = 0; k < cp.pl.nact && cs->sim->error == 0; k++) {
		esim_run_until(cs->sim, CSIM_T0 + cp.pl.act[k].at_us);
		cp_apply(cs, &cp, &cp.pl.act[k]);
	}
	esim_run_until(cs->sim, CSIM_T0 + cp.fault_us);
	cp_heal(cs);
	esim_run_until(cs->sim, CSIM_T0 + cp.fault_us + cp.settle_us);
	csim_check_end(cs, csim_ideal(cs, cs->p.pc.tolerance_permille));
	if (o->verbose)
		for (uint32_t k = 0; k < cs->sim->nbreaks; k++)
			printf("  %s\n", cs->sim->breaks[k]);
	cp_outcome(cs, out);
	csim_free(cs);
	return 0;
}

void
csim_outcome_free(struct csim_outcome *out)
{
	free(out->f.overload_ms);
	free(out->f.dereg_ms);
	memset(&out->f, 0, sizeof(out->f));
}

void
csim_print_plan(uint64_t seed, const struct csim_opts *o)
{
	static struct csim_plan cp;
	const struct policy_config *pc;

	cp_make(&cp, seed, o);
	pc = &cp.p.pc;
	printf("seed %" PRIu64 ": %u founding nodes, voters %u, bootstrap_expect %u, "
	       "min_nodes %u, max_nodes %u, max_step %u, max_hourly_cost %s%.4f, billing_hold %s, "
	       "hook %s, API faults %.0f%%, latency up to %.1f ms, loss %.1f%%, drift mode %u, "
	       "scale %.3f\n",
	       seed, cp.p.nodes, cp.p.voters, cp.p.expect, pc->min_nodes, pc->max_nodes,
	       pc->max_step, pc->max_hourly_cost_uusd ? "$" : "none ",
	       (double)pc->max_hourly_cost_uusd / 1e6, pc->billing_hold ? "yes" : "no",
	       cp.p.hook ? "yes" : "no", (double)cp.base_api_ppm / 1e4, cp.lat_max_us / 1000.0,
	       cp.loss_ppm / 1e4, cp.pl.drift_mode, cp.p.scale_pm / 1000.0);
	for (uint32_t k = 0; k < cp.pl.nact; k++)
		if (cp.pl.act[k].kind != ACT_RATE || o->trace)
			printf("  t=%8.3f %-15s node %2d arg %" PRId64 "\n",
			       cp.pl.act[k].at_us / 1e6, csim_act_name(cp.pl.act[k].kind),
			       cp.pl.act[k].node, cp.pl.act[k].arg);
}
