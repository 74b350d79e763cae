/*
 * evq: the simulator's event queue, a binary min-heap ordered by (virtual
 * time in microseconds, insertion sequence). The sequence number breaks ties
 * in insertion order, so two runs that insert the same events in the same
 * order pop them in the same order: this is what makes the simulator
 * deterministic.
 */
#ifndef EVQ_H
#define EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum evq_kind {
	EVQ_DELIVER = 1, /* a datagram reaches node `node`; data = struct netsim_dgram */
	EVQ_TICK = 2,	 /* node `node`'s timer; gen must match the node's */
	EVQ_STOP = 3,	 /* a leaving node stops */
};

struct evq_item {
	uint64_t at_us;
	uint64_t seq;
	void *data;
	uint32_t node;
	uint32_t gen;
	uint8_t kind;
};

struct evq {
	struct evq_item *items;
	size_t len, cap;
	uint64_t next_seq;
};

/* Empties a zeroed queue. */
void evq_init(struct evq *q);
/* Frees the array (not the items' data). Accepts a zeroed queue. */
void evq_fini(struct evq *q);
/* Adds an item (its seq is assigned here). 0 or -ENOMEM. */
int evq_push(struct evq *q, const struct evq_item *it);
/* True and the earliest item in *out, or false when empty. */
bool evq_pop(struct evq *q, struct evq_item *out);
/* Time of the earliest item, or UINT64_MAX when empty. */
uint64_t evq_peek_time(const struct evq *q);

#endif
