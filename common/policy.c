/*
 * policy: the scaling decision (include/policy.h, docs/policy.md).
 *
 * One decision is five steps, each a function below:
 *   1. tally: sort every listed droplet into capacity (new or active, alive),
 *      dead, retiring, deleting; sum the clamped loads of the mature ones;
 *   2. recommend: per metric, desired = ceil(sum / target) within HPA's
 *      tolerance band, the largest of the metrics wins;
 *   3. windows: the recommendation joins the scale-out and scale-in windows,
 *      which say how long it has been above or below the current size;
 *   4. choose: repair a broken limit (above max_nodes or max_hourly_cost),
 *      else scale out (below min_nodes, back to the desired size, or the
 *      metric above the band for the window), else scale in (the metric
 *      below it for the window); each cut by the limits;
 *   5. commit: the cooldowns and the desired size move as if it were done.
 *
 * "The size" S compared with the recommendation is capacity + dead nodes
 * still waiting for replace_after: a node that just died is neither a reason
 * to clone at once (its replacement comes after replace_after) nor to retire.
 * A scale-out for load compares with the capacity alone: the dead carry no
 * load, so survivors over the band get help now, and the desired size they
 * reach is what a deleted dead droplet is later restored to.
 *
 * Two compile-time switches exist only for the simulator's self-test (they
 * break the core on purpose, so that `dst cloud`'s checker can be seen to
 * catch it; docs/dst.md, "Break switches"): POLICY_BREAK_MAX and
 * POLICY_BREAK_BUDGET let a scale-out overshoot max_nodes, and the clones
 * max_hourly_cost leaves room for, by two.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "policy_victim.h"

/* A gap of this many intervals between decisions (we were not leader, or
 * the loop stalled) restarts the windows: their samples no longer describe
 * the recent past without holes. */
#define POLICY_GAP_INTERVALS 5

struct policy {
	struct policy_config cfg;
	struct policy_window out, in;
	bool have_desired;
	uint32_t desired;
	bool out_done, any_done; /* a scale-out / any scaling started ... */
	uint64_t out_at, any_at; /* ... at this time */
	unsigned latched;	 /* limits reached in the current episode */
	bool primed;
	uint64_t last_ms;
	struct policy_decision last;
	struct policy_victim *cand; /* victim scratch, grown to the node count */
	size_t cand_cap;
};

/* What step 1 finds. */
struct policy_tally {
	uint32_t capacity, total, warming, dead, retiring, deleting;
	uint64_t cost, cost_cap; /* everything billed; the capacity's share */
	uint64_t sum[POLICY_METRIC_COUNT];
	uint32_t loaded[POLICY_METRIC_COUNT], missing[POLICY_METRIC_COUNT];
};

/* Everything one decision works with. */
struct policy_ctx {
	const struct policy_input *in;
	struct policy_tally t;
	bool data;	  /* some metric has a recommendation */
	uint32_t rec;	  /* the recommendation of this round, against S */
	uint32_t rec_out; /* what the load asks above the band, else 0 (the scale-out window's) */
	uint32_t size;	  /* S: capacity + dead awaiting replacement */
	struct policy_window_run up, down;
	struct policy_decision *d;
};

enum policy_class {
	POLICY_C_SKIP,	   /* not listed under the cluster tag */
	POLICY_C_DELETING, /* billed until gone */
	POLICY_C_ARCHIVE,  /* billed, never capacity */
	POLICY_C_RETIRING,
	POLICY_C_DEAD,
	POLICY_C_WARM,	 /* capacity without load */
	POLICY_C_MATURE, /* capacity with load */
};

uint64_t
policy_min_charge_ms(uint64_t price_uusd)
{
	uint64_t ms;

	if (price_uusd == 0)
		return POLICY_MIN_CHARGE_S * 1000ULL;
	/* $0.01 at price_uusd per hour lasts 10000 / price hours. */
	ms = (POLICY_MIN_CHARGE_UUSD * 3600000ULL + price_uusd - 1) / price_uusd;
	return ms > POLICY_MIN_CHARGE_S * 1000ULL ? ms : POLICY_MIN_CHARGE_S * 1000ULL;
}

