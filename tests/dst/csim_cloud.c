/*
 * csim_cloud: the model of DigitalOcean and the registrars that the leader's
 * calls reach (docs/dst.md, "The cloud"). One inventory of droplets: a
 * create makes a `new` droplet that turns `active` after a boot time drawn
 * per droplet (or vanishes, or stays `new`, or boots without a working
 * agent), is listed under its tags only after a tag lag, and bills per
 * second from the create until it is gone; a delete answers 204 and the
 * droplet stays listed and billed for a delete delay (or for good, when the
 * delete is lost). Every call may fail as the real API does: 429 and 500
 * before acting, 500 or a lost answer after acting, a timeout before it. The
 * registrars are one set of registered droplets. Calls to a node (mark
 * draining, ask to leave) reach it only when it runs and no cut is between.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csim.h"
#include "esim_scen.h"

#define CS_IDLE_BACK_LO_US 2000 /* an answer's way back */
#define CS_IDLE_BACK_HI_US 40000

uint64_t
csim_scaled(const struct csim *cs, uint64_t ms)
{
	return ms * cs->p.scale_pm / 1000;
}

static uint64_t
csim_draw(struct csim *cs, uint64_t lo, uint64_t hi)
{
	return esim_camp_range(&cs->rng, lo, hi + 1);
}

static bool
csim_chance(struct csim *cs, uint32_t ppm)
{
	return ppm != 0 && csim_draw(cs, 0, 999999) < ppm;
}

bool
csim_drop_exists(const struct csim_drop *d)
{
	return d->status == CS_NEW || d->status == CS_ACTIVE || d->status == CS_OFF;
}

static void
csim_drop_timer(struct csim *cs, uint32_t d, enum csim_dev what, uint64_t at_us)
{
	struct evq_item it;

	memset(&it, 0, sizeof(it));
	it.at_us = at_us;
	it.kind = CS_EV_DROPLET;
	it.node = d;
	it.gen = cs->drop[d].gen;
	it.data = (void *)(uintptr_t)what;
	esim_push(cs->sim, &it);
}

void
csim_cloud_node(const struct csim *cs, uint32_t d, struct policy_node *n)
{
	const struct csim_drop *x = &cs->drop[d];

	memset(n, 0, sizeof(*n));
	n->id = ESIM_ID_BASE + d;
	n->op_id = x->op_id;
	n->created_s = x->created_unix;
	n->price_uusd = x->price_uusd;
	n->status = x->status == CS_NEW	  ? POLICY_ST_NEW
		    : x->status == CS_OFF ? POLICY_ST_OFF
					  : POLICY_ST_ACTIVE;
	n->flags = POLICY_NODE_LISTED | (x->protect ? POLICY_NODE_PROTECT_TAG : 0) |
		   (x->status == CS_ACTIVE ? POLICY_NODE_HAS_IPV4 : 0);
}

void
csim_cloud_found(struct csim *cs)
{
	for (uint32_t d = 0; d < cs->p.nodes; d++) {
		struct csim_drop *x = &cs->drop[d];

		memset(x, 0, sizeof(*x));
		x->status = CS_ACTIVE;
		x->creator = -1;
		x->created_unix = CSIM_UNIX0 - 86400; /* a day ago: mature, past its minimum */
		x->price_uusd = cs->p.price_uusd;
		x->protect = (cs->p.protect_mask >> d) & 1;
		x->registered = true; /* a running cluster that a leader takes over */
		x->bill_from_us = CSIM_T0;
	}
	cs->ndrops = cs->p.nodes;
}

/* The billed amount of droplet d so far (micro-dollars): per second, at
 * least the larger of 60 s (scaled) and $0.01, from its create until gone.
 * The founding droplets were created long before: no minimum. */
