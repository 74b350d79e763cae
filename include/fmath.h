/*
 * fmath: the few elementary functions the pure cores need (a logarithm for
 * Lifeguard's timeouts, an exponential for the load EWMA), written here so
 * that the agent does not map libm at all: every library a process maps
 * costs resident pages for its symbol tables even when little of it is
 * called (libm alone was 300 kB of the agent's VmRSS). Results agree with
 * glibc's libm to within a few ulp over the ranges used (tests/unit).
 */
#ifndef FMATH_H
#define FMATH_H

/* Natural logarithm of x > 0 (x <= 0 gives -HUGE_VAL-like -1e308). */
double fmath_ln(double x);

/* Base-10 logarithm of x > 0. */
double fmath_log10(double x);

/* e^x; 0 below -745, a huge value above 709. */
double fmath_exp(double x);

#endif
