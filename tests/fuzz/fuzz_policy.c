/*
 * libFuzzer harness for the scaling policy and the actuation core, driven
 * together against a tiny simulated cloud, as the leader's shell drives
 * them. The input picks a policy (limits, dry run, billing hold), a starting
 * cluster, and then, one byte per simulated second, what happens: loads
 * move, nodes die or are powered off, the lease is lost or renewed, cloud
 * calls fail, time out, or happen without an answer. Invariants checked at
 * every step (abort() on a break):
 *   - a decision never asks for more than max_step, never past max_nodes or
 *     max_hourly_cost, never retires the leader or a protected node or
 *     below min_nodes, and names only eligible victims, each once;
 *   - the simulated cloud never holds more than max_nodes droplets not
 *     being deleted, nor costs more than max_hourly_cost, after a create;
 *   - no mutating action leaves without a valid lease; none at all in a
 *     dry run;
 *   - a droplet in rotation (registered) is never deleted, and neither is
 *     the leader's nor a protected one.
 * Seeds: tests/fuzz/corpus/policy/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuate.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_POLICY_TRACE=1 prints every decision, action and event: replaying a
 * crash file with it tells the story. */
static bool sim_trace;

#define SIM_MAX	  64
#define SIM_PRICE 8929
#define SIM_UNIX0 1800000000ULL
#define SIM_STEPS 400

struct sim_droplet {
	uint64_t id, op_id, created;
	enum policy_status status;
	enum swim_state member;
	bool joined, registered, protect;
	bool killed;	 /* died or powered off: deleting it in rotation is no harm */
	int boot_left;	 /* seconds until active and joined; <0 never */
	int delete_left; /* seconds until gone after a delete; 0 = not deleted */
	uint16_t cpu;
};

struct sim {
	const uint8_t *in;
	size_t len, pos;
	struct policy_config pc;
	struct actuate_config ac;
	struct policy *p;
	struct actuate *a;
	struct sim_droplet d[SIM_MAX];
	size_t n;
	uint64_t next_id, now, unix_s, term, lease_until;
	uint32_t seed;
	bool leading;  /* the truth: now < lease_until */
	bool renewing; /* the election keeps renewing the lease */
};

static uint8_t
sim_byte(struct sim *s)
{
	return s->pos < s->len ? s->in[s->pos++] : 0;
}

static uint32_t
sim_random(void *arg)
{
	uint32_t *x = arg;

	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static struct sim_droplet *
sim_find(struct sim *s, uint64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->d[i].id == id)
			return &s->d[i];
	return NULL;
}

static struct sim_droplet *
sim_add(struct sim *s, uint64_t op_id, int boot)
{
	struct sim_droplet *d;

	if (s->n == SIM_MAX)
		return NULL;
	d = &s->d[s->n++];
	memset(d, 0, sizeof(*d));
	d->id = s->next_id++;
	d->op_id = op_id;
	d->created = s->unix_s;
	d->status = boot == 0 ? POLICY_ST_ACTIVE : POLICY_ST_NEW;
	d->member = SWIM_ALIVE;
	d->joined = boot == 0;
	d->boot_left = boot;
	return d;
}

/* Droplets not being deleted, and what everything costs. */
static void
sim_count(const struct sim *s, uint32_t *live, uint64_t *cost)
{
	*live = 0;
	*cost = 0;
	for (size_t i = 0; i < s->n; i++) {
		*cost += SIM_PRICE;
		if (s->d[i].delete_left == 0)
			(*live)++;
	}
}

