/*
 * budget: per-source token buckets (include/budget.h). The source index is
 * the LRU shared with the replay filters (common/lru.c), keyed by the 64-bit
 * SipHash of the address; only that hash is stored, never the address.
 * Tokens are kept in thousandths so a refill of per_sec tokens a second is
 * exact per millisecond.
 */
#include <errno.h>
#include <stdlib.h>

#include <sodium.h>

#include "budget.h"
#include "lru.h"

#define BUDGET_MAX_SOURCES LRU_MAX_CAP
#define BUDGET_MILLI	   1000
#define BUDGET_CHAIN	   1U /* one source per hash bucket, on average, when full */

struct budget_bucket {
	uint64_t milli_tokens;
	uint64_t last_ms;
};

struct budget {
	uint8_t key[crypto_shorthash_KEYBYTES];
	uint64_t per_sec;
	uint64_t cap; /* burst, in thousandths */
	struct lru *index;
	struct budget_bucket *b; /* by slot */
};

struct budget *
budget_new(uint32_t sources, uint32_t per_sec, uint32_t burst)
{
	struct budget *b;

	if (sources == 0 || sources > BUDGET_MAX_SOURCES)
		return NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->index = lru_new(sources, BUDGET_CHAIN);
	b->b = calloc(sources, sizeof(*b->b));
	if (b->index == NULL || b->b == NULL) {
		budget_free(b);
		return NULL;
	}
	randombytes_buf(b->key, sizeof(b->key));
	b->per_sec = per_sec;
	b->cap = (uint64_t)burst * BUDGET_MILLI;
	return b;
}

void
budget_free(struct budget *b)
{
	if (b == NULL)
		return;
	lru_free(b->index);
	free(b->b);
	free(b);
}

static uint64_t
budget_hash(const struct budget *b, const void *src, size_t srclen)
{
	static const uint8_t none;
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h = 0;

	crypto_shorthash(out, src != NULL ? src : &none, src != NULL ? srclen : 0, b->key);
	for (int i = 0; i < 8; i++)
		h |= (uint64_t)out[i] << (8 * i);
	return h;
}

/* The bucket of `hash`, made full when it is new (or took a stale one's slot). */
static struct budget_bucket *
budget_bucket_get(struct budget *b, uint64_t hash, uint64_t now_ms)
{
	uint32_t i = lru_find(b->index, hash);

	if (i != LRU_NONE) {
		lru_touch(b->index, i);
		return &b->b[i];
	}
	i = lru_insert(b->index, hash, NULL);
	b->b[i].milli_tokens = b->cap;
	b->b[i].last_ms = now_ms;
	return &b->b[i];
}

/* Adds the tokens earned since the bucket was last used. */
static void
budget_refill(const struct budget *b, struct budget_bucket *e, uint64_t now_ms)
{
	uint64_t elapsed;

	if (now_ms <= e->last_ms)
		return; /* a clock that went back earns nothing */
	elapsed = now_ms - e->last_ms;
	e->last_ms = now_ms;
	/* Past the time to fill the bucket from empty, it is full; this also
	 * keeps elapsed * per_sec from overflowing. */
	if (b->per_sec == 0)
		return;
	if (elapsed > b->cap / b->per_sec) {
		e->milli_tokens = b->cap;
		return;
	}
	e->milli_tokens += elapsed * b->per_sec;
	if (e->milli_tokens > b->cap)
		e->milli_tokens = b->cap;
}

int
budget_take(struct budget *b, const void *src, size_t srclen, uint64_t now_ms)
{
	struct budget_bucket *e = budget_bucket_get(b, budget_hash(b, src, srclen), now_ms);

	budget_refill(b, e, now_ms);
	if (e->milli_tokens < BUDGET_MILLI)
		return -EAGAIN;
	e->milli_tokens -= BUDGET_MILLI;
	return 0;
}

uint32_t
budget_count(const struct budget *b)
{
	return lru_count(b->index);
}

uint64_t
budget_reuses(const struct budget *b)
{
	return lru_evictions(b->index);
}
