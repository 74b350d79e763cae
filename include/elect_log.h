/*
 * elect_log: the election's replicated log, kept small (docs/election.md,
 * "The log"). The only things the voters agree on through it are no-ops (a
 * new leader's first entry, Raft's fix for single-server changes) and voter
 * sets. Committed entries are folded at once into a snapshot (index, term,
 * voter set), so the log is that snapshot plus a short tail of entries not
 * known to be committed: the commit index IS the snapshot index.
 *
 * A voter is named by (node id, state id): the state id is the random 64-bit
 * id of the durable state the node had when it was admitted, so a node that
 * comes back without its state (a lost disk) is not the voter the set names
 * (docs/election.md, "Durable state and its identity").
 *
 * Pure data structure: no time, no I/O, no allocation.
 */
#ifndef ELECT_LOG_H
#define ELECT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELECT_VOTERS_MAX 7 /* the largest voter set (the `voters` key allows 1, 3, 5, 7) */
#define ELECT_TAIL_MAX	 8 /* uncommitted entries; a leader appends at most 2 at once */
/* The largest term a message or the state file may carry. A million
 * elections a second would take 146,000 years to get there, so only a forged
 * or corrupt term does; bounding it means raising a term can never wrap. */
#define ELECT_TERM_MAX	(UINT64_C(1) << 62)
#define ELECT_INDEX_MAX (UINT64_MAX - ELECT_TAIL_MAX - 1) /* prev_index + n must not wrap */

struct elect_voter {
	uint64_t id;  /* node id (droplet id); never 0 */
	uint64_t sid; /* state id of its durable state; 0 only in a bootstrap offer */
};

struct elect_voters {
	uint32_t n;
	struct elect_voter v[ELECT_VOTERS_MAX];
};

enum elect_entry_type {
	ELECT_ENTRY_NOOP = 1,	/* a new leader's first entry */
	ELECT_ENTRY_CONFIG = 2, /* a new voter set (one voter more or less) */
};

struct elect_entry {
	uint64_t term;
	uint8_t type;		    /* enum elect_entry_type */
	struct elect_voters voters; /* CONFIG only */
};

/* Entry i of the tail has index snap_index + 1 + i. */
struct elect_log {
	uint64_t snap_index; /* last committed index (0: nothing yet) */
	uint64_t snap_term;
	struct elect_voters snap_voters; /* the committed voter set */
	uint32_t n;
	struct elect_entry e[ELECT_TAIL_MAX];
};

/* Outcome of a follower's append (elect_log_merge). */
enum elect_merge {
	ELECT_MERGE_OK = 0,   /* appended or already there; *match set */
	ELECT_MERGE_MISMATCH, /* no entry at prev_index with prev_term; *match = hint */
	ELECT_MERGE_NO_ROOM,  /* the tail would overflow */
};

/* Majority of n voters: n / 2 + 1 (n = 0: 1, never reachable). */
uint32_t elect_quorum(uint32_t n);
/* Index of voter `id` in v, or -1. */
int elect_voters_find(const struct elect_voters *v, uint64_t id);
/* True when v names (id, sid) exactly. */
bool elect_voters_has(const struct elect_voters *v, uint64_t id, uint64_t sid);
bool elect_voters_equal(const struct elect_voters *a, const struct elect_voters *b);
/* Checks a voter set read from outside: 1..ELECT_VOTERS_MAX voters, ids
 * non-zero and distinct, sids non-zero unless allow_zero_sid. */
bool elect_voters_valid(const struct elect_voters *v, bool allow_zero_sid);
/* Formats "id/sid,id/sid" (sids as 8 hex digits of their top) into buf. */
char *elect_voters_format(const struct elect_voters *v, char *buf, size_t size);

uint64_t elect_log_last_index(const struct elect_log *l);
uint64_t elect_log_last_term(const struct elect_log *l);
/* Term of entry idx (snap_index <= idx <= last); false when not held. */
bool elect_log_term_at(const struct elect_log *l, uint64_t idx, uint64_t *term);
/* The entry at idx (snap_index < idx <= last), or NULL. */
const struct elect_entry *elect_log_entry(const struct elect_log *l, uint64_t idx);
/* The newest voter set, committed or not (Raft uses it at once). */
const struct elect_voters *elect_log_voters(const struct elect_log *l);
/* True when the tail holds a CONFIG entry (a change is in flight). */
bool elect_log_config_pending(const struct elect_log *l);
/* Raft's "at least as up-to-date" (§5.4.1): (last_term, last_index) >= ours. */
bool elect_log_up_to_date(const struct elect_log *l, uint64_t last_index, uint64_t last_term);

/* Appends one entry. 0, or -ENOSPC when the tail is full. */
int elect_log_append(struct elect_log *l, const struct elect_entry *e);
/* Folds every tail entry up to idx (capped at the last) into the snapshot.
 * Returns true when the committed voter set changed. */
bool elect_log_commit(struct elect_log *l, uint64_t idx);
/* Replaces the whole log by a snapshot (the leader's InstallSnapshot). */
void elect_log_install(struct elect_log *l, uint64_t index, uint64_t term,
		       const struct elect_voters *voters);
/*
 * A follower's append: entries[0..n) follow prev_index. Entries the log
 * already holds with the same term are kept; the first conflicting one and
 * everything after it are dropped (Raft §5.3); entries at or below the
 * snapshot are committed and skipped. On OK, *match is the index of the
 * last entry the leader sent (or prev_index when none); on MISMATCH, the
 * index from which the leader should retry. *changed says whether the log
 * changed (and must be persisted before the answer leaves).
 */
enum elect_merge elect_log_merge(struct elect_log *l, uint64_t prev_index, uint64_t prev_term,
				 const struct elect_entry *entries, uint32_t n, uint64_t *match,
				 bool *changed);

#endif
