/*
 * Unit tests for common/policy*.c: target tracking, windows, cooldowns,
 * warm-up, the limits, dry run, dead nodes (docs/policy.md). Victims and
 * the config checks are in test_policy_victim.c and test_policy_config.c.
 */
#include <errno.h>

#include <cjson/cJSON.h>

#include "policy_fx.h"

static void
no_step_limit(struct policy_config *c)
{
	c->max_step = 10;
	c->max_nodes = 50;
}

TEST(policy_target_tracking_formula)
{
	struct fx f;
	uint64_t t;

	/* 2 nodes at 90% against 60%: ceil(2 x 90 / 60) = 3, one clone. */
	fx_init(&f, 2, 900, NULL);
	t = fx_until_action(&f, 120000);
	ASSERT_EQ(f.d.action, POLICY_SCALE_OUT);
	ASSERT_EQ(f.d.reason, POLICY_R_METRIC);
	ASSERT_EQ(f.d.count, 1);
	ASSERT_EQ(f.d.rec, 3);
	ASSERT_EQ(f.d.metric, POLICY_METRIC_CPU);
	ASSERT_EQ(f.d.metrics[POLICY_METRIC_CPU].mean, 900);
	ASSERT_STR_EQ(f.d.text, "clone 1: cpu 90.0% > target 60.0% for 60s");
	ASSERT_EQ(t, 60000);
	policy_free(f.p);

	/* 4 nodes at 100%: ceil(4000 / 600) = 7, three clones. */
	fx_init(&f, 4, 1000, no_step_limit);
	fx_until_action(&f, 120000);
	ASSERT_EQ(f.d.count, 3);
	policy_free(f.p);
}

TEST(policy_tolerance_band_holds)
{
	struct fx f;

	/* 10 nodes at 65%: 1.083 x target, inside HPA's 10%: never acts. */
	fx_init(&f, 10, 650, no_step_limit);
	fx_hold_for(&f, 15 * 60000);
	ASSERT_EQ(f.d.rec, 10);
	policy_free(f.p);
	/* At 67% (1.117) it clones ceil(6700 / 600) - 10 = 2. */
	fx_init(&f, 10, 670, no_step_limit);
	ASSERT_NE(fx_until_action(&f, 120000), UINT64_MAX);
	ASSERT_EQ(f.d.count, 2);
	policy_free(f.p);
	/* At 55% (0.917) inside the band: no scale-in either. */
	fx_init(&f, 10, 550, no_step_limit);
	fx_hold_for(&f, 15 * 60000);
	policy_free(f.p);
}

static void
cpu_and_memory(struct policy_config *c)
{
	no_step_limit(c);
	c->metrics = POLICY_METRIC_BIT(POLICY_METRIC_CPU) | POLICY_METRIC_BIT(POLICY_METRIC_MEMORY);
}

TEST(policy_largest_metric_wins)
{
	struct fx f;

	/* cpu 90% asks 3 of 2 nodes... memory 100% vs 70% asks ceil(2000/700)
	 * = 3 too; make memory ask more: 4 nodes at 100% mem = 6 vs cpu 5. */
	fx_init(&f, 4, 700, cpu_and_memory);
	for (size_t i = 0; i < f.n; i++)
		f.nodes[i].load.mem_permille = 1000;
	fx_until_action(&f, 120000);
	ASSERT_EQ(f.d.action, POLICY_SCALE_OUT);
	ASSERT_EQ(f.d.metric, POLICY_METRIC_MEMORY);
	ASSERT_EQ(f.d.metrics[POLICY_METRIC_CPU].desired, 5);
	ASSERT_EQ(f.d.metrics[POLICY_METRIC_MEMORY].desired, 6);
	ASSERT_EQ(f.d.count, 2);
	policy_free(f.p);
	/* Scale-in needs every metric below: cpu idle, memory at target. */
	fx_init(&f, 4, 100, cpu_and_memory);
	for (size_t i = 0; i < f.n; i++)
		f.nodes[i].load.mem_permille = 700;
	fx_hold_for(&f, 15 * 60000);
	policy_free(f.p);
}

