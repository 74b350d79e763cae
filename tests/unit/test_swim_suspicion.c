/*
 * Unit tests for common/swim_suspicion.c: Lifeguard's timeout formulas at
 * exact values (memberlist's suspicionTimeout and remainingSuspicionTime),
 * the small-cluster rule for k, confirmations by distinct accusers only,
 * deferral, and expiry.
 */
#include "harness.h"
#include "swim_suspicion.h"

TEST(swim_suspicion_min_formula)
{
	/* min_mult x max(1, log10 N) x interval, the scale kept to 1/1000 */
	ASSERT_U64_EQ(swim_suspicion_min_ms(1, 0, 500), 500);
	ASSERT_U64_EQ(swim_suspicion_min_ms(1, 1, 500), 500);
	ASSERT_U64_EQ(swim_suspicion_min_ms(1, 10, 500), 500);
	ASSERT_U64_EQ(swim_suspicion_min_ms(1, 50, 500), 849); /* 1.698 */
	ASSERT_U64_EQ(swim_suspicion_min_ms(1, 100, 500), 1000);
	ASSERT_U64_EQ(swim_suspicion_min_ms(1, 1000, 500), 1500);
	ASSERT_U64_EQ(swim_suspicion_min_ms(1, 10000, 500), 2000);
	/* memberlist LAN: mult 4, 1 s: 8 s at N=100, 16 s at 10000 */
	ASSERT_U64_EQ(swim_suspicion_min_ms(4, 100, 1000), 8000);
	ASSERT_U64_EQ(swim_suspicion_min_ms(4, 10000, 1000), 16000);
}

TEST(swim_suspicion_timeout_formula)
{
	/* max - (max - min) x ln(c + 1) / ln(k + 1), floored at min */
	ASSERT_U64_EQ(swim_suspicion_timeout_ms(0, 2, 1000, 6000), 6000);
	ASSERT_U64_EQ(swim_suspicion_timeout_ms(1, 2, 1000, 6000), 2845); /* 6000 - 5000 x 0.6309 */
	ASSERT_U64_EQ(swim_suspicion_timeout_ms(2, 2, 1000, 6000), 1000);
	ASSERT_U64_EQ(swim_suspicion_timeout_ms(5, 2, 1000, 6000), 1000);
	ASSERT_U64_EQ(swim_suspicion_timeout_ms(1, 3, 1000, 6000), 3500); /* ln2/ln4 = 1/2 */
	ASSERT_U64_EQ(swim_suspicion_timeout_ms(2, 3, 1000, 6000), 2037); /* ln3/ln4 = .79248 */
	ASSERT_U64_EQ(swim_suspicion_timeout_ms(3, 3, 1000, 6000), 1000);
	/* memberlist LAN at N=100: 8 s min, 48 s max, k = 2 */
	ASSERT_U64_EQ(swim_suspicion_timeout_ms(1, 2, 8000, 48000), 22762);
	/* k = 0: min outright */
	ASSERT_U64_EQ(swim_suspicion_timeout_ms(0, 0, 1000, 6000), 1000);
	ASSERT_U64_EQ(swim_suspicion_timeout_ms(0, 2, 1000, 1000), 1000);
}

TEST(swim_suspicion_k_small_cluster)
{
	ASSERT_EQ(swim_suspicion_k(2, 1), 0);
	ASSERT_EQ(swim_suspicion_k(2, 3), 0); /* N - 2 = 1 < 2 */
	ASSERT_EQ(swim_suspicion_k(2, 4), 2);
	ASSERT_EQ(swim_suspicion_k(3, 4), 0);
	ASSERT_EQ(swim_suspicion_k(3, 5), 3);
	ASSERT_EQ(swim_suspicion_k(0, 100), 0);
}

TEST(swim_suspicion_confirmations)
{
	struct swim_suspicions t;
	const struct swim_suspicion *sp;

	ASSERT_OK(swim_suspicions_init(&t, 9));
	ASSERT_OK(swim_suspicions_start(&t, 77, 1, 10000, 2, 1000, 6000));
	sp = swim_suspicions_find(&t, 77);
	ASSERT_NOT_NULL(sp);
	ASSERT_U64_EQ(sp->deadline, 16000);
	ASSERT_FALSE(swim_suspicions_confirm(&t, 77, 1)); /* the first accuser again */
	ASSERT_TRUE(swim_suspicions_confirm(&t, 77, 2));
	ASSERT_U64_EQ(swim_suspicions_find(&t, 77)->deadline, 12845);
	ASSERT_FALSE(swim_suspicions_confirm(&t, 77, 2));
	ASSERT_TRUE(swim_suspicions_confirm(&t, 77, 3));
	ASSERT_U64_EQ(swim_suspicions_find(&t, 77)->deadline, 11000);
	ASSERT_FALSE(swim_suspicions_confirm(&t, 77, 4)); /* k reached */
	ASSERT_EQ(swim_suspicions_find(&t, 77)->confirmations, 2);
	ASSERT_FALSE(swim_suspicions_confirm(&t, 78, 4)); /* unknown */
	swim_suspicions_fini(&t);
}

TEST(swim_suspicion_expiry_defer_stop)
{
	struct swim_suspicions t;

	ASSERT_OK(swim_suspicions_init(&t, 9));
	ASSERT_U64_EQ(swim_suspicions_next(&t), UINT64_MAX);
	for (uint64_t id = 1; id <= 30; id++)
		ASSERT_OK(swim_suspicions_start(&t, id, 100, id * 10, 0, 500, 500));
	ASSERT_EQ(t.count, 30);
	ASSERT_U64_EQ(swim_suspicions_next(&t), 510);
	ASSERT_U64_EQ(swim_suspicions_expired(&t, 509), 0);
	ASSERT_U64_EQ(swim_suspicions_expired(&t, 510), 1);
	swim_suspicions_defer(&t, 1, 900);
	ASSERT_EQ(swim_suspicions_find(&t, 1)->deferrals, 1);
	ASSERT_U64_EQ(swim_suspicions_next(&t), 520);
	for (uint64_t id = 2; id <= 30; id += 2)
		swim_suspicions_stop(&t, id);
	swim_suspicions_stop(&t, 2);
	ASSERT_EQ(t.count, 15);
	ASSERT_NULL(swim_suspicions_find(&t, 2));
	ASSERT_U64_EQ(swim_suspicions_next(&t), 530);
	for (uint64_t id = 3; id <= 29; id += 2)
		ASSERT_U64_EQ(swim_suspicions_find(&t, id)->deadline, id * 10 + 500);
	/* restarting keeps one entry and resets it */
	ASSERT_OK(swim_suspicions_start(&t, 3, 200, 5000, 2, 1000, 2000));
	ASSERT_EQ(t.count, 15);
	ASSERT_U64_EQ(swim_suspicions_find(&t, 3)->accusers[0], 200);
	ASSERT_EQ(swim_suspicions_find(&t, 3)->deferrals, 0);
	ASSERT_U64_EQ(swim_suspicions_find(&t, 3)->deadline, 7000);
	swim_suspicions_fini(&t);
}
