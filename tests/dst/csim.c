/*
 * csim: each node's shell, as the agent will drive the cores (docs/policy.md,
 * "How the shell drives it"; docs/dst.md, "The cloud"), the load model, and
 * the glue to esim's hooks.
 *
 * After every call into a node's election core, the shell asks
 * elect_leading(); while it leads, actuate_set_lease() gets the lease's end
 * minus the call timeout (the shell's rule: no mutating call starts with less
 * lease left than its timeout, so every call the cloud applies lands inside
 * the lease), a new term (or a lapsed lease renewed) gets policy_reset(), and
 * the inventory is listed at once (the reconcile) and every list_ms after.
 * Each listing goes to actuate_on_nodes() and to the registrars' reconcile;
 * every policy interval, while actuate_ready(), one policy_decide() and
 * actuate_apply(). Member events go to actuate_on_member(); results come back
 * as events of their own (never inside the call that issued them); after
 * every one of these the shell ticks actuate, drains its actions into calls
 * and its events into the history. Everything lives in the process: a crash
 * loses it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csim.h"
#include "esim_scen.h"
#include "netsim.h"

#define CS_IDLE_CPU	 20 /* permille: a node out of rotation */
#define CS_RETRY_LIST_MS 1000
#define CS_HANDOFF_POLL	 100

static void csim_settle(struct csim *cs, uint32_t i);