static void
custom_metric(struct policy_config *c)
{
	no_step_limit(c);
	c->metrics = POLICY_METRIC_BIT(POLICY_METRIC_CUSTOM);
	c->target[POLICY_METRIC_CUSTOM] = 100000; /* 100 requests/s per node */
}

TEST(policy_one_liar_moves_the_mean_by_at_most_its_clamp)
{
	struct fx f;

	/* 10 honest nodes at the target; one claims a billion requests/s.
	 * Clamped to 2 x target it adds target / N to the mean: 11 nodes at
	 * (10 x 100 + 200) / 11 = 109 (inside the band): no clone at all. */
	fx_init(&f, 11, 0, custom_metric);
	for (size_t i = 0; i < f.n; i++) {
		f.nodes[i].load.has_custom = true;
		f.nodes[i].load.custom_milli = 100000;
	}
	f.nodes[5].load.custom_milli = 1000000000000LL;
	fx_hold_for(&f, 5 * 60000);
	ASSERT_EQ(f.d.metrics[POLICY_METRIC_CUSTOM].mean, 109090);
	policy_free(f.p);
	/* Two nodes: the liar's clamp is 200 -> ceil((100 + 200)/100) = 3:
	 * one clone, never the thousands its claim would ask. */
	fx_init(&f, 2, 0, custom_metric);
	for (size_t i = 0; i < f.n; i++) {
		f.nodes[i].load.has_custom = true;
		f.nodes[i].load.custom_milli = 100000;
	}
	f.nodes[1].load.custom_milli = INT64_MAX;
	fx_until_action(&f, 120000);
	ASSERT_EQ(f.d.count, 1);
	/* A negative claim counts as 0, not as a debt. */
	policy_free(f.p);
	fx_init(&f, 2, 0, custom_metric);
	for (size_t i = 0; i < f.n; i++) {
		f.nodes[i].load.has_custom = true;
		f.nodes[i].load.custom_milli = 190000;
	}
	f.nodes[1].load.custom_milli = INT64_MIN;
	fx_step(&f);
	ASSERT_EQ(f.d.metrics[POLICY_METRIC_CUSTOM].mean, 95000);
	policy_free(f.p);
}

TEST(policy_unsigned_or_unlisted_load_is_ignored)
{
	struct fx f;
	struct policy_node *liar, *stranger;

	/* Two honest nodes at 50%; a node whose sample is not validly signed
	 * claims 100%, and a member not listed under the cluster tag too. */
	fx_init(&f, 2, 500, NULL);
	liar = fx_add(&f, 3, 1000);
	liar->flags &= ~POLICY_NODE_LOAD_VALID;
	stranger = fx_add(&f, 4, 1000);
	stranger->flags &= ~POLICY_NODE_LISTED;
	fx_step(&f);
	ASSERT_EQ(f.d.metrics[POLICY_METRIC_CPU].loaded, 2);
	ASSERT_EQ(f.d.metrics[POLICY_METRIC_CPU].missing, 1);
	ASSERT_EQ(f.d.metrics[POLICY_METRIC_CPU].mean, 500);
	ASSERT_EQ(f.d.capacity, 3); /* the unsigned one still serves */
	ASSERT_EQ(f.d.total, 3);    /* the stranger is no droplet of ours */
	fx_hold_for(&f, 5 * 60000);
	policy_free(f.p);
}