struct policy *
policy_new(const struct policy_config *cfg)
{
	struct policy *p;

	if (policy_config_validate(cfg, NULL, 0) != 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->cfg = *cfg;
	policy_reset(p);
	return p;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	free(p->cand);
	free(p);
}

int
policy_set_config(struct policy *p, const struct policy_config *cfg)
{
	if (policy_config_validate(cfg, NULL, 0) != 0)
		return -EINVAL;
	p->cfg = *cfg;
	/* A new span changes the slot width: that window starts again. */
	if (p->out.span_ms != cfg->scale_out_window_ms)
		policy_window_init(&p->out, cfg->scale_out_window_ms);
	if (p->in.span_ms != cfg->scale_in_window_ms)
		policy_window_init(&p->in, cfg->scale_in_window_ms);
	return 0;
}

const struct policy_config *
policy_config(const struct policy *p)
{
	return &p->cfg;
}

void
policy_reset(struct policy *p)
{
	policy_window_init(&p->out, p->cfg.scale_out_window_ms);
	policy_window_init(&p->in, p->cfg.scale_in_window_ms);
	p->have_desired = false;
	p->desired = 0;
	p->out_done = p->any_done = false;
	p->out_at = p->any_at = 0;
	p->latched = 0;
	p->primed = false;
	p->last_ms = 0;
	memset(&p->last, 0, sizeof(p->last));
	p->last.metric = -1;
}

const struct policy_decision *
policy_last(const struct policy *p)
{
	return &p->last;
}

/* ---- step 1: tally ---------------------------------------------------- */

static bool
policy_is_young(const struct policy_config *cfg, const struct policy_node *n, uint64_t unix_s)
{
	if (n->status == POLICY_ST_NEW)
		return true;
	if (n->created_s == 0)
		return false;
	/* A clock behind the droplet's creation reads as young (cautious). */
	return unix_s < n->created_s || (unix_s - n->created_s) * 1000 < cfg->warmup_ms;
}

static enum policy_class
policy_classify(const struct policy_config *cfg, const struct policy_node *n, uint64_t unix_s)
{
	bool gone = (n->flags & POLICY_NODE_MEMBER) != 0 &&
		    (n->member_state == SWIM_DEAD || n->member_state == SWIM_LEFT);

	if ((n->flags & POLICY_NODE_LISTED) == 0)
		return POLICY_C_SKIP;
	if ((n->flags & POLICY_NODE_DELETING) != 0)
		return POLICY_C_DELETING;
	if (n->status == POLICY_ST_ARCHIVE)
		return POLICY_C_ARCHIVE;
	if ((n->flags & (POLICY_NODE_RETIRING | POLICY_NODE_DRAINING)) != 0)
		return POLICY_C_RETIRING;
	if ((n->flags & POLICY_NODE_DEAD_OP) != 0 || n->status == POLICY_ST_OFF || gone)
		return POLICY_C_DEAD;
	return policy_is_young(cfg, n, unix_s) ? POLICY_C_WARM : POLICY_C_MATURE;
}

/* The sample of metric m, or false when the node has none that counts. */
static bool
policy_sample(const struct policy_node *n, enum policy_metric m, int64_t *v)
{
	const struct swim_load *l = &n->load;

	if ((n->flags & (POLICY_NODE_MEMBER | POLICY_NODE_LOAD_VALID)) !=
		    (POLICY_NODE_MEMBER | POLICY_NODE_LOAD_VALID) ||
	    n->member_state != SWIM_ALIVE || l->version == 0)
		return false;
	switch (m) {
	case POLICY_METRIC_CPU:
		*v = l->cpu_permille;
		return true;
	case POLICY_METRIC_LOAD1:
		*v = l->load1_permille;
		return true;
	case POLICY_METRIC_MEMORY:
		*v = l->mem_permille;
		return true;
	default:
		*v = l->custom_milli;
		return l->has_custom;
	}
}

/* Adds a mature node's clamped samples: one node moves a mean of N nodes by
 * at most max / N, whatever it claims. */
static void
policy_add_load(const struct policy_config *cfg, const struct policy_node *n,
		struct policy_tally *t)
{
	for (int m = 0; m < POLICY_METRIC_COUNT; m++) {
		int64_t v, clamp = policy_config_clamp(cfg, (enum policy_metric)m);

		if ((cfg->metrics & POLICY_METRIC_BIT(m)) == 0)
			continue;
		if (!policy_sample(n, (enum policy_metric)m, &v)) {
			t->missing[m]++;
			continue;
		}
		t->sum[m] += (uint64_t)(v < 0 ? 0 : v > clamp ? clamp : v);
		t->loaded[m]++;
	}
}

static void
policy_tally(const struct policy_config *cfg, const struct policy_input *in, struct policy_tally *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < in->n; i++) {
		const struct policy_node *n = &in->nodes[i];
		enum policy_class c = policy_classify(cfg, n, in->unix_s);
		uint64_t price = n->price_uusd != 0 ? n->price_uusd : in->clone_price_uusd;

		if (c == POLICY_C_SKIP)
			continue;
		t->cost += price;
		if (c == POLICY_C_DELETING) {
			t->deleting++;
			continue;
		}
		t->total++;
		if (c == POLICY_C_RETIRING)
			t->retiring++;
		else if (c == POLICY_C_DEAD)
			t->dead++;
		if (c != POLICY_C_WARM && c != POLICY_C_MATURE)
			continue;
		t->capacity++;
		t->cost_cap += price;
		if (c == POLICY_C_WARM)
			t->warming++;
		else
			policy_add_load(cfg, n, t);
	}
	/* Clones in flight that the inventory does not list yet. */
	t->capacity += in->creating;
	t->total += in->creating;
	t->warming += in->creating;
	t->cost += (uint64_t)in->creating * in->clone_price_uusd + in->unlisted_cost_uusd;
	t->cost_cap += (uint64_t)in->creating * in->clone_price_uusd;
}