void
csim_trace(const struct csim *cs, const char *fmt, ...)
{
	va_list ap;

	if (!cs->p.trace)
		return;
	fprintf(stderr, "t=%.3f ", (double)(cs->sim->now_us - CSIM_T0) / 1e6);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

uint64_t
csim_unix_s(const struct csim *cs)
{
	return CSIM_UNIX0 + (cs->sim->now_us - CSIM_T0) / CSIM_S;
}

bool
csim_node_up(const struct csim *cs, uint32_t i)
{
	return cs->sim->nodes[i].status == ESIM_UP;
}

static uint64_t
csim_now(const struct csim *cs, uint32_t i)
{
	return esim_local_ms(&cs->sim->nodes[i]);
}

int
csim_ready_leader(const struct csim *cs)
{
	for (uint32_t i = 0; i < CSIM_POOL; i++)
		if (cs->sh[i].up && csim_node_up(cs, i) &&
		    actuate_ready(cs->sh[i].act, csim_now(cs, i)))
			return (int)i;
	return -1;
}

/* ---- settings ------------------------------------------------------------ */

void
csim_params_default(struct csim_params *p, uint32_t scale_pm)
{
	struct policy_config *pc = &p->pc;
	struct actuate_config *ac = &p->ac;
#define SC(ms) ((uint64_t)(ms)*scale_pm / 1000)

	memset(p, 0, sizeof(*p));
	p->seed = 1;
	p->nodes = 3;
	p->voters = 3;
	p->expect = 2;
	p->scale_pm = scale_pm;
	policy_config_default(pc);
	pc->scale_out_window_ms = SC(pc->scale_out_window_ms);
	pc->scale_in_window_ms = SC(pc->scale_in_window_ms);
	pc->scale_out_cooldown_ms = SC(pc->scale_out_cooldown_ms);
	pc->scale_in_cooldown_ms = SC(pc->scale_in_cooldown_ms);
	pc->warmup_ms = SC(pc->warmup_ms);
	pc->retire_delay_ms = SC(pc->retire_delay_ms);
	pc->min_nodes = 2;
	pc->max_nodes = 6;
	actuate_config_default(ac);
	snprintf(ac->cluster, sizeof(ac->cluster), "dst");
	ac->active_timeout_ms =
		SC(ac->active_timeout_ms) < 10000 ? 10000 : SC(ac->active_timeout_ms);
	ac->drain_ms = SC(ac->drain_ms);
	ac->hook_timeout_ms = SC(ac->hook_timeout_ms) < 1000 ? 1000 : SC(ac->hook_timeout_ms);
	ac->hook_max_ms = SC(ac->hook_max_ms);
	ac->leave_timeout_ms = SC(ac->leave_timeout_ms) < 1000 ? 1000 : SC(ac->leave_timeout_ms);
	ac->replace_after_ms = SC(ac->replace_after_ms);
	ac->powercycle_wait_ms = SC(ac->powercycle_wait_ms);
	ac->gone_timeout_ms = SC(ac->gone_timeout_ms) < 10000 ? 10000 : SC(ac->gone_timeout_ms);
	ac->max_ops = 64;
	p->list_ms = SC(30000);
	p->call_timeout_ms = 1000;
	p->boot_lo_ms = SC(30000);
	p->boot_hi_ms = SC(60000);
	p->del_lo_ms = SC(5000);
	p->del_hi_ms = SC(75000);
	p->tag_lag_ms = 10000;
	p->cycle_ms = SC(15000);
	p->api_lo_us = 30000;
	p->api_hi_us = 400000;
	p->price_uusd = 8929ULL * 1000 / scale_pm; /* s-1vcpu-1gb, $6 a month */
	p->tau_ms = SC(30000);
	p->load_ms = 2000;
#undef SC
}

/* ---- the shell ------------------------------------------------------------ */

static uint32_t
csim_random(void *arg)
{
	struct csim_shell *sh = arg;

	return (uint32_t)(netsim_rand64(&sh->rng) >> 32);
}

static void
csim_free_held(struct csim_shell *sh)
{
	for (uint32_t k = 0; k < sh->nheld; k++)
		if (sh->held[k].kind == CS_EV_REPLY)
			free(sh->held[k].data);
	sh->nheld = 0;
}

static void
csim_shell_stop(struct csim *cs, uint32_t i)
{
	struct csim_shell *sh = &cs->sh[i];

	policy_free(sh->pol);
	actuate_free(sh->act);
	history_free(sh->hist);
	sh->pol = NULL;
	sh->act = NULL;
	sh->hist = NULL;
	sh->up = false;
	sh->armed = false;
	sh->gen++;
	sh->life++; /* replies to this life are dropped */
	csim_free_held(sh);
}

static void
csim_shell_start(struct csim *cs, uint32_t i)
{
	struct csim_shell *sh = &cs->sh[i];
	uint64_t now = csim_now(cs, i);

	csim_shell_stop(cs, i);
	sh->rng = netsim_seed_stream(cs->p.seed, 7000 + (uint64_t)i * 1000 + sh->life);
	sh->pol = policy_new(&cs->p.pc);
	sh->act = actuate_new(&cs->p.ac, csim_random, sh);
	sh->hist = history_new();
	if (sh->pol == NULL || sh->act == NULL || sh->hist == NULL) {
		cs->sim->error = -ENOMEM;
		return;
	}
	sh->up = true;
	sh->term = 0;
	sh->seq = 0;
	sh->ninv = 0;
	sh->have_inv = sh->list_out = sh->reg_out = false;
	sh->handoff = 0;
	sh->inflight = 0;
	for (uint32_t j = 0; j < CSIM_POOL; j++) {
		sh->since_ms[j] = now;
		if (cs->drop[j].draining) /* what the gossip tells a new member */
			(void)elect_member_draining(cs->sim->nodes[i].core, ESIM_ID_BASE + j, true,
						    now);
	}
	if (cs->drop[i].draining) { /* the agent's flag lived in its memory */
		cs->drop[i].draining = false;
		csim_gossip_draining(cs, i);
	}
}

void
csim_gossip_draining(struct csim *cs, uint32_t d)
{
	struct evq_item it;

	memset(&it, 0, sizeof(it));
	it.at_us = cs->sim->now_us + CSIM_S;
	it.kind = CS_EV_GOSSIP;
	it.node = d;
	esim_push(cs->sim, &it);
}

/* Every running core learns droplet d's draining flag (as gossip spreads
 * it); a core that misses it (paused, down) learns it at its next start. */
static void
csim_on_gossip(struct csim *cs, uint32_t d)
{
	for (uint32_t i = 0; i < CSIM_POOL; i++) {
		if (i == d || !csim_node_up(cs, i))
			continue;
		(void)elect_member_draining(cs->sim->nodes[i].core, ESIM_ID_BASE + d,
					    cs->drop[d].draining, csim_now(cs, i));
		esim_kick(cs->sim, i);
	}
}

/* A victim asked to leave leaves the gossip (its LEFT spreads). */
static void
csim_on_leave(struct csim *cs, const struct evq_item *it)
{
	if (cs->sh[it->node].life != it->gen || !csim_node_up(cs, it->node))
		return;
	cs->drop[it->node].retired = true;
	esim_leave(cs->sim, it->node);
}

static enum swim_state
csim_swim_state(uint8_t st)
{
	switch (st) {
	case ELECT_MEMBER_ALIVE:
		return SWIM_ALIVE;
	case ELECT_MEMBER_SUSPECT:
		return SWIM_SUSPECT;
	case ELECT_MEMBER_LEFT:
		return SWIM_LEFT;
	default:
		return SWIM_DEAD;
	}
}

/* The node table of one decision: the last listing joined with what node
 * i's gossip says now (docs/policy.md, "How the shell drives it"). */
static size_t
csim_table(const struct csim *cs, uint32_t i, struct policy_node *nodes)
{
	const struct csim_shell *sh = &cs->sh[i];
	const uint8_t *view = cs->sim->nodes[i].view;

	for (uint32_t k = 0; k < sh->ninv; k++) {
		struct policy_node *n = &nodes[k];
		uint64_t j = sh->inv[k].id - ESIM_ID_BASE;

		*n = sh->inv[k];
		if (j >= CSIM_POOL || (j != i && view[j] == 0xff))
			continue; /* no member record */
		n->flags |= POLICY_NODE_MEMBER | POLICY_NODE_LOAD_VALID;
		n->load = cs->drop[j].load;
		if (j == i) {
			n->flags |= POLICY_NODE_LEADER;
			n->member_state = SWIM_ALIVE;
			n->member_since_ms = 0;
			continue;
		}
		n->member_state = csim_swim_state(view[j]);
		n->member_since_ms = sh->since_ms[j];
		if (cs->drop[j].draining)
			n->flags |= POLICY_NODE_DRAINING;
	}
	return sh->ninv;
}

static struct csim_call *
csim_call_new(struct csim *cs)
{
	struct csim_call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		cs->sim->error = -ENOMEM;
	return c;
}

static void
csim_shell_call(struct csim *cs, uint32_t i, enum csim_sverb v, uint64_t droplet)
{
	struct csim_call *c = csim_call_new(cs);

	if (c == NULL)
		return;
	c->sverb = v;
	c->act.droplet = droplet;
	c->act.term = cs->sh[i].term;
	if (v == CS_SV_REG_ADD || v == CS_SV_REG_DEL) {
		c->act.mutating = true;
		cs->sh[i].inflight++;
	}
	csim_call_issue(cs, i, c);
}

static void
csim_record(struct csim *cs, struct csim_shell *sh, struct history_record *r)
{
	csim_check_history(cs, sh, r);
}

static void
csim_on_event(struct csim *cs, uint32_t i, const struct actuate_event *ev)
{
	struct csim_shell *sh = &cs->sh[i];
	struct history_record r;

	switch (ev->kind) {
	case ACTUATE_EV_CLONE_READY:
		cs->f.clones++;
		break;
	case ACTUATE_EV_ADOPTED:
		cs->f.adopted++;
		break;
	case ACTUATE_EV_DUPLICATE:
		cs->f.discards++;
		break;
	case ACTUATE_EV_LEAK:
		cs->f.leaks_ev++;
		break;
	case ACTUATE_EV_ABANDONED:
		cs->f.abandoned++;
		break;
	default:
		break;
	}
	csim_trace(cs, "node %u event %s: %s", i, actuate_event_name(ev->kind), ev->text);
	history_from_event(&r, ev, ++sh->seq, csim_unix_s(cs) * 1000);
	csim_record(cs, sh, &r);
}

/* Hands node i's queued actions to the cloud and its events to the history. */
static void
csim_drain(struct csim *cs, uint32_t i)
{
	struct csim_shell *sh = &cs->sh[i];
	uint64_t now = csim_now(cs, i);
	struct actuate_action a;
	struct actuate_event ev;

	while (sh->up && actuate_next_action(sh->act, now, &a)) {
		struct csim_call *c = csim_call_new(cs);

		if (c == NULL)
			return;
		c->act = a;
		csim_trace(cs, "node %u: %s droplet %" PRIu64 " op %s term %" PRIu64, i,
			   actuate_verb_name(a.verb), a.droplet, a.op_tag, a.term);
		if (a.mutating && a.verb != ACTUATE_HOOK)
			sh->inflight++;
		if (a.verb == ACTUATE_CREATE && cs->overload_since != 0) {
			csim_figs_add(&cs->f, &cs->f.overload_ms, &cs->f.noverload,
				      &cs->f.capoverload,
				      (cs->sim->now_us - cs->overload_since) / CSIM_MS);
			cs->overload_since = 0;
		}
		csim_call_issue(cs, i, c);
		if (a.verb == ACTUATE_CREATE && cs->trap_create) {
			struct evq_item it;

			cs->trap_create = false; /* crash right after the create left */
			memset(&it, 0, sizeof(it));
			it.at_us = cs->sim->now_us;
			it.kind = CS_EV_CRASH;
			it.node = i;
			esim_push(cs->sim, &it);
		}
	}
	while (sh->up && actuate_next_event(sh->act, &ev))
		csim_on_event(cs, i, &ev);
}

static void
csim_list_now(struct csim *cs, uint32_t i, uint64_t now)
{
	struct csim_shell *sh = &cs->sh[i];

	sh->list_out = true;
	sh->next_list = now + cs->p.list_ms;
	csim_shell_call(cs, i, CS_SV_LIST, 0);
}

/* One policy round (only while actuate_ready). */
static void
csim_round(struct csim *cs, uint32_t i, uint64_t now)
{
	struct csim_shell *sh = &cs->sh[i];
	struct policy_node nodes[CSIM_POOL];
	struct policy_decision d;
	struct policy_input in;
	struct history_record r;

	memset(&in, 0, sizeof(in));
	in.nodes = nodes;
	in.n = csim_table(cs, i, nodes);
	in.now_ms = now;
	in.unix_s = csim_unix_s(cs);
	in.clone_price_uusd = cs->p.price_uusd;
	actuate_fill_input(sh->act, nodes, in.n, &in);
	if (policy_decide(sh->pol, &in, &d) != 0)
		return;
	if (d.action == POLICY_HOLD && d.limit_events == 0)
		return;
	csim_trace(cs, "node %u decides: %s", i, d.text);
	cs->f.decisions_out += d.action == POLICY_SCALE_OUT;
	cs->f.decisions_in += d.action == POLICY_SCALE_IN;
	history_from_decision(&r, &d, sh->term, ++sh->seq, csim_unix_s(cs) * 1000);
	csim_record(cs, sh, &r);
	if (d.action == POLICY_TRANSFER && sh->handoff == 0) {
		sh->handoff = 1; /* the leader must go: hand over first */
		sh->handoff_to = 0;
	} else {
		(void)actuate_apply(sh->act, &d, in.unix_s, now);
	}
}

/* A hand-over (a policy TRANSFER, or the operator's transfer or step-down)
 * waits until no mutating call of ours is in flight: the next leader may act
 * within milliseconds of it, and must not meet our late calls. Meanwhile the
 * actuation core is told its lease is over, so nothing new starts. */
static void
csim_handoff_try(struct csim *cs, uint32_t i, uint64_t now)
{
	struct csim_shell *sh = &cs->sh[i];
	struct elect *core = cs->sim->nodes[i].core;
	int kind = sh->handoff;

	if (sh->term != 0)
		actuate_set_lease(sh->act, sh->term, now, now);
	if (sh->inflight != 0)
		return;
	sh->handoff = 0;
	csim_trace(cs, "node %u: %s", i, kind == 1 ? "transfers leadership" : "steps down");
	if (kind == 1)
		(void)elect_transfer(core, sh->handoff_to, now);
	else
		(void)elect_step_down(core, now);
	esim_kick(cs->sim, i);
}

void
csim_handoff(struct csim *cs, uint32_t i, bool step_down, uint64_t to)
{
	struct csim_shell *sh = &cs->sh[i];

	if (!sh->up || !csim_node_up(cs, i) || sh->term == 0) {
		if (csim_node_up(cs, i)) { /* not leading: the core says so itself */
			if (step_down)
				(void)elect_step_down(cs->sim->nodes[i].core, csim_now(cs, i));
			else
				(void)elect_transfer(cs->sim->nodes[i].core, to, csim_now(cs, i));
			esim_kick(cs->sim, i);
		}
		return;
	}
	sh->handoff = step_down ? 2 : 1;
	sh->handoff_to = to;
	csim_handoff_try(cs, i, csim_now(cs, i));
	if (sh->up)
		csim_settle(cs, i);
}

static void
csim_arm(struct csim *cs, uint32_t i, uint64_t deadline_ms)
{
	struct csim_shell *sh = &cs->sh[i];
	struct evq_item it;
	uint64_t at;

	if (deadline_ms == UINT64_MAX)
		return;
	at = esim_real_at(&cs->sim->nodes[i], deadline_ms);
	if (at <= cs->sim->now_us)
		at = cs->sim->now_us + 1;
	if (sh->armed && sh->at_us <= at)
		return;
	memset(&it, 0, sizeof(it));
	it.at_us = at;
	it.kind = CS_EV_SHELL;
	it.node = i;
	it.gen = ++sh->gen;
	if (esim_push(cs->sim, &it) == 0) {
		sh->armed = true;
		sh->at_us = at;
	}
}

/* After anything the shell did: tick actuate, drain, re-arm the timer. */
static void
csim_settle(struct csim *cs, uint32_t i)
{
	struct csim_shell *sh = &cs->sh[i];
	uint64_t now = csim_now(cs, i), next;

	if (!sh->up)
		return;
	next = actuate_tick(sh->act, now);
	csim_drain(cs, i);
	if (actuate_leading(sh->act, now)) {
		if (!sh->list_out && sh->next_list < next)
			next = sh->next_list;
		if (actuate_ready(sh->act, now) && sh->next_round < next)
			next = sh->next_round;
	}
	if (sh->handoff && now + CS_HANDOFF_POLL < next)
		next = now + CS_HANDOFF_POLL;
	csim_arm(cs, i, next);
}

static void
csim_on_timer(struct csim *cs, uint32_t i)
{
	struct csim_shell *sh = &cs->sh[i];
	uint64_t now = csim_now(cs, i);

	sh->armed = false;
	if (sh->handoff)
		csim_handoff_try(cs, i, now);
	if (!sh->up)
		return;
	if (actuate_leading(sh->act, now) && !sh->list_out &&
	    (!actuate_ready(sh->act, now) || now >= sh->next_list))
		csim_list_now(cs, i, now);
	if (actuate_ready(sh->act, now) && now >= sh->next_round) {
		sh->next_round = now + cs->p.pc.interval_ms;
		csim_round(cs, i, now);
	}
	csim_settle(cs, i);
}

/* The registrars' reconcile (issue 11): every listed member that serves and
 * is in rotation is registered, every registered one that is not (or whose
 * droplet is not listed and who is not alive) is removed. A member alive but
 * not listed yet (tag lag) is left as it is. */
static void
csim_on_regs(struct csim *cs, uint32_t i, const struct csim_call *c)
{
	struct csim_shell *sh = &cs->sh[i];
	const uint8_t *view = cs->sim->nodes[i].view;

	for (uint32_t j = 0; j < cs->ndrops; j++) {
		uint64_t id = ESIM_ID_BASE + j;
		const struct policy_node *n = NULL;
		bool alive = j == i || view[j] == ELECT_MEMBER_ALIVE, want;

		for (uint32_t k = 0; k < sh->ninv; k++)
			if (sh->inv[k].id == id)
				n = &sh->inv[k];
#ifdef ACTUATE_BREAK_DEREG
		if (c->regs[j])
			continue; /* the backstop is off too: docs/dst.md */
#endif
		if (n == NULL) {
			if (c->regs[j] && !alive)
				csim_shell_call(cs, i, CS_SV_REG_DEL, id);
			continue;
		}
		want = alive && n->status == POLICY_ST_ACTIVE && !cs->drop[j].draining &&
		       !actuate_out_of_rotation(sh->act, id);
		if (want != (c->regs[j] != 0))
			csim_shell_call(cs, i, want ? CS_SV_REG_ADD : CS_SV_REG_DEL, id);
	}
}

static void
csim_on_list(struct csim *cs, uint32_t i, const struct csim_call *c, uint64_t now)
{
	struct csim_shell *sh = &cs->sh[i];
	struct policy_node nodes[CSIM_POOL];
	size_t n;

	sh->list_out = false;
	if (c->status != ACTUATE_OK) {
		sh->next_list = now + CS_RETRY_LIST_MS;
		return;
	}
	memcpy(sh->inv, c->found, c->nfound * sizeof(c->found[0]));
	sh->ninv = c->nfound;
	sh->have_inv = true;
	if (!actuate_leading(sh->act, now))
		return;
	n = csim_table(cs, i, nodes);
	if (getenv("CSIM_DEBUG"))
		for (size_t k = 0; k < n; k++)
			csim_trace(cs,
				   "node %u table: %" PRIu64 " st %d flags %x member %d view %d", i,
				   nodes[k].id - ESIM_ID_BASE, nodes[k].status, nodes[k].flags,
				   nodes[k].member_state,
				   cs->sim->nodes[i].view[nodes[k].id - ESIM_ID_BASE]);
	(void)actuate_on_nodes(sh->act, nodes, n, now);
	if (actuate_ready(sh->act, now) && !sh->reg_out) {
		sh->reg_out = true;
		csim_shell_call(cs, i, CS_SV_REG_GET, 0);
	}
}

static void
csim_on_reply(struct csim *cs, uint32_t i, struct csim_call *c)
{
	struct csim_shell *sh = &cs->sh[i];
	uint64_t now = csim_now(cs, i);

	if (c->act.mutating && (c->sverb != CS_SV_NONE || c->act.verb != ACTUATE_HOOK) &&
	    sh->inflight > 0)
		sh->inflight--;
	if (c->sverb == CS_SV_LIST) {
		csim_on_list(cs, i, c, now);
	} else if (c->sverb == CS_SV_REG_GET) {
		sh->reg_out = false;
		if (c->status == ACTUATE_OK && actuate_ready(sh->act, now))
			csim_on_regs(cs, i, c);
	} else if (c->sverb == CS_SV_NONE) {
		struct actuate_result r;

		memset(&r, 0, sizeof(r));
		r.req = c->act.req;
		r.status = c->status;
		r.droplet = c->droplet;
		r.found = c->found;
		r.nfound = c->nfound;
		r.more_ms = c->more_ms;
		r.error = c->error;
		(void)actuate_on_result(sh->act, &r, now);
	}
	free(c);
	csim_settle(cs, i);
}

/* ---- load ----------------------------------------------------------------- */

static uint64_t
csim_ceil_div(uint64_t a, uint64_t b)
{
	return b ? (a + b - 1) / b : 0;
}

uint64_t
csim_ideal(const struct csim *cs, uint64_t tolerance_pm)
{
	const struct policy_config *pc = &cs->p.pc;
	uint64_t t = (uint64_t)pc->target[POLICY_METRIC_CPU] * (1000 + tolerance_pm) / 1000;
	uint64_t need = csim_ceil_div(cs->demand, t);

	if (pc->max_hourly_cost_uusd && need > pc->max_hourly_cost_uusd / cs->p.price_uusd)
		need = pc->max_hourly_cost_uusd / cs->p.price_uusd;
	if (need > pc->max_nodes)
		need = pc->max_nodes;
	return need < pc->min_nodes ? pc->min_nodes : need;
}

/* Overload: the demand needs more nodes than exist (booting included); the
 * episode ends at the next create (csim_drain) or when capacity suffices. */
static void
csim_overload(struct csim *cs)
{
	uint64_t cap = 0, need = csim_ideal(cs, cs->p.pc.tolerance_permille);

	for (uint32_t d = 0; d < cs->ndrops; d++)
		cap += (cs->drop[d].status == CS_NEW || cs->drop[d].status == CS_ACTIVE) &&
		       !cs->drop[d].deleting;
	if (need <= cap)
		cs->overload_since = 0;
	else if (cs->overload_since == 0)
		cs->overload_since = cs->sim->now_us;
}

/* Every load period: the demand is divided over the nodes in rotation (each
 * at most 100%), every running agent folds its share into its EWMA and
 * gossips a new sample; the ideal cost of the demand is summed alongside. */
static void
csim_on_load(struct csim *cs)
{
	uint64_t nserv = 0, share, dt = cs->sim->now_us - cs->bill_accum_us;
	uint64_t alpha = cs->p.load_ms * 1000 / (cs->p.tau_ms ? cs->p.tau_ms : 1);
	struct evq_item it;

	if (alpha > 1000)
		alpha = 1000;
	for (uint32_t d = 0; d < cs->ndrops; d++)
		nserv += cs->drop[d].registered && cs->drop[d].status == CS_ACTIVE &&
			 csim_node_up(cs, d);
	share = nserv ? cs->demand / nserv : 0;
	if (share > 1000)
		share = 1000;
	for (uint32_t d = 0; d < cs->ndrops; d++) {
		struct csim_drop *x = &cs->drop[d];
		uint64_t inst;

		if (!csim_node_up(cs, d))
			continue;
		inst = (x->registered && x->status == CS_ACTIVE ? share : CS_IDLE_CPU) * 1000;
		x->load_ewma = inst > x->load_ewma
				       ? x->load_ewma + (inst - x->load_ewma) * alpha / 1000
				       : x->load_ewma - (x->load_ewma - inst) * alpha / 1000;
		x->load.version++;
		x->load.cpu_permille = (uint16_t)(x->load_ewma / 1000);
	}
	cs->f.min_cost_uusd += (uint64_t)((unsigned __int128)csim_ideal(cs, 0) * cs->p.price_uusd *
					  dt / (3600 * CSIM_S));
	cs->bill_accum_us = cs->sim->now_us;
	csim_overload(cs);
	memset(&it, 0, sizeof(it));
	it.at_us = cs->sim->now_us + cs->p.load_ms * CSIM_MS;
	it.kind = CS_EV_LOAD;
	esim_push(cs->sim, &it);
}

void
csim_set_demand(struct csim *cs, uint64_t demand)
{
	csim_trace(cs, "demand %" PRIu64 " (%.1f nodes at the target)", demand,
		   (double)demand / (double)cs->p.pc.target[POLICY_METRIC_CPU]);
	cs->demand = demand;
}

/* ---- esim's hooks ----------------------------------------------------------- */

/* The voters the leader holds (committed and newest): a retirement waits
 * until its victim is not one of them. */
static void
csim_voters(struct csim *cs, uint32_t i)
{
	const struct elect_log *l = &elect_hard(cs->sim->nodes[i].core)->log;
	const struct elect_voters *v[2] = { &l->snap_voters, elect_log_voters(l) };
	uint64_t ids[2 * ELECT_VOTERS_MAX];
	size_t n = 0;

	for (int k = 0; k < 2; k++)
		for (uint32_t j = 0; j < v[k]->n; j++)
			ids[n++] = v[k]->v[j].id;
	actuate_set_voters(cs->sh[i].act, ids, n);
}

/* After every call into node i's election core: what does it believe now? */
static void
csim_h_after(void *ctx, uint32_t i)
{
	struct csim *cs = ctx;
	struct csim_shell *sh = &cs->sh[i];
	uint64_t now = csim_now(cs, i), term, left, margin = cs->p.call_timeout_ms;
	bool leading;

	if (!sh->up)
		return;
	leading = elect_leading(cs->sim->nodes[i].core, now, &term, &left);
	if (leading)
		csim_check_leading(cs, i, term);
	if (leading && sh->handoff == 0) {
		if (term != sh->term) {
			csim_trace(cs, "node %u leads term %" PRIu64, i, term);
			policy_reset(sh->pol);
			sh->term = term;
			sh->next_list = now;
			sh->next_round = now + cs->p.pc.interval_ms;
		}
		actuate_set_lease(sh->act, term, left > margin ? now + left - margin : now, now);
		csim_voters(cs, i);
	} else if (!leading && sh->term != 0) {
		csim_trace(cs, "node %u no longer leads term %" PRIu64, i, sh->term);
		actuate_set_lease(sh->act, 0, 0, now);
		sh->term = 0;
		sh->handoff = 0;
	}
	csim_settle(cs, i);
}

static void
csim_h_member(void *ctx, uint32_t obs, uint32_t subj, enum elect_member_status st)
{
	struct csim *cs = ctx;
	struct csim_shell *sh = &cs->sh[obs];
	uint64_t now = csim_now(cs, obs);

	if (!sh->up)
		return;
	sh->since_ms[subj] = now;
	actuate_on_member(sh->act, ESIM_ID_BASE + subj, csim_swim_state((uint8_t)st), now);
	csim_settle(cs, obs);
}

static void
csim_h_life(void *ctx, uint32_t i, enum esim_life what)
{
	struct csim *cs = ctx;
	struct csim_shell *sh = &cs->sh[i];

	switch (what) {
	case ESIM_LIFE_START:
		csim_shell_start(cs, i);
		break;
	case ESIM_LIFE_STOP:
		csim_shell_stop(cs, i);
		break;
	case ESIM_LIFE_PAUSE:
		break;
	case ESIM_LIFE_RESUME:
		/* What came during the pause, in order; the timer at once. */
		for (uint32_t k = 0; k < sh->nheld; k++) {
			sh->held[k].at_us = cs->sim->now_us;
			esim_push(cs->sim, &sh->held[k]);
		}
		sh->nheld = 0;
		sh->armed = false;
		csim_settle(cs, i);
		break;
	}
}

static void
csim_hold(struct csim *cs, struct csim_shell *sh, const struct evq_item *it)
{
	if (sh->nheld == sh->capheld) {
		uint32_t cap = sh->capheld ? sh->capheld * 2 : 16;
		struct evq_item *h = realloc(sh->held, cap * sizeof(*h));

		if (h == NULL) {
			cs->sim->error = -ENOMEM;
			if (it->kind == CS_EV_REPLY)
				free(it->data);
			return;
		}
		sh->held = h;
		sh->capheld = cap;
	}
	sh->held[sh->nheld++] = *it;
}

/* An event for node i's shell: run it, hold it while paused, or drop it. */
static void
csim_node_event(struct csim *cs, const struct evq_item *it, uint32_t i)
{
	struct csim_shell *sh = &cs->sh[i];
	enum esim_status st = cs->sim->nodes[i].status;
	struct csim_call *c = it->kind == CS_EV_REPLY ? it->data : NULL;

	if (!sh->up || st == ESIM_OFF || (c != NULL && c->life != sh->life) ||
	    (it->kind == CS_EV_SHELL && it->gen != sh->gen)) {
		free(c);
		return;
	}
	if (st == ESIM_PAUSED) {
		csim_hold(cs, sh, it);
		return;
	}
	if (c != NULL)
		csim_on_reply(cs, i, c);
	else
		csim_on_timer(cs, i);
}

static void
csim_restart(struct csim *cs, uint32_t i, bool with_state)
{
	const struct csim_drop *x = &cs->drop[i];

	if (x->status == CS_ACTIVE && !x->retired && x->boot == CS_BOOT_OK &&
	    cs->sim->nodes[i].status == ESIM_OFF && cs->sim->nodes[i].started)
		esim_start(cs->sim, i, with_state);
}

static void
csim_h_event(void *ctx, const struct evq_item *it)
{
	struct csim *cs = ctx;
	struct evq_item back;

	switch (it->kind) {
	case CS_EV_SHELL:
	case CS_EV_REPLY:
		csim_node_event(cs, it,
				it->kind == CS_EV_REPLY ? ((struct csim_call *)it->data)->node
							: it->node);
		break;
	case CS_EV_APPLY:
		csim_cloud_apply(cs, it->data);
		break;
	case CS_EV_DROPLET:
		if ((enum csim_dev)(uintptr_t)it->data == CS_DEV_GONE ||
		    it->gen == cs->drop[it->node].gen)
			csim_cloud_event(cs, it->node, (enum csim_dev)(uintptr_t)it->data);
		break;
	case CS_EV_LOAD:
		csim_on_load(cs);
		break;
	case CS_EV_LEAVE:
		csim_on_leave(cs, it);
		break;
	case CS_EV_GOSSIP:
		csim_on_gossip(cs, it->node);
		break;
	case CS_EV_CRASH:
		csim_trace(cs, "plan: node %u crashes right after its create", it->node);
		esim_crash(cs->sim, it->node);
		back = *it;
		back.kind = CS_EV_RESTART;
		back.at_us = cs->sim->now_us + cs->trap_back_us;
		back.gen = cs->trap_state;
		esim_push(cs->sim, &back);
		break;
	case CS_EV_RESTART:
		csim_restart(cs, it->node, it->gen != 0);
		break;
	default:
		break;
	}
}

static void
csim_h_drop(void *ctx, const struct evq_item *it)
{
	(void)ctx;
	if (it->kind == CS_EV_APPLY || it->kind == CS_EV_REPLY)
		free(it->data);
}

/* Voters are admitted by the inventory (issue 11): listed under the
 * cluster tag and not being deleted. */
static enum elect_admit
csim_h_admissible(void *ctx, uint32_t i, uint64_t id)
{
	struct csim *cs = ctx;
	uint64_t d = id - ESIM_ID_BASE;

	(void)i;
	if (id < ESIM_ID_BASE || d >= cs->ndrops || !csim_drop_exists(&cs->drop[d]) ||
	    cs->drop[d].deleting)
		return ELECT_ADMIT_NO;
	return cs->sim->now_us >= cs->drop[d].listed_us ? ELECT_ADMIT_YES : ELECT_ADMIT_UNKNOWN;
}

static void
csim_h_step(void *ctx)
{
	csim_check_step(ctx);
}

/* ---- life cycle --------------------------------------------------------------- */

struct csim *
csim_new(const struct csim_params *p, const struct esim_params *ep)
{
	struct csim *cs = calloc(1, sizeof(*cs));
	struct esim_params e = *ep;
	struct evq_item it;

	if (cs == NULL)
		return NULL;
	cs->p = *p;
	cs->rng = netsim_seed_stream(p->seed, 6000);
	e.nodes = CSIM_POOL;
	e.unborn_unknown = true;
	e.cfg.voters = p->voters;
	e.cfg.bootstrap_expect = p->expect;
	e.hooks = (struct esim_hooks){ .ctx = cs,
				       .after_core = csim_h_after,
				       .member = csim_h_member,
				       .life = csim_h_life,
				       .event = csim_h_event,
				       .drop = csim_h_drop,
				       .admissible = csim_h_admissible,
				       .step = csim_h_step };
	cs->sim = esim_new(&e);
	if (cs->sim == NULL) {
		free(cs);
		return NULL;
	}
	cs->ready_node = -1;
	cs->bill_accum_us = cs->sim->now_us;
	csim_cloud_found(cs);
	memset(&it, 0, sizeof(it));
	it.at_us = cs->sim->now_us + cs->p.load_ms * CSIM_MS;
	it.kind = CS_EV_LOAD;
	esim_push(cs->sim, &it);
	return cs;
}

void
csim_free(struct csim *cs)
{
	if (cs == NULL)
		return;
	esim_free(cs->sim);
	for (uint32_t i = 0; i < CSIM_POOL; i++) {
		csim_shell_stop(cs, i);
		free(cs->sh[i].held);
	}
	free(cs->f.overload_ms);
	free(cs->f.dereg_ms);
	free(cs);
}

void
csim_found(struct csim *cs, uint32_t i)
{
	if (cs->sim->nodes[i].status == ESIM_OFF && cs->drop[i].status == CS_ACTIVE)
		esim_start(cs->sim, i, true);
}