uint64_t
csim_drop_cost(const struct csim *cs, uint32_t d)
{
	const struct csim_drop *x = &cs->drop[d];
	uint64_t to = x->bill_to_us ? x->bill_to_us : cs->sim->now_us, us, cost, floor;

	if (x->status == CS_NONE || x->bill_from_us == 0)
		return 0;
	us = to > x->bill_from_us ? to - x->bill_from_us : 0;
	cost = (uint64_t)((unsigned __int128)x->price_uusd * us / (3600 * CSIM_S));
	if (x->creator < 0)
		return cost;
	floor = x->price_uusd * csim_scaled(cs, 60000) / 3600000;
	if (floor < POLICY_MIN_CHARGE_UUSD)
		floor = POLICY_MIN_CHARGE_UUSD;
	return cost > floor ? cost : floor;
}

void
csim_bill_close(struct csim *cs)
{
	for (uint32_t d = 0; d < cs->ndrops; d++)
		if (csim_drop_exists(&cs->drop[d]) && cs->drop[d].bill_to_us == 0)
			cs->drop[d].bill_to_us = cs->sim->now_us;
}

/* The droplet is destroyed: 404 from now, its agent stops with it. */
static void
csim_drop_gone(struct csim *cs, uint32_t d)
{
	struct csim_drop *x = &cs->drop[d];

	x->status = CS_GONE;
	x->deleting = false;
	x->gone_us = cs->sim->now_us;
	x->bill_to_us = cs->sim->now_us;
	x->gen++;
	esim_crash(cs->sim, d);
	csim_trace(cs, "cloud: droplet %u gone", d);
}

void
csim_power_off(struct csim *cs, uint32_t d)
{
	struct csim_drop *x = &cs->drop[d];

	if (!csim_drop_exists(x) || x->status == CS_OFF)
		return;
	x->status = CS_OFF;
	x->gen++; /* a pending boot or power cycle does not turn it on */
	esim_crash(cs->sim, d);
	csim_trace(cs, "cloud: droplet %u powered off", d);
}

/* ---- the endpoints ---------------------------------------------------- */

static bool
csim_create(struct csim *cs, struct csim_call *c)
{
	struct csim_drop *x;
	uint32_t d;
	uint64_t now = cs->sim->now_us, op = policy_op_id(c->act.op_tag);

	if (cs->ndrops == CSIM_POOL) {
		c->status = ACTUATE_FAILED;
		c->error = "422 droplet limit";
		return false;
	}
	d = cs->ndrops++;
	x = &cs->drop[d];
	memset(x, 0, sizeof(*x));
	x->status = CS_NEW;
	x->op_id = op;
	x->term = c->act.term;
	x->creator = (int32_t)c->node;
	x->created_us = now;
	x->created_unix = CSIM_UNIX0 + (now - CSIM_T0) / CSIM_S;
	x->listed_us = now + csim_draw(cs, 0, cs->p.tag_lag_ms) * CSIM_MS;
	x->price_uusd = cs->p.price_uusd;
	x->bill_from_us = now;
	x->down_since_us = now;
	if (!cs->quiet && csim_chance(cs, cs->p.vanish_ppm))
		x->boot = CS_BOOT_VANISH;
	else if (!cs->quiet && csim_chance(cs, cs->p.stuck_ppm))
		x->boot = CS_BOOT_STUCK;
	else if (!cs->quiet && csim_chance(cs, cs->p.agent_fail_ppm))
		x->boot = CS_BOOT_AGENT;
	for (uint32_t k = 0; k < d; k++)
		if (cs->drop[k].op_id == op && op != 0) {
			cs->f.dup_ops++; /* a second droplet of one operation */
			break;
		}
	cs->f.creates++;
	csim_drop_timer(cs, d, CS_DEV_ACTIVE,
			now + csim_draw(cs, cs->p.boot_lo_ms, cs->p.boot_hi_ms) * CSIM_MS);
	c->droplet = ESIM_ID_BASE + d;
	csim_trace(cs, "cloud: create by node %u term %" PRIu64 ": droplet %u, op %012" PRIx64,
		   c->node, c->act.term, d, op);
	return true;
}

