/*
 * report: the documents the control socket answers with (docs/load.md), as
 * JSON (cJSON) and as text for people. Pure: it formats what it is given.
 *
 * Member names come from peers, so text output escapes them (log_escape) and
 * JSON output carries them as JSON strings, escaped the same way first if
 * they are not valid UTF-8. Large integers (ids, incarnations, counters) are
 * written exactly, not through a double. Every function returns a new string
 * the caller frees, or NULL on ENOMEM.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load.h"
#include "swim.h"
#include "wire.h"

#define REPORT_STATES (SWIM_LEFT + 1)

struct elect_report;
typedef struct cJSON cJSON;

/* This node's view, filled by the agent; strings are borrowed. */
struct report_status {
	uint64_t node_id;
	const char *name;
	const char *cluster;
	uint64_t incarnation;
	struct swim_addr addr; /* our gossip address */
	uint64_t uptime_ms;
	uint32_t by_state[REPORT_STATES]; /* members per enum swim_state, self included */
	struct load_mean mean;		  /* over ALIVE members with a sample */
	uint64_t dgrams_in, dgrams_out, bytes_in, bytes_out;
	uint64_t verdicts[WIRE_VERDICT_COUNT]; /* datagrams in by wire verdict, accept too */
	struct swim_stats swim;
	const struct elect_report *elect; /* the election's part; NULL: none */
};

/* Fills st->by_state and st->mean from the member table; leaves the rest. */
void report_status_tally(struct report_status *st, const struct swim_member *const *members,
			 size_t n);

/*
 * The member table as a JSON array, sorted by name then id: per member id,
 * name, addr ("ip:port", "[v6]:port"), state, incarnation, self, load
 * {version, cpu, load1_per_cpu, mem, custom}, age_ms (since `updated`) and
 * load_age_ms (since `load_updated`). cpu and mem are fractions 0..1,
 * load1_per_cpu is load1 / ncpu; before a member's first sample (version 0)
 * they, custom and load_age_ms are null; custom is null when the member has
 * none. `members` is borrowed.
 */
char *report_members_json(const struct swim_member *const *members, size_t n, uint64_t self_id,
			  uint64_t now);

/* The same as an aligned table with a header line: ID NAME ADDRESS STATE INC
 * CPU LOAD1 MEM CUSTOM AGE; "*" after the ID marks this node, "-" a value
 * not known yet. Every line has the same length and ends in '\n'. */
char *report_members_text(const struct swim_member *const *members, size_t n, uint64_t self_id,
			  uint64_t now);

/* This node's view as one JSON object (docs/load.md shows it). */
char *report_status_json(const struct report_status *st);

/* The same as a few lines of text. */
char *report_status_text(const struct report_status *st);

/* Helpers the election's report (elect_report.c) shares. */
/* "250ms", "12.3s", "4m05s", "2h03m", "3d04h" into buf; returns buf. */
char *report_fmt_age(uint64_t ms, char *buf, size_t size);
/* s for a JSON string: as is when it is UTF-8 (and shorter than maxlen),
 * else escaped into buf. */
const char *report_json_str(const char *s, size_t maxlen, char *buf, size_t size);
/* Adds an exact integer member (raw number text, never through a double). */
bool report_add_u64(cJSON *obj, const char *key, uint64_t v);

#endif
