/*
 * dst: command line of the membership simulator (docs/dst.md).
 *
 *   dst [options] bench        figures for --nodes N
 *   dst [options] test NAME    one test scenario, or "all"
 *   dst list                   the test names
 *   dst elect ...              the election core's simulator (esim_main.c)
 *   dst cloud ...              election, policy and actuation against a cloud (csim_main.c)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csim_scen.h"
#include "esim.h"
#include "scen.h"

enum {
	OPT_FP_SECONDS = 256,
	OPT_FP_LOSS,
	OPT_BYTES_SECONDS,
	OPT_LOAD_EVERY,
	OPT_LATENCY,
	OPT_SEEDS,
	OPT_SPREAD,
	OPT_SETTLE,
	OPT_CONVERGE_MAX,
	OPT_FIGURES,
	OPT_WALL,
	OPT_SET,
	OPT_TRACE,
	OPT_PAUSE,
	OPT_VIEW,
};

static const struct option main_longopts[] = {
	{ "nodes", required_argument, NULL, 'n' },
	{ "seed", required_argument, NULL, 's' },
	{ "trials", required_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ "fp-seconds", required_argument, NULL, OPT_FP_SECONDS },
	{ "fp-loss", required_argument, NULL, OPT_FP_LOSS },
	{ "bytes-seconds", required_argument, NULL, OPT_BYTES_SECONDS },
	{ "load-every-ms", required_argument, NULL, OPT_LOAD_EVERY },
	{ "latency-us", required_argument, NULL, OPT_LATENCY },
	{ "seeds", required_argument, NULL, OPT_SEEDS },
	{ "join-spread-ms", required_argument, NULL, OPT_SPREAD },
	{ "settle-ms", required_argument, NULL, OPT_SETTLE },
	{ "converge-max-ms", required_argument, NULL, OPT_CONVERGE_MAX },
	{ "figures", required_argument, NULL, OPT_FIGURES },
	{ "wall", no_argument, NULL, OPT_WALL },
	{ "set", required_argument, NULL, OPT_SET },
	{ "trace", no_argument, NULL, OPT_TRACE },
	{ "pause-ms", required_argument, NULL, OPT_PAUSE },
	{ "view", required_argument, NULL, OPT_VIEW },
	{ NULL, 0, NULL, 0 },
};

static void
main_usage(FILE *f)
{
	fprintf(f,
		"usage: dst [options] bench | test NAME|all | list\n"
		"  -n, --nodes N           cluster size for bench (default 100)\n"
		"  -s, --seed S            seed of every random choice (default 1)\n"
		"  -t, --trials K          dissemination and crash trials (default 5)\n"
		"  --fp-seconds S          virtual seconds under loss (default 600)\n"
		"  --fp-loss PCT           loss for the false-positive run (default 10)\n"
		"  --bytes-seconds S       window of the bytes figures (default 30)\n"
		"  --load-every-ms MS      load sample period in the second bytes window (2000)\n"
		"  --latency-us MIN..MAX   one-way latency, uniform (default 200..1000)\n"
		"  --view K                bench: prime partial views of K random members instead\n"
		"                          of joining (for N whose full tables do not fit)\n"
		"  --seeds K               a joining node asks the first K nodes (default 1)\n"
		"  --join-spread-ms MS     nodes boot evenly over this span (default 1000)\n"
		"  --settle-ms MS          quiet time after convergence (default 10000)\n"
		"  --converge-max-ms MS    give up bootstrapping after this (default 600000)\n"
		"  --figures LIST          bench subset: boot,dissem,bytes,fp,crash\n"
		"  --wall                  also print wall time and peak memory\n"
		"  --set KEY=VALUE         override a swim_config field, e.g. "
		"probe_interval_ms=500\n"
		"  --pause-ms MS           the pause test's pause (default: min suspicion)\n"
		"  --trace                 print every member state change to stderr\n");
}

static int
main_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '\0' || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int
main_set(struct swim_config *c, const char *kv)
{
	static const struct {
		const char *key;
		size_t off, size;
	} keys[] = {
#define MAIN_KEY(f) { #f, offsetof(struct swim_config, f), sizeof(((struct swim_config *)0)->f) }
		MAIN_KEY(probe_interval_ms),
		MAIN_KEY(probe_timeout_ms),
		MAIN_KEY(gossip_interval_ms),
		MAIN_KEY(gossip_fanout),
		MAIN_KEY(indirect_checks),
		MAIN_KEY(suspicion_unit_ms),
		MAIN_KEY(suspicion_min_mult),
		MAIN_KEY(suspicion_max_mult),
		MAIN_KEY(suspicion_confirmations),
		MAIN_KEY(retransmit_mult),
		MAIN_KEY(load_retransmit_mult),
		MAIN_KEY(awareness_max),
		MAIN_KEY(pushpull_interval_ms),
		MAIN_KEY(reap_after_ms),
		MAIN_KEY(join_retry_ms),
		MAIN_KEY(max_payload),
		MAIN_KEY(max_joining),
		MAIN_KEY(load_min_interval_ms),
		MAIN_KEY(load_budget_bytes),
		MAIN_KEY(load_bytes_per_sec),
		MAIN_KEY(verify_per_sec),
#undef MAIN_KEY
	};
	const char *eq = strchr(kv, '=');
	uint64_t v;
	size_t k;

	if (eq == NULL)
		return -EINVAL;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (strlen(keys[k].key) != (size_t)(eq - kv) ||
		    strncmp(kv, keys[k].key, (size_t)(eq - kv)))
			continue;
		if (main_u64(eq + 1, keys[k].size == 4 ? UINT32_MAX : UINT64_MAX, &v) < 0)
			return -EINVAL;
		if (keys[k].size == 4) {
			uint32_t v32 = (uint32_t)v;

			memcpy((char *)c + keys[k].off, &v32, 4);
		} else {
			memcpy((char *)c + keys[k].off, &v, 8);
		}
		return 0;
	}
	return -ENOENT;
}

static int
main_latency(struct scen_opts *o, const char *s)
{
	const char *dots = strstr(s, "..");
	char lo[32];
	uint64_t a, b;

	if (dots == NULL || (size_t)(dots - s) >= sizeof(lo))
		return -EINVAL;
	memcpy(lo, s, (size_t)(dots - s));
	lo[dots - s] = '\0';
	if (main_u64(lo, 10000000, &a) < 0 || main_u64(dots + 2, 10000000, &b) < 0 || b < a)
		return -EINVAL;
	o->p.lat_min_us = (uint32_t)a;
	o->p.lat_max_us = (uint32_t)b;
	return 0;
}

/* One option into o; 0 or -EINVAL. */
static int
main_option(struct scen_opts *o, int c, const char *arg)
{
	uint64_t v = 0;
	int err = 0;

	switch (c) {
	case 'n':
		err = main_u64(arg, 1000000, &v);
		o->p.nodes = (uint32_t)v;
		return err ? err : (v >= 2 ? 0 : -EINVAL);
	case 's':
		return main_u64(arg, UINT64_MAX, &o->p.seed);
	case 't':
		err = main_u64(arg, 1000, &v);
		o->trials = (uint32_t)v;
		return err ? err : (v >= 1 ? 0 : -EINVAL);
	case OPT_FP_SECONDS:
		return main_u64(arg, 1000000, &o->fp_seconds);
	case OPT_FP_LOSS:
		err = main_u64(arg, 100, &v);
		o->fp_loss_ppm = (uint32_t)v * 10000;
		return err;
	case OPT_BYTES_SECONDS:
		err = main_u64(arg, 1000000, &o->bytes_seconds);
		return err ? err : (o->bytes_seconds ? 0 : -EINVAL);
	case OPT_LOAD_EVERY:
		return main_u64(arg, 86400000, &o->load_every_ms);
	case OPT_LATENCY:
		return main_latency(o, arg);
	case OPT_SEEDS:
		err = main_u64(arg, 8, &v);
		o->nseeds = (uint32_t)v;
		return err ? err : (v >= 1 ? 0 : -EINVAL);
	case OPT_SPREAD:
		return main_u64(arg, 86400000, &o->join_spread_ms);
	case OPT_SETTLE:
		return main_u64(arg, 86400000, &o->settle_ms);
	case OPT_CONVERGE_MAX:
		return main_u64(arg, 86400000, &o->converge_max_ms);
	case OPT_FIGURES:
		o->figures = arg;
		return 0;
	case OPT_WALL:
		o->wall = true;
		return 0;
	case OPT_SET:
		return main_set(&o->p.cfg, arg);
	case OPT_VIEW:
		err = main_u64(arg, 1000000, &v);
		o->view = (uint32_t)v;
		return err;
	case OPT_PAUSE:
		return main_u64(arg, 86400000, &o->pause_ms);
	case OPT_TRACE:
		o->p.trace = true;
		return 0;
	}
	return -EINVAL;
}

