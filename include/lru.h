/*
 * lru: a fixed-capacity index of 64-bit keys with least-recently-used
 * eviction, shared by the replay windows (common/replay.c, keyed by node id)
 * and the token buckets (common/budget.c, keyed by a hash of an address).
 *
 * It hands out slot numbers 0..cap-1; the caller keeps its per-key data in
 * an array of its own indexed by slot. Lookups are O(1) expected (a chained
 * hash whose bucket is a SipHash-2-4 of the key under a random key drawn at
 * creation, so nobody can aim collisions); eviction is O(1) (a list in use
 * order). The entry array is allocated by lru_new() and calloc'ed, so only
 * the slots in use become resident. The buckets start at 64 and double as
 * keys arrive, up to about cap / chain, so that they take memory in
 * proportion to the keys held, not to cap: inserting may allocate, and never
 * fails (when the buckets cannot double, their chains grow longer).
 */
#ifndef LRU_H
#define LRU_H

#include <stdbool.h>
#include <stdint.h>

#define LRU_NONE    UINT32_MAX
#define LRU_MAX_CAP (1U << 24) /* keeps index arithmetic in 32 bits */

struct lru;

/* An index for `cap` keys (1..LRU_MAX_CAP) whose buckets (a power of two,
 * at least 64) double while the keys average more than `chain` a bucket, up
 * to about cap / chain. NULL on ENOMEM or EINVAL. */
struct lru *lru_new(uint32_t cap, uint32_t chain);
void lru_free(struct lru *l);

/* The slot of `key`, or LRU_NONE. Changes nothing. */
uint32_t lru_find(const struct lru *l, uint64_t key);

/*
 * A slot for `key`, which must be absent: a never-used slot while there is
 * one, else the least recently used one, whose old key is dropped
 * (*evicted, may be NULL, says so; the caller resets its data). The slot
 * becomes the most recently used.
 */
uint32_t lru_insert(struct lru *l, uint64_t key, bool *evicted);

/* Makes `slot` the most recently used. */
void lru_touch(struct lru *l, uint32_t slot);

/* Keys held, keys evicted so far, and hash buckets now. */
uint32_t lru_count(const struct lru *l);
uint64_t lru_evictions(const struct lru *l);
uint32_t lru_buckets(const struct lru *l);

#endif
