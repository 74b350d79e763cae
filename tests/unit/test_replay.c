/*
 * Unit tests for common/replay.c: the window rules one by one, the window
 * edges, incarnations, check-without-commit, eviction of the least recently
 * updated sender, and a randomized comparison with a naive model.
 */
#include <errno.h>

#include <sodium.h>

#include "harness.h"
#include "replay.h"

static struct replay *
rp_new(uint32_t max)
{
	struct replay *rp;

	ASSERT(sodium_init() >= 0);
	rp = replay_new(max);
	ASSERT_NOT_NULL(rp);
	return rp;
}

TEST(replay_new_limits)
{
	ASSERT(sodium_init() >= 0);
	ASSERT_NULL(replay_new(0));
	ASSERT_NULL(replay_new(UINT32_MAX));
	replay_free(NULL);
}

TEST(replay_unknown_sender)
{
	struct replay *rp = rp_new(8);

	ASSERT_TRUE(replay_check(rp, 1, 0, 1));
	ASSERT_TRUE(replay_check(rp, 1, 5, 123456));
	ASSERT_FALSE(replay_check(rp, 1, 5, 0));
	ASSERT_EQ(replay_commit(rp, 1, 5, 0), -EALREADY);
	/* check changes nothing */
	ASSERT_FALSE(replay_lookup(rp, 1, NULL, NULL));
	ASSERT_EQ(replay_count(rp), 0);
	replay_free(rp);
}

TEST(replay_in_order_and_duplicates)
{
	struct replay *rp = rp_new(8);
	uint64_t inc = 0, hi = 0;

	for (uint64_t s = 1; s <= 200; s++) {
		ASSERT_TRUE(replay_check(rp, 7, 3, s));
		ASSERT_OK(replay_commit(rp, 7, 3, s));
		ASSERT_FALSE(replay_check(rp, 7, 3, s));
		ASSERT_EQ(replay_commit(rp, 7, 3, s), -EALREADY);
	}
	ASSERT_TRUE(replay_lookup(rp, 7, &inc, &hi));
	ASSERT_U64_EQ(inc, 3);
	ASSERT_U64_EQ(hi, 200);
	for (uint64_t s = 1; s <= 200; s++)
		ASSERT_FALSE(replay_check(rp, 7, 3, s));
	ASSERT_TRUE(replay_check(rp, 7, 3, 201));
	ASSERT_EQ(replay_count(rp), 1);
	replay_free(rp);
}

TEST(replay_window_edges)
{
	struct replay *rp = rp_new(8);

	ASSERT_OK(replay_commit(rp, 1, 1, 100));
	/* 64 behind is the oldest still taken; 65 behind is too old. */
	ASSERT_TRUE(replay_check(rp, 1, 1, 100 - REPLAY_WINDOW));
	ASSERT_FALSE(replay_check(rp, 1, 1, 100 - REPLAY_WINDOW - 1));
	ASSERT_OK(replay_commit(rp, 1, 1, 36));
	ASSERT_FALSE(replay_check(rp, 1, 1, 36));
	ASSERT_OK(replay_commit(rp, 1, 1, 99));
	ASSERT_FALSE(replay_check(rp, 1, 1, 99));
	ASSERT_TRUE(replay_check(rp, 1, 1, 98));
	ASSERT_FALSE(replay_check(rp, 1, 1, 0));
	/* Moving ahead by 1 keeps the marks, shifted. */
	ASSERT_OK(replay_commit(rp, 1, 1, 101));
	ASSERT_FALSE(replay_check(rp, 1, 1, 100));
	ASSERT_FALSE(replay_check(rp, 1, 1, 99));
	ASSERT_TRUE(replay_check(rp, 1, 1, 98));
	ASSERT_TRUE(replay_check(rp, 1, 1, 37));
	ASSERT_FALSE(replay_check(rp, 1, 1, 36)); /* now 65 behind */
	replay_free(rp);
}

TEST(replay_jumps)
{
	struct replay *rp = rp_new(8);

	/* A jump of exactly 64: the old highest sits at the window's far end. */
	ASSERT_OK(replay_commit(rp, 1, 1, 10));
	ASSERT_OK(replay_commit(rp, 1, 1, 9));
	ASSERT_OK(replay_commit(rp, 1, 1, 74));
	ASSERT_FALSE(replay_check(rp, 1, 1, 10));
	ASSERT_FALSE(replay_check(rp, 1, 1, 9));
	ASSERT_TRUE(replay_check(rp, 1, 1, 11));
	ASSERT_TRUE(replay_check(rp, 1, 1, 73));
	/* A jump of 63. */
	ASSERT_OK(replay_commit(rp, 2, 1, 10));
	ASSERT_OK(replay_commit(rp, 2, 1, 73));
	ASSERT_FALSE(replay_check(rp, 2, 1, 10));
	ASSERT_TRUE(replay_check(rp, 2, 1, 9));
	/* A jump of 65 and a huge one clear the window. */
	ASSERT_OK(replay_commit(rp, 3, 1, 10));
	ASSERT_OK(replay_commit(rp, 3, 1, 75));
	ASSERT_FALSE(replay_check(rp, 3, 1, 10));
	ASSERT_TRUE(replay_check(rp, 3, 1, 11));
	ASSERT_OK(replay_commit(rp, 3, 1, UINT64_MAX));
	ASSERT_FALSE(replay_check(rp, 3, 1, UINT64_MAX));
	ASSERT_TRUE(replay_check(rp, 3, 1, UINT64_MAX - 64));
	ASSERT_FALSE(replay_check(rp, 3, 1, UINT64_MAX - 65));
	replay_free(rp);
}