/* ---- step 2: recommend ------------------------------------------------ */

/*
 * The desired size for one metric. Mature nodes with no valid sample are
 * counted as HPA counts pods without metrics: at 0 when the others ask for
 * more (they add no load), at the target when the others ask for fewer
 * (they are not evidence of idleness). Nodes in warm-up count the same way.
 */
static uint32_t
policy_recommend_one(const struct policy_config *cfg, const struct policy_tally *t,
		     enum policy_metric m, uint32_t size)
{
	uint64_t target = (uint64_t)cfg->target[m], need;
	double load = (double)t->sum[m] * 1000.0;
	double base = (double)t->loaded[m] * (double)target;

	need = (t->sum[m] + target - 1) / target;
	if (load > base * (1000.0 + cfg->tolerance_permille)) /* above the band */
		return need > size ? (uint32_t)(need > UINT32_MAX ? UINT32_MAX : need) : size;
	if (load < base * (1000.0 - cfg->tolerance_permille)) { /* below it */
		need += (uint64_t)t->missing[m] + t->warming;
		return need < size ? (uint32_t)need : size;
	}
	return size;
}

static void
policy_recommend(const struct policy_config *cfg, struct policy_ctx *c)
{
	uint32_t out;

	c->data = false;
	c->rec = 0;
	c->rec_out = 0;
	for (int m = 0; m < POLICY_METRIC_COUNT; m++) {
		struct policy_metric_view *v = &c->d->metrics[m];

		v->used = (cfg->metrics & POLICY_METRIC_BIT(m)) != 0;
		v->target = cfg->target[m];
		v->max = policy_config_clamp(cfg, (enum policy_metric)m);
		v->loaded = c->t.loaded[m];
		v->missing = c->t.missing[m];
		if (!v->used || c->t.loaded[m] == 0)
			continue;
		v->valid = true;
		v->mean = (int64_t)(c->t.sum[m] / c->t.loaded[m]);
		v->desired = policy_recommend_one(cfg, &c->t, (enum policy_metric)m, c->size);
		/* The largest desired size wins (HPA, AWS); it names the reason. */
		if (!c->data || v->desired > c->rec) {
			c->rec = v->desired;
			c->d->metric = m;
		}
		/* The scale-out window keeps what the load asks above the band
		 * and 0 otherwise, not the capacity of the moment: a sample
		 * taken before a death must not read as "above" after it. */
		out = policy_recommend_one(cfg, &c->t, (enum policy_metric)m, 0);
		if (out > c->rec_out)
			c->rec_out = out;
		c->data = true;
	}
}