/* The droplets `match` keeps, as the API lists them (tag lag applies). */
static void
csim_list(struct csim *cs, struct csim_call *c, uint64_t op_id)
{
	c->nfound = 0;
	for (uint32_t d = 0; d < cs->ndrops; d++) {
		const struct csim_drop *x = &cs->drop[d];

		if (!csim_drop_exists(x) || cs->sim->now_us < x->listed_us ||
		    (op_id != 0 && x->op_id != op_id))
			continue;
		csim_cloud_node(cs, d, &c->found[c->nfound++]);
	}
}

static uint32_t
csim_target(const struct csim *cs, uint64_t id)
{
	return id >= ESIM_ID_BASE && id - ESIM_ID_BASE < cs->ndrops ? (uint32_t)(id - ESIM_ID_BASE)
								    : UINT32_MAX;
}

static void
csim_delete(struct csim *cs, struct csim_call *c, uint32_t d)
{
	struct csim_drop *x = &cs->drop[d];

	if (d == UINT32_MAX || !csim_drop_exists(x) || x->deleting)
		return; /* 404 counts as done; a second delete changes nothing */
	if (!cs->quiet && csim_chance(cs, cs->p.delete_lost_ppm)) {
		cs->f.lost_deletes++;
		csim_trace(cs, "cloud: delete of droplet %u answered 204 and lost", d);
		return;
	}
	x->deleting = true;
	x->gone_us = cs->sim->now_us + csim_draw(cs, cs->p.del_lo_ms, cs->p.del_hi_ms) * CSIM_MS;
	cs->f.deletes++;
	csim_drop_timer(cs, d, CS_DEV_GONE, x->gone_us);
	csim_trace(cs, "cloud: delete of droplet %u by node %u term %" PRIu64, d, c->node,
		   c->act.term);
}

static void
csim_power_cycle(struct csim *cs, struct csim_call *c, uint32_t d)
{
	struct csim_drop *x = &cs->drop[d];

	if (d == UINT32_MAX || !csim_drop_exists(x)) {
		c->status = ACTUATE_FAILED;
		c->error = "404";
		return;
	}
	if (x->deleting) {
		c->status = ACTUATE_FAILED;
		c->error = "422 Droplet already has a pending event.";
		return;
	}
	x->gen++;
	esim_crash(cs->sim, d);
	csim_drop_timer(cs, d, CS_DEV_CYCLED, cs->sim->now_us + cs->p.cycle_ms * CSIM_MS);
	csim_trace(cs, "cloud: power cycle of droplet %u", d);
}

/* Can node a's message reach node b (running, no cut either way)? */
static bool
csim_reach(const struct csim *cs, uint32_t a, uint32_t b)
{
	const struct esim *sim = cs->sim;
	uint32_t n = sim->p.nodes;

	return b < n && sim->nodes[b].status == ESIM_UP && !sim->cut[a * n + b] &&
	       !sim->cut[b * n + a];
}

static void
csim_leave_later(struct csim *cs, uint32_t d)
{
	struct evq_item it;

	memset(&it, 0, sizeof(it));
	it.at_us = cs->sim->now_us + csim_draw(cs, 300, 1000) * CSIM_MS;
	it.kind = CS_EV_LEAVE;
	it.node = d;
	it.gen = cs->sh[d].life;
	esim_push(cs->sim, &it);
}

/* The lifecycle hook, run by the leader's shell for a victim. */
static void
csim_hook(struct csim *cs, struct csim_call *c)
{
	uint64_t r = csim_draw(cs, 0, 9);

	if (!cs->p.hook || r < 6)
		return;
	if (r < 8) {
		c->status = ACTUATE_MORE_TIME;
		c->more_ms = csim_scaled(cs, csim_draw(cs, 5000, 30000));
	} else if (r < 9) {
		c->status = ACTUATE_FAILED;
		c->error = "hook exited 1";
	} else {
		c->silent = true; /* the op's own wait (hook_timeout) ends it */
	}
}

