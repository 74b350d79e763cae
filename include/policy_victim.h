/*
 * policy_victim: which nodes a scale-in retires, and in what order
 * (docs/policy.md, "Scale-in victims").
 *
 * Never a victim: the leader, a protected node (protect = yes gossiped, or
 * the mitosis-protect tag), a node that is not an ACTIVE droplet with an
 * ALIVE member, or one already busy (draining, retiring, dead, deleting,
 * still in its clone operation). The order, with DigitalOcean's per-second
 * billing and its minimum charge in mind:
 *   1. nodes whose minimum charge is used up by the time their retirement
 *      ends (retiring one earlier saves nothing: it is billed the minimum),
 *      then the others by the end of their minimum, soonest first;
 *   2. the highest hourly price (retiring it saves the most);
 *   3. the lowest load on the first configured metric (fewer requests to
 *      drain), a node without a valid sample last;
 *   4. the newest droplet (DigitalOcean's Autoscale Pools do the same: the
 *      older nodes have proved themselves);
 *   5. the highest id, so every leader picks the same from the same view.
 */
#ifndef POLICY_VICTIM_H
#define POLICY_VICTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct policy_config;
struct policy_input;
struct policy_node;

/* One candidate and its sort keys. */
struct policy_victim {
	uint64_t id;
	uint64_t min_end_s;  /* unix second its minimum charge is used up */
	uint64_t price_uusd; /* its hourly price (the clone price when unknown) */
	int64_t load;	     /* clamped value of the first metric; INT64_MAX = none */
	uint64_t created_s;
	bool past_min; /* min_end_s <= now + retire_delay */
	bool leader;
};

/* Why the node is or is not a candidate: 0 when it is. */
enum policy_victim_why {
	POLICY_VICTIM_OK = 0,
	POLICY_VICTIM_NOT_SERVING = 1, /* not an active droplet with an alive member */
	POLICY_VICTIM_BUSY = 2,	       /* draining, retiring, dead, deleting or cloning */
	POLICY_VICTIM_PROTECTED = 3,
};

enum policy_victim_why policy_victim_check(const struct policy_node *n);

/*
 * Fills v[0..*nv) with the candidates among in->nodes (the leader included,
 * flagged), sorted in retirement order. `v` must hold in->n entries.
 */
void policy_victim_list(const struct policy_config *cfg, const struct policy_input *in,
			struct policy_victim *v, size_t *nv);

/* The sort order above, for qsort. */
int policy_victim_cmp(const void *a, const void *b);

#endif
