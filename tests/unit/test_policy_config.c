/*
 * Unit tests for common/policy_config.c, common/policy_node.c and
 * common/policy_window.c: the config checks and their messages, the node
 * builders and parsers, and the window ring.
 */
#include <errno.h>

#include "doapi.h"
#include "policy.h"
#include "policy_window.h"
#include "harness.h"

static const char *
check(void (*tweak)(struct policy_config *))
{
	static char err[256];
	struct policy_config c;

	policy_config_default(&c);
	tweak(&c);
	err[0] = '\0';
	if (policy_config_validate(&c, err, sizeof(err)) == 0)
		return "OK";
	return err;
}

static void
t_none(struct policy_config *c)
{
	(void)c;
}
static void
t_max_below_min(struct policy_config *c)
{
	c->min_nodes = 3, c->max_nodes = 2;
}
static void
t_min_zero(struct policy_config *c)
{
	c->min_nodes = 0;
}
static void
t_no_metric(struct policy_config *c)
{
	c->metrics = 0;
}
static void
t_custom_unset(struct policy_config *c)
{
	c->metrics = 1U << POLICY_METRIC_CUSTOM;
}
static void
t_cpu_target(struct policy_config *c)
{
	c->target[POLICY_METRIC_CPU] = 1000;
}
static void
t_step(struct policy_config *c)
{
	c->max_step = 51;
}
static void
t_window(struct policy_config *c)
{
	c->scale_in_window_ms = 25 * 3600 * 1000ULL;
}
static void
t_interval(struct policy_config *c)
{
	c->interval_ms = 50;
}
static void
t_tolerance(struct policy_config *c)
{
	c->tolerance_permille = 600;
}
static void
t_custom_max(struct policy_config *c)
{
	c->metrics = 1U << POLICY_METRIC_CUSTOM;
	c->target[POLICY_METRIC_CUSTOM] = 5000;
	c->max[POLICY_METRIC_CUSTOM] = 5000;
}

TEST(policy_config_defaults_are_valid)
{
	struct policy_config c;

	ASSERT_STR_EQ(check(t_none), "OK");
	policy_config_default(&c);
	ASSERT_EQ(policy_config_clamp(&c, POLICY_METRIC_CPU), 1000);
	ASSERT_EQ(policy_config_clamp(&c, POLICY_METRIC_LOAD1), 1600);
}

TEST(policy_config_errors_name_the_key)
{
	ASSERT_STR_EQ(check(t_max_below_min), "max_nodes (2) is below min_nodes (3)");
	ASSERT_STR_CONTAINS(check(t_min_zero), "min_nodes must be at least 1");
	ASSERT_STR_EQ(check(t_no_metric), "policy_metrics must name cpu, load1, memory or custom");
	ASSERT_STR_EQ(check(t_custom_unset),
		      "target_custom must be set when policy_metrics has custom");
	ASSERT_STR_EQ(check(t_cpu_target), "target_cpu (1000) is out of range 1..999");
	ASSERT_STR_EQ(check(t_step), "max_step (51) is out of range 1..50");
	ASSERT_STR_EQ(check(t_window), "scale_in_window (90000000 ms) is longer than a day");
	ASSERT_STR_EQ(check(t_interval), "policy_interval (50 ms) is out of range 100ms..1m");
	ASSERT_STR_EQ(check(t_tolerance), "policy_tolerance (60%) is above 50%");
	ASSERT_STR_CONTAINS(check(t_custom_max), "custom_max (5000) must be above target_custom");
}

TEST(policy_new_refuses_an_invalid_config)
{
	struct policy_config c;
	struct policy *p;

	policy_config_default(&c);
	c.max_step = 0;
	ASSERT_NULL(policy_new(&c));
	policy_config_default(&c);
	p = policy_new(&c);
	ASSERT_NOT_NULL(p);
	c.max_nodes = 1;
	ASSERT_EQ(policy_set_config(p, &c), -EINVAL);
	ASSERT_EQ(policy_config(p)->max_nodes, 10);
	policy_free(p);
}

TEST(policy_parse_time_strict)
{
	uint64_t t;

	ASSERT_OK(policy_parse_time("1970-01-01T00:00:00Z", &t));
	ASSERT_U64_EQ(t, 0);
	ASSERT_OK(policy_parse_time("2026-11-21T22:08:30Z", &t));
	ASSERT_U64_EQ(t, 1795298910);
	ASSERT_OK(policy_parse_time("2024-02-29T12:00:00.123Z", &t));
	ASSERT_U64_EQ(t, 1709208000);
	ASSERT_EQ(policy_parse_time("2023-02-29T12:00:00Z", &t), -EINVAL);
	ASSERT_EQ(policy_parse_time("2026-11-21 22:08:30Z", &t), -EINVAL);
	ASSERT_EQ(policy_parse_time("2026-11-21T22:08:30", &t), -EINVAL);
	ASSERT_EQ(policy_parse_time("2026-11-21T22:08:30.Z", &t), -EINVAL);
	ASSERT_EQ(policy_parse_time("2026-13-01T00:00:00Z", &t), -EINVAL);
	ASSERT_EQ(policy_parse_time("1969-12-31T23:59:59Z", &t), -EINVAL);
	ASSERT_EQ(policy_parse_time("", &t), -EINVAL);
}

