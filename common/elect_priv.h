/*
 * elect_priv: the election core's state and the functions its files share
 * (elect.c: roles, votes, followers; elect_lead.c: the leader's rounds,
 * commit and lease; elect_auto.c: members and the voter set's upkeep;
 * elect_boot.c: bootstrap; elect_cmd.c: transfer, step-down,
 * force-recover, announcements, status). Not an API: include/elect.h is.
 */
#ifndef ELECT_PRIV_H
#define ELECT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elect.h"

#define ELECT_PEERS_MAX	    (ELECT_VOTERS_MAX + 1) /* the voters and one node catching up */
#define ELECT_ROUNDS	    64U			   /* send times of recent rounds kept */
#define ELECT_RECOVER_JUMP  (UINT64_C(1) << 32)	   /* force-recover: index past the old log */
#define ELECT_NEVER	    UINT64_MAX
#define ELECT_BOOT_EXCLUDED 16 /* members known to have lost their state */

/* The leader's view of one voter, or of the non-voter it is catching up. */
struct elect_peer {
	uint64_t id;
	uint64_t sid; /* the set's state id; 0: catching up, not heard yet */
	uint64_t next, match;
	uint64_t acked_sent; /* our send time of the newest round it acked (0: none) */
	uint64_t last_heard; /* our time of its last answer */
	uint64_t seen_sid;   /* the state id its last answer carried */
	bool catchup;	     /* not a voter: being caught up before a promotion */
};

struct elect_member {
	uint64_t id;
	uint8_t status; /* enum elect_member_status */
	bool draining;	/* being retired: removed from the voters, never promoted */
	uint64_t since;
};

struct elect {
	struct elect_config cfg;
	struct elect_ops ops;
	void *arg;
	uint64_t self;
	uint8_t sk[ELECT_SK_LEN];
	struct elect_hard hs; /* as last persisted (or to be, while !durable) */
	bool durable;	      /* hs reached the disk at least once */
	enum elect_role role;
	uint64_t started;
	uint64_t leader, leader_sid; /* leader of hs.term, when known */
	uint64_t heard_leader;	     /* our time of its last APPEND or SNAPSHOT */
	uint64_t election_at;	     /* follower and candidates: when to (re)campaign */

	/* The promise (docs/election.md, "Leases"): no vote for anyone but
	 * promise_id until promise_until. Set by every ack we send and, for
	 * nobody, at start (a restart forgets what it promised). */
	uint64_t promise_until, promise_id, promise_sid, promise_term;

	/* Pre-candidate and candidate. */
	uint64_t cand_term; /* the term asked for */
	uint32_t granted;   /* bit i: voter i of the newest set granted */
	uint64_t resend_at;
	bool transfer; /* a sanctioned campaign: proof holds the TIMEOUT_NOW */
	uint8_t proof[ELECT_PROOF_LEN];

	/* Leader. */
	struct elect_peer peers[ELECT_PEERS_MAX];
	uint32_t npeers;
	uint64_t round;
	uint64_t round_at[ELECT_ROUNDS];
	uint64_t next_round;
	uint64_t won_at;
	uint64_t noop_index;
	bool resigned;	   /* gave up the lease for the rest of this term */
	bool had_lease;	   /* for ELECT_EV_LEASE edges */
	uint64_t tn_to;	   /* transfer target still being sent TIMEOUT_NOW */
	uint64_t tn_term;  /* ...in this term */
	uint64_t tn_next;  /* ...next time */
	uint64_t tn_until; /* ...until then */
	uint64_t next_auto, next_announce;
	uint64_t catchup_since;

	/* Members, sorted by id. */
	struct elect_member *members;
	size_t nmembers, capmembers;

	/* What the last accepted ANNOUNCE said (non-voters learn it so). */
	uint64_t ann_term, ann_leader, ann_lease_until;
	struct elect_voters ann_voters;

	/* Bootstrap. */
	uint64_t boot_seen_since; /* since when >= bootstrap_expect members are alive */
	uint64_t boot_excluded[ELECT_BOOT_EXCLUDED]; /* answered LOST: never in a group */
	uint32_t nboot_excluded;
	uint64_t boot_offered_at;
	uint64_t boot_resend_at;