TEST(policy_scale_out_waits_for_the_window)
{
	struct fx f;
	uint64_t t;

	fx_init(&f, 3, 300, NULL);
	fx_hold_for(&f, 30000);
	fx_set_cpu(&f, 950);
	t = fx_until_action(&f, 5 * 60000);
	/* The first overloaded sample is taken at once; 60 s later it acts. */
	ASSERT_EQ(t, 60000);
	policy_free(f.p);

	/* One quiet sample inside the window starts it again. */
	fx_init(&f, 3, 950, NULL);
	fx_hold_for(&f, 50000);
	fx_set_cpu(&f, 600);
	fx_step(&f);
	fx_set_cpu(&f, 950);
	ASSERT_EQ(fx_until_action(&f, 5 * 60000), 60000);
	policy_free(f.p);
}

TEST(policy_scale_in_waits_for_the_long_window)
{
	struct fx f;
	uint64_t t;

	/* 6 nodes at 10%: ceil(600 / 600) = 1, held up by min_nodes 2. */
	fx_init(&f, 6, 100, NULL);
	t = fx_until_action(&f, 20 * 60000);
	ASSERT_EQ(t, 10 * 60000);
	ASSERT_EQ(f.d.action, POLICY_SCALE_IN);
	ASSERT_EQ(f.d.count, 4); /* max_step 4, and min_nodes 2 */
	ASSERT_EQ(f.d.desired, 2);
	ASSERT_TRUE((f.d.limits & POLICY_LIMIT_MIN_NODES) != 0);
	ASSERT_STR_CONTAINS(f.d.text, "retire 4 (");
	ASSERT_STR_CONTAINS(f.d.text, "cpu 10.0% < target 60.0% for 10m");
	policy_free(f.p);
}

TEST(policy_no_second_clone_during_cooldown)
{
	struct fx f;

	fx_init(&f, 2, 1000, NULL);
	fx_until_action(&f, 120000);
	ASSERT_EQ(f.d.count, 2); /* ceil(2000 / 600) = 4 */
	/* The clones are listed at once (new), then active but still young;
	 * the load of the old nodes stays at 100% the whole time. */
	fx_clone(&f, 100, 2);
	fx_hold_for(&f, 3 * 60000 - 1000);
	ASSERT_TRUE((f.d.holds & POLICY_HOLD_COOLDOWN_OUT) != 0 ||
		    (f.d.holds & POLICY_HOLD_WARMUP) != 0);
	policy_free(f.p);
}

static void
one_step(struct policy_config *c)
{
	c->max_step = 1;
}

TEST(policy_scale_out_cooldown_spaces_decisions)
{
	struct fx f;
	uint64_t t;

	/* 2 nodes at 100% want 4; one clone per decision: the second waits
	 * the 3-minute cooldown although the window stays above. */
	fx_init(&f, 2, 1000, one_step);
	fx_until_action(&f, 120000);
	ASSERT_EQ(f.d.count, 1);
	ASSERT_EQ(f.d.limits, POLICY_LIMIT_STEP);
	fx_clone(&f, 100, 1);
	t = fx_until_action(&f, 10 * 60000);
	ASSERT_EQ(t, 3 * 60000 - 1000); /* the first step was 1 s after the clone */
	ASSERT_EQ(f.d.action, POLICY_SCALE_OUT);
	policy_free(f.p);
}

static void
quick_in_after_out(struct policy_config *c)
{
	c->scale_in_window_ms = 0;
	c->min_nodes = 1;
	c->warmup_ms = 0;
}

TEST(policy_scale_in_waits_its_cooldown_after_a_scale_out)
{
	struct fx f;
	uint64_t t;

	fx_init(&f, 2, 900, quick_in_after_out);
	fx_until_action(&f, 120000);
	ASSERT_EQ(f.d.action, POLICY_SCALE_OUT);
	fx_clone(&f, 100, 1);
	fx_find(&f, 100)->status = POLICY_ST_ACTIVE;
	fx_find(&f, 100)->flags |= POLICY_NODE_MEMBER | POLICY_NODE_LOAD_VALID;
	fx_find(&f, 100)->load.version = 1;
	fx_find(&f, 100)->created_s -= 86400;
	/* The load is gone at once, and the scale-in window is 0: only the
	 * 5-minute scale_in_cooldown since the scale-out holds it. */
	fx_set_cpu(&f, 10);
	t = fx_until_action(&f, 10 * 60000);
	ASSERT_EQ(t, 5 * 60000 - 1000);
	ASSERT_EQ(f.d.action, POLICY_SCALE_IN);
	policy_free(f.p);
}

