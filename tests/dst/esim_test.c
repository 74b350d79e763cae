/*
 * esim_test: scripted election scenarios and the figures (placeholder).
 */
#include "esim.h"
#include "esim_scen.h"

int
esim_bench(const struct esim_camp_opts *o)
{
	(void)o;
	return 2;
}

int
esim_tests(const char *name, const struct esim_camp_opts *o)
{
	(void)o;
	(void)name;
	return -1;
}