TEST(policy_op_id_from_tag)
{
	ASSERT_U64_EQ(policy_op_id("mitosis-op-5b70d6ababd4"), 0x5b70d6ababd4ULL);
	ASSERT_U64_EQ(policy_op_id("mitosis-op-5B70d6ababd4"), 0);
	ASSERT_U64_EQ(policy_op_id("mitosis-op-5b70d6ababd"), 0);
	ASSERT_U64_EQ(policy_op_id("mitosis-protect"), 0);
}

TEST(policy_node_from_droplet_and_member)
{
	struct doapi_droplet d;
	struct swim_member m;
	struct policy_node n;

	memset(&d, 0, sizeof(d));
	d.id = 42;
	strcpy(d.status, "off");
	strcpy(d.created_at, "2026-11-21T22:08:30Z");
	strcpy(d.tags[0], "mitosis-web");
	strcpy(d.tags[1], "mitosis-op-00000000abcd");
	strcpy(d.tags[2], "mitosis-protect");
	d.ntags = 3;
	strcpy(d.private_ipv4, "10.0.0.2");
	ASSERT_OK(policy_node_from_droplet(&n, &d, "mitosis-web", 8929));
	ASSERT_U64_EQ(n.id, 42);
	ASSERT_EQ(n.status, POLICY_ST_OFF);
	ASSERT_U64_EQ(n.created_s, 1795298910);
	ASSERT_U64_EQ(n.op_id, 0xabcd);
	ASSERT_EQ(n.flags, POLICY_NODE_LISTED | POLICY_NODE_PROTECT_TAG | POLICY_NODE_HAS_IPV4);
	/* Another cluster's tag: not LISTED, its load will never count. */
	ASSERT_OK(policy_node_from_droplet(&n, &d, "mitosis-other", 8929));
	ASSERT_EQ(n.flags & POLICY_NODE_LISTED, 0);
	strcpy(d.status, "exploded");
	ASSERT_EQ(policy_node_from_droplet(&n, &d, "mitosis-web", 8929), -EINVAL);
	ASSERT_EQ(n.status, POLICY_ST_ARCHIVE);
	memset(&m, 0, sizeof(m));
	m.state = SWIM_SUSPECT;
	m.state_since = 77;
	m.load.version = 3;
	m.load.cpu_permille = 420;
	policy_node_set_member(&n, &m, false);
	ASSERT_EQ(n.flags & (POLICY_NODE_MEMBER | POLICY_NODE_LOAD_VALID), POLICY_NODE_MEMBER);
	ASSERT_EQ(n.member_state, SWIM_SUSPECT);
	ASSERT_U64_EQ(n.member_since_ms, 77);
	ASSERT_EQ(n.load.cpu_permille, 420);
}

TEST(policy_window_run_and_cover)
{
	struct policy_window w;
	struct policy_window_run r;

	policy_window_init(&w, 60000);
	policy_window_scan(&w, 0, true, 3, &r);
	ASSERT_FALSE(r.active);
	for (uint64_t t = 0; t <= 60000; t += 1000)
		policy_window_add(&w, t, t < 10000 ? 3 : t < 30000 ? 6 : 5);
	/* Above 3 since t = 10 s: 50 s of 60, not ready. */
	policy_window_scan(&w, 60000, true, 3, &r);
	ASSERT_TRUE(r.active);
	ASSERT_FALSE(r.ready);
	ASSERT_U64_EQ(r.for_ms, 50000);
	ASSERT_EQ(r.value, 5);
	for (uint64_t t = 61000; t <= 70000; t += 1000)
		policy_window_add(&w, t, 5);
	policy_window_scan(&w, 70000, true, 3, &r);
	ASSERT_TRUE(r.ready);
	ASSERT_EQ(r.value, 5);
	/* Down: the highest sample of the run. */
	policy_window_scan(&w, 70000, false, 7, &r);
	ASSERT_TRUE(r.ready);
	ASSERT_EQ(r.value, 6);
	policy_window_clear(&w);
	policy_window_scan(&w, 70000, false, 7, &r);
	ASSERT_FALSE(r.active);
}

TEST(policy_window_bounded_at_any_rate)
{
	struct policy_window w;
	struct policy_window_run r;

	/* 10 minutes sampled every millisecond: 600,000 samples, 256 slots. */
	policy_window_init(&w, 600000);
	for (uint64_t t = 0; t <= 600000; t++)
		policy_window_add(&w, t, t == 300000 ? 2 : 9);
	ASSERT_LE(w.len, POLICY_WINDOW_SLOTS);
	policy_window_scan(&w, 600000, true, 1, &r);
	ASSERT_TRUE(r.ready);
	ASSERT_EQ(r.value, 2); /* a merged slot keeps its low */
	policy_window_scan(&w, 600000, true, 2, &r);
	ASSERT_FALSE(r.ready);
	/* Within one slot width (600000 / 128 ms) of the true 300 s. */
	ASSERT_LE(r.for_ms, 300000);
	ASSERT_GE(r.for_ms, 300000 - 600000 / 128);
}
