/*
 * swim_claims: the table of application claims one membership core holds
 * (docs/membership.md, "Application claims"). Private to common/swim*.c.
 *
 * Claims are keyed by (kind, subject); only registered kinds are kept, each
 * up to its own count (the least recently updated entry of the kind gives its
 * slot to a new subject). Entries never move: a slot number names a claim for
 * as long as it is not evicted, so the update queue can hold slot numbers.
 * A linear table: a cluster holds a few claims of a few kinds (who leads,
 * which nodes drain, recent history), not thousands.
 */
#ifndef SWIM_CLAIMS_H
#define SWIM_CLAIMS_H

#include <stdbool.h>
#include <stdint.h>

#include "swim.h"

#define SWIM_CLAIM_KINDS_MAX 16
#define SWIM_CLAIMS_MAX	     4096 /* every kind together */
#define SWIM_CLAIM_NONE	     UINT32_MAX

struct swim_claim_kind {
	uint8_t kind;
	bool pushpull;
	uint32_t max;
	uint32_t count;
};

struct swim_claim_entry {
	struct swim_claim c;
	uint8_t sig[64];
	uint64_t updated; /* local time of the last change, for eviction */
	bool used;
};

struct swim_claims {
	struct swim_claim_kind kinds[SWIM_CLAIM_KINDS_MAX];
	uint32_t nkinds;
	struct swim_claim_entry *v;
	uint32_t n; /* slots in use or freed; v holds `cap` */
	uint32_t cap;
};

/* An empty table (zeroed memory is one too). */
void swim_claims_init(struct swim_claims *t);
void swim_claims_fini(struct swim_claims *t);

/* Accepts `kind` from now on. 0, -EINVAL (kind 0, max 0 or past the total),
 * -EEXIST or -ENOSPC (SWIM_CLAIM_KINDS_MAX kinds already). */
int swim_claims_register(struct swim_claims *t, uint8_t kind, uint32_t max, bool pushpull);
/* The registration of `kind`, or NULL. */
const struct swim_claim_kind *swim_claims_kind(const struct swim_claims *t, uint8_t kind);

/* The slot of (kind, subject), or SWIM_CLAIM_NONE. */
uint32_t swim_claims_find(const struct swim_claims *t, uint8_t kind, uint64_t subject);
/* Stores c (with its signature) in the slot of (kind, subject), taking a new
 * one (or the stalest of the kind) when it has none. Returns the slot, or
 * SWIM_CLAIM_NONE when the kind is not registered or memory runs out. */
uint32_t swim_claims_put(struct swim_claims *t, const struct swim_claim *c, const uint8_t sig[64],
			 uint64_t now);
/* The entry in `slot`, or NULL when it is free. */
const struct swim_claim_entry *swim_claims_at(const struct swim_claims *t, uint32_t slot);

#endif
