/*
 * swim_codec: the membership payloads (docs/membership.md has the layout byte
 * by byte). Internal to the membership core (common/swim*.c), its tests,
 * fuzzers and simulator; the agent sees only swim.h. Pure and
 * bounds-checked: decoding never reads past `len`, never allocates, and
 * validates the whole payload, every record included, before the caller
 * applies any of it, so a malformed datagram is refused whole.
 *
 * Every payload starts with a version byte (SWIM_CODEC_VERSION), then the
 * type's header fields, then a count byte and that many records, and nothing
 * after them. Integers are big-endian. A record starts with a kind byte (low 3
 * bits: what it is; high bits: its flags):
 *
 *   MEMBER  a node's claim about itself (ALIVE, or LEFT), with its address
 *           and name, optionally its public key, signed by its node key
 *   ACCUSE  a claim about another node: SUSPECT or DEAD at an incarnation,
 *           signed by its accuser (its subject would not sign it)
 *   LOAD    a node's load sample, signed by its node key
 *   APP     an application claim: opaque bytes of a registered kind about a
 *           subject, versioned, signed by its originator's node key
 *   DIGEST  (in DIGEST messages only) what the sender holds of a member:
 *           incarnation, state and load version, for push-pull
 *
 * The signatures cover swim_codec_signed(): a domain string, the cluster id
 * and the record's fields in a fixed layout, so a relay can re-encode a record
 * from its table and the signature still holds, and a signature from another
 * cluster or for another kind of record never does.
 */
#ifndef SWIM_CODEC_H
#define SWIM_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swim.h"

#define SWIM_CODEC_VERSION 2
#define SWIM_KEY_LEN	   32
#define SWIM_SIG_LEN	   64
/* The smallest record: a DIGEST (1 + 8 + 8 + 4). */
#define SWIM_RECORD_MIN_LEN 21
/* The largest: an APP with SWIM_APP_MAX bytes (1 + 1 + 8 + 8 + 8 + 1 + 224 + 64). */
#define SWIM_RECORD_MAX_LEN (27 + SWIM_APP_MAX + SWIM_SIG_LEN)
/* The largest header: PING_REQ with an IPv6 target, plus version and count bytes. */
#define SWIM_HEADER_MAX_LEN 33
/* The longest signed message (an APP claim). */
#define SWIM_SIGNED_MAX (16 + 8 + 1 + 8 + 8 + 8 + 1 + SWIM_APP_MAX)

/* Bytes of each record (name and data lengths aside). */
#define SWIM_MEMBER_LEN4 89 /* MEMBER, IPv4 address, empty name, no key */
#define SWIM_ACCUSE_LEN	 89
#define SWIM_LOAD_LEN	 83 /* + 8 with the custom metric */
#define SWIM_DIGEST_LEN	 21

#define SWIM_STATE_WHO	   (1U << 1) /* STATE flag: answer with your own records */
#define SWIM_STATE_FLAGS   SWIM_STATE_WHO
#define SWIM_DIGEST_ANSWER (1U << 0) /* DIGEST flag: answer with your own digest */
#define SWIM_DIGEST_FLAGS  SWIM_DIGEST_ANSWER

enum swim_rec_kind {
	SWIM_REC_MEMBER = 1,
	SWIM_REC_ACCUSE = 2,
	SWIM_REC_LOAD = 3,
	SWIM_REC_APP = 4,
	SWIM_REC_DIGEST = 5,
};

enum swim_codec_err {
	SWIM_CODEC_OK = 0,
	SWIM_CODEC_TRUNCATED,	/* ended inside a field or before `count` records */
	SWIM_CODEC_TRAILING,	/* bytes after the last record */
	SWIM_CODEC_BAD_TYPE,	/* not a swim_msg_type */
	SWIM_CODEC_BAD_VERSION, /* version byte is not SWIM_CODEC_VERSION */
	SWIM_CODEC_BAD_FLAGS,	/* unknown flag bits (header or record) */
	SWIM_CODEC_BAD_ID,	/* a node id (member, target, accuser, originator) of 0 */
	SWIM_CODEC_BAD_FAMILY,	/* address family not 4 or 6 */
	SWIM_CODEC_BAD_PORT,	/* port 0 */
	SWIM_CODEC_BAD_NAME,	/* longer than SWIM_NAME_MAX - 1, or holds a NUL */
	SWIM_CODEC_BAD_LOAD,	/* version 0, or a permille above 1000 */
	SWIM_CODEC_BAD_KIND,	/* unknown record kind, or one this message may not carry */
	SWIM_CODEC_BAD_APP,	/* application claim: kind 0, version 0 or data too long */
	SWIM_CODEC_ERR_COUNT,
};

