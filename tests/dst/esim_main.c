/*
 * esim_main: the command line of the election simulator (docs/dst.md):
 *
 *   dst elect campaign [--seeds K] [--from S] [--seconds T]   random faults per seed
 *   dst elect run -s SEED [--trace]                          replay one seed
 *   dst elect bench [-n N] [-t TRIALS]                       the figures
 *   dst elect test NAME|all                                  scripted scenarios
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esim.h"
#include "esim_scen.h"
#include "util.h"

static const struct option esim_longopts[] = {
	{ "seed", required_argument, NULL, 's' },
	{ "seeds", required_argument, NULL, 'k' },
	{ "from", required_argument, NULL, 'f' },
	{ "seconds", required_argument, NULL, 'S' },
	{ "nodes", required_argument, NULL, 'n' },
	{ "trials", required_argument, NULL, 't' },
	{ "trace", no_argument, NULL, 'T' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "wall", no_argument, NULL, 'w' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
esim_usage(FILE *f)
{
	fprintf(f, "usage: dst elect campaign [--seeds K] [--from S] [--seconds T] [--wall]\n"
		   "       dst elect run -s SEED [--trace] [--seconds T]\n"
		   "       dst elect bench [-n MEMBERS] [-t FAILOVERS] [-s SEED]\n"
		   "       dst elect test NAME|all [-s SEED] [--trace]\n"
		   "       dst elect list\n");
}

static int
esim_option(struct esim_camp_opts *o, int c, const char *arg, uint64_t *seed)
{
	uint64_t v = 0;
	int err = 0;

	switch (c) {
	case 's':
		return util_parse_u64(arg, 0, UINT64_MAX / 2, seed);
	case 'f':
		return util_parse_u64(arg, 0, UINT64_MAX / 2, &o->from);
	case 'k':
		return util_parse_u64(arg, 1, 100000000, &o->seeds);
	case 'S':
		return util_parse_u64(arg, 10, 100000, &o->fault_s);
	case 'n':
		err = util_parse_u64(arg, 3, ESIM_MAX, &v);
		o->nodes = (uint32_t)v;
		return err;
	case 't':
		err = util_parse_u64(arg, 1, 1000, &v);
		o->trials = (uint32_t)v;
		return err;
	case 'T':
		o->trace = true;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case 'w':
		o->wall = true;
		return 0;
	}
	return -EINVAL;
}

int
esim_main(int argc, char **argv)
{
	struct esim_camp_opts o = { .from = 1,
				    .seeds = 100,
				    .fault_s = 60,
				    .nodes = 100,
				    .trials = 20,
				    .argv0 = "build/dst" };
	uint64_t seed = UINT64_MAX;
	const char *verb;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:n:t:h", esim_longopts, NULL)) != -1) {
		if (c == 'h') {
			esim_usage(stdout);
			return 0;
		}
		if (c == '?' || esim_option(&o, c, optarg, &seed) < 0) {
			if (c != '?')
				fprintf(stderr, "dst elect: bad value for an option: %s\n", optarg);
			esim_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		esim_usage(stderr);
		return 2;
	}
	verb = argv[optind];
	if (strcmp(verb, "campaign") == 0) {
		if (seed != UINT64_MAX)
			o.from = seed;
		return esim_campaign(&o);
	}
	if (strcmp(verb, "run") == 0 && seed != UINT64_MAX)
		return esim_run_one(seed, &o);
	if (strcmp(verb, "bench") == 0) {
		o.from = seed == UINT64_MAX ? 1 : seed;
		return esim_bench(&o);
	}
	if (strcmp(verb, "list") == 0)
		return esim_tests(NULL, &o) < 0 ? 2 : 0;
	if (strcmp(verb, "test") == 0 && optind + 1 < argc) {
		o.from = seed == UINT64_MAX ? 1 : seed;
		rc = esim_tests(argv[optind + 1], &o);
		if (rc < 0) {
			fprintf(stderr, "dst elect: unknown test %s (dst elect list)\n",
				argv[optind + 1]);
			return 2;
		}
		return rc ? 1 : 0;
	}
	esim_usage(stderr);
	return 2;
}