static void
csim_node_call(struct csim *cs, struct csim_call *c, uint32_t d)
{
	if (c->act.verb == ACTUATE_HOOK) {
		csim_hook(cs, c);
		return;
	}
	if (d == UINT32_MAX || !csim_reach(cs, c->node, d)) {
		c->fault = CS_F_UNREACHABLE;
		c->applied = false;
		return;
	}
	if (c->act.verb == ACTUATE_MARK_DRAINING) {
		if (!cs->drop[d].draining) {
			cs->drop[d].draining = true;
			csim_gossip_draining(cs, d);
		}
	} else { /* ASK_LEAVE */
		csim_leave_later(cs, d);
	}
}

static void
csim_register(struct csim *cs, uint32_t d, bool on)
{
	struct csim_drop *x;

	if (d == UINT32_MAX)
		return;
	x = &cs->drop[d];
	if (!on && x->registered && x->down_since_us != 0)
		csim_figs_add(&cs->f, &cs->f.dereg_ms, &cs->f.ndereg, &cs->f.capdereg,
			      (cs->sim->now_us - x->down_since_us) / CSIM_MS);
	x->registered = on;
}

/* Carries out an applied call; fills the answer. */
static void
csim_execute(struct csim *cs, struct csim_call *c)
{
	uint32_t d = csim_target(cs, c->act.droplet);

	c->status = ACTUATE_OK;
	switch (c->sverb) {
	case CS_SV_LIST:
		csim_list(cs, c, 0);
		return;
	case CS_SV_REG_GET:
		for (uint32_t k = 0; k < cs->ndrops; k++)
			c->regs[k] = cs->drop[k].registered;
		return;
	case CS_SV_REG_ADD:
	case CS_SV_REG_DEL:
		csim_register(cs, d, c->sverb == CS_SV_REG_ADD);
		return;
	case CS_SV_NONE:
		break;
	}
	switch (c->act.verb) {
	case ACTUATE_CREATE:
		c->applied = csim_create(cs, c);
		break;
	case ACTUATE_LIST_OP:
		csim_list(cs, c, policy_op_id(c->act.op_tag));
		break;
	case ACTUATE_GET:
		if (d != UINT32_MAX && csim_drop_exists(&cs->drop[d]))
			csim_cloud_node(cs, d, &c->found[c->nfound++]);
		else
			c->status = ACTUATE_NOT_FOUND;
		break;
	case ACTUATE_DELETE:
		csim_delete(cs, c, d);
		break;
	case ACTUATE_POWER_CYCLE:
		csim_power_cycle(cs, c, d);
		break;
	case ACTUATE_REGISTER:
	case ACTUATE_DEREGISTER:
		csim_register(cs, d, c->act.verb == ACTUATE_REGISTER);
		break;
	default:
		csim_node_call(cs, c, d);
		break;
	}
}

/* Draws what goes wrong with a call to the API (a quarter of which fail
 * after acting), as tests/cloudsim/chaos.py does. */
static enum csim_fault
csim_fault_draw(struct csim *cs, const struct csim_call *c)
{
	bool node_call = c->sverb == CS_SV_NONE &&
			 (c->act.verb == ACTUATE_MARK_DRAINING ||
			  c->act.verb == ACTUATE_ASK_LEAVE || c->act.verb == ACTUATE_HOOK);

	if (node_call || cs->quiet || !csim_chance(cs, cs->p.api_fault_ppm))
		return CS_F_NONE;
	return (enum csim_fault)(CS_F_429 + csim_draw(cs, 0, 4));
}

static bool
csim_call_mutating(const struct csim_call *c)
{
	return c->sverb == CS_SV_NONE ? c->act.mutating
				      : c->sverb == CS_SV_REG_ADD || c->sverb == CS_SV_REG_DEL;
}

