/*
 * csim_check: the invariants of the whole decision path, checked at every
 * event of the simulation (docs/dst.md, "The cloud: invariants", gives the
 * exact definitions and why each bound is what it is). The election's own
 * invariants are esim_check.c's and run beside these.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csim.h"
#include "esim_scen.h"

static const char *const csim_inv_names[CS_INV_COUNT] = {
	"election", "max_nodes",      "max_hourly_cost",  "double_clone",
	"leak",	    "deregistration", "minority_mutates", "lease_margin",
	"rotation", "history",	      "liveness",
};

const char *
csim_inv_name(enum csim_inv inv)
{
	return (unsigned)inv < CS_INV_COUNT ? csim_inv_names[inv] : "?";
}

void
csim_break(struct csim *cs, enum csim_inv inv, const char *fmt, ...)
{
	char text[160];
	va_list ap;

	cs->inv[inv]++;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	esim_break(cs->sim, "%s: %s", csim_inv_names[inv], text);
}

void
csim_figs_add(struct csim_figs *f, uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
	(void)f;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 32;
		uint64_t *nv = realloc(*v, c * sizeof(*nv));

		if (nv == NULL)
			return;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = x;
}

/* The agent of droplet d runs and serves (active, not paused or crashed). */
static bool
csim_serving(const struct csim *cs, uint32_t d)
{
	return cs->drop[d].status == CS_ACTIVE && csim_node_up(cs, d);
}

void
csim_check_leading(struct csim *cs, uint32_t i, uint64_t term)
{
	(void)i;
	if (term > cs->newest_led_term)
		cs->newest_led_term = term;
}

static const char *
csim_call_name(const struct csim_call *c)
{
	switch (c->sverb) {
	case CS_SV_REG_ADD:
		return "register (reconcile)";
	case CS_SV_REG_DEL:
		return "deregister (reconcile)";
	default:
		return actuate_verb_name(c->act.verb);
	}
}

/*
 * A mutating call leaves node i: it must hold a valid lease now, in the
 * term the call carries, no newer term may have led before, and the lease
 * must outlast the call's timeout (the shell's rule).
 */
void
csim_check_issue(struct csim *cs, const struct csim_call *c)
{
	struct esim_node *n = &cs->sim->nodes[c->node];
	uint64_t term = 0, left = 0;
	bool leading =
		n->status == ESIM_UP && elect_leading(n->core, esim_local_ms(n), &term, &left);

	if (!leading || term != c->act.term) {
		csim_break(cs, CS_INV_MINORITY,
			   "node %u sent %s (term %" PRIu64 ") without a lease%s", c->node,
			   csim_call_name(c), c->act.term, leading ? " in that term" : "");
		return;
	}
	if (term < cs->newest_led_term)
		csim_break(cs, CS_INV_MINORITY,
			   "node %u sent %s in term %" PRIu64 " after term %" PRIu64 " led",
			   c->node, csim_call_name(c), term, cs->newest_led_term);
	if (left < cs->p.call_timeout_ms)
		csim_break(cs, CS_INV_MARGIN,
			   "node %u sent %s with %" PRIu64 " ms of lease left (timeout %" PRIu64
			   " ms)",
			   c->node, csim_call_name(c), left, cs->p.call_timeout_ms);
}

/* The cloud (or a registrar, or the node asked) acts on a mutating call. */
void
csim_check_apply(struct csim *cs, const struct csim_call *c)
{
	uint64_t id = c->act.droplet, d = id - ESIM_ID_BASE;

	if (c->act.term < cs->newest_led_term)
		csim_break(cs, CS_INV_MINORITY,
			   "%s of node %u (term %" PRIu64 ") applied after term %" PRIu64 " led",
			   csim_call_name(c), c->node, c->act.term, cs->newest_led_term);
	if (c->sverb != CS_SV_NONE || c->act.verb != ACTUATE_DELETE || d >= cs->ndrops ||
	    !csim_drop_exists(&cs->drop[d]))
		return;
	if (cs->drop[d].protect)
		csim_break(cs, CS_INV_ROTATION, "node %u deleted protected droplet %" PRIu64,
			   c->node, d);
	if (cs->drop[d].registered && csim_serving(cs, (uint32_t)d))
		csim_break(cs, CS_INV_ROTATION,
			   "node %u deleted droplet %" PRIu64 ", registered and serving", c->node,
			   d);
}

/* How long a dead node may stay registered once a leader is ready: the
 * failure detector, five deregistrations with their timeouts and backoffs
 * (2+4+8+16 s), then the registrars' reconcile at two listings. */
static uint64_t
csim_dereg_bound_us(const struct csim *cs)
{
	const struct esim_params *e = &cs->sim->p;

	return (e->detect_ms + e->detect_jitter_ms) * CSIM_MS +
	       (5 * cs->p.call_timeout_ms + 30000 + 2 * cs->p.list_ms + 2000) * CSIM_MS;
}

