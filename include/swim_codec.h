/*
 * swim_codec: the membership payloads (docs/membership.md has the layout byte
 * by byte). Pure and bounds-checked: decoding never reads past `len`, never
 * allocates, and validates the whole payload, every record included, before
 * the caller applies any of it, so a malformed datagram is refused whole.
 *
 * Every payload starts with a version byte (SWIM_CODEC_VERSION), then the
 * type's header fields, then a count byte and that many member records, and
 * nothing after them. Integers are big-endian.
 */
#ifndef SWIM_CODEC_H
#define SWIM_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "swim.h"

#define SWIM_CODEC_VERSION 1
/* Record bytes: 8 id + 8 incarnation + 1 flags + 7 (IPv4 addr) + 1 name length. */
#define SWIM_RECORD_MIN_LEN 25
/* ... + 8 from + 19 (IPv6 addr) + 63 name + 18 load with custom. */
#define SWIM_RECORD_MAX_LEN 126
/* The largest header: PING_REQ with an IPv6 target, plus the count byte. */
#define SWIM_HEADER_MAX_LEN 33

#define SWIM_STATE_ANSWER (1U << 0) /* STATE flag: please answer with your table */
#define SWIM_STATE_WHO	  (1U << 1) /* STATE flag: who are you? answer with your record */
#define SWIM_STATE_FLAGS  (SWIM_STATE_ANSWER | SWIM_STATE_WHO)

/* Record flag byte: bits 0-1 the state, then: */
#define SWIM_REC_LOAD	  (1U << 2) /* a load follows (its version is not 0) */
#define SWIM_REC_CUSTOM	  (1U << 3) /* the load carries the custom metric */
#define SWIM_REC_LOADONLY (1U << 4) /* a load sample alone: no from, address or name */
/* Bytes of a load-only record: 8 id + 8 incarnation + 1 flags + 10 load (+ 8 custom). */
#define SWIM_LOADONLY_LEN 27

enum swim_codec_err {
	SWIM_CODEC_OK = 0,
	SWIM_CODEC_TRUNCATED,	/* ended inside a field or before `count` records */
	SWIM_CODEC_TRAILING,	/* bytes after the last record */
	SWIM_CODEC_BAD_TYPE,	/* not a swim_msg_type */
	SWIM_CODEC_BAD_VERSION, /* version byte is not SWIM_CODEC_VERSION */
	SWIM_CODEC_BAD_FLAGS,	/* unknown flag bits (STATE or record) */
	SWIM_CODEC_BAD_ID,	/* a node id (member, target or accuser) of 0 */
	SWIM_CODEC_BAD_FAMILY,	/* address family not 4 or 6 */
	SWIM_CODEC_BAD_PORT,	/* port 0 */
	SWIM_CODEC_BAD_NAME,	/* longer than SWIM_NAME_MAX - 1, or holds a NUL */
	SWIM_CODEC_BAD_LOAD,	/* version 0, or a permille above 1000 */
	SWIM_CODEC_ERR_COUNT,
};

/* A decoded header; `rec` points into the payload passed in. */
struct swim_msg {
	uint8_t type;
	uint8_t flags;		      /* STATE */
	uint32_t seq;		      /* PING, ACK, PING_REQ, NACK */
	uint64_t target;	      /* PING, ACK, PING_REQ, NACK */
	struct swim_addr target_addr; /* PING_REQ */
	uint8_t count;		      /* records that follow */
	const uint8_t *rec;
	size_t rec_len;
};

/* One member record: a state claim and a load claim about member `id`, or
 * (load_only) a load claim alone, which names no address and claims no state. */
struct swim_record {
	uint64_t id;
	uint64_t incarnation;
	enum swim_state state;
	uint64_t from; /* the accuser, for SUSPECT and DEAD; 0 otherwise */
	struct swim_addr addr;
	char name[SWIM_NAME_MAX];
	struct swim_load load; /* version 0: no load carried */
	bool load_only;	       /* state ALIVE, addr and name empty, load.version != 0 */
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
 * Starts a payload of hdr->type with hdr's fields (other fields ignored) in
 * buf[0, cap). Returns 0, -EINVAL (bad type, target, flags or address) or
 * -EMSGSIZE (cap too small).
 */
int swim_codec_begin(struct swim_writer *w, uint8_t *buf, size_t cap, const struct swim_msg *hdr);
/* Appends a record. Returns 0, -EMSGSIZE (does not fit, or 255 records
 * already) or -EINVAL (a record the decoder would refuse); w is unchanged on
 * error. */
int swim_codec_add(struct swim_writer *w, const struct swim_record *rec);
/* Bytes written so far (a complete payload). */
size_t swim_codec_end(const struct swim_writer *w);

#endif
