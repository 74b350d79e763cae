/*
 * swim: cluster membership and load gossip, SWIM with Lifeguard's three
 * extensions, as a pure state machine (docs/membership.md).
 *
 * Events in: swim_on_message() for a verified datagram (the wire envelope has
 * already checked its tag, cluster, destination and replay, and names the
 * sender's node id), swim_tick() when the deadline it returned has come,
 * swim_join(), swim_leave(), swim_set_load(), swim_claim_publish(). Time is
 * always passed in as `now` (ms, any monotonic origin). Actions out go through
 * struct swim_ops: datagrams to send (payload only; the caller seals them in
 * the envelope), member events, signatures, application claims. Randomness
 * comes from ops->random so the simulator is deterministic.
 *
 * Node keys (docs/protocol.md, "Node keys"): every claim a node makes about
 * itself (ALIVE, LEFT, its address and name, its load samples) is signed with
 * its own key and relayed unchanged; the key travels in its member record and
 * is pinned per node id. Claims about others (SUSPECT, DEAD) are bounded to
 * the incarnation their subject signed. A node never heard of is admitted only
 * with a valid self-signed claim, and only once it has answered a ping.
 *
 * Nothing here allocates per message; the member table grows with the
 * cluster. Nothing here does I/O.
 */
#ifndef SWIM_H
#define SWIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWIM_NAME_MAX 64 /* bytes of a member name, including the NUL */
#define SWIM_APP_MAX                                                                               \
	224 /* bytes of an application claim's data: a signed leader                               \
	     * announcement with 7 voters (221) fits */
/* How far ahead of our clock an incarnation (ms) or a load version (s) may
 * be; the envelope's bound (WIRE_MAX_SKEW_MS) is the same. */
#define SWIM_MAX_SKEW_MS 30000

/* Message types carried in the wire envelope's type byte (docs/protocol.md). */
enum swim_msg_type {
	SWIM_MSG_PING = 1,     /* probe; piggybacks updates */
	SWIM_MSG_ACK = 2,      /* answer to a ping (direct or relayed) */
	SWIM_MSG_PING_REQ = 3, /* ask a peer to probe a target for us */
	SWIM_MSG_NACK = 4,     /* Lifeguard: the helper did not hear the target */
	SWIM_MSG_STATE = 5,    /* push-pull chunk: a batch of member records */
	SWIM_MSG_GOSSIP = 6,   /* updates only, sent each gossip interval */
	SWIM_MSG_DIGEST = 7,   /* push-pull: what the sender holds, member by member */
};

enum swim_state {
	SWIM_ALIVE = 0,
	SWIM_SUSPECT = 1,
	SWIM_DEAD = 2,
	SWIM_LEFT = 3, /* graceful leave: not a failure */
};

struct swim_addr {
	uint8_t family; /* 4 or 6 */
	uint16_t port;
	uint8_t ip[16]; /* 4 bytes used for IPv4 */
};

/* One node's load, as gossiped. Fixed point so every node computes the same mean. */
struct swim_load {
	uint32_t version;	 /* bumped by the owner on each new sample; 0 = none yet */
	uint16_t cpu_permille;	 /* CPU utilisation, EWMA, 0..1000 */
	uint16_t load1_permille; /* load1 / ncpu x 1000, capped at 65535 */
	uint16_t mem_permille;	 /* memory in use, 0..1000 */
	bool has_custom;
	int64_t custom_milli; /* custom metric x 1000 (e.g. requests/s) */
};

/*
 * An application claim (docs/membership.md, "Application claims"): opaque
 * bytes of a registered kind about a subject, signed by its originator's node
 * key, gossiped and relayed unchanged; a higher version for the same (kind,
 * subject) supersedes it. The core never interprets `data`.
 */
struct swim_claim {
	uint8_t kind;	  /* registered with swim_claim_register, 1..255 */
	uint64_t subject; /* what it is about: a node id, 0 for the cluster, ... */
	uint64_t version; /* not 0; a higher one supersedes */
	uint64_t origin;  /* the node that signed it */
	uint8_t len;
	uint8_t data[SWIM_APP_MAX];
};

struct swim_member {
	uint64_t id; /* node id (droplet id) */
	uint64_t incarnation;
	enum swim_state state;
	struct swim_addr addr;
	char name[SWIM_NAME_MAX];
	struct swim_load load;
	uint8_t key[32];       /* its node key, pinned when it was admitted */
	uint8_t sig[64];       /* its signature of its claim (ALIVE or LEFT) at incarnation */
	uint8_t load_sig[64];  /* its signature of `load` */
	uint8_t dead_sig[64];  /* our signature of our verdict, when DEAD */
	uint64_t state_since;  /* local time of the last state change */
	uint64_t updated;      /* local time anything about it last changed */
	uint64_t load_updated; /* local time its load last changed */
};

