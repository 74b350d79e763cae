/*
 * cloud_ops: the cloud operations built on the client (agent/cloud.h):
 * clone (create, adopt on an unknown outcome, wait until active, delete what
 * never became active), delete, snapshot, resize and the cluster listing.
 * Each operation is a small state machine on the loop (one uv_timer_t for its
 * waits); each runs its callback exactly once unless starting it failed.
 * docs/cloud.md describes the rules and the request counts.
 */
#ifndef CLOUD_OPS_H
#define CLOUD_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

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
	unsigned count;		    /* 1..DOAPI_MAX_NAMES */
	uint64_t active_timeout_ms; /* from the create; default 5 min */
	uint64_t poll_ms;	    /* first wait between polls; default 2 s */
};

struct cloud_clone_result {
	char op_tag[DOAPI_OP_TAG_LEN];
	struct doapi_droplet *droplets; /* those that became active (with IPs) */
	size_t ndroplets;
	size_t ndeleted;  /* not active by the deadline, deleted */
	unsigned creates; /* create requests that were sent */
	bool adopted;	  /* a create's outcome was learned by listing */
};

/* err 0: all `count` droplets are active. Otherwise error says why; res is
 * still filled with what exists. res is borrowed for the call. */
typedef void cloud_clone_fn(int err, const char *error, const struct cloud_clone_result *res,
			    void *arg);
/* err 0 or a negative errno; error NULL on success. */
typedef void cloud_op_fn(int err, const char *error, void *arg);
/* image_id: the new snapshot's id (0 on failure). */
typedef void cloud_snapshot_fn(int err, const char *error, uint64_t image_id, void *arg);
/* The droplets (parsed) carrying a tag. */
typedef void cloud_droplets_fn(int err, const char *error, const struct doapi_droplet *d, size_t n,
			       void *arg);

/* Clones `count` droplets. 0 (cb runs later) or a negative errno. */
int cloud_clone_start(struct cloud *c, uv_loop_t *loop, const struct cloud_clone_opts *o,
		      cloud_clone_fn *cb, void *arg);

/* DELETE /v2/droplets/ID; a 404 counts as success (already gone). */
int cloud_delete_start(struct cloud *c, uint64_t droplet_id, cloud_op_fn *cb, void *arg);

/* Snapshots droplet `id` as `name`, waits for the action (poll_ms first wait,
 * 0 = 2 s; timeout_ms bounds the whole, 0 = 30 min) and finds the image id. */
int cloud_snapshot_start(struct cloud *c, uv_loop_t *loop, uint64_t id, const char *name,
			 uint64_t poll_ms, uint64_t timeout_ms, cloud_snapshot_fn *cb, void *arg);

/* Vertical scaling as Scaler.sh: power_off, resize (disk false), power_on,
 * each waited for; steps already done (off, same size) are skipped. */
int cloud_resize_start(struct cloud *c, uv_loop_t *loop, uint64_t id, const char *size,
		       uint64_t poll_ms, uint64_t timeout_ms, cloud_op_fn *cb, void *arg);

/* GET /v2/droplets?tag_name=TAG, every page, parsed. */
int cloud_list_tag_start(struct cloud *c, const char *tag, cloud_droplets_fn *cb, void *arg);

#endif
