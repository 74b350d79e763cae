/*
 * lru: keyed slots with least-recently-used eviction (include/lru.h).
 * Links are 32-bit slot numbers; LRU_NONE ends a list.
 */
#include <stdlib.h>

#include <sodium.h>

#include "lru.h"

#define LRU_MIN_BUCKETS 64U

struct lru_entry {
	uint64_t key;
	uint32_t chain; /* next slot in the same bucket */
	uint32_t newer; /* use order, towards newest */
	uint32_t older; /* use order, towards oldest */
};

struct lru {
	uint8_t sipkey[crypto_shorthash_KEYBYTES];
	uint32_t cap;
	uint32_t count;
	uint32_t chain;	   /* keys per bucket, on average, before the buckets double */
	uint32_t max_mask; /* the bucket count for `cap` keys, - 1 */
	uint32_t mask;	   /* buckets - 1 */
	uint32_t *buckets; /* each its chain's first slot, complemented (lru_head) */
	struct lru_entry *e;
	uint32_t newest;
	uint32_t oldest;
	uint64_t evictions;
};

struct lru *
lru_new(uint32_t cap, uint32_t chain)
{
	struct lru *l;
	uint32_t nb = 1;

	if (cap == 0 || cap > LRU_MAX_CAP || chain == 0)
		return NULL;
	while (nb < LRU_MIN_BUCKETS || nb < cap / chain)
		nb <<= 1;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->buckets = calloc(LRU_MIN_BUCKETS, sizeof(*l->buckets));
	l->e = calloc(cap, sizeof(*l->e));
	if (l->buckets == NULL || l->e == NULL) {
		lru_free(l);
		return NULL;
	}
	randombytes_buf(l->sipkey, sizeof(l->sipkey));
	l->cap = cap;
	l->chain = chain;
	l->max_mask = nb - 1;
	l->mask = LRU_MIN_BUCKETS - 1;
	l->newest = l->oldest = LRU_NONE;
	return l;
}

void
lru_free(struct lru *l)
{
	if (l == NULL)
		return;
	free(l->buckets);
	free(l->e);
	free(l);
}

static uint32_t
lru_bucket(const struct lru *l, uint64_t key)
{
	uint8_t in[8], out[crypto_shorthash_BYTES];

	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(key >> (8 * i));
	crypto_shorthash(out, in, sizeof(in), l->sipkey);
	return ((uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
		(uint32_t)out[3] << 24) &
	       l->mask;
}

/* A bucket holds its first slot complemented, so that 0 is LRU_NONE: the
 * buckets are calloc'ed, never written to make them empty. */
static uint32_t
lru_head(const struct lru *l, uint32_t b)
{
	return ~l->buckets[b];
}

static void
lru_set_head(struct lru *l, uint32_t b, uint32_t slot)
{
	l->buckets[b] = ~slot;
}

uint32_t
lru_find(const struct lru *l, uint64_t key)
{
	uint32_t i = lru_head(l, lru_bucket(l, key));

	while (i != LRU_NONE && l->e[i].key != key)
		i = l->e[i].chain;
	return i;
}

static void
lru_unlink(struct lru *l, uint32_t i)
{
	struct lru_entry *e = &l->e[i];

	if (e->newer != LRU_NONE)
		l->e[e->newer].older = e->older;
	else
		l->newest = e->older;
	if (e->older != LRU_NONE)
		l->e[e->older].newer = e->newer;
	else
		l->oldest = e->newer;
}

static void
lru_push(struct lru *l, uint32_t i)
{
	struct lru_entry *e = &l->e[i];

	e->newer = LRU_NONE;
	e->older = l->newest;
	if (l->newest != LRU_NONE)
		l->e[l->newest].newer = i;
	l->newest = i;
	if (l->oldest == LRU_NONE)
		l->oldest = i;
}

void
lru_touch(struct lru *l, uint32_t slot)
{
	if (l->newest == slot)
		return;
	lru_unlink(l, slot);
	lru_push(l, slot);
}

/* Removes slot i from its hash chain. */
static void
lru_chain_unlink(struct lru *l, uint32_t i)
{
	uint32_t b = lru_bucket(l, l->e[i].key), j = lru_head(l, b);

	if (j == i) {
		lru_set_head(l, b, l->e[i].chain);
		return;
	}
	while (l->e[j].chain != i)
		j = l->e[j].chain;
	l->e[j].chain = l->e[i].chain;
}

/* Doubles the buckets and moves every key held to its new chain when `keys`
 * would average more than `chain` a bucket, up to the count for `cap` keys.
 * When the allocation fails the chains just grow longer: lookups slow down,
 * nothing is lost, inserting still never fails. */
static void
lru_grow(struct lru *l, uint32_t keys)
{
	uint32_t nb = (l->mask + 1) * 2, *nbk, b;

	if (l->mask == l->max_mask || keys <= (uint64_t)(l->mask + 1) * l->chain)
		return;
	if ((nbk = calloc(nb, sizeof(*nbk))) == NULL)
		return;
	free(l->buckets);
	l->buckets = nbk;
	l->mask = nb - 1;
	for (uint32_t i = 0; i < l->count; i++) {
		b = lru_bucket(l, l->e[i].key);
		l->e[i].chain = lru_head(l, b);
		lru_set_head(l, b, i);
	}
}

uint32_t
lru_insert(struct lru *l, uint64_t key, bool *evicted)
{
	uint32_t i, b;

	if (evicted != NULL)
		*evicted = l->count == l->cap;
	if (l->count < l->cap) {
		lru_grow(l, l->count + 1);
		i = l->count++;
	} else {
		i = l->oldest;
		lru_chain_unlink(l, i);
		lru_unlink(l, i);
		l->evictions++;
	}
	b = lru_bucket(l, key);
	l->e[i].key = key;
	l->e[i].chain = lru_head(l, b);
	lru_set_head(l, b, i);
	lru_push(l, i);
	return i;
}

uint32_t
lru_count(const struct lru *l)
{
	return l->count;
}

uint64_t
lru_evictions(const struct lru *l)
{
	return l->evictions;
}

uint32_t
lru_buckets(const struct lru *l)
{
	return l->mask + 1;
}
