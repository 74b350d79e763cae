/*
 * Unit tests for common/history.c: the record codec (round trip, size bound,
 * every refusal), the ring's order rule and the file body.
 */
#include <errno.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "history.h"

static struct history_record
sample(uint64_t term, uint64_t seq)
{
	struct history_record r;

	memset(&r, 0, sizeof(r));
	r.kind = HISTORY_DECISION;
	r.action = POLICY_SCALE_OUT;
	r.reason = POLICY_R_METRIC;
	r.flags = HISTORY_F_LIMIT_EVENT;
	r.seq = seq;
	r.time_ms = 1795298910123ULL;
	r.term = term;
	r.op_id = 0x5b70d6ababd4ULL;
	r.count = 2;
	r.capacity = 3;
	r.desired = 5;
	r.total = 3;
	r.limits = POLICY_LIMIT_MAX_NODES;
	r.holds = POLICY_HOLD_WARMUP;
	r.cost_uusd = 26787;
	r.nmetrics = 2;
	r.metrics[0].metric = POLICY_METRIC_CPU;
	r.metrics[0].value = 870;
	r.metrics[0].target = 600;
	r.metrics[1].metric = POLICY_METRIC_CUSTOM;
	r.metrics[1].value = -2500;
	r.metrics[1].target = 100000;
	snprintf(r.text, sizeof(r.text), "clone 2: cpu 87.0%% > target 60.0%% for 60s");
	return r;
}

TEST(history_round_trip)
{
	struct history_record r = sample(3, 7), back;
	uint8_t buf[HISTORY_RECORD_MAX];
	int n = history_encode(&r, buf, sizeof(buf));

	ASSERT_GT(n, 0);
	ASSERT_LT(n, 120); /* compact: varints, no padding */
	ASSERT_OK(history_decode(buf, (size_t)n, &back, NULL));
	ASSERT_MEM_EQ(&r, &back, sizeof(r));
}

TEST(history_largest_record_fits_the_bound)
{
	struct history_record r = sample(UINT64_MAX, UINT64_MAX), back;
	uint8_t buf[HISTORY_RECORD_MAX];
	int n;

	r.time_ms = r.droplet = r.cost_uusd = UINT64_MAX;
	r.op_id = (1ULL << 48) - 1;
	r.count = r.capacity = r.desired = r.total = UINT32_MAX;
	r.limits = r.holds = UINT16_MAX;
	r.nmetrics = 4;
	for (int m = 0; m < 4; m++) {
		r.metrics[m].metric = (uint8_t)m;
		r.metrics[m].value = INT64_MIN;
		r.metrics[m].target = INT64_MAX;
	}
	memset(r.text, 'x', HISTORY_TEXT_MAX - 1);
	r.text[HISTORY_TEXT_MAX - 1] = '\0';
	n = history_encode(&r, buf, sizeof(buf));
	ASSERT_EQ(n, 366);
	ASSERT_OK(history_decode(buf, (size_t)n, &back, NULL));
	ASSERT_MEM_EQ(&r, &back, sizeof(r));
	ASSERT_EQ(history_encode(&r, buf, 100), -ENOBUFS);
}

TEST(history_decode_refuses)
{
	struct history_record r = sample(3, 7), back;
	uint8_t buf[HISTORY_RECORD_MAX], bad[HISTORY_RECORD_MAX + 1];
	const char *why = NULL;
	int n = history_encode(&r, buf, sizeof(buf));

	/* Every truncation. */
	for (int i = 0; i < n; i++)
		ASSERT_EQ(history_decode(buf, (size_t)i, &back, NULL), -EINVAL);
	/* A trailing byte. */
	memcpy(bad, buf, (size_t)n);
	bad[n] = 0;
	ASSERT_EQ(history_decode(bad, (size_t)n + 1, &back, &why), -EINVAL);
	ASSERT_STR_EQ(why, "trailing bytes");
	/* Another version. */
	bad[0] = 2;
	ASSERT_EQ(history_decode(bad, (size_t)n, &back, &why), -EPROTONOSUPPORT);
	/* An unknown action; unknown flags. */
	memcpy(bad, buf, (size_t)n);
	bad[2] = 9;
	ASSERT_EQ(history_decode(bad, (size_t)n, &back, &why), -EINVAL);
	ASSERT_STR_EQ(why, "kind, action or reason");
	memcpy(bad, buf, (size_t)n);
	bad[4] = 0x80;
	ASSERT_EQ(history_decode(bad, (size_t)n, &back, &why), -EINVAL);
	ASSERT_STR_EQ(why, "flags");
	/* A control byte in the text (the last byte is text). */
	memcpy(bad, buf, (size_t)n);
	bad[n - 1] = 0x1b;
	ASSERT_EQ(history_decode(bad, (size_t)n, &back, &why), -EINVAL);
	ASSERT_STR_EQ(why, "text: not printable ASCII");
}

