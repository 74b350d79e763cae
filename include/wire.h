/*
 * wire: the authenticated datagram envelope every agent speaks (docs/protocol.md
 * has the byte-by-byte layout; keep the two in step). Version 3.
 *
 *   off  len  field
 *     0    2  magic "mi"
 *     2    1  version (3)
 *     3    1  message type (bits 0-5, 1..63) | WIRE_BIND_ADDR (bit 6) | WIRE_SIGNED (bit 7)
 *     4    2  payload length L (big-endian)
 *     6    4  cluster id (the high 32 bits of wire_cluster_id of the cluster name)
 *    10    4  key id of the key that sealed it
 *    14    8  sender node id (droplet id)
 *    22    8  stamp: the sender's wall clock in ms << 12, plus a counter
 *    30    L  payload
 *  30+L   64  Ed25519 signature over bytes [0, 30+L), only when WIRE_SIGNED
 *   ...   16  tag: keyed BLAKE2b-128 (the key's tag key) over the receiver's
 *             binding (not sent) and every byte before the tag
 *
 * Destination binding: the tag also covers, without sending it, whom the
 * datagram is for: the receiver's node id (8 bytes), or when the sender does
 * not know it yet (a seed, a first contact) the address it sends to
 * (WIRE_BIND_ADDR set). A datagram captured on its way to B therefore fails
 * the tag at every other node: it costs 0 bytes on the wire.
 *
 * The stamp replaces version 2's incarnation and sequence: it grows with every
 * datagram the sender seals, across restarts too (the clock moved on), and a
 * receiver takes it only within WIRE_MAX_SKEW_MS of its own clock, so nobody
 * can push a sender's stamp far ahead and lock its datagrams out, and an old
 * capture is worthless even to a receiver that restarted.
 *
 * The receiver checks, cheapest first: size, magic and version, length field,
 * cluster id, key id, tag, clock bound, replay filter, then for signed
 * datagrams the per-source budget and the signature, and only then records
 * the stamp. Every rejection is counted by reason.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyring.h"

#define WIRE_MAGIC	"mi"
#define WIRE_VERSION	3
#define WIRE_HEADER_LEN 30
#define WIRE_SIG_LEN	64
#define WIRE_TAG_LEN	16
#define WIRE_SIGNED	0x80U /* type byte: a signature follows the payload */
#define WIRE_BIND_ADDR	0x40U /* type byte: bound to the receiver's address, not its id */
#define WIRE_TYPE_MAX	0x3fU /* message types are 1..63 */
/* Bytes around the payload: unsigned, and signed. */
#define WIRE_OVERHEAD	     (WIRE_HEADER_LEN + WIRE_TAG_LEN)
#define WIRE_SIGNED_OVERHEAD (WIRE_OVERHEAD + WIRE_SIG_LEN)
#define WIRE_MAX_DATAGRAM    1400
/* The largest payload, so that it fits signed or not. */
#define WIRE_MAX_PAYLOAD (WIRE_MAX_DATAGRAM - WIRE_SIGNED_OVERHEAD)
/* Stamps: milliseconds in the high 52 bits, a counter in the low 12. */
#define WIRE_STAMP_SHIFT 12
/* How far a stamp may be from the receiver's clock, either way. Cluster
 * clocks must agree better than this (NTP; docs/protocol.md). */
#define WIRE_MAX_SKEW_MS 30000
/* The most self addresses a receiver accepts address-bound datagrams for. */
#define WIRE_SELF_ADDRS 4
/* Bytes of an address binding: family (4 or 6), 16 address bytes (IPv4 in
 * the first 4, the rest 0), port big-endian. */
#define WIRE_ADDR_LEN 19