static void
sim_config(struct sim *s)
{
	uint8_t b = sim_byte(s), c = sim_byte(s);

	policy_config_default(&s->pc);
	s->pc.min_nodes = 1 + b % 3;
	s->pc.max_nodes = s->pc.min_nodes + (b >> 2) % 8;
	s->pc.max_step = 1 + c % 4;
	s->pc.max_hourly_cost_uusd = (c & 0x10) ? (uint64_t)SIM_PRICE * (2 + c % 9) : 0;
	s->pc.dry_run = (c & 0x20) != 0;
	s->pc.billing_hold = (c & 0x40) != 0;
	s->pc.scale_out_window_ms = 1000 * (uint64_t)(sim_byte(s) % 8);
	s->pc.scale_in_window_ms = 1000 * (uint64_t)(sim_byte(s) % 16);
	s->pc.scale_out_cooldown_ms = 1000 * (uint64_t)(sim_byte(s) % 8);
	s->pc.scale_in_cooldown_ms = 1000 * (uint64_t)(sim_byte(s) % 8);
	s->pc.warmup_ms = 1000 * (uint64_t)(sim_byte(s) % 8);
	s->pc.retire_delay_ms = 3000;
	actuate_config_default(&s->ac);
	snprintf(s->ac.cluster, sizeof(s->ac.cluster), "fz");
	s->ac.active_timeout_ms = 20000;
	s->ac.drain_ms = 2000;
	s->ac.hook = (c & 0x80) != 0;
	s->ac.hook_timeout_ms = 2000;
	s->ac.hook_max_ms = 4000;
	s->ac.leave_timeout_ms = 2000;
	s->ac.replace_after_ms = 5000;
	s->ac.powercycle_wait_ms = 5000;
	s->ac.gone_timeout_ms = 10000;
	s->ac.max_tries = 3;
	s->ac.max_ops = 32;
	s->ac.dry_run = s->pc.dry_run;
}

/* The node table the shell would build: inventory joined with gossip. */
static size_t
sim_nodes(const struct sim *s, struct policy_node *out)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct sim_droplet *d = &s->d[i];
		struct policy_node *n = &out[i];

		memset(n, 0, sizeof(*n));
		n->id = d->id;
		n->op_id = d->op_id;
		n->created_s = d->created;
		n->price_uusd = SIM_PRICE;
		n->status = d->status;
		n->flags = POLICY_NODE_LISTED | (d->protect ? POLICY_NODE_PROTECT_TAG : 0) |
			   (d->id == 1 ? POLICY_NODE_LEADER : 0);
		if (d->joined) {
			n->flags |= POLICY_NODE_MEMBER | POLICY_NODE_LOAD_VALID;
			n->member_state = d->member;
			n->load.version = 1;
			n->load.cpu_permille = d->cpu;
		}
	}
	return s->n;
}

static void
sim_check_decision(const struct sim *s, const struct policy_decision *d,
		   const struct policy_node *nodes, size_t n, const struct policy_input *in)
{
	if (d->count > s->pc.max_step ||
	    (d->action != POLICY_SCALE_OUT && d->action != POLICY_SCALE_IN && d->count != 0))
		abort();
	if (d->dry_run != s->pc.dry_run || memchr(d->text, '\0', sizeof(d->text)) == NULL)
		abort();
	if (d->action == POLICY_SCALE_OUT) {
		if (d->count == 0 || d->total + d->count > s->pc.max_nodes)
			abort();
		if (s->pc.max_hourly_cost_uusd != 0 &&
		    d->cost_uusd + (uint64_t)d->count * in->clone_price_uusd >
			    s->pc.max_hourly_cost_uusd)
			abort();
	}
	if (d->action != POLICY_SCALE_IN)
		return;
	if (d->count == 0 || d->capacity < d->count || d->capacity - d->count < s->pc.min_nodes)
		abort();
	for (uint32_t v = 0; v < d->count; v++) {
		const struct policy_node *x = NULL;

		for (size_t i = 0; i < n; i++)
			if (nodes[i].id == d->victims[v])
				x = &nodes[i];
		if (x == NULL || (x->flags & (POLICY_NODE_LEADER | POLICY_NODE_PROTECTED)) != 0 ||
		    x->status != POLICY_ST_ACTIVE || x->member_state != SWIM_ALIVE ||
		    (x->flags & (POLICY_NODE_RETIRING | POLICY_NODE_DEAD_OP | POLICY_NODE_DELETING |
				 POLICY_NODE_CLONING)) != 0)
			abort();
		for (uint32_t w = 0; w < v; w++)
			if (d->victims[w] == d->victims[v])
				abort();
	}
}

/* One action carried out by the simulated cloud; fills the result. */
static void
sim_execute(struct sim *s, const struct actuate_action *act, struct actuate_result *r,
	    struct policy_node *found)
{
	uint8_t fate = sim_byte(s) % 8; /* 0-4 ok, 5 failed, 6 lost answer, 7 not done */
	struct sim_droplet *d = act->droplet != 0 ? sim_find(s, act->droplet) : NULL;
	uint32_t live;
	uint64_t cost;