static void
no_cooldown(struct policy_config *c)
{
	c->scale_out_cooldown_ms = 0;
}

TEST(policy_no_second_clone_during_warmup_or_boot)
{
	struct fx f;

	/* Without a cooldown, only warm-up and "creating counts as capacity"
	 * stand between a slow boot and a second clone. */
	fx_init(&f, 2, 900, no_cooldown);
	fx_until_action(&f, 120000);
	ASSERT_EQ(f.d.count, 1);
	/* In flight, not listed yet (list-by-tag lag). */
	f.in.creating = 1;
	fx_hold_for(&f, 30000);
	ASSERT_EQ(f.d.capacity, 3);
	ASSERT_EQ(f.d.creating, 1);
	/* Listed, booting (new) for a minute, then active and warming up. */
	f.in.creating = 0;
	fx_clone(&f, 100, 1);
	fx_hold_for(&f, 60000);
	fx_find(&f, 100)->status = POLICY_ST_ACTIVE;
	fx_find(&f, 100)->flags |= POLICY_NODE_MEMBER | POLICY_NODE_LOAD_VALID;
	fx_find(&f, 100)->load.version = 1;
	fx_hold_for(&f, 60000);
	ASSERT_EQ(f.d.warming, 1);
	ASSERT_EQ(f.d.metrics[POLICY_METRIC_CPU].loaded, 2); /* its 0% left out */
	policy_free(f.p);
}

TEST(policy_never_above_max_nodes_and_limit_reached_once)
{
	struct fx f;
	unsigned events = 0;

	fx_init(&f, 8, 1000, NULL);
	for (int i = 0; i < 30 * 60; i++) {
		const struct policy_decision *d = fx_step(&f);

		if ((d->limit_events & POLICY_LIMIT_MAX_NODES) != 0)
			events++;
		if (d->action == POLICY_SCALE_OUT)
			fx_clone(&f, 1000 + (uint64_t)i * 10, d->count);
		ASSERT_LE(f.n, 10);
		ASSERT_TRUE(d->action != POLICY_SCALE_IN);
	}
	ASSERT_EQ(f.n, 10);
	ASSERT_EQ(events, 1);
	ASSERT_TRUE((f.d.holds & POLICY_HOLD_LIMIT) != 0 ||
		    (f.d.holds & POLICY_HOLD_COOLDOWN_OUT) != 0);
	policy_free(f.p);
}

static void
budget(struct policy_config *c)
{
	c->max_hourly_cost_uusd = 75000; /* $0.075 an hour: 8 droplets at $0.008929 */
	c->max_nodes = 100;
	c->max_step = 50;
}

TEST(policy_never_above_max_hourly_cost_counting_every_billed_droplet)
{
	struct fx f;
	struct policy_node *n;

	fx_init(&f, 4, 1000, budget);
	/* Billed too: a powered-off droplet, one deleted but still listed,
	 * and a deleted one no longer listed (f.in.unlisted_cost_uusd). */
	n = fx_add(&f, 50, 0);
	n->status = POLICY_ST_OFF;
	n = fx_add(&f, 51, 0);
	n->flags |= POLICY_NODE_DELETING;
	f.in.unlisted_cost_uusd = FX_PRICE;
	fx_until_action(&f, 120000);
	/* ceil(4000 / 600) = 7 against 4 + 1 off: 2 clones wanted. 7 droplets
	 * billed ($0.0625): room for one more under $0.075. */
	ASSERT_EQ(f.d.cost_uusd, 7 * FX_PRICE);
	ASSERT_EQ(f.d.action, POLICY_SCALE_OUT);
	ASSERT_EQ(f.d.count, 1);
	ASSERT_TRUE((f.d.limits & POLICY_LIMIT_COST) != 0);
	ASSERT_TRUE((f.d.limit_events & POLICY_LIMIT_COST) != 0);
	ASSERT_STR_CONTAINS(f.d.text, "(cut by max_hourly_cost)");
	policy_free(f.p);
}

