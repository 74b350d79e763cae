/*
 * swim_bcast: the queue of membership updates waiting to be piggybacked or
 * gossiped (memberlist's TransmitLimitedQueue, reshaped).
 *
 * An entry names a member (and, for a suspicion or death, the accuser to
 * quote); the record itself is encoded from the member table when it is
 * sent, so the queue holds no bytes and there is at most one entry per
 * member: a newer update about a member replaces the queued one and starts
 * again at zero transmissions. Entries are handed out least transmitted
 * first, newest first among equals, and leave the queue once sent `limit`
 * times (the caller passes retransmit_mult x ceil(log10(N + 1))).
 *
 * A quiet entry (a load sample that changed nothing else) may start part way
 * to the limit and only rides along: it never makes a gossip round happen on
 * its own (swim_bcast_loud() counts the entries that do).
 */
#ifndef SWIM_BCAST_H
#define SWIM_BCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swim_idmap.h"

/* Transmission counts at or above this share the last bucket. */
#define SWIM_BCAST_BUCKETS 64

/* What swim_bcast_fill's callback did with an offered entry. */
enum swim_bcast_take {
	SWIM_BCAST_TAKEN = 0, /* encoded: counts one transmission */
	SWIM_BCAST_SKIP,      /* did not fit or not wanted now: stays */
	SWIM_BCAST_STOP,      /* the message is full: stop offering */
	SWIM_BCAST_DROP,      /* obsolete (member gone): remove it */
};

/* `quiet`: the entry is a load sample that changed nothing else. */
typedef enum swim_bcast_take swim_bcast_fn(void *ctx, uint64_t id, uint64_t from, bool quiet);

struct swim_bcast_item {
	uint64_t id;
	uint64_t from;
	uint32_t transmits;
	uint8_t quiet;
	uint32_t prev; /* bucket list links; SWIM_IDMAP_NONE ends */
	uint32_t next; /* also the free list */
};

struct swim_bcast {
	struct swim_bcast_item *items;
	uint32_t cap;
	uint32_t count;
	uint32_t loud; /* entries that are not quiet */
	uint32_t free_head;
	struct swim_idmap index;
	uint32_t head[SWIM_BCAST_BUCKETS];
};

/* An empty queue. 0 or -ENOMEM. */
int swim_bcast_init(struct swim_bcast *q, uint64_t seed);
/* Frees it. Accepts a zeroed queue. */
void swim_bcast_fini(struct swim_bcast *q);

/* Queues (or requeues, at zero transmissions and first in line) an update
 * about `id`, quoting accuser `from`. 0 or -ENOMEM. */
int swim_bcast_put(struct swim_bcast *q, uint64_t id, uint64_t from);
/* The same for a quiet update that starts at `spent` transmissions. A queued
 * entry keeps its own count when that is lower, and stays loud if it was.
 * 0 or -ENOMEM. */
int swim_bcast_put_quiet(struct swim_bcast *q, uint64_t id, uint32_t spent);
/* Entries that may start a gossip round. */
uint32_t swim_bcast_loud(const struct swim_bcast *q);
/* Forgets the update about `id`, if any. */
void swim_bcast_del(struct swim_bcast *q, uint64_t id);
/* Transmissions so far of the update about `id`, or -ENOENT. */
int swim_bcast_transmits(const struct swim_bcast *q, uint64_t id);

/*
 * Offers entries to fn in order until it returns SWIM_BCAST_STOP, the queue
 * ends, `max_take` were taken, or 8 were skipped in a row. Each taken entry
 * counts one transmission, and leaves the queue at `limit`. Returns the
 * number taken.
 */
size_t swim_bcast_fill(struct swim_bcast *q, uint32_t limit, size_t max_take, swim_bcast_fn *fn,
		       void *ctx);

#endif
