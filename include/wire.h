/*
 * wire: the authenticated datagram envelope every agent speaks (docs/protocol.md
 * has the byte-by-byte layout; keep the two in step). Version 2.
 *
 *   off  len  field
 *     0    2  magic "mi"
 *     2    1  version (2)
 *     3    1  message type (bits 0-6) | WIRE_SIGNED (bit 7)
 *     4    2  payload length L (big-endian)
 *     6    4  cluster id (the high 32 bits of wire_cluster_id of the cluster name)
 *    10    4  key id of the key that sealed it
 *    14    8  sender node id (droplet id)
 *    22    8  sender incarnation
 *    30    6  per-sender sequence, from 1, +1 per datagram (48 bits)
 *    36    L  payload
 *  36+L   64  Ed25519 signature over bytes [0, 36+L), only when WIRE_SIGNED
 *   ...   16  tag: keyed BLAKE2b-128 (the key's tag key) over every byte before it
 *
 * The 16-byte tag authenticates every datagram: only holders of the cluster
 * keyring can make one. The Ed25519 signature is optional (a sender setting):
 * while every node holds the same keyring it proves nothing more than the tag,
 * and it costs 64 bytes and a ~40 us verification per datagram; it is there
 * for messages that will need a signature checkable without the tag key.
 *
 * A datagram is at most WIRE_MAX_DATAGRAM bytes. The receiver checks, cheapest
 * first: size, magic and version, length field, cluster id, key id, tag,
 * replay window, then for signed datagrams the per-source budget and the
 * signature, and only then does it advance the replay window. Replays are
 * refused before the budget so that replayed captures from a spoofed address
 * cannot spend a real sender's budget. Every rejection is counted by reason.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyring.h"

#define WIRE_MAGIC	"mi"
#define WIRE_VERSION	2
#define WIRE_HEADER_LEN 36
#define WIRE_SIG_LEN	64
#define WIRE_TAG_LEN	16
#define WIRE_SIGNED	0x80U /* type byte: a signature follows the payload */
#define WIRE_TYPE_MAX	0x7fU /* message types are 1..127 */
#define WIRE_SEQ_MAX	((UINT64_C(1) << 48) - 1)
/* Bytes around the payload: unsigned, and signed. */
#define WIRE_OVERHEAD	     (WIRE_HEADER_LEN + WIRE_TAG_LEN)
#define WIRE_SIGNED_OVERHEAD (WIRE_OVERHEAD + WIRE_SIG_LEN)
#define WIRE_MAX_DATAGRAM    1400
/* The largest payload, so that it fits signed or not. */
#define WIRE_MAX_PAYLOAD (WIRE_MAX_DATAGRAM - WIRE_SIGNED_OVERHEAD)
/* Sequences up to this far behind the highest accepted are still taken once
 * (reordering); older ones count as replays. */
#define WIRE_REPLAY_WINDOW 64

enum wire_verdict {
	WIRE_ACCEPT = 0,
	WIRE_DROP_TRUNCATED,	 /* shorter than the envelope or its length field */
	WIRE_DROP_OVERSIZED,	 /* longer than WIRE_MAX_DATAGRAM */
	WIRE_DROP_MALFORMED,	 /* bad magic, unknown version, trailing bytes */
	WIRE_DROP_WRONG_CLUSTER, /* cluster id is not ours */
	WIRE_DROP_UNKNOWN_KEY,	 /* key id not in our keyring */
	WIRE_DROP_BAD_TAG,	 /* the tag does not authenticate it: junk or tampering */
	WIRE_DROP_OVER_BUDGET,	 /* signed, and the source spent its verification budget */
	WIRE_DROP_REPLAY,	 /* sequence or incarnation not newer than accepted */
	WIRE_DROP_BAD_SIGNATURE, /* Ed25519 verification failed */
	WIRE_VERDICT_COUNT,
};

struct wire_msg {
	uint8_t type; /* without the WIRE_SIGNED bit */
	bool sig;     /* it carried a valid Ed25519 signature */
	uint32_t key_id;
	uint32_t cluster_id; /* as on the wire: wire_cluster_id(name) >> 32 */
	uint64_t node_id;
	uint64_t incarnation;
	uint64_t seq;
	const uint8_t *payload; /* points into the datagram passed in */
	size_t payload_len;
};

/* Sender state: one per agent. `kr` is borrowed. */
struct wire_sender {
	const struct keyring *kr;
	uint64_t cluster_id;
	uint64_t node_id;
	uint64_t incarnation;
	uint64_t next_seq; /* starts at 1 */
	bool sign;	   /* add an Ed25519 signature (default false) */
};

struct wire_receiver_limits {
	uint32_t max_senders;	 /* replay windows kept; default 65536 */
	uint32_t budget_per_sec; /* signature checks per source per second; default 2000 */
	uint32_t budget_burst;	 /* bucket size; default 4000 */
	uint32_t budget_sources; /* sources tracked for budgets; default 4096 */
};

struct wire_receiver;

/* "truncated", "bad-signature", ...: stable names used in logs and --json. */
const char *wire_verdict_name(enum wire_verdict v);

/* 64-bit cluster id: first 8 bytes (big-endian) of BLAKE2b-256("mitosis cluster " + name).
 * Datagrams carry its high 32 bits. */
uint64_t wire_cluster_id(const char *cluster_name);

void wire_sender_init(struct wire_sender *s, const struct keyring *kr, uint64_t cluster_id,
		      uint64_t node_id, uint64_t incarnation);
/*
 * Seals one datagram of message type `type` (1..WIRE_TYPE_MAX) into out
 * (outsize >= WIRE_OVERHEAD + len, or WIRE_SIGNED_OVERHEAD + len when s->sign)
 * with the primary key and the next sequence. Returns 0 and *outlen, or
 * -EMSGSIZE when len > WIRE_MAX_PAYLOAD, -ENOBUFS when out is too small,
 * -EINVAL for a bad type or no primary key, -EOVERFLOW when the 48-bit
 * sequence is spent (the caller must start a new incarnation).
 */
int wire_encode(struct wire_sender *s, uint8_t type, const void *payload, size_t len, uint8_t *out,
		size_t outsize, size_t *outlen);

/* Default limits filled in. */
void wire_receiver_limits_default(struct wire_receiver_limits *l);
/* New receiver for our cluster; `kr` borrowed; `limits` copied (NULL = defaults).
 * NULL on ENOMEM. */
struct wire_receiver *wire_receiver_new(uint64_t cluster_id, const struct keyring *kr,
					const struct wire_receiver_limits *limits);
void wire_receiver_free(struct wire_receiver *r);
/* Swaps the keyring (after a reload); replay state is kept. */
void wire_receiver_set_keyring(struct wire_receiver *r, const struct keyring *kr);

/*
 * Checks one datagram from source address bytes `src` (srclen bytes, e.g. a
 * sockaddr_in's address and port) at time now_ms. On WIRE_ACCEPT fills *msg,
 * whose payload points into buf. Every verdict, accept included, is counted.
 */
enum wire_verdict wire_receive(struct wire_receiver *r, const uint8_t *buf, size_t len,
			       const void *src, size_t srclen, uint64_t now_ms,
			       struct wire_msg *msg);

/* Count of datagrams given verdict v so far. */
uint64_t wire_receiver_count(const struct wire_receiver *r, enum wire_verdict v);

#endif
