/*
 * replay: the per-sender replay windows (include/replay.h).
 *
 * Entries live in one array allocated up front, so committing never allocates
 * and never fails for lack of memory (calloc'd: only the entries in use are
 * ever touched, so only they are resident). A bucket array of 2^k chain heads
 * (2^k >= max_senders / 8, at least 64: chains of 8 at most on average when
 * the table is full, which no real cluster fills, and 32 KB written at start
 * for the default 65536 senders instead of 256 KB) indexes them by a SipHash
 * of the node id with
 * a random key, and a doubly-linked list threaded through the entries keeps
 * them in update order so the least recently updated one is found in O(1).
 * Links are 32-bit indices; REPLAY_NONE ends a list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "replay.h"

#define REPLAY_NONE UINT32_MAX
/* Far above any cluster; keeps index arithmetic in 32 bits. */
#define REPLAY_MAX_SENDERS (1U << 24)
#define REPLAY_MIN_BUCKETS 64U
#define REPLAY_CHAIN	   8U /* senders per bucket when the table is full, on average */

struct replay_entry {
	uint64_t node_id;
	uint64_t incarnation;
	uint64_t highest;
	uint64_t bitmap; /* bit i: highest - 1 - i was accepted */
	uint32_t chain;	 /* next entry in the same bucket */
	uint32_t newer;	 /* update order, towards lru_newest */
	uint32_t older;	 /* update order, towards lru_oldest */
};

struct replay {
	uint8_t key[crypto_shorthash_KEYBYTES];
	uint32_t max;
	uint32_t count;
	uint32_t mask; /* buckets - 1 */
	uint32_t *buckets;
	struct replay_entry *entries;
	uint32_t lru_newest;
	uint32_t lru_oldest;
	uint64_t evictions;
};

_Static_assert(REPLAY_WINDOW == 64, "the bitmap is one uint64_t");

