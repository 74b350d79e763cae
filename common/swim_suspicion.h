/*
 * swim_suspicion: Lifeguard's dynamic suspicion timeout, and the side table
 * of currently SUSPECT members that holds its state (start time, the
 * accusers heard so far, the deadline), so that the member table itself
 * carries nothing for it.
 *
 * Formulas (memberlist suspicion.go and util.go, docs/membership.md):
 *   min = min_mult x max(1, log10(N)) x probe_interval   (log scale kept to 1/1000)
 *   max = max_mult x min
 *   k   = confirmations wanted, forced to 0 when N - 2 < k
 *   timeout(c) = max - (max - min) x ln(c + 1) / ln(k + 1), floored at min,
 *                and min outright when k = 0,
 * where c counts accusers distinct from the first, up to k. The member is
 * declared dead at start + timeout(c).
 */
#ifndef SWIM_SUSPICION_H
#define SWIM_SUSPICION_H

#include <stdbool.h>
#include <stdint.h>

#include "swim_idmap.h"

/* The most confirmations a suspicion can wait for (config upper bound). */
#define SWIM_SUSPICION_K_MAX 8

struct swim_suspicion {
	uint64_t id;
	uint64_t start;
	uint64_t deadline;
	uint64_t min_ms;
	uint64_t max_ms;
	uint32_t k;
	uint32_t confirmations;			     /* c, at most k */
	uint32_t deferrals;			     /* last-chance pings sent */
	uint64_t accusers[SWIM_SUSPICION_K_MAX + 1]; /* [0] is the first */
	uint8_t sigs[SWIM_SUSPICION_K_MAX + 1][64];  /* each accuser's signed accusation */
};

struct swim_suspicions {
	struct swim_suspicion *v;
	uint32_t count;
	uint32_t cap;
	struct swim_idmap index;
};

/* min in ms for a cluster of n members (n < 1 counts as 1). */
uint64_t swim_suspicion_min_ms(uint32_t min_mult, uint64_t n, uint64_t probe_interval_ms);
/* k after the small-cluster rule: 0 when n - 2 < k. */
uint32_t swim_suspicion_k(uint32_t k, uint64_t n);
/* timeout(c) in ms, from the start of the suspicion. */
uint64_t swim_suspicion_timeout_ms(uint32_t c, uint32_t k, uint64_t min_ms, uint64_t max_ms);

int swim_suspicions_init(struct swim_suspicions *t, uint64_t seed);
void swim_suspicions_fini(struct swim_suspicions *t);

/* Starts (or restarts) suspicion of `id` accused by `from`. k is clamped to
 * SWIM_SUSPICION_K_MAX. 0 or -ENOMEM. */
int swim_suspicions_start(struct swim_suspicions *t, uint64_t id, uint64_t from, uint64_t now,
			  uint32_t k, uint64_t min_ms, uint64_t max_ms);
/* Counts `from` as an independent confirmation. True when it was new (not an
 * accuser already, and fewer than k so far): the deadline moved earlier. */
bool swim_suspicions_confirm(struct swim_suspicions *t, uint64_t id, uint64_t from);
/* Keeps accuser `from`'s signature of its accusation of `id`, to relay it
 * unchanged. No effect when `from` is not one of its accusers. */
void swim_suspicions_set_sig(struct swim_suspicions *t, uint64_t id, uint64_t from,
			     const uint8_t sig[64]);
/* The signature of `from`'s accusation of `id` (NULL: not an accuser). */
const uint8_t *swim_suspicions_sig(const struct swim_suspicions *t, uint64_t id, uint64_t from);
/* Moves the deadline of `id` to `until` and counts one deferral (swim.c
 * pings the suspect once more before declaring it dead). */
void swim_suspicions_defer(struct swim_suspicions *t, uint64_t id, uint64_t until);
/* Ends the suspicion of `id`, if any. */
void swim_suspicions_stop(struct swim_suspicions *t, uint64_t id);
/* The suspicion of `id`, or NULL. */
const struct swim_suspicion *swim_suspicions_find(const struct swim_suspicions *t, uint64_t id);
/* The earliest deadline, or UINT64_MAX. */
uint64_t swim_suspicions_next(const struct swim_suspicions *t);
/* Id of one suspicion whose deadline is <= now (still in the table), or 0. */
uint64_t swim_suspicions_expired(const struct swim_suspicions *t, uint64_t now);

#endif
