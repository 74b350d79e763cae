/*
 * csim_main: the cloud simulator's command line (docs/dst.md, "The cloud"):
 *
 *   dst cloud campaign [--seeds K] [--from S] [--seconds F] [--settle S] [--scale PM]
 *                      [--first]     (stop at the first seed that breaks)
 *   dst cloud run -s SEED [--trace]          replay one seed, with its plan
 *
 * The campaign prints, after a line per failing seed with the command that
 * replays it, the breaks per invariant and the figures summed over seeds.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csim_scen.h"
#include "log.h"
#include "util.h"

enum { OPT_SETTLE = 256, OPT_SCALE };

static const struct option csim_longopts[] = {
	{ "seed", required_argument, NULL, 's' },
	{ "seeds", required_argument, NULL, 'k' },
	{ "from", required_argument, NULL, 'f' },
	{ "seconds", required_argument, NULL, 'S' },
	{ "settle", required_argument, NULL, OPT_SETTLE },
	{ "scale", required_argument, NULL, OPT_SCALE },
	{ "trace", no_argument, NULL, 'T' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "wall", no_argument, NULL, 'w' },
	{ "first", no_argument, NULL, '1' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
csim_usage(FILE *f)
{
	fprintf(f,
		"usage: dst cloud campaign [--seeds K] [--from S] [--seconds F] [--settle S]\n"
		"                          [--scale PERMILLE] [--wall] [--first] [-v]\n"
		"       dst cloud run -s SEED [--trace] [--seconds F] [--settle S] [--scale PM]\n");
}

static int
csim_option(struct csim_opts *o, int c, const char *arg, uint64_t *seed)
{
	uint64_t v = 0;
	int err;

	switch (c) {
	case 's':
		return util_parse_u64(arg, 0, UINT64_MAX / 2, seed);
	case 'f':
		return util_parse_u64(arg, 0, UINT64_MAX / 2, &o->from);
	case 'k':
		return util_parse_u64(arg, 1, 100000000, &o->seeds);
	case 'S':
		return util_parse_u64(arg, 30, 100000, &o->fault_s);
	case OPT_SETTLE:
		return util_parse_u64(arg, 10, 100000, &o->settle_s);
	case OPT_SCALE:
		err = util_parse_u64(arg, 50, 1000, &v);
		o->scale_pm = (uint32_t)v;
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
	case '1':
		o->first = true;
		return 0;
	}
	return -EINVAL;
}

static int
csim_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* "median M p99 P max X (n=N)" of v (sorted here). */
static void
csim_print_dist(const char *name, uint64_t *v, size_t n)
{
	if (n == 0) {
		printf("%s none\n", name);
		return;
	}
	qsort(v, n, sizeof(*v), csim_cmp_u64);
	printf("%s median %" PRIu64 " p99 %" PRIu64 " max %" PRIu64 " (n=%zu)\n", name, v[n / 2],
	       v[(n * 99) / 100], v[n - 1], n);
}

/* Adds one seed's figures to the campaign's (its arrays appended). */
static void
csim_sum(struct csim_figs *t, const struct csim_figs *f)
{
#define ADD(x) t->x += f->x
	ADD(calls), ADD(mutating), ADD(faults), ADD(clones), ADD(creates), ADD(deletes);
	ADD(discards), ADD(adopted), ADD(abandoned), ADD(leaks_ev), ADD(dup_ops), ADD(vanished);
	ADD(lost_deletes), ADD(cost_uusd), ADD(min_cost_uusd), ADD(decisions_out);
	ADD(decisions_in);
#undef ADD
	if (f->peak_nodes > t->peak_nodes)
		t->peak_nodes = f->peak_nodes;
	if (f->peak_incl_deleting > t->peak_incl_deleting)
		t->peak_incl_deleting = f->peak_incl_deleting;
	for (size_t k = 0; k < f->noverload; k++)
		csim_figs_add(t, &t->overload_ms, &t->noverload, &t->capoverload,
			      f->overload_ms[k]);
	for (size_t k = 0; k < f->ndereg; k++)
		csim_figs_add(t, &t->dereg_ms, &t->ndereg, &t->capdereg, f->dereg_ms[k]);
}

static double
csim_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
csim_report(const struct csim_opts *o, const uint64_t *inv, uint64_t broke, uint64_t lost,
	    struct csim_figs *t)
{
	struct csim_params p;
	uint64_t breaks = 0;

