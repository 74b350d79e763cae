/*
 * bench_policy: what one scaling decision costs the leader at N = 1,000
 * members (the policy runs every policy_interval, 1 s by default, on the
 * same loop as gossip). Prints "name value" lines, each the median of
 * rounds of about 0.2 s of CLOCK_MONOTONIC time:
 *   policy_decide_us_n1000            one decision that holds (tally, four
 *                                     metrics, both windows)
 *   policy_decide_scale_in_us_n1000   one decision that retires (the victim
 *                                     list is sorted: the costliest path)
 *   actuate_fill_input_us_n1000       annotating the node table for the policy
 *                                     (with 50 operations running)
 *   actuate_on_nodes_us_n1000         one inventory sweep (with 50 operations)
 *   policy_round_us_n1000             fill_input + decide + the shell's table
 *                                     rebuild from scratch: one whole round
 * and the share of one core a round each second takes at N = 1,000.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actuate.h"
#include "policy.h"

#define BENCH_N		1000
#define BENCH_ROUNDS	9
#define BENCH_ROUND_S	0.2
#define BENCH_MAX_CALLS 1000000 /* bounds every loop even on a stopped clock */
#define BENCH_UNIX	1800000000ULL

static struct policy_node bench_nodes[BENCH_N];
static struct policy_node bench_work[BENCH_N];
static uint32_t bench_seed = 2463534242U;

