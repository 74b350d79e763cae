/*
 * lbhealth: whether droplets pass a DigitalOcean load balancer's health check.
 *
 * A new member of a load balancer gets no traffic until it has passed
 * healthy_threshold checks in a row, check_interval_seconds apart (30 s at
 * DO's defaults), and one that fails unhealthy_threshold checks stops getting
 * any. The API does not say which members are healthy: GET
 * /v2/load_balancers/ID gives droplet_ids (healthy or not) and the balancer's
 * own status; the per-member figure lives only in the monitoring metrics
 * (droplets_health_checks), which mitosis does not read. So this module checks
 * each member itself, the way the balancer does (probe.c, with the balancer's
 * health_check settings, on the droplet's private address, which the balancer
 * uses inside the VPC), and counts a member as serving only once it passes:
 * `passes` checks in a row, interval_s apart, plus response_timeout_s of
 * margin for the balancer's own timing (docs/registrars.md, "Health").
 */
#ifndef LBHEALTH_H
#define LBHEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doapi.h"

struct cloud;

/* err 0 when enough members passed (all, or one with `any`), else -ETIMEDOUT
 * (or another negative errno) and why in words, naming each member that did
 * not pass and its last result. healthy: members that passed, of n. */
typedef void lbhealth_fn(int err, const char *why, size_t healthy, size_t n, void *arg);

struct lbhealth_opts {
	const char *lb_id;		     /* for messages */
	const struct doapi_health_check *hc; /* copied */
	uint64_t timeout_ms;		     /* the whole wait */
	unsigned passes;		     /* in a row; 1 = one pass now (a member that serves) */
	bool any;			     /* done when one member passes, else when all do */
};

/*
 * Waits until the droplets ids[0..n) pass the health check: GETs each one's
 * address, then probes every interval_s (at once when passes is 1). Says what
 * it waits for (log_info) and each member that passes. Returns 0 (cb runs
 * once, later; -ECANCELED when the client closes first) or a negative errno
 * (cb never runs). ids is copied.
 */
int lbhealth_start(struct cloud *c, const uint64_t *ids, size_t n, const struct lbhealth_opts *o,
		   lbhealth_fn *cb, void *arg);

/*
 * For retiring droplet `leaving`: reads load balancer lb_id and waits (up to
 * timeout_ms) until one of its other members serves (one pass each). No other
 * member: err 0, healthy 0, n 0 (the caller says the balancer is left empty).
 */
int lbhealth_others_start(struct cloud *c, const char *lb_id, uint64_t leaving, uint64_t timeout_ms,
			  lbhealth_fn *cb, void *arg);

#endif