/* ---- step 3: windows -------------------------------------------------- */

static void
policy_windows(struct policy *p, struct policy_ctx *c)
{
	uint64_t now = c->in->now_ms;

	if (p->primed &&
	    (now < p->last_ms || now - p->last_ms > POLICY_GAP_INTERVALS * p->cfg.interval_ms)) {
		policy_window_clear(&p->out);
		policy_window_clear(&p->in);
	}
	p->primed = true;
	p->last_ms = now;
	if (!c->data) {
		/* No evidence: neither direction may count this as "still". */
		policy_window_clear(&p->out);
		policy_window_clear(&p->in);
	} else {
		policy_window_add(&p->out, now, c->rec_out);
		policy_window_add(&p->in, now, c->rec);
	}
	policy_window_scan(&p->out, now, true, c->t.capacity, &c->up);
	policy_window_scan(&p->in, now, false, c->size, &c->down);
	c->d->rec = c->rec;
	c->d->rec_out = c->up.ready ? c->up.value : 0;
	c->d->rec_in = c->down.ready ? c->down.value : 0;
	c->d->out_for_ms = c->up.for_ms;
	c->d->in_for_ms = c->down.for_ms;
}

/* The desired size carries over decisions; it follows capacity up (a clone
 * adopted, a node back from the dead) and stays within the limits. */
static void
policy_desired_update(struct policy *p, struct policy_ctx *c)
{
	if (!p->have_desired) {
		p->desired = c->size;
		p->have_desired = true;
	}
	if (p->desired < c->t.capacity)
		p->desired = c->t.capacity;
	if (p->desired < p->cfg.min_nodes)
		p->desired = p->cfg.min_nodes;
	if (p->desired > p->cfg.max_nodes)
		p->desired = p->cfg.max_nodes;
	c->d->desired_before = p->desired;
	c->d->desired = p->desired;
}

/* ---- step 4: choose --------------------------------------------------- */

static uint64_t
policy_left(bool done, uint64_t at, uint64_t span, uint64_t now)
{
	if (!done || now < at || now - at >= span)
		return 0;
	return span - (now - at);
}

/* The clones a scale-out would add before the limits, and why; 0 when none
 * is due. min_nodes and restore count from S (a dead node waiting for
 * replace_after keeps its place); the metric counts from the capacity. The
 * base the count is added to goes to *base. */
static uint32_t
policy_out_add(struct policy *p, struct policy_ctx *c, enum policy_reason *why, uint32_t *base)
{
	const struct policy_config *cfg = &p->cfg;
	struct policy_decision *d = c->d;
	uint32_t s = c->size, cap = c->t.capacity, add = 0;

	if (s < cfg->min_nodes) {
		add = cfg->min_nodes - s;
		*why = POLICY_R_MIN;
		*base = s;
	}
	if (s < p->desired && p->desired - s > add) {
		add = p->desired - s;
		*why = POLICY_R_RESTORE;
		*base = s;
	}
	if (c->up.ready && c->up.value > cap && d->cooldown_out_left_ms == 0 &&
	    c->up.value - cap > add) {
		add = c->up.value - cap;
		*why = POLICY_R_METRIC;
		*base = cap;
	}
	/* In a dry run nothing changes between rounds: every "would clone"
	 * waits a cooldown, or the history would repeat it each second. */
	if (cfg->dry_run && d->cooldown_out_left_ms != 0)
		add = 0;
	if (add != 0 && d->backoff_left_ms != 0) {
		d->holds |= POLICY_HOLD_BACKOFF;
		add = 0;
	}
	return add;
}

