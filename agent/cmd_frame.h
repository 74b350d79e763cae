/*
 * cmd_frame: what the cloud verbs (cmd_cloud.c) and the rotation verbs
 * (cmd_rotation.c) share, so each verb is only its own steps:
 *   - the options every one takes: -c FILE, --json, --dry-run, -h, and every
 *     configuration key as a flag (--token-file PATH, --api-url URL, ...),
 *     plus the verb's own, handed to its callback;
 *   - the configuration, a private loop, the HTTP client and the process's
 *     one API client (cloud_open), made in cmd_frame_open() and taken down
 *     in cmd_frame_close();
 *   - this node's droplet id (node_id, else the metadata service);
 *   - waiting for the verb's work: after a second without an answer it says
 *     what it waits for ("waiting for the DigitalOcean API at URL (GET
 *     /v2/droplets?...)"), and when the API has not answered for twice
 *     api_timeout (a timed-out request and its retry) it gives up with one
 *     clear message; a rate limit that holds the calls for a second or more
 *     is said at once, with how long and why ("rate limited by the
 *     DigitalOcean API: requests held 8 s (burst limit: ...)").
 */
#ifndef CMD_FRAME_H
#define CMD_FRAME_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct cfg;
struct cloud;
struct cmd_entry;
struct cmd_setting;
struct http;
struct meta_identity;
struct metadata_fetch;
struct option;

struct cmd_frame {
	const struct cmd_entry *cmd;
	/* Options every verb takes. */
	const char *config; /* -c FILE; NULL = CMD_DEFAULT_CONFIG */
	bool json;
	bool dry_run;
	struct cmd_setting *flags; /* --KEY VALUE, applied over the file */
	size_t nflags;
	/* Made by cmd_frame_open(). */
	struct cfg *cfg;
	uv_loop_t loop;
	bool loop_open;
	struct http *http;
	struct cloud *cloud; /* with CMD_FRAME_API */
	struct metadata_fetch *mf;
	struct meta_identity *self; /* cmd_frame_self()'s answer, owned */
	/* Waiting. */
	unsigned pending; /* steps started and not yet ended (cmd_frame_end) */
	uv_timer_t watch; /* once a second while waiting */
	uint64_t waited_ms;
	bool said;		/* "waiting for ..." printed for this stretch */
	bool said_unsettled;	/* "not giving up" printed */
	uint64_t said_hold_end; /* uv_now() at which the rate-limit hold last said ends */
	bool gave_up;		/* the API did not answer in time: stop, say no more */
	int rc;			/* the exit code so far: 0, or 1 after cmd_frame_fail() */
};

/* A verb's own option: getopt_long's val and optarg. Returns -1 to go on, or
 * an exit code (0 after printing help, EXIT_USAGE after saying why). */
typedef int cmd_frame_opt_fn(struct cmd_frame *f, int val, const char *arg, void *ctx);

/*
 * Parses argv for verb `cmd`: the common options, then `extra` (the verb's
 * long options, NULL-terminated, may be NULL) and `shortopts` (its short
 * ones, e.g. "s:", may be NULL), each handed to fn(f, val, optarg, ctx).
 * -h prints the usage and the verb's help. Returns -1 to go on (optind at the
 * first operand), or an exit code. Free with cmd_frame_close() in any case.
 */
int cmd_frame_parse(struct cmd_frame *f, const struct cmd_entry *cmd, int argc, char **argv,
		    const char *shortopts, const struct option *extra, cmd_frame_opt_fn *fn,
		    void *ctx);

#define CMD_FRAME_API	       (1U << 0) /* the verb calls the API: make the client (token_file) */
#define CMD_FRAME_API_IF_TOKEN (1U << 1) /* make the client when token_file is set */

/* Reads the configuration (file, then flags), sets the log level from it,
 * opens the loop and the HTTP client, and with CMD_FRAME_API the API client.
 * 0, or 1 after printing why. */
int cmd_frame_open(struct cmd_frame *f, unsigned flags);

/* This node's identity: the static one of the configuration (node_id), else
 * asked of the metadata service (waiting for it). Borrowed from the frame;
 * NULL after printing why it is unknown. */
const struct meta_identity *cmd_frame_self(struct cmd_frame *f);

/* One step of the verb's work starts, or has ended (its callback ran). */
void cmd_frame_begin(struct cmd_frame *f);
void cmd_frame_end(struct cmd_frame *f);

/* Runs the loop until every step has ended, or the API is given up on.
 * Returns true when the work ended (false: gave up; the verb stops). */
bool cmd_frame_wait(struct cmd_frame *f);

/* Prints "mitosis VERB: message" on stderr and sets the exit code to 1;
 * silent once the frame gave up (one message is enough). */
void cmd_frame_fail(struct cmd_frame *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Takes everything down (the loop runs until cancelled work has reported)
 * and returns the exit code. */
int cmd_frame_close(struct cmd_frame *f);

#endif
