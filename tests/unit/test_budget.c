/*
 * Unit tests for common/budget.c: burst, exact refill, the cap, independence
 * of sources, clocks that go back, reuse of the stalest entry.
 */
#include <errno.h>

#include <sodium.h>

#include "budget.h"
#include "harness.h"

static const uint8_t SRC_A[6] = { 10, 0, 0, 1, 0x1e, 0xd2 };
static const uint8_t SRC_B[6] = { 10, 0, 0, 2, 0x1e, 0xd2 };
static const uint8_t SRC_C[6] = { 10, 0, 0, 3, 0x1e, 0xd2 };

static struct budget *
bg_new(uint32_t sources, uint32_t per_sec, uint32_t burst)
{
	struct budget *b;

	ASSERT(sodium_init() >= 0);
	b = budget_new(sources, per_sec, burst);
	ASSERT_NOT_NULL(b);
	return b;
}

/* Takes until refused; returns how many were granted (at most `limit`). */
static int
bg_drain(struct budget *b, const void *src, size_t len, uint64_t now, int limit)
{
	int n = 0;

	while (n < limit && budget_take(b, src, len, now) == 0)
		n++;
	return n;
}

TEST(budget_new_limits)
{
	ASSERT(sodium_init() >= 0);
	ASSERT_NULL(budget_new(0, 1, 1));
	ASSERT_NULL(budget_new(UINT32_MAX, 1, 1));
	budget_free(NULL);
}

TEST(budget_burst_then_refused)
{
	struct budget *b = bg_new(16, 10, 5);

	ASSERT_EQ(bg_drain(b, SRC_A, sizeof(SRC_A), 1000, 100), 5);
	ASSERT_EQ(budget_take(b, SRC_A, sizeof(SRC_A), 1000), -EAGAIN);
	ASSERT_EQ(budget_count(b), 1);
	budget_free(b);
}

TEST(budget_refill_exact)
{
	struct budget *b = bg_new(16, 10, 5);

	ASSERT_EQ(bg_drain(b, SRC_A, sizeof(SRC_A), 1000, 100), 5);
	/* 10 a second is one every 100 ms; 99 ms earn nothing whole. */
	ASSERT_EQ(budget_take(b, SRC_A, sizeof(SRC_A), 1099), -EAGAIN);
	ASSERT_OK(budget_take(b, SRC_A, sizeof(SRC_A), 1100));
	ASSERT_EQ(budget_take(b, SRC_A, sizeof(SRC_A), 1100), -EAGAIN);
	ASSERT_EQ(bg_drain(b, SRC_A, sizeof(SRC_A), 1350, 100), 2);
	/* The half token left from 1350 is kept. */
	ASSERT_EQ(bg_drain(b, SRC_A, sizeof(SRC_A), 1400, 100), 1);
	/* The bucket never holds more than the burst. */
	ASSERT_EQ(bg_drain(b, SRC_A, sizeof(SRC_A), 3600000, 100), 5);
	ASSERT_EQ(bg_drain(b, SRC_A, sizeof(SRC_A), 3600000 + 400, 100), 4);
	budget_free(b);
}

TEST(budget_sources_independent)
{
	struct budget *b = bg_new(16, 10, 3);

	ASSERT_EQ(bg_drain(b, SRC_A, sizeof(SRC_A), 0, 100), 3);
	ASSERT_EQ(bg_drain(b, SRC_B, sizeof(SRC_B), 0, 100), 3);
	/* A prefix of an address is another source. */
	ASSERT_EQ(bg_drain(b, SRC_A, 4, 0, 100), 3);
	ASSERT_EQ(bg_drain(b, NULL, 0, 0, 100), 3);
	ASSERT_EQ(budget_count(b), 4);
	ASSERT_EQ(budget_reuses(b), 0);
	budget_free(b);
}

TEST(budget_clock_going_back)
{
	struct budget *b = bg_new(16, 1000, 2);

	ASSERT_EQ(bg_drain(b, SRC_A, sizeof(SRC_A), 5000, 100), 2);
	ASSERT_EQ(bg_drain(b, SRC_A, sizeof(SRC_A), 10, 100), 0);
	ASSERT_EQ(bg_drain(b, SRC_A, sizeof(SRC_A), 5000, 100), 0);
	ASSERT_EQ(bg_drain(b, SRC_A, sizeof(SRC_A), 5001, 100), 1);
	budget_free(b);
}

TEST(budget_extremes)
{
	struct budget *b = bg_new(4, UINT32_MAX, UINT32_MAX);
	struct budget *z = bg_new(4, 0, 2);

	/* No overflow in the refill arithmetic. */
	ASSERT_OK(budget_take(b, SRC_A, sizeof(SRC_A), 0));
	ASSERT_OK(budget_take(b, SRC_A, sizeof(SRC_A), UINT64_MAX));
	ASSERT_OK(budget_take(b, SRC_A, sizeof(SRC_A), UINT64_MAX));
	/* No refill at all. */
	ASSERT_EQ(bg_drain(z, SRC_A, sizeof(SRC_A), 0, 100), 2);
	ASSERT_EQ(bg_drain(z, SRC_A, sizeof(SRC_A), UINT64_MAX, 100), 0);
	budget_free(b);
	budget_free(z);
}

TEST(budget_full_table_reuses_stalest)
{
	struct budget *b = bg_new(2, 1, 1);

	ASSERT_OK(budget_take(b, SRC_A, sizeof(SRC_A), 0));
	ASSERT_OK(budget_take(b, SRC_B, sizeof(SRC_B), 1));
	/* A refused attempt still marks A as recently seen. */
	ASSERT_EQ(budget_take(b, SRC_A, sizeof(SRC_A), 2), -EAGAIN);
	ASSERT_OK(budget_take(b, SRC_C, sizeof(SRC_C), 3)); /* takes over B's entry */
	ASSERT_EQ(budget_count(b), 2);
	ASSERT_EQ(budget_reuses(b), 1);
	ASSERT_EQ(budget_take(b, SRC_A, sizeof(SRC_A), 4), -EAGAIN);
	ASSERT_EQ(budget_take(b, SRC_C, sizeof(SRC_C), 5), -EAGAIN);
	ASSERT_EQ(budget_reuses(b), 1);
	/* B comes back with a fresh bucket, in the entry of A (now stalest). */
	ASSERT_OK(budget_take(b, SRC_B, sizeof(SRC_B), 6));
	ASSERT_EQ(budget_reuses(b), 2);
	ASSERT_EQ(budget_take(b, SRC_C, sizeof(SRC_C), 7), -EAGAIN);
	ASSERT_OK(budget_take(b, SRC_A, sizeof(SRC_A), 8));
	ASSERT_EQ(budget_reuses(b), 3);
	budget_free(b);
}

TEST(budget_many_sources)
{
	struct budget *b = bg_new(100, 1, 1);

	for (uint32_t i = 0; i < 1000; i++)
		ASSERT_OK(budget_take(b, &i, sizeof(i), i));
	ASSERT_EQ(budget_count(b), 100);
	ASSERT_EQ(budget_reuses(b), 900);
	/* The last hundred are held (and empty); the rest start afresh. */
	for (uint32_t i = 900; i < 1000; i++)
		ASSERT_EQ(budget_take(b, &i, sizeof(i), 1000), -EAGAIN);
	ASSERT_EQ(budget_reuses(b), 900);
	budget_free(b);
}
