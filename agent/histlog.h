/*
 * histlog: the replicated scaling history on the loop (docs/policy.md,
 * "History replication"). Every node keeps the same ring of the recent
 * records (common/history.c) and writes it to state_dir/history, so that
 * `mitosis history` answers from any node, after a failover and after a
 * restart.
 *
 * The leader appends each record it makes (histlog_append) and pushes it
 * at once to every member it knows alive or suspect, one datagram each
 * (envelope type HISTWIRE_TYPE, common/histwire.c). A node that missed
 * pushes (it joined later, restarted, or was cut off) pulls from the leader:
 * as soon as it learns of a leader, then every HISTLOG_PULL_MS; the leader
 * answers with up to three records after the asker's newest and says when
 * there are more, and the asker pulls again at once until it has them all.
 * A node takes records only from the node its election says leads, never
 * of a term after that leader's, and in (term, seq) order
 * (history_append): a deposed leader's stragglers are dropped.
 *
 * Bounded: the ring holds HISTORY_KEEP records; what the leader sends
 * (pushes and answers together) is held to HISTLOG_BYTES_PER_SEC by a token
 * bucket (a push over budget is skipped: that node pulls it later); the file
 * is written at most once a second (HISTLOG_SAVE_MS), and cut to its newest
 * records when it would pass STATEDIR_FILE_MAX.
 */
#ifndef HISTLOG_H
#define HISTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "history.h"

#define HISTLOG_FILE	      "history"
#define HISTLOG_PULL_MS	      30000 /* a follower asks the leader this often */
#define HISTLOG_SAVE_MS	      1000  /* the file is rewritten at most this often */
#define HISTLOG_BYTES_PER_SEC 16384 /* what the leader sends, pushes and answers */
#define HISTLOG_BURST_BYTES   65536 /* the bucket's depth */

struct cfg;
struct gossip;
struct histlog;

/*
 * Opens state_dir (cfg->state_dir, for the node gossip runs as) and reads
 * state_dir/history: a file damaged part way is logged with the byte
 * offset and the reason, and its good prefix kept (and written back). The
 * gossip (borrowed; it must outlive the histlog) gives the members to push
 * to and the transport to send through. 0 and *out, or a negative errno
 * after logging why (the state directory cannot be opened).
 */
int histlog_open(uv_loop_t *loop, const struct cfg *cfg, struct gossip *gossip,
		 struct histlog **out);

/*
 * On the leader, for each record it makes: appends a copy to the ring
 * (refused, and logged, when not after the newest in (term, seq) order),
 * schedules the file write, and sends the record to every other member.
 * r is borrowed for the call. Call it from the loop, never from inside a
 * gossip callback.
 */
void histlog_append(struct histlog *h, const struct history_record *r);

/* The seq a new record of `term` should carry: one past the newest
 * record's when that is of this term, else 1. */
uint64_t histlog_next_seq(const struct histlog *h, uint64_t term);

/* The leader the election knows (0: none) and its term: records are taken
 * from it only. A new leader that is not us is pulled from at once. */
void histlog_set_leader(struct histlog *h, uint64_t leader, uint64_t term);

/* The payload of an envelope of type HISTWIRE_TYPE from node `from`. */
void histlog_on_wire(struct histlog *h, uint64_t from, const uint8_t *payload, size_t len);

/* The ring, for readers (borrowed until the next loop turn). */
const struct history *histlog_history(const struct histlog *h);

/* `mitosis history`: the newest n records (0: all), oldest first, as text
 * (one history_format() line each) or as {"records":[...]}. malloc'ed. */
char *histlog_report(const struct histlog *h, bool json, size_t n);

/* Writes the file if a write is pending, stops the timer and frees
 * everything in its close callback. Accepts NULL. */
void histlog_close(struct histlog *h);

#endif
