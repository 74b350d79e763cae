/*
 * Unit tests for common/swim_bcast.c: least transmitted first, newest first
 * among equals, replacement of a member's queued update, the retransmit
 * limit, the callback's skip/stop/drop answers, and a randomized comparison
 * with a naive model.
 */
#include <errno.h>

#include "harness.h"
#include "swim_bcast.h"

struct take_log {
	uint64_t ids[64];
	uint64_t froms[64];
	bool quiets[64];
	size_t n;
	size_t budget;	     /* STOP after this many takes */
	uint64_t skip_id;    /* SKIP this one */
	uint64_t drop_id;    /* DROP this one */
	size_t skips_always; /* SKIP everything */
};

static enum swim_bcast_take
take(void *ctx, uint64_t id, uint64_t from, bool quiet)
{
	struct take_log *t = ctx;

	if (t->skips_always)
		return SWIM_BCAST_SKIP;
	if (id == t->drop_id)
		return SWIM_BCAST_DROP;
	if (id == t->skip_id)
		return SWIM_BCAST_SKIP;
	if (t->n == t->budget)
		return SWIM_BCAST_STOP;
	t->ids[t->n] = id;
	t->quiets[t->n] = quiet;
	t->froms[t->n++] = from;
	return SWIM_BCAST_TAKEN;
}

static void
fill(struct swim_bcast *q, uint32_t limit, struct take_log *t, size_t budget)
{
	memset(t, 0, sizeof(*t));
	t->budget = budget;
	swim_bcast_fill(q, limit, 255, take, t);
}

TEST(swim_bcast_order_least_transmitted_newest_first)
{
	struct swim_bcast q;
	struct take_log t;

	ASSERT_OK(swim_bcast_init(&q, 1));
	ASSERT_OK(swim_bcast_put(&q, 1, 0));
	ASSERT_OK(swim_bcast_put(&q, 2, 0));
	ASSERT_OK(swim_bcast_put(&q, 3, 0));
	ASSERT_EQ(q.count, 3);
	fill(&q, 10, &t, 1);
	ASSERT_EQ(t.n, 1);
	ASSERT_U64_EQ(t.ids[0], 3); /* newest first */
	fill(&q, 10, &t, 64);
	ASSERT_EQ(t.n, 3);
	ASSERT_U64_EQ(t.ids[0], 2); /* never sent before the once-sent 3 */
	ASSERT_U64_EQ(t.ids[1], 1);
	ASSERT_U64_EQ(t.ids[2], 3);
	ASSERT_EQ(swim_bcast_transmits(&q, 3), 2);
	ASSERT_EQ(swim_bcast_transmits(&q, 1), 1);
	ASSERT_EQ(swim_bcast_transmits(&q, 9), -ENOENT);
	swim_bcast_fini(&q);
	swim_bcast_fini(&q); /* idempotent on a zeroed queue */
}

TEST(swim_bcast_replace_resets_and_keeps_one)
{
	struct swim_bcast q;
	struct take_log t;

	ASSERT_OK(swim_bcast_init(&q, 2));
	ASSERT_OK(swim_bcast_put(&q, 5, 11));
	ASSERT_OK(swim_bcast_put(&q, 6, 0));
	fill(&q, 10, &t, 64);
	fill(&q, 10, &t, 64);
	ASSERT_EQ(swim_bcast_transmits(&q, 5), 2);
	ASSERT_OK(swim_bcast_put(&q, 5, 22)); /* newer news about member 5 */
	ASSERT_EQ(q.count, 2);
	ASSERT_EQ(swim_bcast_transmits(&q, 5), 0);
	fill(&q, 10, &t, 64);
	ASSERT_EQ(t.n, 2);
	ASSERT_U64_EQ(t.ids[0], 5);
	ASSERT_U64_EQ(t.froms[0], 22);
	ASSERT_U64_EQ(t.ids[1], 6);
	swim_bcast_fini(&q);
}

TEST(swim_bcast_limit_drops_after_n)
{
	struct swim_bcast q;
	struct take_log t;

	ASSERT_OK(swim_bcast_init(&q, 3));
	ASSERT_OK(swim_bcast_put(&q, 1, 0));
	for (int i = 0; i < 7; i++) {
		fill(&q, 8, &t, 64);
		ASSERT_EQ(t.n, 1);
	}
	ASSERT_EQ(swim_bcast_transmits(&q, 1), 7);
	fill(&q, 8, &t, 64);
	ASSERT_EQ(t.n, 1);
	ASSERT_EQ(q.count, 0);
	ASSERT_EQ(swim_bcast_transmits(&q, 1), -ENOENT);
	fill(&q, 8, &t, 64);
	ASSERT_EQ(t.n, 0);
	/* a lower limit applies to entries already sent more often */
	ASSERT_OK(swim_bcast_put(&q, 2, 0));
	for (int i = 0; i < 5; i++)
		fill(&q, 12, &t, 64);
	fill(&q, 4, &t, 64);
	ASSERT_EQ(q.count, 0);
	swim_bcast_fini(&q);
}

