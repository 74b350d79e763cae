/*
 * swim_priv: what the files of the membership core share (common/swim.c:
 * lifecycle, probes, timers and dispatch; common/swim_merge.c: records,
 * signatures, bounds and strangers; common/swim_digest.c: push-pull). Private
 * to common/swim*.c: it lives beside them, not in include/, and nothing
 * outside the core includes it. Internal functions are named swim__x.
 */
#ifndef SWIM_PRIV_H
#define SWIM_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "swim.h"
#include "swim_bcast.h"
#include "swim_claims.h"
#include "swim_codec.h"
#include "swim_suspicion.h"
#include "swim_table.h"

#define SWIM_MAX_MEMBERS	      65536U /* the wire receiver's default sender table */
#define SWIM_INDIRECT_MAX	      16U    /* helpers per indirect probe */
#define SWIM_FANOUT_MAX		      16U
#define SWIM_RELAY_MAX		      32U /* indirect probes we run for others at once */
#define SWIM_FIX_MAX		      4U  /* corrections sent back per message */
#define SWIM_LAST_CHANCE	      3U /* pings to a weakly confirmed suspect before it is dead */
#define SWIM_SEEDS_MAX		      64U
#define SWIM_JOIN_BACKOFF_MAX	      30000U
#define SWIM_MS_MAX		      (30ULL * 24 * 3600 * 1000) /* no interval may exceed 30 days */
#define SWIM_PUSHPULL_SCALE_THRESHOLD 32 /* memberlist's pushPullScaleThreshold */
#define SWIM_MIN_PAYLOAD	      (SWIM_HEADER_MAX_LEN + SWIM_RECORD_MAX_LEN)
#define SWIM_JOINING_MAX	      1024U /* config bound of max_joining */
/* A stranger's own application claims kept while it is pinged: the agent's
 * node claim, and its protect claim. */
#define SWIM_JOINING_APPS 2U
/* Probes at once: the round-robin probe (slot 0) and up to this many - 1
 * confirmation probes of members that others suspect. */
#define SWIM_PROBES 4U
/* Members that check a suspicion they heard of, on average (their failures
 * are the independent confirmations that shorten the suspicion). */
#define SWIM_CONFIRMERS 3U
/* A node that has just joined does one push-pull this long (plus up to as
 * much again at random) after it first knows a peer: when many nodes start
 * together, each got the table of a cluster that was still forming. */
#define SWIM_SETTLE_PUSHPULL_MS 5000U

/* What a reply is, for its budget (swim__reply_ok). */
enum swim_reply {
	SWIM_REPLY_ANSWER = 0, /* push-pull: our digest, and the records a peer lacks */
	SWIM_REPLY_FIX,	       /* corrections of a stale accusation */
	SWIM_REPLY_WHO,	       /* our own record, to a stranger or on request */
	SWIM_REPLY_KINDS,
};

struct swim_probe {
	bool active;
	bool confirm; /* checks a suspicion someone else raised */
	bool acked;
	bool retried;  /* the direct ping was sent again */
	bool indirect; /* the probe timeout passed: helpers were asked */
	uint32_t seq;
	uint64_t target;
	struct swim_addr addr;
	uint64_t retry_at;
	uint64_t timeout_at;
	uint64_t end_at;
	uint32_t nhelpers;
	uint32_t nacks;
	uint64_t helpers[SWIM_INDIRECT_MAX];
	bool nacked[SWIM_INDIRECT_MAX];
};

/* An indirect probe we run on behalf of `requester`. */
struct swim_relay {
	uint32_t seq;	  /* our ping to the target */
	uint32_t req_seq; /* the requester's probe */
	bool retried;
	uint64_t target;
	struct swim_addr target_addr;
	uint64_t to_id;	     /* the requester */
	struct swim_addr to; /* ... and its address */
	uint64_t retry_at;
	uint64_t nack_at;
};

/* A stranger's own application claim, held until it answers its ping. */
struct swim_joining_app {
	struct swim_claim c; /* kind 0: none */
	uint8_t sig[SWIM_SIG_LEN];
	bool gossip;
};

/*
 * A stranger with a valid self-signed claim, being pinged before it enters
 * the table: a flood of invented members costs a ping each and never reaches
 * the probe order, the suspicion timers or the gossip.
 */
struct swim_joining {
	struct swim_record claim; /* MEMBER, with its key */
	struct swim_record load;  /* LOAD (kind 0: none yet) */
	/* Its own application claims, checked with claim.key. */
	struct swim_joining_app apps[SWIM_JOINING_APPS];
	uint32_t seq;
	bool retried;
	bool gossip; /* pass it on once admitted (not learnt from a push-pull) */
	uint64_t retry_at;
	uint64_t end_at;
};

/* A token bucket, in thousandths of a token (the signature check budget). */
struct swim_bucket {
	uint64_t milli;
	uint64_t last;
};

