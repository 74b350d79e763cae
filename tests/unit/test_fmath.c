/*
 * Unit tests for common/fmath.c: against glibc's libm (which the tests may
 * link, the agent does not) over the ranges the cores use and beyond, and
 * the exact values the suspicion formula depends on.
 */
#include <math.h>

#include "fmath.h"
#include "harness.h"

static void
near(double got, double want, double rel, const char *what, double x)
{
	double err = fabs(got - want), tol = rel * fabs(want) + 1e-300;

	if (err > tol)
		harness_fail(__FILE__, __LINE__, "%s(%.17g) = %.17g, libm %.17g", what, x, got,
			     want);
}

TEST(fmath_ln_matches_libm)
{
	for (double x = 1e-6; x < 1e12; x *= 1.37)
		near(fmath_ln(x), log(x), 4e-16, "ln", x);
	for (int n = 1; n <= 100000; n++)
		near(fmath_ln(n), log(n), 4e-16, "ln", n);
	ASSERT(fmath_ln(1.0) == 0.0);
	ASSERT(fmath_ln(0.0) < -1e300);
	ASSERT(fmath_ln(-1.0) < -1e300);
}

TEST(fmath_log10_powers_and_members)
{
	/* The suspicion formula keeps three decimals of log10(N): every N up
	 * to 100,000 must give libm's three decimals. */
	for (int n = 1; n <= 100000; n++) {
		uint64_t got = (uint64_t)(fmath_log10(n) * 1000.0 + 1e-9);
		uint64_t want = (uint64_t)(log10(n) * 1000.0);

		if (got != want)
			harness_fail(__FILE__, __LINE__, "log10(%d) x 1000: %llu, libm %llu", n,
				     (unsigned long long)got, (unsigned long long)want);
	}
}

TEST(fmath_exp_matches_libm)
{
	for (double x = -740; x < 700; x += 0.731)
		near(fmath_exp(x), exp(x), 1e-15, "exp", x);
	for (double x = -1; x < 1; x += 0.001)
		near(fmath_exp(x), exp(x), 1e-15, "exp", x);
	ASSERT(fmath_exp(0) == 1.0);
	ASSERT(fmath_exp(-800) == 0.0);
	ASSERT(fmath_exp(800) > 1e300);
}
