/*
 * A small cluster for the policy and actuation tests: nodes that are listed,
 * active, alive, mature (created a day ago, so past their minimum charge)
 * and report a valid load, a policy with the defaults, and a clock that
 * steps one policy interval at a time.
 */
#ifndef POLICY_FX_H
#define POLICY_FX_H

#include "harness.h"
#include "policy.h"

#define FX_MAX	 256
#define FX_UNIX0 1800000000ULL /* 2027-01-15: "now" on the wall clock */
#define FX_PRICE 8929ULL       /* $6/month: 6 / 672 $ an hour, in micro-dollars */

struct fx {
	struct policy_config cfg;
	struct policy *p;
	struct policy_node nodes[FX_MAX];
	size_t n;
	struct policy_input in;
	struct policy_decision d;
	uint64_t now;  /* monotonic ms */
	uint64_t unix; /* wall clock s */
};

static inline struct policy_node *
fx_add(struct fx *f, uint64_t id, uint16_t cpu)
{
	struct policy_node *n = &f->nodes[f->n++];

	memset(n, 0, sizeof(*n));
	n->id = id;
	n->status = POLICY_ST_ACTIVE;
	n->created_s = f->unix - 86400;
	n->price_uusd = FX_PRICE;
	n->member_state = SWIM_ALIVE;
	n->member_since_ms = 0;
	n->flags = POLICY_NODE_LISTED | POLICY_NODE_MEMBER | POLICY_NODE_LOAD_VALID |
		   POLICY_NODE_HAS_IPV4;
	n->load.version = 1;
	n->load.cpu_permille = cpu;
	n->load.mem_permille = 100;
	n->load.load1_permille = 100;
	return n;
}

static inline struct policy_node *
fx_find(struct fx *f, uint64_t id)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->nodes[i].id == id)
			return &f->nodes[i];
	return NULL;
}

static inline void
fx_remove(struct fx *f, uint64_t id)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->nodes[i].id == id) {
			f->nodes[i] = f->nodes[--f->n];
			return;
		}
	}
}

static inline void
fx_set_cpu(struct fx *f, uint16_t cpu)
{
	for (size_t i = 0; i < f->n; i++)
		f->nodes[i].load.cpu_permille = cpu;
}

/* n nodes (ids 1..n) at `cpu`, node 1 the leader, default policy except
 * what `tweak` changes before the policy is made. */
static inline void
fx_init(struct fx *f, size_t n, uint16_t cpu, void (*tweak)(struct policy_config *))
{
	memset(f, 0, sizeof(*f));
	f->now = 1000000;
	f->unix = FX_UNIX0;
	policy_config_default(&f->cfg);
	if (tweak != NULL)
		tweak(&f->cfg);
	f->p = policy_new(&f->cfg);
	ASSERT_NOT_NULL(f->p);
	for (size_t i = 0; i < n; i++)
		fx_add(f, i + 1, cpu);
	if (n > 0)
		f->nodes[0].flags |= POLICY_NODE_LEADER;
	f->in.clone_price_uusd = FX_PRICE;
}

/* One decision at the current time, then the clocks move one interval. */
static inline const struct policy_decision *
fx_step(struct fx *f)
{
	f->in.nodes = f->nodes;
	f->in.n = f->n;
	f->in.now_ms = f->now;
	f->in.unix_s = f->unix;
	ASSERT_OK(policy_decide(f->p, &f->in, &f->d));
	f->now += f->cfg.interval_ms;
	f->unix += f->cfg.interval_ms / 1000;
	return &f->d;
}

/* Steps until a decision is not a HOLD or `ms` have passed. Returns the time
 * of that decision since the first step, or UINT64_MAX when none came. */
static inline uint64_t
fx_until_action(struct fx *f, uint64_t ms)
{
	uint64_t start = f->now;

	while (f->now - start <= ms) {
		uint64_t at = f->now;

		if (fx_step(f)->action != POLICY_HOLD)
			return at - start;
	}
	return UINT64_MAX;
}

/* Steps for `ms` and fails on any decision but HOLD. */
static inline void
fx_hold_for(struct fx *f, uint64_t ms)
{
	uint64_t start = f->now;

	while (f->now - start < ms) {
		const struct policy_decision *d = fx_step(f);

		if (d->action != POLICY_HOLD)
			harness_fail(__FILE__, __LINE__, "unexpected decision after %llu ms: %s",
				     (unsigned long long)(f->now - start), d->text);
	}
}

/* Adds `count` listed droplets as a clone would: new, just created. */
static inline void
fx_clone(struct fx *f, uint64_t first_id, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		struct policy_node *n = fx_add(f, first_id + i, 0);

		n->status = POLICY_ST_NEW;
		n->created_s = f->unix;
		n->flags = POLICY_NODE_LISTED;
	}
}

#endif
