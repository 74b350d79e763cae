/*
 * elect_msg: the election's messages, byte by byte, and their Ed25519
 * signatures (docs/election.md, "Messages"; docs/protocol.md has the same
 * tables). Every message is signed by its sender's node key and names its
 * sender (node id and state id), its receiver and a term:
 *
 *   off  len  field
 *     0    1  version (1)
 *     1    1  type (enum elect_msg_type)
 *     2    1  flags (ELECT_F_*, only those the type allows)
 *     3    1  reason (VOTE_RESP: why denied; BOOT_ACCEPT: the answer; else 0)
 *     4    8  sender node id
 *    12    8  sender state id
 *    20    8  receiver node id (0 only in ANNOUNCE, which is for everybody)
 *    28    8  term
 *    36    B  body (per type)
 *  36+B   64  Ed25519 signature over ELECT_MSG_DOMAIN || bytes [0, 36+B)
 *
 * The domain prefix keeps a signature made for the election from being
 * taken for one of the other structures signed with the same node key.
 * Decoding checks the layout only; verifying is a separate step because the
 * public key comes from the caller (the core asks its ops for it).
 */
#ifndef ELECT_MSG_H
#define ELECT_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elect_log.h"

#define ELECT_MSG_VERSION 1
#define ELECT_MSG_HEADER  36
#define ELECT_SIG_LEN	  64
#define ELECT_PK_LEN	  32
#define ELECT_SK_LEN	  64
#define ELECT_MSG_DOMAIN  "mitosis-elect-v1" /* 16 bytes, signed before the message */
#define ELECT_MSG_MAX	  1284 /* <= WIRE_MAX_PAYLOAD: one message fits one datagram */
/* A TIMEOUT_NOW carried as the proof of a sanctioned campaign. */
#define ELECT_PROOF_LEN (ELECT_MSG_HEADER + ELECT_SIG_LEN)
/* The envelope message type the shell should carry election messages in. */
#define ELECT_WIRE_TYPE 16

enum elect_msg_type {
	ELECT_MSG_PREVOTE = 1,	     /* would you vote for me in term+1? (term = proposed) */
	ELECT_MSG_VOTE = 2,	     /* vote for me in this term */
	ELECT_MSG_VOTE_RESP = 3,     /* grant or deny, for either of the two */
	ELECT_MSG_APPEND = 4,	     /* leader: heartbeat round, entries, commit */
	ELECT_MSG_APPEND_RESP = 5,   /* the lease ack: round echoed, match index */
	ELECT_MSG_SNAPSHOT = 6,	     /* leader: the committed voter set, for a lagging node */
	ELECT_MSG_TIMEOUT_NOW = 7,   /* leader: campaign now, I have given up my lease */
	ELECT_MSG_ANNOUNCE = 8,	     /* leader, to all by gossip: who leads, term, voters */
	ELECT_MSG_BOOT_OFFER = 9,    /* bootstrap: join my initial voter set */
	ELECT_MSG_BOOT_ACCEPT = 10,  /* bootstrap: the answer to an offer (reason) */
	ELECT_MSG_BOOT_RELEASE = 11, /* bootstrap: I gave up that offer, you are free */
	ELECT_MSG_BOOT_CONFIG = 12,  /* bootstrap: the set an offer made (from anyone holding it) */
	ELECT_MSG_TYPE_MAX = 12,
};

/* Flags, by type. */
#define ELECT_F_TRANSFER (1U << 0) /* PREVOTE, VOTE: a sanctioned campaign; the proof follows */
#define ELECT_F_GRANT	 (1U << 0) /* VOTE_RESP: granted */
#define ELECT_F_PRE	 (1U << 1) /* VOTE_RESP: answers a PREVOTE */
#define ELECT_F_SUCCESS	 (1U << 0) /* APPEND_RESP: the entries matched */

/* BOOT_ACCEPT reason byte. */
enum elect_boot_answer {
	ELECT_ANSWER_ACCEPT = 0,
	ELECT_ANSWER_CONFIGURED = 1, /* I already belong to a cluster */
	ELECT_ANSWER_TAKEN = 2,	     /* I accepted another offer */
	ELECT_ANSWER_LOST = 3,	     /* I lost my state: leave me out of the group */
};

