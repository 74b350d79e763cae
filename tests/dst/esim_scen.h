/*
 * esim_scen: what the election simulator's command line (`dst elect ...`)
 * runs: the random campaign (esim_camp.c), the scripted scenarios and the
 * figures (esim_test.c). Not an API.
 */
#ifndef ESIM_SCEN_H
#define ESIM_SCEN_H

#include <stdbool.h>
#include <stdint.h>

struct esim_camp_opts {
	uint64_t from, seeds; /* campaign: seeds from .. from + seeds - 1 */
	uint64_t fault_s;     /* virtual seconds of faults per seed */
	uint32_t nodes;	      /* bench: members */
	uint32_t trials;      /* bench: failovers */
	bool trace, verbose, wall;
	const char *argv0; /* for the replay line */
};

struct esim_outcome {
	uint32_t nodes, voters;
	uint64_t breaks, leaders, msgs;
	uint64_t leader_after_heal_ms;
	bool live;	      /* a leader within the bound after the heal */
	bool quorum_possible; /* a majority of voters still has its state */
	bool orphaned;	      /* bootstrap waits on a proposer that lost its state */
	int error;
	char first[160]; /* the first break */
};

/* One seed of the campaign; 0 or -ENOMEM. */
int esim_seed_run(uint64_t seed, const struct esim_camp_opts *o, struct esim_outcome *out);
/* Every seed; prints a line per failing seed and the totals. 0 when clean. */
int esim_campaign(const struct esim_camp_opts *o);
/* One seed with its plan and every break printed. */
int esim_run_one(uint64_t seed, const struct esim_camp_opts *o);
/* The figures at o->nodes members (5 voters). */
int esim_bench(const struct esim_camp_opts *o);
/* Scripted scenarios: one PASS/FAIL line each; the number that failed, or
 * -1 for an unknown name. */
int esim_tests(const char *name, const struct esim_camp_opts *o);

#endif
