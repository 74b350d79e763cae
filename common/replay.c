/*
 * replay: the per-sender replay filters (include/replay.h). Each slot of the
 * shared LRU index (common/lru.c) has the sender's REPLAY_RECENT highest
 * accepted stamps, kept sorted ascending, so the lowest is stamps[0] once
 * the slot is full.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"
#include "replay.h"

/* Senders per hash bucket, on average, before the buckets double (lru.h):
 * 256 bytes of buckets for up to 512 senders, 32 KB for the default 65536. */
#define REPLAY_CHAIN 8U

struct replay_filter {
	uint64_t stamps[REPLAY_RECENT]; /* ascending; the first n are used */
	uint32_t n;
};

struct replay {
	struct lru *index;
	struct replay_filter *f; /* by slot */
};

struct replay *
replay_new(uint32_t max_senders)
{
	struct replay *rp;

	if (max_senders == 0 || max_senders > LRU_MAX_CAP)
		return NULL;
	if ((rp = calloc(1, sizeof(*rp))) == NULL)
		return NULL;
	rp->index = lru_new(max_senders, REPLAY_CHAIN);
	rp->f = calloc(max_senders, sizeof(*rp->f));
	if (rp->index == NULL || rp->f == NULL) {
		replay_free(rp);
		return NULL;
	}
	return rp;
}

void
replay_free(struct replay *rp)
{
	if (rp == NULL)
		return;
	lru_free(rp->index);
	free(rp->f);
	free(rp);
}

/* The rules of include/replay.h for a known sender. */
static bool
replay_fresh(const struct replay_filter *f, uint64_t stamp)
{
	if (stamp == 0 || (f->n == REPLAY_RECENT && stamp <= f->stamps[0]))
		return false;
	for (uint32_t i = 0; i < f->n; i++)
		if (f->stamps[i] == stamp)
			return false;
	return true;
}

/* Inserts a fresh stamp in order, dropping the lowest when full. */
static void
replay_add(struct replay_filter *f, uint64_t stamp)
{
	uint32_t i;

	if (f->n == REPLAY_RECENT) {
		memmove(f->stamps, f->stamps + 1, (REPLAY_RECENT - 1) * sizeof(f->stamps[0]));
		f->n--;
	}
	for (i = f->n; i > 0 && f->stamps[i - 1] > stamp; i--)
		f->stamps[i] = f->stamps[i - 1];
	f->stamps[i] = stamp;
	f->n++;
}

bool
replay_check(const struct replay *rp, uint64_t node_id, uint64_t stamp)
{
	uint32_t i = lru_find(rp->index, node_id);

	if (i == LRU_NONE)
		return stamp != 0;
	return replay_fresh(&rp->f[i], stamp);
}

int
replay_commit(struct replay *rp, uint64_t node_id, uint64_t stamp)
{
	uint32_t i = lru_find(rp->index, node_id);

	if (i == LRU_NONE) {
		if (stamp == 0)
			return -EALREADY;
		i = lru_insert(rp->index, node_id, NULL);
		rp->f[i].n = 0;
	} else if (!replay_fresh(&rp->f[i], stamp)) {
		return -EALREADY;
	} else {
		lru_touch(rp->index, i);
	}
	replay_add(&rp->f[i], stamp);
	return 0;
}

bool
replay_lookup(const struct replay *rp, uint64_t node_id, uint64_t *highest)
{
	uint32_t i = lru_find(rp->index, node_id);

	if (i == LRU_NONE)
		return false;
	if (highest != NULL)
		*highest = rp->f[i].stamps[rp->f[i].n - 1];
	return true;
}

uint32_t
replay_count(const struct replay *rp)
{
	return lru_count(rp->index);
}

uint64_t
replay_evictions(const struct replay *rp)
{
	return lru_evictions(rp->index);
}
