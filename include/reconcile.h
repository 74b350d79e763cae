/*
 * reconcile: the plan that turns what a registrar finds (DNS records, load
 * balancer droplet ids, HAProxy servers) into exactly the desired set. Pure:
 * no I/O, so every registrar reconciles by the same rules and they are tested
 * once (docs/registrars.md, "Reconcile rules").
 *
 * Items are compared by `key`: a DNS record's IP, a droplet id in decimal, an
 * HAProxy server's name. The rules:
 *   - a desired key with no actual item is created;
 *   - the first actual item with a desired key is kept; a later one with the
 *     same key is a duplicate and is deleted (two records for one IP: keep one);
 *   - a kept item whose `value` differs from the desired one (an HAProxy
 *     server's address) is updated, and so is one that is not `ready` (a
 *     server left in drain or maintenance);
 *   - an actual item with no desired key is deleted, unless `foreign` marks it
 *     as not ours (a server someone else put in the backend);
 *   - with RECONCILE_PAIR, a create and a delete are merged into one update of
 *     the deleted item (a DNS record whose data is changed in place: one
 *     request instead of two).
 * Creates and updates come before deletes, so the set never shrinks to nothing
 * in the middle of a reconciliation. Duplicate desired keys count once.
 */
#ifndef RECONCILE_H
#define RECONCILE_H

#include <stdbool.h>
#include <stddef.h>

#define RECONCILE_PAIR (1U << 0)
#define RECONCILE_NONE ((size_t)-1)

struct reconcile_item {
	const char *key;   /* never NULL */
	const char *value; /* compared when both sides have one; NULL = don't care */
	bool ready;	   /* actual side only: false = needs an update to become ready */
	bool foreign;	   /* actual side only: never deleted */
};

enum reconcile_kind {
	RECONCILE_CREATE, /* desired[d] is missing */
	RECONCILE_UPDATE, /* actual[a] must become desired[d] */
	RECONCILE_DELETE, /* actual[a] must go */
};

struct reconcile_op {
	enum reconcile_kind kind;
	size_t desired; /* index into desired, or RECONCILE_NONE for a delete */
	size_t actual;	/* index into actual, or RECONCILE_NONE for a create */
};

/*
 * Computes the operations. On success returns 0 with *ops (caller frees; NULL
 * when *nops is 0) and *nops. Returns -EINVAL when an item has a NULL key,
 * -ENOMEM when out of memory; *ops is then NULL.
 */
int reconcile_plan(const struct reconcile_item *desired, size_t nd,
		   const struct reconcile_item *actual, size_t na, unsigned flags,
		   struct reconcile_op **ops, size_t *nops);

/* "create", "update", "delete". */
const char *reconcile_kind_name(enum reconcile_kind k);

#endif