TEST(swim_bcast_skip_stop_drop)
{
	struct swim_bcast q;
	struct take_log t;

	ASSERT_OK(swim_bcast_init(&q, 4));
	for (uint64_t id = 1; id <= 20; id++)
		ASSERT_OK(swim_bcast_put(&q, id, 0));
	memset(&t, 0, sizeof(t));
	t.budget = 64;
	t.skip_id = 20;
	t.drop_id = 19;
	ASSERT_EQ(swim_bcast_fill(&q, 10, 255, take, &t), 18);
	ASSERT_EQ(q.count, 19); /* 19 dropped */
	ASSERT_EQ(swim_bcast_transmits(&q, 20), 0);
	ASSERT_EQ(swim_bcast_transmits(&q, 19), -ENOENT);
	ASSERT_EQ(swim_bcast_transmits(&q, 18), 1);
	/* eight skips in a row end the offer */
	memset(&t, 0, sizeof(t));
	t.skips_always = 1;
	ASSERT_EQ(swim_bcast_fill(&q, 10, 255, take, &t), 0);
	/* max_take */
	memset(&t, 0, sizeof(t));
	t.budget = 64;
	ASSERT_EQ(swim_bcast_fill(&q, 10, 5, take, &t), 5);
	ASSERT_U64_EQ(t.ids[0], 20);
	ASSERT_EQ(swim_bcast_fill(&q, 10, 0, take, &t), 0);
	/* STOP */
	fill(&q, 10, &t, 3);
	ASSERT_EQ(t.n, 3);
	swim_bcast_del(&q, 20);
	swim_bcast_del(&q, 20);
	ASSERT_EQ(q.count, 18);
	swim_bcast_fini(&q);
}

static uint64_t rs = 0x9e3779b97f4a7c15ULL;

static uint32_t
xr(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)rs;
}

static enum swim_bcast_take
take_random(void *ctx, uint64_t id, uint64_t from, bool quiet)
{
	struct take_log *t = ctx;

	if (t->n == t->budget)
		return SWIM_BCAST_STOP;
	if (xr() % 4 == 0)
		return SWIM_BCAST_SKIP;
	t->ids[t->n++] = id;
	return SWIM_BCAST_TAKEN;
}

TEST(swim_bcast_matches_model)
{
	struct swim_bcast q;
	struct take_log t;
	int model[65]; /* transmits, or -1 when absent */
	const uint32_t limit = 6;
	size_t present;
	int prev = 0;

	ASSERT_OK(swim_bcast_init(&q, 5));
	for (int i = 0; i <= 64; i++)
		model[i] = -1;
	for (int step = 0; step < 50000; step++) {
		uint64_t id = 1 + xr() % 64;
		uint32_t op = xr() % 8;

		if (op < 3) {
			ASSERT_OK(swim_bcast_put(&q, id, id));
			model[id] = 0;
		} else if (op == 3) {
			swim_bcast_del(&q, id);
			model[id] = -1;
		} else {
			memset(&t, 0, sizeof(t));
			t.budget = 1 + xr() % 12;
			swim_bcast_fill(&q, limit, 255, take_random, &t);
			for (size_t k = 0; k < t.n; k++) {
				int lo = model[t.ids[k]];

				ASSERT_GE(lo, 0);
				/* least transmitted first: taken in nondecreasing count */
				if (k > 0)
					ASSERT_GE(lo, prev);
				prev = lo;
				if (++model[t.ids[k]] >= (int)limit)
					model[t.ids[k]] = -1;
			}
		}
		present = 0;
		for (uint64_t i = 1; i <= 64; i++) {
			ASSERT_EQ(swim_bcast_transmits(&q, i), model[i] < 0 ? -ENOENT : model[i]);
			present += model[i] >= 0;
		}
		ASSERT_EQ(q.count, present);
	}
	swim_bcast_fini(&q);
}

TEST(swim_bcast_quiet_entries)
{
	struct swim_bcast q;
	struct take_log t;

	ASSERT_OK(swim_bcast_init(&q, 1));
	/* A quiet entry two short of a limit of 3 goes out once, and never
	 * counts as loud. */
	ASSERT_OK(swim_bcast_put_quiet(&q, 7, 2));
	ASSERT_EQ(q.count, 1);
	ASSERT_EQ(swim_bcast_loud(&q), 0);
	fill(&q, 3, &t, 10);
	ASSERT_EQ(t.n, 1);
	ASSERT_TRUE(t.quiets[0]); /* the callback is told: a load sample alone */
	ASSERT_EQ(q.count, 0);
	fill(&q, 3, &t, 10);
	ASSERT_EQ(t.n, 0);

	/* A state change about the same member makes it loud and starts over. */
	ASSERT_OK(swim_bcast_put_quiet(&q, 8, 2));
	ASSERT_OK(swim_bcast_put(&q, 8, 0));
	ASSERT_EQ(swim_bcast_loud(&q), 1);
	ASSERT_EQ(swim_bcast_transmits(&q, 8), 0);
	/* A later load sample neither silences it nor cuts its sends short. */
	ASSERT_OK(swim_bcast_put_quiet(&q, 8, 2));
	ASSERT_EQ(swim_bcast_loud(&q), 1);
	ASSERT_EQ(swim_bcast_transmits(&q, 8), 0);
	fill(&q, 3, &t, 10);
	ASSERT_FALSE(t.quiets[0]);
	fill(&q, 3, &t, 10);
	ASSERT_EQ(swim_bcast_loud(&q), 1);
	fill(&q, 3, &t, 10);
	ASSERT_EQ(q.count, 0);
	ASSERT_EQ(swim_bcast_loud(&q), 0);

	/* Removal of a loud entry by del keeps the count right. */
	ASSERT_OK(swim_bcast_put(&q, 9, 0));
	swim_bcast_del(&q, 9);
	ASSERT_EQ(swim_bcast_loud(&q), 0);
	swim_bcast_fini(&q);
}