struct replay *
replay_new(uint32_t max_senders)
{
	struct replay *rp;
	uint32_t nb = 1;

	if (max_senders == 0 || max_senders > REPLAY_MAX_SENDERS)
		return NULL;
	while (nb < REPLAY_MIN_BUCKETS || nb < max_senders / REPLAY_CHAIN)
		nb <<= 1;
	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return NULL;
	rp->buckets = malloc((size_t)nb * sizeof(*rp->buckets));
	rp->entries = calloc(max_senders, sizeof(*rp->entries));
	if (rp->buckets == NULL || rp->entries == NULL) {
		replay_free(rp);
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		rp->buckets[i] = REPLAY_NONE;
	randombytes_buf(rp->key, sizeof(rp->key));
	rp->max = max_senders;
	rp->mask = nb - 1;
	rp->lru_newest = rp->lru_oldest = REPLAY_NONE;
	return rp;
}

void
replay_free(struct replay *rp)
{
	if (rp == NULL)
		return;
	free(rp->buckets);
	free(rp->entries);
	free(rp);
}

static uint32_t
replay_bucket(const struct replay *rp, uint64_t node_id)
{
	uint8_t in[8], out[crypto_shorthash_BYTES];
	uint32_t h;

	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(node_id >> (8 * i));
	crypto_shorthash(out, in, sizeof(in), rp->key);
	h = (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
	    (uint32_t)out[3] << 24;
	return h & rp->mask;
}

/* Index of node_id's entry, or REPLAY_NONE. */
static uint32_t
replay_find(const struct replay *rp, uint64_t node_id)
{
	uint32_t i = rp->buckets[replay_bucket(rp, node_id)];

	while (i != REPLAY_NONE && rp->entries[i].node_id != node_id)
		i = rp->entries[i].chain;
	return i;
}

/* The window rules of include/replay.h for a known node. */
static bool
replay_window_fresh(const struct replay_entry *e, uint64_t incarnation, uint64_t seq)
{
	uint64_t behind;

	if (seq == 0 || incarnation < e->incarnation)
		return false;
	if (incarnation > e->incarnation || seq > e->highest)
		return true;
	behind = e->highest - seq;
	if (behind == 0 || behind > REPLAY_WINDOW)
		return false;
	return (e->bitmap & (UINT64_C(1) << (behind - 1))) == 0;
}

/* Applies an accepted (incarnation, seq), which replay_window_fresh() allowed. */
static void
replay_window_update(struct replay_entry *e, uint64_t incarnation, uint64_t seq)
{
	uint64_t ahead;

	if (incarnation > e->incarnation) {
		e->incarnation = incarnation;
		e->highest = seq;
		e->bitmap = 0;
	} else if (seq > e->highest) {
		ahead = seq - e->highest;
		/* The old highest becomes bit ahead-1; a shift by >= 64 is undefined. */
		if (ahead > REPLAY_WINDOW)
			e->bitmap = 0;
		else if (ahead == REPLAY_WINDOW)
			e->bitmap = UINT64_C(1) << (REPLAY_WINDOW - 1);
		else
			e->bitmap = e->bitmap << ahead | UINT64_C(1) << (ahead - 1);
		e->highest = seq;
	} else {
		e->bitmap |= UINT64_C(1) << (e->highest - seq - 1);
	}
}

bool
replay_check(const struct replay *rp, uint64_t node_id, uint64_t incarnation, uint64_t seq)
{
	uint32_t i = replay_find(rp, node_id);

	if (i == REPLAY_NONE)
		return seq != 0;
	return replay_window_fresh(&rp->entries[i], incarnation, seq);
}

static void
replay_lru_unlink(struct replay *rp, uint32_t i)
{
	struct replay_entry *e = &rp->entries[i];

	if (e->newer != REPLAY_NONE)
		rp->entries[e->newer].older = e->older;
	else
		rp->lru_newest = e->older;
	if (e->older != REPLAY_NONE)
		rp->entries[e->older].newer = e->newer;
	else
		rp->lru_oldest = e->newer;
}

static void
replay_lru_push(struct replay *rp, uint32_t i)
{
	struct replay_entry *e = &rp->entries[i];

	e->newer = REPLAY_NONE;
	e->older = rp->lru_newest;
	if (rp->lru_newest != REPLAY_NONE)
		rp->entries[rp->lru_newest].newer = i;
	rp->lru_newest = i;
	if (rp->lru_oldest == REPLAY_NONE)
		rp->lru_oldest = i;
}

/* Removes entry i from its hash chain. */
static void
replay_chain_unlink(struct replay *rp, uint32_t i)
{
	uint32_t *link = &rp->buckets[replay_bucket(rp, rp->entries[i].node_id)];

	while (*link != i)
		link = &rp->entries[*link].chain;
	*link = rp->entries[i].chain;
}

/* A slot for a new node: a never-used one, else the least recently updated. */
static uint32_t
replay_take_slot(struct replay *rp)
{
	uint32_t i;

	if (rp->count < rp->max)
		return rp->count++;
	i = rp->lru_oldest;
	replay_chain_unlink(rp, i);
	replay_lru_unlink(rp, i);
	rp->evictions++;
	return i;
}

int
replay_commit(struct replay *rp, uint64_t node_id, uint64_t incarnation, uint64_t seq)
{
	uint32_t i = replay_find(rp, node_id), b;
	struct replay_entry *e;

	if (i != REPLAY_NONE) {
		if (!replay_window_fresh(&rp->entries[i], incarnation, seq))
			return -EALREADY;
		replay_window_update(&rp->entries[i], incarnation, seq);
		replay_lru_unlink(rp, i);
		replay_lru_push(rp, i);
		return 0;
	}
	if (seq == 0)
		return -EALREADY;
	i = replay_take_slot(rp);
	e = &rp->entries[i];
	e->node_id = node_id;
	e->incarnation = incarnation;
	e->highest = seq;
	e->bitmap = 0;
	b = replay_bucket(rp, node_id);
	e->chain = rp->buckets[b];
	rp->buckets[b] = i;
	replay_lru_push(rp, i);
	return 0;
}

bool
replay_lookup(const struct replay *rp, uint64_t node_id, uint64_t *incarnation, uint64_t *highest)
{
	uint32_t i = replay_find(rp, node_id);

	if (i == REPLAY_NONE)
		return false;
	if (incarnation != NULL)
		*incarnation = rp->entries[i].incarnation;
	if (highest != NULL)
		*highest = rp->entries[i].highest;
	return true;
}

uint32_t
replay_count(const struct replay *rp)
{
	return rp->count;
}

uint64_t
replay_evictions(const struct replay *rp)
{
	return rp->evictions;
}
