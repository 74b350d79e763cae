/*
 * cloud_clone: clone droplets from a snapshot on the API client (agent/cloud.h):
 * create them under a fresh operation tag, adopt them when the create's
 * outcome is unknown (looked up by name), wait until each is active with its
 * addresses, notice a create that failed after its 202 (the droplet vanished),
 * and delete what never became active and any double, each delete waited until
 * GET says 404. docs/cloud.md describes the rules and the request counts.
 */
#ifndef CLOUD_CLONE_H
#define CLOUD_CLONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doapi.h"

struct cloud;

struct cloud_clone_opts {
	const char *cluster;	 /* names are "<cluster>-<time>-<4 hex>" */
	const char *cluster_tag; /* always put on clones */
	uint64_t image;		 /* snapshot id */
	const char *size;
	const char *region;   /* NULL = DO picks */
	const char *vpc_uuid; /* NULL = the region's default VPC */
	const char *const *ssh_keys;
	size_t nssh_keys;
	const char *const *tags; /* extra tags */
	size_t ntags;
	const char *const *seeds; /* current members' private IPv4s, for user-data */
	size_t nseeds;
	const char *user_data;	    /* NULL: a clone's, from the seeds; else sent as is */
	unsigned count;		    /* 1..DOAPI_MAX_NAMES */
	uint64_t active_timeout_ms; /* from the create; default 5 min */
	uint64_t delete_timeout_ms; /* each delete's wait for 404 (cloud_delete_start); 0 = 2 min */
	uint64_t poll_ms;	    /* first wait between polls; default 2 s */
	bool need_public;	    /* ready needs the public IPv4 too (register_address public) */
};

struct cloud_clone_result {
	char op_tag[DOAPI_OP_TAG_LEN];
	struct doapi_droplet *droplets; /* those that became ready (active, with IPs) */
	size_t ndroplets;
	size_t ndeleted;  /* not active by the deadline, or doubles: deleted (GET said 404) */
	unsigned creates; /* create requests that were sent */
	bool adopted;	  /* a create's outcome was learned by listing */
};

/* err 0: all `count` droplets are ready. Otherwise error says why (-EIO: some
 * vanished after their create, named; -ETIMEDOUT: not ready by the deadline,
 * or a delete that did not reach 404, naming the droplet that may still
 * bill); res is still filled with what exists. res is borrowed for the call. */
typedef void cloud_clone_fn(int err, const char *error, const struct cloud_clone_result *res,
			    void *arg);

/*
 * Clones o->count droplets on client `c` (borrowed; the operation ends with
 * -ECANCELED when the client closes first). Returns 0 (cb runs once, later)
 * or a negative errno (cb never runs): -EINVAL for bad options, the reason
 * logged.
 */
int cloud_clone_start(struct cloud *c, const struct cloud_clone_opts *o, cloud_clone_fn *cb,
		      void *arg);

#endif
