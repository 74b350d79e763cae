/*
 * replay: per-sender replay filters for the wire envelope (version 3).
 *
 * Every datagram carries its sender's stamp: a 64-bit number that grows with
 * every datagram the sender seals, whoever it goes to (wall-clock
 * milliseconds << 12 plus a counter, include/wire.h). For each sender node id
 * the table keeps the REPLAY_RECENT highest stamps accepted from it. A stamp
 * is fresh when it is not 0, not among them, and (once REPLAY_RECENT are
 * held) above the lowest of them: up to REPLAY_RECENT - 1 datagrams of one
 * sender may arrive out of order and still be taken, each once. Everything
 * else is a replay. Unlike the 64-sequence bitmap of version 2, this counts
 * only the datagrams that reached this receiver, so a sender's traffic to
 * others does not push its datagrams to us out of the window.
 *
 * Stamps far from the receiver's clock never get here (wire_receive refuses
 * them as stale or future first), so an entry that has been silent for
 * longer than that bound can be forgotten without reopening a replay.
 *
 * Checking and committing are separate so that the caller commits only
 * after every other check holds: a forged datagram never moves a filter nor
 * creates or evicts an entry. The table holds at most max_senders nodes; a
 * new one evicts the least recently updated (common/lru.c).
 */
#ifndef REPLAY_H
#define REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_RECENT 8

struct replay;

/* A table for at most max_senders nodes (>= 1). NULL on ENOMEM or EINVAL. */
struct replay *replay_new(uint32_t max_senders);
void replay_free(struct replay *rp);

/* True when (node_id, stamp) would be accepted. Changes nothing. */
bool replay_check(const struct replay *rp, uint64_t node_id, uint64_t stamp);

/*
 * Records (node_id, stamp) as accepted, creating the node's entry (evicting
 * the least recently updated one when the table is full) and making it the
 * most recently updated. Returns 0, or -EALREADY (nothing changed) when
 * replay_check() would have said false.
 */
int replay_commit(struct replay *rp, uint64_t node_id, uint64_t stamp);

/* The highest stamp accepted from node_id: true when known. */
bool replay_lookup(const struct replay *rp, uint64_t node_id, uint64_t *highest);

/* Nodes currently held, and entries evicted so far. */
uint32_t replay_count(const struct replay *rp);
uint64_t replay_evictions(const struct replay *rp);

#endif
