/*
 * replay: per-sender replay windows for the wire envelope (IPsec's and
 * WireGuard's sliding window, RFC 6479 section 1, plus an incarnation).
 *
 * For each sender node id the table keeps its incarnation, the highest
 * sequence accepted in that incarnation and a 64-bit bitmap of the
 * REPLAY_WINDOW sequences just below it (bit i set: highest - 1 - i was
 * accepted). A datagram (node, incarnation, seq) is fresh when:
 *   - the node is unknown, or its incarnation is higher than the stored one
 *     (the sender restarted): a new window, any seq >= 1;
 *   - same incarnation and seq > highest;
 *   - same incarnation, highest - REPLAY_WINDOW <= seq < highest, bit clear.
 * Everything else (lower incarnation, seq 0, seq == highest, a set bit, or
 * further behind than the window) is a replay.
 *
 * Checking and committing are separate so that the caller commits only after
 * the signature holds: a forged datagram never moves a window nor creates or
 * evicts an entry.
 *
 * The table holds at most max_senders nodes. When it is full, committing a new
 * node evicts the least recently updated one. Consequence: the evicted node's
 * window is forgotten, so datagrams it sent before can be replayed once more
 * (the first replay recreates the window). Because only datagrams that passed
 * the signature are committed, only a holder of the cluster key can fill the
 * table, and max_senders should stay well above the cluster size (the
 * default, 65536, is); the membership layer also ignores stale incarnations.
 *
 * Lookups are O(1) expected (chained hash keyed with a random salt); eviction
 * is O(1) (an LRU list). All memory is allocated by replay_new().
 */
#ifndef REPLAY_H
#define REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_WINDOW 64

struct replay;

/* A table for at most max_senders nodes (>= 1). NULL on ENOMEM or EINVAL. */
struct replay *replay_new(uint32_t max_senders);
void replay_free(struct replay *rp);

/* True when (node_id, incarnation, seq) would be accepted. Changes nothing. */
bool replay_check(const struct replay *rp, uint64_t node_id, uint64_t incarnation, uint64_t seq);

/*
 * Records (node_id, incarnation, seq) as accepted, creating the node's entry
 * (evicting the least recently updated one when the table is full) and making
 * it the most recently updated. Returns 0, or -EALREADY (nothing changed) when
 * replay_check() would have said false.
 */
int replay_commit(struct replay *rp, uint64_t node_id, uint64_t incarnation, uint64_t seq);

/* The stored incarnation and highest sequence of node_id: true when known. */
bool replay_lookup(const struct replay *rp, uint64_t node_id, uint64_t *incarnation,
		   uint64_t *highest);

/* Nodes currently held, and entries evicted so far. */
uint32_t replay_count(const struct replay *rp);
uint64_t replay_evictions(const struct replay *rp);

#endif
