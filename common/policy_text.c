/*
 * policy_text: the words of the scaling policy. The one-line reason of each
 * decision ("clone 2: cpu 87.0% > target 60.0% for 60s"), the names of
 * metrics, actions, reasons and limits, and `mitosis status`'s lines.
 * Everything printed here comes from numbers: no peer-supplied string.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "policy.h"

/* A bounded string being appended to: never overruns, always terminated. */
struct policy_buf {
	char *s;
	size_t size, len; /* len: what was wanted, may exceed size */
};

static void policy_put(struct policy_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
policy_put(struct policy_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->len < b->size ? b->size - b->len : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room > 0 ? b->s + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n;
}

const char *
policy_metric_name(enum policy_metric m)
{
	static const char *const names[] = { "cpu", "load1", "memory", "custom" };

	return (unsigned)m < POLICY_METRIC_COUNT ? names[m] : "?";
}

const char *
policy_action_name(enum policy_action a)
{
	static const char *const names[] = { "hold", "scale_out", "scale_in", "transfer" };

	return (unsigned)a <= POLICY_TRANSFER ? names[a] : "?";
}

const char *
policy_reason_name(enum policy_reason r)
{
	static const char *const names[] = { "none",	  "metric",	     "min_nodes",
					     "max_nodes", "max_hourly_cost", "restore" };

	return (unsigned)r <= POLICY_R_RESTORE ? names[r] : "?";
}

const char *
policy_limit_name(unsigned bit)
{
	switch (bit) {
	case POLICY_LIMIT_MAX_NODES:
		return "max_nodes";
	case POLICY_LIMIT_COST:
		return "max_hourly_cost";
	case POLICY_LIMIT_STEP:
		return "max_step";
	case POLICY_LIMIT_MIN_NODES:
		return "min_nodes";
	case POLICY_LIMIT_VICTIMS:
		return "eligible victims";
	default:
		return "?";
	}
}

void
policy_metric_format(enum policy_metric m, int64_t v, char *buf, size_t size)
{
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	const char *sign = v < 0 ? "-" : "";

	if (m == POLICY_METRIC_CPU || m == POLICY_METRIC_MEMORY)
		snprintf(buf, size, "%s%" PRIu64 ".%" PRIu64 "%%", sign, mag / 10, mag % 10);
	else if (m == POLICY_METRIC_LOAD1)
		snprintf(buf, size, "%s%" PRIu64 ".%02" PRIu64, sign, mag / 1000,
			 (mag % 1000) / 10);
	else if (mag % 1000 == 0)
		snprintf(buf, size, "%s%" PRIu64, sign, mag / 1000);
	else
		snprintf(buf, size, "%s%" PRIu64 ".%03" PRIu64, sign, mag / 1000, mag % 1000);
}

/* "42s", "4m05s", "2h10m": rounded to the second. */
static const char *
policy_dur(uint64_t ms, char *buf, size_t size)
{
	uint64_t s = (ms + 500) / 1000;

	if (s < 120)
		snprintf(buf, size, "%" PRIu64 "s", s);
	else if (s < 7200 && s % 60 == 0)
		snprintf(buf, size, "%" PRIu64 "m", s / 60);
	else if (s < 7200)
		snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
	return buf;
}

/* "$0.008929" without trailing zeros past the cents. */
static const char *
policy_money(uint64_t uusd, char *buf, size_t size)
{
	char frac[8];
	int digits = 6;

	snprintf(frac, sizeof(frac), "%06u", (unsigned)(uusd % 1000000));
	while (digits > 2 && frac[digits - 1] == '0')
		frac[--digits] = '\0';
	snprintf(buf, size, "$%" PRIu64 ".%s", uusd / 1000000, frac);
	return buf;
}

/* "cpu 87.0% > target 60.0%" for the metric behind the decision. */
static void
policy_put_metric(struct policy_buf *b, const struct policy_decision *d, const char *op)
{
	const struct policy_metric_view *v;
	char val[32], tgt[32];

	if (d->metric < 0 || d->metric >= POLICY_METRIC_COUNT)
		return;
	v = &d->metrics[d->metric];
	policy_metric_format((enum policy_metric)d->metric, v->mean, val, sizeof(val));
	policy_metric_format((enum policy_metric)d->metric, v->target, tgt, sizeof(tgt));
	policy_put(b, "%s %s %s target %s", policy_metric_name((enum policy_metric)d->metric), val,
		   op, tgt);
}

static void
policy_put_limits(struct policy_buf *b, unsigned limits)
{
	const char *sep = "";

	for (unsigned bit = 1; bit <= POLICY_LIMIT_VICTIMS; bit <<= 1) {
		if ((limits & bit) == 0)
			continue;
		policy_put(b, "%s%s", sep, policy_limit_name(bit));
		sep = ", ";
	}
}

static void
policy_text_out(struct policy_buf *b, const struct policy_decision *d,
		const struct policy_config *cfg)
{
	char t[32];

	policy_put(b, "%sclone %" PRIu32 ": ", d->dry_run ? "would " : "", d->count);
	if (d->reason == POLICY_R_METRIC) {
		policy_put_metric(b, d, ">");
		policy_put(b, " for %s", policy_dur(d->out_for_ms, t, sizeof(t)));
	} else if (d->reason == POLICY_R_MIN) {
		policy_put(b, "below min_nodes (%" PRIu32 " < %" PRIu32 ")",
			   d->capacity + d->dead_pending, cfg->min_nodes);
	} else {
		policy_put(b, "back to the desired size %" PRIu32 " (%" PRIu32 " now)",
			   d->desired_before, d->capacity + d->dead_pending);
	}
}

static void
policy_text_in(struct policy_buf *b, const struct policy_decision *d,
	       const struct policy_config *cfg)
{
	char t[32], u[32];

	policy_put(b, "%sretire %" PRIu32 " (", d->dry_run ? "would " : "", d->count);
	for (uint32_t i = 0; i < d->count; i++)
		policy_put(b, "%s%" PRIu64, i > 0 ? " " : "", d->victims[i]);
	policy_put(b, "): ");
	if (d->reason == POLICY_R_METRIC) {
		policy_put_metric(b, d, "<");
		policy_put(b, " for %s", policy_dur(d->in_for_ms, t, sizeof(t)));
	} else if (d->reason == POLICY_R_MAX) {
		policy_put(b, "above max_nodes (%" PRIu32 " > %" PRIu32 ")", d->capacity,
			   cfg->max_nodes);
	} else {
		policy_put(b, "above max_hourly_cost (%s > %s an hour)",
			   policy_money(d->cost_uusd, t, sizeof(t)),
			   policy_money(cfg->max_hourly_cost_uusd, u, sizeof(u)));
	}
}

/* The first thing that holds a HOLD back, in the order an operator asks. */
static void
policy_text_hold(struct policy_buf *b, const struct policy_decision *d,
		 const struct policy_config *cfg)
{
	char t[32], u[32];
	unsigned h = d->holds;

	policy_put(b, "hold: ");
	if ((h & POLICY_HOLD_LIMIT) != 0) {
		policy_put_limits(b, d->limits);
		policy_put(b, " reached (wanted %" PRIu32 ", %" PRIu32 " now)", d->wanted,
			   d->capacity + d->dead_pending);
	} else if ((h & POLICY_HOLD_PRICE) != 0) {
		policy_put(b, "clone price unknown under max_hourly_cost");
	} else if ((h & POLICY_HOLD_BACKOFF) != 0) {
		policy_put(b, "a clone failed; clones wait %s",
			   policy_dur(d->backoff_left_ms, t, sizeof(t)));
	} else if ((h & POLICY_HOLD_BILLING) != 0) {
		policy_put(b, "victims inside their minimum charge for %s",
			   policy_dur(d->billing_left_ms, t, sizeof(t)));
	} else if ((h & POLICY_HOLD_NO_VICTIM) != 0) {
		policy_put(b, "no node can retire (the leader, protected or busy)");
	} else if ((h & POLICY_HOLD_COOLDOWN_OUT) != 0) {
		policy_put(b, "scale-out cooldown %s left",
			   policy_dur(d->cooldown_out_left_ms, t, sizeof(t)));
	} else if ((h & POLICY_HOLD_COOLDOWN_IN) != 0) {
		policy_put(b, "scale-in cooldown %s left",
			   policy_dur(d->cooldown_in_left_ms, t, sizeof(t)));
	} else if ((h & POLICY_HOLD_WINDOW_OUT) != 0) {
		policy_put_metric(b, d, ">");
		policy_put(b, " for %s of %s", policy_dur(d->out_for_ms, t, sizeof(t)),
			   policy_dur(cfg->scale_out_window_ms, u, sizeof(u)));
	} else if ((h & POLICY_HOLD_WINDOW_IN) != 0) {
		policy_put_metric(b, d, "<");
		policy_put(b, " for %s of %s", policy_dur(d->in_for_ms, t, sizeof(t)),
			   policy_dur(cfg->scale_in_window_ms, u, sizeof(u)));
	} else if ((h & POLICY_HOLD_NO_DATA) != 0) {
		policy_put(b, "no valid load sample from a node past its warm-up");
	} else {
		policy_put_metric(b, d, "within");
		policy_put(b, " +-%" PRIu32 "%%, size %" PRIu32, cfg->tolerance_permille / 10,
			   d->desired);
	}
}

void
policy__text(struct policy_decision *d, const struct policy_config *cfg, int err)
{
	struct policy_buf b = { d->text, sizeof(d->text), 0 };

	if (err != 0)
		policy_put(&b, "hold: out of memory while choosing victims");
	else if (d->action == POLICY_SCALE_OUT)
		policy_text_out(&b, d, cfg);
	else if (d->action == POLICY_SCALE_IN)
		policy_text_in(&b, d, cfg);
	else if (d->action == POLICY_TRANSFER)
		policy_put(&b, "%stransfer leadership first: only the leader can retire",
			   d->dry_run ? "would " : "");
	else
		policy_text_hold(&b, d, cfg);
	if (d->action != POLICY_HOLD && d->limits != 0) {
		policy_put(&b, " (cut by ");
		policy_put_limits(&b, d->limits);
		policy_put(&b, ")");
	}
	if (b.len >= sizeof(d->text) && sizeof(d->text) > 4)
		memcpy(d->text + sizeof(d->text) - 4, "...", 4);
}

static void
policy_status_metrics(struct policy_buf *b, const struct policy_decision *d)
{
	for (int m = 0; m < POLICY_METRIC_COUNT; m++) {
		const struct policy_metric_view *v = &d->metrics[m];
		char val[32], tgt[32], max[32];

		if (!v->used)
			continue;
		policy_metric_format((enum policy_metric)m, v->target, tgt, sizeof(tgt));
		policy_metric_format((enum policy_metric)m, v->max, max, sizeof(max));
		if (v->valid)
			policy_metric_format((enum policy_metric)m, v->mean, val, sizeof(val));
		else
			snprintf(val, sizeof(val), "-");
		policy_put(b,
			   "  %-6s %s, target %s, clamp %s, over %" PRIu32 " nodes (%" PRIu32
			   " without a sample): desired %" PRIu32 "\n",
			   policy_metric_name((enum policy_metric)m), val, tgt, max, v->loaded,
			   v->missing, v->desired);
	}
}

int
policy_format_status(const struct policy_decision *d, char *buf, size_t size)
{
	struct policy_buf b = { buf, size, 0 };
	char c1[32], c2[32];

	if (size > 0)
		buf[0] = '\0';
	policy_put(&b,
		   "policy: desired %" PRIu32 ", capacity %" PRIu32 " (%" PRIu32
		   " creating, %" PRIu32 " warming), %" PRIu32 " dead, %" PRIu32
		   " retiring, %" PRIu32 " deleting, billed %s an hour\n",
		   d->desired, d->capacity, d->creating, d->warming, d->dead_pending, d->retiring,
		   d->deleting, policy_money(d->cost_uusd, c1, sizeof(c1)));
	policy_status_metrics(&b, d);
	policy_put(&b, "  recommended %" PRIu32 "; above it for %s, below it for %s", d->rec,
		   policy_dur(d->out_for_ms, c1, sizeof(c1)),
		   policy_dur(d->in_for_ms, c2, sizeof(c2)));
	if (d->cooldown_out_left_ms != 0)
		policy_put(&b, "; scale-out cooldown %s left",
			   policy_dur(d->cooldown_out_left_ms, c1, sizeof(c1)));
	if (d->cooldown_in_left_ms != 0)
		policy_put(&b, "; scale-in cooldown %s left",
			   policy_dur(d->cooldown_in_left_ms, c1, sizeof(c1)));
	policy_put(&b, "\n  last: %s\n", d->text);
	return (int)b.len;
}

/* Every POLICY_ bit set in `bits`, by name, as a JSON array. */
static cJSON *
policy_json_bits(unsigned bits, const char *const *names, unsigned count)
{
	cJSON *arr = cJSON_CreateArray();

	for (unsigned i = 0; arr != NULL && i < count; i++)
		if ((bits & (1U << i)) != 0)
			cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
	return arr;
}

static cJSON *
policy_json_metrics(const struct policy_decision *d)
{
	cJSON *arr = cJSON_CreateArray();

	for (int m = 0; arr != NULL && m < POLICY_METRIC_COUNT; m++) {
		const struct policy_metric_view *v = &d->metrics[m];
		cJSON *o;

		if (!v->used || (o = cJSON_CreateObject()) == NULL)
			continue;
		cJSON_AddStringToObject(o, "metric", policy_metric_name((enum policy_metric)m));
		if (v->valid)
			cJSON_AddNumberToObject(o, "mean", (double)v->mean);
		else
			cJSON_AddNullToObject(o, "mean");
		cJSON_AddNumberToObject(o, "target", (double)v->target);
		cJSON_AddNumberToObject(o, "clamp", (double)v->max);
		cJSON_AddNumberToObject(o, "nodes", v->loaded);
		cJSON_AddNumberToObject(o, "without_sample", v->missing);
		cJSON_AddNumberToObject(o, "desired", v->desired);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

cJSON *
policy_status_json(const struct policy_decision *d)
{
	static const char *const holds[] = { "no_data",	     "window_out",  "window_in",
					     "cooldown_out", "cooldown_in", "warmup",
					     "limit",	     "billing",	    "no_victim",
					     "backoff",	     "price",	    "dead" };
	static const char *const limits[] = { "max_nodes", "max_hourly_cost", "max_step",
					      "min_nodes", "victims" };
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "action", policy_action_name(d->action));
	cJSON_AddStringToObject(o, "reason", policy_reason_name(d->reason));
	cJSON_AddStringToObject(o, "text", d->text);
	cJSON_AddBoolToObject(o, "dry_run", d->dry_run);
	cJSON_AddNumberToObject(o, "desired", d->desired);
	cJSON_AddNumberToObject(o, "recommended", d->rec);
	cJSON_AddNumberToObject(o, "capacity", d->capacity);
	cJSON_AddNumberToObject(o, "total", d->total);
	cJSON_AddNumberToObject(o, "creating", d->creating);
	cJSON_AddNumberToObject(o, "warming", d->warming);
	cJSON_AddNumberToObject(o, "dead", d->dead_pending);
	cJSON_AddNumberToObject(o, "retiring", d->retiring);
	cJSON_AddNumberToObject(o, "deleting", d->deleting);
	cJSON_AddNumberToObject(o, "cost_per_hour", (double)d->cost_uusd / 1e6);
	cJSON_AddNumberToObject(o, "above_ms", (double)d->out_for_ms);
	cJSON_AddNumberToObject(o, "below_ms", (double)d->in_for_ms);
	cJSON_AddNumberToObject(o, "cooldown_out_left_ms", (double)d->cooldown_out_left_ms);
	cJSON_AddNumberToObject(o, "cooldown_in_left_ms", (double)d->cooldown_in_left_ms);
	cJSON_AddNumberToObject(o, "billing_left_ms", (double)d->billing_left_ms);
	cJSON_AddItemToObject(o, "metrics", policy_json_metrics(d));
	cJSON_AddItemToObject(o, "holds", policy_json_bits(d->holds, holds, 12));
	cJSON_AddItemToObject(o, "limits", policy_json_bits(d->limits, limits, 5));
	return o;
}