/* How long (of time with a ready leader) two live droplets of one op id may
 * both be listed: the next listing, then the discard's delete with its
 * retries, then one more listing. */
static uint64_t
csim_dup_bound_us(const struct csim *cs)
{
	return (2 * cs->p.list_ms + 5 * cs->p.call_timeout_ms + 30000 + 5000) * CSIM_MS;
}

static void
csim_check_ready(struct csim *cs, uint64_t now)
{
	int r = csim_ready_leader(cs);
	uint64_t term = r >= 0 ? cs->sh[r].term : 0;

	if (cs->any_ready)
		cs->ready_us += now - cs->ready_at;
	cs->ready_at = now;
	cs->any_ready = r >= 0;
	if (r != cs->ready_node || term != cs->ready_term) {
		cs->ready_node = r;
		cs->ready_term = term;
		cs->ready_since = now;
	}
}

static void
csim_check_limits(struct csim *cs)
{
	const struct policy_config *pc = &cs->p.pc;
	uint64_t live = 0, all = 0, cost = 0;

	for (uint32_t d = 0; d < cs->ndrops; d++) {
		if (!csim_drop_exists(&cs->drop[d]))
			continue;
		all++;
		cost += cs->drop[d].price_uusd;
		live += !cs->drop[d].deleting;
	}
	if (live > cs->f.peak_nodes)
		cs->f.peak_nodes = live;
	if (all > cs->f.peak_incl_deleting)
		cs->f.peak_incl_deleting = all;
	if (live > pc->max_nodes && !cs->over_nodes)
		csim_break(cs, CS_INV_MAX_NODES,
			   "%" PRIu64 " droplets not being deleted, max_nodes %u", live,
			   pc->max_nodes);
	cs->over_nodes = live > pc->max_nodes;
	if (pc->max_hourly_cost_uusd != 0 && cost > pc->max_hourly_cost_uusd && !cs->over_cost)
		csim_break(cs, CS_INV_MAX_COST,
			   "%" PRIu64 " droplets billed at $%.6f an hour, max_hourly_cost $%.6f",
			   all, (double)cost / 1e6, (double)pc->max_hourly_cost_uusd / 1e6);
	cs->over_cost = pc->max_hourly_cost_uusd != 0 && cost > pc->max_hourly_cost_uusd;
}

/* Dead nodes: registered while not serving, past the bound counted from
 * the later of the death and the ready leader's start. */
static void
csim_check_dereg(struct csim *cs, uint64_t now)
{
	for (uint32_t d = 0; d < cs->ndrops; d++) {
		struct csim_drop *x = &cs->drop[d];
		uint64_t from;

		if (csim_serving(cs, d)) {
			x->down_since_us = 0;
			x->dereg_late = false;
			continue;
		}
		if (x->down_since_us == 0)
			x->down_since_us = now;
		if (!x->registered) {
			x->dereg_late = false;
			continue;
		}
		from = x->down_since_us > cs->ready_since ? x->down_since_us : cs->ready_since;
		if (cs->any_ready && !x->dereg_late && now > from + csim_dereg_bound_us(cs)) {
			x->dereg_late = true;
			csim_break(cs, CS_INV_DEREG,
				   "droplet %u down since t=%.3f still registered (leader node %d "
				   "ready since t=%.3f)",
				   d, (double)(x->down_since_us - CSIM_T0) / 1e6, cs->ready_node,
				   (double)(cs->ready_since - CSIM_T0) / 1e6);
		}
	}
}

static bool
csim_live_listed(const struct csim *cs, uint32_t d, uint64_t now)
{
	const struct csim_drop *x = &cs->drop[d];

	return csim_drop_exists(x) && !x->deleting && x->op_id != 0 && now >= x->listed_us;
}

/* One op id, two live droplets, both listed: one must be deleting within
 * the bound (counted in time with a ready leader). */
static void
csim_check_double(struct csim *cs, uint64_t now)
{
	for (uint32_t d = 0; d < cs->ndrops; d++) {
		struct csim_drop *x = &cs->drop[d];
		bool twin = false;

		if (!csim_live_listed(cs, d, now)) {
			x->dup_mark = 0;
			continue;
		}
		for (uint32_t e = 0; e < cs->ndrops && !twin; e++)
			twin = e != d && cs->drop[e].op_id == x->op_id &&
			       csim_live_listed(cs, e, now);
		if (!twin) {
			x->dup_mark = 0;
		} else if (x->dup_mark == 0) {
			x->dup_mark = cs->ready_us + 1;
		} else if (x->dup_mark != UINT64_MAX &&
			   cs->ready_us + 1 - x->dup_mark > csim_dup_bound_us(cs)) {
			x->dup_mark = UINT64_MAX;
			csim_break(cs, CS_INV_DOUBLE,
				   "op %012" PRIx64
				   ": droplet %u and another are both alive %.1f s "
				   "of leadership after both were listed",
				   x->op_id, d, (double)csim_dup_bound_us(cs) / 1e6);
		}
	}
}

