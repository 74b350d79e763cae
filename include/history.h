/*
 * history: the record of every scaling decision and every operation's
 * outcome (docs/policy.md, "History"), its compact binary codec, and a ring
 * of the most recent records. The leader appends a record per decision
 * that did something (or was held by a limit) and per actuation event, and
 * sends each encoded record to every node; every node keeps the same ring
 * and writes it under state_dir, so `mitosis history` answers from any node
 * after a failover. The shell does the I/O; everything here is bytes.
 *
 * A record encodes to at most HISTORY_RECORD_MAX bytes: a version byte,
 * four small fields, LEB128 varints for the integers (zigzag for the signed
 * metric values) and the reason text. Decoding refuses anything but
 * version 1, unknown values, overlong varints, non-printable text and
 * trailing bytes, so decode(encode(r)) == r and a decoded record is always
 * safe to print.
 */
#ifndef HISTORY_H
#define HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actuate.h"
#include "policy.h"

typedef struct cJSON cJSON;

#define HISTORY_VERSION	   1
#define HISTORY_TEXT_MAX   POLICY_TEXT_MAX /* text bytes + NUL */
#define HISTORY_METRICS	   POLICY_METRIC_COUNT
#define HISTORY_RECORD_MAX 400 /* encoded size bound (see history.c) */
#define HISTORY_KEEP	   256 /* records in the ring */
#define HISTORY_FILE_MAGIC "MHST"

enum history_kind {
	HISTORY_DECISION = 0, /* action: enum policy_action, reason: enum policy_reason */
	HISTORY_OUTCOME = 1,  /* action: enum actuate_event_kind, reason: enum actuate_kind */
};

#define HISTORY_F_DRY_RUN     (1U << 0)
#define HISTORY_F_LIMIT_EVENT (1U << 1) /* a limit reached for the first time: hook */
#define HISTORY_F_ALL	      ((1U << 2) - 1)

struct history_metric {
	uint8_t metric; /* enum policy_metric */
	int64_t value;	/* the mean the decision saw */
	int64_t target;
};

struct history_record {
	uint8_t kind, action, reason, flags;
	uint64_t seq;	  /* the leader's numbering within its term */
	uint64_t time_ms; /* wall clock, unix ms */
	uint64_t term;
	uint64_t op_id;	  /* 48 bits; 0 = none */
	uint64_t droplet; /* 0 = none */
	uint32_t count, capacity, desired, total;
	uint16_t limits; /* POLICY_LIMIT_ bits applied */
	uint16_t holds;	 /* POLICY_HOLD_ bits */
	uint64_t cost_uusd;
	uint8_t nmetrics; /* metrics[0..nmetrics), in increasing metric order */
	struct history_metric metrics[HISTORY_METRICS];
	char text[HISTORY_TEXT_MAX]; /* printable ASCII, NUL-terminated */
};

/* A record from a decision (kind DECISION). `term`, `seq`, `unix_ms` are
 * the leader's. Text that is not printable ASCII becomes '?'. */
void history_from_decision(struct history_record *r, const struct policy_decision *d, uint64_t term,
			   uint64_t seq, uint64_t unix_ms);
/* A record from an actuation event (kind OUTCOME). */
void history_from_event(struct history_record *r, const struct actuate_event *ev, uint64_t seq,
			uint64_t unix_ms);

/* Encodes r into buf (HISTORY_RECORD_MAX bytes suffice). Returns the
 * length, or -EINVAL when r holds a value the decoder would refuse, or
 * -ENOBUFS when size is too small. */
int history_encode(const struct history_record *r, uint8_t *buf, size_t size);

/* Decodes exactly len bytes. 0, -EPROTONOSUPPORT (another version) or
 * -EINVAL (malformed, with *why naming the field when why != NULL). */
int history_decode(const uint8_t *buf, size_t len, struct history_record *r, const char **why);

/* "2026-11-21T22:08:30.123Z term 3 op 5b70d6ababd4 decision scale_out:
 * clone 2: ..." into out (always terminated). */
void history_format(const struct history_record *r, char *out, size_t size);
/* The record as a JSON object for `mitosis history --json`; NULL on ENOMEM.
 * The caller frees it with cJSON_Delete. */
cJSON *history_to_json(const struct history_record *r);

/* The ring of the HISTORY_KEEP most recent records. */
struct history;

struct history *history_new(void);
void history_free(struct history *h);
/*
 * Appends a copy of r. Records arrive from the leader in (term, seq) order;
 * one not after the newest is a duplicate or a straggler from a deposed
 * leader and is refused with -EALREADY. 0 otherwise (the oldest record is
 * dropped when the ring is full).
 */
int history_append(struct history *h, const struct history_record *r);
size_t history_count(const struct history *h);
/* The i-th record, oldest first; NULL past the end. */
const struct history_record *history_at(const struct history *h, size_t i);

/*
 * The ring as a file body: "MHST", a version byte, then each record as a
 * varint length and its encoding. *out is malloc'ed (caller frees).
 * 0 or -ENOMEM.
 */
int history_save(const struct history *h, uint8_t **out, size_t *len);
/*
 * Appends the records of a file body. 0; -EINVAL at the first bad record
 * (the ones before it are kept; *bad_at is its byte offset) or bad header;
 * -EPROTONOSUPPORT for another file version.
 */
int history_load(struct history *h, const uint8_t *buf, size_t len, size_t *bad_at,
		 const char **why);

#endif
