/*
 * A small unit-test harness in the manner of libuv's test/task.h and redis'
 * testhelp.h. Each TEST() registers itself through a constructor, so a new
 * tests/unit/test_<module>.c needs no list to edit. The runner (runner.c) forks
 * every test with a timeout and ends with "N passed, N failed".
 *
 * The ASSERT_* macros print both operands and the place, then abort the test
 * (the forked child exits non-zero).
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void harness_fn(void);

void harness_register(const char *name, const char *file, harness_fn *fn);
void harness_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
/* Returns a fresh empty directory for the running test (removed by the runner). */
const char *harness_tmpdir(void);

#define TEST(name)                                                                                 \
	static void test_##name(void);                                                             \
	__attribute__((constructor)) static void test_register_##name(void)                        \
	{                                                                                          \
		harness_register(#name, __FILE__, test_##name);                                    \
	}                                                                                          \
	static void test_##name(void)

#define ASSERT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			harness_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);           \
	} while (0)

#define ASSERT_INT_OP(a, op, b)                                                                    \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (!(a_ op b_))                                                                   \
			harness_fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, #b,    \
				     a_, b_);                                                      \
	} while (0)

#define ASSERT_EQ(a, b) ASSERT_INT_OP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP(a, <, b)
#define ASSERT_LE(a, b) ASSERT_INT_OP(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_INT_OP(a, >, b)
#define ASSERT_GE(a, b) ASSERT_INT_OP(a, >=, b)
#define ASSERT_OK(a)	ASSERT_EQ(a, 0)
#define ASSERT_TRUE(a)	ASSERT(a)
#define ASSERT_FALSE(a) ASSERT(!(a))

#define ASSERT_U64_EQ(a, b)                                                                        \
	do {                                                                                       \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                   \
		if (a_ != b_)                                                                      \
			harness_fail(__FILE__, __LINE__, "%s == %s: %" PRIu64 " vs %" PRIu64, #a,  \
				     #b, a_, b_);                                                  \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                               \
			harness_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b,     \
				     a_ ? a_ : "(null)", b_ ? b_ : "(null)");                      \
	} while (0)

/* Substring check: haystack must contain needle. */
#define ASSERT_STR_CONTAINS(h, n)                                                                  \
	do {                                                                                       \
		const char *h_ = (h), *n_ = (n);                                                   \
		if (h_ == NULL || strstr(h_, n_) == NULL)                                          \
			harness_fail(__FILE__, __LINE__, "%s contains %s: \"%s\" lacks \"%s\"",    \
				     #h, #n, h_ ? h_ : "(null)", n_);                              \
	} while (0)

#define ASSERT_MEM_EQ(a, b, n)                                                                     \
	do {                                                                                       \
		if (memcmp((a), (b), (n)) != 0)                                                    \
			harness_fail(__FILE__, __LINE__, "%s == %s over %zu bytes differ", #a, #b, \
				     (size_t)(n));                                                 \
	} while (0)

#define ASSERT_NULL(p)	   ASSERT((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT((p) != NULL)

#endif
