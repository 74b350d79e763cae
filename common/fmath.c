/*
 * fmath: logarithm and exponential without libm (include/fmath.h).
 *
 * ln: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
 * ln m = 2 atanh(z), z = (m - 1) / (m + 1), |z| < 0.172, whose series
 * z + z^3/3 + z^5/5 + ... is within 1e-17 after 12 terms.
 * exp: x = k ln2 + r with |r| <= ln2 / 2 (ln2 split in two parts so k ln2 is
 * exact), e^r by its Taylor series (1e-17 after 18 terms), then scaled by 2^k.
 * frexp and ldexp come from libc itself.
 */
#include <math.h>

#include "fmath.h"

#define FMATH_LN2	0.69314718055994530942
#define FMATH_LN2_HI	6.93147180369123816490e-01 /* 32 significant bits of ln 2 */
#define FMATH_LN2_LO	1.90821492927058770002e-10 /* the rest */
#define FMATH_LN10	2.30258509299404568402
#define FMATH_SQRT_HALF 0.70710678118654752440

double
fmath_ln(double x)
{
	double m, z, z2, term, sum;
	int e;

	if (!(x > 0))
		return -1e308;
	m = frexp(x, &e); /* x = m 2^e, m in [0.5, 1) */
	if (m < FMATH_SQRT_HALF) {
		m *= 2;
		e--;
	}
	z = (m - 1) / (m + 1);
	z2 = z * z;
	term = z;
	sum = 0;
	for (int k = 1; k <= 41; k += 2) {
		sum += term / k;
		term *= z2;
	}
	return 2 * sum + e * FMATH_LN2;
}

double
fmath_log10(double x)
{
	return fmath_ln(x) / FMATH_LN10;
}

double
fmath_exp(double x)
{
	double r, term, sum;
	int k;

	if (x < -745)
		return 0;
	if (x > 709)
		return 1e308;
	k = (int)(x / FMATH_LN2 + (x < 0 ? -0.5 : 0.5));
	r = (x - k * FMATH_LN2_HI) - k * FMATH_LN2_LO;
	term = 1;
	sum = 1;
	for (int i = 1; i <= 20; i++) {
		term *= r / i;
		sum += term;
	}
	return ldexp(sum, k);
}