	memset(r, 0, sizeof(*r));
	r->req = act->req;
	if (sim_trace)
		fprintf(stderr, "  t=%llu %s droplet %llu op %llx term %llu -> fate %u\n",
			(unsigned long long)s->now / 1000, actuate_verb_name(act->verb),
			(unsigned long long)act->droplet, (unsigned long long)act->op_id,
			(unsigned long long)act->term, fate);
	if (act->mutating && (!s->leading || s->now >= s->lease_until || s->pc.dry_run))
		abort();
	r->status = fate == 5 ? ACTUATE_FAILED : fate >= 6 ? ACTUATE_UNKNOWN : ACTUATE_OK;
	if (fate == 5 || fate == 7)
		return; /* refused, or never reached the cloud */
	switch (act->verb) {
	case ACTUATE_CREATE:
		d = sim_add(s, act->op_id, 2 + sim_byte(s) % 8);
		sim_count(s, &live, &cost);
		if (live > s->pc.max_nodes)
			abort();
		if (s->pc.max_hourly_cost_uusd != 0 && cost > s->pc.max_hourly_cost_uusd)
			abort();
		r->droplet = d != NULL ? d->id : 0;
		break;
	case ACTUATE_DELETE:
		if (d != NULL && ((d->registered && !d->killed) || d->id == 1 || d->protect))
			abort();
		if (d != NULL && d->delete_left == 0)
			d->delete_left = 1 + sim_byte(s) % 3;
		break;
	case ACTUATE_REGISTER:
		if (d != NULL)
			d->registered = true;
		break;
	case ACTUATE_DEREGISTER:
		if (d != NULL)
			d->registered = false;
		break;
	case ACTUATE_ASK_LEAVE:
		if (d != NULL && d->member == SWIM_ALIVE)
			d->member = SWIM_LEFT;
		break;
	default:
		break;
	}
	if (act->verb == ACTUATE_GET || act->verb == ACTUATE_LIST_OP) {
		size_t k = 0;
		struct policy_node all[SIM_MAX];
		size_t n = sim_nodes(s, all);

		for (size_t i = 0; i < n; i++)
			if ((act->verb == ACTUATE_GET && all[i].id == act->droplet) ||
			    (act->verb == ACTUATE_LIST_OP && all[i].op_id == act->op_id))
				found[k++] = all[i];
		r->found = found;
		r->nfound = k;
		if (act->verb == ACTUATE_GET && k == 0)
			r->status = ACTUATE_NOT_FOUND;
	}
}

/* Carries out every queued action, then hands the results in. */
static void
sim_actions(struct sim *s)
{
	struct actuate_action acts[64];
	struct actuate_result res[64];
	static struct policy_node found[64][SIM_MAX];
	size_t k = 0;

	while (k < 64 && actuate_next_action(s->a, s->now, &acts[k]))
		k++;
	for (size_t i = 0; i < k; i++)
		sim_execute(s, &acts[i], &res[i], found[i]);
	for (size_t i = 0; i < k; i++)
		(void)actuate_on_result(s->a, &res[i], s->now);
}

