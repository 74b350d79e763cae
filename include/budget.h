/*
 * budget: a token bucket per source address that bounds how many Ed25519
 * verifications one source can make us do (the expensive step of
 * wire_receive()). Each source starts with `burst` tokens, gains `per_sec`
 * tokens a second up to `burst`, and spends one per verification.
 *
 * Sources are identified by a SipHash-2-4 of their address bytes under a key
 * drawn from randombytes_buf() at creation, so a sender cannot pick addresses
 * that collide in the table. The table has a fixed number of entries; when it
 * is full, a new source takes over the entry of the stalest one (the source
 * whose bucket was used least recently), which starts again with a full
 * bucket. Time is passed in (now_ms, any monotonic clock in milliseconds).
 */
#ifndef BUDGET_H
#define BUDGET_H

#include <stddef.h>
#include <stdint.h>

struct budget;

/* A table of `sources` (>= 1) buckets. NULL on ENOMEM or EINVAL. */
struct budget *budget_new(uint32_t sources, uint32_t per_sec, uint32_t burst);
void budget_free(struct budget *b);

/*
 * Spends one token of the source whose address bytes are src[0..srclen) at
 * now_ms. Returns 0, or -EAGAIN when its bucket is empty (nothing spent).
 */
int budget_take(struct budget *b, const void *src, size_t srclen, uint64_t now_ms);

/* Sources currently tracked, and entries taken over from stale sources. */
uint32_t budget_count(const struct budget *b);
uint64_t budget_reuses(const struct budget *b);

#endif