TEST(history_varints_are_canonical)
{
	/* version, kind..flags, then seq as 0x80 0x00: an overlong zero. */
	const uint8_t overlong[] = { 1, 0, 0, 0, 0, 0x80, 0x00 };
	/* seq with an 11th byte. */
	const uint8_t toolong[] = { 1,	  0,	0,    0,    0,	  0xff, 0xff, 0xff,
				    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
	/* op_id = 2^48: above its bound. */
	const uint8_t bigop[] = {
		1, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40
	};
	struct history_record r;
	const char *why = NULL;

	ASSERT_EQ(history_decode(overlong, sizeof(overlong), &r, &why), -EINVAL);
	ASSERT_STR_EQ(why, "seq");
	ASSERT_EQ(history_decode(toolong, sizeof(toolong), &r, &why), -EINVAL);
	ASSERT_STR_EQ(why, "seq");
	ASSERT_EQ(history_decode(bigop, sizeof(bigop), &r, &why), -EINVAL);
	ASSERT_STR_EQ(why, "op_id");
}

TEST(history_encode_refuses_what_decode_would)
{
	struct history_record r = sample(1, 1);
	uint8_t buf[HISTORY_RECORD_MAX];

	r.text[0] = '\n';
	ASSERT_EQ(history_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = sample(1, 1);
	r.metrics[1].metric = POLICY_METRIC_CPU; /* not increasing */
	ASSERT_EQ(history_encode(&r, buf, sizeof(buf)), -EINVAL);
	r = sample(1, 1);
	r.op_id = 1ULL << 48;
	ASSERT_EQ(history_encode(&r, buf, sizeof(buf)), -EINVAL);
}

TEST(history_from_decision_and_event)
{
	struct policy_decision d;
	struct actuate_event ev;
	struct history_record r;
	char line[512];

	memset(&d, 0, sizeof(d));
	d.action = POLICY_SCALE_OUT;
	d.reason = POLICY_R_METRIC;
	d.dry_run = true;
	d.count = 2;
	d.metrics[POLICY_METRIC_CPU].valid = true;
	d.metrics[POLICY_METRIC_CPU].mean = 870;
	d.metrics[POLICY_METRIC_CPU].target = 600;
	snprintf(d.text, sizeof(d.text), "would clone 2: cpu 87.0%% > target 60.0%% for 60s");
	history_from_decision(&r, &d, 4, 9, 1795298910123ULL);
	ASSERT_EQ(r.flags, HISTORY_F_DRY_RUN);
	ASSERT_EQ(r.nmetrics, 1);
	history_format(&r, line, sizeof(line));
	ASSERT_STR_EQ(line, "2026-11-21T22:08:30.123Z term 4 op - decision scale_out: would clone "
			    "2: cpu 87.0% > target 60.0% for 60s");
	memset(&ev, 0, sizeof(ev));
	ev.kind = ACTUATE_EV_RETIRED;
	ev.op_kind = ACTUATE_RETIRE;
	ev.term = 4;
	ev.op_id = 0xabc;
	ev.droplet = 42;
	snprintf(ev.text, sizeof(ev.text), "retire: deleted,\x01gone");
	history_from_event(&r, &ev, 10, 1795298911000ULL);
	ASSERT_STR_EQ(r.text, "retire: deleted,?gone"); /* control bytes never stored */
	history_format(&r, line, sizeof(line));
	ASSERT_STR_CONTAINS(line, "op 000000000abc outcome retired:");
}

TEST(history_json)
{
	struct history_record r = sample(3, 7);
	cJSON *o = history_to_json(&r);
	char *s;

	ASSERT_NOT_NULL(o);
	s = cJSON_PrintUnformatted(o);
	ASSERT_STR_CONTAINS(s, "\"time\":\"2026-11-21T22:08:30.123Z\"");
	ASSERT_STR_CONTAINS(s, "\"op\":\"mitosis-op-5b70d6ababd4\"");
	ASSERT_STR_CONTAINS(s, "\"limit_reached\":true");
	ASSERT_STR_CONTAINS(s, "{\"metric\":\"custom\",\"value\":-2500,\"target\":100000}");
	free(s);
	cJSON_Delete(o);
}

TEST(history_ring_keeps_order_and_the_newest)
{
	struct history *h = history_new();
	struct history_record r;

	ASSERT_NOT_NULL(h);
	for (uint64_t i = 1; i <= HISTORY_KEEP + 10; i++) {
		r = sample(1, i);
		ASSERT_OK(history_append(h, &r));
	}
	ASSERT_EQ(history_count(h), HISTORY_KEEP);
	ASSERT_U64_EQ(history_at(h, 0)->seq, 11);
	/* A replayed or a deposed leader's record is refused; a new term's is
	 * taken even with a small seq. */
	r = sample(1, 100);
	ASSERT_EQ(history_append(h, &r), -EALREADY);
	r = sample(2, 1);
	ASSERT_OK(history_append(h, &r));
	r = sample(1, 1000);
	ASSERT_EQ(history_append(h, &r), -EALREADY);
	ASSERT_NULL(history_at(h, HISTORY_KEEP));
	history_free(h);
	history_free(NULL);
}

TEST(history_file_round_trip_and_damage)
{
	struct history *h = history_new(), *g = history_new();
	struct history_record r;
	uint8_t *buf;
	size_t len, bad;
	const char *why = NULL;

	for (uint64_t i = 1; i <= 5; i++) {
		r = sample(1, i);
		ASSERT_OK(history_append(h, &r));
	}
	ASSERT_OK(history_save(h, &buf, &len));
	ASSERT_OK(history_load(g, buf, len, &bad, &why));
	ASSERT_EQ(history_count(g), 5);
	ASSERT_MEM_EQ(history_at(g, 4), history_at(h, 4), sizeof(r));
	/* Cut in the middle of the last record: four kept, its offset said. */
	history_free(g);
	g = history_new();
	ASSERT_EQ(history_load(g, buf, len - 40, &bad, &why), -EINVAL);
	ASSERT_EQ(history_count(g), 4);
	ASSERT_GT(bad, 5);
	buf[4] = 7;
	ASSERT_EQ(history_load(g, buf, len, &bad, &why), -EPROTONOSUPPORT);
	buf[0] = 'X';
	ASSERT_EQ(history_load(g, buf, len, &bad, &why), -EINVAL);
	ASSERT_STR_EQ(why, "not a history file");
	free(buf);
	history_free(h);
	history_free(g);
}
