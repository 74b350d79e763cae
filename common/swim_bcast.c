/*
 * swim_bcast: the update queue (include/swim_bcast.h). Entries live in one
 * growing array with a free list; a doubly-linked list per transmission
 * count (bucket) gives "least transmitted first" without sorting, and
 * pushing at a bucket's head gives "newest first" among equals.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "swim_bcast.h"

#define SWIM_BCAST_NONE	     SWIM_IDMAP_NONE
#define SWIM_BCAST_MAX_SKIPS 8
#define SWIM_BCAST_MAX_TAKE  256

static uint64_t
swim_bcast_key(const void *ctx, uint32_t v)
{
	const struct swim_bcast_item *items = ctx;

	return items[v].id;
}

int
swim_bcast_init(struct swim_bcast *q, uint64_t seed)
{
	memset(q, 0, sizeof(*q));
	q->free_head = SWIM_BCAST_NONE;
	for (int b = 0; b < SWIM_BCAST_BUCKETS; b++)
		q->head[b] = SWIM_BCAST_NONE;
	return swim_idmap_init(&q->index, 16, seed, swim_bcast_key);
}

void
swim_bcast_fini(struct swim_bcast *q)
{
	swim_idmap_fini(&q->index);
	free(q->items);
	memset(q, 0, sizeof(*q));
}

static uint32_t
swim_bcast_bucket(uint32_t transmits)
{
	return transmits < SWIM_BCAST_BUCKETS ? transmits : SWIM_BCAST_BUCKETS - 1;
}

static void
swim_bcast_unlink(struct swim_bcast *q, uint32_t i)
{
	struct swim_bcast_item *it = &q->items[i];

	if (it->prev != SWIM_BCAST_NONE)
		q->items[it->prev].next = it->next;
	else
		q->head[swim_bcast_bucket(it->transmits)] = it->next;
	if (it->next != SWIM_BCAST_NONE)
		q->items[it->next].prev = it->prev;
}

static void
swim_bcast_push(struct swim_bcast *q, uint32_t i)
{
	struct swim_bcast_item *it = &q->items[i];
	uint32_t b = swim_bcast_bucket(it->transmits);

	it->prev = SWIM_BCAST_NONE;
	it->next = q->head[b];
	if (it->next != SWIM_BCAST_NONE)
		q->items[it->next].prev = i;
	q->head[b] = i;
}

static int
swim_bcast_alloc(struct swim_bcast *q, uint32_t *out)
{
	struct swim_bcast_item *p;
	uint32_t cap;

	if (q->free_head == SWIM_BCAST_NONE) {
		cap = q->cap + q->cap / 2 + 16;
		if ((p = realloc(q->items, (size_t)cap * sizeof(*p))) == NULL)
			return -ENOMEM;
		q->items = p;
		for (uint32_t i = cap; i > q->cap; i--) {
			q->items[i - 1].next = q->free_head;
			q->free_head = i - 1;
		}
		q->cap = cap;
	}
	*out = q->free_head;
	q->free_head = q->items[*out].next;
	return 0;
}

/* Finds or adds the entry about `id`, unlinked from its bucket. */
static int
swim_bcast_take_slot(struct swim_bcast *q, uint64_t id, uint32_t *out, bool *fresh)
{
	uint32_t i = swim_idmap_get(&q->index, q->items, id);

	*fresh = i == SWIM_BCAST_NONE;
	if (!*fresh) {
		swim_bcast_unlink(q, i);
		*out = i;
		return 0;
	}
	if (swim_bcast_alloc(q, &i) != 0)
		return -ENOMEM;
	q->items[i].id = id;
	if (swim_idmap_put(&q->index, q->items, id, i) != 0) {
		q->items[i].next = q->free_head;
		q->free_head = i;
		return -ENOMEM;
	}
	q->count++;
	*out = i;
	return 0;
}

