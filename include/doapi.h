/*
 * doapi: the pure half of the DigitalOcean API v2 client (docs/cloud.md).
 * Parsing of the bodies the agent reads (droplet, list page, action, error),
 * of the rate-limit headers, and building of the create-droplet body and of
 * the names a clone carries. No I/O, no libuv, no libcurl: everything here is
 * fed bytes and returns values, so the unit tests and the fuzzer drive it.
 *
 * Parsers are defensive: every field is type-checked, and a rejection says
 * which field ("droplet.networks.v4[1].type: not a string").
 */
#ifndef DOAPI_H
#define DOAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cJSON cJSON;

#define DOAPI_IPV4_LEN	 16
#define DOAPI_MAX_TAGS	 32
#define DOAPI_TAG_LEN	 256
#define DOAPI_OP_TAG_LEN 24 /* "mitosis-op-" + 12 hex + NUL fits */
#define DOAPI_MAX_NAMES	 10 /* a multiple create takes at most 10 names */

struct doapi_droplet {
	uint64_t id;
	char name[256];
	char status[16];		  /* new, active, off, archive */
	char public_ipv4[DOAPI_IPV4_LEN]; /* "" when none yet */
	char private_ipv4[DOAPI_IPV4_LEN];
	char tags[DOAPI_MAX_TAGS][DOAPI_TAG_LEN];
	size_t ntags;	 /* tags past DOAPI_MAX_TAGS are dropped */
	char region[32]; /* region slug, "" when absent */
	char size_slug[64];
	uint64_t image_id; /* 0 when absent */
	char created_at[32];
	bool locked; /* an action runs on it: another would be refused (422) */
};

/* One list page: `items` borrows from the parsed root. */
struct doapi_page {
	const cJSON *items;
	bool has_next;
	const char *next; /* links.pages.next, borrowed; NULL when none */
	int64_t total;	  /* meta.total, -1 when absent */
};

struct doapi_action {
	uint64_t id;
	char status[16]; /* in-progress, completed, errored */
	char type[32];
};

/* The rate-limit state one response tells; has_* say which headers came. */
struct doapi_ratelimit {
	bool has_limit, has_remaining, has_reset, has_retry_after;
	int64_t limit;
	int64_t remaining;
	int64_t reset;	     /* Unix epoch second */
	int64_t retry_after; /* seconds */
};

/* The create-droplet request (POST /v2/droplets). */
struct doapi_create {
	const char *const *names; /* 1..DOAPI_MAX_NAMES; one name is sent as "name" */
	size_t nnames;
	uint64_t image; /* snapshot id, sent as an integer */
	const char *size;
	const char *region;   /* NULL = omitted */
	const char *vpc_uuid; /* NULL = omitted */
	const char *const *ssh_keys;
	size_t nssh_keys;
	const char *const *tags;
	size_t ntags;
	const char *user_data; /* NULL = omitted; at most 64 KiB */
};

/*
 * What a 422 refusing a droplet action means (the answer's "message"), so
 * that only what can pass is waited out:
 *   PENDING     "Droplet already has a pending event.": wait and look again;
 *   ALREADY_OFF "Droplet is already powered off.": done, if off was the goal;
 *   ALREADY_ON  "Droplet is already powered on.": done, if on was the goal;
 *   STATE       "Droplet is currently on. Please power it off to run this
 *               event." (or off): the droplet is not in the state its status
 *               said; look again;
 *   PERMANENT   anything else ("You specified an invalid size for the
 *               resize.", "Size can not be smaller than the Droplet's
 *               original size.", a body without a message): it will never
 *               pass as sent.
 * Matched case-insensitively on DO's wording, the only thing that tells them
 * apart (every one has id "unprocessable_entity").
 */
enum doapi_refusal {
	DOAPI_REFUSAL_PERMANENT,
	DOAPI_REFUSAL_PENDING,
	DOAPI_REFUSAL_ALREADY_OFF,
	DOAPI_REFUSAL_ALREADY_ON,
	DOAPI_REFUSAL_STATE,
};
enum doapi_refusal doapi_refusal_kind(const cJSON *root);

