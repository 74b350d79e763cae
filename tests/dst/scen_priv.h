/*
 * scen_priv: what the scenario files (scen.c: bootstrap and measuring,
 * scen_bench.c: the figures, scen_test.c: the tests) share. Not an API.
 */
#ifndef SCEN_PRIV_H
#define SCEN_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netsim.h"
#include "scen.h"

#define SCEN_MS	  UINT64_C(1000) /* us per ms */
#define SCEN_S	  UINT64_C(1000000)
#define SCEN_HUBS 8U /* with partial views: the nodes everybody knows */
/* A per-observer time field of struct netsim_node, for run_until_all/collect. */
#define SCEN_OFF(field) offsetof(struct netsim_node, field)

/* splitmix64: the scenarios' own random choices (victims, origins, loads). */
uint64_t scen__rand(uint64_t *x);
/* qsort comparator for uint64_t. */
int scen__cmp_u64(const void *a, const void *b);
/* Nearest-rank percentile of a sorted array; q in (0, 1]; 0 when n == 0. */
uint64_t scen__pct(const uint64_t *v, size_t n, double q);
/* Monotonic wall-clock seconds. */
double scen__wall(void);
/* Minimum suspicion timeout the core uses for n members (docs/membership.md). */
double scen__suspicion_min_ms(const struct swim_config *c, uint32_t n);
/* The core's push-pull period for n members (memberlist's scaling). */
uint64_t scen__pushpull_ms(const struct swim_config *c, uint32_t n);

/* Boots every node through joins and runs until every node holds every other
 * ALIVE. 0 and ms[0] (ms[1], ms[2]: until 99% and 99.9% of the (observer,
 * member) pairs) from the first boot; 1 on timeout; -errno on failure. */
int scen__boot(struct netsim *sim, const struct scen_opts *o, uint64_t *ms);
/* True when --view asks for views smaller than the cluster. */
bool scen__partial(const struct scen_opts *o);
/* Primes full or partial views instead of joining (node o->p.nodes, which
 * the simulation must have, is the sink). 0 or -errno. */
int scen__prime(struct netsim *sim, const struct scen_opts *o, uint64_t *rng);

/* Runs until every UP node but the tracked subject has the time field at
 * `off` set, or max_us passes, checking every step_us. Returns how many
 * still lack it. */
uint32_t scen__run_until_all(struct netsim *sim, size_t off, uint64_t step_us, uint64_t max_us);
/* (field - t0) of every UP node except `skip`, sorted, into v (room for
 * sim->p.nodes); NETSIM_NEVER stays NETSIM_NEVER. Returns the count. */
size_t scen__collect(const struct netsim *sim, size_t off, uint64_t t0, uint32_t skip, uint64_t *v);
/* A random UP node with index >= lowest, or `lowest` when there is none. */
uint32_t scen__pick_up(const struct netsim *sim, uint64_t *rng, uint32_t lowest);
/* Runs dur_us with every UP node setting a new load once per period_ms,
 * evenly staggered. */
void scen__run_with_load(struct netsim *sim, uint64_t period_ms, uint64_t dur_us, uint64_t *rng);
/* The liars scenario (scen_liar.c), in the test table of scen_test.c. */
bool scen__t_liars(const struct scen_opts *o, char *msg, size_t size);

/* One line of the cores' swim_stats, summed over the running nodes. */
void scen__print_stats(const struct netsim *sim, uint32_t n);

#endif
