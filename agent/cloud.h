/*
 * cloud: the DigitalOcean API v2 client, asynchronous on the agent's loop
 * (through http.c), shared by the agent and the cloud CLI commands.
 *
 * One call is one logical request: cloud_call() retries idempotent requests
 * (GET, PUT, DELETE, and POST marked CLOUD_IDEMPOTENT) with exponential backoff
 * and jitter on 5xx, timeouts and connection errors, and every request on 429:
 * after retry-after for DO's burst limit, until ratelimit-reset only when the
 * hourly quota is truly spent (cloud.c says how that is told apart; every call
 * of the client waits then, and a warning says how long). cloud_list() follows
 * links.pages.next with per_page=200 to the end. A droplet create is never
 * retried blindly: cloud_ops.c lists by the operation's tag first.
 *
 * One client per process, made in one place (cloud_open: read the token,
 * build the client, wipe the copy), so that every caller shares one
 * rate-limit hold: the agent owns it and lends it to discovery and the
 * registrars; a CLI verb owns its own.
 *
 * The token is sent in the Authorization header and appears in no log,
 * error text or --json output. In dry-run mode mutating requests (anything
 * but GET) are not sent: they are printed as "dry-run: METHOD PATH BODY" and
 * answered with status 0 and dry_run = true; GETs still run, so a dry run
 * shows real decisions.
 */
#ifndef CLOUD_H
#define CLOUD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>

#include <uv.h>

struct cfg;
struct cloud;
struct http;
typedef struct cJSON cJSON;

#define CLOUD_IDEMPOTENT (1U << 0) /* a POST that may be repeated safely */
#define CLOUD_NO_RETRY	 (1U << 1) /* never retry, whatever the method */

/* What a CLI verb adds to the configuration's api_url and api_timeout. */
struct cloud_opts {
	bool dry_run;
	FILE *dry_run_out; /* where dry-run lines go; NULL = stdout */
	/* Called when a call first waits on a rate limit that holds every call of
	 * the client, once per hold: for how long and why, e.g. "burst limit: 429
	 * with retry-after: 8 s". May be NULL. */
	void (*on_hold)(uint64_t ms, const char *why, void *arg);
	void *hold_arg;
};

struct cloud_resp {
	int err;	  /* 0, or a negative errno after the last try */
	long status;	  /* HTTP status of the last try (0 when none or dry run) */
	bool dry_run;	  /* the request was printed, not sent */
	const char *body; /* borrowed for the callback */
	size_t body_len;
	cJSON *json;	 /* parsed body or NULL; borrowed for the callback */
	char error[256]; /* "404 not_found: The resource ..." or the transport error */
	unsigned tries;
};

typedef void cloud_done_fn(const struct cloud_resp *resp, void *arg);
/* items: a cJSON array of every item over all pages (borrowed for the call). */
typedef void cloud_list_fn(int err, const char *error, cJSON *items, void *arg);

/*
 * The process's API client: reads cfg->token_file (owner and mode checked by
 * secfile, blanks trimmed), builds the client for cfg->api_url with
 * cfg->api_timeout per try, and wipes the token's copies but the one in the
 * client. `http` and `cfg` are borrowed; `o` may be NULL. Returns 0 and *out,
 * or a negative errno with err filled (never holding the token): -EINVAL
 * when there is no token_file or the token is empty or not one word.
 */
int cloud_open(uv_loop_t *loop, struct http *http, const struct cfg *cfg,
	       const struct cloud_opts *o, struct cloud **out, char *err, size_t errsize);

/*
 * Starts one logical call: METHOD on PATH ("/v2/droplets/123"), with a JSON
 * body or NULL. Returns 0 (cb runs once, later) or a negative errno (cb never
 * runs). A 2xx is success; anything else comes back with err = 0 and the
 * status and error text set, so callers can tell 404 from 422.
 */
int cloud_call(struct cloud *c, const char *method, const char *path, const char *body,
	       unsigned flags, cloud_done_fn *cb, void *arg);