void
csim_call_issue(struct csim *cs, uint32_t i, struct csim_call *c)
{
	struct evq_item it;
	uint64_t delay;

	c->node = i;
	c->life = cs->sh[i].life;
	c->issue_us = cs->sim->now_us;
	c->timeout_us = cs->p.call_timeout_ms * CSIM_MS;
	c->fault = csim_fault_draw(cs, c);
	cs->f.calls++;
	cs->f.faults += c->fault != CS_F_NONE;
	if (csim_call_mutating(c)) {
		cs->f.mutating++;
		csim_check_issue(cs, c);
	}
	delay = csim_draw(cs, cs->p.api_lo_us, cs->p.api_hi_us);
	memset(&it, 0, sizeof(it));
	it.at_us = cs->sim->now_us + delay;
	it.kind = CS_EV_APPLY;
	it.node = i;
	it.data = c;
	esim_push(cs->sim, &it);
}

static const char *const csim_fault_text[CS_F_FAULT_COUNT] = {
	NULL,	   "429 too many requests", "500 server error",	       "500 after acting",
	"timeout", "timeout after acting",  "no answer from the node",
};

void
csim_cloud_apply(struct csim *cs, struct csim_call *c)
{
	struct evq_item it;
	uint64_t at, limit = c->issue_us + c->timeout_us;

	c->applied = c->fault == CS_F_NONE || c->fault == CS_F_500_AFTER ||
		     c->fault == CS_F_TIMEOUT_AFTER;
	if (c->applied) {
		csim_execute(cs, c);
		if (c->applied && csim_call_mutating(c))
			csim_check_apply(cs, c);
	}
	if (c->silent) {
		free(c);
		return;
	}
	if (c->fault != CS_F_NONE) {
		c->status = ACTUATE_UNKNOWN;
		c->error = csim_fault_text[c->fault];
		c->nfound = 0;
	}
	at = cs->sim->now_us + csim_draw(cs, CS_IDLE_BACK_LO_US, CS_IDLE_BACK_HI_US);
	if (c->fault == CS_F_TIMEOUT || c->fault == CS_F_TIMEOUT_AFTER ||
	    c->fault == CS_F_UNREACHABLE || at > limit) {
		at = limit; /* the client gives up: no answer */
		c->status = ACTUATE_UNKNOWN;
		c->error = c->error ? c->error : "timeout";
		c->nfound = 0;
	}
	memset(&it, 0, sizeof(it));
	it.at_us = at;
	it.kind = CS_EV_REPLY;
	it.node = c->node;
	it.data = c;
	esim_push(cs->sim, &it);
}

void
csim_cloud_event(struct csim *cs, uint32_t d, enum csim_dev what)
{
	struct csim_drop *x = &cs->drop[d];
	uint64_t now = cs->sim->now_us;

	switch (what) {
	case CS_DEV_ACTIVE:
		if (x->boot == CS_BOOT_VANISH) {
			cs->f.vanished++;
			csim_drop_gone(cs, d);
		} else if (x->boot != CS_BOOT_STUCK && x->status == CS_NEW) {
			x->status = CS_ACTIVE;
			if (x->boot == CS_BOOT_OK)
				csim_drop_timer(cs, d, CS_DEV_AGENT,
						now + csim_scaled(cs, csim_draw(cs, 1000, 3000)) *
								CSIM_MS);
		}
		break;
	case CS_DEV_AGENT:
		if (x->status == CS_ACTIVE && cs->sim->nodes[d].status == ESIM_OFF) {
			cs->sim->nodes[d].no_bootstrap = true; /* a clone joins, never founds */
			esim_start(cs->sim, d, false);
		}
		break;
	case CS_DEV_GONE:
		if (x->deleting && now >= x->gone_us)
			csim_drop_gone(cs, d);
		break;
	case CS_DEV_CYCLED:
		if (!csim_drop_exists(x))
			break;
		x->status = CS_ACTIVE;
		x->retired = false;
		if (x->boot == CS_BOOT_OK && cs->sim->nodes[d].status == ESIM_OFF)
			esim_start(cs->sim, d, true);
		break;
	}
}
