/*
 * swim_idmap: linear-probing index from member id to a dense-array slot
 * (include/swim_idmap.h). The table doubles when it would pass half full;
 * deletion shifts the following run back so lookups never meet a tombstone.
 */
#include <errno.h>
#include <stdlib.h>

#include "swim_idmap.h"

#define SWIM_IDMAP_MIN 16U
#define SWIM_IDMAP_MAX (1U << 31)

/* splitmix64's finalizer: every id bit reaches every slot bit. */
static uint32_t
swim_idmap_home(const struct swim_idmap *m, uint64_t id)
{
	uint64_t z = id ^ m->seed;

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	z ^= z >> 31;
	return (uint32_t)z & m->mask;
}

static int
swim_idmap_alloc(struct swim_idmap *m, uint32_t cap)
{
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -ENOMEM;
	m->slots = slots;
	m->mask = cap - 1;
	return 0;
}

int
swim_idmap_init(struct swim_idmap *m, uint32_t hint, uint64_t seed, swim_idmap_key_fn *key)
{
	uint32_t cap = SWIM_IDMAP_MIN;

	while (cap < SWIM_IDMAP_MAX && cap / 2 < hint)
		cap <<= 1;
	m->count = 0;
	m->seed = seed;
	m->key = key;
	return swim_idmap_alloc(m, cap);
}

void
swim_idmap_fini(struct swim_idmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->count = 0;
}

/* The slot index in m->slots holding `id`, or SWIM_IDMAP_NONE. */
static uint32_t
swim_idmap_find(const struct swim_idmap *m, const void *ctx, uint64_t id)
{
	uint32_t i = swim_idmap_home(m, id);

	while (m->slots[i] != 0) {
		if (m->key(ctx, m->slots[i] - 1) == id)
			return i;
		i = (i + 1) & m->mask;
	}
	return SWIM_IDMAP_NONE;
}

uint32_t
swim_idmap_get(const struct swim_idmap *m, const void *ctx, uint64_t id)
{
	uint32_t i = swim_idmap_find(m, ctx, id);

	return i == SWIM_IDMAP_NONE ? SWIM_IDMAP_NONE : m->slots[i] - 1;
}

static void
swim_idmap_insert(struct swim_idmap *m, uint64_t id, uint32_t v)
{
	uint32_t i = swim_idmap_home(m, id);

	while (m->slots[i] != 0)
		i = (i + 1) & m->mask;
	m->slots[i] = v + 1;
}

static int
swim_idmap_grow(struct swim_idmap *m, const void *ctx)
{
	uint32_t *old = m->slots, oldcap = m->mask + 1;

	if (oldcap >= SWIM_IDMAP_MAX)
		return -ENOMEM;
	if (swim_idmap_alloc(m, oldcap * 2) != 0) {
		m->slots = old;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < oldcap; i++)
		if (old[i] != 0)
			swim_idmap_insert(m, m->key(ctx, old[i] - 1), old[i] - 1);
	free(old);
	return 0;
}

int
swim_idmap_put(struct swim_idmap *m, const void *ctx, uint64_t id, uint32_t v)
{
	if (v >= SWIM_IDMAP_MAX)
		return -ENOMEM;
	if ((m->count + 1) > (m->mask + 1) / 2 && swim_idmap_grow(m, ctx) != 0)
		return -ENOMEM;
	swim_idmap_insert(m, id, v);
	m->count++;
	return 0;
}

void
swim_idmap_move(struct swim_idmap *m, const void *ctx, uint64_t id, uint32_t v)
{
	uint32_t i = swim_idmap_find(m, ctx, id);

	if (i != SWIM_IDMAP_NONE)
		m->slots[i] = v + 1;
}

void
swim_idmap_del(struct swim_idmap *m, const void *ctx, uint64_t id)
{
	uint32_t i = swim_idmap_find(m, ctx, id), j, home;

	if (i == SWIM_IDMAP_NONE)
		return;
	m->slots[i] = 0;
	m->count--;
	/* Backward shift: move up every later entry of the run whose home is
	 * not cyclically within (i, j], so no lookup stops at the new hole. */
	for (j = (i + 1) & m->mask; m->slots[j] != 0; j = (j + 1) & m->mask) {
		home = swim_idmap_home(m, m->key(ctx, m->slots[j] - 1));
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->slots[i] = m->slots[j];
			m->slots[j] = 0;
			i = j;
		}
	}
}