	bool quorum_lost;
	uint64_t next_quorum_check;
	struct elect_stats st;
	struct elect_msg in;  /* the message being handled */
	struct elect_msg msg; /* the message being built */
	uint8_t out[ELECT_MSG_MAX];
	uint8_t sbuf[ELECT_STATE_MAX];
};

/* elect.c */
/* Encodes h, calls ops->persist; on 0 h becomes e->hs. 0 or -errno. */
int elect__persist(struct elect *e, const struct elect_hard *h);
/* Fills the header of e->msg for `type` to `to` in our current term. */
struct elect_msg *elect__msg(struct elect *e, uint8_t type, uint64_t to);
/* Signs and sends e->msg. */
void elect__send(struct elect *e);
void elect__emit(struct elect *e, enum elect_event_type type);
void elect__enter(struct elect *e, enum elect_role role, uint64_t now);
/* The role our voter set gives us when not campaigning or leading. */
enum elect_role elect__rest_role(const struct elect *e);
/* True when (self, sid) is in the newest voter set. */
bool elect__is_voter(const struct elect *e);
/* Adopts a higher term (vote cleared, persisted) and steps down. 0 or -errno. */
int elect__adopt_term(struct elect *e, uint64_t term, uint64_t now);
void elect__reset_election(struct elect *e, uint64_t now);
/* The voter set changed: re-derive the role. */
void elect__voters_changed(struct elect *e, uint64_t now);
uint64_t elect__promise_len(const struct elect *e);
uint64_t elect__lease_len(const struct elect *e);
uint64_t elect__rand(struct elect *e, uint64_t lo, uint64_t hi);
/* Counts a refusal; returns -(1 + r), elect_receive's return. */
int elect__refuse(struct elect *e, enum elect_refuse r);
void elect__set_leader(struct elect *e, uint64_t id, uint64_t sid);

/* Repeats a transfer's TIMEOUT_NOW while it may still be lost; the next
 * deadline (ELECT_NEVER when none). */
uint64_t elect__tn_tick(struct elect *e, uint64_t now);

/* elect_lead.c */
void elect__lead_start(struct elect *e, uint64_t now);
void elect__lead_stop(struct elect *e, uint64_t now);
uint64_t elect__lead_tick(struct elect *e, uint64_t now);
void elect__on_append_resp(struct elect *e, const struct elect_msg *m, uint64_t now);
/* Emits ELECT_EV_LEASE when elect_leading changed since the last call. */
void elect__lease_edge(struct elect *e, uint64_t now);
/* The start of our lease (send time of the round a majority acked; 0 none). */
uint64_t elect__lease_start(const struct elect *e);
/* Appends one entry as leader, persists, and sends a round. 0 or -errno. */
int elect__lead_append(struct elect *e, const struct elect_entry *ent, uint64_t now);
struct elect_peer *elect__peer(struct elect *e, uint64_t id);
/* Adds a non-voter to catch up (the autopilot's candidate). */
void elect__lead_catchup(struct elect *e, uint64_t id, uint64_t now);

/* elect_auto.c */
const struct elect_member *elect__member(const struct elect *e, uint64_t id);
/* Voters of the newest set whose id SWIM holds alive or suspect (self counts). */
uint32_t elect__voters_alive(const struct elect *e);
/* Leader: one step of the voter set's upkeep; returns the next deadline. */
uint64_t elect__auto_tick(struct elect *e, uint64_t now);
/* Too few voters alive (by SWIM, unknown counting as alive) and no leader
 * heard lately. */
bool elect__quorum_lost(const struct elect *e, uint64_t now);
/* Everybody: recomputes quorum_lost (event on change). */
void elect__quorum_check(struct elect *e, uint64_t now);

/* elect_boot.c */
bool elect__virgin(const struct elect *e);
uint64_t elect__boot_tick(struct elect *e, uint64_t now);
void elect__on_boot(struct elect *e, const struct elect_msg *m, uint64_t now);
const char *elect__boot_phase(const struct elect *e);

#endif
