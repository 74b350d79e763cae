/*
 * rotation: every registrar the configuration names (`registrars = do-dns,
 * do-lb, haproxy, exec`), driven as one. The agent registers its node once it
 * has joined the gossip and deregisters it on a graceful leave; the CLI
 * (cmd_rotation.c) uses it for register, deregister and retire. Each call
 * runs on all registrars at once and reports once, when all are done, with
 * the first failure (docs/registrars.md).
 */
#ifndef ROTATION_H
#define ROTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "registrar.h"

struct cfg;
struct cloud;
struct http;
struct meta_identity;
struct rotation;

/* err 0 when every registrar succeeded; otherwise the first failure's errno
 * and its reason (borrowed for the call; every failure is logged). */
typedef void rotation_done_fn(int err, const char *why, void *arg);

struct rotation_opts {
	bool dry_run;	   /* mutating API calls and commands are printed, not made */
	FILE *dry_run_out; /* NULL = stdout */
};

/*
 * Builds every configured registrar. `cfg`, `identity` and `cloud` are
 * borrowed and must outlive the rotation; identity may be NULL (the CLI),
 * and so may cloud when no do-* registrar is configured (they call the API
 * through it: the process's one client). `o` may be NULL. Returns 0 and
 * *out (also with no registrar configured: then every call succeeds at
 * once), or a negative errno after logging why (an unknown registrar, a
 * missing key, do-* without an API client).
 */
int rotation_new(uv_loop_t *loop, const struct cfg *cfg, const struct meta_identity *identity,
		 struct cloud *cloud, const struct rotation_opts *o, struct rotation **out);

/*
 * Puts the node into / takes it out of every registrar; the node is copied.
 * Returns 0 (cb runs later, exactly once) or a negative errno (cb never runs).
 */
int rotation_register(struct rotation *rot, const struct registrar_node *node, rotation_done_fn *cb,
		      void *arg);
int rotation_deregister(struct rotation *rot, const struct registrar_node *node,
			rotation_done_fn *cb, void *arg);
/* Makes every registrar hold exactly these nodes. */
int rotation_reconcile(struct rotation *rot, const struct registrar_node *nodes, size_t n,
		       rotation_done_fn *cb, void *arg);

/* This node, from the identity given to rotation_new (strings borrowed from
 * it). -ENOENT when there was none. */
int rotation_self(const struct rotation *rot, struct registrar_node *out);

/* Names of the configured registrars, for messages ("do-dns, do-lb"). */
const char *rotation_names(const struct rotation *rot);
/* True when a configured registrar needs each node's register_address. */
bool rotation_needs_address(const struct rotation *rot);
/* API requests sent so far (retries and pages included). */
uint64_t rotation_requests(const struct rotation *rot);

/*
 * Frees the rotation, now or when its last pending call has reported: call
 * it before closing the API client it borrows, whose cancelled calls then end
 * the pending ones (their callbacks run with -ECANCELED); HAProxy commands
 * and scripts still running finish on the loop. Registrars start nothing new
 * once it is called. Accepts NULL.
 */
void rotation_close(struct rotation *rot);

#endif
