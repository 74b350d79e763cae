/*
 * prom: the agent's metrics in the Prometheus text exposition format
 * (version 0.0.4), and its /health answer (docs/operations.md lists every
 * metric). Pure: the agent fills a struct prom_view from its subsystems and
 * gets text back; nothing here reads a clock or a socket.
 *
 * Names follow Prometheus' conventions: the mitosis_ prefix, _total on
 * counters, base units (_seconds, _bytes, _ratio for 0..1), labels for the
 * dimensions (state, reason, endpoint, code, operation).
 */
#ifndef PROM_H
#define PROM_H

#include <stdbool.h>
#include <stdint.h>

#include "actuate.h"
#include "policy.h"
#include "report.h"

struct elect_report;

/* The API endpoint classes that requests are counted by. */
enum prom_endpoint {
	PROM_EP_DROPLETS,
	PROM_EP_ACTIONS,
	PROM_EP_IMAGES, /* images and snapshots */
	PROM_EP_DOMAINS,
	PROM_EP_LOAD_BALANCERS,
	PROM_EP_TAGS,
	PROM_EP_OTHER,	  /* another /v2 path */
	PROM_EP_METADATA, /* the droplet metadata service */
	PROM_EP_COUNT,
};

/* Answer classes: 2xx, 3xx, 4xx but 429, 429, 5xx, and no answer at all. */
enum prom_code {
	PROM_CODE_2XX,
	PROM_CODE_3XX,
	PROM_CODE_4XX,
	PROM_CODE_429,
	PROM_CODE_5XX,
	PROM_CODE_ERROR, /* timeout, refused, helper failure */
	PROM_CODE_COUNT,
};

/* Every HTTP request the agent made, by class; owned by the agent. */
struct prom_api {
	uint64_t requests[PROM_EP_COUNT][PROM_CODE_COUNT];
	int64_t ratelimit_remaining; /* from the last API answer; -1 = not known yet */
	int64_t ratelimit_limit;     /* likewise */
};

/*
 * Registrar operations the leader started (agent/leader.c), by kind: one
 * node put into or taken out of every registrar, or every registrar made to
 * hold exactly the alive members. Only the leader drives the registrars, so
 * on other nodes these stay where they were when it last led.
 */
enum prom_reg_op { PROM_REG_REGISTER, PROM_REG_DEREGISTER, PROM_REG_RECONCILE, PROM_REG_COUNT };

/*
 * The scaling policy as this node ran it (agent/autoscale.c): its decisions
 * by action and the limits that cut them (counted where the policy decides,
 * on the leader), what the actuator reported of the operations, and the last
 * decision's sizes. Followers keep what they counted when they last led.
 */
#define PROM_SCALE_ACTIONS POLICY_TRANSFER /* every action but POLICY_HOLD, from 1 */
#define PROM_SCALE_LIMITS  5		   /* POLICY_LIMIT_ bits 0..4 (checked in prom.c) */
struct prom_scaling {
	bool active;  /* this node leads and runs the policy now */
	bool dry_run; /* decisions are computed and kept, not carried out */
	bool decided; /* at least one decision: the gauges below mean something */
	uint64_t decisions[PROM_SCALE_ACTIONS];
	uint64_t limits[PROM_SCALE_LIMITS];
	uint64_t events[ACTUATE_EV_COUNT];
	uint32_t desired, capacity, billed; /* the last decision's sizes */
	uint64_t cost_uusd;		    /* and the hourly cost it counted, in micro-USD */
};

struct prom_view {
	const char *version, *revision; /* build info */
	struct report_status st;	/* members, load mean, datagrams, verdicts, swim counters */
	const struct swim_load *self_load; /* this node's last sample; NULL before the first */
	uint64_t start_time_ms;		   /* Unix time the agent started, in ms */
	bool joined;			   /* part of its cluster: /health answers 200 */
	const struct prom_api *api;	   /* NULL: the agent has no API client */
	bool registrars;		   /* whether registrar counters apply */
	uint64_t reg_ops[PROM_REG_COUNT], reg_errors[PROM_REG_COUNT];
	/* The election as this node sees it (role, term, leader, voters, its
	 * rounds); NULL: none yet (the agent has not started it), no family. */
	const struct elect_report *election;
	/* NULL: the agent runs no scaling policy (no clone_image), no family. */
	const struct prom_scaling *scaling;
};

/* A fresh counter set: zeros, rate limits not known. */
void prom_api_init(struct prom_api *api);

/*
 * Counts one HTTP request the agent made: to `url`, which is an API call
 * when it starts with api_base (NULL: no API client) and classed by its /v2
 * path, else a metadata request. status is the HTTP status, or 0 with err
 * != 0 when there was no answer. ratelimit_remaining and ratelimit_limit
 * are the answer's headers (NULL when absent); an API answer that carries a
 * number updates the gauge.
 */
void prom_api_observe(struct prom_api *api, const char *api_base, const char *url, long status,
		      int err, const char *ratelimit_remaining, const char *ratelimit_limit);

/* Label values, as written in the output ("droplets", "2xx"). */
const char *prom_endpoint_name(enum prom_endpoint e);
const char *prom_code_name(enum prom_code c);

/* The metrics as text/plain; version=0.0.4. New string (caller frees) or NULL on ENOMEM. */
char *prom_render(const struct prom_view *v);

/*
 * The /health body, one JSON object: {"status":"ok"|"joining","members":N,
 * "cluster":"...","node_id":N}, N counting alive members; *status gets 200
 * when v->joined, else 503. New string or NULL on ENOMEM.
 */
char *prom_health(const struct prom_view *v, int *status);

#endif
