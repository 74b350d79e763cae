/*
 * sampler: the agent's load sampler (docs/load.md). A uv_timer reads
 * /proc/stat, /proc/loadavg and /proc/meminfo every interval, and the custom
 * metric from a file or from a command run under a deadline, and hands each
 * sample to a callback; the membership protocol gossips it.
 */
#ifndef SAMPLER_H
#define SAMPLER_H

#include <stdint.h>

#include <uv.h>

#include "swim.h"

struct sampler_opts {
	uint64_t interval_ms;	    /* between samples (load_interval); > 0 */
	uint64_t window_ms;	    /* CPU EWMA time constant (load_window); 0 = none */
	const char *custom_file;    /* first line holds the metric; NULL = none */
	const char *custom_command; /* run as /bin/sh -c CMD; NULL = none */
	uint64_t custom_timeout_ms; /* deadline of one run of the command; > 0 */
	const char *proc_dir;	    /* NULL = "/proc"; tests point it elsewhere */
};

struct sampler;

/* A new sample; version is 0 (swim_set_load assigns it). `load` is borrowed. */
typedef void sampler_fn(const struct swim_load *load, void *arg);

/*
 * Starts sampling on `loop`. The first sample comes one interval after the
 * start (CPU use needs two /proc/stat readings), then one per interval; with
 * a command, a sample is handed over when its run ends. Strings in `opts` are
 * copied. Returns 0 and *out, or -EINVAL (interval 0, both a file and a
 * command, or a command with timeout 0) with nothing started.
 */
int sampler_start(uv_loop_t *loop, const struct sampler_opts *opts, sampler_fn *fn, void *arg,
		  struct sampler **out);

/* Stops sampling, kills a running command (SIGKILL to its process group),
 * and frees the sampler once its last handle has closed. The callback is not
 * called again. Accepts NULL. */
void sampler_close(struct sampler *s);

#endif