struct swim_config {
	uint64_t probe_interval_ms;	  /* base period between probes */
	uint64_t probe_timeout_ms;	  /* wait for a direct ack */
	uint64_t gossip_interval_ms;	  /* period of the dedicated gossip round */
	uint32_t gossip_fanout;		  /* peers per gossip round */
	uint32_t indirect_checks;	  /* k helpers asked on a missed ack */
	uint64_t suspicion_unit_ms;	  /* the time unit of the suspicion timeout */
	uint32_t suspicion_min_mult;	  /* min suspicion = mult x log10(N) x unit */
	uint32_t suspicion_max_mult;	  /* max = this x min */
	uint32_t suspicion_confirmations; /* independent suspicions that shrink to min */
	uint32_t retransmit_mult;	  /* an update is sent mult x ceil(log10(N+1)) times */
	uint32_t
		load_retransmit_mult; /* the same for a load sample alone, which only rides along */
	uint32_t awareness_max;	      /* Lifeguard local health multiplier cap */
	uint64_t pushpull_interval_ms; /* full state exchange with one random peer */
	uint64_t reap_after_ms;	       /* dead/left members are forgotten after this */
	uint64_t join_retry_ms;	       /* first retry of an unanswered join; doubles, capped 30 s */
	size_t max_payload;	       /* largest payload to emit (WIRE_MAX_PAYLOAD) */
	uint64_t cluster_id;	       /* signatures are bound to it (wire_cluster_id) */
	uint32_t max_joining;	       /* strangers being checked (pinged) at once */
	uint64_t load_min_interval_ms; /* our samples go out at most this often */
	uint32_t load_news_permille;   /* ... but a jump this big goes at once (swim_set_load) */
	uint32_t load_budget_bytes;    /* load records per datagram, in bytes */
	uint32_t load_bytes_per_sec;   /* load records a second, all datagrams (token bucket) */
	uint32_t verify_per_sec;       /* signature checks a second (token bucket) */
};

/* Outputs. All are required except event. */
struct swim_ops {
	/* Send `len` bytes of message `type` to node `to_id` at `to`; to_id is 0
	 * when the receiver's id is not known (a seed): the envelope then binds
	 * the datagram to the address instead. Failures are the caller's to
	 * count; the protocol tolerates loss. */
	void (*send)(void *arg, uint64_t to_id, const struct swim_addr *to, uint8_t type,
		     const uint8_t *payload, size_t len);
	/* A member appeared, changed state, or its load changed (old_state ==
	 * m->state then). `m` is borrowed for the call only. */
	void (*event)(void *arg, const struct swim_member *m, enum swim_state old_state,
		      bool is_new);
	/* Uniform 32-bit random numbers. */
	uint32_t (*random)(void *arg);
	/* Signs msg[0, len) with this node's key (Ed25519). Required. */
	void (*sign)(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64]);
	/* 0 when sig is key's signature of msg[0, len). Optional: NULL is
	 * Ed25519 (nodekey_verify); simulators may plug a cheaper scheme. */
	int (*verify)(void *arg, const uint8_t key[32], const uint8_t *msg, size_t len,
		      const uint8_t sig[64]);
	/* Wall-clock ms, for the bounds on incarnations and load versions.
	 * Optional: NULL means `now` is wall-clock time (the simulator). */
	uint64_t (*wall)(void *arg);
	/* An application claim arrived whose signature holds and that is newer
	 * than what we hold for its (kind, subject); `c` is borrowed for the
	 * call. Return 0 to accept it (it is stored, relayed, and superseded
	 * later), or a negative errno to refuse it. Optional: NULL refuses
	 * every claim. Never called for our own swim_claim_publish(). */
	int (*claim)(void *arg, const struct swim_claim *c);
};

struct swim_stats {
	uint64_t probes, probe_acks, indirect_probes, nacks_sent, nacks_received;
	uint64_t suspicions, refutations, deaths, leaves, joins;
	uint64_t msgs_in, msgs_out, bytes_out, decode_errors;
	uint64_t confirm_probes; /* probes of members others suspect (in probes too) */
	uint32_t awareness;	 /* current local health multiplier, 0 = healthy */
	/* Refused records, by reason (docs/membership.md, "Refused records"). */
	uint64_t bad_signatures;  /* a signed record whose signature does not hold */
	uint64_t key_mismatches;  /* a key other than the one pinned for that id */
	uint64_t out_of_bounds;	  /* incarnation or load version too far ahead */
	uint64_t unsigned_claims; /* a stranger without key, or LEFT about another */
	uint64_t joining_full;	  /* a stranger refused: max_joining being checked */
	uint64_t joins_failed;	  /* strangers that never answered their ping */
	uint64_t verify_dropped;  /* records not checked: verify_per_sec spent */
	uint64_t replies_refused; /* answers, corrections, WHO replies over budget */
	uint64_t claims;	  /* application claims accepted */
};

