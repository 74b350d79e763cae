/*
 * metadata: this node's identity: fetched from the metadata service (GET
 * BASE/metadata/v1.json) on the loop, with a per-try timeout and a bounded
 * number of tries separated by exponential backoff with jitter; or, for
 * hosts that are not droplets and for tests, the static identity of the
 * configuration (node_id and the keys beside it).
 */
#ifndef METADATA_H
#define METADATA_H

#include <stdint.h>

#include <uv.h>

struct cfg;
struct http;
struct meta_identity;
struct metadata_fetch;

/* err 0: `id` is the caller's to free. Otherwise id is NULL and `why` says
 * what the last try hit. Called exactly once unless cancelled. */
typedef void metadata_done_fn(int err, struct meta_identity *id, const char *why, void *arg);

struct metadata_opts {
	const char *base_url; /* "http://169.254.169.254" */
	uint64_t timeout_ms;  /* per try */
	unsigned attempts;    /* >= 1 */
	uint64_t backoff_ms;  /* first wait between tries; doubles, capped at 4 s */
};

/* Starts fetching. Returns 0 (cb runs later) or a negative errno. *out may be
 * passed to metadata_fetch_cancel() until cb runs. */
int metadata_fetch_start(uv_loop_t *loop, struct http *http, const struct metadata_opts *o,
			 metadata_done_fn *cb, void *arg, struct metadata_fetch **out);

/* Stops the fetch without calling cb; frees it once its timer has closed. */
void metadata_fetch_cancel(struct metadata_fetch *mf);

/* The static identity of a configuration with node_id set (hostname and the
 * addresses, region and tags given beside it); the caller frees it. */
struct meta_identity *metadata_identity_from_cfg(const struct cfg *cfg);

#endif
