/*
 * esim_scen: what the election simulator's command line (`dst elect ...`)
 * runs: the random campaign (esim_camp.c), the scripted scenarios and the
 * figures (esim_test.c). Not an API.
 */
#ifndef ESIM_SCEN_H
#define ESIM_SCEN_H

#include <stdbool.h>
#include <stdint.h>

#include "esim.h"

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

/* ---- fault plans (esim_camp.c), shared with the cloud campaign (csim) ---- */

#define CAMP_ACTS     8192
#define ESIM_CAMP_ANY (-3) /* camp_act.node: a random running node, chosen when it runs */

/* The election's fault actions; csim adds its own kinds from ACT_KIND_COUNT. */
enum camp_kind {
	ACT_START,
	ACT_START_FRESH,
	ACT_START_CORRUPT,
	ACT_CRASH,
	ACT_PAUSE,
	ACT_RESUME,
	ACT_PARTITION,
	ACT_HEAL,
	ACT_CUT,
	ACT_UNCUT,
	ACT_LOSS,
	ACT_RATE,
	ACT_TRANSFER,
	ACT_STEP_DOWN,
	ACT_DISK_FULL,
	ACT_DISK_OK,
	ACT_KIND_COUNT,
};

/* A node < 0 is resolved when the action runs: the node that leads then (or
 * a random one), and the paired end action `pair` gets the same node. */
struct camp_act {
	uint64_t at_us;
	uint32_t seq;
	uint8_t kind;
	int32_t node, node2;
	int64_t arg; /* loss ppm, rate ppm, groups (2 bits per node) */
	int32_t pair;
};

struct camp_plan {
	uint32_t nodes, voters, expect;
	uint32_t lat_max_us, loss_ppm;
	uint32_t drift_mode;
	uint64_t fault_us; /* faults stop, everything heals */
	struct camp_act act[CAMP_ACTS];
	uint32_t nact;
	uint64_t rng;
};

extern const char *const esim_camp_kind_names[ACT_KIND_COUNT];

uint64_t esim_camp_range(uint64_t *x, uint64_t lo, uint64_t hi);
/* Adds an action; its index, or -1 when the plan is full. */
int32_t esim_camp_add(struct camp_plan *pl, uint64_t at, uint8_t kind, int32_t node, int64_t arg);
/* A begin action and its end `dur` later, sharing a node resolved at run time. */
void esim_camp_episode(struct camp_plan *pl, uint64_t at, uint64_t dur, uint8_t k1, uint8_t k2,
		       int32_t node, int64_t arg);
/* Clock rates of nodes 0..pl->nodes-1 by pl->drift_mode, within rho (ppm). */
void esim_camp_drift(struct camp_plan *pl, int32_t rho);
/* Sorts the actions by time, keeping each begin's pair pointing at its end. */
void esim_camp_sort(struct camp_plan *pl);
/* The node that leads now, else one that thinks it is leader, else random. */
uint32_t esim_camp_leader(struct esim *sim, uint64_t *rng);
/* No voter set anywhere and bootstrap cannot finish: a proposer lost its
 * state mid-bootstrap, or too few virgin nodes are left (force-recover). */
bool esim_camp_boot_orphaned(const struct esim *sim);
/* A random running node (ESIM_CAMP_ANY), else node 0. */
uint32_t esim_camp_any(struct esim *sim, uint64_t *rng);
/* Carries out an election action (node -1: the leader, ESIM_CAMP_ANY: a
 * random running node). False for a kind it does not know. */
bool esim_camp_apply(struct esim *sim, struct camp_plan *pl, struct camp_act *a);

#endif