void
csim_check_step(struct csim *cs)
{
	uint64_t now = cs->sim->now_us;

	csim_check_ready(cs, now);
	csim_check_limits(cs);
	csim_check_dereg(cs, now);
	csim_check_double(cs, now);
}

void
csim_check_history(struct csim *cs, struct csim_shell *sh, const struct history_record *r)
{
	uint8_t a[HISTORY_RECORD_MAX], b[HISTORY_RECORD_MAX];
	struct history_record back;
	const char *why = NULL;
	int la = history_encode(r, a, sizeof(a)), lb = -1, e;

	if (la < 0) {
		csim_break(cs, CS_INV_HISTORY, "a record does not encode (%d): %s", la, r->text);
		return;
	}
	e = history_decode(a, (size_t)la, &back, &why);
	if (e == 0)
		lb = history_encode(&back, b, sizeof(b));
	if (e != 0 || lb != la || memcmp(a, b, (size_t)la) != 0)
		csim_break(cs, CS_INV_HISTORY, "a record does not round-trip (%s): %s",
			   why ? why : "differs", r->text);
	if (history_append(sh->hist, r) != 0)
		csim_break(cs, CS_INV_HISTORY,
			   "the leader's own record (term %" PRIu64 ", seq %" PRIu64
			   ") refused: %s",
			   r->term, r->seq, r->text);
}

/* No leader at the end: is that the faults' doing, for good (a majority of
 * the voter set powered off or back without its state, or bootstrap
 * orphaned: only force-recover helps, as in the election campaign)? A
 * voter set that lost its majority to retirements is the system's fault. */
static bool
csim_quorum_gone(const struct csim *cs, bool *retired)
{
	const struct elect_voters *v = &cs->sim->ref;
	uint32_t ok = 0;

	*retired = false;
	if (v->n == 0)
		return esim_camp_boot_orphaned(cs->sim);
	for (uint32_t k = 0; k < v->n; k++) {
		uint64_t i = v->v[k].id - ESIM_ID_BASE;

		if (i >= CSIM_POOL)
			continue;
		if (esim_running(&cs->sim->nodes[i]) &&
		    elect_hard(cs->sim->nodes[i].core)->sid == v->v[k].sid)
			ok++;
		else if (cs->drop[i].retired)
			*retired = true;
	}
	return ok < elect_quorum(v->n);
}

/* Once the faults have healed and the demand has been steady for the
 * settle time: one ready leader; every droplet a live member or being
 * deleted; the live members are exactly the leader's desired size and all
 * registered; the desired size covers the demand (within the limits). */
void
csim_check_end(struct csim *cs, uint64_t need)
{
	const struct policy_decision *d;
	uint64_t live = 0, parked = 0;
	int r = csim_ready_leader(cs);
	bool retired;

	if (r < 0 && csim_quorum_gone(cs, &retired)) {
		if (retired)
			csim_break(cs, CS_INV_LIVENESS,
				   "the voter set lost its majority to retirements");
		else
			cs->quorum_lost = true; /* needs force-recover: counted apart */
		return;
	}
	for (uint32_t k = 0; k < cs->ndrops; k++) {
		const struct csim_drop *x = &cs->drop[k];

		if (!csim_drop_exists(x) || x->deleting)
			continue;
		if (!csim_serving(cs, k) && x->protect) {
			parked++; /* a dead protected node is left for the operator */
			continue;
		}
		if (!csim_serving(cs, k)) {
			csim_break(cs, CS_INV_LEAK,
				   "droplet %u (%s%s) is neither a live member nor being deleted",
				   k,
				   x->status == CS_NEW	 ? "new"
				   : x->status == CS_OFF ? "off"
							 : "active",
				   x->retired ? ", left" : "");
			continue;
		}
		if (!x->draining)
			live++;
		if (x->registered == x->draining)
			csim_break(cs, CS_INV_LIVENESS, "droplet %u is %s", k,
				   x->registered ? "registered while draining" : "not registered");
	}
	if (r < 0) {
		csim_break(cs, CS_INV_LIVENESS, "no leader ready after the heal");
		return;
	}
	/* A parked node is dead to the policy: in the desired size or not, as
	 * its decisions went; it is never replaced by itself (docs/policy.md). */
	d = policy_last(cs->sh[r].pol);
	if (d->desired < live || d->desired > live + parked)
		csim_break(cs, CS_INV_LIVENESS,
			   "%" PRIu64 " live members (+%" PRIu64 " parked), the leader's desired "
			   "size is %u (capacity %u)",
			   live, parked, d->desired, d->capacity);
	if (d->desired < need)
		csim_break(cs, CS_INV_LIVENESS,
			   "desired size %u is below the %" PRIu64 " nodes the demand needs",
			   d->desired, need);
}