/* A load balancer's health check, as DigitalOcean runs it on each member. */
struct doapi_health_check {
	char protocol[8]; /* "http", "https" or "tcp" */
	unsigned port;
	char path[256];		  /* http(s) only */
	unsigned interval_s;	  /* check_interval_seconds */
	unsigned timeout_s;	  /* response_timeout_seconds */
	unsigned healthy_after;	  /* healthy_threshold: passes in a row */
	unsigned unhealthy_after; /* unhealthy_threshold: failures in a row */
};

/*
 * The "health_check" of a load balancer object (the value under
 * "load_balancer"), with DigitalOcean's defaults for what is absent (http,
 * port 80, "/", every 10 s, 5 s timeout, healthy after 3, unhealthy after 5).
 * false with err naming the field when a present field is malformed or out
 * of range (port 1..65535, seconds and thresholds 1..3600).
 */
bool doapi_health_check_parse(const cJSON *lb, struct doapi_health_check *hc, char *err,
			      size_t errsize);

/*
 * Whether the start of an HTTP reply to a health check passes, as a load
 * balancer counts it: a status line "HTTP/1.x NNN" with NNN 2xx or 3xx.
 * `head` is the first bytes read (need not be NUL-terminated).
 */
bool doapi_health_reply_ok(const char *head, size_t len);

/* Parses one droplet object (the value under "droplet" or an item of
 * "droplets"). false with err naming the field when it is malformed. */
bool doapi_droplet_parse(const cJSON *obj, struct doapi_droplet *d, char *err, size_t errsize);

/*
 * Parses an array of droplet objects (a listing's items, or the "droplets" of
 * a create's answer) into a new array (*out, caller frees; at least one
 * element is allocated, so *out is never NULL on success). 0, -EBADMSG with
 * err naming the item and field ("droplets[3].id: ..."), or -ENOMEM.
 */
int doapi_droplets_parse(const cJSON *items, struct doapi_droplet **out, size_t *n, char *err,
			 size_t errsize);

/*
 * The droplets a create's 202 answer lists: {"droplet": {...}} for one name,
 * {"droplets": [...]} for several. Same returns as doapi_droplets_parse;
 * -EBADMSG also when the body has neither or lists none.
 */
int doapi_create_reply(const cJSON *root, struct doapi_droplet **out, size_t *n, char *err,
		       size_t errsize);

/*
 * The id of the snapshot called `name` in a listing of snapshots (the items
 * of GET /v2/droplets/ID/snapshots): the highest id when several carry the
 * name (the newest), 0 when none does. Items that are not snapshot objects
 * with a string name and a positive id are skipped.
 */
uint64_t doapi_snapshot_id(const cJSON *items, const char *name);

/* True when the droplet carries tag `tag` (exact match). */
bool doapi_droplet_has_tag(const struct doapi_droplet *d, const char *tag);

/* Parses a collection body: the array under `key`, links.pages.next and
 * meta.total. false with err when the array or a present field is malformed. */
bool doapi_page_parse(const cJSON *root, const char *key, struct doapi_page *pg, char *err,
		      size_t errsize);

/*
 * The path and query of a links.pages.next URL ("https://host/v2/x?page=2"
 * gives "/v2/x?page=2"), with per_page=200 added when absent, so that the
 * next page goes to the configured base URL and never to a host named in a
 * response. NULL when it is not an absolute path or URL (or on ENOMEM);
 * the caller frees.
 */
char *doapi_next_path(const char *next);

/* The droplet actions the agent posts (POST /v2/droplets/ID/actions). */
enum doapi_action_type {
	DOAPI_ACTION_POWER_OFF,
	DOAPI_ACTION_POWER_ON,
	DOAPI_ACTION_RESIZE,   /* arg: the size slug; disk false, so it can shrink again */
	DOAPI_ACTION_SNAPSHOT, /* arg: the snapshot's name */
};

/* "power_off", "resize", ...: the type as the API spells it. */
const char *doapi_action_name(enum doapi_action_type type);

/* Builds the body of an action ({"type":"resize","size":"s-2vcpu-2gb","disk":false});
 * arg is the size or the name, NULL for the power actions. 0, -EINVAL (a
 * missing or empty arg) or -ENOMEM; the caller frees *out. */