/* Cuts `add` clones by max_step, max_nodes and max_hourly_cost. */
static uint32_t
policy_cut_out(const struct policy_config *cfg, struct policy_ctx *c, uint32_t add)
{
	struct policy_decision *d = c->d;
	uint32_t room = cfg->max_nodes > c->t.total ? cfg->max_nodes - c->t.total : 0;

	if (add > cfg->max_step) {
		add = cfg->max_step;
		d->limits |= POLICY_LIMIT_STEP;
	}
#ifndef POLICY_BREAK_MAX
	if (add > room) {
#else
	if (add > room + 2) {
#endif
		add = room;
		d->limits |= POLICY_LIMIT_MAX_NODES;
	}
	if (cfg->max_hourly_cost_uusd != 0 && add > 0) {
		uint64_t left = cfg->max_hourly_cost_uusd > c->t.cost
					? cfg->max_hourly_cost_uusd - c->t.cost
					: 0;

		if (c->in->clone_price_uusd == 0) {
			d->holds |= POLICY_HOLD_PRICE; /* cannot tell: spend nothing */
			add = 0;
#ifndef POLICY_BREAK_BUDGET
		} else if (add > left / c->in->clone_price_uusd) {
#else
		} else if (add > left / c->in->clone_price_uusd + 2) {
#endif
			add = (uint32_t)(left / c->in->clone_price_uusd);
			d->limits |= POLICY_LIMIT_COST;
		}
	}
	return add;
}

static void
policy_scale_out(struct policy *p, struct policy_ctx *c, uint32_t want, uint32_t base,
		 enum policy_reason why)
{
	struct policy_decision *d = c->d;
	uint32_t add = policy_cut_out(&p->cfg, c, want);

	d->reason = why;
	d->wanted = base + want;
	if (add == 0) {
		d->holds |= d->limits != 0 ? POLICY_HOLD_LIMIT : 0;
		return;
	}
	d->action = POLICY_SCALE_OUT;
	d->count = add;
	d->desired = base + add > p->desired ? base + add : p->desired;
}

/* Takes victims in order until `want` (or, for a cost repair, until the
 * capacity's cost fits); the leader and held nodes are skipped and noted. */
static uint32_t
policy_take_victims(struct policy *p, struct policy_ctx *c, const struct policy_victim *v,
		    size_t nv, uint32_t want, bool *leader)
{
	struct policy_decision *d = c->d;
	bool hold = p->cfg.billing_hold && d->reason == POLICY_R_METRIC;
	uint64_t cost = c->t.cost_cap;

	for (size_t i = 0; i < nv && d->count < want; i++) {
		if (d->reason == POLICY_R_COST && cost <= p->cfg.max_hourly_cost_uusd)
			break;
		if (hold && !v[i].past_min) {
			uint64_t end = v[i].min_end_s - p->cfg.retire_delay_ms / 1000;
			uint64_t left = (end - c->in->unix_s) * 1000;

			d->holds |= POLICY_HOLD_BILLING;
			if (d->billing_left_ms == 0 || left < d->billing_left_ms)
				d->billing_left_ms = left;
			continue;
		}
		if (v[i].leader) {
			*leader = true;
			continue;
		}
		d->victims[d->count++] = v[i].id;
		cost -= v[i].price_uusd < cost ? v[i].price_uusd : cost;
	}
	return d->count;
}

/* The victim scratch holds one entry per node; it only grows, so a steady
 * cluster allocates nothing per decision. */
static int
policy_scratch(struct policy *p, size_t n)
{
	struct policy_victim *nc;

	if (p->cand_cap >= n)
		return 0;
	nc = realloc(p->cand, n * sizeof(*nc));
	if (nc == NULL)
		return -ENOMEM;
	p->cand = nc;
	p->cand_cap = n;
	return 0;
}

static int
policy_scale_in(struct policy *p, struct policy_ctx *c, enum policy_reason why, uint32_t want)
{
	struct policy_decision *d = c->d;
	uint32_t floor = p->cfg.min_nodes, cap = c->t.capacity;
	size_t nv = 0;
	bool leader = false;

	d->reason = why;
	if (cap < floor || want > cap - floor) {
		want = cap > floor ? cap - floor : 0;
		d->limits |= POLICY_LIMIT_MIN_NODES;
	}
	if (want > p->cfg.max_step) {
		want = p->cfg.max_step;
		d->limits |= POLICY_LIMIT_STEP;
	}
	if (want == 0)
		return 0;
	if (policy_scratch(p, c->in->n) != 0)
		return -ENOMEM;
	policy_victim_list(&p->cfg, c->in, p->cand, &nv);
	d->eligible = (uint32_t)nv;
	if (policy_take_victims(p, c, p->cand, nv, want, &leader) == 0) {
		/* Hand over only when no other node could go, even later: nodes
		 * held by their minimum charge will be free soon, and a change
		 * of leader is not free either. */
		if ((d->holds & POLICY_HOLD_BILLING) != 0)
			return 0;
		d->action = leader ? POLICY_TRANSFER : POLICY_HOLD;
		d->holds |= leader ? 0 : POLICY_HOLD_NO_VICTIM;
		return 0;
	}
	if (d->count < want && why != POLICY_R_COST)
		d->limits |= POLICY_LIMIT_VICTIMS;
	d->action = POLICY_SCALE_IN;
	d->desired = cap - d->count;
	return 0;
}

/* The metric asks for fewer nodes for the whole scale_in_window, and no
 * scaling happened for scale_in_cooldown: the size it may shrink to. */
static bool
policy_in_due(struct policy *p, struct policy_ctx *c)
{
	return c->down.ready && c->down.value < c->size && c->d->cooldown_in_left_ms == 0;
}

static int
policy_choose(struct policy *p, struct policy_ctx *c)
{
	const struct policy_config *cfg = &p->cfg;
	enum policy_reason why = POLICY_R_NONE;
	uint32_t add, base = 0, floor;

	if (c->t.capacity > cfg->max_nodes)
		return policy_scale_in(p, c, POLICY_R_MAX, c->t.capacity - cfg->max_nodes);
	if (cfg->max_hourly_cost_uusd != 0 && c->t.cost_cap > cfg->max_hourly_cost_uusd)
		return policy_scale_in(p, c, POLICY_R_COST, UINT32_MAX);
	add = policy_out_add(p, c, &why, &base);
	if (add != 0) {
		policy_scale_out(p, c, add, base, why);
		return 0;
	}
	if (!policy_in_due(p, c))
		return 0;
	floor = c->down.value;
	c->d->wanted = floor;
	if (floor < cfg->min_nodes) {
		floor = cfg->min_nodes;
		c->d->limits |= POLICY_LIMIT_MIN_NODES;
	}
	if (floor >= c->t.capacity) { /* the dead suffice to shrink: keep fewer */
		c->d->desired = floor < p->desired ? floor : p->desired;
		return 0;
	}
	return policy_scale_in(p, c, POLICY_R_METRIC, c->t.capacity - floor);
}

/* ---- step 5: commit --------------------------------------------------- */

static void
policy_latch(struct policy *p, struct policy_ctx *c)
{
	const struct policy_config *cfg = &p->cfg;
	struct policy_decision *d = c->d;
	unsigned evented = POLICY_LIMIT_MAX_NODES | POLICY_LIMIT_COST;

	/* An episode ends when the limit leaves room again. */
	if (c->t.total < cfg->max_nodes)
		p->latched &= ~POLICY_LIMIT_MAX_NODES;
	if (cfg->max_hourly_cost_uusd == 0 ||
	    (c->in->clone_price_uusd != 0 &&
	     c->t.cost + c->in->clone_price_uusd <= cfg->max_hourly_cost_uusd))
		p->latched &= ~POLICY_LIMIT_COST;
	d->limit_events = d->limits & evented & ~p->latched;
	p->latched |= d->limits & evented;
}

static void
policy_commit(struct policy *p, struct policy_ctx *c)
{
	struct policy_decision *d = c->d;
	uint64_t now = c->in->now_ms;

	if (d->action == POLICY_SCALE_OUT) {
		p->out_done = true;
		p->out_at = now;
	}
	if (d->action == POLICY_SCALE_OUT || d->action == POLICY_SCALE_IN) {
		p->any_done = true;
		p->any_at = now;
	}
	if (!p->cfg.dry_run)
		p->desired = d->desired;
	else
		d->desired = p->desired;
}

/* The timers and the window states that may hold a decision back. */
static void
policy_holds(struct policy *p, struct policy_ctx *c)
{
	struct policy_decision *d = c->d;
	const struct policy_input *in = c->in;
	uint64_t now = in->now_ms;

	d->cooldown_out_left_ms =
		policy_left(p->out_done, p->out_at, p->cfg.scale_out_cooldown_ms, now);
	d->cooldown_in_left_ms =
		policy_left(p->any_done, p->any_at, p->cfg.scale_in_cooldown_ms, now);
	d->backoff_left_ms = policy_left(in->clone_failed, in->clone_failed_ms,
					 p->cfg.scale_out_cooldown_ms, now);
	if (!c->data)
		d->holds |= POLICY_HOLD_NO_DATA;
	if (c->up.active && !c->up.ready)
		d->holds |= POLICY_HOLD_WINDOW_OUT;
	if (c->down.active && !c->down.ready)
		d->holds |= POLICY_HOLD_WINDOW_IN;
	if (c->up.ready && d->cooldown_out_left_ms != 0)
		d->holds |= POLICY_HOLD_COOLDOWN_OUT;
	if (c->down.ready && d->cooldown_in_left_ms != 0)
		d->holds |= POLICY_HOLD_COOLDOWN_IN;
	if (c->t.warming != 0)
		d->holds |= POLICY_HOLD_WARMUP;
	if (c->t.dead != 0)
		d->holds |= POLICY_HOLD_DEAD;
}

static void
policy_fill_counts(struct policy_ctx *c)
{
	struct policy_decision *d = c->d;

	d->capacity = c->t.capacity;
	d->total = c->t.total;
	d->creating = c->in->creating;
	d->warming = c->t.warming;
	d->dead_pending = c->t.dead;
	d->retiring = c->t.retiring;
	d->deleting = c->t.deleting;
	d->cost_uusd = c->t.cost;
	d->clone_price_uusd = c->in->clone_price_uusd;
}

int
policy_decide(struct policy *p, const struct policy_input *in, struct policy_decision *out)
{
	struct policy_ctx c;
	int r;

	if (p == NULL || in == NULL || out == NULL || (in->n > 0 && in->nodes == NULL))
		return -EINVAL;
	for (size_t i = 0; i < in->n; i++)
		if (in->nodes[i].id == 0)
			return -EINVAL;
	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.in = in;
	c.d = out;
	out->now_ms = in->now_ms;
	out->metric = -1;
	out->dry_run = p->cfg.dry_run;
	policy_tally(&p->cfg, in, &c.t);
	c.size = c.t.capacity + c.t.dead;
	policy_fill_counts(&c);
	policy_recommend(&p->cfg, &c);
	policy_windows(p, &c);
	policy_desired_update(p, &c);
	policy_holds(p, &c);
	r = policy_choose(p, &c);
	if (r != 0) {
		out->action = POLICY_HOLD;
		out->count = 0;
	}
	if (out->action == POLICY_HOLD && out->limits != 0)
		out->holds |= POLICY_HOLD_LIMIT;
	policy_latch(p, &c);
	policy_commit(p, &c);
	policy__text(out, &p->cfg, r);
	p->last = *out;
	return r;
}