/* VOTE_RESP reason byte: why a vote or pre-vote was denied. */
enum elect_deny {
	ELECT_DENY_NONE = 0,
	ELECT_DENY_TERM = 1,	  /* my term is higher (the header carries it) */
	ELECT_DENY_LOG = 2,	  /* your log is behind mine */
	ELECT_DENY_VOTED = 3,	  /* I voted for another candidate in this term */
	ELECT_DENY_LEASE = 4,	  /* I promised a leader (or just started): wait */
	ELECT_DENY_NOT_VOTER = 5, /* reserved: votes are answered without consulting */
	ELECT_DENY_NONVOTER = 6,  /* ...one's own voter set (Raft): 5 and 6 are not sent */
	ELECT_DENY_PERSIST = 7,	  /* I could not write my vote down */
	ELECT_DENY_BAD_PROOF = 8, /* your transfer proof does not hold */
	ELECT_DENY_MAX = 8,
};

enum elect_msg_err {
	ELECT_MSG_OK = 0,
	ELECT_MSG_TRUNCATED,
	ELECT_MSG_TRAILING,
	ELECT_MSG_BAD_VERSION,
	ELECT_MSG_BAD_TYPE,
	ELECT_MSG_BAD_FLAGS,
	ELECT_MSG_BAD_ID,     /* sender 0, receiver 0 (or not 0 for ANNOUNCE), state id 0 */
	ELECT_MSG_BAD_VOTERS, /* count, a zero or repeated id */
	ELECT_MSG_BAD_ENTRY,  /* entry type, or a count over ELECT_TAIL_MAX */
	ELECT_MSG_BAD_INDEX,  /* an index that would overflow, a term over ELECT_TERM_MAX */
	ELECT_MSG_BAD_PROOF,  /* the embedded TIMEOUT_NOW has the wrong size */
	ELECT_MSG_ERR_COUNT,
};

struct elect_msg {
	uint8_t type, flags, reason;
	uint64_t from, from_sid, to, term;
	uint64_t last_index, last_term;		/* PREVOTE, VOTE */
	uint64_t req_term;			/* VOTE_RESP: the term of the request answered */
	uint64_t round;				/* APPEND, APPEND_RESP, SNAPSHOT */
	uint64_t prev_index, prev_term, commit; /* APPEND */
	uint64_t match;				/* APPEND_RESP */
	uint64_t snap_index, snap_term;		/* SNAPSHOT */
	uint64_t lease_left_ms;			/* ANNOUNCE */
	uint32_t gen;				/* BOOT_* */
	uint64_t proposer, proposer_sid;	/* BOOT_ACCEPT, BOOT_CONFIG: whose offer */
	uint32_t nentries;			/* APPEND */
	struct elect_entry entries[ELECT_TAIL_MAX];
	struct elect_voters voters; /* SNAPSHOT, ANNOUNCE, BOOT_OFFER, BOOT_CONFIG */
	const uint8_t *proof;	    /* PREVOTE, VOTE with ELECT_F_TRANSFER: a TIMEOUT_NOW */
	size_t proof_len;
	/* Set by decode: the signed bytes and the signature, inside the buffer. */
	const uint8_t *raw;
	size_t raw_len;
	const uint8_t *sig;
};

/* "truncated", "bad-flags", ...: stable names for logs and counters. */
const char *elect_msg_err_name(enum elect_msg_err e);
/* "prevote", "append", ...; "unknown" out of range. */
const char *elect_msg_type_name(unsigned type);

/*
 * Encodes and signs m (the fields its type uses; raw/sig are ignored) with
 * the sender's Ed25519 secret key `sk` (libsodium's 64-byte form) into out.
 * Returns 0 and *len, -EINVAL for a message decode would refuse (bad type,
 * flags, ids, counts), or -EMSGSIZE when it does not fit `size`.
 */
int elect_msg_encode(const struct elect_msg *m, const uint8_t sk[ELECT_SK_LEN], uint8_t *out,
		     size_t size, size_t *len);

/*
 * Parses buf into m (pointers in m point into buf, which must outlive it).
 * Checks the layout, counts and ids; not the signature. Returns ELECT_MSG_OK
 * or the first fault.
 */
enum elect_msg_err elect_msg_decode(const uint8_t *buf, size_t len, struct elect_msg *m);

/* True when m's signature verifies with the sender's public key pk. */
bool elect_msg_verify(const struct elect_msg *m, const uint8_t pk[ELECT_PK_LEN]);

#endif
