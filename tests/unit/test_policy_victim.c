/*
 * Unit tests for the scale-in victims (common/policy_victim.c through
 * policy_decide): never the leader, never protected, never below min_nodes,
 * the billing-aware order, the billing hold, transfer-leadership-first.
 */
#include "policy_fx.h"
#include "policy_victim.h"

static void
quick_in(struct policy_config *c)
{
	c->scale_in_window_ms = 0;
	c->scale_in_cooldown_ms = 0;
	c->min_nodes = 1;
	c->max_step = 50;
	c->max_nodes = 50;
}

/* Runs decisions until a scale-in or a transfer, at most 5 min. */
static const struct policy_decision *
until_in(struct fx *f)
{
	for (int i = 0; i < 300; i++) {
		const struct policy_decision *d = fx_step(f);

		if (d->action != POLICY_HOLD)
			return d;
	}
	return &f->d;
}

static bool
has_victim(const struct policy_decision *d, uint64_t id)
{
	for (uint32_t i = 0; i < d->count; i++)
		if (d->victims[i] == id)
			return true;
	return false;
}

TEST(policy_victims_never_leader_nor_protected)
{
	struct fx f;
	const struct policy_decision *d;

	/* 6 idle nodes: ceil(6 x 10 / 600) = 1, min 1: retire 5 but 1 is the
	 * leader, 2 gossips protect, 3 carries the mitosis-protect tag. */
	fx_init(&f, 6, 10, quick_in);
	fx_find(&f, 2)->flags |= POLICY_NODE_PROTECT_CFG;
	fx_find(&f, 3)->flags |= POLICY_NODE_PROTECT_TAG;
	d = until_in(&f);
	ASSERT_EQ(d->action, POLICY_SCALE_IN);
	ASSERT_EQ(d->count, 3);
	ASSERT_FALSE(has_victim(d, 1));
	ASSERT_FALSE(has_victim(d, 2));
	ASSERT_FALSE(has_victim(d, 3));
	ASSERT_TRUE((d->limits & POLICY_LIMIT_VICTIMS) != 0);
	policy_free(f.p);
}

TEST(policy_victims_never_below_min_nodes)
{
	struct fx f;
	const struct policy_decision *d;
	struct policy_config c;

	fx_init(&f, 6, 10, quick_in);
	c = f.cfg;
	c.min_nodes = 4;
	ASSERT_OK(policy_set_config(f.p, &c));
	d = until_in(&f);
	ASSERT_EQ(d->action, POLICY_SCALE_IN);
	ASSERT_EQ(d->count, 2);
	ASSERT_EQ(d->desired, 4);
	ASSERT_TRUE((d->limits & POLICY_LIMIT_MIN_NODES) != 0);
	/* Once they retire, capacity is at min: nothing more, ever. */
	for (uint32_t i = 0; i < d->count; i++)
		fx_find(&f, d->victims[i])->flags |= POLICY_NODE_RETIRING;
	fx_hold_for(&f, 10 * 60000);
	ASSERT_EQ(f.d.capacity, 4);
	policy_free(f.p);
}

TEST(policy_transfer_leadership_when_only_the_leader_can_go)
{
	struct fx f;
	const struct policy_decision *d;

	/* Two idle nodes, min 1: the other one is protected. */
	fx_init(&f, 2, 10, quick_in);
	fx_find(&f, 2)->flags |= POLICY_NODE_PROTECT_TAG;
	d = until_in(&f);
	ASSERT_EQ(d->action, POLICY_TRANSFER);
	ASSERT_EQ(d->count, 0);
	ASSERT_STR_EQ(d->text, "transfer leadership first: only the leader can retire");
	policy_free(f.p);
	/* Both protected but for the leader's being leader: the same; with
	 * the leader protected too: nothing can go. */
	fx_init(&f, 2, 10, quick_in);
	fx_find(&f, 1)->flags |= POLICY_NODE_PROTECT_CFG;
	fx_find(&f, 2)->flags |= POLICY_NODE_PROTECT_CFG;
	fx_hold_for(&f, 60000);
	ASSERT_TRUE((f.d.holds & POLICY_HOLD_NO_VICTIM) != 0);
	policy_free(f.p);
}

