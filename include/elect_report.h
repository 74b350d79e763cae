/*
 * elect_report: the election's part of `mitosis status` and the whole of
 * `mitosis leader` (docs/cli.md), as JSON for programs and text for people.
 * Pure: it formats what the agent gathered (the core's status and counters,
 * the member states SWIM holds for the voters, the leader's work). Names come
 * from peers, so the text escapes them and the JSON carries them as strings.
 */
#ifndef ELECT_REPORT_H
#define ELECT_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "elect.h"

typedef struct cJSON cJSON;

/* One voter of the committed set, with what the membership says of it. */
struct elect_report_voter {
	uint64_t id, sid;
	const char *name;  /* borrowed; NULL when SWIM does not know it */
	const char *state; /* "alive", "suspect", "dead", "left", or "unknown" */
};

/* The leader's own work (agent/leader.c), shown on the node that leads. */
struct elect_report_work {
	bool active;		/* this node leads and works in `term` */
	uint64_t term;		/* the term it works in */
	bool inventory_known;	/* it has read the inventory in this term */
	uint64_t inventory_n;	/* droplets under the cluster tag, last read */
	uint64_t registered;	/* members it holds in rotation */
	uint64_t pending;	/* registrations and deregistrations running */
	uint64_t reconciles;	/* reconciles run in this office */
	int64_t last_reconcile; /* ms since the last reconcile ended; -1: none yet */
	uint64_t api_calls;	/* requests this node's API client has sent */
	uint64_t refused_calls; /* mutating tries the leader gate held back */
};

struct elect_report {
	struct elect_status st;
	struct elect_stats stats;
	uint32_t voters_wanted;				    /* the `voters` key */
	const char *admission;				    /* "inventory" or "cluster-key" */
	const char *leader_name;			    /* borrowed; NULL when unknown */
	struct elect_report_voter voters[ELECT_VOTERS_MAX]; /* st.voters, in order */
	uint64_t claims_taken, claims_refused;		    /* announcements by gossip */
	uint64_t send_failures; /* messages the transport could not send */
	struct elect_report_work work;
};

/* "leader", "voter" (a follower or a candidate) or "non-voter". */
const char *elect_report_role(enum elect_role r);

/* The report as a JSON object (docs/election.md, "Status"), or NULL on ENOMEM. */
cJSON *elect_report_json(const struct elect_report *r);

/* The report as lines of text, each ending in '\n' (malloc'd; NULL on
 * ENOMEM). The first line names the leader or says why there is none; a lost
 * quorum names the recovery step. */
char *elect_report_text(const struct elect_report *r);

#endif
