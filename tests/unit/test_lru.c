/*
 * Unit tests for common/lru.c: keys found after every doubling of the
 * buckets, buckets in proportion to the keys held (not to the capacity),
 * least-recently-used eviction across doublings, and a randomized comparison
 * with a naive model.
 */
#include <stdlib.h>

#include <sodium.h>

#include "harness.h"
#include "lru.h"

static struct lru *
lru_fx(uint32_t cap, uint32_t chain)
{
	struct lru *l;

	ASSERT(sodium_init() >= 0);
	l = lru_new(cap, chain);
	ASSERT_NOT_NULL(l);
	return l;
}

TEST(lru_new_limits)
{
	ASSERT(sodium_init() >= 0);
	ASSERT_NULL(lru_new(0, 1));
	ASSERT_NULL(lru_new(LRU_MAX_CAP + 1, 1));
	ASSERT_NULL(lru_new(8, 0));
	lru_free(NULL);
}

TEST(lru_buckets_follow_the_keys_not_the_capacity)
{
	struct lru *l = lru_fx(65536, 8);

	ASSERT_EQ(lru_buckets(l), 64);
	for (uint64_t k = 1; k <= 100; k++)
		lru_insert(l, k * 7919, NULL);
	/* 100 keys fit 64 buckets of 8: the 65536-key table's 8192 are not there. */
	ASSERT_EQ(lru_buckets(l), 64);
	for (uint64_t k = 101; k <= 513; k++)
		lru_insert(l, k * 7919, NULL);
	ASSERT_EQ(lru_buckets(l), 128);
	for (uint64_t k = 1; k <= 513; k++)
		ASSERT_TRUE(lru_find(l, k * 7919) != LRU_NONE);
	ASSERT_EQ(lru_find(l, 514 * 7919), LRU_NONE);
	lru_free(l);
}

TEST(lru_buckets_stop_at_cap_over_chain)
{
	struct lru *l = lru_fx(1000, 1);
	bool ev;

	for (uint64_t k = 1; k <= 3000; k++)
		lru_insert(l, k, &ev);
	ASSERT_EQ(lru_buckets(l), 1024);
	ASSERT_EQ(lru_count(l), 1000);
	ASSERT_EQ(lru_evictions(l), 2000);
	/* The 1000 newest are held, the rest evicted oldest first. */
	for (uint64_t k = 1; k <= 3000; k++)
		ASSERT_EQ(lru_find(l, k) != LRU_NONE, k > 2000);
	lru_free(l);
}

TEST(lru_use_order_survives_doubling)
{
	struct lru *l = lru_fx(200, 1);
	uint32_t first = lru_insert(l, 1000, NULL);
	bool ev;

	for (uint64_t k = 1; k < 200; k++) {
		lru_insert(l, k, NULL);
		lru_touch(l, first); /* key 1000 stays the newest through every doubling */
	}
	ASSERT_EQ(lru_buckets(l), 256);
	ASSERT_EQ(lru_insert(l, 5000, &ev), lru_find(l, 5000));
	ASSERT_TRUE(ev);
	ASSERT_EQ(lru_find(l, 1), LRU_NONE); /* the oldest went */
	ASSERT_EQ(lru_find(l, 1000), first);
	lru_free(l);
}

/* Random inserts and touches against a model that stamps each key's last use. */
TEST(lru_matches_a_naive_model)
{
	enum { CAP = 300, KEYS = 900, STEPS = 20000 };
	static uint64_t used[KEYS]; /* 0: not held */
	struct lru *l = lru_fx(CAP, 2);
	uint64_t clock = 0;
	uint32_t held = 0;

	srand(7);
	for (int s = 0; s < STEPS; s++) {
		uint32_t k = (uint32_t)rand() % KEYS, slot = lru_find(l, k + 1);
		bool ev, full = held == CAP;

		ASSERT_EQ(slot != LRU_NONE, used[k] != 0);
		if (slot != LRU_NONE) {
			lru_touch(l, slot);
			used[k] = ++clock;
			continue;
		}
		if (full) {
			uint32_t old = 0;

			for (uint32_t j = 0; j < KEYS; j++)
				if (used[j] != 0 && (used[old] == 0 || used[j] < used[old]))
					old = j;
			used[old] = 0;
			held--;
		}
		lru_insert(l, k + 1, &ev);
		ASSERT_EQ(ev, full);
		used[k] = ++clock;
		held++;
		ASSERT_EQ(lru_count(l), held);
	}
	ASSERT_EQ(lru_buckets(l), 256);
	lru_free(l);
}
