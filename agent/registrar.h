/*
 * registrar: one way of putting nodes into rotation and taking them out
 * (docs/registrars.md). Each kind is an ops struct in the manner of
 * OpenSMTPD's queue backends, picked by name in registrar.c:
 *   do-dns   one A record per node in a DigitalOcean domain (registrar_dns.c)
 *   do-lb    droplet ids on a DigitalOcean load balancer, or its tag (registrar_lb.c)
 *   haproxy  servers of a backend through HAProxy's runtime API (registrar_haproxy.c)
 *   exec     a script run as `CMD register|deregister` (registrar_exec.c)
 *
 * Every operation is idempotent: adding a node already there, or removing one
 * already gone, succeeds without changing anything. REGISTRAR_RECONCILE makes
 * the registrar hold exactly the given set (include/reconcile.h rules).
 * Operations are asynchronous on the loop: start() returns 0 and later calls
 * its callback exactly once, or returns a negative errno and never calls it.
 */
#ifndef REGISTRAR_H
#define REGISTRAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

struct cfg;
struct cloud;
struct registrar;

struct registrar_node {
	uint64_t id;		  /* droplet id */
	const char *name;	  /* hostname */
	const char *public_ipv4;  /* "" or NULL when unknown */
	const char *private_ipv4; /* "" or NULL when unknown */
};

/* err 0 on success; otherwise a negative errno and `why` in words (never a
 * token). `why` is borrowed for the call. */
typedef void registrar_done_fn(int err, const char *why, void *arg);

/* What one operation does with its nodes. */
enum registrar_mode {
	REGISTRAR_ADD,	     /* put each node in (ADD and REMOVE get one node) */
	REGISTRAR_REMOVE,    /* take each node out */
	REGISTRAR_RECONCILE, /* hold exactly these nodes, no others */
};

struct registrar_ops {
	const char *name;
	/* Starts one operation on nodes[0..n) (borrowed for the call: copy what
	 * is kept). -EINVAL when no node has an address to register. */
	int (*start)(struct registrar *r, enum registrar_mode mode,
		     const struct registrar_node *nodes, size_t n, registrar_done_fn *cb,
		     void *arg);
	void (*free)(struct registrar *r);
	/* Its job needs each node's register_address (an A record, a server
	 * line); false when it goes by droplet id or passes what there is. */
	bool needs_address;
};

/* What every registrar may use; borrowed, must outlive the registrar. */
struct registrar_env {
	uv_loop_t *loop;
	struct cloud *cloud; /* NULL when no token is configured */
	const struct cfg *cfg;
	bool dry_run;	     /* print mutating commands instead of running them */
	FILE *out;	     /* where dry-run lines go; NULL = stdout */
	const bool *closing; /* set when the owner shuts down: start nothing new */
};

struct registrar {
	const struct registrar_ops *ops;
	const struct registrar_env *env;
};

/*
 * Builds the registrar called `name` ("do-dns", "do-lb", "haproxy", "exec")
 * from env->cfg. Returns 0 and *out, or -EINVAL with the reason in err (an
 * unknown name, a missing key such as dns_domain, do-* without a token).
 * Free with registrar_free().
 */
int registrar_new(const char *name, const struct registrar_env *env, struct registrar **out,
		  char *err, size_t errsize);

/* Frees the registrar; operations still running finish first and call their
 * callbacks (cloud calls with -ECANCELED when the cloud was closed). Accepts NULL. */
void registrar_free(struct registrar *r);

/* The address put in rotation: the public or private IPv4 by
 * register_address, or NULL when the node has none of that kind. */
const char *registrar_address(const struct cfg *cfg, const struct registrar_node *n);

/* Constructors of the kinds (registrar_<kind>.c), for registrar_new(). */
int registrar_dns_new(const struct registrar_env *env, struct registrar **out, char *err,
		      size_t errsize);
int registrar_lb_new(const struct registrar_env *env, struct registrar **out, char *err,
		     size_t errsize);
int registrar_haproxy_new(const struct registrar_env *env, struct registrar **out, char *err,
			  size_t errsize);
int registrar_exec_new(const struct registrar_env *env, struct registrar **out, char *err,
		       size_t errsize);

/* Prints one dry-run line: "dry-run: WHAT" to env->out (or stdout). */
void registrar_dry(const struct registrar_env *env, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
