/*
 * elect: leader election for the cluster, as a pure state machine
 * (docs/election.md). Raft's election (terms, randomized timeouts, votes
 * persisted before they leave) with PreVote, CheckQuorum, leader leases with
 * a clock-drift bound, leadership transfer, a voter set of at most 7 that the
 * leader maintains through single-server changes (Consul's autopilot), a
 * bootstrap that never makes two initial voter sets from one view, and an
 * operator's force-recover for a lost quorum.
 *
 * Events in, each with `now` (the caller's monotonic clock in ms; the agent
 * should use CLOCK_BOOTTIME, which keeps counting through a suspend):
 *   elect_receive()      an election message (the payload of an envelope of
 *                        type ELECT_WIRE_TYPE, or a gossiped ANNOUNCE)
 *   elect_tick()         the deadline it last returned has come
 *   elect_member()       a membership change from SWIM (alive, suspect, ...)
 *   elect_transfer(), elect_step_down(), elect_force_recover()  the operator
 * Actions out, through struct elect_ops, always synchronously from inside one
 * of the calls above: messages to send to a node id, the durable state to
 * write, questions (a node's public key, whether a node may be a voter) and
 * events. Randomness comes from ops->random. Nothing here does I/O, and
 * nothing allocates per message (the member table grows with the cluster).
 *
 * The one question the scaling policy asks is elect_leading().
 */
#ifndef ELECT_H
#define ELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elect_log.h"
#include "elect_msg.h"
#include "elect_state.h"

struct elect_config {
	uint32_t voters;		 /* voter set size to keep: 1, 3, 5 or 7 */
	uint32_t bootstrap_expect;	 /* 0: never bootstrap; N: once N members are seen */
	uint64_t heartbeat_ms;		 /* leader's round period */
	uint64_t election_min_ms;	 /* follower's timeout: uniform in [min, max) */
	uint64_t election_max_ms;	 /* ... after the last heartbeat it accepted */
	uint64_t lease_ms;		 /* L */
	uint32_t drift_ppm;		 /* rho: |clock rate - 1| <= rho, in parts per million */
	uint64_t voter_replace_after_ms; /* a voter dead this long is replaced */
	uint64_t voter_stable_ms;	 /* a non-voter alive this long may be promoted */
	uint64_t bootstrap_settle_ms;	 /* N members seen this long before proposing */
	uint64_t announce_ms;		 /* leader re-announces itself this often */
};

enum elect_role {
	ELECT_NONVOTER = 0, /* not in the voter set (or not as this state id) */
	ELECT_FOLLOWER,
	ELECT_PRECANDIDATE, /* asking for pre-votes; the term is not raised yet */
	ELECT_CANDIDATE,
	ELECT_LEADER,
	ELECT_ROLE_COUNT,
};

/* Membership as the shell's SWIM sees it. */
enum elect_member_status {
	ELECT_MEMBER_ALIVE = 0,
	ELECT_MEMBER_SUSPECT,
	ELECT_MEMBER_DEAD,
	ELECT_MEMBER_LEFT, /* gone for good (graceful leave, or reaped) */
};

enum elect_admit {
	ELECT_ADMIT_NO = 0,	 /* not in the cloud inventory under the cluster tag */
	ELECT_ADMIT_YES = 1,	 /* listed (or token-less mode: holds the cluster key) */
	ELECT_ADMIT_UNKNOWN = 2, /* not known yet: the shell is asking; the core asks again */
};

/* Why an incoming message was dropped (counted; elect_refused_name). */
enum elect_refuse {
	ELECT_REFUSE_MALFORMED = 0, /* elect_msg_decode refused it */
	ELECT_REFUSE_UNKNOWN_KEY,   /* no public key pinned for the sender */
	ELECT_REFUSE_BAD_SIGNATURE,
	ELECT_REFUSE_WRONG_RECEIVER, /* names another node (a capture replayed to us) */
	ELECT_REFUSE_FROM_SELF,
	ELECT_REFUSE_NOT_VOTER,	 /* needs a voter of our set (id and state id) and is not */
	ELECT_REFUSE_STALE_TERM, /* older than our term */
	ELECT_REFUSE_UNEXPECTED, /* not for our role or state (an old answer, a stray ack) */
	ELECT_REFUSE_BAD_PROOF,	 /* a transfer proof that does not hold */
	ELECT_REFUSE_PERSIST,	 /* it needed a durable write that failed */
	ELECT_REFUSE_COUNT,
};

