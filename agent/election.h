/*
 * election: the libuv shell of the election core (common/elect*.c), exactly
 * as docs/election.md, "The shell's side", asks: one timer on elect_tick();
 * election messages (envelope type ELECT_WIRE_TYPE) and the leader's
 * announcements (application claims of kind GOSSIP_CLAIM_LEADER) into
 * elect_receive(); SWIM's member events into elect_member() (a reaped member
 * as LEFT); and the core's ops: send (sealed to the member's address, bound
 * to its node id), persist (state_dir/election, atomically, 0 only once
 * durable), pubkey (the key SWIM pinned), random, admissible (the caller's
 * rule) and event (logged, and handed to the caller).
 *
 * Time is CLOCK_BOOTTIME in ms (election_now()): it keeps counting through a
 * suspend, so a leader frozen with its droplet never believes a lease that
 * ran out meanwhile.
 *
 * Re-entrancy: the member and claim entry points are called by gossip while
 * SWIM is mid-update, so nothing here calls back into gossip from them: an
 * announcement due is published from the election's own timer.
 */
#ifndef ELECTION_H
#define ELECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "elect.h"
#include "elect_report.h"
#include "swim.h"

struct cfg;
struct election;
struct gossip;
struct nodekey;
struct statedir;
struct transport;

/* Something the core reported (role, leader, lease, voters, quorum);
 * ev borrowed for the call. Must not call back into the election core
 * except through the const queries (election_leading, ...). */
typedef void election_event_fn(void *arg, const struct elect_event *ev);

struct election_opts {
	const struct cfg *cfg;	   /* the election keys; borrowed */
	uint64_t node_id;	   /* this node (the droplet id) */
	const struct nodekey *key; /* signs every message; borrowed */
	const struct statedir *sd; /* holds the file `election`; borrowed */
	bool state_reset;	   /* statedir_open emptied sd now: a missing file is no loss */
	struct transport *tr;	   /* borrowed */
	struct gossip *gossip;	   /* member addresses, keys and the claims; borrowed */
	/* May node `id` be a voter? NULL: YES for every key holder (the
	 * token-less mode `mitosis status` names). */
	enum elect_admit (*admissible)(void *arg, uint64_t id);
	election_event_fn *event; /* may be NULL */
	void *arg;		  /* for admissible and event */
};

/* Milliseconds of CLOCK_BOOTTIME: the election's `now`. */
uint64_t election_now(void);

/*
 * Reads state_dir/election (a file refused is logged as "FILE: reason" and
 * the node starts as a non-voter with a new state, never bootstrapping),
 * makes the core, registers the LEADER claim kind and feeds it the members
 * gossip already knows. 0 and *out, or a negative errno (a bad config, which
 * cfg_finish has already refused, or ENOMEM), after logging why.
 */
int election_open(uv_loop_t *loop, const struct election_opts *o, struct election **out);

/* The payload of an envelope of type ELECT_WIRE_TYPE from node `from`. */
void election_on_wire(struct election *el, uint64_t from, const uint8_t *payload, size_t len);

/* A SWIM member event (gossip_hooks.member). */
void election_on_member(struct election *el, const struct swim_member *m, enum swim_state old,
			bool is_new);

/* A LEADER claim (gossip_hooks.claim for that kind): 0 when the core took
 * the announcement it holds, else a negative errno (the claim is dropped). */
int election_on_claim(struct election *el, const struct swim_claim *c);

/* elect_leading() at election_now(). */
bool election_leading(const struct election *el, uint64_t *term, uint64_t *lease_left_ms);

/* The operator's commands: elect_transfer (target 0: the best voter),
 * elect_step_down, elect_force_recover, with their errors. */
int election_transfer(struct election *el, uint64_t target);
int election_step_down(struct election *el);
int election_force_recover(struct election *el);

/* Member `id` is being retired (draining) or no longer: the leader's core
 * removes a draining voter while that keeps a live majority, and never
 * promotes a draining member (elect_member_draining). 0 or -ENOMEM. */
int election_member_draining(struct election *el, uint64_t id, bool draining);

/* The leader known (0: none) and its term, for the CLI's note. */
uint64_t election_leader(const struct election *el, uint64_t *term);

/* Fills everything of the report but `work` (the leader's, leader.c) and
 * the admission mode (the caller's). Names are borrowed from SWIM until the
 * next gossip event. */
void election_report(const struct election *el, struct elect_report *out);

/* Stops the timer and frees everything in its close callback (the core's
 * secret key wiped). Accepts NULL. */
void election_close(struct election *el);

#endif