TEST(policy_cost_limit_fires_once_and_holds_without_a_price)
{
	struct fx f;
	unsigned events = 0;

	fx_init(&f, 8, 1000, budget); /* 8 x $0.008929 = $0.0714: no room */
	for (int i = 0; i < 20 * 60; i++) {
		const struct policy_decision *d = fx_step(&f);

		events += (d->limit_events & POLICY_LIMIT_COST) != 0;
		ASSERT_TRUE(d->action == POLICY_HOLD);
	}
	ASSERT_EQ(events, 1);
	ASSERT_STR_CONTAINS(f.d.text, "max_hourly_cost reached");
	policy_free(f.p);
	/* Under a budget, an unknown clone price spends nothing. */
	fx_init(&f, 2, 1000, budget);
	f.in.clone_price_uusd = 0;
	fx_hold_for(&f, 5 * 60000);
	ASSERT_TRUE((f.d.holds & POLICY_HOLD_PRICE) != 0);
	policy_free(f.p);
}

static void
more_nodes(struct policy_config *c)
{
	c->max_nodes = 50;
}

TEST(policy_max_step_cuts_a_decision)
{
	struct fx f;

	fx_init(&f, 8, 1000, more_nodes); /* wants ceil(8000 / 600) = 14, 6 more */
	fx_until_action(&f, 120000);
	ASSERT_EQ(f.d.count, 4);
	ASSERT_EQ(f.d.wanted, 14);
	ASSERT_EQ(f.d.limits, POLICY_LIMIT_STEP);
	ASSERT_EQ(f.d.limit_events, 0); /* a step is no limit_reached */
	policy_free(f.p);
}

TEST(policy_below_min_clones_at_once)
{
	struct fx f;

	fx_init(&f, 1, 0, NULL);
	fx_step(&f);
	ASSERT_EQ(f.d.action, POLICY_SCALE_OUT);
	ASSERT_EQ(f.d.reason, POLICY_R_MIN);
	ASSERT_EQ(f.d.count, 1);
	ASSERT_STR_EQ(f.d.text, "clone 1: below min_nodes (1 < 2)");
	/* The clone counts at once: no second one. */
	f.in.creating = 1;
	fx_hold_for(&f, 60000);
	policy_free(f.p);
}

TEST(policy_above_max_retires_at_once)
{
	struct fx f;
	struct policy_config c;

	fx_init(&f, 6, 600, NULL);
	fx_step(&f);
	c = f.cfg;
	c.max_nodes = 4; /* a reload lowered it */
	ASSERT_OK(policy_set_config(f.p, &c));
	fx_step(&f);
	ASSERT_EQ(f.d.action, POLICY_SCALE_IN);
	ASSERT_EQ(f.d.reason, POLICY_R_MAX);
	ASSERT_EQ(f.d.count, 2);
	ASSERT_STR_CONTAINS(f.d.text, "above max_nodes (6 > 4)");
	policy_free(f.p);
}

static void
dry(struct policy_config *c)
{
	c->dry_run = true;
}

TEST(policy_dry_run_says_would_and_changes_nothing)
{
	struct fx f;
	int actions = 0;

	fx_init(&f, 2, 870, dry);
	for (int i = 0; i < 10 * 60; i++) {
		const struct policy_decision *d = fx_step(&f);

		if (d->action == POLICY_SCALE_OUT) {
			actions++;
			ASSERT_TRUE(d->dry_run);
			ASSERT_STR_EQ(d->text, "would clone 1: cpu 87.0% > target 60.0% for 60s");
			ASSERT_EQ(d->desired, 2); /* the desired size is not moved */
		}
	}
	/* Once, then once per scale_out_cooldown (3 min) in 10 min: 3. */
	ASSERT_EQ(actions, 3);
	policy_free(f.p);
}

