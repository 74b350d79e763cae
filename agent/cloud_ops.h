/*
 * cloud_ops: the cloud operations built on the client (agent/cloud.h) other
 * than cloning (cloud_clone.h): delete, the cluster listing, and the droplet
 * actions snapshot and resize. The actions are a small state machine on the
 * loop (one uv_timer_t for its waits); each operation runs its callback
 * exactly once unless starting it failed. docs/cloud.md describes the rules
 * and the request counts.
 */
#ifndef CLOUD_OPS_H
#define CLOUD_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "doapi.h"

struct cloud;

/* err 0 or a negative errno; error NULL on success. */
typedef void cloud_op_fn(int err, const char *error, void *arg);
/* image_id: the new snapshot's id (0 on failure). */
typedef void cloud_snapshot_fn(int err, const char *error, uint64_t image_id, void *arg);
/* The droplets (parsed) carrying a tag. */
typedef void cloud_droplets_fn(int err, const char *error, const struct doapi_droplet *d, size_t n,
			       void *arg);

/* What a delete did; borrowed for the callback. */
struct cloud_delete_result {
	bool already_gone; /* the first DELETE answered 404 */
	unsigned deletes;  /* DELETE requests made (a second one after a lost delete) */
	uint64_t gone_ms;  /* from the start until GET said 404 */
};
typedef void cloud_delete_fn(int err, const char *error, const struct cloud_delete_result *res,
			     void *arg);

/*
 * Deletes droplet `droplet_id` and waits until it is gone: DELETE (a 404 means
 * already gone), then GET /v2/droplets/ID from at once, then at growing
 * intervals (1 s x1.5 up to 10 s), until it answers 404. Still there after
 * timeout_ms (0 = 2 min): DELETE once more and poll another timeout_ms; still
 * there then: err -ETIMEDOUT and an error naming the droplet, which may still
 * be billed. A DELETE that fails (after the client's retries) ends the same
 * way. In a dry run the DELETE is printed and the callback says done. Returns
 * 0 (cb runs once, later; -ECANCELED when the client closes first) or a
 * negative errno (cb never runs).
 */
int cloud_delete_start(struct cloud *c, uint64_t droplet_id, uint64_t timeout_ms,
		       cloud_delete_fn *cb, void *arg);

/* Snapshots droplet `id` as `name`, waits for the action (poll_ms first wait,
 * 0 = 2 s; timeout_ms bounds the whole, 0 = 30 min) and finds the image id. */
int cloud_snapshot_start(struct cloud *c, uint64_t id, const char *name, uint64_t poll_ms,
			 uint64_t timeout_ms, cloud_snapshot_fn *cb, void *arg);

/* Vertical scaling as Scaler.sh: power_off, resize (disk false), power_on,
 * each waited for; steps already done (off, same size) are skipped. */
int cloud_resize_start(struct cloud *c, uint64_t id, const char *size, uint64_t poll_ms,
		       uint64_t timeout_ms, cloud_op_fn *cb, void *arg);

/* GET /v2/droplets?tag_name=TAG, every page, parsed. */
int cloud_list_tag_start(struct cloud *c, const char *tag, cloud_droplets_fn *cb, void *arg);

/*
 * The pace of a poll loop, shared by the clone and the actions: each wait is
 * the current one +-25% (so that clients polling together drift apart), and
 * the current one grows x1.5 per poll, from first_ms up to 10 s.
 */
struct cloud_ops_pace {
	uint64_t first_ms, wait_ms;
};
void cloud_ops_pace_init(struct cloud_ops_pace *p, uint64_t first_ms);
/* The next wait (jittered), after which the pace grows. */
uint64_t cloud_ops_pace_next(struct cloud_ops_pace *p);
/* ms +-25%, uniformly. */
uint64_t cloud_ops_jitter(uint64_t ms);

#endif
