/*
 * swim_idmap: an open-addressing hash index from a 64-bit member id to a
 * 32-bit slot in some dense array, shared by the membership modules
 * (swim_table, swim_bcast, swim_suspicion).
 *
 * The index stores only the slot numbers (4 bytes each, at most half full),
 * never the ids: an id is read back from the owner's array through a key
 * callback. That keeps the member table of a 10,000-node cluster at about
 * 8 bytes of index per member, which matters when a simulator holds ten
 * thousand such tables in one process. Linear probing with backward-shift
 * deletion, so there are no tombstones; ids are mixed with a per-map seed.
 */
#ifndef SWIM_IDMAP_H
#define SWIM_IDMAP_H

#include <stdint.h>

#define SWIM_IDMAP_NONE UINT32_MAX

/* Returns the id stored at slot `v` of the owner's array. */
typedef uint64_t swim_idmap_key_fn(const void *ctx, uint32_t v);

struct swim_idmap {
	uint32_t *slots; /* v + 1, 0 = empty */
	uint32_t mask;	 /* capacity - 1; capacity is a power of two */
	uint32_t count;
	uint64_t seed;
	swim_idmap_key_fn *key;
};

/* An empty map for about `hint` ids. Returns 0 or -ENOMEM. */
int swim_idmap_init(struct swim_idmap *m, uint32_t hint, uint64_t seed, swim_idmap_key_fn *key);
/* Frees the slots. Accepts a zeroed map. */
void swim_idmap_fini(struct swim_idmap *m);

/* The slot of `id`, or SWIM_IDMAP_NONE. `ctx` is the owner's array. */
uint32_t swim_idmap_get(const struct swim_idmap *m, const void *ctx, uint64_t id);
/* Adds `id` (which must be absent and readable as key(ctx, v)) at slot v.
 * Returns 0 or -ENOMEM (the map is unchanged then). */
int swim_idmap_put(struct swim_idmap *m, const void *ctx, uint64_t id, uint32_t v);
/* Points the present `id` at slot v (after the owner moved it). */
void swim_idmap_move(struct swim_idmap *m, const void *ctx, uint64_t id, uint32_t v);
/* Removes `id` if present; key(ctx, ...) must still read every stored slot. */
void swim_idmap_del(struct swim_idmap *m, const void *ctx, uint64_t id);

#endif
