/*
 * swim_table: the member table of one swim instance. A dense array of
 * struct swim_member (self always at index 0) indexed by id, the randomized
 * round-robin probe order, per-state counts, and the queue of DEAD/LEFT
 * members waiting to be reaped.
 *
 * Memory per member: the struct itself, 8 bytes of id index and 4 bytes of
 * probe order; no per-member heap blocks. Removal swaps the last member into
 * the hole, so pointers and indices are valid only until the next add or
 * remove.
 *
 * The struct is visible so that swim.c can read members and counts directly;
 * change it only through the functions below (they keep the index, counts,
 * probe order and reap queue consistent).
 */
#ifndef SWIM_TABLE_H
#define SWIM_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swim.h"
#include "swim_idmap.h"

#define SWIM_TABLE_NONE UINT32_MAX

/* Uniform 32-bit random numbers (struct swim_ops' random). */
typedef uint32_t swim_table_rand_fn(void *arg);

struct swim_table_gone {
	uint64_t id;
	uint64_t since; /* the member's state_since when it became DEAD/LEFT */
};

struct swim_table {
	struct swim_member *members;
	uint32_t count;
	uint32_t cap;
	uint32_t max; /* members never exceed this */
	struct swim_idmap index;
	uint32_t *order; /* probe order: member indices, self excluded */
	uint32_t norder;
	uint32_t order_cap;
	uint32_t order_pos;
	uint32_t nstate[4];	      /* members per enum swim_state, self included */
	struct swim_table_gone *gone; /* ring, oldest first */
	uint32_t gone_head;
	uint32_t gone_len;
	uint32_t gone_cap;
};

/* Initialises an empty table holding at most `max` members. 0 or -ENOMEM. */
int swim_table_init(struct swim_table *t, uint32_t max, uint64_t seed);
/* Frees its arrays. Accepts a zeroed table. */
void swim_table_fini(struct swim_table *t);

/* The member with `id`, or NULL. */
struct swim_member *swim_table_find(struct swim_table *t, uint64_t id);
const struct swim_member *swim_table_cfind(const struct swim_table *t, uint64_t id);

/*
 * Copies `m` in (its id must be absent) and puts it at a random place in the
 * probe order. Returns the stored member, or NULL on ENOMEM or when the table
 * is full. A DEAD/LEFT member also enters the reap queue.
 */
struct swim_member *swim_table_add(struct swim_table *t, const struct swim_member *m,
				   swim_table_rand_fn *rnd, void *arg);
/* Removes member `id` (never index 0). */
void swim_table_remove(struct swim_table *t, uint64_t id);

/* Sets m's state (counts, state_since, updated = now); entering DEAD or LEFT
 * queues it for reaping. 0 or -ENOMEM (state set, but not queued). */
int swim_table_set_state(struct swim_table *t, struct swim_member *m, enum swim_state st,
			 uint64_t now);

/*
 * Index of the next member to probe (ALIVE or SUSPECT, not self) in the
 * shuffled order, reshuffling when the order runs out, or SWIM_TABLE_NONE
 * when there is none.
 */
uint32_t swim_table_next_probe(struct swim_table *t, swim_table_rand_fn *rnd, void *arg);

/*
 * Id of one member that has been DEAD or LEFT for at least `after` ms at
 * `now` (the caller removes it), or 0. Skips stale queue entries.
 */
uint64_t swim_table_reapable(struct swim_table *t, uint64_t now, uint64_t after);
/* When the oldest DEAD/LEFT member becomes reapable, or UINT64_MAX. */
uint64_t swim_table_next_reap(struct swim_table *t, uint64_t after);

#endif