enum elect_event_type {
	ELECT_EV_ROLE = 1,	 /* our role changed: role, term */
	ELECT_EV_LEADER,	 /* the leader we know changed: leader (0: none), term */
	ELECT_EV_VOTERS,	 /* the committed voter set changed */
	ELECT_EV_LEASE,		 /* we gained (leading true) or lost our lease */
	ELECT_EV_ANNOUNCE,	 /* leader: gossip a fresh elect_announce_build() now */
	ELECT_EV_QUORUM,	 /* quorum_lost changed (elect_status says the step) */
	ELECT_EV_PERSIST_FAILED, /* ops->persist failed: no vote or ack went out */
};

struct elect_event {
	enum elect_event_type type;
	enum elect_role role;
	uint64_t term;
	uint64_t leader;
	bool leading;
	bool quorum_lost;
	int err; /* PERSIST_FAILED: what persist returned */
};

struct elect_ops {
	/* Sends `len` bytes (a signed message) to node `to`. The protocol
	 * tolerates loss; failures are the shell's to count. */
	void (*send)(void *arg, uint64_t to, const uint8_t *msg, size_t len);
	/* Makes `len` bytes of state durable (state_dir/election: write, fsync,
	 * rename). Returns 0 only once they are; a negative errno otherwise
	 * (a full disk: no vote is sent). The bytes are borrowed for the call. */
	int (*persist)(void *arg, const uint8_t *state, size_t len);
	/* The pinned Ed25519 public key of node `id` into pk: 0, or -ENOENT
	 * when none is pinned. */
	int (*pubkey)(void *arg, uint64_t id, uint8_t pk[ELECT_PK_LEN]);
	/* Uniform 32-bit random numbers. */
	uint32_t (*random)(void *arg);
	/* May node `id` be a voter? Asked by the leader before it proposes one;
	 * may answer UNKNOWN and be asked again later. NULL: always YES. */
	enum elect_admit (*admissible)(void *arg, uint64_t id);
	/* Something changed (struct elect_event, borrowed). May be NULL. Must
	 * not call back into the core. */
	void (*event)(void *arg, const struct elect_event *ev);
};

/* Counters for `mitosis status --json` and the simulator. */
struct elect_stats {
	uint64_t msgs_in, msgs_out, bytes_out;
	uint64_t refused[ELECT_REFUSE_COUNT];
	uint64_t elections; /* pre-vote rounds started */
	uint64_t campaigns; /* vote rounds started (term raised) */
	uint64_t won;	    /* times we became leader */
	uint64_t votes_granted, votes_denied;
	uint64_t persists, persist_failures;
	uint64_t config_changes; /* proposed by us as leader */
	uint64_t snapshots_sent;
};

/* What `mitosis status` shows. */
struct elect_status {
	enum elect_role role;
	uint64_t self, sid;
	uint64_t term;
	uint64_t leader;	    /* 0: none known */
	bool leading;		    /* elect_leading() */
	uint64_t lease_left_ms;	    /* ours when leading; a voter: what is left of its promise
				       to the leader; a non-voter: what the leader announced */
	struct elect_voters voters; /* committed */
	struct elect_voters latest; /* newest (a change may be in flight) */
	uint64_t commit;
	uint32_t voters_alive;	/* voters (by id and state id) SWIM holds alive */
	bool quorum_lost;	/* too few voters alive, and no leader */
	const char *recovery;	/* when quorum_lost: the operator's step */
	bool bootstrapping;	/* no voter set yet */
	const char *boot_phase; /* "waiting", "proposing", "accepted", ... */
};

/* Fills the defaults (docs/election.md says why each). */
void elect_config_default(struct elect_config *c);
/* 0, or -EINVAL with the reason in err (a bad voter count, timeouts that
 * break the lease inequality, ...). */
int elect_config_check(const struct elect_config *c, char *err, size_t errsize);

/* elect_new flags. */
#define ELECT_NEW_STATE_LOST (1U << 0) /* this node had a state; it is gone or was refused */

/*
 * A new election core for node `self` (non-zero). `sk` is its Ed25519 secret
 * key (libsodium's 64-byte form), copied and wiped by elect_free. `state` is
 * the decoded durable state, or NULL when there is none or it was refused:
 * then a new state id is drawn from ops->random and the node starts as a
 * non-voter; its first persist happens from elect_tick. Pass
 * ELECT_NEW_STATE_LOST in flags when the node is known to have had a state
 * (the file was refused, or it is missing while the rest of state_dir is
 * there): such a node never bootstraps, since it may have belonged to a
 * cluster that is only down (docs/election.md, "Bootstrap"). cfg and ops are
 * copied; `arg` is passed to every op. Returns NULL on ENOMEM or a config
 * that elect_config_check refuses. Nothing is sent from here.
 */