TEST(policy_dry_run_min_repair_waits_its_cooldown_too)
{
	struct fx f;
	int actions = 0;

	fx_init(&f, 1, 500, dry);
	for (int i = 0; i < 10 * 60; i++)
		if (fx_step(&f)->action == POLICY_SCALE_OUT) {
			ASSERT_STR_EQ(f.d.text, "would clone 1: below min_nodes (1 < 2)");
			actions++;
		}
	ASSERT_EQ(actions, 4); /* at 0, 3, 6 and 9 minutes */
	policy_free(f.p);
}

TEST(policy_dead_node_replaced_only_after_it_is_removed)
{
	struct fx f;

	fx_init(&f, 4, 500, NULL);
	fx_hold_for(&f, 30000);
	/* Node 3 dies: its droplet waits for replace_after (the actuation's
	 * dead-node operation), so the policy neither clones nor retires. */
	fx_find(&f, 3)->member_state = SWIM_DEAD;
	fx_hold_for(&f, 3 * 60000);
	ASSERT_EQ(f.d.dead_pending, 1);
	ASSERT_EQ(f.d.capacity, 3);
	ASSERT_TRUE((f.d.holds & POLICY_HOLD_DEAD) != 0);
	/* Its droplet is deleted: back to the desired size, without a window. */
	fx_find(&f, 3)->flags |= POLICY_NODE_DELETING;
	fx_step(&f);
	ASSERT_EQ(f.d.action, POLICY_SCALE_OUT);
	ASSERT_EQ(f.d.reason, POLICY_R_RESTORE);
	ASSERT_EQ(f.d.count, 1);
	ASSERT_STR_EQ(f.d.text, "clone 1: back to the desired size 4 (3 now)");
	/* Exactly one replacement. */
	f.in.creating = 1;
	fx_hold_for(&f, 60000);
	policy_free(f.p);
}

/* The dead carry no load: survivors over the band get clones after the
 * window, counted from the capacity, without waiting for replace_after; the
 * dead droplets' deletion then restores nothing more (the clones were their
 * replacements). Counted from S (capacity + dead), as before, the survivors
 * would have waited: 3000 asks 5 nodes, S is 5. */
TEST(policy_survivors_overloaded_get_clones_before_the_dead_are_replaced)
{
	struct fx f;
	uint64_t at;

	fx_init(&f, 5, 550, NULL);
	fx_hold_for(&f, 30000);
	fx_find(&f, 4)->member_state = SWIM_DEAD;
	fx_find(&f, 5)->member_state = SWIM_DEAD;
	for (uint64_t id = 1; id <= 3; id++)
		fx_find(&f, id)->load.cpu_permille = 1000;
	at = fx_until_action(&f, 3 * 60000);
	ASSERT_GE(at, f.cfg.scale_out_window_ms);
	ASSERT_LE(at, f.cfg.scale_out_window_ms + 2 * f.cfg.interval_ms);
	ASSERT_EQ(f.d.action, POLICY_SCALE_OUT);
	ASSERT_EQ(f.d.reason, POLICY_R_METRIC);
	ASSERT_EQ(f.d.count, 2);
	ASSERT_EQ(f.d.dead_pending, 2);
	ASSERT_EQ(f.d.desired, 5);
	f.in.creating = 2;
	fx_hold_for(&f, 60000);
	/* The dead droplets are deleted: the size is the desired one already. */
	fx_find(&f, 4)->flags |= POLICY_NODE_DELETING;
	fx_find(&f, 5)->flags |= POLICY_NODE_DELETING;
	fx_hold_for(&f, 60000);
	policy_free(f.p);
}

