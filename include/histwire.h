/*
 * histwire: the messages that replicate the leader's history to every node
 * (docs/policy.md, "History replication"). They travel in the authenticated
 * envelope (include/wire.h) as type HISTWIRE_TYPE, so the envelope already
 * names and authenticates the sender; a receiver takes records only from the
 * node its election says leads (agent/histlog.c).
 *
 *   u8 version = 1 | u8 op
 *   op RECORDS (1): u8 n (1..HISTWIRE_BATCH) | u8 more (0 or 1)
 *                   | n x (varint length <= HISTORY_RECORD_MAX, record bytes)
 *   op PULL (2):    varint term | varint seq   (the newest record the asker holds;
 *                                               0 0 when it holds none)
 *
 * RECORDS carries records oldest first, each in history_encode()'s form;
 * `more` says the sender holds records after the last one (the asker pulls
 * again at once). A record that does not decode makes the whole message
 * refused: nothing from a damaged message is taken. Pure: no I/O, no clock.
 */
#ifndef HISTWIRE_H
#define HISTWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"

#define HISTWIRE_TYPE	 17 /* envelope type (ELECT_WIRE_TYPE is 16) */
#define HISTWIRE_VERSION 1
#define HISTWIRE_BATCH	 3    /* records in one message: 3 x (2 + 400) + 4 fits a datagram */
#define HISTWIRE_MAX	 1240 /* <= WIRE_MAX_PAYLOAD (1290) */

enum histwire_op {
	HISTWIRE_RECORDS = 1,
	HISTWIRE_PULL = 2,
};

struct histwire_msg {
	uint8_t op;    /* enum histwire_op */
	uint64_t term; /* PULL */
	uint64_t seq;  /* PULL */
	uint8_t n;     /* RECORDS: records[0..n) */
	bool more;     /* RECORDS */
	struct history_record records[HISTWIRE_BATCH];
};

/* A PULL for the records after (term, seq). Returns the length, or -ENOBUFS. */
int histwire_pull(uint64_t term, uint64_t seq, uint8_t *buf, size_t size);

/*
 * A RECORDS message with the records of h from index `from` on (oldest
 * first), as many as fit in size bytes (at most HISTWIRE_BATCH); *next gets
 * the index after the last one packed, and `more` is set when records remain.
 * Returns the length, 0 when from is past the end, or -ENOBUFS when not even
 * one record fits. Records the encoder refuses are skipped.
 */
int histwire_pack(const struct history *h, size_t from, size_t *next, uint8_t *buf, size_t size);

/* The index of the first record of h after (term, seq) in (term, seq)
 * order; history_count(h) when there is none. */
size_t histwire_first_after(const struct history *h, uint64_t term, uint64_t seq);

/* Decodes exactly len bytes into m. 0, -EPROTONOSUPPORT (another version)
 * or -EINVAL (with *why naming what, when why != NULL). */
int histwire_decode(const uint8_t *buf, size_t len, struct histwire_msg *m, const char **why);

#endif
