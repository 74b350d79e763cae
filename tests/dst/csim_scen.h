/*
 * csim_scen: what the cloud simulator's command line (`dst cloud ...`) runs:
 * one seed of the campaign (csim_camp.c) and the campaign with its figures
 * (csim_main.c). Not an API.
 */
#ifndef CSIM_SCEN_H
#define CSIM_SCEN_H

#include <stdbool.h>
#include <stdint.h>

#include "csim.h"

struct csim_opts {
	uint64_t from, seeds; /* seeds from .. from + seeds - 1 */
	uint64_t fault_s;     /* virtual seconds of faults per seed */
	uint64_t settle_s;    /* then steady, healed, before the end checks */
	uint32_t scale_pm;    /* time scale of the cloud and the policy, permille */
	bool trace, verbose, wall;
	bool first;	   /* campaign: stop at the first seed that breaks */
	const char *argv0; /* for the replay line */
};

struct csim_outcome {
	uint64_t inv[CS_INV_COUNT];
	uint64_t breaks;
	char first[200];
	struct csim_figs f; /* owns its arrays: csim_outcome_free */
	bool quorum_lost;   /* no leader for good, by the faults (needs force-recover) */
	int error;
};

/* One seed; 0 or -ENOMEM. */
int csim_seed_run(uint64_t seed, const struct csim_opts *o, struct csim_outcome *out);
void csim_outcome_free(struct csim_outcome *out);
/* Prints the settings and fault schedule of a seed. */
void csim_print_plan(uint64_t seed, const struct csim_opts *o);
/* `dst cloud ...`; argv[0] is "cloud". */
int csim_main(int argc, char **argv);

#endif
