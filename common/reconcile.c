/*
 * reconcile: computes create/update/delete operations that make an actual set
 * equal to a desired set, by the rules in include/reconcile.h. Quadratic in
 * the set sizes, which stay in the hundreds (one item per node).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile.h"

enum reconcile_fate {
	RECONCILE_STALE,  /* no desired key: deleted, or reused by a pairing */
	RECONCILE_KEPT,	  /* the one item kept for a desired key */
	RECONCILE_DUP,	  /* a later item with a kept key: deleted */
	RECONCILE_REUSED, /* taken by a pairing: updated, not deleted */
};

struct reconcile_ctx {
	const struct reconcile_item *desired, *actual;
	size_t nd, na;
	size_t *kept;		   /* per desired: the actual index kept, or RECONCILE_NONE */
	bool *dup;		   /* per desired: an earlier desired item has the same key */
	enum reconcile_fate *fate; /* per actual */
	struct reconcile_op *ops;
	size_t nops;
};

const char *
reconcile_kind_name(enum reconcile_kind k)
{
	switch (k) {
	case RECONCILE_CREATE:
		return "create";
	case RECONCILE_UPDATE:
		return "update";
	case RECONCILE_DELETE:
		return "delete";
	}
	return "?";
}

static void
reconcile_push(struct reconcile_ctx *c, enum reconcile_kind k, size_t d, size_t a)
{
	c->ops[c->nops].kind = k;
	c->ops[c->nops].desired = d;
	c->ops[c->nops].actual = a;
	c->nops++;
}

static bool
reconcile_value_differs(const struct reconcile_item *d, const struct reconcile_item *a)
{
	return d->value != NULL && a->value != NULL && strcmp(d->value, a->value) != 0;
}

/* Marks duplicates among the desired keys and, for each key, keeps the first
 * actual item carrying it; later ones are duplicates. */
static void
reconcile_match(struct reconcile_ctx *c)
{
	for (size_t d = 0; d < c->nd; d++) {
		c->kept[d] = RECONCILE_NONE;
		for (size_t e = 0; e < d && !c->dup[d]; e++)
			c->dup[d] = strcmp(c->desired[e].key, c->desired[d].key) == 0;
		if (c->dup[d])
			continue;
		for (size_t a = 0; a < c->na; a++) {
			if (strcmp(c->desired[d].key, c->actual[a].key) != 0)
				continue;
			if (c->kept[d] == RECONCILE_NONE) {
				c->kept[d] = a;
				c->fate[a] = RECONCILE_KEPT;
			} else {
				c->fate[a] = RECONCILE_DUP;
			}
		}
	}
}

/* The next stale item of ours at or after `from`, for a pairing. */
static size_t
reconcile_next_stale(const struct reconcile_ctx *c, size_t from)
{
	for (size_t a = from; a < c->na; a++)
		if (c->fate[a] == RECONCILE_STALE && !c->actual[a].foreign)
			return a;
	return RECONCILE_NONE;
}

static void
reconcile_emit(struct reconcile_ctx *c, unsigned flags)
{
	size_t stale = (flags & RECONCILE_PAIR) ? reconcile_next_stale(c, 0) : RECONCILE_NONE;

	for (size_t d = 0; d < c->nd; d++) {
		size_t a = c->kept[d];

		if (c->dup[d])
			continue;
		if (a != RECONCILE_NONE) {
			if (!c->actual[a].ready ||
			    reconcile_value_differs(&c->desired[d], &c->actual[a]))
				reconcile_push(c, RECONCILE_UPDATE, d, a);
		} else if (stale != RECONCILE_NONE) {
			c->fate[stale] = RECONCILE_REUSED;
			reconcile_push(c, RECONCILE_UPDATE, d, stale);
			stale = reconcile_next_stale(c, stale + 1);
		} else {
			reconcile_push(c, RECONCILE_CREATE, d, RECONCILE_NONE);
		}
	}
	for (size_t a = 0; a < c->na; a++) {
		if (c->actual[a].foreign)
			continue;
		if (c->fate[a] == RECONCILE_STALE || c->fate[a] == RECONCILE_DUP)
			reconcile_push(c, RECONCILE_DELETE, RECONCILE_NONE, a);
	}
}

int
reconcile_plan(const struct reconcile_item *desired, size_t nd, const struct reconcile_item *actual,
	       size_t na, unsigned flags, struct reconcile_op **ops, size_t *nops)
{
	struct reconcile_ctx c = { .desired = desired, .actual = actual, .nd = nd, .na = na };
	int err = -ENOMEM;

	*ops = NULL;
	*nops = 0;
	for (size_t i = 0; i < nd; i++)
		if (desired[i].key == NULL)
			return -EINVAL;
	for (size_t i = 0; i < na; i++)
		if (actual[i].key == NULL)
			return -EINVAL;
	c.kept = calloc(nd + 1, sizeof(*c.kept));
	c.dup = calloc(nd + 1, sizeof(*c.dup));
	c.fate = calloc(na + 1, sizeof(*c.fate));
	c.ops = calloc(nd + na + 1, sizeof(*c.ops));
	if (c.kept == NULL || c.dup == NULL || c.fate == NULL || c.ops == NULL)
		goto out;
	reconcile_match(&c);
	reconcile_emit(&c, flags);
	if (c.nops > 0) {
		*ops = c.ops;
		*nops = c.nops;
		c.ops = NULL;
	}
	err = 0;
out:
	free(c.ops);
	free(c.fate);
	free(c.dup);
	free(c.kept);
	return err;
}
