/*
 * actuate_op: the state machine of one operation, and the manager's state
 * it reports to. Internal to common/actuate*.c: the shell uses actuate.h.
 *
 * An operation is in one state (enum actuate_state); every change goes
 * through actuate_op_enter(), which traces old -> new and does what entering
 * the state does (send its action, or start its wait). A state that sends an
 * action waits for its result (op->req != 0, until op->due: then it counts
 * as UNKNOWN); a retry waits with op->req == 0 until op->due.
 */
#ifndef ACTUATE_OP_H
#define ACTUATE_OP_H

#include <stdbool.h>
#include <stdint.h>

#include "actuate.h"

/* A droplet of the last node table: what the manager remembers of it. */
struct actuate_seen {
	uint64_t id;
	uint64_t price_uusd;
	unsigned flags; /* its POLICY_NODE_ flags */
};

#define ACTUATE_FRESH_MS	 (10 * 60 * 1000ULL) /* far beyond any listing's lag */
#define ACTUATE_FRESH_UNKNOWN_MS (2 * 60 * 1000ULL)  /* a create never answered */

/*
 * A droplet we created that no operation follows any more and that no
 * listing has shown yet: a clone ready before the tag listing shows it, or a
 * clone dropped with a lapsed lease (created, or its create unanswered).
 * Capacity the policy must still count, until a listing shows its id or its
 * op tag, or for ACTUATE_FRESH_MS (ACTUATE_FRESH_UNKNOWN_MS when we do not
 * know that it was created at all).
 */
struct actuate_fresh {
	uint64_t id;	/* 0: not known (the create's answer is missing) */
	uint64_t op_id; /* its op tag */
	uint64_t req;	/* a create still awaiting its answer, 0 none */
	uint64_t since; /* now_ms it was recorded */
};

/* The manager (common/actuate.c). Operations live in a fixed array of
 * cfg.max_ops, so a pointer to one stays valid until the manager compacts
 * the array at the end of a public call. */
struct actuate {
	struct actuate_config cfg;
	uint32_t (*random)(void *arg);
	void *arg;
	uint64_t term, lease_until;
	bool reconciled; /* this term's first actuate_on_nodes ran */
	struct actuate_op *ops;
	size_t nops;
	struct actuate_action *queue; /* ring of cfg.max_ops */
	size_t qhead, qlen;
	struct actuate_event events[ACTUATE_EVENTS];
	size_t ehead, elen;
	uint64_t next_req;
	bool clone_failed;
	uint64_t clone_failed_ms;
	struct actuate_seen *listed; /* the last actuate_on_nodes' table, by id */
	size_t nlisted, listed_cap;
	struct actuate_fresh *fresh; /* ready clones not listed yet (cfg.max_ops) */
	size_t nfresh;
	uint64_t voters[ACTUATE_VOTERS]; /* actuate_set_voters */
	size_t nvoters;
	struct actuate_stats st;
};

/* Enters `st` at `now`: traces the change and sends the state's action or
 * starts its wait. */
void actuate_op_enter(struct actuate *a, struct actuate_op *op, enum actuate_state st,
		      uint64_t now);
/* The result of op's awaited action. */
void actuate_op_result(struct actuate *a, struct actuate_op *op, const struct actuate_result *r,
		       uint64_t now);
/* op->due has come. */
void actuate_op_timer(struct actuate *a, struct actuate_op *op, uint64_t now);
/* The member of op's droplet entered `st` (gossip, or the inventory sweep). */
void actuate_op_member(struct actuate *a, struct actuate_op *op, enum swim_state st, uint64_t now);
/* True once the operation ended (DONE or FAILED). */
bool actuate_op_ended(const struct actuate_op *op);

/* Manager services for the state machines (common/actuate.c). */
void actuate__emit(struct actuate *a, struct actuate_op *op, enum actuate_verb verb, uint64_t now);
void actuate__event(struct actuate *a, const struct actuate_op *op, enum actuate_event_kind k,
		    uint64_t now, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Manager internals shared with common/actuate_sweep.c. */
void actuate__check_lease(struct actuate *a, uint64_t now);
void actuate__compact(struct actuate *a);
/* The running operation on `droplet`, or with op id `op_id`; NULL if none. */
struct actuate_op *actuate__find(struct actuate *a, uint64_t droplet);
struct actuate_op *actuate__find_op(struct actuate *a, uint64_t op_id);
struct actuate_op *actuate__op_new(struct actuate *a, enum actuate_kind kind, uint64_t droplet,
				   uint64_t now);
/* The sweep's (common/actuate_sweep.c). */
const struct actuate_seen *actuate__seen(const struct actuate *a, uint64_t id);
uint64_t actuate__price(const struct actuate *a, uint64_t id);
struct policy_node *actuate__node_find(struct policy_node *nodes, size_t n, uint64_t id);
/* Finishes an older term's scale-in of a draining node: from the
 * deregistration, or from the delete when it has left already. */
void actuate__adopt_retire(struct actuate *a, uint64_t id, bool left, uint64_t now);
/* Starts the dead-node operation of a listed droplet, dead since `since`. */
void actuate__start_dead(struct actuate *a, uint64_t id, uint64_t since, uint64_t now);
/* Is droplet id one of the election's voters? */
bool actuate__is_voter(const struct actuate *a, uint64_t id);
/* A droplet we created and no operation follows (struct actuate_fresh). */
void actuate__fresh_add(struct actuate *a, const struct actuate_op *op, uint64_t now);
/* Droplet id is gone: no longer capacity. */
void actuate__fresh_forget(struct actuate *a, uint64_t id);
/* True while entry f is not listed in the table and not expired at now. */
bool actuate__fresh_counts(const struct actuate_fresh *f, const struct policy_node *nodes, size_t n,
			   uint64_t now);
/* Forgets the entries the table lists, and the expired ones. */
void actuate__fresh_listed(struct actuate *a, const struct policy_node *nodes, size_t n,
			   uint64_t now);
/* A result no operation awaits: the answer of a dropped create? */
void actuate__fresh_result(struct actuate *a, const struct actuate_result *r);

#endif