/* The world moves one second: boots, deletions, and the input's event. */
static void
sim_world(struct sim *s)
{
	uint8_t ev = sim_byte(s);
	struct sim_droplet *d = s->n > 0 ? &s->d[ev % s->n] : NULL;
	struct actuate_event e;

	while (sim_trace && actuate_next_event(s->a, &e))
		fprintf(stderr, "  event %s: %s\n", actuate_event_name(e.kind), e.text);
	for (size_t i = 0; i < s->n; i++) {
		struct sim_droplet *x = &s->d[i];

		if (x->delete_left > 0 && --x->delete_left == 0) {
			s->d[i--] = s->d[--s->n];
			continue;
		}
		if (x->boot_left > 0 && --x->boot_left == 0) {
			x->status = POLICY_ST_ACTIVE;
			x->joined = true;
			actuate_on_member(s->a, x->id, SWIM_ALIVE, s->now);
		}
	}
	if (d == NULL)
		return;
	if (sim_trace && (ev >> 5) >= 2 && (ev >> 5) <= 4)
		fprintf(stderr, "t=%llu world: %s droplet %llu\n",
			(unsigned long long)s->now / 1000,
			(ev >> 5) == 2	 ? "kill"
			: (ev >> 5) == 3 ? "power off"
					 : "lease flip",
			(unsigned long long)d->id);
	switch (ev >> 5) {
	case 0:
	case 1:
		d->cpu = (uint16_t)(sim_byte(s) * 4);
		break;
	case 2:
		if (d->id != 1 && d->joined) {
			d->member = SWIM_DEAD;
			d->killed = true;
			actuate_on_member(s->a, d->id, SWIM_DEAD, s->now);
		}
		break;
	case 3:
		if (d->id != 1) {
			d->status = POLICY_ST_OFF;
			d->killed = true;
		}
		break;
	case 4: /* renewals stop (the lease runs out by itself), or a new term */
		if (s->renewing) {
			s->renewing = false;
		} else {
			s->renewing = true;
			s->term++;
			s->lease_until = s->now + 30000;
			policy_reset(s->p); /* the shell does so on taking office */
			actuate_set_lease(s->a, s->term, s->lease_until, s->now);
		}
		break;
	default:
		break;
	}
}

static void
sim_step(struct sim *s)
{
	struct policy_node nodes[SIM_MAX];
	struct policy_input in;
	struct policy_decision dec;
	size_t n;

	sim_world(s);
	if (s->renewing && s->now + 10000 >= s->lease_until) {
		s->lease_until = s->now + 30000; /* renewals */
		actuate_set_lease(s->a, s->term, s->lease_until, s->now);
	}
	s->leading = s->now < s->lease_until;
	n = sim_nodes(s, nodes);
	if (s->leading && (s->now / 1000) % 3 == 0)
		(void)actuate_on_nodes(s->a, nodes, n, s->now);
	memset(&in, 0, sizeof(in));
	in.nodes = nodes;
	in.n = n;
	in.now_ms = s->now;
	in.unix_s = s->unix_s;
	in.clone_price_uusd = SIM_PRICE;
	actuate_fill_input(s->a, nodes, n, &in);
	if (actuate_ready(s->a, s->now)) { /* the shell decides only then */
		if (policy_decide(s->p, &in, &dec) != 0)
			abort();
		if (sim_trace && dec.action != POLICY_HOLD)
			fprintf(stderr, "t=%llu decision: %s\n", (unsigned long long)s->now / 1000,
				dec.text);
		sim_check_decision(s, &dec, nodes, n, &in);
		(void)actuate_apply(s->a, &dec, s->unix_s, s->now);
	}
	sim_actions(s);
	(void)actuate_tick(s->a, s->now);
	sim_actions(s);
	s->now += 1000;
	s->unix_s += 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim s;
	struct actuate_event ev;
	uint8_t init;

	sim_trace = getenv("FUZZ_POLICY_TRACE") != NULL;
	memset(&s, 0, sizeof(s));
	s.in = data;
	s.len = size;
	s.seed = 0x9e3779b9;
	s.now = 1000000;
	s.unix_s = SIM_UNIX0;
	s.next_id = 1;
	s.term = 1;
	sim_config(&s);
	s.p = policy_new(&s.pc);
	s.a = actuate_new(&s.ac, sim_random, &s.seed);
	if (s.p == NULL || s.a == NULL)
		abort();
	init = sim_byte(&s);
	for (int i = 0; i < 1 + init % 8; i++) {
		struct sim_droplet *d = sim_add(&s, 0, 0);

		d->created = s.unix_s - 86400;
		d->protect = i > 0 && (sim_byte(&s) & 1);
		d->cpu = (uint16_t)(sim_byte(&s) * 4);
	}
	s.leading = s.renewing = true;
	s.lease_until = s.now + 30000;
	actuate_set_lease(s.a, s.term, s.lease_until, s.now);
	for (int i = 0; i < SIM_STEPS && (s.pos < s.len || i < 60); i++)
		sim_step(&s);
	while (actuate_next_event(s.a, &ev))
		if (memchr(ev.text, '\0', sizeof(ev.text)) == NULL)
			abort();
	policy_free(s.p);
	actuate_free(s.a);
	return 0;
}