static uint32_t
bench_random(void *arg)
{
	uint32_t *x = arg;

	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1,000 droplets: mature, alive, loaded around `cpu`, a few protected,
 * a few young, every metric reported. */
static void
bench_cluster(uint16_t cpu)
{
	for (uint32_t i = 0; i < BENCH_N; i++) {
		struct policy_node *n = &bench_nodes[i];

		memset(n, 0, sizeof(*n));
		n->id = 300000000ULL + i;
		n->op_id = i % 3 == 0 ? 0 : 0x100000ULL + i;
		n->status = POLICY_ST_ACTIVE;
		n->created_s = BENCH_UNIX - 3600 * 24 + (bench_random(&bench_seed) % 86000);
		n->price_uusd = i % 10 == 0 ? 17857 : 8929;
		n->member_state = SWIM_ALIVE;
		n->flags = POLICY_NODE_LISTED | POLICY_NODE_MEMBER | POLICY_NODE_LOAD_VALID |
			   POLICY_NODE_HAS_IPV4 | (i % 97 == 0 ? POLICY_NODE_PROTECT_TAG : 0) |
			   (i == 0 ? POLICY_NODE_LEADER : 0);
		n->load.version = 1;
		n->load.cpu_permille = (uint16_t)(cpu + bench_random(&bench_seed) % 100);
		n->load.load1_permille = (uint16_t)(bench_random(&bench_seed) % 1500);
		n->load.mem_permille = (uint16_t)(bench_random(&bench_seed) % 900);
		n->load.has_custom = true;
		n->load.custom_milli = (int64_t)(bench_random(&bench_seed) % 200000);
	}
}

static void
bench_config(struct policy_config *c)
{
	policy_config_default(c);
	c->metrics = (1U << POLICY_METRIC_COUNT) - 1;
	c->target[POLICY_METRIC_CUSTOM] = 100000;
	c->max_nodes = 2000;
	c->max_step = 50;
	c->scale_in_window_ms = 0;
	c->scale_in_cooldown_ms = 0;
	c->billing_hold = false;
}

static int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median over rounds of the mean time of `fn` in microseconds. */
static double
bench_median(void (*fn)(void *), void *arg)
{
	double r[BENCH_ROUNDS];

	for (int k = 0; k < BENCH_ROUNDS; k++) {
		double t0 = bench_now(), t;
		long calls = 0;

		do {
			fn(arg);
			calls++;
			t = bench_now();
		} while (t - t0 < BENCH_ROUND_S && calls < BENCH_MAX_CALLS);
		r[k] = (t - t0) * 1e6 / (double)calls;
	}
	qsort(r, BENCH_ROUNDS, sizeof(r[0]), bench_cmp);
	return r[BENCH_ROUNDS / 2];
}

struct bench_ctx {
	struct policy *p;
	struct actuate *a;
	struct policy_input in;
	uint64_t now;
};

static void
bench_decide(void *arg)
{
	struct bench_ctx *c = arg;
	struct policy_decision d;

	c->in.now_ms = c->now;
	c->now += 1000;
	if (policy_decide(c->p, &c->in, &d) != 0)
		abort();
}

static void
bench_fill(void *arg)
{
	struct bench_ctx *c = arg;

	memcpy(bench_work, bench_nodes, sizeof(bench_work));
	actuate_fill_input(c->a, bench_work, BENCH_N, &c->in);
}

static void
bench_sweep(void *arg)
{
	struct bench_ctx *c = arg;

	if (actuate_on_nodes(c->a, bench_nodes, BENCH_N, c->now) != 0)
		abort();
}

static void
bench_round(void *arg)
{
	struct bench_ctx *c = arg;

	bench_fill(c);
	c->in.nodes = bench_work;
	bench_decide(c);
	c->in.nodes = bench_nodes;
}

/* An actuation core leading, with 50 retire operations running. */
static struct actuate *
bench_actuate(uint64_t now)
{
	struct actuate_config ac;
	struct actuate *a;
	struct policy_decision d;
	struct actuate_action act;

	actuate_config_default(&ac);
	snprintf(ac.cluster, sizeof(ac.cluster), "bench");
	a = actuate_new(&ac, bench_random, &bench_seed);
	if (a == NULL)
		abort();
	actuate_set_lease(a, 1, now + 3600 * 1000ULL, now);
	if (actuate_on_nodes(a, bench_nodes, BENCH_N, now) != 0)
		abort();
	memset(&d, 0, sizeof(d));
	d.action = POLICY_SCALE_IN;
	d.count = 50;
	for (uint32_t i = 0; i < d.count; i++)
		d.victims[i] = bench_nodes[BENCH_N - 1 - i].id;
	if (actuate_apply(a, &d, BENCH_UNIX, now) != 0)
		abort();
	while (actuate_next_action(a, now, &act))
		;
	return a;
}

int
main(void)
{
	struct policy_config cfg;
	struct bench_ctx c;
	double hold, in, fill, sweep, round;

	memset(&c, 0, sizeof(c));
	c.now = 1000000;
	bench_cluster(450); /* ~50%: inside the band, a hold */
	bench_config(&cfg);
	c.p = policy_new(&cfg);
	if (c.p == NULL)
		return 1;
	c.in.nodes = bench_nodes;
	c.in.n = BENCH_N;
	c.in.unix_s = BENCH_UNIX;
	c.in.clone_price_uusd = 8929;
	hold = bench_median(bench_decide, &c);
	policy_free(c.p);
	bench_cluster(50); /* idle: every decision retires max_step nodes */
	cfg.metrics = 1U << POLICY_METRIC_CPU;
	c.p = policy_new(&cfg);
	in = bench_median(bench_decide, &c);
	c.a = bench_actuate(c.now);
	fill = bench_median(bench_fill, &c);
	sweep = bench_median(bench_sweep, &c);
	round = bench_median(bench_round, &c);
	printf("policy_decide_us_n1000 %.1f\n", hold);
	printf("policy_decide_scale_in_us_n1000 %.1f\n", in);
	printf("actuate_fill_input_us_n1000 %.1f\n", fill);
	printf("actuate_on_nodes_us_n1000 %.1f\n", sweep);
	printf("policy_round_us_n1000 %.1f\n", round);
	printf("policy_round_cpu_share_at_1s_interval %.4f%%\n", round / 1e6 * 100.0);
	actuate_free(c.a);
	policy_free(c.p);
	return 0;
}