int
swim_bcast_put(struct swim_bcast *q, uint64_t id, uint64_t from)
{
	uint32_t i;
	bool fresh;

	if (swim_bcast_take_slot(q, id, &i, &fresh) != 0)
		return -ENOMEM;
	if (fresh || q->items[i].quiet)
		q->loud++;
	q->items[i].quiet = 0;
	q->items[i].from = from;
	q->items[i].transmits = 0;
	swim_bcast_push(q, i);
	return 0;
}

int
swim_bcast_put_quiet(struct swim_bcast *q, uint64_t id, uint32_t spent)
{
	uint32_t i;
	bool fresh;

	if (swim_bcast_take_slot(q, id, &i, &fresh) != 0)
		return -ENOMEM;
	if (fresh) {
		q->items[i].quiet = 1;
		q->items[i].from = 0;
		q->items[i].transmits = spent;
	} else if (q->items[i].transmits > spent) {
		q->items[i].transmits = spent;
	}
	swim_bcast_push(q, i);
	return 0;
}

uint32_t
swim_bcast_loud(const struct swim_bcast *q)
{
	return q->loud;
}

static void
swim_bcast_remove(struct swim_bcast *q, uint32_t i)
{
	if (!q->items[i].quiet)
		q->loud--;
	swim_bcast_unlink(q, i);
	swim_idmap_del(&q->index, q->items, q->items[i].id);
	q->items[i].next = q->free_head;
	q->free_head = i;
	q->count--;
}

void
swim_bcast_del(struct swim_bcast *q, uint64_t id)
{
	uint32_t i = swim_idmap_get(&q->index, q->items, id);

	if (i != SWIM_BCAST_NONE)
		swim_bcast_remove(q, i);
}

int
swim_bcast_transmits(const struct swim_bcast *q, uint64_t id)
{
	uint32_t i = swim_idmap_get(&q->index, q->items, id);

	return i == SWIM_BCAST_NONE ? -ENOENT : (int)q->items[i].transmits;
}

/* Offers entries in order, collecting the taken ones in taken[]. */
static size_t
swim_bcast_offer(struct swim_bcast *q, size_t max_take, swim_bcast_fn *fn, void *ctx,
		 uint32_t *taken)
{
	size_t n = 0, skips = 0;
	uint32_t i, next;

	for (int b = 0; b < SWIM_BCAST_BUCKETS; b++) {
		for (i = q->head[b]; i != SWIM_BCAST_NONE; i = next) {
			next = q->items[i].next;
			switch (fn(ctx, q->items[i].id, q->items[i].from, q->items[i].quiet != 0)) {
			case SWIM_BCAST_TAKEN:
				taken[n++] = i;
				skips = 0;
				if (n == max_take)
					return n;
				break;
			case SWIM_BCAST_SKIP:
				if (++skips == SWIM_BCAST_MAX_SKIPS)
					return n;
				break;
			case SWIM_BCAST_DROP:
				swim_bcast_remove(q, i);
				break;
			default:
				return n;
			}
		}
	}
	return n;
}

size_t
swim_bcast_fill(struct swim_bcast *q, uint32_t limit, size_t max_take, swim_bcast_fn *fn, void *ctx)
{
	uint32_t taken[SWIM_BCAST_MAX_TAKE];
	size_t n;

	if (max_take > SWIM_BCAST_MAX_TAKE)
		max_take = SWIM_BCAST_MAX_TAKE;
	if (max_take == 0)
		return 0;
	/* Moving an entry while walking would offer it twice; count after. */
	n = swim_bcast_offer(q, max_take, fn, ctx, taken);
	for (size_t k = 0; k < n; k++) {
		uint32_t i = taken[k];

		swim_bcast_unlink(q, i);
		q->items[i].transmits++;
		if (q->items[i].transmits >= limit) {
			if (!q->items[i].quiet)
				q->loud--;
			swim_idmap_del(&q->index, q->items, q->items[i].id);
			q->items[i].next = q->free_head;
			q->free_head = i;
			q->count--;
		} else {
			swim_bcast_push(q, i);
		}
	}
	return n;
}