TEST(policy_victims_skip_busy_and_unhealthy)
{
	struct fx f;
	const struct policy_decision *d;

	fx_init(&f, 7, 10, quick_in);
	fx_find(&f, 2)->flags |= POLICY_NODE_CLONING; /* still in its clone op */
	fx_find(&f, 3)->member_state = SWIM_SUSPECT;  /* not alive: not serving */
	fx_find(&f, 4)->status = POLICY_ST_NEW;
	fx_find(&f, 5)->flags &= ~POLICY_NODE_MEMBER; /* never joined */
	d = until_in(&f);
	ASSERT_EQ(d->action, POLICY_SCALE_IN);
	for (uint32_t i = 0; i < d->count; i++)
		ASSERT_TRUE(d->victims[i] == 6 || d->victims[i] == 7);
	policy_free(f.p);
}

TEST(policy_victim_order)
{
	struct fx f;
	struct policy_victim v[8];
	size_t nv;

	fx_init(&f, 7, 100, quick_in);
	f.in.nodes = f.nodes;
	f.in.n = f.n;
	f.in.unix_s = f.unix;
	/* 2: inside its minimum charge (created 10 minutes ago), retired last. */
	fx_find(&f, 2)->created_s = f.unix - 600;
	/* 3: a bigger size: retired first among those past their minimum. */
	fx_find(&f, 3)->price_uusd = 4 * FX_PRICE;
	/* 4 and 5: equal price, 5 less loaded. */
	fx_find(&f, 5)->load.cpu_permille = 20;
	/* 6 and 7: equal in all but age: the newer (7) first. */
	fx_find(&f, 6)->load.cpu_permille = 50;
	fx_find(&f, 7)->load.cpu_permille = 50;
	fx_find(&f, 7)->created_s = f.unix - 7200;
	policy_victim_list(&f.cfg, &f.in, v, &nv);
	ASSERT_EQ(nv, 7);
	ASSERT_EQ(v[0].id, 3);
	ASSERT_EQ(v[1].id, 5);
	ASSERT_EQ(v[2].id, 7);
	ASSERT_EQ(v[3].id, 6);
	/* 1 and 4: same keys but id: the higher id first. */
	ASSERT_EQ(v[4].id, 4);
	ASSERT_EQ(v[5].id, 1);
	ASSERT_TRUE(v[5].leader);
	ASSERT_EQ(v[6].id, 2);
	ASSERT_FALSE(v[6].past_min);
	policy_free(f.p);
}

TEST(policy_victim_order_inside_the_minimum_soonest_end_first)
{
	struct fx f;
	struct policy_victim v[4];
	size_t nv;

	fx_init(&f, 3, 100, quick_in);
	f.in.nodes = f.nodes;
	f.in.n = f.n;
	f.in.unix_s = f.unix;
	/* 2: minimum 4032 s, 2000 s old: used up in 2032 s. */
	fx_find(&f, 2)->created_s = f.unix - 2000;
	/* 3: 1.5 x the price, so a 2688 s minimum, 600 s old: 2088 s left.
	 * Pricier, yet after 2: retiring it first would waste more. */
	fx_find(&f, 3)->created_s = f.unix - 600;
	fx_find(&f, 3)->price_uusd = FX_PRICE * 3 / 2;
	policy_victim_list(&f.cfg, &f.in, v, &nv);
	ASSERT_EQ(v[0].id, 1);
	ASSERT_EQ(v[1].id, 2);
	ASSERT_EQ(v[2].id, 3);
	policy_free(f.p);
}