TEST(replay_incarnations)
{
	struct replay *rp = rp_new(8);
	uint64_t inc = 0, hi = 0;

	ASSERT_OK(replay_commit(rp, 9, 5, 1000));
	/* A restart: any seq of a higher incarnation is fresh, and resets. */
	ASSERT_TRUE(replay_check(rp, 9, 6, 1));
	ASSERT_FALSE(replay_check(rp, 9, 6, 0));
	ASSERT_FALSE(replay_check(rp, 9, 4, 5000));
	ASSERT_OK(replay_commit(rp, 9, 6, 1));
	ASSERT_TRUE(replay_lookup(rp, 9, &inc, &hi));
	ASSERT_U64_EQ(inc, 6);
	ASSERT_U64_EQ(hi, 1);
	ASSERT_FALSE(replay_check(rp, 9, 5, 1001));
	ASSERT_EQ(replay_commit(rp, 9, 5, 1001), -EALREADY);
	ASSERT_FALSE(replay_check(rp, 9, 6, 1));
	ASSERT_TRUE(replay_check(rp, 9, 6, 2));
	replay_free(rp);
}

TEST(replay_eviction_least_recently_updated)
{
	struct replay *rp = rp_new(3);

	ASSERT_OK(replay_commit(rp, 1, 1, 10));
	ASSERT_OK(replay_commit(rp, 2, 1, 10));
	ASSERT_OK(replay_commit(rp, 3, 1, 10));
	ASSERT_OK(replay_commit(rp, 1, 1, 11)); /* 2 is now the oldest update */
	ASSERT_EQ(replay_evictions(rp), 0);
	ASSERT_FALSE(replay_check(rp, 2, 1, 10));
	ASSERT_OK(replay_commit(rp, 4, 1, 10));
	ASSERT_EQ(replay_count(rp), 3);
	ASSERT_EQ(replay_evictions(rp), 1);
	ASSERT_FALSE(replay_lookup(rp, 2, NULL, NULL));
	ASSERT_TRUE(replay_lookup(rp, 1, NULL, NULL));
	ASSERT_TRUE(replay_lookup(rp, 3, NULL, NULL));
	ASSERT_TRUE(replay_lookup(rp, 4, NULL, NULL));
	/* The documented consequence: node 2's old datagram is fresh again. */
	ASSERT_TRUE(replay_check(rp, 2, 1, 10));
	/* A failed commit does not count as an update. */
	ASSERT_EQ(replay_commit(rp, 3, 1, 10), -EALREADY);
	ASSERT_OK(replay_commit(rp, 5, 1, 1));
	ASSERT_FALSE(replay_lookup(rp, 3, NULL, NULL));
	ASSERT_TRUE(replay_lookup(rp, 1, NULL, NULL));
	ASSERT_EQ(replay_evictions(rp), 2);
	replay_free(rp);
}

TEST(replay_eviction_many)
{
	struct replay *rp = rp_new(1000);

	for (uint64_t n = 1; n <= 5000; n++)
		ASSERT_OK(replay_commit(rp, n * 0x9e3779b97f4a7c15ULL, 1, n));
	ASSERT_EQ(replay_count(rp), 1000);
	ASSERT_EQ(replay_evictions(rp), 4000);
	for (uint64_t n = 1; n <= 5000; n++) {
		uint64_t hi = 0;
		bool held = replay_lookup(rp, n * 0x9e3779b97f4a7c15ULL, NULL, &hi);

		ASSERT_EQ(held, n > 4000);
		if (held)
			ASSERT_U64_EQ(hi, n);
	}
	replay_free(rp);
}

/* The naive model: every accepted (incarnation, seq) of each node remembered. */
struct rp_model {
	bool known;
	uint64_t inc;
	uint64_t highest;
	bool seen[512];
};

static bool
rp_model_fresh(const struct rp_model *m, uint64_t inc, uint64_t seq)
{
	if (seq == 0)
		return false;
	if (!m->known || inc > m->inc)
		return true;
	if (inc < m->inc)
		return false;
	if (seq > m->highest)
		return true;
	return m->highest - seq <= REPLAY_WINDOW && !m->seen[seq];
}

static void
rp_model_commit(struct rp_model *m, uint64_t inc, uint64_t seq)
{
	if (!m->known || inc > m->inc) {
		memset(m, 0, sizeof(*m));
		m->known = true;
		m->inc = inc;
	}
	m->seen[seq] = true;
	if (seq > m->highest)
		m->highest = seq;
}

TEST(replay_matches_model)
{
	static struct rp_model model[4];
	struct replay *rp = rp_new(8);
	uint32_t x = 12345;

	for (int i = 0; i < 200000; i++) {
		uint64_t node, inc, seq;
		bool fresh;

		x = x * 1103515245 + 12345;
		node = (x >> 8) % 4;
		/* Incarnations mostly grow, sometimes an old one shows up; the
		 * sequence drifts upwards with jitter around the window size. */
		inc = 1 + (uint64_t)(i / 2000) - ((x >> 12) % 16 == 0);
		seq = (uint64_t)(i % 2000) / 5 + (x >> 16) % 100;
		fresh = rp_model_fresh(&model[node], inc, seq);
		ASSERT_EQ(replay_check(rp, node, inc, seq), fresh);
		if ((x >> 28) % 4 == 0)
			continue; /* checked only, as for a bad signature */
		ASSERT_EQ(replay_commit(rp, node, inc, seq), fresh ? 0 : -EALREADY);
		if (fresh)
			rp_model_commit(&model[node], inc, seq);
	}
	replay_free(rp);
}