int
main(int argc, char **argv)
{
	struct scen_opts o;
	int c, rc;

	/* Line by line, so that a run cut short still shows what it measured. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "elect") == 0)
		return esim_main(argc - 1, argv + 1); /* the election core (esim_main.c) */
	if (argc > 1 && strcmp(argv[1], "cloud") == 0)
		return csim_main(argc - 1, argv + 1); /* the decision path (csim_main.c) */
	scen_opts_default(&o);
	o.p.nodes = 100;
	while ((c = getopt_long(argc, argv, "n:s:t:h", main_longopts, NULL)) != -1) {
		if (c == 'h') {
			main_usage(stdout);
			return 0;
		}
		if (c == '?' || main_option(&o, c, optarg) < 0) {
			if (c != '?')
				fprintf(stderr, "dst: bad value for option: %s\n", optarg);
			main_usage(stderr);
			return 2;
		}
	}
	if (optind < argc && strcmp(argv[optind], "list") == 0) {
		scen_list();
		return 0;
	}
	if (optind + 1 == argc && strcmp(argv[optind], "bench") == 0)
		return scen_bench(&o);
	if (optind + 2 == argc && strcmp(argv[optind], "test") == 0) {
		rc = scen_test(argv[optind + 1], &o);
		if (rc < 0) {
			fprintf(stderr, "dst: unknown test %s (dst list)\n", argv[optind + 1]);
			return 2;
		}
		return rc ? 1 : 0;
	}
	main_usage(stderr);
	return 2;
}
