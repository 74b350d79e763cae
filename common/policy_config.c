/*
 * policy_config: the scaling policy's settings, their defaults and their
 * checks (docs/policy.md, "Configuration", gives each default's reason).
 * Error messages use the config keys' names, since that is what an operator
 * edits: the lead's config table maps each key to one field here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define POLICY_LONG_MS	 (24ULL * 3600 * 1000) /* no window, cooldown or delay beyond a day */
#define POLICY_NODES_MAX 10000
#define POLICY_COST_MAX	 1000000000000ULL /* $1,000,000 an hour: a typo, not a budget */

/* The key of each metric's target and clamp, for messages. */
static const char *const policy_target_keys[POLICY_METRIC_COUNT] = { "target_cpu", "target_load1",
								     "target_memory",
								     "target_custom" };
static const char *const policy_max_keys[POLICY_METRIC_COUNT] = {
	"the cpu clamp (100%)", "load1_max", "the memory clamp (100%)", "custom_max"
};
/* The largest target each metric can take. */
static const int64_t policy_target_max[POLICY_METRIC_COUNT] = { 999, 65535, 999,
								POLICY_CUSTOM_MAX };

void
policy_config_default(struct policy_config *c)
{
	memset(c, 0, sizeof(*c));
	c->metrics = POLICY_METRIC_BIT(POLICY_METRIC_CPU);
	c->target[POLICY_METRIC_CPU] = 600;
	c->target[POLICY_METRIC_LOAD1] = 800;
	c->target[POLICY_METRIC_MEMORY] = 700;
	c->target[POLICY_METRIC_CUSTOM] = 0; /* no default: the operator's unit */
	c->max[POLICY_METRIC_CPU] = 1000;
	c->max[POLICY_METRIC_MEMORY] = 1000;
	c->tolerance_permille = 100;
	c->interval_ms = 1000;
	c->scale_out_window_ms = 60 * 1000;
	c->scale_in_window_ms = 10 * 60 * 1000;
	c->scale_out_cooldown_ms = 3 * 60 * 1000;
	c->scale_in_cooldown_ms = 5 * 60 * 1000;
	c->warmup_ms = 3 * 60 * 1000;
	c->min_nodes = 2;
	c->max_nodes = 10;
	c->max_step = 4;
	c->max_hourly_cost_uusd = 0;
	c->retire_delay_ms = 90 * 1000; /* dns_ttl 60 s + drain_timeout 30 s */
	c->billing_hold = true;
	c->dry_run = false;
}

int64_t
policy_config_clamp(const struct policy_config *c, enum policy_metric m)
{
	if (c->max[m] != 0)
		return c->max[m];
	return c->target[m] > INT64_MAX / 2 ? INT64_MAX : 2 * c->target[m];
}

static int policy_config_fail(char *err, size_t errsize, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
policy_config_fail(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errsize > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* One metric's target and clamp. */
static int
policy_config_check_metric(const struct policy_config *c, enum policy_metric m, char *err,
			   size_t errsize)
{
	int64_t t = c->target[m], clamp = policy_config_clamp(c, m);

	if (m == POLICY_METRIC_CUSTOM && t == 0)
		return policy_config_fail(
			err, errsize, "target_custom must be set when policy_metrics has custom");
	if (t < 1 || t > policy_target_max[m])
		return policy_config_fail(err, errsize,
					  "%s (%" PRId64 ") is out of range 1..%" PRId64,
					  policy_target_keys[m], t, policy_target_max[m]);
	if ((m == POLICY_METRIC_CPU || m == POLICY_METRIC_MEMORY) && clamp > 1000)
		return policy_config_fail(err, errsize, "%s is above 100%%", policy_max_keys[m]);
	if (clamp <= t || clamp > POLICY_CUSTOM_MAX)
		return policy_config_fail(err, errsize,
					  "%s (%" PRId64 ") must be above %s (%" PRId64
					  ") and at most %lld",
					  policy_max_keys[m], clamp, policy_target_keys[m], t,
					  (long long)POLICY_CUSTOM_MAX);
	return 0;
}

static int
policy_config_check_times(const struct policy_config *c, char *err, size_t errsize)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "scale_out_window", offsetof(struct policy_config, scale_out_window_ms) },
		{ "scale_in_window", offsetof(struct policy_config, scale_in_window_ms) },
		{ "scale_out_cooldown", offsetof(struct policy_config, scale_out_cooldown_ms) },
		{ "scale_in_cooldown", offsetof(struct policy_config, scale_in_cooldown_ms) },
		{ "warmup", offsetof(struct policy_config, warmup_ms) },
		{ "retire_delay", offsetof(struct policy_config, retire_delay_ms) },
	};

	if (c->interval_ms < 100 || c->interval_ms > 60000)
		return policy_config_fail(
			err, errsize, "policy_interval (%" PRIu64 " ms) is out of range 100ms..1m",
			c->interval_ms);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)c + keys[i].off, sizeof(v));
		if (v > POLICY_LONG_MS)
			return policy_config_fail(err, errsize,
						  "%s (%" PRIu64 " ms) is longer than a day",
						  keys[i].key, v);
	}
	return 0;
}

static int
policy_config_check_limits(const struct policy_config *c, char *err, size_t errsize)
{
	if (c->min_nodes < 1)
		return policy_config_fail(
			err, errsize,
			"min_nodes must be at least 1: a cluster of no node has no "
			"agent left to scale it out again");
	if (c->max_nodes > POLICY_NODES_MAX)
		return policy_config_fail(err, errsize, "max_nodes (%" PRIu32 ") is above %d",
					  c->max_nodes, POLICY_NODES_MAX);
	if (c->max_nodes < c->min_nodes)
		return policy_config_fail(
			err, errsize, "max_nodes (%" PRIu32 ") is below min_nodes (%" PRIu32 ")",
			c->max_nodes, c->min_nodes);
	if (c->max_step < 1 || c->max_step > POLICY_STEP_MAX)
		return policy_config_fail(err, errsize,
					  "max_step (%" PRIu32 ") is out of range 1..%d",
					  c->max_step, POLICY_STEP_MAX);
	if (c->max_hourly_cost_uusd > POLICY_COST_MAX)
		return policy_config_fail(err, errsize,
					  "max_hourly_cost is above $1000000 an hour");
	if (c->tolerance_permille > 500)
		return policy_config_fail(err, errsize,
					  "policy_tolerance (%" PRIu32 "%%) is above 50%%",
					  c->tolerance_permille / 10);
	return 0;
}

int
policy_config_validate(const struct policy_config *c, char *err, size_t errsize)
{
	unsigned all = (1U << POLICY_METRIC_COUNT) - 1;
	int r;

	if (c == NULL)
		return -EINVAL;
	if (c->metrics == 0 || (c->metrics & ~all) != 0)
		return policy_config_fail(err, errsize,
					  "policy_metrics must name cpu, load1, memory or custom");
	for (int m = 0; m < POLICY_METRIC_COUNT; m++) {
		if ((c->metrics & POLICY_METRIC_BIT(m)) == 0)
			continue;
		r = policy_config_check_metric(c, (enum policy_metric)m, err, errsize);
		if (r != 0)
			return r;
	}
	r = policy_config_check_times(c, err, errsize);
	if (r == 0)
		r = policy_config_check_limits(c, err, errsize);
	return r;
}