/* A decoded header; `rec` points into the payload passed in. */
struct swim_msg {
	uint8_t type;
	uint8_t flags;		      /* STATE, DIGEST */
	uint32_t seq;		      /* PING, ACK, PING_REQ, NACK */
	uint64_t target;	      /* PING, ACK, PING_REQ, NACK */
	struct swim_addr target_addr; /* PING_REQ */
	uint64_t lo, hi;	      /* DIGEST: the ids this chunk covers, inclusive */
	uint8_t count;		      /* records that follow */
	const uint8_t *rec;
	size_t rec_len;
};

/* One record; which fields mean something depends on `kind` (above). */
struct swim_record {
	uint8_t kind;
	uint64_t id;	       /* the member (MEMBER, ACCUSE, LOAD, DIGEST) or the subject (APP) */
	uint64_t incarnation;  /* MEMBER, ACCUSE, DIGEST */
	enum swim_state state; /* MEMBER: ALIVE or LEFT; ACCUSE: SUSPECT or DEAD; DIGEST */
	uint64_t from;	       /* ACCUSE: the accuser */
	struct swim_addr addr; /* MEMBER */
	char name[SWIM_NAME_MAX]; /* MEMBER */
	bool has_key;		  /* MEMBER: key follows */
	uint8_t key[SWIM_KEY_LEN];
	struct swim_load load;	   /* LOAD; DIGEST: load.version only */
	uint8_t sig[SWIM_SIG_LEN]; /* MEMBER, LOAD, APP (by the subject or originator), ACCUSE
				      (by the accuser) */
	struct swim_claim app;	   /* APP (its subject is `id` too) */
};

/* Builds one payload: swim_codec_begin, swim_codec_add..., swim_codec_end. */
struct swim_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	size_t count_off;
	uint8_t count;
};

/* "truncated", "bad-family", ...: stable names for logs and tests. */
const char *swim_codec_err_name(enum swim_codec_err e);

/*
 * Checks a whole payload of message `type` and fills *msg. Returns
 * SWIM_CODEC_OK or the first fault found; *msg is meaningful only on OK.
 * Signatures are not checked here (the machine does, against pinned keys).
 */
enum swim_codec_err swim_codec_decode(uint8_t type, const uint8_t *p, size_t len,
				      struct swim_msg *msg);

/*
 * Decodes the record at *off of p[0, len) into *rec and advances *off. Used
 * by swim_codec_decode() to validate and by callers to walk msg->rec after a
 * successful decode (which then cannot fail).
 */
enum swim_codec_err swim_codec_record(const uint8_t *p, size_t len, size_t *off,
				      struct swim_record *rec);

/* Bytes swim_codec_add() would append for `rec`. */
size_t swim_codec_record_len(const struct swim_record *rec);

/*
 * The bytes a MEMBER, ACCUSE, LOAD or APP record's signature covers, written
 * to out (SWIM_SIGNED_MAX bytes suffice) for cluster `cluster_id`; a MEMBER's
 * include `key`, the subject's public key. Returns the length, or 0 for a
 * record kind that carries no signature (DIGEST).
 */
size_t swim_codec_signed(uint64_t cluster_id, const struct swim_record *rec,
			 const uint8_t key[SWIM_KEY_LEN], uint8_t *out);

/*
 * Starts a payload of hdr->type with hdr's fields (other fields ignored) in
 * buf[0, cap). Returns 0, -EINVAL (bad type, target, flags, address or
 * range) or -EMSGSIZE (cap too small).
 */
int swim_codec_begin(struct swim_writer *w, uint8_t *buf, size_t cap, const struct swim_msg *hdr);
/* Appends a record. Returns 0, -EMSGSIZE (does not fit, or 255 records
 * already) or -EINVAL (a record the decoder would refuse); w is unchanged on
 * error. */
int swim_codec_add(struct swim_writer *w, const struct swim_record *rec);
/* Bytes written so far (a complete payload). */
size_t swim_codec_end(const struct swim_writer *w);

#endif