/* GETs PATH (which may already hold a query) page by page with per_page=200,
 * collecting the array under `key` ("droplets", "domain_records"). err: 0,
 * -ENOENT (404), -EACCES (401, 403), -EPROTO (another status), -EBADMSG (a
 * page without the array), or a transport errno; error says why. */
int cloud_list(struct cloud *c, const char *path, const char *key, cloud_list_fn *cb, void *arg);

/* Requests actually sent so far (retries and pages included): the figure
 * for the rate-limit budget. */
uint64_t cloud_requests_sent(const struct cloud *c);

/*
 * How long the API has been silent: 0 while no call waits on it (nothing
 * pending, or every pending call waits because the API answered: a 429's
 * retry-after, a 5xx's backoff, a rate-limit hold), else the time since the
 * last HTTP answer or since the silence began. A refused connection or a
 * timeout is no answer. `what` (may be NULL) gets the oldest silent call
 * ("GET /v2/droplets?tag_name=web&per_page=200"). For a CLI that tells its
 * user what it waits for.
 */
uint64_t cloud_quiet_ms(const struct cloud *c, char *what, size_t size);

/*
 * Operations under way that changed the cloud, or may have, and must see it
 * through themselves: a clone from its first create until it ends (its
 * droplets ready, or deleted at its deadline), a delete from its first
 * DELETE until the 404 (or its own bound). A CLI that gives up on a silent
 * API waits for them instead: giving up would leave behind a droplet whose
 * create went through and whose answer was lost, or one whose DELETE was
 * lost.
 */
void cloud_unsettled_add(struct cloud *c, int delta);
unsigned cloud_unsettled(const struct cloud *c);

/*
 * The agent's leader gate (docs/election.md, "The leader alone at the
 * cloud"). `fn` is asked right before every try of a mutating request (any
 * method but GET), retries included. It returns 0 to let the try go, with
 * *term the leader's term it carries and *timeout_ms the longest the try may
 * take (the lease left: a try never outlives the lease that allowed it); or
 * a negative errno, and the call ends unsent with that error. A retry in
 * another term than its first try is refused (-ESTALE): the decision was the
 * old term's.
 *
 * With a node id set, every request says who sends it, in the User-Agent
 * header: "mitosis/VERSION node=ID", and a mutating one adds " term=T
 * op=ID-N", N counting this client's mutating calls (the same over retries).
 * The DigitalOcean API keeps no header, but the simulator's request log does,
 * so tests can check who called in which term. fn NULL removes the gate.
 */
typedef int cloud_gate_fn(void *arg, uint64_t *term, uint64_t *timeout_ms);
void cloud_set_gate(struct cloud *c, uint64_t node_id, cloud_gate_fn *fn, void *arg);

/* The base URL requests go to ("https://api.digitalocean.com"), borrowed. */
const char *cloud_base_url(const struct cloud *c);

/*
 * Operations built on the client (cloud_ops.c, cloud_clone.c) that wait on
 * timers of their own register a watch: cloud_close() first takes each watch
 * off and calls its cancel (which must end the operation, running its
 * callback with -ECANCELED, and must not start calls), so no operation
 * outlives the client. An operation that ends calls cloud_watch_del(), which
 * does nothing when the watch is already off.
 */
struct cloud_watch {
	void (*cancel)(struct cloud_watch *w);
	LIST_ENTRY(cloud_watch) entry; /* the client's; untouched by the operation */
	bool on;		       /* in the client's list */
};
void cloud_watch_add(struct cloud *c, struct cloud_watch *w);
void cloud_watch_del(struct cloud *c, struct cloud_watch *w);

/* The loop the client runs on, for the operations' timers. */
uv_loop_t *cloud_loop(const struct cloud *c);

/* Cancels operations (see above) and pending calls (callbacks run with
 * -ECANCELED), wipes the token and frees the client. Accepts NULL. */
void cloud_close(struct cloud *c);

#endif
