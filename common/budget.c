/*
 * budget: per-source token buckets (include/budget.h).
 *
 * The layout follows common/replay.c: entries in one array allocated up
 * front, a power-of-two bucket array of chain heads indexed by the keyed hash,
 * and a use-ordered doubly-linked list for finding the stalest entry in O(1).
 * Only the 64-bit hash of an address is stored, never the address. Tokens are
 * kept in thousandths so a refill of per_sec tokens a second is exact per
 * millisecond.
 */
#include <errno.h>
#include <stdlib.h>

#include <sodium.h>

#include "budget.h"

#define BUDGET_NONE	   UINT32_MAX
#define BUDGET_MAX_SOURCES (1U << 24)
#define BUDGET_MILLI	   1000

struct budget_entry {
	uint64_t hash;
	uint64_t milli_tokens;
	uint64_t last_ms;
	uint32_t chain;
	uint32_t newer;
	uint32_t older;
};

struct budget {
	uint8_t key[crypto_shorthash_KEYBYTES];
	uint64_t per_sec;
	uint64_t cap; /* burst, in thousandths */
	uint32_t max;
	uint32_t count;
	uint32_t mask;
	uint32_t *buckets;
	struct budget_entry *entries;
	uint32_t newest;
	uint32_t oldest;
	uint64_t reuses;
};

struct budget *
budget_new(uint32_t sources, uint32_t per_sec, uint32_t burst)
{
	struct budget *b;
	uint32_t nb = 1;

	if (sources == 0 || sources > BUDGET_MAX_SOURCES)
		return NULL;
	while (nb < sources)
		nb <<= 1;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->buckets = malloc((size_t)nb * sizeof(*b->buckets));
	b->entries = calloc(sources, sizeof(*b->entries));
	if (b->buckets == NULL || b->entries == NULL) {
		budget_free(b);
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		b->buckets[i] = BUDGET_NONE;
	randombytes_buf(b->key, sizeof(b->key));
	b->per_sec = per_sec;
	b->cap = (uint64_t)burst * BUDGET_MILLI;
	b->max = sources;
	b->mask = nb - 1;
	b->newest = b->oldest = BUDGET_NONE;
	return b;
}

void
budget_free(struct budget *b)
{
	if (b == NULL)
		return;
	free(b->buckets);
	free(b->entries);
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

static void
budget_unlink(struct budget *b, uint32_t i)
{
	struct budget_entry *e = &b->entries[i];

	if (e->newer != BUDGET_NONE)
		b->entries[e->newer].older = e->older;
	else
		b->newest = e->older;
	if (e->older != BUDGET_NONE)
		b->entries[e->older].newer = e->newer;
	else
		b->oldest = e->newer;
}

static void
budget_push(struct budget *b, uint32_t i)
{
	struct budget_entry *e = &b->entries[i];

	e->newer = BUDGET_NONE;
	e->older = b->newest;
	if (b->newest != BUDGET_NONE)
		b->entries[b->newest].newer = i;
	b->newest = i;
	if (b->oldest == BUDGET_NONE)
		b->oldest = i;
}

/* Entry i leaves its hash chain (to be reused for another source). */
static void
budget_chain_unlink(struct budget *b, uint32_t i)
{
	uint32_t *link = &b->buckets[b->entries[i].hash & b->mask];

	while (*link != i)
		link = &b->entries[*link].chain;
	*link = b->entries[i].chain;
}

/* The entry of `hash`, created with a full bucket when missing. */
static uint32_t
budget_entry_get(struct budget *b, uint64_t hash, uint64_t now_ms)
{
	uint32_t *head = &b->buckets[hash & b->mask], i = *head;
	struct budget_entry *e;

	while (i != BUDGET_NONE && b->entries[i].hash != hash)
		i = b->entries[i].chain;
	if (i != BUDGET_NONE)
		return i;
	if (b->count < b->max) {
		i = b->count++;
	} else {
		i = b->oldest;
		budget_chain_unlink(b, i);
		budget_unlink(b, i);
		b->reuses++;
	}
	e = &b->entries[i];
	e->hash = hash;
	e->milli_tokens = b->cap;
	e->last_ms = now_ms;
	e->chain = *head;
	*head = i;
	budget_push(b, i);
	return i;
}

/* Adds the tokens earned since the entry was last used. */
static void
budget_refill(const struct budget *b, struct budget_entry *e, uint64_t now_ms)
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
	uint32_t i = budget_entry_get(b, budget_hash(b, src, srclen), now_ms);
	struct budget_entry *e = &b->entries[i];

	budget_refill(b, e, now_ms);
	if (b->newest != i) {
		budget_unlink(b, i);
		budget_push(b, i);
	}
	if (e->milli_tokens < BUDGET_MILLI)
		return -EAGAIN;
	e->milli_tokens -= BUDGET_MILLI;
	return 0;
}

uint32_t
budget_count(const struct budget *b)
{
	return b->count;
}

uint64_t
budget_reuses(const struct budget *b)
{
	return b->reuses;
}