struct swim;

/* Fills the defaults (docs/membership.md lists them with their reasons). */
void swim_config_default(struct swim_config *c);

/*
 * New membership state for node `self_id` at `self_addr`, with the starting
 * incarnation (the agent's boot time in ms, so a restart always rejoins with
 * a higher one) and its public node key `key` (ops->sign signs with the
 * matching secret). `cfg` and `ops` are copied; `arg` is passed to every op.
 * NULL on ENOMEM or an invalid config.
 */
struct swim *swim_new(const struct swim_config *cfg, const struct swim_ops *ops, void *arg,
		      uint64_t self_id, uint64_t incarnation, const struct swim_addr *self_addr,
		      const char *name, const uint8_t key[32], uint64_t now);
/* Frees it. Accepts NULL. */
void swim_free(struct swim *s);

/* Asks each seed for its state (push-pull), retrying with backoff until some
 * member answers. Seeds are addresses; their ids are learned from answers.
 * Returns 0 or -EINVAL (n == 0). */
int swim_join(struct swim *s, const struct swim_addr *seeds, size_t n, uint64_t now);
/* True once any other member is known. */
bool swim_joined(const struct swim *s);

/* A verified datagram from node `from_id` at `from`. Malformed payloads are
 * counted (stats.decode_errors) and ignored. */
void swim_on_message(struct swim *s, uint64_t from_id, const struct swim_addr *from, uint8_t type,
		     const uint8_t *payload, size_t len, uint64_t now);

/* Runs every timer due at `now`; returns the next deadline (absolute ms). */
uint64_t swim_tick(struct swim *s, uint64_t now);

/* Graceful leave: gossips our LEFT state; the caller keeps ticking for a
 * short while (a few gossip intervals) so it spreads, then stops. */
void swim_leave(struct swim *s, uint64_t now);

/* Our newest load sample; version (wall-clock seconds, growing) and signature
 * are assigned here. It goes out at once unless the last one went out less
 * than load_min_interval_ms ago; then the newest waits until then. News (a
 * move of load_news_permille since the last one sent) does not wait, once
 * per load_min_interval_ms. */
void swim_set_load(struct swim *s, const struct swim_load *load, uint64_t now);

/*
 * Admits a member known by other means, without the ping a stranger gets: a
 * simulator priming its tables, a test. `claim` must be a MEMBER record with
 * its key (swim_codec.h) and a valid signature. 0, -EINVAL, -EEXIST, -ENOMEM.
 */
struct swim_record;
int swim_prime(struct swim *s, const struct swim_record *claim, uint64_t now);

/* The pinned public key of member `id` (or ours) into key: 0 or -ENOENT.
 * For the election's signed votes and grants (docs/membership.md). */
int swim_member_key(const struct swim *s, uint64_t id, uint8_t key[32]);

/*
 * Application claims (docs/membership.md): accept claims of `kind` (1..255),
 * keeping at most max_entries of them (the least recently updated goes);
 * with `pushpull`, every push-pull carries them too (for a few long-lived
 * claims, such as who leads). 0, -EINVAL, -EEXIST or -ENOMEM.
 */
int swim_claim_register(struct swim *s, uint8_t kind, uint32_t max_entries, bool pushpull);
/* Signs and gossips a claim originated here (c->origin is set to us). Its
 * version must be above the one held for (kind, subject). 0, -EINVAL (kind
 * not registered, bad length), -ESTALE or -ENOMEM. */
int swim_claim_publish(struct swim *s, const struct swim_claim *c, uint64_t now);
/* The claim held for (kind, subject), or NULL. Borrowed until the next call. */
const struct swim_claim *swim_claim_find(const struct swim *s, uint8_t kind, uint64_t subject);

/* Members, self included, in no particular order; index < swim_count(). */
size_t swim_count(const struct swim *s);
const struct swim_member *swim_member_at(const struct swim *s, size_t i);
const struct swim_member *swim_find(const struct swim *s, uint64_t id);
const struct swim_member *swim_self(const struct swim *s);
void swim_stats(const struct swim *s, struct swim_stats *out);

const char *swim_state_name(enum swim_state st);

#endif
