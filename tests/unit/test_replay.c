/*
 * Unit tests for common/replay.c: the filter rules one by one (duplicates,
 * reordering up to REPLAY_RECENT - 1 datagrams, anything at or below the
 * lowest remembered stamp once full), check-without-commit, eviction of the
 * least recently updated sender, and a randomized comparison with a naive
 * model that remembers every stamp.
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

	ASSERT_TRUE(replay_check(rp, 1, 1));
	ASSERT_TRUE(replay_check(rp, 1, 123456));
	ASSERT_FALSE(replay_check(rp, 1, 0));
	ASSERT_EQ(replay_commit(rp, 1, 0), -EALREADY);
	/* check changes nothing */
	ASSERT_FALSE(replay_lookup(rp, 1, NULL));
	ASSERT_EQ(replay_count(rp), 0);
	replay_free(rp);
}

TEST(replay_in_order_and_duplicates)
{
	struct replay *rp = rp_new(8);
	uint64_t hi = 0;

	for (uint64_t s = 1; s <= 200; s++) {
		ASSERT_TRUE(replay_check(rp, 7, s * 4096));
		ASSERT_OK(replay_commit(rp, 7, s * 4096));
		ASSERT_FALSE(replay_check(rp, 7, s * 4096));
		ASSERT_EQ(replay_commit(rp, 7, s * 4096), -EALREADY);
	}
	ASSERT_TRUE(replay_lookup(rp, 7, &hi));
	ASSERT_U64_EQ(hi, 200 * 4096);
	for (uint64_t s = 1; s <= 200; s++)
		ASSERT_FALSE(replay_check(rp, 7, s * 4096));
	ASSERT_TRUE(replay_check(rp, 7, 200 * 4096 + 1));
	ASSERT_EQ(replay_count(rp), 1);
	replay_free(rp);
}

TEST(replay_reordering_window)
{
	struct replay *rp = rp_new(8);

	/* Stamps far apart (the sender talked to others in between) do not
	 * push one another out: only datagrams that reached us count. */
	ASSERT_OK(replay_commit(rp, 1, 1000000));
	ASSERT_OK(replay_commit(rp, 1, 9000000));
	ASSERT_TRUE(replay_check(rp, 1, 2000000)); /* late, but not seen: taken once */
	ASSERT_OK(replay_commit(rp, 1, 2000000));
	ASSERT_FALSE(replay_check(rp, 1, 2000000));
	ASSERT_TRUE(replay_check(rp, 1, 5)); /* fewer than REPLAY_RECENT held */
	for (uint64_t s = 1; s <= REPLAY_RECENT; s++)
		ASSERT_OK(replay_commit(rp, 1, 9000000 + s));
	/* Full: the lowest remembered is 9000001; anything at or below it is old. */
	ASSERT_FALSE(replay_check(rp, 1, 9000001));
	ASSERT_FALSE(replay_check(rp, 1, 9000000));
	ASSERT_FALSE(replay_check(rp, 1, 2000001));
	ASSERT_TRUE(replay_check(rp, 1, 9000000 + REPLAY_RECENT + 1));
	/* A gap inside the window is still taken, once. */
	ASSERT_OK(replay_commit(rp, 1, 9000100));
	ASSERT_OK(replay_commit(rp, 1, 9000050));
	ASSERT_EQ(replay_commit(rp, 1, 9000050), -EALREADY);
	replay_free(rp);
}

TEST(replay_eviction_least_recently_updated)
{
	struct replay *rp = rp_new(3);

	ASSERT_OK(replay_commit(rp, 1, 10));
	ASSERT_OK(replay_commit(rp, 2, 10));
	ASSERT_OK(replay_commit(rp, 3, 10));
	ASSERT_OK(replay_commit(rp, 1, 11)); /* 2 is now the oldest update */
	ASSERT_EQ(replay_evictions(rp), 0);
	ASSERT_FALSE(replay_check(rp, 2, 10));
	ASSERT_OK(replay_commit(rp, 4, 10));
	ASSERT_EQ(replay_count(rp), 3);
	ASSERT_EQ(replay_evictions(rp), 1);
	ASSERT_FALSE(replay_lookup(rp, 2, NULL));
	ASSERT_TRUE(replay_lookup(rp, 1, NULL));
	ASSERT_TRUE(replay_lookup(rp, 3, NULL));
	ASSERT_TRUE(replay_lookup(rp, 4, NULL));
	/* The documented consequence: node 2's old datagram is fresh again
	 * (the envelope's clock bound is what refuses it then). */
	ASSERT_TRUE(replay_check(rp, 2, 10));
	/* A failed commit does not count as an update. */
	ASSERT_EQ(replay_commit(rp, 3, 10), -EALREADY);
	ASSERT_OK(replay_commit(rp, 5, 1));
	ASSERT_FALSE(replay_lookup(rp, 3, NULL));
	ASSERT_TRUE(replay_lookup(rp, 1, NULL));
	ASSERT_EQ(replay_evictions(rp), 2);
	replay_free(rp);
}

TEST(replay_eviction_many)
{
	struct replay *rp = rp_new(1000);

	for (uint64_t n = 1; n <= 5000; n++)
		ASSERT_OK(replay_commit(rp, n * 0x9e3779b97f4a7c15ULL, n));
	ASSERT_EQ(replay_count(rp), 1000);
	ASSERT_EQ(replay_evictions(rp), 4000);
	for (uint64_t n = 1; n <= 5000; n++) {
		uint64_t hi = 0;
		bool held = replay_lookup(rp, n * 0x9e3779b97f4a7c15ULL, &hi);

		ASSERT_EQ(held, n > 4000);
		if (held)
			ASSERT_U64_EQ(hi, n);
	}
	replay_free(rp);
}

/* The naive model: every accepted stamp of each node, in order. */
struct rp_model {
	uint64_t seen[4096];
	size_t n;
};

static bool
rp_model_fresh(const struct rp_model *m, uint64_t stamp)
{
	size_t above = 0;

	if (stamp == 0)
		return false;
	for (size_t i = 0; i < m->n; i++) {
		if (m->seen[i] == stamp)
			return false;
		above += m->seen[i] >= stamp;
	}
	/* Refused once REPLAY_RECENT accepted stamps are at or above it. */
	return above < REPLAY_RECENT;
}

TEST(replay_matches_model)
{
	static struct rp_model model[4];
	struct replay *rp = rp_new(8);
	uint32_t x = 12345;

	for (int i = 0; i < 16000; i++) {
		uint64_t node, stamp;
		bool fresh;

		x = x * 1103515245 + 12345;
		node = (x >> 8) % 4;
		/* Stamps drift upwards with jitter around the window size. */
		stamp = (uint64_t)i / 4 + (x >> 16) % 24;
		fresh = rp_model_fresh(&model[node], stamp);
		ASSERT_EQ(replay_check(rp, node, stamp), fresh);
		if ((x >> 28) % 4 == 0)
			continue; /* checked only, as for a bad signature */
		ASSERT_EQ(replay_commit(rp, node, stamp), fresh ? 0 : -EALREADY);
		if (fresh && model[node].n < 4096)
			model[node].seen[model[node].n++] = stamp;
	}
	replay_free(rp);
}