enum wire_verdict {
	WIRE_ACCEPT = 0,
	WIRE_DROP_TRUNCATED,	 /* shorter than the envelope or its length field */
	WIRE_DROP_OVERSIZED,	 /* longer than WIRE_MAX_DATAGRAM */
	WIRE_DROP_MALFORMED,	 /* bad magic, unknown version, trailing bytes */
	WIRE_DROP_WRONG_CLUSTER, /* cluster id is not ours */
	WIRE_DROP_UNKNOWN_KEY,	 /* key id not in our keyring */
	WIRE_DROP_BAD_TAG,	 /* the tag does not authenticate it (for us): junk, tampering,
				    or meant for another node */
	WIRE_DROP_OVER_BUDGET,	 /* signed, and the source spent its verification budget */
	WIRE_DROP_REPLAY,	 /* stamp taken already, or older than the filter */
	WIRE_DROP_BAD_SIGNATURE, /* Ed25519 verification failed */
	WIRE_DROP_STALE,	 /* stamp more than WIRE_MAX_SKEW_MS behind our clock */
	WIRE_DROP_FUTURE,	 /* stamp more than WIRE_MAX_SKEW_MS ahead of our clock */
	WIRE_VERDICT_COUNT,
};

/* An address as the binding sees it (see WIRE_ADDR_LEN). */
struct wire_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t ip[16];
	uint16_t port;
};

struct wire_msg {
	uint8_t type;	 /* without the flag bits */
	bool sig;	 /* it carried a valid Ed25519 signature */
	bool bound_addr; /* it was bound to our address, not our id (a first contact) */
	uint32_t key_id;
	uint32_t cluster_id; /* as on the wire: wire_cluster_id(name) >> 32 */
	uint64_t node_id;
	uint64_t stamp;
	const uint8_t *payload; /* points into the datagram passed in */
	size_t payload_len;
};

/* Sender state: one per agent. `kr` is borrowed. */
struct wire_sender {
	const struct keyring *kr;
	uint64_t cluster_id;
	uint64_t node_id;
	uint64_t last_stamp; /* of the last datagram sealed */
	bool sign;	     /* add an Ed25519 signature (default false) */
};

struct wire_receiver_limits {
	uint32_t max_senders;	 /* replay filters kept; default 65536 */
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
		      uint64_t node_id);
/*
 * Seals one datagram of message type `type` (1..WIRE_TYPE_MAX) for the node
 * `to_id`, or when to_id is 0 for whoever is at `to_addr`, at wall-clock
 * time wall_ms, into out (outsize >= WIRE_OVERHEAD + len, or
 * WIRE_SIGNED_OVERHEAD + len when s->sign) with the primary key. The stamp
 * is max(last + 1, wall_ms << 12). Returns 0 and *outlen, or -EMSGSIZE when
 * len > WIRE_MAX_PAYLOAD, -ENOBUFS when out is too small, -EINVAL for a bad
 * type, no primary key, or neither a receiver id nor an address.
 */
int wire_encode(struct wire_sender *s, uint8_t type, const void *payload, size_t len,
		uint64_t to_id, const struct wire_addr *to_addr, uint64_t wall_ms, uint8_t *out,
		size_t outsize, size_t *outlen);

/* Default limits filled in. */
void wire_receiver_limits_default(struct wire_receiver_limits *l);
/* New receiver for node `self_id` of our cluster; `kr` borrowed; `limits`
 * copied (NULL = defaults). NULL on ENOMEM or a self_id of 0. */
struct wire_receiver *wire_receiver_new(uint64_t cluster_id, uint64_t self_id,
					const struct keyring *kr,
					const struct wire_receiver_limits *limits);
void wire_receiver_free(struct wire_receiver *r);
/* Swaps the keyring (after a reload); replay state is kept. */
void wire_receiver_set_keyring(struct wire_receiver *r, const struct keyring *kr);
/* An address this node is reached at (bind, advertise): address-bound
 * datagrams are taken for any of them. 0, -EEXIST, or -ENOSPC past
 * WIRE_SELF_ADDRS. */
int wire_receiver_add_address(struct wire_receiver *r, const struct wire_addr *a);

/*
 * Checks one datagram from source address bytes `src` (srclen bytes, e.g. a
 * sockaddr_in's address and port) at monotonic time now_ms (budgets) and
 * wall-clock time wall_ms (the stamp's bound). On WIRE_ACCEPT fills *msg,
 * whose payload points into buf. Every verdict, accept included, is counted.
 */
enum wire_verdict wire_receive(struct wire_receiver *r, const uint8_t *buf, size_t len,
			       const void *src, size_t srclen, uint64_t now_ms, uint64_t wall_ms,
			       struct wire_msg *msg);

/* Count of datagrams given verdict v so far. */
uint64_t wire_receiver_count(const struct wire_receiver *r, enum wire_verdict v);

#endif
