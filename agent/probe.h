/*
 * probe: one health check of an application on a droplet, made the way a
 * DigitalOcean load balancer makes it (its health_check settings): connect to
 * IP:port within the response timeout; `tcp` passes on connect, `http` sends
 * `GET path HTTP/1.0` and passes on a 2xx or 3xx status line. `https` passes
 * on connect too: the agent has no TLS of its own, so the handshake and the
 * status are not checked (docs/registrars.md says so). Used by lbhealth.c,
 * because the API tells nothing of a member's health.
 */
#ifndef PROBE_H
#define PROBE_H

#include <stdbool.h>

#include <uv.h>

#include "doapi.h"

struct probe;

/* pass: the check passed; why: what happened ("tcp connect ok",
 * "connection refused", "HTTP/1.0 503 ..."), borrowed for the call. */
typedef void probe_done_fn(bool pass, const char *why, void *arg);

/*
 * Starts one check of ip (an IPv4 address) by hc (copied). Returns 0 (cb runs
 * once, later, also after probe_cancel) or a negative errno (-EINVAL: not an
 * IPv4 address; cb never runs). *out (may be NULL) is valid until cb runs.
 */
int probe_start(uv_loop_t *loop, const char *ip, const struct doapi_health_check *hc,
		probe_done_fn *cb, void *arg, struct probe **out);

/* Ends the check now: cb runs with pass false and "cancelled". Accepts NULL. */
void probe_cancel(struct probe *p);

#endif