TEST(policy_billing_hold_keeps_victims_until_their_minimum_is_used)
{
	struct fx f;
	const struct policy_decision *d;
	uint64_t start;

	/* Three young idle nodes (10 min old at $6/month: 57 min of minimum
	 * left), min 1, the leader mature. Retiring them now saves nothing. */
	fx_init(&f, 3, 10, quick_in);
	fx_find(&f, 2)->created_s = f.unix - 600;
	fx_find(&f, 3)->created_s = f.unix - 600;
	fx_step(&f);
	ASSERT_EQ(f.d.action, POLICY_HOLD);
	ASSERT_TRUE((f.d.holds & POLICY_HOLD_BILLING) != 0);
	/* 4031.8 s of minimum - 600 s of age - 90 s of retire delay. */
	ASSERT_U64_EQ(f.d.billing_left_ms, 3342000);
	ASSERT_STR_EQ(f.d.text, "hold: victims inside their minimum charge for 55m42s");
	start = f.now;
	d = until_in(&f);
	while (d->action == POLICY_HOLD && f.now - start < 2 * 3600 * 1000ULL)
		d = until_in(&f);
	ASSERT_EQ(d->action, POLICY_SCALE_IN);
	ASSERT_EQ(d->count, 2);
	/* The minimum ends 90 s (the retire delay) before the droplets go. */
	ASSERT_U64_EQ((f.now - start) / 1000, 3342);
	policy_free(f.p);
}

static void
no_hold(struct policy_config *c)
{
	quick_in(c);
	c->billing_hold = false;
}

TEST(policy_billing_hold_can_be_turned_off)
{
	struct fx f;
	const struct policy_decision *d;

	fx_init(&f, 3, 10, no_hold);
	fx_find(&f, 2)->created_s = f.unix - 600;
	fx_find(&f, 3)->created_s = f.unix - 600;
	d = until_in(&f);
	ASSERT_EQ(d->action, POLICY_SCALE_IN);
	ASSERT_EQ(d->count, 2);
	policy_free(f.p);
}

TEST(policy_max_repair_ignores_the_billing_hold)
{
	struct fx f;
	struct policy_config c;

	fx_init(&f, 4, 600, NULL);
	for (size_t i = 1; i < f.n; i++)
		f.nodes[i].created_s = f.unix - 600;
	fx_step(&f);
	c = f.cfg;
	c.max_nodes = 3;
	ASSERT_OK(policy_set_config(f.p, &c));
	fx_step(&f);
	ASSERT_EQ(f.d.action, POLICY_SCALE_IN);
	ASSERT_EQ(f.d.count, 1);
	ASSERT_FALSE(has_victim(&f.d, 1));
	policy_free(f.p);
}

static void
cost_cap(struct policy_config *c)
{
	c->max_hourly_cost_uusd = 3 * FX_PRICE;
	c->min_nodes = 1;
	c->max_nodes = 50;
	c->max_step = 50;
}

TEST(policy_cost_repair_retires_the_expensive_first)
{
	struct fx f;

	/* Over budget after a reload: 2 big droplets and 3 small ones. */
	fx_init(&f, 5, 600, cost_cap);
	fx_find(&f, 4)->price_uusd = 2 * FX_PRICE;
	fx_find(&f, 5)->price_uusd = 2 * FX_PRICE;
	fx_step(&f);
	ASSERT_EQ(f.d.action, POLICY_SCALE_IN);
	ASSERT_EQ(f.d.reason, POLICY_R_COST);
	/* 7 x price: retire the two doubles (-4) to fit 3. */
	ASSERT_EQ(f.d.count, 2);
	ASSERT_TRUE(has_victim(&f.d, 4));
	ASSERT_TRUE(has_victim(&f.d, 5));
	policy_free(f.p);
}

static void
tight_budget(struct policy_config *c)
{
	c->max_hourly_cost_uusd = FX_PRICE; /* one droplet's worth */
	c->min_nodes = 3;
}

TEST(policy_cost_repair_stops_at_min_nodes)
{
	struct fx f;

	fx_init(&f, 4, 600, tight_budget);
	fx_step(&f);
	ASSERT_EQ(f.d.action, POLICY_SCALE_IN);
	ASSERT_EQ(f.d.reason, POLICY_R_COST);
	ASSERT_EQ(f.d.count, 1); /* 4 -> 3, never below min_nodes */
	ASSERT_TRUE((f.d.limits & POLICY_LIMIT_MIN_NODES) != 0);
	policy_free(f.p);
}