	csim_params_default(&p, o->scale_pm);
	for (int k = 0; k < CS_INV_COUNT; k++)
		breaks += k == CS_INV_LIVENESS ? 0 : inv[k];
	printf("cloud campaign: seeds %" PRIu64 "..%" PRIu64 ", scale %.3f, %" PRIu64
	       " s of faults + %" PRIu64 " s settled each\n",
	       o->from, o->from + o->seeds - 1, o->scale_pm / 1000.0, o->fault_s, o->settle_s);
	printf("seeds_run %" PRIu64 "\n", o->seeds);
	printf("invariant_breaks %" PRIu64 " (safety; seeds with any break: %" PRIu64 ")\n", breaks,
	       broke);
	for (int k = 0; k < CS_INV_COUNT; k++)
		if (k != CS_INV_LIVENESS)
			printf("  %-17s %" PRIu64 "\n", csim_inv_name((enum csim_inv)k), inv[k]);
	printf("liveness_failures %" PRIu64 "\n", inv[CS_INV_LIVENESS]);
	printf("quorum_lost_for_good %" PRIu64 " (a majority of the voters powered off or back "
	       "without their state: needs force-recover; end checks skipped)\n",
	       lost);
	printf("clones %" PRIu64 " ready, creates %" PRIu64 " (%" PRIu64
	       " vanished), deletes %" PRIu64 " (%" PRIu64 " answered and lost), discards %" PRIu64
	       ", adopted %" PRIu64 ", abandoned %" PRIu64 "\n",
	       t->clones, t->creates, t->vanished, t->deletes, t->lost_deletes, t->discards,
	       t->adopted, t->abandoned);
	printf("leaks %" PRIu64 " at the end, %" PRIu64 " leak events (a delete never confirmed)\n",
	       inv[CS_INV_LEAK], t->leaks_ev);
	printf("duplicates %" PRIu64 " (operations that made two droplets)\n", t->dup_ops);
	printf("cost $%.2f vs $%.2f minimum for the demand (x%.2f)\n", (double)t->cost_uusd / 1e6,
	       (double)t->min_cost_uusd / 1e6,
	       t->min_cost_uusd ? (double)t->cost_uusd / (double)t->min_cost_uusd : 0.0);
	printf("peak_nodes %" PRIu64 " (%" PRIu64 " counting droplets being deleted)\n",
	       t->peak_nodes, t->peak_incl_deleting);
	printf("decisions %" PRIu64 " scale-outs, %" PRIu64 " scale-ins\n", t->decisions_out,
	       t->decisions_in);
	printf("api_calls %" PRIu64 ", mutating %" PRIu64 ", failed %" PRIu64 "\n", t->calls,
	       t->mutating, t->faults);
	printf("scale_out_window_ms %" PRIu64 "\n", p.pc.scale_out_window_ms);
	csim_print_dist("overload_to_create_ms", t->overload_ms, t->noverload);
	csim_print_dist("dead_to_deregistered_ms", t->dereg_ms, t->ndereg);
}

static int
csim_campaign(const struct csim_opts *o)
{
	uint64_t inv[CS_INV_COUNT] = { 0 }, broke = 0, errors = 0, lost = 0;
	struct csim_figs total;
	struct csim_outcome r;
	double t0 = csim_wall();
	struct csim_opts o2 = *o; /* o2.seeds: the seeds run */

	/* The cores' own log lines (elections, bootstraps) would drown the
	 * figures: `run -s SEED` shows them for one seed. */
	log_set_level(LOG_LEVEL_ERROR);
	memset(&total, 0, sizeof(total));
	for (uint64_t s = o->from; s < o->from + o->seeds; s++) {
		if (csim_seed_run(s, o, &r) < 0 || r.error) {
			printf("ERROR seed %" PRIu64 ": simulator out of memory\n", s);
			errors++;
			csim_outcome_free(&r);
			continue;
		}
		for (int k = 0; k < CS_INV_COUNT; k++)
			inv[k] += r.inv[k];
		if (r.breaks) {
			broke++;
			printf("BREAK seed %" PRIu64 ": %s (%" PRIu64 " breaks)\n"
			       "  replay: %s cloud run -s %" PRIu64 " --trace\n",
			       s, r.first, r.breaks, o->argv0, s);
			fflush(stdout);
		}
		if (r.breaks && o->first) { /* a self-test: a broken core was caught */
			csim_outcome_free(&r);
			o2.seeds = s - o->from + 1;
			break;
		}
		lost += r.quorum_lost;
		csim_sum(&total, &r.f);
		csim_outcome_free(&r);
	}
	csim_report(&o2, inv, broke, lost, &total);
	if (o->wall)
		printf("wall_s %.1f\n", csim_wall() - t0);
	free(total.overload_ms);
	free(total.dereg_ms);
	return broke || errors ? 1 : 0;
}

static int
csim_run_one(uint64_t seed, const struct csim_opts *o)
{
	struct csim_outcome r;
	struct csim_opts v = *o;

	csim_print_plan(seed, o);
	v.verbose = true;
	if (csim_seed_run(seed, &v, &r) < 0)
		return 2;
	printf("seed %" PRIu64 ": %" PRIu64 " invariant breaks%s; creates %" PRIu64
	       ", deletes %" PRIu64 ", duplicates %" PRIu64 ", cost $%.4f (minimum $%.4f)\n",
	       seed, r.breaks, r.quorum_lost ? " (quorum lost for good by the faults)" : "",
	       r.f.creates, r.f.deletes, r.f.dup_ops, (double)r.f.cost_uusd / 1e6,
	       (double)r.f.min_cost_uusd / 1e6);
	csim_outcome_free(&r);
	return r.breaks ? 1 : 0;
}

int
csim_main(int argc, char **argv)
{
	struct csim_opts o = { .from = 1,
			       .seeds = 100,
			       .fault_s = 240,
			       .settle_s = 300,
			       .scale_pm = 200,
			       .argv0 = "build/dst" };
	uint64_t seed = UINT64_MAX;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:vh", csim_longopts, NULL)) != -1) {
		if (c == 'h') {
			csim_usage(stdout);
			return 0;
		}
		if (c == '?' || csim_option(&o, c, optarg, &seed) < 0) {
			if (c != '?')
				fprintf(stderr, "dst cloud: bad value for an option: %s\n", optarg);
			csim_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		csim_usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind], "campaign") == 0) {
		if (seed != UINT64_MAX)
			o.from = seed;
		return csim_campaign(&o);
	}
	if (strcmp(argv[optind], "run") == 0 && seed != UINT64_MAX)
		return csim_run_one(seed, &o);
	csim_usage(stderr);
	return 2;
}
