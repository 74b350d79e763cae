/*
 * swim_claims: the application claim table (common/swim_claims.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "swim_claims.h"

void
swim_claims_init(struct swim_claims *t)
{
	memset(t, 0, sizeof(*t));
}

void
swim_claims_fini(struct swim_claims *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static struct swim_claim_kind *
swim_claims_kind_rw(struct swim_claims *t, uint8_t kind)
{
	for (uint32_t i = 0; i < t->nkinds; i++)
		if (t->kinds[i].kind == kind)
			return &t->kinds[i];
	return NULL;
}

const struct swim_claim_kind *
swim_claims_kind(const struct swim_claims *t, uint8_t kind)
{
	return swim_claims_kind_rw((struct swim_claims *)(uintptr_t)t, kind);
}

int
swim_claims_register(struct swim_claims *t, uint8_t kind, uint32_t max, bool pushpull)
{
	uint32_t total = max;

	if (kind == 0 || max == 0)
		return -EINVAL;
	if (swim_claims_kind(t, kind) != NULL)
		return -EEXIST;
	if (t->nkinds == SWIM_CLAIM_KINDS_MAX)
		return -ENOSPC;
	for (uint32_t i = 0; i < t->nkinds; i++)
		total += t->kinds[i].max;
	if (total > SWIM_CLAIMS_MAX)
		return -EINVAL;
	t->kinds[t->nkinds++] = (struct swim_claim_kind){ kind, pushpull, max, 0 };
	return 0;
}

uint32_t
swim_claims_find(const struct swim_claims *t, uint8_t kind, uint64_t subject)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->v[i].used && t->v[i].c.kind == kind && t->v[i].c.subject == subject)
			return i;
	return SWIM_CLAIM_NONE;
}

/* A slot for a new claim of kind k: a free one, a new one, or (the kind
 * full) the least recently updated of the kind. */
static uint32_t
swim_claims_slot(struct swim_claims *t, struct swim_claim_kind *k)
{
	uint32_t i, oldest = SWIM_CLAIM_NONE;
	void *p;

	if (k->count == k->max) {
		for (i = 0; i < t->n; i++)
			if (t->v[i].used && t->v[i].c.kind == k->kind &&
			    (oldest == SWIM_CLAIM_NONE || t->v[i].updated < t->v[oldest].updated))
				oldest = i;
		return oldest;
	}
	for (i = 0; i < t->n; i++)
		if (!t->v[i].used)
			break;
	if (i == t->cap) {
		uint32_t cap = t->cap + t->cap / 2 + 8;

		if ((p = realloc(t->v, (size_t)cap * sizeof(*t->v))) == NULL)
			return SWIM_CLAIM_NONE;
		t->v = p;
		t->cap = cap;
	}
	if (i == t->n)
		t->n++;
	k->count++;
	return i;
}

uint32_t
swim_claims_put(struct swim_claims *t, const struct swim_claim *c, const uint8_t sig[64],
		uint64_t now)
{
	struct swim_claim_kind *k = swim_claims_kind_rw(t, c->kind);
	uint32_t i;

	if (k == NULL)
		return SWIM_CLAIM_NONE;
	i = swim_claims_find(t, c->kind, c->subject);
	if (i == SWIM_CLAIM_NONE && (i = swim_claims_slot(t, k)) == SWIM_CLAIM_NONE)
		return SWIM_CLAIM_NONE;
	t->v[i].c = *c;
	memcpy(t->v[i].sig, sig, sizeof(t->v[i].sig));
	t->v[i].updated = now;
	t->v[i].used = true;
	return i;
}

const struct swim_claim_entry *
swim_claims_at(const struct swim_claims *t, uint32_t slot)
{
	if (slot >= t->n || !t->v[slot].used)
		return NULL;
	return &t->v[slot];
}