struct elect *elect_new(const struct elect_config *cfg, const struct elect_ops *ops, void *arg,
			uint64_t self, const uint8_t sk[ELECT_SK_LEN],
			const struct elect_hard *state, unsigned flags, uint64_t now);
/* Wipes the key and frees. Accepts NULL. */
void elect_free(struct elect *e);

/*
 * One election message (len bytes, borrowed) as received. Decoded, checked
 * (receiver, sender's pinned key and signature, voter set, term) and acted
 * on; refusals are counted by reason (elect_stats.refused). Answers go out
 * through ops->send before this returns. Returns 0 when the message was
 * taken, or the refusal reason as a negative: -(1 + enum elect_refuse).
 */
int elect_receive(struct elect *e, const uint8_t *msg, size_t len, uint64_t now);

/* Runs whatever is due at `now` and returns the next deadline (absolute ms,
 * always > now). Call it after every other call too, as for swim_tick. */
uint64_t elect_tick(struct elect *e, uint64_t now);

/* Membership: member `id` is in `st` since `since` (our clock). Includes
 * ourselves (we count as alive regardless). -ENOMEM when the table cannot
 * grow (the member is then not known). */
int elect_member(struct elect *e, uint64_t id, enum elect_member_status st, uint64_t since,
		 uint64_t now);

/*
 * Membership: member `id` gossips that it is being retired (draining), or
 * no longer. The leader removes a draining voter from the voter set at
 * once, while it still answers (even when that makes the count even), and
 * never promotes a draining member: a retirement must never take a
 * majority of the voters with it (docs/election.md, "The voter set"). The
 * shell calls it whenever a member's gossiped draining flag changes, and
 * for every draining member at start. 0 or -ENOMEM (as elect_member).
 */
int elect_member_draining(struct elect *e, uint64_t id, bool draining, uint64_t now);

/*
 * The policy's question: true when we are the leader, our first entry of
 * this term is committed, and the lease we hold is valid at `now`; then
 * *term (may be NULL) is the term every cloud call must carry and
 * *lease_left_ms (may be NULL) how long it stays valid if no round is acked
 * meanwhile. Check it right before each mutating call.
 */
bool elect_leading(const struct elect *e, uint64_t now, uint64_t *term, uint64_t *lease_left_ms);

/* Operator: hand leadership to `target` (0: the best voter). The leader
 * gives up its lease, then sends TIMEOUT_NOW; we are a follower on return.
 * -EPERM when not leading, -ENOENT when target is not a voter, -EAGAIN when
 * no voter is caught up and reachable (nothing changed then). */
int elect_transfer(struct elect *e, uint64_t target, uint64_t now);
/* Operator: give up the lease and leadership without choosing a successor
 * (the others elect one after their promises run out). -EPERM when not the
 * leader. */
int elect_step_down(struct elect *e, uint64_t now);
/*
 * Operator, for a lost quorum only: makes this node the sole voter, in a new
 * term, at an index far past anything the old voters can hold, and persists
 * it; it then elects itself and re-admits the others as the autopilot finds
 * them. UNSAFE if the old majority still lives (two clusters would act):
 * docs/election.md, "Lost quorum". -EBUSY when we follow a live leader,
 * -ERANGE when the term or index is at its bound (ELECT_TERM_MAX,
 * ELECT_INDEX_MAX: a forged or corrupt state), -EIO when the state cannot be
 * persisted.
 */
int elect_force_recover(struct elect *e, uint64_t now);

/*
 * Leader announcement for non-voters, spread by the shell's gossip: signed,
 * carries the term, the leader's id and state id, the committed voter set
 * and the lease left. Returns 0 and *len, -EPERM when not leading, or
 * -EMSGSIZE. Ingest one with elect_receive (its receiver is 0).
 */
int elect_announce_build(struct elect *e, uint64_t now, uint8_t *buf, size_t size, size_t *len);

void elect_status(const struct elect *e, uint64_t now, struct elect_status *out);
void elect_stats(const struct elect *e, struct elect_stats *out);
enum elect_role elect_role(const struct elect *e);
uint64_t elect_term(const struct elect *e);
/* The leader we know in our term (0: none). */
uint64_t elect_leader(const struct elect *e);
/* Our durable state as last persisted (borrowed). */
const struct elect_hard *elect_hard(const struct elect *e);

const char *elect_role_name(enum elect_role r);
const char *elect_refuse_name(enum elect_refuse r);

#endif