struct swim {
	struct swim_config cfg;
	struct swim_ops ops;
	void *arg;
	struct swim_table tab;
	struct swim_bcast bq;
	struct swim_bcast cq; /* application claims waiting to be sent (slot + 1) */
	struct swim_claims claims;
	struct swim_suspicions susp;
	struct swim_stats st;
	uint32_t awareness;
	uint32_t seq;
	bool left;
	bool settled;	      /* the push-pull that follows our join is scheduled */
	uint64_t next_settle; /* ...for then (UINT64_MAX: none pending) */
	uint64_t next_soon;   /* a push-pull right after joining, or after strangers
				 were turned away for room (UINT64_MAX: none) */
	struct swim_probe probes[SWIM_PROBES]; /* [0]: the round-robin probe */
	struct swim_relay relays[SWIM_RELAY_MAX];
	uint32_t nrelays;
	/* Strangers being pinged, up to cfg.max_joining: allocated while there
	 * are any (swim_joining_slot), freed when the last one is done. */
	struct swim_joining *joining;
	uint32_t njoining;
	bool joining_overflow; /* a stranger was refused for room: ask again soon */
	struct budget *replies[SWIM_REPLY_KINDS];     /* per source address and claimed id */
	struct budget *replies_all[SWIM_REPLY_KINDS]; /* all requests together */
	struct swim_bucket verify;
	struct swim_bucket load_out; /* load_bytes_per_sec, in thousandths of a byte */
	uint64_t fix[SWIM_FIX_MAX];  /* members to correct the current sender about */
	uint32_t nfix;
	uint64_t next_probe;
	uint64_t next_gossip;
	uint64_t next_pushpull;
	uint64_t next_join; /* UINT64_MAX: no join pending */
	uint64_t join_backoff;
	struct swim_load load_pending; /* our sample waiting for load_min_interval */
	bool load_waiting;
	uint64_t next_load; /* when it may go out (UINT64_MAX: nothing waits) */
	uint64_t load_sent_at;
	uint64_t news_sent_at; /* the last sample that went out as news (UINT64_MAX: none) */
	bool news_round;       /* our news went out: the next gossip round carries it */
	struct swim_addr *seeds;
	size_t nseeds;
	uint8_t *buf; /* cfg.max_payload bytes: the message being built */
};

/* swim.c */
struct swim_member *swim__me(struct swim *s);
uint64_t swim__min(uint64_t a, uint64_t b);
bool swim__addr_eq(const struct swim_addr *a, const struct swim_addr *b);
uint64_t swim__wall_ms(struct swim *s, uint64_t now);
/* Adds what `per_sec` tokens a second earned since the last refill, up to a
 * burst of two seconds' worth (all in thousandths of a token). */
void swim__bucket_refill(struct swim_bucket *b, uint64_t per_sec, uint64_t now);
void swim__event(struct swim *s, const struct swim_member *m, enum swim_state old, bool is_new);
void swim__queue(struct swim *s, uint64_t id, uint64_t from);
void swim__queue_load(struct swim *s, uint64_t id);
void swim__transition(struct swim *s, struct swim_member *m, enum swim_state st, uint64_t accuser,
		      const uint8_t *sig, uint64_t now);
void swim__fix_add(struct swim *s, uint64_t id);
void swim__send(struct swim *s, uint64_t to_id, const struct swim_addr *to, uint8_t type,
		size_t len);
void swim__send_probe_msg(struct swim *s, uint8_t type, uint64_t to_id, const struct swim_addr *to,
			  uint32_t seq, uint64_t target, const uint64_t *first, uint32_t nfirst);
void swim__send_self(struct swim *s, uint64_t to_id, const struct swim_addr *to, uint8_t flags);
uint32_t swim__pick(struct swim *s, uint32_t k, uint64_t exclude, bool alive_only, uint64_t now,
		    uint32_t *out);
/* Spends one reply of `kind` from the budgets of all requests, of `id` (0:
 * not charged) and of `addr` (NULL: not charged). False (and counted) when
 * one is spent. */
bool swim__reply_ok(struct swim *s, enum swim_reply kind, uint64_t id, const struct swim_addr *addr,
		    uint64_t now);
/* Appends m's records as one unit, all of them or -EMSGSIZE and none: with
 * `claim`, its MEMBER record (with its key when `key`) and, when it is
 * SUSPECT or DEAD, its ACCUSE record quoting `from` (0: the first accuser);
 * with `load`, its LOAD record when it has one. */
int swim__put_member(struct swim *s, struct swim_writer *w, const struct swim_member *m,
		     uint64_t from, bool claim, bool key, bool load);

/* swim_merge.c */
void swim__apply_record(struct swim *s, const struct swim_record *r, uint64_t sender,
			bool via_state, uint64_t now);
void swim__sign_self(struct swim *s);
/* Our own verdict (SUSPECT after a failed probe, DEAD when a suspicion ran
 * out), signed and applied. */
void swim__verdict(struct swim *s, struct swim_member *m, enum swim_state st, uint64_t now);
/* An accusation of us at `inc` (by `from`): refuted at our incarnation + 1. */
void swim__refute(struct swim *s, uint64_t inc, uint64_t from, uint64_t now);
void swim__sign_load(struct swim *s);
bool swim__joining_ack(struct swim *s, uint64_t from_id, uint32_t seq, uint64_t now);
void swim__tick_joining(struct swim *s, uint64_t now);
uint64_t swim__joining_next(const struct swim *s);
int swim__admit(struct swim *s, const struct swim_record *claim, const struct swim_record *load,
		bool gossip, uint64_t now);

/* swim_digest.c */
void swim__pushpull_to(struct swim *s, uint64_t to_id, const struct swim_addr *to, uint8_t flags);
void swim__on_digest(struct swim *s, uint64_t from_id, const struct swim_addr *from,
		     const struct swim_msg *msg, uint64_t now);
bool swim__known_at(const struct swim *s, uint64_t id, const struct swim_addr *addr);

#endif