TEST(policy_failed_clone_backs_off)
{
	struct fx f;

	fx_init(&f, 1, 0, NULL);
	f.in.clone_failed = true;
	f.in.clone_failed_ms = f.now;
	fx_hold_for(&f, 3 * 60000);
	ASSERT_TRUE((f.d.holds & POLICY_HOLD_BACKOFF) != 0);
	fx_step(&f);
	ASSERT_EQ(f.d.action, POLICY_SCALE_OUT);
	policy_free(f.p);
}

TEST(policy_gap_restarts_the_window)
{
	struct fx f;

	fx_init(&f, 2, 900, NULL);
	fx_hold_for(&f, 50000);
	f.now += 10000; /* 10 intervals without a decision */
	f.unix += 10;
	ASSERT_EQ(fx_until_action(&f, 120000), 60000);
	policy_free(f.p);
	/* policy_reset (a new term) does the same. */
	fx_init(&f, 2, 900, NULL);
	fx_hold_for(&f, 50000);
	policy_reset(f.p);
	ASSERT_EQ(fx_until_action(&f, 120000), 60000);
	policy_free(f.p);
}

TEST(policy_no_data_holds)
{
	struct fx f;

	fx_init(&f, 3, 900, NULL);
	for (size_t i = 0; i < f.n; i++)
		f.nodes[i].created_s = f.unix; /* all in warm-up */
	fx_hold_for(&f, 2 * 60000);
	ASSERT_TRUE((f.d.holds & POLICY_HOLD_NO_DATA) != 0);
	ASSERT_STR_EQ(f.d.text, "hold: no valid load sample from a node past its warm-up");
	policy_free(f.p);
}

TEST(policy_status_lines)
{
	struct fx f;
	char buf[1024];

	fx_init(&f, 3, 900, NULL);
	fx_hold_for(&f, 20000);
	ASSERT_STR_EQ(f.d.text, "hold: cpu 90.0% > target 60.0% for 19s of 60s");
	ASSERT_GT(policy_format_status(policy_last(f.p), buf, sizeof(buf)), 0);
	ASSERT_STR_CONTAINS(buf, "policy: desired 3, capacity 3");
	ASSERT_STR_CONTAINS(buf, "cpu    90.0%, target 60.0%, clamp 100.0%");
	ASSERT_STR_CONTAINS(buf, "above it for 19s");
	{
		cJSON *o = policy_status_json(policy_last(f.p));
		char *j = cJSON_PrintUnformatted(o);

		ASSERT_STR_CONTAINS(j, "\"holds\":[\"window_out\"]");
		ASSERT_STR_CONTAINS(j, "{\"metric\":\"cpu\",\"mean\":900,\"target\":600");
		ASSERT_STR_CONTAINS(j, "\"above_ms\":19000");
		free(j);
		cJSON_Delete(o);
	}
	policy_free(f.p);
}

TEST(policy_rejects_bad_input)
{
	struct fx f;
	struct policy_decision d;

	fx_init(&f, 2, 500, NULL);
	f.nodes[1].id = 0;
	f.in.nodes = f.nodes;
	f.in.n = f.n;
	ASSERT_EQ(policy_decide(f.p, &f.in, &d), -EINVAL);
	ASSERT_EQ(policy_decide(f.p, NULL, &d), -EINVAL);
	policy_free(f.p);
	policy_free(NULL);
}

TEST(policy_min_charge)
{
	/* $6/month: 6 / 672 = $0.008929 an hour: $0.01 takes 67.2 minutes. */
	ASSERT_U64_EQ(policy_min_charge_ms(8929), 4031807);
	/* An expensive droplet: 60 s. Unknown price: 60 s. */
	ASSERT_U64_EQ(policy_min_charge_ms(2000000), 60000);
	ASSERT_U64_EQ(policy_min_charge_ms(0), 60000);
}