int doapi_action_body(enum doapi_action_type type, const char *arg, char **out);

/* Parses an action object (the value under "action"). */
bool doapi_action_parse(const cJSON *obj, struct doapi_action *a, char *err, size_t errsize);

/*
 * One printable line for a failed response: "404 not_found: The resource
 * was not found." from DO's {id, message}, "400: bad tag" from the odd tags
 * shape {error}, or "HTTP 502" when the body says nothing usable. Control
 * characters become '?'. Always NUL-terminates out (outsize > 0).
 */
void doapi_error_line(long status, const char *body, size_t len, char *out, size_t outsize);

/* Feeds one response header (name matched case-insensitively) into rl;
 * returns true when it was a rate-limit header with a valid value. */
bool doapi_ratelimit_header(struct doapi_ratelimit *rl, const char *name, const char *value);

/*
 * The rate-limit rule (docs/cloud.md, "Rate limits"). DigitalOcean limits a
 * token to 250 requests a minute (burst) and 5,000 an hour, and its burst 429
 * says ratelimit-remaining: 0 with the *hourly* reset (openapi PR #816), so
 * remaining 0 alone does not mean the hour is spent:
 *   - a 429 with retry-after is the burst: hold retry-after (at most 60 s);
 *   - an answer that did the work (any status but 429) saying remaining 0
 *     was the hour's last request: hold until ratelimit-reset;
 *   - a 429 without retry-after is the spent hour, unless the remaining
 *     count last seen (seen_left, seen_ago_ms ago; -1 = none) cannot have
 *     been used up since: all clients of the token together make at most 250
 *     requests a minute, so more than 250 per started minute left proves a
 *     burst (no hold: the caller backs off);
 *   - a hold until ratelimit-reset (`now` is the Unix time) lasts at least
 *     1 s and at most an hour; without the reset header there is none.
 * out->hold_ms is 0 for no hold; out->hourly says the hour is spent; out->why
 * says which case in words, for the log and the CLI.
 */
struct doapi_limit {
	uint64_t hold_ms;
	bool hourly;
	char why[160];
};
#define DOAPI_BURST_PER_MIN	250
#define DOAPI_RETRY_AFTER_CAP_S 60
#define DOAPI_RESET_CAP_S	3600
void doapi_limit_decide(long status, const struct doapi_ratelimit *rl, int64_t seen_left,
			uint64_t seen_ago_ms, int64_t now, struct doapi_limit *out);

/* Builds the JSON body of a create. 0, -EINVAL (err says why) or -ENOMEM.
 * The caller frees *out. */
int doapi_create_body(const struct doapi_create *c, char **out, char *err, size_t errsize);

/* True when `name` matches DO's droplet name pattern and is at most 255 long. */
bool doapi_name_valid(const char *name);

/* "<cluster>-<unix time>-<4 hex of rnd>": a clone's unique name. 0, or
 * -EINVAL when the cluster name would make an invalid droplet name. */
int doapi_clone_name(const char *cluster, uint64_t unix_time, uint16_t rnd, char *out, size_t size);

/* The drop-in a clone's user-data writes (cfg_parse_dropins reads it). */
#define DOAPI_USER_DATA_DROPIN "/etc/mitosis/conf.d/50-user-data.conf"

/*
 * The #cloud-config user-data of a clone (cloud-init/clone.yaml): a comment
 * naming the cluster, the drop-in DOAPI_USER_DATA_DROPIN written whole with
 * `seeds = IP, IP` when seeds are given (each must be an IPv4 address) and a
 * comment alone when not (so a parent's seeds never linger in a snapshot),
 * and a restart of the service. 0, -EINVAL (a bad seed or cluster name) or
 * -ENOMEM; caller frees.
 */
int doapi_clone_user_data(const char *cluster, const char *const *seeds, size_t nseeds, char **out);

/* "mitosis-op-<12 hex>" from 6 random bytes: the tag of one operation. */
void doapi_op_tag(const uint8_t rnd[6], char out[DOAPI_OP_TAG_LEN]);

#endif
